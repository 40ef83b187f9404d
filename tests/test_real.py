"""The whole pipeline on real public transaction logs (../shared/data/real): plausible figures.

CDNOW (a US online CD shop, 1997–98) and the Complete Journey grocery sample are real
histories: every scheme's backtest must balance and land in a believable range, and the
site must build. Figures checked against numbers computed independently here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchcard import cli
from tests.helpers import real_file


CDNOW = """\
name: CDNOW — loyalty options (real data)
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
forecast: {{draws: 40}}
schemes:
  - {{id: tenth-cd, name: Tenth CD free, kind: stamp_card, counter: items, stamps: 9,
     reward: {{value: 15}}, expiry_days: 365}}
  - {{id: points, name: Points, kind: points, earn_per_unit: 1, point_value: 0.01,
     min_redeem: 500, expiry_months: 12}}
  - {{id: discount, name: Member discount, kind: member_discount, rate: 0.05}}
"""


@pytest.mark.slow
def test_cdnow_builds_with_plausible_figures(tmp_path):
    path = real_file("cdnow_master.csv")
    (tmp_path / "cdnow.yaml").write_text(CDNOW.format(path=path.as_posix()), encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["build", str(tmp_path / "cdnow.yaml"), "--out",
                                          str(tmp_path / "site"), "--quiet"])
    assert result.exit_code == 0, result.output
    res = json.loads((tmp_path / "site" / "cdnow" / "results.json").read_text())

    with open(path, newline="") as fh:  # independent figures: one file, so every line is used —
        rows = list(csv.DictReader(fh))  # zero amounts as visits with no revenue, repeated lines
    revenue = sum(float(r["amount"]) for r in rows)  # as purchases of their own (docs/data.md)
    assert res["data"]["customers"] == len({r["customer_id"] for r in rows}) == 23570
    assert res["data"]["revenue"] == pytest.approx(revenue, abs=0.01)
    assert res["data"]["rows_rejected"] == {}
    assert res["data"]["rows_used_zero_amount"] == sum(float(r["amount"]) == 0 for r in rows) == 80

    by_id = {s["id"]: s for s in res["schemes"]}
    for s in res["schemes"]:
        bt = s["backtest"]
        assert bt["members"] == res["data"]["customers"]
        assert 0 < bt["cost_share_of_revenue"] < 0.2, s["id"]
        assert 0 <= bt["top20_cost_share"] <= 1
        assert bt["total_cost"] == pytest.approx(bt["reward_cost"] + bt["fixed_cost"])
    # a 5 % discount on every purchase costs 5 % of identified revenue (× redemption 0.8)
    assert by_id["discount"]["backtest"]["reward_cost"] == pytest.approx(0.05 * 0.8 * revenue,
                                                                         rel=1e-6)
    card = by_id["tenth-cd"]["backtest"]
    assert card["rewards_earned"] == pytest.approx(
        card["rewards_redeemed"] / 0.8 + card["rewards_expired"] + card["rewards_outstanding"],
        abs=1)
    # CDNOW is a cohort that mostly bought once: few customers reach a tenth CD
    assert 0.02 < card["rewarded_share"] < 0.5
    assert res["model"]["converged"] and res["forecast"]["skipped_reason"] is None

    # The pilot plan of the recommended scheme, as results.json and the program page give it
    pilot = res["pilot"]
    best = min(res["schemes"], key=lambda s: s["rank"])
    assert pilot["scheme"] == best["id"] and pilot["assumed_lift"] == pytest.approx(0.03)
    assert (pilot["alpha"], pilot["power"]) == (0.05, 0.8)
    # CDNOW's 23,570 customers, mostly one-off buyers: purchase counts vary far more than
    # they average (a coefficient of variation above 2), so a 3 % lift needs more customers
    # per group than the shop has at every length, and the smallest detectable lift is far above 3 %
    assert pilot["coefficient_of_variation"] > 2
    assert not pilot["feasible"] and pilot["customers_per_arm"] > res["data"]["customers"] // 2
    # z² × 2σ²/Δ² ≈ 7.85 × 2 × CV² / (relative difference)²: a 3 % rate lift with CV above 2 needs over 50,000
    assert pilot["customers_per_arm"] > 50_000
    assert [r["weeks"] for r in pilot["min_detectable_lift"]] == [8, 13, 26, 52]
    assert all(0.03 < r["lift"] < 5 for r in pilot["min_detectable_lift"])
    page = (tmp_path / "site" / "cdnow" / "index.html").read_text(encoding="utf-8")
    assert "How to test it before you commit" in page
    assert f"{pilot['customers_per_arm']:,} customers in each group" in page
