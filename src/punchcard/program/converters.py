"""Text converters for locale, currency and encoding keys, and the slug rule for ids."""

from __future__ import annotations

import codecs
import re

import babel
import babel.numbers

from punchcard.program.problems import _suggest


class _Bad(Exception):
    """Raised by a text converter: (message, fix)."""


def _locale(text: str) -> str:
    try:
        loc = babel.Locale.parse(text.replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise _Bad("not a locale Babel knows",
                   "use a language tag such as `en-GB`, `nb-NO`, `de-DE` or `pt-BR`") from None
    return str(loc).replace("_", "-")


def _currency(text: str) -> str:
    codes = sorted(babel.numbers.list_currencies())
    if text in codes:
        return text
    close = text.upper() if text.upper() in codes else _suggest(text.upper(), codes)
    hint = f"did you mean `{close}`? " if close else ""
    raise _Bad("not an ISO 4217 currency code", f"{hint}write the three capital letters, e.g. "
               "`currency: EUR`, `NOK`, `GBP` or `USD`")


def _encoding(text: str) -> str:
    try:
        codecs.lookup(text)
    except LookupError:
        raise _Bad("not a text encoding Python knows",
                   "use one such as `utf-8`, `utf-8-sig`, `cp1252` or `latin-1`") from None
    return text


def _slug_hint(what: str) -> str:
    return (f"a {what} becomes a file or folder name, so use lower-case letters, digits, "
            f"`-` and `_` only, starting with a letter or digit, at most {MAX_SLUG} characters")


MAX_SLUG = 80  # file systems allow 255 bytes per name; 80 leaves room for `.html` and readers
SLUG = r"[a-z0-9][a-z0-9_-]{0,%d}" % (MAX_SLUG - 1)


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:MAX_SLUG].rstrip("-_")
    return slug or "my-program"
