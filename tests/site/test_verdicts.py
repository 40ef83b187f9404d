"""The verdict's sentences on displacement and on new customers, in English and translated."""

from __future__ import annotations

import pytest

from punchcard.site import i18n
from punchcard.site.fmt import Formatter
from punchcard.site.verdicts import displacement_sentence, new_customers_sentence

LANGS = ("nb-NO", "sv-SE", "pl-PL", "pt-BR", "pt-PT")


def _fc(at_low: float, at_high: float) -> dict:
    return {"tornado": [{"assumption": "displacement", "low": 0.5, "high": 1.0, "at_low": at_low,
                         "at_high": at_high}]}


def test_displacement_says_which_way_it_moves_the_answer() -> None:
    f, _ = Formatter("en-GB", "GBP"), (lambda s: s)
    # −200 at 50 %, −900 at 100 %: loses either way
    text = displacement_sentence(_fc(-200.0, -900.0), f, _)
    assert "If 50% of the free items" in text and "-£200" in text and "-£900" in text
    assert "does not pay either way: the answer does not depend on it" in text
    # +300 at 50 %, −100 at 100 %: the sign flips between the ends
    assert "The answer depends on it" in displacement_sentence(_fc(300.0, -100.0), f, _)
    # +900 and +300: pays either way
    assert "it pays either way" in displacement_sentence(_fc(900.0, 300.0), f, _)
    assert displacement_sentence({"tornado": []}, f, _) == ""  # no free items: nothing to say


def test_new_customers_sentence_splits_the_net_impact() -> None:
    f, _ = Formatter("en-GB", "GBP"), (lambda s: s)
    fc = {"net_impact": {"mean": -500.0}, "from_new_customers": 120.0}
    # 120 from new customers, −500 − 120 = −620 from today's
    text = new_customers_sentence(fc, {"new_customers": {"expected": 300.0}}, f, _)
    assert "£120 comes from new customers and -£620 from today's customers" in text
    # no arrivals simulated (or an old results.json): no sentence
    assert new_customers_sentence(fc, {"new_customers": {"expected": 0.0}}, f, _) == ""
    assert new_customers_sentence({"net_impact": {"mean": 1.0}}, {}, f, _) == ""


@pytest.mark.parametrize("locale", LANGS)
def test_the_new_sentences_are_translated(locale: str) -> None:
    tr = i18n.translations(locale)
    f = Formatter(locale, "EUR")
    fc = {"net_impact": {"mean": -500.0}, "from_new_customers": 120.0, **_fc(300.0, -100.0)}
    for text in (displacement_sentence(fc, f, tr), new_customers_sentence(fc, {"new_customers": {"expected": 3}}, f, tr)):
        assert text and "free items" not in text and "customers" not in text
