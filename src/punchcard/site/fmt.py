"""One formatter for every number, date and month on the site, from Babel's CLDR data.

Everything the site prints (tables, verdicts, chart hover text, results.csv) goes through
a `Formatter`, so a page never mixes `1,234.50` with `1 234,50`. The patterns are the
locale's own CLDR patterns; only the number of decimals is changed. Two deliberate
departures from a bare `babel.numbers.format_*` call, both towards CLDR:

* negative numbers use the locale's minus sign (U+2212 in nb and sv) where Babel copies
  the ASCII hyphen of the pattern (results.csv keeps the hyphen: spreadsheets expect it);
* an amount that rounds to zero is printed unsigned (no `-0,00 kr`).

Babel emits no-break spaces (U+00A0) and narrow no-break spaces (U+202F) in several
locales; they are correct and kept.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime
from functools import cached_property

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
)

MISSING = "–"
"""What every formatter prints for a missing value (None or NaN)."""


def parse_locale(locale: str) -> Locale:
    """Return the Babel locale for a tag written either way (``nb-NO`` or ``nb_NO``)."""
    return Locale.parse(locale.replace("-", "_"))


def _missing(x: float | None) -> bool:
    return x is None or x != x  # NaN is the only value not equal to itself


class Formatter:
    """Formats money, numbers, percentages, dates and months for one locale and currency."""

    def __init__(self, locale: str, currency: str) -> None:
        self.tag = locale
        self.locale = parse_locale(locale)
        self.currency = currency.upper()
        self.currency_digits = get_currency_precision(self.currency)
        self._patterns: dict[tuple[int, int, bool], tuple[NumberPattern, NumberPattern]] = {}

    def __repr__(self) -> str:
        return f"Formatter({self.tag!r}, {self.currency!r})"

    # -- numbers -------------------------------------------------------------------

    def _pattern(self, base: NumberPattern, digits: int, signed: bool = False) -> NumberPattern:
        """Return a copy of a CLDR pattern with fixed decimals and the locale's signs (made once
        per pattern, decimals and sign: a page formats thousands of numbers with a handful)."""
        key = (id(base), digits, signed)
        made = self._patterns.get(key)
        if made is None or made[0] is not base:
            made = self._patterns[key] = (base, self._make_pattern(base, digits, signed))
        return made[1]

    def _make_pattern(self, base: NumberPattern, digits: int, signed: bool) -> NumberPattern:
        p = copy.copy(base)
        p.frac_prec = (digits, digits)
        minus = get_minus_sign_symbol(self.locale)
        neg_prefix, neg_suffix = (a.replace("-", minus) for a in (p.prefix[1], p.suffix[1]))
        if signed:  # CLDR: the explicit plus sign stands where the minus sign would
            plus = get_plus_sign_symbol(self.locale)
            p.prefix = (neg_prefix.replace(minus, plus), neg_prefix)
            p.suffix = (neg_suffix.replace(minus, plus), neg_suffix)
        else:
            p.prefix = (p.prefix[0], neg_prefix)
            p.suffix = (p.suffix[0], neg_suffix)
        return p

    def _apply(self, base: NumberPattern, x: float, digits: int, *, signed: bool = False,
               currency: str | None = None) -> str:
        if round(x * 10**base.scale, digits) == 0:
            x, signed = 0.0, False
        pattern = self._pattern(base, digits, signed)
        return pattern.apply(x, self.locale, currency=currency, currency_digits=False)

    def money(self, x: float | None, digits: int | None = None) -> str:
        """Return an amount in the currency, e.g. ``1 234,50 kr`` (``digits=0`` drops the øre)."""
        if _missing(x):
            return MISSING
        digits = self.currency_digits if digits is None else digits
        base = self.locale.currency_formats["standard"]
        return self._apply(base, float(x), digits, currency=self.currency)

    def number(self, x: float | None, digits: int = 0) -> str:
        """Return a plain number with grouping and a fixed number of decimals."""
        if _missing(x):
            return MISSING
        return self._apply(self.locale.decimal_formats[None], float(x), digits)

    def percent(self, x: float | None, digits: int = 1) -> str:
        """Return a share as a percentage, e.g. 0.021 → ``2,1 %`` in nb, ``2.1%`` in en; a
        non-zero share too small to show is ``< 0.1%``, never ``0.0%``."""
        if _missing(x):
            return MISSING
        return self._not_zero(float(x), digits, False)

    def lift(self, x: float | None, digits: int = 1) -> str:
        """Return a change as a signed percentage, e.g. 0.04 → ``+4,0 %`` (zero unsigned);
        a non-zero change too small to show is ``< +0.1%``."""
        if _missing(x):
            return MISSING
        return self._not_zero(float(x), digits, True)

    def _not_zero(self, x: float, digits: int, signed: bool) -> str:
        """Return a percentage; ``< 0.1%`` (``> −0.1%``) where a non-zero value would show as 0."""
        base = self.locale.percent_formats[None]
        shown = self._apply(base, x, digits, signed=signed)
        if abs(x) < 1e-9:  # zero, or float noise
            return shown
        zero = self._apply(base, 0.0, digits)
        signs = (get_plus_sign_symbol(self.locale), get_minus_sign_symbol(self.locale), "-", "+")
        bare = shown
        for sign in signs:
            bare = bare.replace(sign, "")
        if bare != zero:
            return shown
        step = 10.0 ** -digits / 10**base.scale
        bound = self._apply(base, step if x > 0 else -step, digits, signed=signed)
        return ("<\u00a0" if x > 0 else ">\u00a0") + bound

    @cached_property
    def currency_symbol(self) -> str:
        """The currency's symbol in this locale (``kr``, ``zł``, ``R$``, ``£``)."""
        return get_currency_symbol(self.currency, self.locale)

    @cached_property
    def money_affixes(self) -> tuple[str, str]:
        """The text before and after a positive amount, e.g. ``("", "\\xa0kr")``."""
        p = self.locale.currency_formats["standard"]
        return tuple(a.replace("¤", self.currency_symbol) for a in (p.prefix[0], p.suffix[0]))

    # -- dates ---------------------------------------------------------------------

    def date(self, d: date | datetime | str | None, format: str = "medium") -> str:
        """Return a date in the locale's CLDR ``medium`` (or ``short``/``long``) format."""
        if d is None:
            return MISSING
        if isinstance(d, str):
            d = date.fromisoformat(d[:10])
        return format_date(d, format=format, locale=self.locale)

    def month(self, ym: str | None, long: bool = False) -> str:
        """Return a ``YYYY-MM`` month as the locale writes it, e.g. ``jan. 2025`` (nb)."""
        if ym is None:
            return MISSING
        year, mon = (int(part) for part in ym.split("-")[:2])
        return format_skeleton("yMMMM" if long else "yMMM", date(year, mon, 1), locale=self.locale)

    # -- plotly and csv ------------------------------------------------------------

    @cached_property
    def decimal_symbol(self) -> str:
        """The locale's decimal mark."""
        return get_decimal_symbol(self.locale)

    @cached_property
    def group_symbol(self) -> str:
        """The locale's digit-group separator (often a no-break space)."""
        return get_group_symbol(self.locale)

    @property
    def plotly_separators(self) -> str:
        """Return plotly's ``layout.separators``: the decimal mark, then the group separator."""
        return self.decimal_symbol + self.group_symbol

    def plotly_locale_layout(self) -> dict:
        """Return the plotly layout keys that make axis ticks follow the locale."""
        return {"separators": self.plotly_separators}

    def plotly_money_axis(self) -> dict:
        """Return axis keys that put the currency symbol where the locale puts it."""
        prefix, suffix = self.money_affixes
        return {"tickprefix": prefix, "ticksuffix": suffix}

    def hover_money(self, values: Iterable[float | None], digits: int | None = None) -> list[str]:
        """Return one formatted amount per value, for plotly ``text``/``hovertext``."""
        return [self.money(v, digits) for v in values]

    def hover_percent(self, values: Iterable[float | None], digits: int = 1) -> list[str]:
        """Return one formatted percentage per share, for plotly hover text."""
        return [self.percent(v, digits) for v in values]

    @property
    def csv_delimiter(self) -> str:
        """Return ``;`` where the locale's decimal mark is a comma, else ``,``."""
        return ";" if self.decimal_symbol == "," else ","

    def csv_number(self, x: float | int | None, digits: int = 6) -> str:
        """Return a number for results.csv: no grouping, the locale's decimal mark, ASCII minus."""
        if _missing(x):
            return ""
        if isinstance(x, bool):
            x = int(x)
        if isinstance(x, int):
            return str(x)
        text = f"{round(float(x), digits):.{digits}f}".rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
        return text.replace(".", self.decimal_symbol)
