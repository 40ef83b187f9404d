"""Buy-till-you-die models: BG/NBD for purchase occasions, Gamma-Gamma for spend.

Conventions (SPEC §5): a purchase occasion is a distinct customer-day with a non-negative
transaction (returns never count); ``x`` is the number of repeat occasions, ``t_x`` and
``T`` are weeks (days / 7) from the first occasion to the last one and to the end day.
References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD) and
"RFM and CLV: using iso-value curves for customer base analysis" (Gamma-Gamma).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from punchcard.ingest import Ledger


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


@dataclass(frozen=True)
class Summary:
    """Every customer's purchase occasions summarised in one pass over the sorted ledger.

    Arrays are indexed by the ledger's customer key; a customer without an occasion up to
    ``end_day`` has ``n == 0``. The ``*_cal`` columns count only occasions up to
    ``cal_end`` (the calibration period of the holdout check; equal to ``end_day`` when
    there is none). ``repeat_days[k]`` counts the repeat occasions on day ``day0 + k`` of
    the customers whose first occasion falls in the calibration period.
    """

    n: np.ndarray  # int64 occasions up to end_day
    first: np.ndarray  # int64 epoch day of the first occasion (-1 when none)
    last: np.ndarray  # int64 epoch day of the last occasion
    repeat_value: np.ndarray  # float64 value of the occasions after the first
    items: np.ndarray  # float64 items bought on all occasions
    n_cal: np.ndarray
    last_cal: np.ndarray
    repeat_value_cal: np.ndarray
    repeat_days: np.ndarray  # int64 per day of [day0, end_day]
    day0: int
    end_day: int
    cal_end: int


@njit(cache=True, nogil=True)
def _summarise(cust, day, amount, items, n_customers, day0, end, cal_end):
    """Return the Summary columns (and 0), or 1 when the rows are not sorted by (cust, day)."""
    n = np.zeros(n_customers, dtype=np.int64)
    first = np.full(n_customers, -1, dtype=np.int64)
    last = np.full(n_customers, -1, dtype=np.int64)
    rep = np.zeros(n_customers)
    itm = np.zeros(n_customers)
    n_cal = np.zeros(n_customers, dtype=np.int64)
    last_cal = np.full(n_customers, -1, dtype=np.int64)
    rep_cal = np.zeros(n_customers)
    rdays = np.zeros(max(end - day0 + 1, 1), dtype=np.int64)
    pc = -1
    pd = -1
    val = 0.0
    for i in range(cust.shape[0] + 1):
        if i < cust.shape[0]:
            a = amount[i]
            d = day[i]
            if a < 0.0 or d > end:
                continue  # returns never count; later days are outside the period
            c = cust[i]
            if c == pc and d == pd:
                val += a  # another receipt on the same day: the same occasion
                itm[c] += items[i]
                continue
            if c < pc or (c == pc and d < pd):
                return n, first, last, rep, itm, n_cal, last_cal, rep_cal, rdays, 1
        if pc >= 0:  # close the occasion (pc, pd) worth val
            if n[pc] == 0:
                first[pc] = pd
            else:
                rep[pc] += val
                if first[pc] <= cal_end:
                    rdays[pd - day0] += 1
                if pd <= cal_end:
                    rep_cal[pc] += val
            n[pc] += 1
            last[pc] = pd
            if pd <= cal_end:
                n_cal[pc] += 1
                last_cal[pc] = pd
        if i < cust.shape[0]:
            pc, pd, val = c, d, a
            itm[c] += items[i]
    return n, first, last, rep, itm, n_cal, last_cal, rep_cal, rdays, 0


def summarise(ledger: Ledger, end_day: int | None = None, cal_end: int | None = None) -> Summary:
    """Return every customer's occasions up to ``end_day`` (and ``cal_end``), in one compiled pass.

    A purchase occasion is a distinct customer-day of non-negative transactions; its value
    is their sum, added in ledger order, so the figures are the same bits on every run.
    """
    end = int(ledger.end_day if end_day is None else end_day)
    cal = end if cal_end is None else int(cal_end)
    tx = ledger.tx
    cols = [np.ascontiguousarray(tx[name].to_numpy(), dtype=dt) for name, dt in
            (("cust", np.int32), ("day", np.int32), ("amount", np.float64), ("items", np.float64))]
    return summarise_arrays(*cols, int(ledger.n_customers), summary_day0(ledger), end, cal)


def summary_day0(ledger: Ledger) -> int:
    """Return the first day of a summary's ``repeat_days``: the data's start or its earliest row."""
    day0 = int(ledger.start_day)
    if ledger.tx.height:
        day0 = min(day0, int(ledger.tx["day"].min()))
    return day0


def summarise_arrays(cust: np.ndarray, day: np.ndarray, amount: np.ndarray, items: np.ndarray,
                     n_customers: int, day0: int, end: int, cal: int) -> Summary:
    """Return ``summarise`` of transactions given as arrays (a whole ledger's or one customer-hash shard's)."""
    out = _summarise(cust, day, amount, items, int(n_customers), int(day0), int(end), int(cal))
    if out[-1] == 1:  # not sorted by (cust, day): sort a copy (the ledger is sorted; tests may not be)
        order = np.lexsort((amount, day, cust))
        out = _summarise(cust[order], day[order], amount[order], items[order], int(n_customers),
                         int(day0), int(end), int(cal))
    return Summary(*out[:-1], day0=int(day0), end_day=int(end), cal_end=int(cal))


def merge_summaries(parts: list[Summary], ids: list[np.ndarray], n_customers: int) -> Summary:
    """Return the whole ledger's summary from its customer-hash shards' (shard s holds customers ``ids[s]``).

    Per-customer columns go back to their customers (the same bits as a whole pass: each
    customer's occasions are added in the same order); the repeat occasions per day add up.
    """
    first = parts[0]
    cols = {}
    for f in dataclasses.fields(Summary):
        if f.name in ("repeat_days", "day0", "end_day", "cal_end"):
            continue
        like = getattr(first, f.name)
        fill = -1 if f.name in ("first", "last", "last_cal") else 0
        out = np.full(n_customers, fill, dtype=like.dtype)
        for part, where in zip(parts, ids):
            out[where] = getattr(part, f.name)
        cols[f.name] = out
    repeat_days = np.sum([p.repeat_days for p in parts], axis=0)
    return Summary(**cols, repeat_days=repeat_days, day0=first.day0, end_day=first.end_day,
                   cal_end=first.cal_end)


def rfm_of(s: Summary, calibration: bool = False) -> RFM:
    """Return the BG/NBD and Gamma-Gamma statistics of a summary (its calibration period if asked)."""
    n, last, rep, end = ((s.n_cal, s.last_cal, s.repeat_value_cal, s.cal_end) if calibration
                         else (s.n, s.last, s.repeat_value, s.end_day))
    cust = np.flatnonzero(n > 0)
    x = (n[cust] - 1).astype(np.float64)
    first = s.first[cust]
    return RFM(
        cust=cust.astype(np.int32),
        x=x,
        t_x=(last[cust] - first) / 7.0,
        T=(end - first) / 7.0,
        mean_value=np.where(x > 0, rep[cust] / np.maximum(x, 1.0), 0.0),
        first_day=first.astype(np.int32),
        end_day=int(end),
    )


def occasions(ledger: Ledger, end_day: int | None = None) -> pl.DataFrame:
    """Return one row per purchase occasion (cust, day, value), returns excluded, up to end_day.

    For inspection and tests; the model reads ``summarise``, which never builds this table.
    """
    end = ledger.end_day if end_day is None else int(end_day)
    tx = ledger.tx.filter((pl.col("amount") >= 0) & (pl.col("day") <= end))
    return (tx.group_by("cust", "day").agg(pl.col("amount").sum().alias("value"))
            .sort("cust", "day").select("cust", "day", "value"))


def rfm(ledger: Ledger, end_day: int | None = None) -> RFM:
    """Return the BG/NBD and Gamma-Gamma statistics of every customer seen up to ``end_day``."""
    return rfm_of(summarise(ledger, end_day))


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


@dataclass(frozen=True)
class _Rows:
    """Weighted rows of a likelihood, each column as distinct values plus each row's index into them.

    Purchase counts take a few dozen values and recency and age a few hundred (whole days),
    so every gamma function and logarithm is computed once per distinct value, not per row.
    """

    w: np.ndarray  # weight per row
    cols: tuple[tuple[np.ndarray, np.ndarray], ...]  # (distinct values, int64 index per row)
    wsum: tuple[np.ndarray, ...]  # total weight per distinct value of each column


def _grid(c: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (values, index) when every value is a whole number of days / 7 (counts too), else None.

    Then the distinct values are a short grid, indexed without sorting the column.
    """
    if len(c) == 0:
        return None
    k = np.rint(c * 7.0)
    lo, hi = float(k.min()), float(k.max())
    if lo < 0 or hi > 5_000_000 or not np.array_equal(k / 7.0, c):
        return None
    days = k.astype(np.int64)
    return np.arange(int(hi) + 1) / 7.0, days


def _rows(w: np.ndarray, *columns: np.ndarray) -> _Rows:
    w = np.ascontiguousarray(w, dtype=np.float64)
    cols, sums = [], []
    for c in columns:
        c = np.asarray(c, dtype=np.float64)
        grid = _grid(c)
        if grid is None:
            vals, idx = np.unique(c, return_inverse=True)
        else:
            vals, idx = grid
        idx = np.ascontiguousarray(idx.reshape(-1), dtype=np.int64)
        cols.append((vals, idx))
        sums.append(np.bincount(idx, weights=w, minlength=len(vals)))
    return _Rows(w, tuple(cols), tuple(sums))


@njit(cache=True, nogil=True)
def _bgnbd_ll_grad(r, alpha, a, b, xk, xi, wx, tk, ti, Tk, Ti, w, zero_too=False):
    # terms of x alone, summed over the distinct x with their total weight. ``zero_too``:
    # the dropout term applies to customers without a repeat too (the MBG/NBD, evaluated as
    # a BG/NBD with b + 1; see purchase_models.py).
    ll = 0.0
    g = np.zeros(4)
    lg_r, lg_ab, lg_b = math.lgamma(r), math.lgamma(a + b), math.lgamma(b)
    ps_r, ps_ab, ps_b = _digamma(r), _digamma(a + b), _digamma(b)
    log_alpha, log_a = math.log(alpha), math.log(a)
    nx = xk.shape[0]
    log_bx1 = np.zeros(nx)
    inv_bx1 = np.zeros(nx)
    for k in range(nx):
        x, wk = xk[k], wx[k]
        if x > 0 or zero_too:
            log_bx1[k] = math.log(b + x - 1.0)
            inv_bx1[k] = 1.0 / (b + x - 1.0)
        if wk == 0.0:
            continue
        ps_abx = _digamma(a + b + x)
        ll += wk * (math.lgamma(r + x) - lg_r + r * log_alpha + math.lgamma(b + x)
                    - math.lgamma(a + b + x) - lg_b + lg_ab)
        g[0] += wk * (_digamma(r + x) - ps_r + log_alpha)
        g[1] += wk * r / alpha
        g[2] += wk * (ps_ab - ps_abx)
        g[3] += wk * (_digamma(b + x) - ps_abx - ps_b + ps_ab)
    la_T = np.log(alpha + Tk)
    la_t = np.log(alpha + tk)
    # the log-sum-exp of the two ways to have bought x times, row by row
    s0 = s1 = s2 = s3 = 0.0
    for i in range(w.shape[0]):
        k = xi[i]
        x, wi = xk[k], w[i]
        rx = r + x
        lT = la_T[Ti[i]]
        a3 = -rx * lT
        if x > 0 or zero_too:
            lt = la_t[ti[i]]
            a4 = log_a - log_bx1[k] - rx * lt
            if a3 >= a4:
                e = math.exp(a4 - a3)
                lse = a3 + math.log1p(e)
                w4 = e / (1.0 + e)
            else:
                e = math.exp(a3 - a4)
                lse = a4 + math.log1p(e)
                w4 = 1.0 / (1.0 + e)
            w3 = 1.0 - w4
            ll += wi * lse
            s0 -= wi * (w3 * lT + w4 * lt)
            s1 -= wi * rx * (w3 / (alpha + Tk[Ti[i]]) + w4 / (alpha + tk[ti[i]]))
            s2 += wi * w4
            s3 -= wi * w4 * inv_bx1[k]
        else:
            ll += wi * a3
            s0 -= wi * lT
            s1 -= wi * rx / (alpha + Tk[Ti[i]])
    g[0] += s0
    g[1] += s1
    g[2] += s2 / a
    g[3] += s3
    return ll, g


def _bg_rows(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _Rows:
    return _rows(w, x, t_x, T)


def _bg_eval(params: np.ndarray, rows: _Rows) -> tuple[float, np.ndarray]:
    r, alpha, a, b = (float(v) for v in params)
    (xk, xi), (tk, ti), (Tk, Ti) = rows.cols
    return _bgnbd_ll_grad(r, alpha, a, b, xk, xi, rows.wsum[0], tk, ti, Tk, Ti, rows.w)


def bgnbd_gradient(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   w: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the weighted BG/NBD log-likelihood and its analytic gradient in (r, α, a, b)."""
    return _bg_eval(params, _bg_rows(x, t_x, T, w))


@njit(cache=True, nogil=True)
def _gg_ll_grad(p, q, v, xk, wx, x, m, w, const_ll, c_p):
    ll = const_ll + p * c_p  # Σ w((p·x − 1)·log m + p·x·log x), from sums fixed at the start
    g = np.zeros(3)
    g[0] = c_p
    lg_q, ps_q, log_v = math.lgamma(q), _digamma(q), math.log(v)
    for k in range(xk.shape[0]):
        wk = wx[k]
        if wk == 0.0:
            continue
        px = p * xk[k]
        ps_pxq, ps_px = _digamma(px + q), _digamma(px)
        ll += wk * (math.lgamma(px + q) - math.lgamma(px) - lg_q + q * log_v)
        g[0] += wk * xk[k] * (ps_pxq - ps_px)
        g[1] += wk * (ps_pxq - ps_q + log_v)
        g[2] += wk * q / v
    s_ll = s_p = s_q = s_v = 0.0
    for i in range(w.shape[0]):
        xr = x[i]
        px_q = p * xr + q
        vxm = v + xr * m[i]
        lv = math.log(vxm)
        wi = w[i]
        s_ll -= wi * px_q * lv
        s_p -= wi * xr * lv
        s_q -= wi * lv
        s_v -= wi * px_q / vxm
    ll += s_ll
    g[0] += s_p
    g[1] += s_q
    g[2] += s_v
    return ll, g


def _gg_rows(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> tuple:
    """Return what the Gamma-Gamma likelihood reads, with the sums that do not depend on it fixed."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    m = np.ascontiguousarray(m, dtype=np.float64)
    rows = _rows(w, x)
    log_m = np.log(m)
    # Sums by numpy, not BLAS: a BLAS dot splits long vectors over as many threads as the
    # machine has (its result changes with the thread count), numpy adds them the same way
    # everywhere — on any machine, and in a cluster's client (``cluster.py``).
    const_ll = -float(np.add.reduce(rows.w * log_m))
    c_p = float(np.add.reduce(rows.w * (x * (log_m + np.log(x)))))
    return rows, x, m, const_ll, c_p


def _gg_eval(params: np.ndarray, prep: tuple) -> tuple[float, np.ndarray]:
    p, q, v = (float(t) for t in params)
    rows, x, m, const_ll, c_p = prep
    (xk, _), = rows.cols
    return _gg_ll_grad(p, q, v, xk, rows.wsum[0], x, m, rows.w, const_ll, c_p)


def gg_gradient(params: np.ndarray, x: np.ndarray, m: np.ndarray,
                w: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the weighted Gamma-Gamma log-likelihood and its analytic gradient in (p, q, v)."""
    return _gg_eval(params, _gg_rows(x, m, w))


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


def _fit_positive(loglik_grad, starts: list[np.ndarray], *,
                  give_up_at_bound: bool = False) -> tuple[np.ndarray, float, bool, str]:
    """Maximise a log-likelihood over positive parameters: L-BFGS-B on logs with its gradient.

    ``loglik_grad(params) -> (loglik, gradient)``; several starts, the best one kept.
    ``give_up_at_bound``: stop after a start whose best point lies at a bound (the model
    degenerates on these data; another start only finds the same edge, slowly).
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
        if give_up_at_bound and np.any(np.abs(best.x) >= 11.5):
            break
    if best is None:
        return np.full(len(starts[0]), np.nan), float("nan"), False, "no start gave a finite likelihood"
    at_bound = bool(np.any(np.abs(best.x) >= 11.5))
    ok = bool(best.success) and not at_bound
    msg = "" if ok else ("a parameter ran to its bound" if at_bound else str(best.message))
    return np.exp(best.x), float(-best.fun), ok, msg


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, start: BGNBDFit | None = None) -> BGNBDFit:
    """Return the maximum-likelihood BG/NBD fit; ``converged`` is False with a message when it fails.

    ``start`` (a fit of related data, e.g. the whole period for the calibration fit) is
    tried first, which saves most of the iterations.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if len(x) == 0 or not np.any(x > 0):
        return BGNBDFit(*(float("nan"),) * 5, converged=False, message="no repeat purchases to fit")

    scale = max(float(np.mean(T)), 1e-3)
    pick = fit_sample(len(x))
    (ux, ut, uT), w = compress(x[pick], t_x[pick], T[pick])  # equal (x, t_x, T) share a term
    rows = _bg_rows(ux, ut, uT, w)

    def loglik(p: np.ndarray) -> tuple[float, np.ndarray]:
        return _bg_eval(p, rows)

    starts = [
        np.array([1.0, scale, 1.0, 1.0]),
        np.array([0.5, 0.1 * scale + 0.1, 1.0, 3.0]),
        np.array([0.1, 1.0, 0.5, 0.5]),
        np.array([2.0, 10 * scale, 2.0, 10.0]),
    ]
    if start is not None and start.converged:
        starts.insert(0, np.array([start.r, start.alpha, start.a, start.b]))
    par, ll, ok, msg = _fit_positive(loglik, starts)
    if len(pick) < len(x) and np.all(np.isfinite(par)):  # report the whole base's likelihood
        ll = _bg_eval(par, _bg_rows(x, t_x, T, np.ones(len(x))))[0]
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
    # Given survival the expectation depends on (x, T) alone. Counts and whole-day ages
    # make few distinct pairs, so the hypergeometric function runs once per pair.
    ux, uT, back = _pairs(x, T)
    z = t / (alpha + uT + t)
    lead = (a + b + ux - 1.0) / (a - 1.0)
    body = 1.0 - np.exp((r + ux) * (np.log(alpha + uT) - np.log(alpha + uT + t))) * hyp2f1(
        r + ux, b + ux, a + b + ux - 1.0, z
    )
    given_alive = lead * body
    return (given_alive if back is None else given_alive[back]) * p_alive(fit, x, t_x, T)


def _pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the distinct (x, T) pairs on the day grid and each row's index into them (None: rows as they are)."""
    gx, gT = _grid(x), _grid(T)
    if gx is None or gT is None or len(x) < 1000:
        return x, T, None
    key = gx[1] * len(gT[0]) + gT[1]
    if len(gx[0]) * len(gT[0]) > 4 * len(x):
        return x, T, None
    present = np.zeros(len(gx[0]) * len(gT[0]), dtype=bool)
    present[key] = True
    keys = np.flatnonzero(present)
    slot = np.cumsum(present) - 1
    return gx[0][keys // len(gT[0])], gT[0][keys % len(gT[0])], slot[key]


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
    prep = _gg_rows(x[pick], m[pick], np.ones(len(pick)))  # mean values are nearly all distinct

    def loglik(p: np.ndarray) -> tuple[float, np.ndarray]:
        return _gg_eval(p, prep)

    starts = [
        np.array([1.0, 1.0, 1.0]),
        np.array([5.0, 3.0, mbar]),
        np.array([1.0, 2.0, mbar]),
        np.array([10.0, 10.0, 10.0 * mbar]),
    ]
    par, ll, ok, msg = _fit_positive(loglik, starts)
    if len(pick) < len(x) and np.all(np.isfinite(par)):
        ll = _gg_eval(par, _gg_rows(x, m, np.ones(len(x))))[0]
    return GammaGammaFit(*(float(v) for v in par), loglik=ll, converged=ok, message=msg)


def expected_spend(ggfit: GammaGammaFit, x: np.ndarray, mean_value: np.ndarray) -> np.ndarray:
    """Return each customer's expected value per purchase occasion (Gamma-Gamma posterior mean)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(mean_value, dtype=np.float64)
    p, q, v = ggfit.p, ggfit.q, ggfit.v
    return p * (v + x * m) / (p * x + q - 1.0)


# --- calibration / holdout checks ------------------------------------------------------


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Return the sum of ``a * b`` added by numpy, not BLAS: a BLAS dot splits long vectors
    over as many threads as the machine has, so its last bits change with the core count
    (and between a cluster's client and a local build); numpy adds the same way everywhere."""
    return float(np.add.reduce(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def weighted(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return ``counts @ values`` (over the first axis) added by numpy, not BLAS (see ``dot``)."""
    w = np.asarray(counts, dtype=np.float64)
    return np.add.reduce(w.reshape(w.shape + (1,) * (values.ndim - 1)) * values, axis=0)


def holdout_end(ledger: Ledger, min_weeks: float = 8.0) -> int | None:
    """Return the last day of the calibration period (the first two thirds), or None if too short."""
    start, end = int(ledger.start_day), int(ledger.end_day)
    hold_days = (end - start + 1) // 3
    if hold_days / 7.0 < min_weeks:
        return None
    return end - hold_days
