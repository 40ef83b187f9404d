"""Economics: deadweight, segments, the spread's split, free items, and the decision against doing nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from punchcard.forecast import economics as E
from punchcard.forecast import pipeline as F
from punchcard.forecast.batch import Outcomes
from punchcard.program import Reward
from punchcard.schemes.stamp_card import StampCardParams
from punchcard.results.decision import decide
from tests.helpers import fake_replay, program, scheme


def test_deadweight_is_all_of_the_cost_when_nothing_changes(cdnow) -> None:
    # every lift at zero: each reward goes to a purchase that happens anyway
    s = scheme(enrollment=0.5)
    f = F.run(program(s), cdnow, draws=10, replay=fake_replay).schemes[s.id]
    assert f["reward_cost"] > 0
    assert f["deadweight_share"] == pytest.approx(1.0)
    assert f["reward_cost_on_extra"] == pytest.approx(0.0, abs=1e-9 * f["reward_cost"])
    assert sum(g["reward_cost"] for g in f["segments"]) == pytest.approx(f["reward_cost"])
    assert [g["segment"] for g in f["segments"]] == ["light", "medium", "heavy"]
    assert all(g["deadweight_share"] == pytest.approx(1.0) for g in f["segments"])


def test_deadweight_falls_when_members_buy_more(cdnow) -> None:
    # a 20 % visit lift: 5 % of the extra purchases is cost on extra purchases
    s = scheme(enrollment=0.5, visit_lift=0.2)
    f = F.run(program(s), cdnow, draws=10, replay=fake_replay).schemes[s.id]
    assert 0.7 < f["deadweight_share"] < 0.95
    assert f["reward_cost_on_baseline"] + f["reward_cost_on_extra"] == pytest.approx(f["reward_cost"])
    # members, extra margin and cost by segment add up to the scheme's
    assert sum(g["members"] for g in f["segments"]) == pytest.approx(f["members"])
    assert sum(g["incremental_margin"] for g in f["segments"]) == pytest.approx(f["incremental_margin"])


def test_deadweight_split_by_hand() -> None:
    # two draws: cost 10 and 20, of which 8 and 25 (capped at 20) on purchases that happen anyway
    one = np.ones(2)
    main = Outcomes(revenue=one, reward_cost=np.array([10.0, 20.0]), liability=one, members=one)
    anyway = Outcomes(revenue=one, reward_cost=np.array([8.0, 25.0]), liability=one, members=one)
    d = E.deadweight(main, anyway)
    # baseline (8 + 20) / 2 = 14 of 15: share 0.9333, extra 1
    assert d["reward_cost_on_baseline"] == pytest.approx(14.0)
    assert d["reward_cost_on_extra"] == pytest.approx(1.0)
    assert d["deadweight_share"] == pytest.approx(14.0 / 15.0)


def test_segments_are_terciles_of_yearly_frequency() -> None:
    # six customers seen a year (52.18 weeks): 1..6 occasions a year; two per segment
    x = np.array([0.0, 1, 2, 3, 4, 5])
    T = np.full(6, 365.25 / 7)
    seg = E.segments_of(x, T)
    assert seg.segment.tolist() == [0, 0, 1, 1, 2, 2]
    # quantiles of 1..6 at 1/3 and 2/3: 2.667 and 4.333
    assert seg.cuts == pytest.approx((1 + 5 / 3, 1 + 10 / 3))
    # a customer seen 4 weeks is counted over 26: 2 occasions → 2 × 52.18 / 26 = 4.01 a year
    assert E.frequency(np.array([1.0]), np.array([4.0]))[0] == pytest.approx(2 * 365.25 / 7 / 26)


def test_variance_split_by_hand() -> None:
    # total variance of [0, 2, 4, 6] is 6.667; at the likely values [1, 3] it is 2: chance 0.3
    split = E.variance_split(np.array([0.0, 2, 4, 6]), np.array([1.0, 3.0]))
    assert split["chance"] == pytest.approx(0.3) and split["assumptions"] == pytest.approx(0.7)
    assert E.variance_split(np.zeros(3), np.zeros(3)) == {"assumptions": None, "chance": None}


def test_zero_lifts_keep_the_other_assumptions() -> None:
    v = {"enrollment": 0.4, "visit_lift": 0.1, "spend_lift": 0.05, "retention_lift": 0.02,
         "redemption_rate": 0.9, "goal_gradient": 0.2, "endowed_progress": 0.1, "displacement": 0.8}
    z = E.zero_lifts(v)
    assert z == {**v, "visit_lift": 0.0, "spend_lift": 0.0, "retention_lift": 0.0, "goal_gradient": 0.0,
                 "endowed_progress": 0.0}


def test_forecast_prices_free_items_by_displacement(cdnow) -> None:
    # the replay hands over one free item worth 10 that costs 4 per purchase (gap 6)
    def replay(sc, tx, ctx):
        n = np.bincount(tx.cust, minlength=tx.n_customers).astype(float)
        return SimpleNamespace(cost=None, cust_cost=4.0 * n, item_gap=6.0 * n, liability=np.zeros(tx.n_customers))

    def cost(d: float) -> float:
        s = scheme("stamp_card", StampCardParams(stamps=3, reward=Reward(10.0, 4.0)), enrollment=0.5,
                   displacement=d)
        return F.run(program(s), cdnow, draws=5, replay=replay).schemes[s.id]["reward_cost"]

    at0, at1 = cost(0.0), cost(1.0)
    assert at1 == pytest.approx(at0 * 10.0 / 4.0)  # displacement 1 costs the price, 0 the cost of goods
    assert cost(0.5) == pytest.approx(at0 * 7.0 / 4.0)


def _fc(mean: float, chance: float, be: float | None) -> dict:
    return {"net_impact": {"mean": mean}, "probability_positive": chance, "break_even_visit_lift": be,
            "horizon_months": 12}


def test_decision_is_none_unless_a_scheme_beats_doing_nothing() -> None:
    a = {"id": "a", "name": "A", "forecast": _fc(-100.0, 0.2, 0.08)}
    b = {"id": "b", "name": "B", "forecast": _fc(-50.0, 0.3, 0.05)}
    d = decide([a, b], "EUR")
    assert d["recommendation"] == "none" and "B" in d["reason"] and "+5.0%" in d["reason"]
    c = {"id": "c", "name": "C", "forecast": _fc(10.0, 0.55, -0.01)}
    assert decide([a, b, c], "EUR")["recommendation"] == "c"
    assert decide([{"id": "x", "name": "X", "forecast": None}], "EUR")["recommendation"] == "none"
    assert decide([], "EUR")["recommendation"] == "none"


def test_build_shows_do_nothing_and_deadweight_on_real_data(tmp_path) -> None:
    from bs4 import BeautifulSoup

    from punchcard.cli import cli

    out = tmp_path / "site"
    r = CliRunner().invoke(cli, ["build", "programs/kaffebar-oslo.yaml", "--out", str(out), "--draws", "20"])
    assert r.exit_code == 0, r.output
    res = json.loads((out / "kaffebar-oslo" / "results.json").read_text())
    assert res["decision"]["recommendation"] in {"none"} | {s["id"] for s in res["schemes"]}
    for s in res["schemes"]:
        f, b = s["forecast"], s["backtest"]
        assert 0.0 <= f["deadweight_share"] <= 1.0
        assert b["customers_rewarded"] <= b["customers_issued"] <= b["members"]
    soup = BeautifulSoup((out / "kaffebar-oslo" / "index.html").read_text(), "html.parser")
    rows = soup.select("ol.ranking > li")
    assert len(rows) == len(res["schemes"]) + 1 and len(soup.select("li.baseline")) == 1
    assert soup.select_one("p.decision").text.strip()


def test_plain_lift_is_split_heavy_buyers_least() -> None:
    from punchcard.forecast.draws import likely_values, with_lift
    from punchcard.program import Assumptions, Range, SegmentRange

    # 4 % split 1.5 / 1.0 / 0.5: 6 %, 4 %, 2 % (average 4 %)
    v = likely_values(Assumptions(visit_lift=Range(0.0, 0.04, 0.1)))
    assert (v["visit_lift:light"], v["visit_lift:medium"], v["visit_lift:heavy"]) == pytest.approx((0.06, 0.04, 0.02))
    # given per segment: each its own, the plain key their average
    a = Assumptions(visit_lift=SegmentRange(Range.fixed(0.09), Range.fixed(0.03), Range.fixed(0.0)))
    v = likely_values(a)
    assert v["visit_lift"] == pytest.approx(0.04) and v["visit_lift:light"] == pytest.approx(0.09)
    # the break-even moves the average and keeps the given proportions: 8 % → 18 %, 6 %, 0 %
    w = with_lift(a, v, "visit_lift", 0.08)
    assert (w["visit_lift:light"], w["visit_lift:medium"], w["visit_lift:heavy"]) == pytest.approx((0.18, 0.06, 0.0))


def test_a_lift_for_light_buyers_only_moves_light_buyers(cdnow) -> None:
    from punchcard.program import Range, SegmentRange

    lift = SegmentRange(Range.fixed(0.3), Range.fixed(0.0), Range.fixed(0.0))
    s = scheme(enrollment=0.5, visit_lift=lift)
    f = F.run(program(s), cdnow, draws=5, replay=fake_replay).schemes[s.id]
    light, medium, heavy = f["segments"]
    assert light["incremental_margin"] > 0
    assert medium["incremental_margin"] == pytest.approx(0.0, abs=1e-6)
    assert heavy["incremental_margin"] == pytest.approx(0.0, abs=1e-6)
    assert medium["deadweight_share"] == pytest.approx(1.0) and heavy["deadweight_share"] == pytest.approx(1.0)


def test_the_customers_a_scheme_brings_are_not_deadweight() -> None:
    # the twin behind the deadweight has no extra arrivals: their purchases are all extra
    v = E.zero_lifts({"acquisition_lift": 0.2, "visit_lift": 0.1, "enrollment": 0.4, "displacement": 0.8})
    assert v == {"acquisition_lift": 0.0, "visit_lift": 0.0, "enrollment": 0.4, "displacement": 0.8}
