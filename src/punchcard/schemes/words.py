"""Words about a scheme's settings, shared by the kinds' summaries (``KIND.summary``).

Each kind module says in whole sentences what its scheme does ("Buy 9, get the next one
free (worth 49 kr)."); these helpers format the figures inside them the way every
sentence on the site does. They take the site's `Formatter` and translations as arguments
and import nothing from the site.
"""

from __future__ import annotations

from typing import Any

from babel.lists import format_list

Formatter = Any  # punchcard.site.fmt.Formatter: money(), percent(), number(), locale
Gettext = Any  # a translations object: gettext() and ngettext()


def share(fmt: Formatter, x: float | None) -> str:
    """Return a percentage with one decimal below 10 % and none above (``2,1 %``, ``38 %``);
    a share too small for a whole per cent gets its decimal too (0.0004 → ``< 0,1 %``, not
    ``0 %``: the formatter never prints a non-zero share as zero)."""
    if x is None:
        return fmt.percent(None)
    tiny = x != 0 and round(x * 100) == 0
    return fmt.percent(x, 1 if abs(x) < 0.1 and (round(x * 100, 1) != round(x * 100) or tiny) else 0)


def money(fmt: Formatter, x: float | None) -> str:
    """Return money with decimals only when the amount has them (``49 kr``, ``12,50 kr``)."""
    if x is None:
        return fmt.money(None)
    return fmt.money(x, 0 if float(x).is_integer() else None)


def count_sentence(text: str, n: float, fmt: Formatter) -> str:
    """Return a sentence chosen by ngettext with its count ``%(n)s`` filled in."""
    return text % {"n": fmt.number(n)}


def tier_list(tiers: list[dict], fmt: Formatter, tr: Gettext, multiplier: bool) -> str:
    if multiplier:
        items = [tr.gettext("%(name)s from %(min_spend)s: points ×%(multiplier)s") % {
            "name": t["name"], "min_spend": money(fmt, t.get("min_spend", 0)),
            "multiplier": fmt.number(t.get("multiplier", 1), 0 if float(t.get("multiplier", 1)).is_integer() else 1)}
            for t in tiers]
    else:
        items = [tr.gettext("%(name)s from %(min_spend)s: %(discount)s off") % {
            "name": t["name"], "min_spend": money(fmt, t.get("min_spend", 0)),
            "discount": share(fmt, t.get("discount", 0))} for t in tiers]
    return format_list(items, locale=fmt.locale)


def window_sentence(p: dict, fmt: Formatter, tr: Gettext) -> str:
    months = int(p.get("window_months", 12))
    return tr.ngettext("Tiers follow what a member spent over the last %(n)s month.",
                       "Tiers follow what a member spent over the last %(n)s months.",
                       months) % {"n": fmt.number(months)}
