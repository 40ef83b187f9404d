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
  Fader & Hardie (2005) "A note on deriving the Pareto/NBD model and related expressions".

Every model is fitted on the same tabulation (distinct values of x, t_x and T with their
weights, ``btyd._Rows``), so the candidates cost one tabulation between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
from numba import njit
from scipy.special import betaln, digamma, gammaln, hyp2f1

from punchcard.forecast import btyd as M

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
    """The shared tabulation: weighted distinct (x, t_x, T) rows, plus the (x, t) pairs Pareto/NBD reads."""

    rows: M._Rows
    pair_tx: tuple[np.ndarray, np.ndarray, np.ndarray]  # distinct (x, t_x) values and each row's index
    pair_T: tuple[np.ndarray, np.ndarray, np.ndarray]  # distinct (x, T) values and each row's index
    scale: float  # mean age, for the starting values


def _pair_index(a_idx: np.ndarray, b_idx: np.ndarray, a_vals: np.ndarray,
                b_vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct (a, b) value pairs of two indexed columns and each row's index into them."""
    nb = max(len(b_vals), 1)
    key = a_idx * nb + b_idx
    space = len(a_vals) * nb
    if space <= 4 * len(key) + 1024:
        present = np.zeros(space, dtype=bool)
        present[key] = True
        keys = np.flatnonzero(present)
        slot = np.cumsum(present) - 1
        back = slot[key]
    else:
        keys, back = np.unique(key, return_inverse=True)
    return a_vals[keys // nb], b_vals[keys % nb], np.ascontiguousarray(back.reshape(-1), dtype=np.int64)


def tabulate(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray | None = None) -> Tab:
    """Return the tabulation of customers (x, t_x, T), each with weight ``w`` (default 1)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
    rows = M._rows(w, x, t_x, T)
    (xk, xi), (tk, ti), (Tk, Ti) = rows.cols
    scale = max(float(M.dot(w, T) / max(float(np.sum(w)), 1e-300)), 1e-3) if len(x) else 1.0
    return Tab(rows, _pair_index(xi, ti, xk, tk), _pair_index(xi, Ti, xk, Tk), scale)


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


def _pareto_log_h(r: float, alpha: float, s: float, beta: float, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Return log of the Pareto/NBD's 2F1(…; z(t)) / (max(α, β) + t)^{r+s+x} term (Fader & Hardie 2005, eq. 22)."""
    k = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        f = hyp2f1(k, s + 1.0, k + 1.0, z)
        return np.log(f) - k * np.log(alpha + t)
    z = (beta - alpha) / (beta + t)
    f = hyp2f1(k, r + x, k + 1.0, z)
    return np.log(f) - k * np.log(beta + t)


def _pareto_terms(par, x, t_x, T, h_tx, h_T):
    """Return (log of the alive-at-T term, log of the died-before-T term) of each row's likelihood."""
    r, alpha, s, beta = par
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(h_tx > h_T, h_tx + np.log1p(-np.exp(np.minimum(h_T - h_tx, 0.0))), -np.inf)
        second = np.log(s) - np.log(r + s + x) + diff
    return first, second


def _pareto_parts(par: np.ndarray, tab: Tab):
    r, alpha, s, beta = (float(v) for v in par)
    rows = tab.rows
    (xk, xi), _, _ = rows.cols
    px, pt, pti = tab.pair_tx
    qx, qT, qTi = tab.pair_T
    h_tx = _pareto_log_h(r, alpha, s, beta, px, pt)[pti]
    h_T = _pareto_log_h(r, alpha, s, beta, qx, qT)[qTi]
    x, t_x, T = xk[xi], pt[pti], qT[qTi]
    first, second = _pareto_terms((r, alpha, s, beta), x, t_x, T, h_tx, h_T)
    const = M.dot(rows.wsum[0], gammaln(r + xk)) + np.sum(rows.w) * (
        -gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    return x, t_x, T, first, second, float(const)


def _pareto_value(par: np.ndarray, tab: Tab) -> float:
    x, t_x, T, first, second, const = _pareto_parts(par, tab)
    return float(const + M.dot(tab.rows.w, np.logaddexp(first, second)))


#: Gauss–Legendre nodes and weights on [0, 1] for the dropout integral's means (``_dropout_means``).
_GL_Q, _GL_W = (lambda q, w: ((q + 1.0) / 2.0, w / 2.0))(*np.polynomial.legendre.leggauss(32))


@njit(cache=True, nogil=True)
def _dropout_means(r, alpha, s, beta, x, t_x, T, q, qw):
    """Return, per row, the means of log(α+τ), 1/(α+τ), log(β+τ) and 1/(β+τ) over τ in [t_x, T]
    weighted by f(τ) = (α+τ)^{−(r+x)} (β+τ)^{−(s+1)} — the dropout term's integrand, D = s ∫ f dτ.

    With v = log((α+τ)/(α+t_x)) the integrand is e^{−λv} (β+τ)^{−(s+1)}, λ = r + x − 1; the
    nodes are placed uniformly in the exponential factor's distribution function (so a steep
    decay, x large, costs no more nodes) and the smooth remaining factor is integrated by
    32-point Gauss–Legendre.
    """
    n, m = x.shape[0], q.shape[0]
    out = np.zeros((n, 4))
    lg = np.empty(m)
    v = np.empty(m)
    for i in range(n):
        a0 = alpha + t_x[i]
        L = math.log(alpha + T[i]) - math.log(a0)
        if L <= 0.0:
            continue
        lam = r + x[i] - 1.0
        em = math.expm1(-lam * L)
        top = -1e300
        for j in range(m):
            if abs(lam * L) < 1e-12:
                v[j] = q[j] * L
            else:
                v[j] = -math.log1p(q[j] * em) / lam
            tau = a0 * math.exp(v[j]) - alpha
            lg[j] = -(s + 1.0) * math.log(beta + tau)
            top = max(top, lg[j])
        tot = m0 = m1 = m2 = m3 = 0.0
        for j in range(m):
            wj = qw[j] * math.exp(lg[j] - top)
            ea = a0 * math.exp(v[j])
            eb = beta + ea - alpha
            tot += wj
            m0 += wj * (math.log(a0) + v[j])
            m1 += wj / ea
            m2 += wj * math.log(eb)
            m3 += wj / eb
        out[i, 0] = m0 / tot
        out[i, 1] = m1 / tot
        out[i, 2] = m2 / tot
        out[i, 3] = m3 / tot
    return out


def _pareto_ll(par: np.ndarray, tab: Tab) -> tuple[float, np.ndarray]:
    """Return the Pareto/NBD log-likelihood and its gradient.

    The likelihood is C·(A + D): C = Γ(r+x)αʳβˢ/Γ(r), A = (α+T)^{−(r+x)}(β+T)^{−s} (alive at T)
    and D = s∫_{t_x}^T (α+τ)^{−(r+x)}(β+τ)^{−(s+1)} dτ (dropped out at τ) — Fader & Hardie
    (2005), whose closed form (``_pareto_log_h``) gives the value. The derivatives of log D
    are means over τ of that integrand (−E log(α+τ) for r, −(r+x)·E 1/(α+τ) for α,
    1/s − E log(β+τ) for s, −(s+1)·E 1/(β+τ) for β), which ``_dropout_means`` integrates;
    so one hypergeometric pass per step instead of five (forward differences), with a
    gradient more accurate than the differences' (about 1e-6).
    """
    r, alpha, s, beta = (float(v) for v in par)
    rows = tab.rows
    (xk, _), _, _ = rows.cols
    x, t_x, T, first, second, const = _pareto_parts(par, tab)
    lse = np.logaddexp(first, second)
    ll = float(const + M.dot(rows.w, lse))
    with np.errstate(invalid="ignore", over="ignore"):
        wd = np.where(np.isfinite(second), np.exp(second - lse), 0.0) * rows.w  # weight of D
    wa = rows.w - wd
    e = _dropout_means(r, alpha, s, beta, x, t_x, T, _GL_Q, _GL_W)
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
    if whole is not None and np.all(np.isfinite(par)):
        ll = loglik(name, par, whole)
    return PurchaseFit(name, tuple(float(v) for v in par), float(ll), ok, msg)


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
#: The Pareto/NBD's likelihood runs through the hypergeometric function once per distinct
#: (x, t) pair, so it is the slowest by far (near no dropout, where it degenerates into the
#: NBD, scipy's hyp2f1 takes ~20 µs a pair instead of ~1): its candidate fits use a smaller
#: sample, with standard errors about 2.2 times those at 50,000.
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
    h_tx = _pareto_h_rows(f.params, x, t_x)
    h_T = _pareto_h_rows(f.params, x, T)
    first, second = _pareto_terms(f.params, x, t_x, T, h_tx, h_T)
    return np.exp(first - np.logaddexp(first, second))


def _pareto_h_rows(params, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Return ``_pareto_log_h`` per row, computed once per distinct (x, t) pair."""
    r, alpha, s, beta = params
    gx, gt = M._grid(x), M._grid(t)
    if gx is None or gt is None:
        return _pareto_log_h(r, alpha, s, beta, x, t)
    px, pt, back = _pair_index(gx[1], gt[1], gx[0], gt[0])
    return _pareto_log_h(r, alpha, s, beta, px, pt)[back]


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
