"""Buy-till-you-die models: BG/NBD for purchase occasions, Gamma-Gamma for spend.

Conventions (SPEC §5): a purchase occasion is a distinct customer-day with a non-negative
transaction (returns never count); ``x`` is the number of repeat occasions, ``t_x`` and
``T`` are weeks (days / 7) from the first occasion to the last one and to the end day.
References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD) and
"RFM and CLV: using iso-value curves for customer base analysis" (Gamma-Gamma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

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


@njit(cache=True)
def _digamma(z: float) -> float:
    """Return ψ(z) for z > 0 (recurrence up to 6, then the asymptotic series)."""
    acc = 0.0
    while z < 6.0:
        acc -= 1.0 / z
        z += 1.0
    f = 1.0 / (z * z)
    return acc + math.log(z) - 0.5 / z - f * (1.0 / 12 - f * (1.0 / 120 - f * (
        1.0 / 252 - f * (1.0 / 240 - f / 132))))


@njit(cache=True)
def _bgnbd_ll_grad(r, alpha, a, b, x, t_x, T, w):
    ll = 0.0
    g = np.zeros(4)
    lg_r, lg_ab, lg_a, lg_b = math.lgamma(r), math.lgamma(a + b), math.lgamma(a), math.lgamma(b)
    ps_r, ps_ab, ps_b = _digamma(r), _digamma(a + b), _digamma(b)
    log_alpha = math.log(alpha)
    for i in range(len(x)):
        xi, wi = x[i], w[i]
        la_T = math.log(alpha + T[i])
        a3 = -(r + xi) * la_T
        if xi > 0:
            la_t = math.log(alpha + t_x[i])
            bx1 = b + xi - 1.0
            a4 = math.log(a) - math.log(bx1) - (r + xi) * la_t
        else:
            la_t, bx1, a4 = 0.0, 1.0, -np.inf
        hi = max(a3, a4)
        lse = hi + math.log(math.exp(a3 - hi) + math.exp(a4 - hi))
        w3, w4 = math.exp(a3 - lse), math.exp(a4 - lse)
        ll += wi * (math.lgamma(r + xi) - lg_r + r * log_alpha
                    + lg_a + math.lgamma(b + xi) - math.lgamma(a + b + xi)
                    - lg_a - lg_b + lg_ab + lse)
        ps_abx = _digamma(a + b + xi)
        g[0] += wi * (_digamma(r + xi) - ps_r + log_alpha - w3 * la_T - w4 * la_t)
        g[1] += wi * (r / alpha - w3 * (r + xi) / (alpha + T[i]) - w4 * (r + xi) / (alpha + t_x[i]))
        g[2] += wi * (ps_ab - ps_abx + w4 / a)
        g[3] += wi * (_digamma(b + xi) - ps_abx - ps_b + ps_ab - w4 / bx1)
    return ll, g


def bgnbd_gradient(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   w: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the weighted BG/NBD log-likelihood and its analytic gradient in (r, α, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    return _bgnbd_ll_grad(r, alpha, a, b, x, t_x, T, w)


def gg_gradient(params: np.ndarray, x: np.ndarray, m: np.ndarray,
                w: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the weighted Gamma-Gamma log-likelihood and its analytic gradient in (p, q, v)."""
    p, q, v = params
    px = p * x
    log_vxm = np.log(v + x * m)
    terms = gg_loglik_terms(params, x, m)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_vxm)
    d_q = digamma(px + q) - digamma(q) + np.log(v) - log_vxm
    d_v = q / v - (px + q) / (v + x * m)
    grad = np.array([np.dot(w, d) for d in (d_p, d_q, d_v)])
    return float(np.dot(w, terms)), grad


#: Above this many customers a fit uses a fixed random subset of them (the whole base's
#: log-likelihood is still reported); population parameters are pinned down long before.
FIT_MAX_CUSTOMERS = 200_000


def fit_sample(n: int, limit: int = FIT_MAX_CUSTOMERS) -> np.ndarray:
    """Return the (sorted) indices a fit uses: all of ``n``, or a fixed random ``limit`` of them."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(20050101).choice(n, size=limit, replace=False))


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Return the distinct rows of ``columns`` and how many customers share each (exact)."""
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    if not cols or len(cols[0]) == 0:
        return cols, np.zeros(0)
    order = np.lexsort(cols[::-1])  # sorted by the first column, then the next …
    ordered = [c[order] for c in cols]
    new = np.ones(len(order), dtype=bool)
    new[1:] = np.any(np.stack([np.diff(c) != 0 for c in ordered]), axis=0)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(order))).astype(np.float64)
    return [c[starts] for c in ordered], counts


def _fit_positive(loglik_grad, starts: list[np.ndarray]) -> tuple[np.ndarray, float, bool, str]:
    """Maximise a log-likelihood over positive parameters: L-BFGS-B on logs with its gradient.

    ``loglik_grad(params) -> (loglik, gradient)``; several starts, the best one kept.
    """

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        par = np.exp(z)
        with np.errstate(all="ignore"):
            ll, grad = loglik_grad(par)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(z)
        return -ll, -grad * par  # chain rule for the log parameters

    best = None
    for start in starts:
        try:
            res = minimize(objective, np.log(start), jac=True, method="L-BFGS-B",
                           bounds=[(-12.0, 12.0)] * len(start),
                           options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
        except (FloatingPointError, ValueError):
            continue
        if not np.isfinite(res.fun) or res.fun >= 1e299:
            continue
        # A line search that can no longer improve at a zero gradient has converged too
        # (L-BFGS-B then reports "ABNORMAL"); the gradient, not the flag, decides.
        flat = float(np.max(np.abs(res.jac))) <= 1e-4 + 1e-7 * abs(float(res.fun))
        res.success = bool(res.success or flat)
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

    scale = max(float(np.mean(T)), 1e-3)
    pick = fit_sample(len(x))
    (ux, ut, uT), w = compress(x[pick], t_x[pick], T[pick])  # equal (x, t_x, T) share a term

    def loglik(p: np.ndarray) -> tuple[float, np.ndarray]:
        return bgnbd_gradient(p, ux, ut, uT, w)

    starts = [
        np.array([1.0, scale, 1.0, 1.0]),
        np.array([0.5, 0.1 * scale + 0.1, 1.0, 3.0]),
        np.array([0.1, 1.0, 0.5, 0.5]),
        np.array([2.0, 10 * scale, 2.0, 10.0]),
    ]
    par, ll, ok, msg = _fit_positive(loglik, starts)
    if len(pick) < len(x) and np.all(np.isfinite(par)):  # report the whole base's likelihood
        (ux, ut, uT), w = compress(x, t_x, T)
        ll = bgnbd_gradient(par, ux, ut, uT, w)[0]
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

    mbar = float(np.mean(m))
    pick = fit_sample(len(x))
    ux, um = x[pick], m[pick]  # mean values are nearly all distinct: nothing to compress
    w = np.ones(len(ux))

    def loglik(p: np.ndarray) -> tuple[float, np.ndarray]:
        return gg_gradient(p, ux, um, w)

    starts = [
        np.array([1.0, 1.0, 1.0]),
        np.array([5.0, 3.0, mbar]),
        np.array([1.0, 2.0, mbar]),
        np.array([10.0, 10.0, 10.0 * mbar]),
    ]
    par, ll, ok, msg = _fit_positive(loglik, starts)
    if len(pick) < len(x) and np.all(np.isfinite(par)):
        ll = gg_gradient(par, x, m, np.ones(len(x)))[0]
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
