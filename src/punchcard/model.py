"""Buy-till-you-die models: BG/NBD for purchase occasions, Gamma-Gamma for spend.

Conventions (SPEC §5): a purchase occasion is a distinct customer-day with a non-negative
transaction (returns never count); ``x`` is the number of repeat occasions, ``t_x`` and
``T`` are weeks (days / 7) from the first occasion to the last one and to the end day.
References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD) and
"RFM and CLV: using iso-value curves for customer base analysis" (Gamma-Gamma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from punchcard.ledger import Ledger


@dataclass(frozen=True)
class RFM:
    """Per-customer sufficient statistics of the customers with at least one occasion."""

    cust: np.ndarray  # int32 ledger customer key
    x: np.ndarray  # float64 repeat occasions
    t_x: np.ndarray  # float64 weeks, first → last occasion
    T: np.ndarray  # float64 weeks, first occasion → end day
    mean_value: np.ndarray  # float64 mean value per repeat occasion (0 when x == 0)
    first_day: np.ndarray  # int32 epoch day of the first occasion
    end_day: int


@dataclass(frozen=True)
class BGNBDFit:
    """BG/NBD parameters (r, α, a, b), the log-likelihood and whether the optimiser converged."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    converged: bool
    message: str = ""


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma parameters (p, q, v = γ), the log-likelihood and whether it converged."""

    p: float
    q: float
    v: float
    loglik: float
    converged: bool
    message: str = ""


def occasions(ledger: Ledger, end_day: int | None = None) -> pl.DataFrame:
    """Return one row per purchase occasion (cust, day, value), returns excluded, up to end_day.

    Sums run sequentially over the (cust, day)-sorted arrays, so the figures are the same
    bits on every run (a parallel group-by may add in any order).
    """
    end = ledger.end_day if end_day is None else int(end_day)
    tx = ledger.tx.filter((pl.col("amount") >= 0) & (pl.col("day") <= end))
    cust = tx["cust"].to_numpy().astype(np.int64)
    day = tx["day"].to_numpy().astype(np.int64)
    amount = tx["amount"].to_numpy().astype(np.float64)
    if len(cust) > 1 and not _sorted(cust, day):
        order = np.lexsort((amount, day, cust))
        cust, day, amount = cust[order], day[order], amount[order]
    if len(cust) == 0:
        return pl.DataFrame({"cust": [], "day": [], "value": []},
                            schema={"cust": pl.Int32, "day": pl.Int32, "value": pl.Float64})
    new = np.ones(len(cust), dtype=bool)
    new[1:] = (cust[1:] != cust[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new)
    return pl.DataFrame({
        "cust": cust[starts].astype(np.int32),
        "day": day[starts].astype(np.int32),
        "value": np.add.reduceat(amount, starts),
    })


def _sorted(cust: np.ndarray, day: np.ndarray) -> bool:
    dc = np.diff(cust)
    return bool(np.all((dc > 0) | ((dc == 0) & (np.diff(day) >= 0))))


def rfm(ledger: Ledger, end_day: int | None = None) -> RFM:
    """Return the BG/NBD and Gamma-Gamma statistics of every customer seen up to ``end_day``."""
    end = ledger.end_day if end_day is None else int(end_day)
    occ = occasions(ledger, end)
    cust_all = occ["cust"].to_numpy().astype(np.int64)
    day_all = occ["day"].to_numpy().astype(np.int64)
    value = occ["value"].to_numpy()
    if len(cust_all):
        new = np.ones(len(cust_all), dtype=bool)
        new[1:] = cust_all[1:] != cust_all[:-1]
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(cust_all)) - 1
        n = np.diff(np.append(starts, len(cust_all))).astype(np.float64)
        first, last = day_all[starts], day_all[ends]
        total = np.add.reduceat(value, starts)
        first_value = value[starts]
        cust = cust_all[starts]
    else:
        n = first = last = total = first_value = cust = np.zeros(0)
        first = last = np.zeros(0, dtype=np.int64)
    x = n - 1.0
    repeat_total = total - first_value
    mean_value = np.where(x > 0, repeat_total / np.maximum(x, 1.0), 0.0)
    return RFM(
        cust=np.asarray(cust).astype(np.int32),
        x=x,
        t_x=(last - first) / 7.0,
        T=(end - first) / 7.0,
        mean_value=mean_value,
        first_day=np.asarray(first).astype(np.int32),
        end_day=end,
    )


# --- BG/NBD ---------------------------------------------------------------------------


def bgnbd_loglik_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return each customer's BG/NBD log-likelihood at params (r, α, a, b), computed in logs."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _fit_positive(negll, starts: list[np.ndarray]) -> tuple[np.ndarray, float, bool, str]:
    """Minimise ``negll`` over positive parameters with L-BFGS-B on logs from several starts."""
    best = None
    for start in starts:
        try:
            res = minimize(
                lambda z: negll(np.exp(z)),
                np.log(start),
                method="L-BFGS-B",
                bounds=[(-12.0, 12.0)] * len(start),
                options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-8},
            )
        except (FloatingPointError, ValueError):
            continue
        if not np.isfinite(res.fun):
            continue
        if best is None or res.fun < best.fun - 1e-9:
            best = res
        if best.success and np.all(np.abs(best.x) < 11.5):
            break
    if best is None:
        return np.full(len(starts[0]), np.nan), float("nan"), False, "no start gave a finite likelihood"
    at_bound = bool(np.any(np.abs(best.x) >= 11.5))
    ok = bool(best.success) and not at_bound
    msg = "" if ok else ("a parameter ran to its bound" if at_bound else str(best.message))
    return np.exp(best.x), float(-best.fun), ok, msg


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBDFit:
    """Return the maximum-likelihood BG/NBD fit; ``converged`` is False with a message when it fails."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if len(x) == 0 or not np.any(x > 0):
        return BGNBDFit(*(float("nan"),) * 5, converged=False, message="no repeat purchases to fit")

    def negll(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            v = -float(np.sum(bgnbd_loglik_terms(p, x, t_x, T)))
        return v if np.isfinite(v) else 1e300

    scale = max(float(np.mean(T)), 1e-3)
    starts = [
        np.array([1.0, scale, 1.0, 1.0]),
        np.array([0.5, 0.1 * scale + 0.1, 1.0, 3.0]),
        np.array([0.1, 1.0, 0.5, 0.5]),
        np.array([2.0, 10 * scale, 2.0, 10.0]),
    ]
    par, ll, ok, msg = _fit_positive(negll, starts)
    return BGNBDFit(*(float(v) for v in par), loglik=ll, converged=ok, message=msg)


def p_alive(fit: BGNBDFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return each customer's probability of still being active at T (BG/NBD)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(fit.a) - np.log(np.maximum(fit.b + x - 1.0, 1e-300))
            + (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x))
        )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700.0))), 1.0)


def expected_transactions(
    fit: BGNBDFit, t_weeks: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Return each customer's expected purchase occasions in the next ``t_weeks`` given (x, t_x, T)."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    t = float(t_weeks)
    z = t / (alpha + T + t)
    lead = (a + b + x - 1.0) / (a - 1.0)
    body = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp2f1(
        r + x, b + x, a + b + x - 1.0, z
    )
    return lead * body * p_alive(fit, x, t_x, T)


def expected_cumulative(fit: BGNBDFit, t: np.ndarray) -> np.ndarray:
    """Return E[X(t)], the expected repeat occasions in t weeks after a first purchase."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = (a + b - 1.0) / (a - 1.0) * (
            1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        )
    return np.where(t > 0, val, 0.0)


def prob_count(fit: BGNBDFit, k: int, t: np.ndarray) -> np.ndarray:
    """Return P(X(t) = k) for each t: the chance of exactly k repeat occasions in t weeks."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = np.log(alpha) - np.log(alpha + t)  # log(α/(α+t))
        lz = np.log(t) - np.log(alpha + t)  # log(t/(α+t))
        term = betaln(a, b + k) - betaln(a, b) + gammaln(r + k) - gammaln(r) - gammaln(k + 1.0)
        first = np.exp(term + r * lw + np.where(k > 0, k * lz, 0.0))
        if k == 0:
            return first
        js = np.arange(k, dtype=np.float64)
        coef = gammaln(r + js) - gammaln(r) - gammaln(js + 1.0)
        partial = np.exp(coef[None, :] + r * lw[:, None] + js[None, :] * np.where(t > 0, lz, -np.inf)[:, None])
        partial[:, 0] = np.exp(r * lw)  # j = 0 term, also valid at t = 0
        second = np.exp(betaln(a + 1.0, b + k - 1.0) - betaln(a, b)) * (1.0 - partial.sum(axis=1))
        return first + second


# --- Gamma-Gamma ----------------------------------------------------------------------


def gg_loglik_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Return each repeat customer's Gamma-Gamma log-density of their mean value m over x occasions."""
    p, q, v = params
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + x * m)
    )


def fit_gamma_gamma(x: np.ndarray, mean_value: np.ndarray) -> GammaGammaFit:
    """Return the maximum-likelihood Gamma-Gamma fit on customers with x > 0 and a positive mean."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(mean_value, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 2:
        return GammaGammaFit(*(float("nan"),) * 4, converged=False, message="fewer than two repeat customers")

    def negll(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            val = -float(np.sum(gg_loglik_terms(p, x, m)))
        return val if np.isfinite(val) else 1e300

    mbar = float(np.mean(m))
    starts = [
        np.array([1.0, 1.0, 1.0]),
        np.array([5.0, 3.0, mbar]),
        np.array([1.0, 2.0, mbar]),
        np.array([10.0, 10.0, 10.0 * mbar]),
    ]
    par, ll, ok, msg = _fit_positive(negll, starts)
    return GammaGammaFit(*(float(v) for v in par), loglik=ll, converged=ok, message=msg)


def expected_spend(ggfit: GammaGammaFit, x: np.ndarray, mean_value: np.ndarray) -> np.ndarray:
    """Return each customer's expected value per purchase occasion (Gamma-Gamma posterior mean)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(mean_value, dtype=np.float64)
    p, q, v = ggfit.p, ggfit.q, ggfit.v
    return p * (v + x * m) / (p * x + q - 1.0)


# --- calibration / holdout checks ------------------------------------------------------


def holdout_checks(ledger: Ledger, *, min_weeks: float = 8.0, min_repeat: int = 100) -> dict | None:
    """Return the calibration/holdout tracking of a BG/NBD fit on the first two thirds, or None if too short."""
    start, end = int(ledger.start_day), int(ledger.end_day)
    days = end - start + 1
    hold_days = days // 3
    cal_end = end - hold_days
    if hold_days / 7.0 < min_weeks:
        return None
    cal = rfm(ledger, cal_end)
    if int(np.sum(cal.x > 0)) < min_repeat:
        return None
    fit = fit_bgnbd(cal.x, cal.t_x, cal.T)
    if not fit.converged:
        return None
    occ = occasions(ledger)
    cohort = np.zeros(ledger.n_customers + 1, dtype=bool)
    cohort[cal.cust] = True
    cust = occ["cust"].to_numpy()
    day = occ["day"].to_numpy().astype(np.int64)
    first = np.ones(len(cust), dtype=bool)
    first[1:] = cust[1:] != cust[:-1]
    repeat_days = np.sort(day[cohort[cust] & ~first])
    n_weeks = -(-days // 7)
    bounds = np.minimum(start + 7 * np.arange(1, n_weeks + 1) - 1, end)
    actual = np.searchsorted(repeat_days, bounds, side="right").astype(np.float64)
    firsts, counts = np.unique(cal.first_day.astype(np.int64), return_counts=True)
    ages = np.maximum(bounds[None, :] - firsts[:, None], 0) / 7.0
    model_cum = counts.astype(np.float64) @ expected_cumulative(fit, ages)
    cal_actual = float(np.searchsorted(repeat_days, cal_end, side="right"))
    cal_model = float(counts.astype(np.float64) @ expected_cumulative(fit, np.maximum(cal_end - firsts, 0) / 7.0))
    hold = bounds > cal_end
    a_h = actual[hold] - cal_actual
    m_h = model_cum[hold] - cal_model
    ok = a_h > 0
    error = float(np.mean(np.abs(m_h[ok] - a_h[ok]) / a_h[ok])) if np.any(ok) else None
    kmax = 7
    hist = []
    probs_sum = 0.0
    for k in range(kmax):
        pk = float(np.sum(prob_count(fit, k, cal.T)))
        probs_sum += pk
        hist.append({"x": str(k), "actual": int(np.sum(cal.x == k)), "model": pk})
    hist.append({"x": f"{kmax}+", "actual": int(np.sum(cal.x >= kmax)), "model": float(len(cal.x) - probs_sum)})
    return {
        "calibration_weeks": (cal_end - start + 1) / 7.0,
        "holdout_weeks": hold_days / 7.0,
        "calibration_fit": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "loglik": fit.loglik},
        "tracking": [
            {"week": int(w + 1), "actual": float(actual[w]), "model": float(model_cum[w])} for w in range(n_weeks)
        ],
        "tracking_error": error,
        "holdout_actual": float(a_h[-1]) if len(a_h) else 0.0,
        "holdout_model": float(m_h[-1]) if len(m_h) else 0.0,
        "repeat_histogram": hist,
    }
