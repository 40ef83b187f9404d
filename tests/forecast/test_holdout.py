"""The holdout check: the split, the choice among the candidates, and what a failed check does."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from punchcard.cli import cli
from punchcard.forecast import btyd as M
from punchcard.forecast import holdout as H
from punchcard.forecast import purchase_models as P
from punchcard.results import FORECAST_ERROR_LIMIT, forecast_off_by
from punchcard.results.forecast_check import holdout_warning
from tests.helpers import make_ledger

H_LIMIT = 0.15


def fit(name: str, ll: float, ok: bool = True) -> P.PurchaseFit:
    return P.PurchaseFit(name, (1.0,) * len(P.PARAMS[name]), ll, ok)


def test_auto_takes_the_smallest_error_and_ties_go_to_the_simplest() -> None:
    fits = {n: fit(n, -100.0) for n in P.NAMES}
    # Pareto/NBD 2.0 % off is best, but the BG/NBD (2.8 %) is within one point: simpler wins
    assert H.pick({"nbd": 0.40, "bgnbd": -0.028, "mbgnbd": 0.05, "pareto_nbd": 0.020}, fits, 1000) == "bgnbd"
    # 1.1 points apart is no tie
    assert H.pick({"nbd": 0.40, "bgnbd": 0.031, "mbgnbd": 0.05, "pareto_nbd": 0.020}, fits, 1000) == "pareto_nbd"
    # a candidate whose whole-history fit failed is never taken, however good its check
    fits["pareto_nbd"] = fit("pareto_nbd", -90.0, ok=False)
    assert H.pick({"nbd": 0.40, "bgnbd": 0.031, "pareto_nbd": 0.0}, fits, 1000) == "bgnbd"


def test_without_a_holdout_auto_takes_the_best_bic() -> None:
    # BIC = k·ln n − 2 LL with n = 1000 (ln n = 6.908): NBD 2·6.908 + 2·120 = 253.8,
    # BG/NBD (and the other two) 4·6.908 + 2·100 = 227.6 → BG/NBD, the simplest of the three
    fits = {n: fit(n, -100.0) for n in P.NAMES}
    fits["nbd"] = fit("nbd", -120.0)
    assert H.pick({}, fits, 1000) == "bgnbd"
    # NBD LL −107: 13.8 + 214 = 227.8 against 227.6: within 2 BIC, a tie, so the simpler NBD
    fits["nbd"] = fit("nbd", -107.0)
    assert H.pick({}, fits, 1000) == "nbd"
    assert H.pick({}, {n: fit(n, -1.0, ok=False) for n in P.NAMES}, 10) is None


def test_the_check_on_the_whole_cdnow_sample(cdnow) -> None:
    # 1997-01-01..1998-06-30 = 546 days = 78 weeks; the last third (546 // 3 = 182 days = 26
    # weeks, from 1997-12-31) held out, so the calibration ends on 1997-12-30 (364 days)
    s = M.summarise(cdnow, cal_end=M.holdout_end(cdnow))
    sel = H.select(s, M.rfm_of(s), "auto", int(cdnow.start_day))
    ch = sel.checks
    assert ch["calibration_weeks"] + ch["holdout_weeks"] == pytest.approx(546 / 7)
    assert ch["holdout"]["calibration_end"] == "1997-12-30" and ch["holdout_weeks"] == 26.0
    assert len(ch["tracking"]) == 78
    cum = [w["actual"] for w in ch["tracking"]]
    assert cum == sorted(cum)
    assert abs(ch["holdout"]["error"]) < H_LIMIT and ch["tracking_error"] < H_LIMIT
    if ch["repeat_histogram"] is not None:  # every model but the Pareto/NBD tabulates it
        assert sum(h["actual"] for h in ch["repeat_histogram"]) == 2357
        assert sum(h["model"] for h in ch["repeat_histogram"]) == pytest.approx(2357)


def test_a_first_choice_the_pareto_nbd_overturns_is_worked_out_again(cdnow, monkeypatch) -> None:
    # select starts the chosen model's checks on a first choice (before the Pareto/NBD's holdout
    # prediction is in); when the last one changes it, they are worked out again: the same selection
    s = M.summarise(cdnow, cal_end=M.holdout_end(cdnow))
    rfm = M.rfm_of(s)
    plain = H.select(s, rfm, "auto", int(cdnow.start_day))
    other = next(n for n in ("nbd", "bgnbd") if n != plain.chosen.name)
    real, calls = H.pick, []

    def first_wrong(errors, fits, n):
        calls.append(n)
        return other if len(calls) == 1 else real(errors, fits, n)

    monkeypatch.setattr(H, "pick", first_wrong)
    again = H.select(s, rfm, "auto", int(cdnow.start_day))
    assert len(calls) == 2 and again.chosen.name == plain.chosen.name
    assert repr((again.fits, again.candidates, again.checks)) == repr((plain.fits, plain.candidates, plain.checks))


def test_a_short_history_has_no_check() -> None:
    # 31 days: a third is 10 days, under the 8 weeks a holdout needs; auto falls back to the BIC
    rows = [(c, c % 4 + 7 * k) for c in range(40) for k in range(c % 5)]  # 0..4 visits a week apart
    tx = pl.DataFrame({"cust": [r[0] for r in rows], "day": [r[1] for r in rows],
                       "amount": [1.0] * len(rows), "items": [1.0] * len(rows)})
    led = make_ledger(tx, 0, 30, 40)
    assert M.holdout_end(led) is None
    s = M.summarise(led)
    sel = H.select(s, M.rfm_of(s), "auto", 0)
    assert isinstance(sel, H.Selection) and sel.checks is None
    assert all(c["holdout_error"] is None for c in sel.candidates)


def test_deciles_split_by_prediction() -> None:
    pred = np.arange(20, dtype=float)  # 0..19: decile 1 holds 0 and 1, decile 10 holds 18 and 19
    actual = np.ones(20)
    d = H.deciles(pred, actual)
    assert [x["customers"] for x in d] == [2] * 10
    assert (d[0]["predicted"], d[-1]["predicted"], d[-1]["actual"]) == (1.0, 37.0, 2.0)


def test_stable_order_is_numpys_stable_argsort() -> None:
    rng = np.random.default_rng(3)
    for v in [rng.integers(0, 5, 10_000).astype(np.float64), rng.random(1_000), np.round(rng.random(20_000), 2),
              np.array([0.0, -0.0, 1.0, 0.0, -0.0]), np.array([2.0, np.nan, 1.0, np.nan, 1.0]), np.array([]),
              np.array([7.0]), np.array([3, 1, 2, 1])]:  # (the radix sort's own cases: test_radix.py)
        assert np.array_equal(H.stable_order(v), np.argsort(v, kind="stable"))


def test_the_limit_is_fifteen_percent_either_way() -> None:
    def model(err):
        return {"checks": {"holdout": {"error": err, "calibration_end": "2025-05-02", "holdout_weeks": 13.0,
                                       "predicted": 115.2, "actual": 100.0}}}

    assert FORECAST_ERROR_LIMIT == 0.15
    assert forecast_off_by(model(0.149)) is None and forecast_off_by(model(-0.15)) is None
    assert forecast_off_by(model(0.152)) == 0.152 and forecast_off_by(model(-0.2)) == -0.2
    assert forecast_off_by(None) is None and forecast_off_by({"checks": None}) is None
    warning = holdout_warning(model(0.152))
    # 115.2 rounds to 115; 15.2 % too many
    assert str(warning) == ("The forecast failed its holdout check: fitted on the sales up to 2025-05-02, the model "
                            "predicted 115 purchase occasions for the next 13.0 weeks and the same customers made "
                            "100, 15.2 % too many. Every figure that rests on the forecast may be off by as much.")


def shock_sales(path: Path) -> Path:
    """A shop whose regulars come every few days until day 200, when every odd-numbered one stops.

    Fitted on the first two thirds (days 0..199), every model expects the odd half to go on
    coming; in the last third they make about half the purchases expected: error ≈ +100 %.
    """
    rng = random.Random(7)
    start = date(2025, 1, 1)
    lines = ["customer,date,amount"]
    for c in range(120):
        day, mean = rng.randrange(0, 60), rng.gammavariate(3.0, 15.0)  # each customer's own basket size
        while day < 300:
            if day >= 200 and c % 2:
                break
            amount = rng.gammavariate(4.0, mean / 4.0)
            lines.append(f"k{c:03d},{(start + timedelta(days=day)).isoformat()},{amount:.2f}")
            day += rng.randrange(3, 5 + c % 9)  # from twice a week to every nine days
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PROGRAM = """\
name: Shock
locale: {locale}
currency: NOK
sales:
  path: sales.csv
business:
  gross_margin: 0.6
forecast:
  draws: 3
schemes:
  - id: disc
    name: Rabatt
    kind: member_discount
    rate: 0.05
"""


@pytest.mark.parametrize("locale", ["en-GB", "nb-NO"])
def test_a_failed_holdout_check_is_said_everywhere_and_fails_strict(tmp_path, locale) -> None:
    shock_sales(tmp_path / "sales.csv")
    prog = tmp_path / "shock.yaml"
    prog.write_text(PROGRAM.format(locale=locale), encoding="utf-8")
    strict = CliRunner().invoke(cli, ["build", str(prog), "--out", str(tmp_path / "strict"), "--strict"])
    assert strict.exit_code == 1 and "failed its holdout check" in strict.output
    assert not (tmp_path / "strict" / "shock").exists()
    res = CliRunner().invoke(cli, ["build", str(prog), "--out", str(tmp_path / "site"), "-q"])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "site" / "shock" / "results.json").read_text(encoding="utf-8"))
    hold = out["model"]["checks"]["holdout"]
    assert hold["error"] > 0.5  # about twice the purchases the odd half made
    assert any("failed its holdout check" in w for w in out["warnings"])
    page = (tmp_path / "site" / "shock" / "index.html").read_text(encoding="utf-8")
    word = "Careful" if locale == "en-GB" else "Forsiktig"
    assert word in page
