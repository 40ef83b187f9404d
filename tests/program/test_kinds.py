"""One registry of scheme kinds: a kind declared once (its `KIND`) is known everywhere.

The eight shipped kinds are found in ``punchcard/schemes/``; a ninth declared in a test is
validated, documented in the schema, offered by `init`, named and summarised on the site
and replayed, with no other code edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from punchcard import program as pg
from punchcard.errors import PunchcardError
from punchcard.messages import N_
from punchcard.program import Key, Kind, Num, kinds
from punchcard.schemes import replay
from punchcard.site.fmt import Formatter
from punchcard.site.verdicts import kind_label, scheme_summary
from punchcard.starter import schemes_yaml

SHIPPED = ["stamp_card", "points", "tiers", "member_discount", "welcome_offer", "birthday", "coupons", "perks"]


def test_the_shipped_kinds_are_found_in_the_schemes_package_in_their_order():
    assert list(kinds()) == SHIPPED
    for name, k in kinds().items():
        assert k.replay.__module__ == f"punchcard.schemes.{name}"
        assert k.params.__module__ == f"punchcard.schemes.{name}"


@dataclass(frozen=True)
class HalfPriceParams:
    every: int


def _replay(params, tx, ctx, per_tx):
    return SimpleNamespace(kind="half_price", every=params.every, n=tx.n_customers)


HALF_PRICE = Kind(
    name="half_price", order=999, doc="Every nth purchase at half price.", params=HalfPriceParams,
    keys=(Key("every", Num(2, integer=True, example=5), "Purchases per half-price one."),),
    replay=_replay, label=N_("Half price"),
    summary=lambda p, fmt, tr: [f"Every {p['every']}th purchase is half price."],
    starter="  # - id: half\n  #   kind: half_price\n  #   every: 5\n",
    settings={"every": (N_("Purchases per half-price one"), "count")},
)


@pytest.fixture
def ninth_kind(monkeypatch):
    monkeypatch.setitem(kinds(), "half_price", HALF_PRICE)
    return HALF_PRICE


def test_a_new_kind_is_validated_from_its_keys(tmp_path, ninth_kind):
    (tmp_path / "s.csv").write_text("customer,date,amount\na,2025-01-01,10\n", encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("currency: EUR\nsales: {path: s.csv}\nbusiness: {gross_margin: 0.5}\n"
                    "schemes:\n  - {id: half, kind: half_price, every: 4}\n", encoding="utf-8")
    prog = pg.load_program(path)
    assert prog.schemes[0].params == HalfPriceParams(every=4)
    path.write_text(path.read_text().replace("every: 4", "evry: 4"), encoding="utf-8")
    with pytest.raises(PunchcardError) as err:
        pg.load_program(path)
    assert "did you mean `every`" in str(err.value)


def test_a_new_kind_reaches_the_schema_the_starter_the_site_and_the_engine(ninth_kind):
    schema = pg.program_json_schema()
    assert "half_price" in str(schema)
    assert "kind: half_price" in schemes_yaml()
    assert kind_label("half_price", lambda s: s) == "Half price"
    fmt = Formatter("en-GB", "GBP")
    assert scheme_summary({"kind": "half_price", "params": {"every": 5}}, fmt, lambda s: s) == (
        "Every 5th purchase is half price.")
    scheme = pg.Scheme(id="half", name="Half", kind="half_price", params=HalfPriceParams(every=3))
    tx = SimpleNamespace(n_customers=2)
    out = replay(scheme, tx, None, check=False)
    assert (out.kind, out.every, out.n) == ("half_price", 3, 2)


def test_an_unknown_kind_names_the_known_ones(tmp_path):
    (tmp_path / "s.csv").write_text("customer,date,amount\na,2025-01-01,10\n", encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("currency: EUR\nsales: {path: s.csv}\nbusiness: {gross_margin: 0.5}\n"
                    "schemes:\n  - {id: s, kind: stamp_crad, stamps: 9, reward: {value: 5}}\n", encoding="utf-8")
    with pytest.raises(PunchcardError) as err:
        pg.load_program(path)
    assert "did you mean `stamp_card`" in str(err.value)
