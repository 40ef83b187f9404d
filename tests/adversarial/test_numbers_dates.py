"""Numbers and dates that lie: absurd settings, amounts no till prints, impossible dates,
returns without sales, dates a century away — each an error or a rejected row with its
reason, and verdicts that never contradict the figures beside them."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from punchcard.site.fmt import Formatter
from punchcard.site.verdicts import verdict
from tests.adversarial.running import edit, fails, invoke, succeeds
from tests.helpers import write_program


def _sales(program):
    return program.parent / "sales.csv"


def _add_rows(program, *rows: str) -> None:
    sales = _sales(program)
    lines = sales.read_text().splitlines()
    sales.write_text("\n".join(lines[:5] + list(rows) + lines[5:]) + "\n")


@pytest.mark.parametrize("setting, key", [
    ("stamps: 1000000000", "stamps"),
    ("stamps: 9.5", "stamps"),
    ("stamps: .inf", "stamps"),
    ("stamps: .nan", "stamps"),
    ("stamps: 0x10000000000", "stamps"),
])
def test_absurd_stamps(program, setting, key):
    edit(program, "stamps: 9", setting)
    fails(invoke("validate", program, "--no-data"), f"schemes[0].{key}",
          "a whole number from 1 to 1,000,000")


@pytest.mark.parametrize("old, new, where", [
    ("reward: {value: 49, cost: 14}", "reward: {value: 1e308, cost: 14}", "reward.value"),
    ("reward: {value: 49, cost: 14}", "reward: {value: 49, cost: -14}", "reward.cost"),
    ("setup: 1000", "setup: 1e13", "fixed_costs.setup"),
    ("expiry_days: 365", "expiry_days: 1000000", "expiry_days"),
    ("point_value: 0.1", "point_value: 0", "point_value"),
    ("rate: 0.05", "rate: 1.5", "rate"),
    ("gross_margin: 0.68", "gross_margin: 68", "gross_margin"),
    ("likely: 0.04", "likely: 400", "visit_lift"),
    ("draws: 20", "draws: 0", "forecast.draws"),
    ("min_redeem: 100", "min_redeem: 1e12", "min_redeem"),
])
def test_settings_out_of_range(program, old, new, where):
    edit(program, old, new)
    fails(invoke("validate", program, "--no-data"), where, "Fix:")


@pytest.mark.parametrize("day", ["2025-02-30", "2025-13-01", "2023-02-29"])
def test_window_start_not_in_the_calendar(program, day):
    edit(program, "  path: sales.csv", f"  path: sales.csv\n  window: {{start: {day}}}")
    fails(invoke("validate", program, "--no-data"), "sales.window.start",
          "is not a day of the calendar", "YYYY-MM-DD")


def test_window_that_ends_before_it_starts(program):
    edit(program, "  path: sales.csv", "  path: sales.csv\n  window: {start: 2025-06-01, end: 2025-01-01}")
    fails(invoke("validate", program, "--no-data"), "sales.window.end", "swap `start` and `end`")


def test_window_with_no_sales_in_it(program):
    edit(program, "  path: sales.csv", "  path: sales.csv\n  window: {start: 2030-01-01, end: 2030-12-31}")
    fails(invoke("validate", program), "sales.csv", "outside_window", "widen or remove `sales.window`")


@pytest.mark.parametrize("amount", ["9" * 400, "1e308", "9" * 30, "-1e308", "NaN", "inf", "1e-400"])
def test_amounts_no_till_prints_are_rejected_rows(program, amount):
    _add_rows(program, f"kunde-0003@example.no,2025-03-01,{amount},1")
    text = succeeds(invoke("validate", program))
    if amount == "1e-400":  # reads as 0.0: a zero-amount visit
        assert "rows used" in text
        return
    result = invoke("build", program, "--out", program.parent.parent / "site", "--quiet", "--json")
    data = json.loads(result.stdout)
    assert data["ok"]
    res = json.loads((program.parent.parent / "site" / "cafe" / "results.json").read_text())
    assert res["data"]["rows_rejected"].get("bad_amount") == 1
    assert math.isfinite(res["data"]["revenue"]) and res["data"]["revenue"] < 1e6


def test_items_beyond_any_basket(program):
    _add_rows(program, "kunde-0003@example.no,2025-03-01,10.00,1e30")
    out = program.parent.parent / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    res = json.loads((out / "cafe" / "results.json").read_text())
    assert res["data"]["rows_rejected"].get("bad_items") == 1


def test_export_of_only_returns(tmp_path):
    program = write_program(tmp_path / "p")
    sales = _sales(program)
    lines = sales.read_text().splitlines()
    body = [line.replace(",-", ",").replace(",", ",-", 2).replace(",-", ",", 1) for line in lines[1:]
            if "2025-13" not in line]
    sales.write_text(lines[0] + "\n" + "\n".join(body) + "\n")
    assert all(",-" in line for line in body)
    fails(invoke("build", program, "--out", tmp_path / "site"), "sales.csv",
          "every used row is a return", "flip the sign")
    assert not (tmp_path / "site").exists()


def test_returns_outweigh_sales(tmp_path):
    program = write_program(tmp_path / "p")
    _add_rows(program, "kunde-0004@example.no,2025-03-01,-99999.00,1")
    fails(invoke("validate", program), "returns (", "outweigh sales", "not a returns report")


def test_dates_a_century_away_are_named_outliers(tmp_path):
    program = write_program(tmp_path / "p")
    _add_rows(program, "kunde-0005@example.no,1901-03-01,50.00,1",
              "kunde-0006@example.no,2099-03-01,50.00,1")
    out = tmp_path / "site"
    result = invoke("build", program, "--out", out)
    text = succeeds(result)
    assert "date_outlier: 2" in text  # the warning names the reason and count
    res = json.loads((out / "cafe" / "results.json").read_text())
    assert res["data"]["rows_rejected"]["date_outlier"] == 2
    assert res["data"]["first_date"] >= "2025-01-01" and res["data"]["last_date"] < "2027-01-01"
    shown = [ex["text"] for ex in res["data"]["rejected_examples"]["date_outlier"]]
    assert any("1901-03-01" in t for t in shown) and any("2099-03-01" in t for t in shown)
    assert not any("kunde-" in t for t in shown)  # the lines are shown masked
    page = (out / "cafe" / "customers.html").read_text()
    assert "date far from all the others" in page


def test_outliers_named_in_norwegian(tmp_path):
    program = write_program(tmp_path / "p", locale="nb-NO")
    _add_rows(program, "kunde-0005@example.no,1901-03-01,50.00,1")
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    assert "dato langt fra alle de andre" in (out / "cafe" / "customers.html").read_text()


def test_a_long_real_history_has_no_outliers(tmp_path):
    from punchcard.ingest.rows import outlier_days
    import polars as pl

    # ten years of daily sales: nothing is far from the rest
    days = pl.Series(list(range(0, 3650)) * 2, dtype=pl.Int32)
    assert outlier_days(days) is None
    # a year, plus one row 3 years earlier: 365-day reach -> an outlier
    days = pl.Series([-3 * 365] + list(range(0, 365)) * 3, dtype=pl.Int32)
    first, last = outlier_days(days)
    assert -3 * 365 < first <= -365 + 5 and 364 + 365 - 5 <= last


def test_excel_serial_dates_of_zero(tmp_path):
    program = write_program(tmp_path / "p")
    _add_rows(program, "kunde-0005@example.no,0000-00-00,50.00,1")
    text = succeeds(invoke("validate", program))
    assert "rejected" in text


# --- verdicts never contradict the figures beside them ---------------------------------

FMT = Formatter("en-GB", "GBP")


def _scheme(mean, p, break_even, kind):
    return {"kind": kind, "backtest": {"cost_share_of_revenue": 0.02, "rewarded_share": 0.3},
            "forecast": {"net_impact": {"mean": mean}, "probability_positive": p,
                         "break_even_visit_lift": break_even},
            "assumptions": {"visit_lift": {"low": 0.0, "likely": 0.04, "high": 0.08}}}


@settings(max_examples=400, deadline=None)
@given(mean=st.floats(-1e6, 1e6), p=st.floats(0, 1),
       break_even=st.one_of(st.none(), st.floats(-1, 1)),
       kind=st.sampled_from(["stamp_card", "perks"]))
def test_verdicts_agree_with_their_figures(mean, p, break_even, kind):
    text = verdict(_scheme(mean, p, break_even, kind), {"assumptions": {}}, FMT, lambda s: s)
    if "pays for itself even if" in text:
        assert mean > 0 and p >= 0.5 and (break_even is None or break_even <= 0)
    if "does not pay for itself" in text:
        assert mean <= 0 and p < 0.5
    if "pays for itself if members visit" in text:
        assert break_even is not None and break_even > 0
    if "comes out ahead in" in text:
        assert f"ahead in {round(10 * p)} of 10" in text


def test_a_scheme_that_never_rewards_is_not_said_to_pay(tmp_path):
    # the case: stamps so many that no one earns a reward, break-even at 0 and a
    # certain loss (the fixed costs) -> no "pays for itself" beside "0 of 10"
    text = verdict(_scheme(-5000.0, 0.0, 0.0, "stamp_card"), {"assumptions": {}}, FMT, lambda s: s)
    assert "pays for itself" not in text
    assert "ahead in 0 of 10" in text


@pytest.mark.slow
def test_verdicts_on_built_pages_agree_with_results_json(tmp_path):
    # the case through the CLI on realistic sales: a card no one can fill
    from bs4 import BeautifulSoup

    from tests.adversarial.running import write_forecast_program

    program = write_forecast_program(tmp_path / "p", draws=100)
    edit(program, "stamps: 9", "stamps: 1000000")
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    res = json.loads((out / "cafe" / "results.json").read_text())
    for s in res["schemes"]:
        fc = s["forecast"]
        mean, p = fc["net_impact"]["mean"], fc["probability_positive"]
        text = BeautifulSoup((out / "cafe" / "schemes" / f"{s['id']}.html").read_text(),
                             "html.parser").get_text(" ")
        if "pays for itself even if" in text:
            assert mean > 0 and p >= 0.5, s["id"]
        if "does not pay for itself" in text:
            assert mean <= 0 and p < 0.5, s["id"]
        assert f"ahead in {round(10 * p)} of 10" in text or "ahead in" not in text
    card = next(s for s in res["schemes"] if s["id"] == "tenth-free")
    assert card["backtest"]["rewards_earned"] == 0 and card["forecast"]["probability_positive"] == 0.0


def test_a_window_that_includes_an_old_date_keeps_it(tmp_path):
    program = write_program(tmp_path / "p")
    _add_rows(program, "kunde-0005@example.no,2019-03-01,50.00,1")
    edit(program, "  path: sales.csv", "  path: sales.csv\n  window: {start: 2019-01-01}")
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    res = json.loads((out / "cafe" / "results.json").read_text())
    assert "date_outlier" not in res["data"]["rows_rejected"]
    assert res["data"]["first_date"] == "2019-03-01"
