"""punchcard tune: the variants searched, generosity, the frontier, and the whole command on real data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from punchcard import cli
from punchcard.errors import PunchcardError
from punchcard.forecast import tune as T
from punchcard.program import Reward, Scheme
from punchcard.program.types import TuneRange
from punchcard.schemes.stamp_card import StampCardParams
from tests.helpers import fake_replay, program, real_file, scheme


def card(stamps: int = 9, value: float = 49.0, cost: float | None = 14.0, head_start: int = 0,
         tune: dict | None = None, **kw) -> Scheme:
    return Scheme(id="card", name="Card", kind="stamp_card",
                  params=StampCardParams(stamps=stamps, reward=Reward(value=value, cost=cost), head_start=head_start,
                                         **kw), tune=tune)


def test_grid_includes_both_ends() -> None:
    assert T.grid(TuneRange(6, 12), whole=True) == [6, 7, 8, 9, 10, 11, 12]
    assert T.grid(TuneRange(20, 60, 5), whole=False) == [20, 25, 30, 35, 40, 45, 50, 55, 60]
    # no step for a money value: five even steps, 20 → 60 by 10
    assert T.grid(TuneRange(20, 60), whole=False) == [20, 30, 40, 50, 60]
    # a step that does not land on max still ends at max: 1, 1.4, 1.8, then 2
    assert T.grid(TuneRange(1, 2, 0.4), whole=False) == [1, 1.4, 1.8, 2]


def test_variant_scales_an_explicit_cost_and_drops_impossible_cards() -> None:
    v = T.apply(card(), {"reward.value": 98.0})
    assert v.params.reward.value == 98.0 and v.params.reward.cost == pytest.approx(28.0)  # 14 × 98/49
    assert T.apply(card(cost=None), {"reward.value": 30.0}).params.reward.cost is None  # default cost follows value
    assert T.apply(card(head_start=2), {"stamps": 2}) is None  # a head start must stay below the stamps


def test_variants_always_hold_the_scheme_as_configured() -> None:
    values, vs = T.variants(card(tune={"stamps": TuneRange(6, 12, 2), "reward.value": TuneRange(40, 60, 20)}))
    assert values == {"stamps": [6, 8, 9, 10, 12], "reward.value": [40.0, 49.0, 60.0]}  # 9 and 49 added
    assert len(vs) == 15
    assert any(st == {"stamps": 9, "reward.value": 49.0} for st, _ in vs)
    # the kind's defaults: stamps 5..14 × reward value 60 %..140 % by 20 % = 50 variants
    values, vs = T.variants(card())
    assert values["stamps"] == list(range(5, 15)) and len(values["reward.value"]) == 5 and len(vs) == 50


def test_too_many_variants_is_an_error_with_the_fix() -> None:
    with pytest.raises(PunchcardError, match=r"give 10,201 variants.*larger step"):
        T.variants(card(tune={"stamps": TuneRange(2, 102), "min_purchase": TuneRange(0, 100, 1)}))


def test_generosity_is_reward_value_over_the_spend_needed() -> None:
    amounts = np.array([10.0, 20.0, 30.0, 40.0])
    ledger = type("L", (), {"tx": pl.DataFrame({"amount": amounts, "items": [1.0, 2.0, 1.0, 4.0]}),
                            "start_day": 0, "end_day": 364, "n_customers": 2})()
    b = T.bills(ledger)
    # bills of at least 25 are 30 and 40: mean 35; 5 stamps for a 14 reward → 14 / (5 × 35) = 0.08
    s = card(stamps=5, value=14.0, min_purchase=25.0)
    assert T.generosity(s, b) == pytest.approx(0.08)
    # a head start of 1 leaves 4 purchases to make: 14 / (4 × 35) = 0.1
    assert T.generosity(card(stamps=5, value=14.0, min_purchase=25.0, head_start=1), b) == pytest.approx(0.1)
    # counting items: 100 spent on 8 items = 12.5 per stamp; 10 stamps for 25 → 25 / 125 = 0.2
    assert T.generosity(card(stamps=10, value=25.0, counter="items"), b) == pytest.approx(0.2)


def _row(i: str, g: float, be: float | None, beyond: str | None = None) -> dict:
    return {"id": i, "generosity": g, "break_even_visit_lift": be, "break_even_beyond": beyond}


def test_frontier_keeps_only_undominated_variants() -> None:
    rows = [_row("a", 0.05, 0.10), _row("b", 0.05, 0.08),  # b: as generous as a, needs less → a is dominated
            _row("c", 0.08, 0.12), _row("d", 0.07, 0.13),  # d: less generous than c and needs more
            _row("e", 0.10, None, "above"),                 # never pays: off the frontier
            _row("f", 0.02, None, "below")]                 # pays at any lift: nothing beats it at 2 %
    assert T.frontier(rows) == ["f", "b", "c"]
    assert T.lowest_at_each_generosity(rows) == ["f", "b", "d", "c", "e"]


CDNOW_TUNE = """\
name: CDNOW — tuning (real data)
currency: USD
sales:
  path: {path}
  columns: {{customer: customer_id, date: date, amount: amount, items: cds}}
  format: {{date_format: "%Y%m%d"}}
business: {{gross_margin: 0.3}}
assumptions:
  enrollment: {{low: 0.3, likely: 0.5, high: 0.7}}
  visit_lift: {{low: 0.0, likely: 0.03, high: 0.08}}
  redemption_rate: 0.8
forecast: {{draws: 20}}
schemes:
  - {{id: tenth-cd, name: Tenth CD free, kind: stamp_card, counter: items, stamps: 9,
     reward: {{value: 15}}, expiry_days: 365, tune: {{stamps: [5, 13, 4], reward.value: [10, 20, 5]}}}}
  - {{id: discount, name: Member discount, kind: member_discount, rate: 0.05}}
"""


@pytest.mark.slow
def test_tune_on_cdnow_reproduces_the_build_and_publishes_its_pages(tmp_path) -> None:
    prog = tmp_path / "cdnow.yaml"
    prog.write_text(CDNOW_TUNE.format(path=real_file("cdnow_master.csv").as_posix()), encoding="utf-8")
    site = tmp_path / "site"
    run = CliRunner().invoke
    assert run(cli.cli, ["build", str(prog), "--out", str(site), "--quiet"]).exit_code == 0
    result = run(cli.cli, ["tune", str(prog), "--out", str(site), "--scheme", "tenth-cd", "--quiet"])
    assert result.exit_code == 0, result.output
    tune = json.loads((tmp_path / "cdnow.tune.json").read_text(encoding="utf-8"))
    res = json.loads((site / "cdnow" / "results.json").read_text(encoding="utf-8"))
    assert tune["fingerprint"] == res["reproducibility"]["fingerprint"]
    block, = tune["schemes"]
    # stamps 5, 9, 13 × reward value 10, 15, 20: nine variants, the configured one among them
    assert len(block["variants"]) == 9 and block["current"] == "stamps=9,reward.value=15"
    rows = {r["id"]: r for r in block["variants"]}
    cur = rows[block["current"]]
    built = next(s for s in res["schemes"] if s["id"] == "tenth-cd")
    # the configured variant is the build's scheme on the build's draws: the same figures
    assert cur["net_impact"]["mean"] == pytest.approx(built["forecast"]["net_impact"]["mean"], rel=1e-9)
    assert cur["break_even_visit_lift"] == pytest.approx(built["forecast"]["break_even_visit_lift"], abs=1e-9)
    assert cur["cost_share_of_revenue"] == pytest.approx(built["backtest"]["cost_share_of_revenue"], rel=1e-9)
    # a card that needs fewer CDs for a bigger reward is more generous, costs more and needs a larger lift
    lo, hi = rows["stamps=13,reward.value=10"], rows["stamps=5,reward.value=20"]
    assert lo["generosity"] < cur["generosity"] < hi["generosity"]
    assert lo["cost_share_of_revenue"] < cur["cost_share_of_revenue"] < hi["cost_share_of_revenue"]
    assert lo["break_even_visit_lift"] < hi["break_even_visit_lift"]
    # most of what a card pays goes to purchases that happen anyway (deadweight), between 50 % and 100 %
    assert all(0.5 < r["deadweight_share"] <= 1.0 for r in block["variants"])
    # the frontier is what frontier() says of the rows, and without an elasticity no single winner
    assert block["frontier"] == T.frontier(block["variants"]) and block["best"] is None
    page = (site / "cdnow" / "tune" / "tenth-cd.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    assert "a frontier, not a single winner" in soup.select_one("section.answer").get_text()
    assert len(soup.select("table.variants tbody tr")) == 9
    assert len(soup.select("table.variants tbody tr.current")) == 1
    assert "9 versions searched" in (site / "cdnow" / "index.html").read_text(encoding="utf-8")
    # a later build keeps the tune pages while the inputs are unchanged …
    assert run(cli.cli, ["build", str(prog), "--out", str(site), "--quiet", "--force"]).exit_code == 0
    assert (site / "cdnow" / "tune" / "tenth-cd.html").read_text(encoding="utf-8") == page
    # … and drops them, saying why, once the program changes
    prog.write_text(prog.read_text(encoding="utf-8").replace("rate: 0.05", "rate: 0.06"), encoding="utf-8")
    result = run(cli.cli, ["build", str(prog), "--out", str(site)])
    assert result.exit_code == 0 and "cdnow.tune.json was made from other inputs" in result.output
    assert not (site / "cdnow" / "tune").exists()


def test_tune_rejects_an_unknown_scheme(tmp_path) -> None:
    prog = tmp_path / "cdnow.yaml"
    prog.write_text(CDNOW_TUNE.format(path=real_file("cdnow_sample.csv").as_posix()), encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["tune", str(prog), "--scheme", "tenth", "--out", str(tmp_path / "s")])
    assert result.exit_code == 1 and "no scheme with id 'tenth'" in result.output and "tenth-cd" in result.output


def test_tune_block_is_validated_with_a_fix(tmp_path) -> None:
    prog = tmp_path / "p.yaml"
    text = CDNOW_TUNE.format(path=real_file("cdnow_sample.csv").as_posix())
    prog.write_text(text.replace("stamps: [5, 13, 4]", "stamps: [13, 5]").replace("reward.value:", "reward.valu:"),
                    encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["validate", str(prog), "--no-data"])
    assert result.exit_code == 1
    assert "the range ends (5) below its start (13)" in result.output
    assert "did you mean `reward.value`?" in result.output


def test_elasticity_scales_each_variants_lift_by_its_generosity(cdnow) -> None:
    from punchcard.forecast.draws import make_draws
    from punchcard.forecast.pipeline import prepare
    from punchcard.program import Range
    from punchcard.schemes.member_discount import MemberDiscountParams

    s = scheme(enrollment=0.5, visit_lift=Range(0.0, 0.04, 0.08))
    prog = program(s)
    base, _ = prepare(prog, cdnow, 7)
    dr = make_draws(base, 7, 12)
    variants = [Scheme(id=f"d@rate={r}", name="d", kind="member_discount", params=MemberDiscountParams(rate=r),
                       assumptions=s.assumptions) for r in (0.05, 0.10)]
    gen = {"d@rate=0.05": 0.05, "d@rate=0.1": 0.10}

    def run(elasticity):
        return T.forecast_variants(prog, base, dr, variants, gen, 0.05, fake_replay, elasticity, 7)

    plain, fixed = run(None), run(Range.fixed(1.0))
    # mean of the triangular (0, 0.04, 0.08) over 12 draws ≈ 0.04; without an elasticity both get it
    assert plain["d@rate=0.05"]["assumed_visit_lift"] == plain["d@rate=0.1"]["assumed_visit_lift"]
    # elasticity 1: twice the generosity, twice the lift; the configured generosity keeps its lift
    assert fixed["d@rate=0.1"]["assumed_visit_lift"] == pytest.approx(2 * plain["d@rate=0.1"]["assumed_visit_lift"])
    assert fixed["d@rate=0.05"]["net_impact"] == plain["d@rate=0.05"]["net_impact"]
    # the break-even is a property of the variant, not of the assumed response
    assert fixed["d@rate=0.1"]["break_even_visit_lift"] == plain["d@rate=0.1"]["break_even_visit_lift"]


def test_a_card_no_bill_qualifies_for_has_no_generosity_and_stays_off_the_frontier() -> None:
    amounts = np.array([10.0, 20.0])
    ledger = type("L", (), {"tx": pl.DataFrame({"amount": amounts, "items": [1.0, 1.0]}),
                            "start_day": 0, "end_day": 364, "n_customers": 1})()
    g = T.generosity(card(min_purchase=50.0), T.bills(ledger))
    assert math.isnan(g)
    rows = [_row("a", g, 0.01), _row("b", 0.05, 0.08)]
    assert T.frontier(rows) == ["b"]
