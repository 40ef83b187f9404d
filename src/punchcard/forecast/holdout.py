"""The holdout check and the choice of purchase model (docs/forecast.md, "Which model, and how good").

The history is split at about two thirds (``btyd.holdout_end``). Every candidate of
``purchase_models`` is fitted on the first part (the calibration period); for every
customer first seen in it, its conditional expectation of their purchase occasions over
the rest (the holdout period) is compared with what they did: summed (``error`` =
predicted / actual − 1) and by decile of the prediction. ``forecast.model: auto`` takes
the candidate with the smallest absolute holdout error; candidates within one percentage
point of the best count as tied, and a tie goes to the simplest (``purchase_models.NAMES``
order). Without a holdout (too short a history, too few repeat customers) it takes the
best BIC of the whole-period fits.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.special import betaln, gammaln
from threadpoolctl import threadpool_limits

from punchcard.forecast import btyd as M
from punchcard.forecast import purchase_models as P
from punchcard.forecast.radix import float_order

#: Candidates within this many holdout-error points of the best are tied (the simplest wins).
TIE = 0.01
#: A holdout check needs at least this many repeat customers in the calibration period.
MIN_REPEAT = 10


@dataclass(frozen=True)
class Selection:
    """The chosen whole-period fit, every candidate's, and the results.json blocks about them."""

    chosen: P.PurchaseFit
    fits: dict[str, P.PurchaseFit]
    candidates: list[dict]
    checks: dict | None


def _iso(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def params_dict(f: P.PurchaseFit) -> dict:
    """Return a fit's parameters by name (None where a fit has none)."""
    return {k: float(v) if np.isfinite(v) else None for k, v in zip(P.PARAMS[f.name], f.params)}


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def no_visible_dropout(f: P.PurchaseFit) -> bool:
    """Return whether a BG/NBD-like fit's mean dropout probability a / (a + b) is below 1 in 10,000."""
    a, b = f.params[2], f.params[3]
    return bool(np.isfinite(a) and np.isfinite(b) and a / (a + b) < 1e-4)


#: What the candidates table says when the Pareto/NBD is not fitted (see ``select``).
PARETO_SKIPPED = ("not fitted: the BG/NBD and the MBG/NBD see no dropout in these data, where the "
                  "Pareto/NBD degenerates into the NBD as well")


def _bic(f: P.PurchaseFit, n: int) -> float:
    return len(f.params) * np.log(max(n, 1)) - 2.0 * f.loglik


def pick(errors: dict[str, float | None], fits: dict[str, P.PurchaseFit], n: int) -> str | None:
    """Return the candidate ``auto`` takes: smallest |holdout error| (ties to the simplest), else best BIC."""
    ok = [n_ for n_ in P.NAMES if n_ in fits and fits[n_].converged]
    scored = [n_ for n_ in ok if errors.get(n_) is not None and np.isfinite(errors[n_])]
    if scored:
        best = min(abs(errors[n_]) for n_ in scored)
        return next(n_ for n_ in scored if abs(errors[n_]) <= best + TIE)
    if ok:
        best = min(_bic(fits[n_], n) for n_ in ok)
        return next(n_ for n_ in ok if _bic(fits[n_], n) <= best + 2.0)  # within 2 BIC: tied
    return None


def prob_count(f: P.PurchaseFit, k: int, t: np.ndarray) -> np.ndarray | None:
    """Return P(X(t) = k) for a new customer under fit ``f`` (None for the Pareto/NBD: not tabulated)."""
    t = np.asarray(t, dtype=np.float64)
    if f.name == "bgnbd":
        return M.prob_count(P.as_bgnbd(f), k, t)
    if f.name == "pareto_nbd":
        return None
    r, alpha = f.params[0], f.params[1]

    def nbd(j: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            lz = np.where(t > 0, np.log(t) - np.log(alpha + t), -np.inf)
            return np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1.0)
                          + r * (np.log(alpha) - np.log(alpha + t)) + (j * lz if j else 0.0))

    if f.name == "nbd":
        return nbd(k)
    a, b = f.params[2], f.params[3]  # MBG/NBD: may drop out after the first purchase too
    below = sum((nbd(j) for j in range(k)), np.zeros_like(t))
    return (np.exp(betaln(a, b + k + 1.0) - betaln(a, b)) * nbd(k)
            + np.exp(betaln(a + 1.0, b + k) - betaln(a, b)) * (1.0 - below))


def stable_order(v: np.ndarray) -> np.ndarray:
    """Return ``np.argsort(v, kind="stable")`` (ties in the order given): for finite float64
    values by a compiled radix sort of their bits (``radix.float_order``: a third to a fifth
    of numpy's time on a whole base), else by numpy."""
    v = np.asarray(v)
    if v.dtype != np.float64 or not np.all(np.isfinite(v)):  # NaN: numpy puts it last
        return np.argsort(v, kind="stable")
    return float_order(v)


def deciles(pred: np.ndarray, actual: np.ndarray) -> list[dict]:
    """Return predicted and actual sums by decile of the prediction (1 = the lowest predictions)."""
    order = stable_order(pred)
    out = []
    for i, part in enumerate(np.array_split(order, 10)):
        if len(part):
            out.append({"decile": i + 1, "customers": int(len(part)),
                        "predicted": float(np.sum(pred[part])), "actual": float(np.sum(actual[part]))})
    return out


def _tracking(summary: M.Summary, cal: M.RFM, fit: P.PurchaseFit, start_day: int) -> dict:
    """Return the weekly cumulative repeat occasions of the calibration customers, actual and modelled."""
    end, cal_end = summary.end_day, summary.cal_end
    days = end - start_day + 1
    repeat_cum = np.cumsum(summary.repeat_days)
    n_weeks = -(-days // 7)
    bounds = np.minimum(start_day + 7 * np.arange(1, n_weeks + 1) - 1, end)

    def through(day) -> np.ndarray:
        k = np.asarray(day, dtype=np.int64) - summary.day0
        return np.where(k >= 0, repeat_cum[np.clip(k, 0, len(repeat_cum) - 1)], 0)

    actual = through(bounds).astype(np.float64)
    lo = int(cal.first_day.min()) if len(cal.first_day) else 0
    by_day = np.bincount(cal.first_day - lo)  # customers by their first day
    firsts = np.flatnonzero(by_day)
    counts, firsts = by_day[firsts], firsts + lo
    ages = np.maximum(bounds[None, :] - firsts[:, None], 0) / 7.0
    model_cum = M.weighted(counts, P.expected_cumulative(fit, ages))
    cal_actual = float(through(cal_end))
    cal_model = float(M.weighted(counts, P.expected_cumulative(fit, np.maximum(cal_end - firsts, 0) / 7.0)))
    hold = bounds > cal_end
    a_h, m_h = actual[hold] - cal_actual, model_cum[hold] - cal_model
    ok = a_h > 0
    return {
        "tracking": [{"week": int(w + 1), "actual": float(actual[w]), "model": float(model_cum[w])}
                     for w in range(n_weeks)],
        "tracking_error": float(np.mean(np.abs(m_h[ok] - a_h[ok]) / a_h[ok])) if np.any(ok) else None,
        "holdout_actual": float(a_h[-1]) if len(a_h) else 0.0,
        "holdout_model": float(m_h[-1]) if len(m_h) else 0.0,
    }


def _histogram(cal: M.RFM, fit: P.PurchaseFit, kmax: int = 7) -> list[dict] | None:
    ages_T, n_T = np.unique(cal.T, return_counts=True)
    hist, total = [], 0.0
    for k in range(kmax):
        pk = prob_count(fit, k, ages_T)
        if pk is None:
            return None
        pk = float(M.weighted(n_T, pk))
        total += pk
        hist.append({"x": str(k), "actual": int(np.sum(cal.x == k)), "model": pk})
    hist.append({"x": f"{kmax}+", "actual": int(np.sum(cal.x >= kmax)), "model": float(len(cal.x) - total)})
    return hist


def select(summary: M.Summary, rfm: M.RFM, setting: str, start_day: int) -> Selection | str:
    """Return every candidate fitted (whole period and calibration period), the holdout check and the
    chosen model; or a sentence saying why no model could be fitted.

    BLAS runs on one thread meanwhile: the likelihoods' dot products are short and many, and a
    threaded BLAS hands each of them to its other threads — on a busy machine every hand-over
    waits for a scheduler slice (a 37,000-row NBD evaluation took 60 ms instead of 0.3 ms) —
    and sums a long one in an order that depends on the machine's core count.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _select(summary, rfm, setting, start_day)


def _tabs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, with_whole: bool) -> tuple[dict, dict]:
    """Return per model the tabulation its fit uses — the candidates' sample, the Pareto/NBD's smaller
    one — and the whole base's, for the reported log-likelihood (None where the fit sees the whole base;
    the Pareto/NBD's sample of a base of up to 50,000 reports that base's log-likelihood too)."""
    tab, whole = P.sample_tab(x, t_x, T, P.CANDIDATE_MAX_CUSTOMERS, whole=with_whole)
    small = (P.sample_tab(x, t_x, T, P.PARETO_MAX_CUSTOMERS, whole=False)[0]
             if len(x) > P.PARETO_MAX_CUSTOMERS else tab)
    wholes = {n: whole for n in P.NAMES}
    if with_whole and whole is None and small is not tab:
        wholes["pareto_nbd"] = tab
    return {n: small if n == "pareto_nbd" else tab for n in P.NAMES}, wholes


def _calibration(summary: M.Summary) -> tuple[M.RFM, dict | None]:
    """Return the calibration period's customers and their tabulations (None: too few repeat customers)."""
    cal = M.rfm_of(summary, calibration=True)
    return cal, (_tabs(cal.x, cal.t_x, cal.T, False)[0] if int(np.sum(cal.x > 0)) >= MIN_REPEAT else None)


def _calibrated(name: str, ctab: P.Tab, cal: M.RFM, hold_weeks: float) -> tuple[P.PurchaseFit, np.ndarray | None]:
    """Return a candidate's calibration fit and its prediction of each customer's holdout occasions."""
    f = P.fit(name, ctab)
    return f, (P.expected_transactions(f, hold_weeks, cal.x, cal.t_x, cal.T) if f.converged else None)


def _whole_logliks(fits: dict[str, P.PurchaseFit], whole: dict) -> dict[str, P.PurchaseFit]:
    """Return fits of a sample with the whole base's log-likelihoods, worked out one after another: each
    allocates several arrays as long as the base, and threads that fault in fresh pages at once wait
    for each other in the kernel (beside the other fits, a 3M-customer NBD log-likelihood took 0.05 s of
    user and 0.7 s of system time)."""
    return {n: P.with_whole_loglik(f, whole[n]) for n, f in fits.items()}


def _candidates(pool: ThreadPoolExecutor, summary: M.Summary, rfm: M.RFM) -> tuple:
    """Return every candidate fitted on the whole history, the whole base's log-likelihoods still being
    worked out (futures of {name: fit that reports it}), the whole base's tabulations, and the
    calibration customers with each candidate's calibration fit and holdout prediction still being
    worked out (name → future of (fit, prediction or None); None: no holdout check).

    Every (model, period) fit with its holdout prediction, and the whole-base log-likelihoods, run
    on threads of their own: the likelihoods run in compiled code or numpy/scipy kernels that
    release the GIL, so they overlap on a machine with cores. The Pareto/NBD (the slowest: an
    integral per customer, ~1.3 s CPU of fits, prediction and log-likelihood at 1M customers) comes
    last: when both the BG/NBD and the MBG/NBD find no dropout on the whole history, it would only
    run off to its bound too — the NBD already holds that case.
    """
    first = [n for n in P.NAMES if n != "pareto_nbd"]
    cal_tab = pool.submit(_calibration, summary) if summary.cal_end < summary.end_day else None
    tab, whole = _tabs(rfm.x, rfm.t_x, rfm.T, True)
    jobs = {n: pool.submit(P.fit, n, tab[n]) for n in first}
    cal, ctab = cal_tab.result() if cal_tab is not None else (None, None)
    hold_weeks = (summary.end_day - summary.cal_end) / 7.0
    cal_jobs = ({n: pool.submit(_calibrated, n, ctab[n], cal, hold_weeks) for n in first}
                if ctab is not None else {})
    fits = {n: jobs[n].result() for n in first}
    logliks = [pool.submit(_whole_logliks, {n: fits[n] for n in first}, whole)]
    if no_visible_dropout(fits["bgnbd"]) and no_visible_dropout(fits["mbgnbd"]):
        fits["pareto_nbd"] = P.PurchaseFit("pareto_nbd", (float("nan"),) * 4, float("nan"), False, PARETO_SKIPPED)
        if cal_jobs:
            cal_jobs["pareto_nbd"] = Future()
            cal_jobs["pareto_nbd"].set_result((fits["pareto_nbd"], None))
    else:
        pareto = pool.submit(P.fit, "pareto_nbd", tab["pareto_nbd"])
        if ctab is not None:
            cal_jobs["pareto_nbd"] = pool.submit(_calibrated, "pareto_nbd", ctab["pareto_nbd"], cal, hold_weeks)
        fits["pareto_nbd"] = pareto.result()
        logliks.append(pool.submit(_whole_logliks, {"pareto_nbd": fits["pareto_nbd"]}, whole))
    return {n: fits[n] for n in P.NAMES}, logliks, whole, ((cal, cal_jobs) if cal_jobs else None)


def _checks(summary: M.Summary, cal: M.RFM, cf: P.PurchaseFit, pred: np.ndarray, actual: np.ndarray,
            error: float, start_day: int) -> dict:
    """Return the ``checks`` block of the chosen model: its calibration fit and holdout prediction."""
    hold_weeks = (summary.end_day - summary.cal_end) / 7.0
    return {
        "model": cf.name,
        "calibration_weeks": (summary.cal_end - start_day + 1) / 7.0,
        "holdout_weeks": hold_weeks,
        "calibration_fit": {"model": cf.name, **params_dict(cf), "loglik": cf.loglik},
        "holdout": {"calibration_end": _iso(summary.cal_end), "holdout_weeks": hold_weeks,
                    "predicted": float(pred.sum()), "actual": float(actual.sum()), "error": error},
        "deciles": deciles(pred, actual),
        **_tracking(summary, cal, cf, start_day),
        "repeat_histogram": _histogram(cal, cf),
    }


def _select(summary: M.Summary, rfm: M.RFM, setting: str, start_day: int) -> Selection | str:
    with ThreadPoolExecutor(8, thread_name_prefix="punchcard-candidates") as pool:
        big = (pool.submit(P.sample_tab, rfm.x, rfm.t_x, rfm.T, None, False)  # for the chosen one's refit
               if len(rfm.x) > P.CANDIDATE_MAX_CUSTOMERS else None)
        fits, logliks, whole, hold = _candidates(pool, summary, rfm)
        errors: dict[str, float | None] = {n: None for n in P.NAMES}
        preds: dict[str, np.ndarray] = {}
        if hold is not None:
            cal, cal_jobs = hold
            actual = (summary.n[cal.cust] - summary.n_cal[cal.cust]).astype(np.float64)

        def choose(names) -> str | None:
            """The choice once the calibration fits of ``names`` are in (their errors added)."""
            for n in names:
                f, pred = cal_jobs[n].result()
                if f.converged and np.all(np.isfinite(pred)) and actual.sum() > 0:
                    preds[n] = pred
                    errors[n] = float(pred.sum() / actual.sum() - 1.0)
            if setting == "auto":
                return pick(errors, fits, len(rfm.x))
            return setting if fits[setting].converged else None

        def start(name: str) -> tuple:
            """The chosen one's refit on the larger sample and its checks, on threads of their own."""
            refit = pool.submit(P.fit, name, big.result()[0], fits[name], whole[name]) if big is not None else None
            checks = (pool.submit(_checks, summary, cal, cal_jobs[name].result()[0], preds[name], actual,
                                  errors[name], start_day) if name in preds else None)
            return name, refit, checks

        # The refit and the checks start on a first choice — among the candidates whose calibration
        # fits are in: all but the Pareto/NBD, the slowest — and are kept when the last one does not
        # change it (they depend on the name alone, so they are the same as if started after it).
        early = None
        if hold is None:
            name = choose([])
        else:
            name = choose([n for n in P.NAMES if n != "pareto_nbd"])
            if name is not None and name != "pareto_nbd":  # (its own prediction is not in yet)
                early = start(name)
            name = choose(["pareto_nbd"])
        if name is None:
            return _why_not(fits, setting)
        _, refit, checks = early if early is not None and early[0] == name else start(name)
        for job in logliks:
            fits.update(job.result())
        if refit is not None and refit.result().converged:
            fits[name] = refit.result()
        checks = checks.result() if checks is not None else None
    candidates = [{"name": n, "params": params_dict(f), "loglik": _finite(f.loglik), "converged": f.converged,
                   "message": f.message, "holdout_error": errors[n]} for n, f in fits.items()]
    return Selection(fits[name], fits, candidates, checks)


def _why_not(fits: dict[str, P.PurchaseFit], setting: str) -> str:
    from punchcard.messages import Message

    details = "; ".join(f"{P.LABELS[n]}: {f.message or 'did not converge'}" for n, f in fits.items())
    if setting != "auto":
        return Message("The purchase model you chose (%(model)s) could not be fitted to these data (%(detail)s). "
                       "Fix: set `forecast.model: auto` to let the holdout check choose among the four models.",
                       {"model": P.LABELS[setting], "detail": details})
    return Message("None of the four purchase models could be fitted to these data (%(detail)s). Usually the "
                   "history is too short for repeat purchases to show a pattern; a few more months of sales "
                   "usually settle it.", {"detail": details})

