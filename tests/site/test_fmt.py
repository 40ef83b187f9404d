"""The one formatter: every expected string is what Babel 2.18's CLDR data gives.

NBSP = U+00A0 (no-break space: Babel's group separator and currency/percent spacing in
nb, sv, pl, pt-PT); MINUS = U+2212 (the CLDR minus sign of nb and sv).
"""

from __future__ import annotations

from datetime import date

import pytest

from punchcard.site.fmt import MISSING, Formatter

NBSP = "\u00a0"
MINUS = "\u2212"

# (locale, currency, money(1234.5), money(1234567.8, 0), money(-1234.5),
#  number(1234567.891, 2), percent(0.021), lift(0.04), lift(-0.035))
CASES = [
    ("nb-NO", "NOK", f"1{NBSP}234,50{NBSP}kr", f"1{NBSP}234{NBSP}568{NBSP}kr", f"{MINUS}1{NBSP}234,50{NBSP}kr",
     f"1{NBSP}234{NBSP}567,89", f"2,1{NBSP}%", f"+4,0{NBSP}%", f"{MINUS}3,5{NBSP}%"),
    ("sv-SE", "SEK", f"1{NBSP}234,50{NBSP}kr", f"1{NBSP}234{NBSP}568{NBSP}kr", f"{MINUS}1{NBSP}234,50{NBSP}kr",
     f"1{NBSP}234{NBSP}567,89", f"2,1{NBSP}%", f"+4,0{NBSP}%", f"{MINUS}3,5{NBSP}%"),
    ("pl-PL", "PLN", f"1{NBSP}234,50{NBSP}zł", f"1{NBSP}234{NBSP}568{NBSP}zł", f"-1{NBSP}234,50{NBSP}zł",
     f"1{NBSP}234{NBSP}567,89", "2,1%", "+4,0%", "-3,5%"),
    ("pt-BR", "BRL", f"R${NBSP}1.234,50", f"R${NBSP}1.234.568", f"-R${NBSP}1.234,50",
     "1.234.567,89", "2,1%", "+4,0%", "-3,5%"),
    ("pt-PT", "EUR", f"1{NBSP}234,50{NBSP}€", f"1{NBSP}234{NBSP}568{NBSP}€", f"-1{NBSP}234,50{NBSP}€",
     f"1{NBSP}234{NBSP}567,89", "2,1%", "+4,0%", "-3,5%"),
    ("en-GB", "GBP", "£1,234.50", "£1,234,568", "-£1,234.50", "1,234,567.89", "2.1%", "+4.0%", "-3.5%"),
]


@pytest.mark.parametrize("locale, currency, money, big, negative, number, percent, up, down", CASES)
def test_numbers_per_locale(locale, currency, money, big, negative, number, percent, up, down):
    f = Formatter(locale, currency)
    assert f.money(1234.5) == money
    assert f.money(1234567.8, digits=0) == big
    assert f.money(-1234.5) == negative
    assert f.number(1234567.891, digits=2) == number
    assert f.percent(0.021) == percent
    assert f.lift(0.04) == up
    assert f.lift(-0.035) == down


# (locale, date medium, date short, month, month long)
DATES = [
    ("nb-NO", "7. jan. 2025", "07.01.2025", "jan. 2025", "januar 2025"),
    ("sv-SE", "7 jan. 2025", "2025-01-07", "jan. 2025", "januari 2025"),
    ("pl-PL", "7 sty 2025", "7.01.2025", "sty 2025", "styczeń 2025"),
    ("pt-BR", "7 de jan. de 2025", "07/01/2025", "jan. de 2025", "janeiro de 2025"),
    ("pt-PT", "07/01/2025", "07/01/25", "01/2025", "janeiro de 2025"),  # CLDR pt-PT yMMM is MM/y
    ("en-GB", "7 Jan 2025", "07/01/2025", "Jan 2025", "January 2025"),
]


@pytest.mark.parametrize("locale, medium, short, month, month_long", DATES)
def test_dates_per_locale(locale, medium, short, month, month_long):
    f = Formatter(locale, "EUR")
    assert f.date("2025-01-07") == medium  # results.json dates are ISO strings
    assert f.date(date(2025, 1, 7), "short") == short
    assert f.month("2025-01") == month
    assert f.month("2025-01", long=True) == month_long


@pytest.mark.parametrize("locale, separators, delimiter", [
    ("nb-NO", f",{NBSP}", ";"), ("sv-SE", f",{NBSP}", ";"), ("pl-PL", f",{NBSP}", ";"),
    ("pt-BR", ",.", ";"), ("pt-PT", f",{NBSP}", ";"), ("en-GB", ".,", ","), ("en-US", ".,", ","),
])
def test_plotly_separators_and_csv_delimiter(locale, separators, delimiter):
    f = Formatter(locale, "EUR")
    assert f.plotly_separators == separators
    assert f.plotly_locale_layout() == {"separators": separators}
    assert f.csv_delimiter == delimiter


def test_csv_numbers_have_no_grouping_and_an_ascii_minus():
    nb, en = Formatter("nb-NO", "NOK"), Formatter("en-GB", "GBP")
    assert nb.csv_number(-1234.5) == "-1234,5"
    assert en.csv_number(-1234.5) == "-1234.5"
    assert nb.csv_number(0.1 + 0.2) == "0,3"  # rounded to 6 decimals, trailing zeros dropped
    assert nb.csv_number(48211) == "48211"
    assert nb.csv_number(-0.0000001) == "0"
    assert nb.csv_number(None) == ""


def test_hover_money_is_formatted_in_python():
    f = Formatter("pt-BR", "BRL")
    assert f.hover_money([1234.5, None, 0]) == [f"R${NBSP}1.234,50", MISSING, f"R${NBSP}0,00"]
    assert f.hover_money([1234.6], digits=0) == [f"R${NBSP}1.235"]


def test_amounts_that_round_to_zero_are_unsigned():
    f = Formatter("nb-NO", "NOK")
    assert f.money(-0.001) == f"0,00{NBSP}kr"
    assert f.lift(0.0) == f"0,0{NBSP}%"
    assert f.lift(-1e-12) == f"0,0{NBSP}%"  # float noise is zero
    assert f.lift(-0.00001) == f">{NBSP}{MINUS}0,1{NBSP}%"  # a real change, however small


def test_missing_values_print_a_dash():
    f = Formatter("sv-SE", "SEK")
    assert f.money(None) == f.number(float("nan")) == f.percent(None) == f.date(None) == MISSING


def test_money_affixes_follow_the_currency_pattern():
    assert Formatter("nb-NO", "NOK").plotly_money_axis() == {"tickprefix": "", "ticksuffix": f"{NBSP}kr"}
    assert Formatter("pt-BR", "BRL").money_affixes == (f"R${NBSP}", "")
    assert Formatter("en-GB", "GBP").money_affixes == ("£", "")


def test_locale_tag_may_use_an_underscore():
    assert Formatter("nb_NO", "nok").money(49) == f"49,00{NBSP}kr"


def test_a_tiny_share_never_prints_as_zero():
    # 0.0004 (0.04 %) rounds to 0.0 % at one decimal: shown as below the smallest step
    en, nb = Formatter("en-GB", "GBP"), Formatter("nb-NO", "NOK")
    assert en.percent(0.0004) == f"<{NBSP}0.1%"
    assert en.percent(-0.0004) == f">{NBSP}-0.1%"
    assert en.lift(0.0004) == f"<{NBSP}+0.1%"
    assert nb.percent(0.0004) == f"<{NBSP}0,1{NBSP}%"
    assert en.percent(0.004, digits=0) == f"<{NBSP}1%"
    assert en.percent(0.0) == "0.0%" and en.lift(0.0) == "0.0%"  # zero is zero
    assert en.percent(0.0005) == f"<{NBSP}0.1%"  # Babel rounds 0.05 % half-even to 0.0 %
    assert en.percent(0.0006) == "0.1%"  # rounds up to the step: shown as it is


@pytest.mark.parametrize("locale, currency", [(c[0], c[1]) for c in CASES])
def test_one_formatter_reused_says_what_a_fresh_one_says(locale, currency):
    # the formatter makes each (pattern, decimals, sign) once and reuses it: calls of every kind
    # in a mixed order give the strings a fresh formatter gives for each call alone
    calls = [("money", 1234.5), ("lift", 0.04), ("money", -1234.5), ("percent", 0.021), ("lift", -0.035),
             ("number", 1234567.891), ("money", 0.004), ("lift", 0.0004), ("percent", 0.0004),
             ("lift", -0.0004), ("money", 1234567.8)]
    reused = Formatter(locale, currency)
    for kind, x in calls * 2:
        assert getattr(reused, kind)(x) == getattr(Formatter(locale, currency), kind)(x), (kind, x)
    assert reused.money(1234567.8, 0) == Formatter(locale, currency).money(1234567.8, 0)
