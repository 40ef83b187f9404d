"""The purchase-model family: NBD, BG/NBD, MBG/NBD and Pareto/NBD on one shared tabulation.

Each model is a likelihood of every customer's (x, t_x, T) — repeat purchase occasions,
recency and age in weeks (btyd.py's conventions) — and the expressions a forecast needs:
P(alive), the conditional expectation over the next t weeks and E[X(t)] of a new customer.

* NBD (Ehrenberg 1959): gamma-distributed Poisson rates, no dropout; the limit of the
  others when dropout is not visible. Its likelihood here is the timing likelihood
  Γ(r+x)αʳ / (Γ(r)(α+T)^{r+x}) (the BG/NBD's as its dropout vanishes), so its
  log-likelihood is comparable with the other three.
* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): a customer
  may drop out after each repeat purchase with a beta-distributed probability.
* MBG/NBD (Batislam, Denizel & Filiztekin 2007): the same, but a customer may also drop
  out right after the first purchase — the BG/NBD's likelihood with b + 1 and the dropout
  term for x = 0 too, times B(a, b+1)/B(a, b) = b/(a+b).
* Pareto/NBD (Schmittlein, Morrison & Colombo 1987): exponential lifetimes with
  gamma-distributed rates; likelihood, P(alive) and the conditional expectation as in
  Fader & Hardie (2005) "A note on deriving the Pareto/NBD model and related expressions",
  the likelihood's dropout term by quadrature of its integral form (``_dropout``).

Every model is fitted on the same tabulation (distinct values of x, t_x and T with their
weights, ``btyd._Rows``), so the candidates cost one tabulation between them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from scipy.special import betaln, digamma, gammaln, hyp2f1

from punchcard.forecast import btyd as M
from punchcard.forecast.radix import unique_inverse
from punchcard.runtime import workers

#: The candidates, simplest first: a tie on the holdout check goes to the earlier one.
NAMES = ("nbd", "bgnbd", "mbgnbd", "pareto_nbd")
PARAMS = {"nbd": ("r", "alpha"), "bgnbd": ("r", "alpha", "a", "b"),
          "mbgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": ("r", "alpha", "s", "beta")}
LABELS = {"nbd": "NBD", "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
# Simulation model codes (simulate._posterior reads par[7]).
SIM_CODE = {"nbd": 0.0, "bgnbd": 1.0, "mbgnbd": 1.0, "pareto_nbd": 2.0}


@dataclass(frozen=True)
class PurchaseFit:
    """One fitted purchase model: its name, parameters (in ``PARAMS`` order), log-likelihood, convergence."""

    name: str
    params: tuple[float, ...]
    loglik: float
    converged: bool
    message: str = ""


@dataclass(frozen=True)
class Tab:
    """The shared tabulation: weighted distinct (x, t_x, T) rows, each column indexed (``btyd._Rows``)."""

    rows: M._Rows
    scale: float  # mean age, for the starting values


def tabulate(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray | None = None) -> Tab:
    """Return the tabulation of customers (x, t_x, T), each with weight ``w`` (default 1)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
    rows = M._rows(w, x, t_x, T)
    scale = max(float(M.dot(w, T) / max(float(np.sum(w)), 1e-300)), 1e-3) if len(x) else 1.0
    return Tab(rows, scale)


# --- likelihoods ---------------------------------------------------------------------


def _nbd_ll(par: np.ndarray, tab: Tab) -> tuple[float, np.ndarray]:
    r, alpha = (float(v) for v in par)
    rows = tab.rows
    (xk, xi), _, (Tk, Ti) = rows.cols
    wx = rows.wsum[0]
    la = np.log(alpha + Tk)
    x = xk[xi]
    ll = float(M.dot(wx, gammaln(r + xk) - gammaln(r) + r * np.log(alpha))
               - M.dot(rows.w * (r + x), la[Ti]))
    g_r = float(M.dot(wx, digamma(r + xk) - digamma(r) + np.log(alpha)) - M.dot(rows.w, la[Ti]))
    g_a = float(np.sum(wx) * r / alpha - M.dot(rows.w * (r + x), 1.0 / (alpha + Tk)[Ti]))
    return ll, np.array([g_r, g_a])


def _bg_ll(par: np.ndarray, tab: Tab) -> tuple[float, np.ndarray]:
    return M._bg_eval(par, tab.rows)


def _mbg_ll(par: np.ndarray, tab: Tab) -> tuple[float, np.ndarray]:
    r, alpha, a, b = (float(v) for v in par)
    rows = tab.rows
    (xk, xi), (tk, ti), (Tk, Ti) = rows.cols
    ll, g = M._bgnbd_ll_grad(r, alpha, a, b + 1.0, xk, xi, rows.wsum[0], tk, ti, Tk, Ti, rows.w, True)
    n = float(np.sum(rows.w))
    # the BG/NBD with b + 1 normalises its beta by B(a, b+1); the MBG/NBD's is B(a, b)
    ll += n * (np.log(b) - np.log(a + b))
    g = g.copy()
    g[2] += -n / (a + b)
    g[3] += n * (1.0 / b - 1.0 / (a + b))
    return float(ll), g


#: Gauss–Legendre nodes and weights on [0, 1], 16 per panel of the dropout integral (``_dropout``).
_GL_Q, _GL_W = (lambda q, w: ((q + 1.0) / 2.0, w / 2.0))(*np.polynomial.legendre.leggauss(16))


@njit(cache=True, nogil=True)
def _dropout(r, alpha, s, beta, x, t_x, T, q, qw, means):
    """Return, per row, log D — D = s∫_{t_x}^T (α+τ)^{−(r+x)} (β+τ)^{−(s+1)} dτ, the Pareto/NBD's
    dropped-out-before-T term (−inf where T ≤ t_x) — and, if ``means``, the means of log(α+τ),
    1/(α+τ), log(β+τ) and 1/(β+τ) over τ in [t_x, T] weighted by that integrand (its gradient).

    In v = log((α+τ)/(α+t_x)) ∈ [0, L] the integrand is (α+t_x)^{−λ} e^{φ(v)},
    φ(v) = −λv − (s+1)·log(β−α + (α+t_x)e^v), λ = r + x − 1: smooth, with a slope φ′ between
    its values at 0 and L and, when β < α, one singular point on the real axis left of 0
    (β+τ = 0). It is integrated by 16-point Gauss–Legendre on panels no wider than 2, than
    8 / max|φ′| on the panel and than half their distance to that point (so each panel's
    integrand is analytic and moderate on a wide Bernstein ellipse: the rule's error is ~1e-15
    of the value, ~1e-12 in the corner β/α < 1e-6 near the singular point; tests/forecast);
    panels stop where the rest of a decaying integrand is below 1e-17 of the sum. All in logs
    (scaled by e^{φ(0)}), so nothing overflows where the closed form's hypergeometric does.
    """
    n, m = x.shape[0], q.shape[0]
    logd = np.full(n, -np.inf)
    out = np.zeros((n if means else 0, 4))
    c0 = beta - alpha
    s1 = s + 1.0
    log_s = math.log(s)
    for i in range(n):
        a0 = alpha + t_x[i]
        la0 = math.log(a0)
        L = math.log(alpha + T[i]) - la0
        if not L > 0.0:
            continue
        lam = r + x[i] - 1.0
        # β+τ is summed from positive parts (β + t_x + (α+t_x)(e^v − 1)), never as β−α + (α+t_x)e^v
        bt0 = beta + t_x[i]
        vs = -math.log1p(bt0 / -c0) if c0 < 0.0 else -math.inf
        # |φ′| is largest at an end of [0, L] (φ′ is monotone); where β < α, at the left end of each panel
        slope = max(abs(-lam - s1 * a0 / bt0), abs(-lam - s1 * (alpha + T[i]) / (beta + T[i])), 1e-300)
        hmax = min(2.0, 8.0 / slope)
        ref = -s1 * math.log(bt0)  # φ(0)
        tot = m0 = m1 = m2 = m3 = 0.0
        a = 0.0
        while a < L:
            h = min(hmax, L - a)
            if c0 < 0.0:
                ea = a0 * math.exp(a)
                h = min(2.0, L - a, 0.5 * (a - vs),
                        8.0 / max(abs(-lam - s1 * ea / (bt0 + a0 * math.expm1(a))), 1e-300))
            for j in range(m):
                v = a + h * q[j]
                bt = bt0 + a0 * math.expm1(v)
                lbt = math.log(bt)
                wj = h * qw[j] * math.exp(-lam * v - s1 * lbt - ref)
                tot += wj
                if means:  # α+τ only here: the value alone costs one exp a point less
                    m0 += wj * v
                    m1 += wj / (a0 * math.exp(v))
                    m2 += wj * lbt
                    m3 += wj / bt
            a += h
            if a < L and tot > 0.0:
                ea = a0 * math.exp(a)
                eb = bt0 + a0 * math.expm1(a)
                # φ′ < 0 from here on (it only falls where β ≥ α; it is below −(r+s+x) where
                # β < α), so the rest is below e^{φ(a)}·(L − a)
                if (-lam - s1 * ea / eb < 0.0
                        and -lam * a - s1 * math.log(eb) - ref + math.log(L - a) < math.log(tot) - 40.0):
                    break
        if tot > 0.0:
            logd[i] = log_s - lam * la0 + ref + math.log(tot)
            if means:
                out[i, 0] = la0 + m0 / tot
                out[i, 1] = m1 / tot
                out[i, 2] = m2 / tot
                out[i, 3] = m3 / tot
    return logd, out


def _distinct(idx: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> tuple[tuple[np.ndarray, ...], np.ndarray | None]:
    """Return the distinct rows of index columns (column c's indices below ``sizes[c]``) and each
    row's position among them; the columns as they are and None where one integer cannot key them.

    The rows' keys are sorted by a radix sort (``radix.unique_inverse``), which gives what
    ``np.unique(key, return_inverse=True)`` gives, in a fraction of its time on a whole base."""
    span = math.prod(max(int(n), 1) for n in sizes)
    if not len(idx[0]) or span >= 2 ** 62:
        return idx, None
    key = np.zeros(len(idx[0]), dtype=np.int64)
    for c, n in zip(idx, sizes):
        key *= n
        key += c
    u, back = unique_inverse(key, max(int(span - 1).bit_length(), 1))
    out = []
    for n in sizes[::-1]:
        out.append(u % n)
        u = u // n
    return tuple(out[::-1]), back


#: ``_dropout_value`` splits at least this many rows per thread.
_SLICE = 50_000


def _dropout_value(r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray,
                   T: np.ndarray) -> np.ndarray:
    """Return ``_dropout``'s log D per row, in slices on ``runtime.workers()`` threads where the rows are
    many (the kernel releases the GIL; every row's value is the same bits however the rows are sliced)."""
    k = min(workers(), len(x) // _SLICE)
    if k <= 1:
        return _dropout(r, alpha, s, beta, x, t_x, T, _GL_Q, _GL_W, False)[0]
    cut = np.linspace(0, len(x), k + 1).astype(np.int64)
    with ThreadPoolExecutor(k - 1, thread_name_prefix="punchcard-dropout") as pool:
        rest = [pool.submit(_dropout, r, alpha, s, beta, x[a:b], t_x[a:b], T[a:b], _GL_Q, _GL_W, False)
                for a, b in zip(cut[1:-1], cut[2:])]
        head = _dropout(r, alpha, s, beta, x[:cut[1]], t_x[:cut[1]], T[:cut[1]], _GL_Q, _GL_W, False)[0]
        return np.concatenate([head] + [j.result()[0] for j in rest])


#: ``_log_dropout`` reads D from the daily table where the rows are at least this many per (x, day)
#: cell. Measured on samples of the café 20M base (CPU s of one call; 50,000 to 1,151,432 customers,
#: 248 to 394 distinct x over 731 days): row by row 1.0–1.3 µs a distinct row (0.04 s at 50,000
#: customers, 0.93 s at 1.15M), the table 0.3–0.5 µs a cell (0.09–0.13 s); the table is the
#: cheaper from about one customer per two cells (bench/PROFILE.md, session 12).
_GRID_ROWS = 0.5


def _log_dropout(par, xk: np.ndarray, xi: np.ndarray, tk: np.ndarray, ti: np.ndarray, tk_T: np.ndarray,
                 Ti: np.ndarray, x_used: np.ndarray | None = None) -> np.ndarray:
    """Return log D per row of indexed columns (x = xk[xi], t_x = tk[ti], T = tk_T[Ti]).

    Row by row (``_dropout``) — or, for a large base on the day grid (t_x and T whole days
    / 7, ``btyd._grid``) with at least ``_GRID_ROWS`` rows per (x, day), from a table: per distinct x the
    integral over each day, summed from the last day back in logs, so that D(t_x, T) is
    the difference of two suffix sums (rounding ~1e-13 of D: a suffix from t_x is at most
    the history's length in days times D's first day). ``x_used``: the xk indices present.
    """
    r, alpha, s, beta = (float(v) for v in par)
    days = max(len(tk), len(tk_T))
    on_grid = all(len(v) and np.array_equal(v, np.arange(len(v)) / 7.0) for v in (tk, tk_T))
    used = np.flatnonzero(np.bincount(xi, minlength=len(xk))) if x_used is None else x_used
    if not on_grid or len(xi) < _GRID_ROWS * len(used) * days:
        # once per distinct row: customers share (x, t_x, T) (the same bits as row by row)
        (ui, uti, uTi), back = _distinct((xi, ti, Ti), (len(xk), len(tk), len(tk_T)))
        logd = _dropout_value(r, alpha, s, beta, xk[ui], tk[uti], tk_T[uTi])
        return logd if back is None else logd[back]
    nd = days - 1  # day j runs from j/7 to (j+1)/7 weeks
    start = np.arange(nd) / 7.0
    seg = _dropout_value(r, alpha, s, beta, np.repeat(xk[used], nd), np.tile(start, len(used)),
                         np.tile(start + 1.0 / 7.0, len(used))).reshape(len(used), nd)
    suffix = np.full((len(used), days), -np.inf)
    suffix[:, :nd] = np.logaddexp.accumulate(seg[:, ::-1], axis=1)[:, ::-1]
    slot = np.zeros(len(xk), dtype=np.int64)
    slot[used] = np.arange(len(used))
    flat = suffix.ravel()
    base = slot[xi] * days
    hi, lo = flat[base + ti], flat[base + Ti]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lo < hi, hi + np.log1p(-np.exp(lo - hi)), -np.inf)


def _pareto_parts(par: np.ndarray, tab: Tab):
    """Return the Pareto/NBD's rows' x, t_x, T, log A (alive at T), log D and the constant's sum."""
    r, alpha, s, beta = (float(v) for v in par)
    rows = tab.rows
    (xk, xi), (tk, ti), (Tk, Ti) = rows.cols
    x, t_x, T = xk[xi], tk[ti], Tk[Ti]
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    const = M.dot(rows.wsum[0], gammaln(r + xk)) + np.sum(rows.w) * (
        -gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    return x, t_x, T, first, float(const)


def _pareto_value(par: np.ndarray, tab: Tab) -> float:
    (xk, xi), (tk, ti), (Tk, Ti) = tab.rows.cols
    x, t_x, T, first, const = _pareto_parts(par, tab)
    second = _log_dropout(par, xk, xi, tk, ti, Tk, Ti, np.flatnonzero(tab.rows.wsum[0] > 0))
    return float(const + M.dot(tab.rows.w, np.logaddexp(first, second)))


def _pareto_ll(par: np.ndarray, tab: Tab) -> tuple[float, np.ndarray]:
    """Return the Pareto/NBD log-likelihood and its gradient.

    The likelihood is C·(A + D): C = Γ(r+x)αʳβˢ/Γ(r), A = (α+T)^{−(r+x)}(β+T)^{−s} (alive at T)
    and D = s∫_{t_x}^T (α+τ)^{−(r+x)}(β+τ)^{−(s+1)} dτ (dropped out at τ) — Fader & Hardie
    (2005). D and the derivatives of log D — means over τ of that integrand (−E log(α+τ) for
    r, −(r+x)·E 1/(α+τ) for α, 1/s − E log(β+τ) for s, −(s+1)·E 1/(β+τ) for β) — come from
    one quadrature pass (``_dropout``) instead of Fader & Hardie's closed form in the
    hypergeometric 2F1, which scipy evaluates ~20 times slower near no dropout (z → 1),
    where large bases' fits end, and which overflows at the parameters' bounds.
    """
    r, alpha, s, beta = (float(v) for v in par)
    rows = tab.rows
    (xk, _), _, _ = rows.cols
    x, t_x, T, first, const = _pareto_parts(par, tab)
    second, e = _dropout(r, alpha, s, beta, x, t_x, T, _GL_Q, _GL_W, True)
    lse = np.logaddexp(first, second)
    ll = float(const + M.dot(rows.w, lse))
    with np.errstate(invalid="ignore", over="ignore"):
        wd = np.where(np.isfinite(second), np.exp(second - lse), 0.0) * rows.w  # weight of D
    wa = rows.w - wd
    n = float(np.sum(rows.w))
    la, lb = np.log(alpha + T), np.log(beta + T)
    g = np.array([
        float(M.dot(rows.wsum[0], digamma(r + xk))) + n * (np.log(alpha) - digamma(r))
        - float(M.dot(wa, la)) - float(M.dot(wd, e[:, 0])),
        n * r / alpha - float(M.dot(wa, (r + x) / (alpha + T))) - float(M.dot(wd, (r + x) * e[:, 1])),
        n * np.log(beta) - float(M.dot(wa, lb)) + float(np.sum(wd)) / s - float(M.dot(wd, e[:, 2])),
        n * s / beta - float(M.dot(wa, s / (beta + T))) - (s + 1.0) * float(M.dot(wd, e[:, 3])),
    ])
    return ll, g


LOGLIK = {"nbd": _nbd_ll, "bgnbd": _bg_ll, "mbgnbd": _mbg_ll, "pareto_nbd": _pareto_ll}


def loglik(name: str, params, tab: Tab) -> float:
    """Return the log-likelihood of model ``name`` at ``params`` over a tabulation."""
    par = np.asarray(params, dtype=np.float64)
    if name == "pareto_nbd":
        return _pareto_value(par, tab)
    return float(LOGLIK[name](par, tab)[0])


def _starts(name: str, scale: float, start: PurchaseFit | None) -> list[np.ndarray]:
    if name == "nbd":
        out = [np.array([1.0, scale]), np.array([0.3, 0.3 * scale + 0.1]), np.array([3.0, 10.0 * scale])]
    elif name == "pareto_nbd":
        out = [np.array([0.5, scale, 0.5, scale]), np.array([1.0, scale, 1.0, 10.0 * scale]),
               np.array([0.5, 0.1 * scale + 0.1, 0.5, 0.1 * scale + 0.1])]
    else:
        out = [np.array([1.0, scale, 1.0, 1.0]), np.array([0.5, 0.1 * scale + 0.1, 1.0, 3.0]),
               np.array([0.1, 1.0, 0.5, 0.5]), np.array([2.0, 10 * scale, 2.0, 10.0])]
    if start is not None and start.converged and start.name == name:
        out.insert(0, np.array(start.params))
    return out


def fit(name: str, tab: Tab, start: PurchaseFit | None = None, whole: Tab | None = None) -> PurchaseFit:
    """Return the maximum-likelihood fit of model ``name`` on a tabulation.

    ``start`` (a fit of the same model on related data) is tried first; ``whole`` is the
    tabulation of the whole base when ``tab`` holds a sample of it, for the reported
    log-likelihood.
    """
    if tab.rows.w.size == 0 or not np.any(tab.rows.cols[0][0][tab.rows.wsum[0] > 0] > 0):
        return PurchaseFit(name, (float("nan"),) * len(PARAMS[name]), float("nan"), False,
                           "no repeat purchases to fit")
    # A start that ends at a bound means the model degenerates on these data (no visible
    # dropout, say); the other starts would only find the same edge, slowly.
    par, ll, ok, msg = M._fit_positive(lambda p: LOGLIK[name](p, tab), _starts(name, tab.scale, start),
                                       give_up_at_bound=True)
    if name == "nbd" and not ok and np.log(par[1]) >= 11.5 and par[0] >= 25.0:
        # α ran to its bound with r large (rates vary by 1/√r ≤ 20 % between customers): the
        # Poisson limit, every customer buying at about the same rate r/α — a well-defined
        # model (the likelihood is flat along r/α = const), which is what these data show.
        ok, msg = True, "purchase rates hardly differ between customers (the Poisson limit)"
    out = PurchaseFit(name, tuple(float(v) for v in par), float(ll), ok, msg)
    return with_whole_loglik(out, whole)


def with_whole_loglik(f: PurchaseFit, whole: Tab | None) -> PurchaseFit:
    """Return a fit of a sample with the log-likelihood of the whole base (tabulated as ``whole``;
    None: the fit saw the whole base)."""
    if whole is None or not np.all(np.isfinite(f.params)):
        return f
    return dataclasses.replace(f, loglik=float(loglik(f.name, f.params, whole)))


def fit_all(tab: Tab, names=NAMES, starts: dict[str, PurchaseFit] | None = None,
            whole: Tab | None = None) -> dict[str, PurchaseFit]:
    """Return every named model fitted on the same tabulation."""
    starts = starts or {}
    return {n: fit(n, tab, starts.get(n), whole) for n in names}


#: The candidates (and the holdout check) are fitted on at most this many customers; the
#: chosen model is then refitted on ``btyd.FIT_MAX_CUSTOMERS`` for the forecast. At 50,000
#: customers the parameters' standard errors are about twice those at 200,000, far below
#: what separates the candidates' holdout errors (the tie is one percentage point).
CANDIDATE_MAX_CUSTOMERS = 50_000
#: The Pareto/NBD's likelihood is an integral per distinct (x, t_x, T) row (``_dropout``:
#: 16 points or more each, ~0.5 µs a row), so it is the slowest of the four: its candidate
#: fits use a smaller sample, with standard errors about 2.2 times those at 50,000.
PARETO_MAX_CUSTOMERS = 10_000


def sample_tab(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, limit: int | None = None,
               whole: bool = True) -> tuple[Tab, Tab | None]:
    """Return the tabulation a fit uses (all customers, or a fixed random ``limit`` of them
    (default ``btyd.FIT_MAX_CUSTOMERS``), compressed) and, when that is a sample and ``whole``
    is asked for, the whole base's (for the reported log-likelihood)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    pick = M.fit_sample(len(x), M.FIT_MAX_CUSTOMERS if limit is None else limit)
    (ux, ut, uT), w = M.compress(x[pick], t_x[pick], T[pick])
    tab = tabulate(ux, ut, uT, w)
    return tab, (tabulate(x, t_x, T) if whole and len(pick) < len(x) else None)


# --- what a forecast needs -----------------------------------------------------------


def as_bgnbd(f: PurchaseFit) -> M.BGNBDFit:
    """Return a BG/NBD fit as btyd.py's BGNBDFit."""
    return M.BGNBDFit(*f.params, loglik=f.loglik, converged=f.converged, message=f.message)


def p_alive(f: PurchaseFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return each customer's probability of still being active at T."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if f.name == "nbd":
        return np.ones(len(x))
    if f.name == "bgnbd":
        return M.p_alive(as_bgnbd(f), x, t_x, T)
    if f.name == "mbgnbd":
        r, alpha, a, b = f.params
        log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700.0)))
    r, alpha, s, beta = f.params
    rows = M._rows(np.ones(len(x)), x, t_x, T)
    (xk, xi), (tk, ti), (Tk, Ti) = rows.cols
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = _log_dropout(f.params, xk, xi, tk, ti, Tk, Ti, np.flatnonzero(rows.wsum[0] > 0))
    return np.exp(first - np.logaddexp(first, second))


def _ratio_power(base_ratio: np.ndarray, e: float) -> np.ndarray:
    """Return (1 − base_ratio^e) / e, and its limit −log(base_ratio) as e → 0."""
    lg = np.log(base_ratio)
    if abs(e) < 1e-9:
        return -lg
    return -np.expm1(e * lg) / e


def expected_transactions(f: PurchaseFit, t_weeks: float, x: np.ndarray, t_x: np.ndarray,
                          T: np.ndarray) -> np.ndarray:
    """Return each customer's expected purchase occasions in the next ``t_weeks`` given (x, t_x, T)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    t = float(t_weeks)
    if f.name == "bgnbd":
        return M.expected_transactions(as_bgnbd(f), t, x, t_x, T)
    if f.name == "mbgnbd":
        r, alpha, a, b = f.params
        # given alive, the MBG/NBD's expectation is the BG/NBD's with b + 1 (Batislam et al. 2007)
        shifted = M.BGNBDFit(r, alpha, a, b + 1.0, f.loglik, f.converged)
        given_alive = M.expected_transactions(shifted, t, x, t_x, T) / M.p_alive(shifted, x, t_x, T)
        return given_alive * p_alive(f, x, t_x, T)
    if f.name == "nbd":
        r, alpha = f.params
        return (r + x) / (alpha + T) * t
    r, alpha, s, beta = f.params
    given_alive = (r + x) * (beta + T) / (alpha + T) * _ratio_power((beta + T) / (beta + T + t), s - 1.0)
    return given_alive * p_alive(f, x, t_x, T)


def expected_cumulative(f: PurchaseFit, t: np.ndarray) -> np.ndarray:
    """Return E[X(t)], the expected repeat occasions in t weeks after a first purchase."""
    t = np.asarray(t, dtype=np.float64)
    if f.name == "bgnbd":
        return M.expected_cumulative(as_bgnbd(f), t)
    if f.name == "nbd":
        r, alpha = f.params
        return r * t / alpha
    if f.name == "mbgnbd":
        r, alpha, a, b = f.params
        with np.errstate(divide="ignore", invalid="ignore"):
            val = b / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1.0, a + b, t / (alpha + t)))
        return np.where(t > 0, val, 0.0)
    r, alpha, s, beta = f.params
    return r * beta / alpha * _ratio_power(beta / (beta + t), s - 1.0)


def sim_par(f: PurchaseFit, gg: M.GammaGammaFit) -> np.ndarray:
    """Return the parameter vector the simulation reads (simulate._posterior): the purchase model's
    four parameters as a BG/NBD-like (r, α, a, b), the Gamma-Gamma's (p, q, v) and the model code.

    MBG/NBD: given alive, its dropout probability's posterior is Beta(a, b + 1 + x), so b + 1.
    NBD: no dropout (a unused). Pareto/NBD: (r, α, s, β), read as such by the code 2.
    """
    p = f.params
    if f.name == "nbd":
        four = (p[0], p[1], 1.0, 1.0)
    elif f.name == "mbgnbd":
        four = (p[0], p[1], p[2], p[3] + 1.0)
    else:
        four = tuple(p)
    return np.array([*four, gg.p, gg.q, gg.v, SIM_CODE[f.name]])
