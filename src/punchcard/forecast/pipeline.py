"""Stage 4b: Monte Carlo forecast of each scheme against a no-scheme baseline (SPEC §5).

Fits BG/NBD + Gamma-Gamma to the identified customers, simulates ``horizon_months`` of
their purchases with common random numbers in both worlds (``simulate.py``), replays the
scheme world through the scheme's own accounting (``schemes.replay``) and summarises the
per-draw net impact. docs/forecast.md explains every step and assumption.

This module is the stage's entry (``run``, ``prepare``, the model block, the skip
messages, each scheme's summary); its parts live beside it: ``worlds.py`` (the simulated
customers, a scheme's world vector and replay context, costs), ``draws.py`` (assumption
draws, who joins, the customer sample, each draw's random inputs), ``batch.py`` (the
batched evaluation) and ``scenarios.py`` (tornado and break-even).
"""

from __future__ import annotations

import contextlib
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

import numpy as np
from threadpoolctl import threadpool_limits

from punchcard.forecast import arrivals as A
from punchcard.forecast import btyd as M
from punchcard.forecast import holdout as H
from punchcard.forecast import purchase_models as P
from punchcard.forecast import simulate as S
from punchcard.forecast.batch import Job, Outcomes, evaluate
from punchcard.forecast.draws import THIN, Draws, draw_values, make_draws, sample_customers
from punchcard.messages import Message, message_dict, nmessage
from punchcard.ingest import Ledger
from punchcard.forecast.pilot import MAX_DRAWS, plans
from punchcard.program import Program, Scheme
from punchcard.runtime import DAYS_PER_MONTH, DEFAULT_SEED, give_back_memory, workers
from punchcard.forecast.economics import (
    BREAK_EVEN_DRAWS, CHANCE_DRAWS, deadweight, deadweight_job, from_new_customers, likely_job, segment_rows,
    segments_of, variance_split,
)
from punchcard.forecast.scenarios import (
    SCENARIO_DRAWS, break_even_all, mean_net, tornado_jobs, tornado_rows,
)
from punchcard.forecast.worlds import Base, fixed_cost

MIN_CUSTOMERS = 20
MIN_REPEAT = 10
MIN_DAYS = 28


@dataclass(frozen=True)
class ForecastOutput:
    """The forecast blocks of results.json: model (with checks), per-scheme forecasts, run settings."""

    model: dict | None
    schemes: dict[str, dict] | None
    run: dict
    skipped_reason: str | None
    pilots: dict[str, dict] | None = None  # each scheme's pilot plan (pilot.py); results keep the recommended one's


# --- preparation ------------------------------------------------------------------------


def _skip(program: Program, seed: int, draws: int, reason: str) -> ForecastOutput:
    return ForecastOutput(model=None, schemes=None, run=_run_block(program, seed, draws, 0, 1.0, reason),
                          skipped_reason=reason)


def _run_block(program: Program, seed: int, draws: int, n_sim: int, weight: float, reason: str | None) -> dict:
    return {"draws": draws, "seed": seed, "horizon_months": program.business.horizon_months,
            "customers_simulated": n_sim, "sample_weight": weight, "skipped_reason": reason,
            "skipped": message_dict(reason)}  # the reason as {"msgid", "params"}, for translation


def _model_block(sel: H.Selection, gg: M.GammaGammaFit, rfm: M.RFM, horizon_weeks: float,
                 exp_tx: np.ndarray, exp_rev: np.ndarray, segments: dict | None = None,
                 new_customers: dict | None = None) -> dict:
    bg = sel.fits["bgnbd"]  # the BG/NBD's fit, whether chosen or not (SPEC §6 Additions)
    return {
        "bgnbd": {**H.params_dict(bg), "loglik": bg.loglik},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v, "loglik": gg.loglik},
        "chosen": sel.chosen.name,
        "candidates": sel.candidates,
        "horizon_weeks": horizon_weeks,
        "expected_transactions": float(np.sum(exp_tx)),
        "expected_revenue": float(np.sum(exp_rev)),
        "converged": bool(sel.chosen.converged and gg.converged),
        "customers": int(len(rfm.x)),
        "repeat_customers": int(np.sum(rfm.x > 0)),
        "checks": sel.checks,
        "segments": segments,
        "new_customers": new_customers,
    }


def prepare(program: Program, ledger: Ledger, seed: int,
            summary: M.Summary | None = None,
            stage: Callable[[str], ContextManager[None]] | None = None) -> tuple[Base, dict] | str:
    """Return the simulation inputs and the model block, or a plain sentence saying why not.

    ``summary`` is ``model.summarise(ledger, cal_end=model.holdout_end(ledger))`` when the
    caller has it (merged from customer-hash shards on a cluster); else it is taken here.
    ``stage(label)`` (``Reporter.stage``) times the model fits.
    """
    days = int(ledger.end_day) - int(ledger.start_day) + 1
    if days < MIN_DAYS:
        more = MIN_DAYS - days
        return nmessage("The sales history covers %(n)s day; the forecast needs at least %(min_days)s, so "
                        "%(more)s more days of sales would do.",
                        "The sales history covers %(n)s days; the forecast needs at least %(min_days)s, so "
                        "%(more)s more days of sales would do.",
                        {"n": days, "min_days": MIN_DAYS, "more": more},
                        english=f"The sales history covers {days} days; the forecast needs at least "
                                f"{MIN_DAYS}, so {more} more days of sales would do.")
    if summary is None:
        summary = M.summarise(ledger, cal_end=M.holdout_end(ledger))  # one pass for both periods
    rfm = M.rfm_of(summary)
    n_rep = int(np.sum(rfm.x > 0))
    if len(rfm.x) < MIN_CUSTOMERS or n_rep < MIN_REPEAT:
        params = {"customers": len(rfm.x), "repeat": n_rep, "min_customers": MIN_CUSTOMERS,
                  "min_repeat": MIN_REPEAT}
        if n_rep == 0:
            return Message("Only %(customers)s identified customers and none who came back; the forecast needs "
                           "at least %(min_customers)s customers and %(min_repeat)s who came back. Keep "
                           "recording customer numbers on the receipts: a few months of repeat visits would do.",
                           params)
        # customers and repeat customers accrue about in proportion to the history's length
        need = max(MIN_REPEAT / n_rep, MIN_CUSTOMERS / max(len(rfm.x), 1))
        params["months"] = max(1, int(np.ceil(days * (need - 1.0) / DAYS_PER_MONTH)))
        return Message("Only %(customers)s identified customers and %(repeat)s repeat customers; the forecast "
                       "needs at least %(min_customers)s customers and %(min_repeat)s who came back. At this "
                       "history's pace, about %(months)s more months of sales would do.", params)
    # Two threads (the compiled likelihoods release the GIL): the spend model fits on a
    # second one while this one fits the purchase models (holdout.py: every candidate on the
    # whole history and on its first two thirds) and works out the expectations.
    # BLAS on one thread while fitting (holdout.select says why).
    # ``stage`` times the fits alone (build -v prints the line; docs/forecast.md quotes it at 20M rows).
    stage = stage or (lambda _label: contextlib.nullcontext())
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(1, thread_name_prefix="punchcard-fit") as pool:
        with stage(f"{program.id}: fitting the purchase and spend models"):
            gg_job = pool.submit(M.fit_gamma_gamma, rfm.x, rfm.mean_value)
            sel = H.select(summary, rfm, program.forecast.model, int(ledger.start_day))
            gg = gg_job.result()
        if isinstance(sel, str):
            return sel
        fit = sel.chosen
        horizon_weeks = program.business.horizon_months * DAYS_PER_MONTH / 7.0
        exp_tx = P.expected_transactions(fit, horizon_weeks, rfm.x, rfm.t_x, rfm.T)
        if not gg.converged or gg.q <= 1.0:
            return Message("The spend model (Gamma-Gamma) could not be fitted to these data.")
        exp_rev = exp_tx * M.expected_spend(gg, rfm.x, rfm.mean_value)
        if not (np.all(np.isfinite(exp_tx)) and np.all(np.isfinite(exp_rev))):
            return "The purchase model gives no finite forecast for these data."
        cust_hash = np.asarray(ledger.cust_hash, dtype=np.uint64)[rfm.cust]
        keep, weight = sample_customers(rfm.x, exp_rev, cust_hash, program.forecast.max_customers, seed)
    seg = segments_of(rfm.x, rfm.T)  # terciles among all identified customers, before any sample
    arr = A.fit(rfm.first_day, int(ledger.start_day), int(ledger.end_day))
    block = _model_block(sel, gg, rfm, horizon_weeks, exp_tx, exp_rev, seg.as_dict(), arr.as_dict(horizon_weeks))
    items = summary.items[rfm.cust] / (rfm.x + 1.0)  # mean items per purchase occasion
    bday = (np.full(ledger.n_customers, -1, dtype=np.int16) if ledger.birthday_doy is None
            else np.asarray(ledger.birthday_doy, dtype=np.int16))
    start = int(ledger.end_day) + 1
    cols = {
        "cust": rfm.cust[keep], "weight": weight, "palive": P.p_alive(fit, rfm.x, rfm.t_x, rfm.T)[keep],
        "x": rfm.x[keep], "T": rfm.T[keep], "mean_value": rfm.mean_value[keep], "items": items[keep],
        "cust_hash": cust_hash[keep], "birthday_doy": bday[rfm.cust[keep]], "segment": seg.segment[keep],
    }
    extra = any(s.assumptions.acquisition_lift.high > 0.0 for s in program.schemes)
    cols = _with_arrivals(cols, arr, horizon_weeks, max(1, program.forecast.max_customers // NEW_SHARE), extra,
                          bday[rfm.cust], items, seed)
    base = Base(
        **cols, par=P.sim_par(fit, gg),
        horizon_weeks=horizon_weeks, start_day=start,
        end_day=start + int(np.ceil(horizon_weeks * 7.0)) - 1, data_start_day=int(ledger.start_day),
        gross_margin=program.business.gross_margin, horizon_months=program.business.horizon_months,
        thin=THIN if len(keep) < len(rfm.x) else 1.0,
    )
    return base, block


#: New customers simulated: at most max_customers ÷ NEW_SHARE of them (each standing for more when
#: more are expected), and as many again for the acquisition lift when a scheme has one
NEW_SHARE = 10
_NEW_SALT = np.uint64(0x6E65775F63757374)  # the new customers' hashes: their own, keyed by seed and slot


def _with_arrivals(cols: dict, arr: A.ArrivalFit, horizon_weeks: float, max_new: int, extra: bool,
                   bday_all: np.ndarray, items_all: np.ndarray, seed: int) -> dict:
    """Return the simulated customers' columns with the new customers appended (forecast/arrivals.py).

    Each new customer starts from the fitted model's prior (no history: x = T = 0, surely
    alive at their first purchase), buys items like today's average customer, and has a
    recorded birthday with the share of today's customers who have one, on a day given by
    their hash. With ``extra``, a second set of arrivals that only a scheme's acquisition
    lift brings (absent from the baseline).
    """
    n_old = len(cols["x"])
    lo, hi, w = A.slots(arr, horizon_weeks, max_new)
    k = len(lo)
    copies = 2 if extra and k else 1
    if k == 0:
        return {**cols, "arr_lo": np.full(n_old, -1.0), "arr_hi": np.full(n_old, -1.0),
                "extra": np.zeros(n_old, dtype=bool)}
    m = k * copies
    idx = np.arange(m, dtype=np.uint64)
    h = S.customer_base(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ _NEW_SALT, idx)
    u_b = S.join_uniforms(h)
    has_bday = float(np.mean(bday_all >= 0)) if len(bday_all) else 0.0
    bday = np.where(u_b < has_bday, 1 + np.floor(u_b / max(has_bday, 1e-12) * 365.0), -1).astype(np.int16)
    new = {
        "cust": np.full(m, -1, dtype=cols["cust"].dtype), "weight": np.tile(w, copies), "palive": np.ones(m),
        "x": np.zeros(m), "T": np.zeros(m), "mean_value": np.zeros(m),
        "items": np.full(m, float(np.mean(items_all)) if len(items_all) else 1.0),
        "cust_hash": h, "birthday_doy": bday, "segment": np.zeros(m, dtype=cols["segment"].dtype),
    }
    out = {key: np.concatenate([cols[key], new[key]]) for key in cols}
    out["arr_lo"] = np.concatenate([np.full(n_old, -1.0), np.tile(lo, copies)])
    out["arr_hi"] = np.concatenate([np.full(n_old, -1.0), np.tile(hi, copies)])
    out["extra"] = np.concatenate([np.zeros(n_old + k, dtype=bool), np.ones(m - k, dtype=bool)])
    return out


# --- the run --------------------------------------------------------------------------------


def _histogram(values: np.ndarray, bins: int = 20) -> list[dict]:
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        return [{"x0": lo, "x1": hi, "count": int(len(values))}]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return [{"x0": float(edges[i]), "x1": float(edges[i + 1]), "count": int(counts[i])} for i in range(bins)]


def scheme_summary(program: Program, dr: Draws, o: Outcomes, anyway: Outcomes | None = None) -> dict:
    """Return the per-draw summary of one scheme's main run (everything but break-even and tornado).

    ``anyway`` is the same run with every lift at zero (economics.deadweight_job).
    """
    draws = len(dr.base_total)
    rev, reward, members = o.revenue, o.reward_cost, o.members
    fixed = np.array([fixed_cost(program, float(m)) for m in members])
    inc_rev = rev - dr.base_total
    net = program.business.gross_margin * inc_rev - reward - fixed
    se = (lambda a: float(np.std(a, ddof=1) / np.sqrt(draws)) if draws > 1 else 0.0)
    q10, q50, q90 = (float(v) for v in np.quantile(net, [0.1, 0.5, 0.9]))
    return {
        "horizon_months": program.business.horizon_months, "draws": draws,
        "net_impact": {"mean": float(np.mean(net)), "p10": q10, "p50": q50, "p90": q90, "se": se(net)},
        "incremental_revenue": float(np.mean(inc_rev)), "incremental_revenue_se": se(inc_rev),
        "incremental_margin": float(np.mean(program.business.gross_margin * inc_rev)),
        "scheme_cost": float(np.mean(reward + fixed)), "reward_cost": float(np.mean(reward)),
        "fixed_cost": float(np.mean(fixed)), "members": float(np.mean(members)),
        "liability": float(np.mean(o.liability)),
        "baseline_revenue": float(np.mean(dr.base_total)),
        "probability_positive": float(np.mean(net > 0)),
        "break_even_visit_lift": None,
        **(deadweight(o, anyway) if anyway is not None else {}),
        "segments": segment_rows(program, o, anyway) if anyway is not None and o.seg_members is not None else [],
        "from_new_customers": from_new_customers(program, o),
        "spread": {"assumptions": None, "chance": None},
        "histogram": _histogram(net),
        "tornado": [],
    }


def forecast_schemes(program: Program, base: Base, schemes: list[Scheme], dr: Draws, replay: Callable, *,
                     scenarios: bool = True, dr_be: Draws | Callable[[], Draws] | None = None) -> dict[str, dict]:
    """Return the ``schemes[].forecast`` block of every scheme, evaluating all of them together.

    Per scheme: the main draws and their twin with every lift at zero (deadweight); with
    ``scenarios``, the likely values (the chance part of the spread and the tornado's
    centre) and the tornado ends. All go through one batched evaluation (schemes that share
    their assumptions share the simulation); the break-even (scenarios.break_even_all)
    evaluates its lifts in batches of its own, every scheme at once. The break-even runs
    on ``dr_be`` (draws of its own, economics.BREAK_EVEN_DRAWS of them) when given, else on
    the first draws of ``dr``; given as a function, it is called only when the break-even
    starts (after the main evaluation: its memory is not held before).
    """
    draws = len(dr.base_total)
    n_sc, n_ch = min(draws, SCENARIO_DRAWS), min(draws, CHANCE_DRAWS)
    jobs: list[Job] = []
    plan = []
    for s in schemes:
        main = len(jobs)
        jobs.append(Job(s, np.arange(draws, dtype=np.int64),
                        [draw_values(s.assumptions, dr.u[d]) for d in range(draws)]))
        jobs.append(deadweight_job(jobs[main]))
        torn, likely = [], None
        if scenarios:
            likely = len(jobs)
            jobs.append(likely_job(s, n_ch))
            for name, end, job in tornado_jobs(s, n_sc):
                torn.append((name, end, len(jobs)))
                jobs.append(job)
        plan.append((s, main, torn, likely))
    outs = evaluate(base, dr, jobs, replay)
    result = {s.id: scheme_summary(program, dr, outs[main], outs[main + 1]) for s, main, _, _ in plan}
    if scenarios:
        dr_be = dr if dr_be is None else dr_be() if callable(dr_be) else dr_be
        n_be = min(len(dr_be.base_total), BREAK_EVEN_DRAWS)
        roots, _ = break_even_all(program, base, [p[0] for p in plan], dr_be, n_be, replay)
        for (s, main, torn, likely), root in zip(plan, roots):
            fc = result[s.id]
            net_main = outs[main].net(program, dr.base_total)
            net_likely = outs[likely].net(program, dr.base_total[:n_ch])
            fc["break_even_visit_lift"] = root
            fc["spread"] = variance_split(net_main, net_likely)
            # the bars are measured on the first n_sc draws at the likely values; moved onto the headline
            shift = fc["net_impact"]["mean"] - mean_net(net_likely[:n_sc])
            fc["tornado"] = tornado_rows(s, {(name, end): mean_net(outs[j].net(program, dr.base_total[:n_sc]))
                                             for name, end, j in torn}, shift)
    return result


def default_replay() -> Callable:
    from punchcard import schemes

    # simulated purchases are built sorted, and only per-customer figures are summed
    return functools.partial(schemes.replay, per_tx=False, check=False)


def run(program: Program, ledger: Ledger, *, seed: int = DEFAULT_SEED, draws: int | None = None,
        replay: Callable | None = None,
        progress: Callable[[str], None] | None = None,
        summary: M.Summary | None = None,
        stage: Callable[[str], ContextManager[None]] | None = None,
        before_break_even: Callable[[], None] | None = None) -> ForecastOutput:
    """Return the fitted model, each scheme's simulated forecast and the run settings (or why it was skipped).

    ``progress(message)`` is told when each phase starts (fit, draws, break-even);
    ``summary`` is the ledger's model summary when the caller has it (see ``prepare``);
    ``stage(label)`` (``Reporter.stage``) times the model fits; ``before_break_even()`` is
    called before the break-even's draws, the forecast's largest arrays, are made (the
    build waits there for the backtest beside it, so that their memory does not add up).
    """
    note = progress or (lambda _message: None)
    n_draws = int(draws if draws is not None else program.forecast.draws)
    note("fitting the customer model")
    prep = prepare(program, ledger, seed, summary, stage)
    if isinstance(prep, str):
        return _skip(program, seed, n_draws, prep)
    base, block = prep
    give_back_memory()  # the fit's per-customer arrays are gone: the simulation needs little of their room
    replay = replay or default_replay()
    note(f"simulating {n_draws} draws of {len(base.cust):,} customers for "
         f"{len(program.schemes)} schemes, with their tornado and break-even lifts")
    dr = make_draws(base, seed, n_draws)

    def be_draws() -> Draws:
        """The break-even's own draws (independent numbers): as many as it needs to be quotable."""
        if before_break_even is not None:
            before_break_even()
        return make_draws(base, seed, BREAK_EVEN_DRAWS, stream=1, expected_only=True)

    old = ~base.is_new  # the run block and the pilot count today's customers
    mean_w = float(np.sum(base.weight[old]) / max(int(np.count_nonzero(old)), 1))
    # The pilot plan needs only the main draws' first posterior rates: with more than one
    # thread it is worked out on a thread of its own (its compiled moments release the GIL)
    # beside the schemes' simulation, which leaves a core idle now and then, instead of alone
    # at the end; the same figures either way.
    plan_pilots = functools.partial(plans, dr.lam[:MAX_DRAWS][:, old], dr.p[:MAX_DRAWS][:, old], base.weight[old],
                                    {s.id: float(s.assumptions.visit_lift.likely) for s in program.schemes},
                                    int(block["customers"]))
    with contextlib.ExitStack() as stack:
        pool = (stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="punchcard-pilot"))
                if workers() > 1 else None)
        pilot_job = pool.submit(plan_pilots) if pool is not None else None
        schemes = forecast_schemes(program, base, list(program.schemes), dr, replay,
                                   dr_be=be_draws if BREAK_EVEN_DRAWS > n_draws else None)
        note("planning the pilot")
        pilots = pilot_job.result() if pilot_job is not None else plan_pilots()
    return ForecastOutput(model=block, schemes=schemes,
                          run=_run_block(program, seed, n_draws, int(np.count_nonzero(old)), mean_w, None),
                          skipped_reason=None, pilots=pilots)
