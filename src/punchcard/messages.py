"""Sentences the core hands to people: English text that remembers its msgid and parameters.

The stages before the site (ingest, forecast, results) never translate. What they say to
a person — a build warning, why a forecast was skipped, the label of a rejection reason —
is a `Message`: it *is* the English sentence (results.json keeps it for machines) and
carries ``{"msgid", "params"}`` so that the site (``site/i18n.py``) renders it in the
program's language. ``N_`` only marks a msgid for extraction.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Return the message unchanged; marks a string for extraction only."""
    return message



class Message(str):
    """An English sentence that also remembers its msgid and parameters.

    It *is* the English text (a ``str``: results.json keeps plain sentences for machines)
    and ``as_dict()`` gives the structured form ``{"msgid", "params"}`` (plus ``"plural"``
    for a count in ``params["n"]``) that the site translates with `render_message`.
    Parameters are plain numbers, strings, nested messages or lists of those.
    """

    msgid: str
    plural: str | None
    params: dict

    def __new__(cls, msgid: str, params: dict | None = None, *, plural: str | None = None,
                english: str | None = None) -> "Message":
        params = dict(params or {})
        if english is None:
            n = params.get("n")
            text = plural if plural is not None and n != 1 else msgid
            english = text % {k: _english(v) for k, v in params.items()} if params else text
        self = super().__new__(cls, english)
        self.msgid, self.plural, self.params = msgid, plural, params
        return self

    def as_dict(self) -> dict:
        """Return the JSON form: ``{"msgid", "params"}`` (and ``"plural"`` when it has one)."""
        out: dict[str, Any] = {"msgid": self.msgid, "params": {k: _plain(v) for k, v in self.params.items()}}
        if self.plural is not None:
            out["plural"] = self.plural
        return out


def _english(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_english(v) for v in value)
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return value.as_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def nmessage(singular: str, plural: str, params: dict, *, english: str | None = None) -> Message:
    """Return a `Message` whose wording depends on the count ``params["n"]`` (ngettext)."""
    return Message(singular, params, plural=plural, english=english)


def message_dict(value: Any) -> dict | None:
    """Return the structured form of a `Message` (None for a plain string or None)."""
    return value.as_dict() if isinstance(value, Message) else None


# -- the reasons a row is rejected, in words --------------------------------------------

_REJECTIONS = {
    "empty_line": N_("empty line"),
    "missing_date": N_("no date"),
    "bad_date": N_("unreadable date"),
    "missing_amount": N_("no amount"),
    "bad_amount": N_("unreadable amount"),
    "bad_items": N_("unreadable number of items"),
    "zero_amount": N_("amount of zero"),
    "duplicate_line": N_("duplicate line"),
    "outside_window": N_("outside the sales window"),
    "date_outlier": N_("date far from all the others"),
}


def rejection_label(reason: str) -> str:
    """Return the English msgid describing a rejection reason (``bad_date`` → ``unreadable date``)."""
    return _REJECTIONS.get(reason, reason)
