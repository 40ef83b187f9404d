"""BG/NBD and Gamma-Gamma against the published CDNOW figures (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from punchcard.forecast import btyd as M
from punchcard.ingest.ledger import Ledger
from tests.helpers import cdnow_ledger, epoch, make_ledger

CAL_END = epoch(date(1997, 9, 30))


@pytest.fixture(scope="module")
def cal(cdnow: Ledger) -> M.RFM:
    return M.rfm(cdnow, CAL_END)


@pytest.fixture(scope="module")
def bg(cal: M.RFM) -> M.BGNBDFit:
    return M.fit_bgnbd(cal.x, cal.t_x, cal.T)


def test_rfm_conventions(cal: M.RFM) -> None:
    assert len(cal.x) == 2357
    assert int(np.sum(cal.x > 0)) == 946
    # first seen 1997-01-01, calibration ends 1997-09-30: 272 days = 38.86 weeks
    assert round(float(cal.T.max()), 2) == 38.86
    assert np.all(cal.t_x <= cal.T) and np.all(cal.mean_value[cal.x == 0] == 0)


def test_rfm_same_day_receipts_are_one_occasion_and_returns_do_not_count() -> None:
    tx = pl.DataFrame({"cust": [0, 0, 0, 0, 0], "day": [0, 0, 7, 14, 14],
                       "amount": [10.0, 5.0, 20.0, -4.0, 30.0], "items": [1.0] * 5})
    r = M.rfm(make_ledger(tx, 0, 28, 1))
    # occasions: day 0 (15), day 7 (20), day 14 (30; the return is ignored) → x = 2
    assert r.x.tolist() == [2.0] and r.t_x.tolist() == [2.0] and r.T.tolist() == [4.0]
    assert r.mean_value.tolist() == [25.0]  # (20 + 30) / 2, first purchase excluded


def test_bgnbd_published_estimates(bg: M.BGNBDFit) -> None:
    assert bg.converged
    assert round(bg.r, 4) == 0.2426
    assert round(bg.alpha, 3) == 4.414
    assert round(bg.a, 4) == 0.7929
    assert round(bg.b, 3) == 2.426
    assert round(bg.loglik, 1) == -9582.4


def test_gamma_gamma_published_estimates(cal: M.RFM) -> None:
    gg = M.fit_gamma_gamma(cal.x, cal.mean_value)
    assert gg.converged
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.v, 2)) == (6.25, 3.74, 15.44)
    assert round(gg.loglik, 1) == -4055.9
    # population mean spend p·v/(q−1) for a customer with no repeat history
    assert M.expected_spend(gg, np.array([0.0]), np.array([0.0]))[0] == pytest.approx(gg.p * gg.v / (gg.q - 1))


def test_conditional_expectation(cdnow: Ledger, cal: M.RFM, bg: M.BGNBDFit) -> None:
    one = M.expected_transactions(bg, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert round(float(one[0]), 3) == 1.226
    total = float(np.sum(M.expected_transactions(bg, 39, cal.x, cal.t_x, cal.T)))
    assert round(total, 1) == 1653.4
    # actual repeat purchase-days in weeks 40–78 (1997-10-01..1998-06-30)
    occ = M.occasions(cdnow)
    actual = int(occ.filter(pl.col("day") > CAL_END).height)
    print(f"\nCDNOW weeks 40–78: model {total:.1f} vs actual {actual}")
    assert actual == 1882


def test_p_alive_and_count_probabilities(cal: M.RFM, bg: M.BGNBDFit) -> None:
    pa = M.p_alive(bg, cal.x, cal.t_x, cal.T)
    assert np.all((pa > 0) & (pa <= 1)) and np.all(pa[cal.x == 0] == 1)
    t = np.array([0.0, 5.0, 38.86, 100.0])
    total = sum(M.prob_count(bg, k, t) for k in range(400))
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    mean = sum(k * M.prob_count(bg, k, t) for k in range(400))
    np.testing.assert_allclose(mean, M.expected_cumulative(bg, t), rtol=1e-5)


def test_no_repeat_purchases_does_not_converge() -> None:
    fit = M.fit_bgnbd(np.zeros(5), np.zeros(5), np.full(5, 10.0))
    assert not fit.converged and fit.message
    gg = M.fit_gamma_gamma(np.zeros(5), np.zeros(5))
    assert not gg.converged and gg.message


def test_analytic_gradients_match_finite_differences():
    from scipy.optimize import approx_fprime

    from punchcard.forecast.btyd import bgnbd_gradient, gg_gradient

    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, 200).astype(float)
    T = rng.uniform(5, 60, 200)
    t_x = np.where(x > 0, rng.uniform(0, 1, 200) * T, 0.0)
    w = rng.integers(1, 4, 200).astype(float)
    p = np.array([0.4, 5.0, 0.8, 2.5])
    numeric = approx_fprime(p, lambda q: bgnbd_gradient(q, x, t_x, T, w)[0], 1e-6)
    np.testing.assert_allclose(bgnbd_gradient(p, x, t_x, T, w)[1], numeric, rtol=1e-4)
    xr = np.maximum(x, 1.0)
    m = rng.gamma(3.0, 10.0, 200)
    g = np.array([6.0, 3.5, 15.0])
    numeric = approx_fprime(g, lambda q: gg_gradient(q, xr, m, w)[0], 1e-6)
    np.testing.assert_allclose(gg_gradient(g, xr, m, w)[1], numeric, rtol=1e-4)


def test_summary_agrees_with_the_occasions_table(cdnow: Ledger) -> None:
    # the one-pass summary against the occasions computed by a Polars group-by
    s = M.summarise(cdnow, cal_end=CAL_END)
    occ = M.occasions(cdnow)
    per = (occ.group_by("cust").agg(n=pl.len(), first=pl.col("day").min(), last=pl.col("day").max(),
                                    total=pl.col("value").sum(),
                                    first_value=pl.col("value").sort_by("day").first())
           .sort("cust"))
    cust = per["cust"].to_numpy()
    assert np.array_equal(s.n[cust], per["n"].to_numpy())
    assert np.array_equal(s.first[cust], per["first"].to_numpy())
    assert np.array_equal(s.last[cust], per["last"].to_numpy())
    np.testing.assert_allclose(s.repeat_value[cust], (per["total"] - per["first_value"]).to_numpy(), atol=1e-9)
    # calibration columns: the same over the occasions up to CAL_END
    cal = occ.filter(pl.col("day") <= CAL_END).group_by("cust").agg(n=pl.len()).sort("cust")
    assert np.array_equal(s.n_cal[cal["cust"].to_numpy()], cal["n"].to_numpy())
    # repeat occasions per day of the calibration cohort: 1,882 after the calibration period
    assert int(s.repeat_days[CAL_END + 1 - s.day0:].sum()) == 1882


def test_summary_does_not_depend_on_row_order() -> None:
    tx = pl.DataFrame({"cust": [1, 0, 0, 1, 0, 0], "day": [3, 7, 0, 3, 0, 14],
                       "amount": [2.0, 20.0, 10.0, 4.0, 5.0, -1.0], "items": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]})
    led = make_ledger(tx, 0, 28, 2)
    shuffled = Ledger(**{**led.__dict__, "tx": led.tx.reverse()})
    a, b = M.summarise(led), M.summarise(shuffled)
    for name in ("n", "first", "last", "repeat_value", "items"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # customer 0: occasions day 0 (15, 2 items), day 7 (20, 2 items); the return on day 14 is no occasion
    assert a.n.tolist() == [2, 1] and a.repeat_value.tolist() == [20.0, 0.0] and a.items.tolist() == [4.0, 2.0]


def test_tabulated_likelihoods_equal_the_direct_formulas() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 12, 500).astype(float)
    T = rng.integers(7, 400, 500) / 7.0
    t_x = np.where(x > 0, np.floor(rng.uniform(0, 1, 500) * T * 7) / 7.0, 0.0)
    w = rng.integers(1, 5, 500).astype(float)
    p = np.array([0.4, 5.0, 0.8, 2.5])
    direct = float(np.dot(w, M.bgnbd_loglik_terms(p, x, t_x, T)))
    assert M.bgnbd_gradient(p, x, t_x, T, w)[0] == pytest.approx(direct, rel=1e-12)
    xr, m = np.maximum(x, 1.0), rng.gamma(3.0, 10.0, 500)
    g = np.array([6.0, 3.5, 15.0])
    direct = float(np.dot(w, M.gg_loglik_terms(g, xr, m)))
    assert M.gg_gradient(g, xr, m, w)[0] == pytest.approx(direct, rel=1e-12)


def test_gamma_gamma_sums_do_not_depend_on_the_blas_thread_count():
    # A BLAS dot splits a long vector over the machine's threads, and the partial sums'
    # order changes the last bits; the likelihood's fixed sums are added by numpy instead,
    # so a 2-core laptop, a 64-core server and a Dask client fit the same parameters.
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from punchcard.forecast import btyd as M; rng = np.random.default_rng(1); "
            "x = rng.integers(1, 30, 300_000).astype(float); m = rng.gamma(2.0, 20.0, 300_000); "
            "prep = M._gg_rows(x, m, np.ones(len(x))); print(prep[3].hex(), prep[4].hex())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS=str(n))).stdout for n in (1, 2, 4)}
    assert len(outs) == 1, outs
