"""Message catalogs, user overrides, the untranslated-strings report and the generated sentences."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2
import pytest

from punchcard import messages
from punchcard.site import i18n, verdicts
from punchcard.site.fmt import Formatter
from tests.helpers import ROOT

LOCALES = [("nb-NO", "NOK"), ("sv-SE", "SEK"), ("pl-PL", "PLN"), ("pt-BR", "BRL"), ("pt-PT", "EUR")]
NBSP = "\u00a0"


@pytest.mark.parametrize("locale, name", [
    ("nb-NO", "nb"), ("nb_NO", "nb"), ("sv-SE", "sv"), ("pl-PL", "pl"), ("pt-BR", "pt_BR"),
    ("pt-PT", "pt_PT"), ("en-GB", None), ("en-US", None), ("en", None), ("de-DE", None),
])
def test_locale_maps_to_a_catalog(locale, name):
    assert i18n.catalog_name(locale) == name


def test_shipped_languages():
    assert i18n.available_languages() == ["nb", "pl", "pt_BR", "pt_PT", "sv"]


def test_catalog_is_read_from_the_po_file_at_run_time():
    tr = i18n.translations("nb-NO")
    assert tr.gettext("Stamp card") == "Stempelkort"
    assert i18n.translations("pt-PT").gettext("Coupons") == "Cupões"
    assert i18n.translations("pt-BR").gettext("Coupons") == "Cupons"
    assert i18n.translations("nb-NO") is tr  # cached per locale


def test_missing_msgid_falls_back_to_english():
    for locale, _currency in LOCALES + [("en-GB", "GBP")]:
        tr = i18n.translations(locale)
        assert tr.gettext("A sentence no catalog has") == "A sentence no catalog has"
        assert tr.ngettext("%(n)s apple", "%(n)s apples", 3) == "%(n)s apples"


def test_plural_forms_follow_each_language():
    days = ("A reward must be used within %(n)s day.", "A reward must be used within %(n)s days.")
    pl = i18n.translations("pl-PL")
    # Polish: 1 → one, 2–4 (not 12–14) → few, else many; "dnia" / "dni" after "w ciągu"
    assert [pl.ngettext(*days, n) % {"n": n} for n in (1, 3, 5, 22)] == [
        "Nagrodę trzeba wykorzystać w ciągu 1 dnia.", "Nagrodę trzeba wykorzystać w ciągu 3 dni.",
        "Nagrodę trzeba wykorzystać w ciągu 5 dni.", "Nagrodę trzeba wykorzystać w ciągu 22 dni."]
    nb = i18n.translations("nb-NO")
    assert nb.ngettext(*days, 1) % {"n": 1} == "En belønning må brukes innen 1 dag."
    assert nb.ngettext(*days, 30) % {"n": 30} == "En belønning må brukes innen 30 dager."


def _write_po(path: Path, entries: dict[str, str]) -> None:
    body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in entries.items())
    path.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + body, encoding="utf-8")


def test_user_override_wins_string_by_string(tmp_path):
    _write_po(tmp_path / "nb.po", {"Stamp card": "Klippekort", "Coupons": ""})
    tr = i18n.translations("nb-NO", override_dir=tmp_path)
    assert tr.gettext("Stamp card") == "Klippekort"  # the user's word
    assert tr.gettext("Coupons") == "Kuponger"  # left empty by the user: packaged catalog
    assert tr.gettext("Not translated anywhere") == "Not translated anywhere"  # English
    assert i18n.translations("nb-NO").gettext("Stamp card") == "Stempelkort"  # no leak


def test_override_file_may_use_the_full_tag_and_english_may_be_overridden(tmp_path):
    _write_po(tmp_path / "pt-BR.po", {"Perks": "Vantagens VIP"})
    _write_po(tmp_path / "en.po", {"Stamp card": "Punch card"})
    assert i18n.translations("pt-BR", override_dir=tmp_path).gettext("Perks") == "Vantagens VIP"
    assert i18n.translations("en-GB", override_dir=tmp_path).gettext("Stamp card") == "Punch card"
    assert i18n.translations("pt-PT", override_dir=tmp_path).gettext("Perks") == "Vantagens"


def test_install_gives_templates_newstyle_gettext():
    env = jinja2.Environment(autoescape=True)
    gettext = i18n.install(env, "sv-SE")
    html = env.from_string('{% trans %}Skip to content{% endtrans %} · {{ _("Built %(date)s.", date=d) }}').render(
        d="7 jan. 2025")
    assert html == "Hoppa till innehållet · Skapad 7 jan. 2025."
    assert gettext("Perks") == "Medlemsförmåner"


# -- the untranslated-strings report ------------------------------------------------------


@lru_cache(maxsize=1)
def _extracted():
    return i18n.extract_messages()


def _template_msgids() -> set[str]:
    catalog = _extracted()
    return {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog
            if m.id and any(path.startswith("templates/") for path, _line in m.locations)}


@pytest.mark.parametrize("locale", ["en-GB"] + [loc for loc, _c in LOCALES])
def test_untranslated_strings_report(locale, capsys):
    missing = i18n.untranslated(locale)
    with capsys.disabled():
        print(f"\n[{locale}] {len(missing)} untranslated" + "".join(f"\n    {m!r}" for m in missing))
    if locale.startswith("en"):
        assert missing == []  # English is the source language
        return
    assert not sorted(set(missing) & _template_msgids()), f"{locale}: template strings lack a translation"
    # every shipped catalog is complete: a string left out would show in English (issue 7)
    assert missing == [], f"{locale}: {len(missing)} untranslated strings (listed above)"


def test_untranslated_lists_what_a_catalog_lacks():
    assert i18n.untranslated("nb-NO", ["Stamp card", "Brand new string"]) == ["Brand new string"]
    assert i18n.untranslated("de-DE", ["Stamp card"]) == ["Stamp card"]  # no catalog at all
    assert i18n.untranslated("en-US", ["Brand new string"]) == []


def test_extraction_finds_python_and_template_strings():
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _extracted() if m.id}
    assert "Stamp card" in ids
    assert "A reward must be used within %(n)s day." in ids
    if (ROOT / "templates" / "base.html").exists():
        assert _template_msgids()


# -- verdicts and summaries ----------------------------------------------------------------

PROGRAM = {"assumptions": {"visit_lift": {"low": 0.0, "likely": 0.04, "high": 0.10}}}


def _scheme(kind: str = "stamp_card", forecast: dict | None = None, **params) -> dict:
    return {"id": "s", "kind": kind, "name": "S", "params": params,
            "backtest": {"cost_share_of_revenue": 0.021, "rewarded_within_year_share": 0.38,
                         "rewarded_share": 0.41},
            "forecast": forecast}


FORECASTS = {
    "break_even": {"break_even_visit_lift": 0.04, "probability_positive": 0.7, "net_impact": {"mean": 900.0}},
    "always": {"break_even_visit_lift": None, "probability_positive": 0.9, "net_impact": {"mean": 900.0}},
    "below_zero": {"break_even_visit_lift": -0.1, "probability_positive": 0.66, "net_impact": {"mean": 900.0}},
    "never": {"break_even_visit_lift": None, "probability_positive": 0.0, "net_impact": {"mean": -900.0}},
    "none": None,
    # with the deadweight split, the spread and a displacement bar (free items)
    "economics": {"break_even_visit_lift": 0.12, "probability_positive": 0.1, "net_impact": {"mean": -500.0},
                  "reward_cost": 1000.0, "reward_cost_on_baseline": 940.0, "deadweight_share": 0.94,
                  "spread": {"assumptions": 0.4, "chance": 0.6},
                  "tornado": [{"assumption": "displacement", "low": 0.5, "high": 1.0, "at_low": -400.0,
                               "at_high": -650.0}]},
}

SUMMARY_PARAMS = [
    ("stamp_card", {"stamps": 9, "counter": "visits", "min_purchase": 35, "expiry_days": 365, "head_start": 2,
                    "reward": {"value": 49, "cost": 14, "type": "item"}}),
    ("stamp_card", {"stamps": 9, "counter": "visits", "reward": {"value": 49, "type": "discount"}}),
    ("stamp_card", {"stamps": 5, "counter": "items", "expiry_days": 1, "reward": {"value": 20, "type": "item"}}),
    ("stamp_card", {"stamps": 5, "counter": "items", "reward": {"value": 20, "type": "discount"}}),
    ("stamp_card", {"stamps": 1000, "counter": "spend", "reward": {"value": 100, "type": "item"}}),
    ("stamp_card", {"stamps": 1000, "counter": "spend", "reward": {"value": 100, "type": "discount"}}),
    ("points", {"earn_per_unit": 1, "point_value": 0.05, "min_redeem": 200, "expiry_months": 12, "min_purchase": 10,
                "tiers": [{"name": "A", "min_spend": 0, "multiplier": 1}, {"name": "B", "min_spend": 5000,
                                                                          "multiplier": 1.5}],
                "window_months": 12}),
    ("tiers", {"tiers": [{"name": "A", "min_spend": 0, "discount": 0.0},
                         {"name": "B", "min_spend": 5000, "discount": 0.05, "perk_cost_year": 50}],
               "window_months": 12}),
    ("member_discount", {"rate": 0.05, "cashback": False}),
    ("member_discount", {"rate": 0.05, "cashback": True, "expiry_days": 90}),
    ("welcome_offer", {"value": 50, "type": "discount", "min_purchase": 100, "expiry_days": 60}),
    ("welcome_offer", {"value": 50, "type": "item", "expiry_days": 1}),
    ("birthday", {"value": 50, "type": "discount", "window_days": 30}),
    ("birthday", {"value": 50, "type": "item", "window_days": 1}),
    ("coupons", {"every_days": 30, "active_days": 60, "valid_days": 14, "rate": 0.1}),
    ("coupons", {"every_days": 1, "active_days": 1, "valid_days": 1, "value": 25}),
    ("perks", {"cost_per_member_year": 20, "cost_per_event": 3000, "events_per_year": 4}),
]


WORD = re.compile(r"[^\W\d_]{4,}")
SHARED = {"extra", "item", "total", "under"}  # the same word in English and Scandinavian/Portuguese


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Every word of four or more letters in the English msgids of the sentence builders."""
    words: set[str] = set()
    for m in _extracted():
        if m.id and any(path.endswith("verdicts.py") for path, _line in m.locations):
            for text in (m.id if isinstance(m.id, tuple) else (m.id,)):
                words |= {w.lower() for w in WORD.findall(re.sub(r"%\(\w+\)s", " ", text))}
    return frozenset(words - SHARED)


def _all_sentences(locale: str, currency: str) -> list[str]:
    fmt = Formatter(locale, currency)
    _ = i18n.translations(locale).gettext
    out = []
    for kind in ("stamp_card", "perks"):
        for forecast in FORECASTS.values():
            out.append(verdicts.verdict(_scheme(kind, forecast), PROGRAM, fmt, _))
    fixed = {"assumptions": {"visit_lift": 0.05}}
    out += [verdicts.verdict(_scheme(k, FORECASTS["break_even"]), fixed, fmt, _) for k in ("stamp_card", "perks")]
    out += [verdicts.scheme_summary({"kind": kind, "params": params}, fmt, _) for kind, params in SUMMARY_PARAMS]
    out += [verdicts.kind_label(kind, _) for kind in ("stamp_card", "points", "tiers", "member_discount",
                                                  "welcome_offer", "birthday", "coupons", "perks")]
    out.append(verdicts.spread_sentence(FORECASTS["economics"], fmt, _))
    for forecasts in (["break_even", "never"], ["always", "never"], ["economics"], ["none"]):
        schemes = [dict(_scheme(forecast=FORECASTS[k]), id=f"s-{k}", name="S") for k in forecasts]
        best = max((s for s in schemes if s["forecast"]), key=lambda s: s["forecast"]["net_impact"]["mean"],
                   default=None)
        rec = best["id"] if best and best["forecast"]["net_impact"]["mean"] > 0 else "none"
        out.append(verdicts.decision_sentence({"schemes": schemes, "decision": {"recommendation": rec}}, fmt, _))
    return out


@pytest.mark.parametrize("locale, currency", LOCALES)
def test_sentences_contain_no_english_words(locale, currency):
    english = _english_words()
    for sentence in _all_sentences(locale, currency):
        words = {w.lower() for w in WORD.findall(sentence)}
        assert not words & english, f"{locale}: English in {sentence!r}"


def test_english_sentences_are_complete():
    for sentence in _all_sentences("en-GB", "GBP"):
        assert sentence and "%(" not in sentence


def test_verdict_with_break_even_quotes_the_assumed_range():
    fmt, _ = Formatter("en-GB", "GBP"), i18n.translations("en-GB").gettext
    scheme = _scheme(forecast=FORECASTS["break_even"])
    assert verdicts.verdict(scheme, PROGRAM, fmt, _) == (
        "Costs 2.1% of revenue; 38% of your customers would use a reward within a year; pays for itself "
        "if members visit 4% more often (the other assumptions at their likely values) — the range we assumed "
        "is 0%–10%.")
    nb = verdicts.verdict(scheme, PROGRAM, Formatter("nb-NO", "NOK"), i18n.translations("nb-NO").gettext)
    assert nb == (f"Koster 2,1{NBSP}% av omsetningen; 38{NBSP}% av kundene dine ville brukt en belønning i løpet "
                  f"av et år; lønner seg hvis medlemmene kommer 4{NBSP}% oftere (de andre forutsetningene på sine "
                  f"mest sannsynlige verdier) – vi har regnet med 0{NBSP}%–10{NBSP}%.")


def test_verdict_says_what_the_reward_cost_pays_for():
    fmt, _ = Formatter("en-GB", "GBP"), i18n.translations("en-GB").gettext
    text = verdicts.verdict(_scheme(forecast=FORECASTS["economics"]), PROGRAM, fmt, _)
    assert text.endswith("more often (the other assumptions at their likely values) — the range we assumed is "
                         "0%–10%. 94% of its reward cost (£940 of £1,000) would pay for purchases that happen "
                         "anyway. If 50% of the free items replace one the customer would have paid for, the "
                         "expected net impact is -£400; if 100% do, -£650. The more free items replace a "
                         "purchase, the more it loses, and it does not pay either way: the answer does not "
                         "depend on it.")


def test_verdict_variants():
    fmt, _ = Formatter("en-GB", "GBP"), i18n.translations("en-GB").gettext
    always = verdicts.verdict(_scheme(forecast=FORECASTS["always"]), PROGRAM, fmt, _)
    assert always.endswith("comes out ahead in 9 of 10 simulated futures under the ranges you gave.")
    assert "no more often than today" in verdicts.verdict(_scheme(forecast=FORECASTS["below_zero"]), PROGRAM, fmt, _)
    assert verdicts.verdict(_scheme(forecast=FORECASTS["never"]), PROGRAM, fmt, _).endswith(
        "does not pay for itself even if members visited 200% more often.")
    assert "without a forecast" in verdicts.verdict(_scheme(forecast=None), PROGRAM, fmt, _)
    assert "gives no rewards" in verdicts.verdict(_scheme("perks", FORECASTS["break_even"]), PROGRAM, fmt, _)
    # the whole results dict works as the program argument too (render.py passes it)
    assert verdicts.verdict(_scheme(forecast=FORECASTS["break_even"]), {"program": PROGRAM}, fmt, _).endswith(
        "0%–10%.")
    # a scheme's own assumption beats the program's
    own = dict(_scheme(forecast=FORECASTS["break_even"]), assumptions={"visit_lift": {"low": 0.02, "likely": 0.02,
                                                                                      "high": 0.02}})
    assert verdicts.verdict(own, PROGRAM, fmt, _).endswith("we assumed 2%.")


def test_sentence_builders_accept_a_translations_object_or_a_bare_gettext():
    fmt, tr = Formatter("pl-PL", "PLN"), i18n.translations("pl-PL")
    scheme = {"kind": "stamp_card", "params": {"stamps": 3, "counter": "items", "reward": {"value": 20}}}
    expected = f"Kup 3 produkty, a następny dostaniesz gratis (o wartości 20{NBSP}zł). Nagrody nie wygasają."
    assert verdicts.scheme_summary(scheme, fmt, tr) == expected
    assert verdicts.scheme_summary(scheme, fmt, tr.gettext) == expected
    assert verdicts.kind_label("coupons", lambda s: s.upper()) == "COUPONS"


def test_scheme_summary_in_words():
    fmt, _ = Formatter("nb-NO", "NOK"), i18n.translations("nb-NO").gettext
    kind, params = SUMMARY_PARAMS[0]
    assert verdicts.scheme_summary({"kind": kind, "params": params}, fmt, _) == (
        f"Kjøp 9, få den neste gratis (verdt 49{NBSP}kr). Kjøp under 35{NBSP}kr teller ikke. "
        "Nye kort starter med 2 stempler allerede på plass. En belønning må brukes innen 365 dager.")
    assert verdicts.scheme_summary({"kind": "unknown", "params": {}}, fmt, _) == ""


# -- messages stored in results.json: English text plus {"msgid", "params"} ----------------


def _skip_reason(rows: list[tuple[int, int, float]]):
    import polars as pl

    from punchcard.forecast import pipeline as forecast
    from tests.helpers import fake_replay, program, scheme
    from tests.helpers import make_ledger

    tx = pl.DataFrame({"cust": [r[0] for r in rows], "day": [r[1] for r in rows],
                       "amount": [r[2] for r in rows], "items": [1.0] * len(rows)},
                      schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    n = max(r[0] for r in rows) + 1
    return forecast.run(program(scheme()), make_ledger(tx, 0, max(r[1] for r in rows), n),
                        draws=5, replay=fake_replay)


def test_skip_reason_keeps_its_english_text_and_carries_a_structured_form():
    import json

    out = _skip_reason([(0, 0, 5.0), (1, 3, 6.0), (2, 9, 7.0)])
    # 10 days of history, 28 needed: 18 more days would do
    assert out.skipped_reason == ("The sales history covers 10 days; the forecast needs at least 28, so 18 more "
                                  "days of sales would do.")
    skipped = json.loads(json.dumps(out.run))["skipped"]
    assert skipped == {"msgid": "The sales history covers %(n)s day; the forecast needs at least %(min_days)s, so "
                                "%(more)s more days of sales would do.",
                       "plural": "The sales history covers %(n)s days; the forecast needs at least %(min_days)s, so "
                                 "%(more)s more days of sales would do.",
                       "params": {"n": 10, "min_days": 28, "more": 18}}
    assert json.loads(json.dumps(out.run))["skipped_reason"] == out.skipped_reason  # still a plain string
    fmt = Formatter("nb-NO", "NOK")
    assert i18n.render_message(skipped, fmt, i18n.translations("nb-NO")) == (
        "Salgshistorikken dekker 10 dager; prognosen trenger minst 28, så 18 dager til med salg vil holde.")
    assert i18n.render_message(skipped, Formatter("pl-PL", "PLN"), i18n.translations("pl-PL")) == (
        "Historia sprzedaży obejmuje 10 dni; prognoza potrzebuje co najmniej 28, więc wystarczy jeszcze 18 dni "
        "sprzedaży.")

    out = _skip_reason([(c, c % 300, 10.0) for c in range(200)])
    assert out.skipped_reason == ("Only 200 identified customers and none who came back; the forecast needs at "
                                  "least 20 customers and 10 who came back. Keep recording customer numbers on "
                                  "the receipts: a few months of repeat visits would do.")
    assert i18n.render_message(out.run["skipped"], Formatter("sv-SE", "SEK"), i18n.translations("sv-SE")) == (
        "Bara 200 identifierade kunder och ingen som kom tillbaka; prognosen behöver minst 20 kunder och 10 "
        "som kom tillbaka. Fortsätt att registrera kundnummer på kvittona: några månader med återbesök räcker.")
    # 5 repeat customers of 10 needed over 300 days: twice the history, about 10 more months
    out = _skip_reason([(c, c % 300, 10.0) for c in range(200)] + [(c, 299, 10.0) for c in range(5)])
    assert out.skipped_reason.endswith("At this history's pace, about 10 more months of sales would do.")


def test_build_warnings_are_english_text_with_a_translatable_detail():
    from types import SimpleNamespace

    from punchcard.results.document import build_warnings

    data = {"rows_read": 100000, "rows_rejected": {"bad_date": 1234, "zero_amount": 5}}
    fc = SimpleNamespace(skipped_reason=messages.Message("The spend model (Gamma-Gamma) could not be fitted to "
                                                     "these data."), model=None)
    warnings = build_warnings(data, fc)
    assert warnings == ["1,239 of 100,000 rows were rejected (bad_date: 1,234, zero_amount: 5).",
                        "No forecast is shown: The spend model (Gamma-Gamma) could not be fitted to these data."]
    detail = [messages.message_dict(w) for w in warnings]
    fmt = Formatter("nb-NO", "NOK")
    nb = [i18n.render_message(d, fmt, i18n.translations("nb-NO")) for d in detail]
    assert nb == [f"{fmt.number(1239)} av {fmt.number(100000)} rader ble avvist (uleselig dato: {fmt.number(1234)}, "
                  "beløp på null: 5).",
                  "Ingen prognose vises: Forbruksmodellen (Gamma-Gamma) kunne ikke tilpasses disse dataene."]
    en = Formatter("en-GB", "GBP")
    assert i18n.render_message(detail[1], en, i18n.translations("en-GB")) == warnings[1]
    converged = build_warnings({"rows_read": 10, "rows_rejected": {}},
                               SimpleNamespace(skipped_reason=None, model={"converged": False}))
    assert converged == ["The customer model did not converge; treat the forecast with care."]
    assert messages.message_dict(converged[0]) == {"msgid": converged[0], "params": {}}


def test_render_message_falls_back_to_a_plain_string_and_to_english():
    fmt = Formatter("pt-BR", "BRL")
    tr = i18n.translations("pt-BR")
    assert i18n.render_message("An old English sentence.", fmt, tr) == "An old English sentence."
    assert i18n.render_message(None, fmt, tr) == ""
    assert i18n.render_message({"msgid": "Not in any catalog: %(x)s", "params": {"x": 1234.5}}, fmt, tr) == (
        "Not in any catalog: 1.234,5")


def test_message_survives_pickling():
    import pickle

    m = messages.nmessage("%(n)s apple", "%(n)s apples", {"n": 3})
    back = pickle.loads(pickle.dumps(m))
    assert back == "3 apples" and back.as_dict() == m.as_dict()


# -- a scheme's settings table ----------------------------------------------------------------


@pytest.mark.parametrize("locale, currency", LOCALES)
def test_every_setting_key_of_every_kind_has_a_translated_label(locale, currency):
    from punchcard.site import verdicts

    tr = i18n.translations(locale)
    for key, (label, _how) in verdicts._SETTINGS.items():
        assert tr.gettext(label) != label or label in ("Name",) and locale.startswith("en"), (locale, key)
    fmt = Formatter(locale, currency)
    rows = verdicts.settings({"stamps": 9, "counter": "visits", "min_purchase": 35.0,
                              "reward": {"cost": None, "type": "item", "value": 49.0}, "expiry_days": None,
                              "tiers": [{"name": "Gull", "discount": 0.1, "min_spend": 2500.0}]}, fmt, tr)
    keys = [key for _label, key, _value in rows]
    assert keys == ["stamps", "counter", "min_purchase", "reward.cost", "reward.type", "reward.value",
                    "expiry_days", "tiers[1].name", "tiers[1].discount", "tiers[1].min_spend"]
    values = {key: value for _label, key, value in rows}
    assert values["min_purchase"] == fmt.money(35, 0) and values["reward.value"] == fmt.money(49, 0)
    assert values["tiers[1].discount"] == fmt.percent(0.1, 0) and values["expiry_days"] == tr.gettext("never")
    assert values["tiers[1].name"] == "Gull"


def test_settings_program_keys_are_all_covered():
    """Every parameter of every scheme kind (program.py dataclasses) has a label."""
    import dataclasses

    from punchcard import program as P
    from punchcard.site import verdicts

    kinds = [c for c in vars(P).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
             and c.__name__.endswith("Params")] + [getattr(P, "Reward", None), getattr(P, "Tier", None)]
    fields = {f.name for c in kinds if c is not None for f in dataclasses.fields(c)}
    assert fields and fields <= set(verdicts._SETTINGS), sorted(fields - set(verdicts._SETTINGS))


def test_verdict_never_says_zero_for_a_tiny_break_even():
    # issue 17: a break-even visit lift of 0.04 % read "visit 0% more often"
    fmt, _ = Formatter("en-GB", "GBP"), i18n.translations("en-GB").gettext
    tiny = {**FORECASTS["break_even"], "break_even_visit_lift": 0.0004}
    text = verdicts.verdict(_scheme(forecast=tiny), PROGRAM, fmt, _)
    assert f"pays for itself if members visit <{NBSP}0.1% more often" in text
    assert " 0% more often" not in text
