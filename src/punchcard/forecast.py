"""Stage 4b: Monte Carlo forecast of each scheme against a no-scheme baseline (SPEC §5).

Fits BG/NBD + Gamma-Gamma to the identified customers, simulates ``horizon_months`` of
their purchases with common random numbers in both worlds (``simulate.py``), replays the
scheme world through the scheme's own accounting (``schemes.replay``) and summarises the
per-draw net impact. docs/forecast.md explains every step and assumption.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.random import PCG64, Generator

from punchcard import model as M
from punchcard import simulate as S
from punchcard.ledger import Ledger, TxArrays
from punchcard.program import Assumptions, Program, Range, Scheme
from punchcard.i18n import Message, message_dict, nmessage

DAYS_PER_MONTH = 30.4375
RANGED = ("enrollment", "visit_lift", "spend_lift", "retention_lift", "redemption_rate",
          "goal_gradient", "endowed_progress")
BREAK_EVEN_BRACKET = (-0.5, 2.0)
BREAK_EVEN_GRID = (-0.5, 0.0, 2.0)  # lifts evaluated together before Brent refines
SCENARIO_DRAWS = 20  # draws behind each tornado bar and each break-even evaluation
MIN_CUSTOMERS = 20
MIN_REPEAT = 10
MIN_DAYS = 28
STRATA_EDGES = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
COUNTERS = {"visits": S.COUNTER_VISITS, "items": S.COUNTER_ITEMS, "spend": S.COUNTER_SPEND}


@dataclass(frozen=True)
class ForecastOutput:
    """The forecast blocks of results.json: model (with checks), per-scheme forecasts, run settings."""

    model: dict | None
    schemes: dict[str, dict] | None
    run: dict
    skipped_reason: str | None


@dataclass(frozen=True)
class Base:
    """The simulated customers (possibly a weighted sample) and everything the kernels read."""

    cust: np.ndarray  # ledger customer key
    weight: np.ndarray  # customers each simulated one stands for
    palive: np.ndarray
    x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray
    items: np.ndarray  # items per simulated purchase
    cust_hash: np.ndarray
    birthday_doy: np.ndarray
    par: np.ndarray  # r, alpha, a, b, p, q, v
    horizon_weeks: float
    start_day: int
    end_day: int
    data_start_day: int
    gross_margin: float
    horizon_months: int


@dataclass(frozen=True)
class DrawOutcome:
    """One draw of one scheme: weighted totals over the simulated customers."""

    revenue: float
    reward_cost: float
    liability: float
    members: float


# --- assumptions ------------------------------------------------------------------------


def triangular(rng: Range, u: float) -> float:
    """Return the triangular (low, likely, high) quantile at probability u."""
    lo, mode, hi = rng.low, rng.likely, rng.high
    if hi <= lo:
        return float(lo)
    fc = (mode - lo) / (hi - lo)
    if u < fc:
        return float(lo + np.sqrt(u * (hi - lo) * (mode - lo)))
    return float(hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode)))


def draw_values(a: Assumptions, u: np.ndarray) -> dict[str, float]:
    """Return one Monte Carlo draw of the ranged assumptions from uniforms u (one per RANGED name)."""
    return {name: triangular(getattr(a, name), float(u[j])) for j, name in enumerate(RANGED)}


def likely_values(a: Assumptions) -> dict[str, float]:
    """Return every ranged assumption at its likely value."""
    return {name: float(getattr(a, name).likely) for name in RANGED}


def join_probability(weight: np.ndarray, x: np.ndarray, share: float, bias: float) -> np.ndarray:
    """Return each customer's chance of joining so the weighted share is ``share``, tilted by (x+1)^bias."""
    share = min(max(share, 0.0), 1.0)
    if share >= 1.0 or bias == 0.0:
        return np.full(len(x), share)
    tilt = (x + 1.0) ** bias
    total = float(np.sum(weight))
    lo, hi = 0.0, 1.0 / max(float(np.min(tilt)), 1e-300)
    for _ in range(60):  # bisection on the scale c of min(1, c·tilt)
        c = 0.5 * (lo + hi)
        if float(np.sum(weight * np.minimum(1.0, c * tilt))) < share * total:
            lo = c
        else:
            hi = c
    return np.minimum(1.0, 0.5 * (lo + hi) * tilt)


# --- preparation ------------------------------------------------------------------------


def _skip(program: Program, seed: int, draws: int, reason: str) -> ForecastOutput:
    return ForecastOutput(model=None, schemes=None, run=_run_block(program, seed, draws, 0, 1.0, reason),
                          skipped_reason=reason)


def _run_block(program: Program, seed: int, draws: int, n_sim: int, weight: float, reason: str | None) -> dict:
    return {"draws": draws, "seed": seed, "horizon_months": program.business.horizon_months,
            "customers_simulated": n_sim, "sample_weight": weight, "skipped_reason": reason,
            "skipped": message_dict(reason)}  # the reason as {"msgid", "params"}, for translation


def _hash_uniform(cust_hash: np.ndarray, seed: int) -> np.ndarray:
    """Return a fixed uniform per customer (for the stratified sample), keyed by hash and seed."""
    return S.join_uniforms(S.customer_base(np.uint64(seed & 0xFFFFFFFFFFFFFFFF), cust_hash))


def sample_customers(x: np.ndarray, value: np.ndarray, cust_hash: np.ndarray, max_n: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Return (indices, weights) of a stratified sample by repeat count, allocated ∝ √(n·value) per stratum."""
    n = len(x)
    if n <= max_n:
        return np.arange(n), np.ones(n)
    stratum = np.searchsorted(STRATA_EDGES, x, side="right") - 1
    sizes = np.bincount(stratum, minlength=len(STRATA_EDGES)).astype(np.float64)
    worth = np.sqrt(sizes * np.bincount(stratum, weights=value, minlength=len(STRATA_EDGES)) + 1e-12)
    alloc = np.zeros(len(sizes))
    left, open_ = float(max_n), sizes > 0
    while left > 0.5 and np.any(open_):  # water-filling over at most six strata
        share = np.where(open_, worth, 0.0)
        want = alloc + left * share / share.sum()
        capped = want >= sizes
        alloc = np.where(open_ & capped, sizes, np.where(open_, want, alloc))
        left = max_n - float(alloc.sum())
        open_ = open_ & ~capped
        if not np.any(capped & (share > 0)):
            break
    k = np.maximum(np.minimum(np.floor(alloc), sizes), np.minimum(sizes, 1.0)).astype(np.int64)
    u = _hash_uniform(cust_hash, seed)
    order = np.lexsort((np.arange(n), u, stratum))
    rank = np.empty(n, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes.astype(np.int64))[:-1]))
    rank[order] = np.arange(n) - starts[stratum[order]]
    keep = np.sort(np.flatnonzero(rank < k[stratum]))
    weight = (sizes / np.maximum(k, 1))[stratum[keep]]
    return keep, weight


def _model_block(fit: M.BGNBDFit, gg: M.GammaGammaFit, rfm: M.RFM, horizon_weeks: float,
                 exp_tx: np.ndarray, exp_rev: np.ndarray, checks: dict | None) -> dict:
    return {
        "bgnbd": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "loglik": fit.loglik},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v, "loglik": gg.loglik},
        "horizon_weeks": horizon_weeks,
        "expected_transactions": float(np.sum(exp_tx)),
        "expected_revenue": float(np.sum(exp_rev)),
        "converged": bool(fit.converged and gg.converged),
        "customers": int(len(rfm.x)),
        "repeat_customers": int(np.sum(rfm.x > 0)),
        "checks": checks,
    }


def prepare(program: Program, ledger: Ledger, seed: int) -> tuple[Base, dict] | str:
    """Return the simulation inputs and the model block, or a plain sentence saying why not."""
    days = int(ledger.end_day) - int(ledger.start_day) + 1
    if days < MIN_DAYS:
        return nmessage("The sales history covers %(n)s day; the forecast needs at least %(min_days)s.",
                        "The sales history covers %(n)s days; the forecast needs at least %(min_days)s.",
                        {"n": days, "min_days": MIN_DAYS},
                        english=f"The sales history covers {days} days; the forecast needs at least {MIN_DAYS}.")
    rfm = M.rfm(ledger)
    n_rep = int(np.sum(rfm.x > 0))
    if len(rfm.x) < MIN_CUSTOMERS or n_rep < MIN_REPEAT:
        return Message("Only %(customers)s identified customers and %(repeat)s repeat customers; the forecast "
                       "needs at least %(min_customers)s customers and %(min_repeat)s who came back.",
                       {"customers": len(rfm.x), "repeat": n_rep, "min_customers": MIN_CUSTOMERS,
                        "min_repeat": MIN_REPEAT})
    fit = M.fit_bgnbd(rfm.x, rfm.t_x, rfm.T)
    if not fit.converged:
        return Message("The purchase model (BG/NBD) could not be fitted to these data (%(detail)s).",
                       {"detail": str(fit.message)})
    gg = M.fit_gamma_gamma(rfm.x, rfm.mean_value)
    if not gg.converged or gg.q <= 1.0:
        return Message("The spend model (Gamma-Gamma) could not be fitted to these data.")
    horizon_weeks = program.business.horizon_months * DAYS_PER_MONTH / 7.0
    exp_tx = M.expected_transactions(fit, horizon_weeks, rfm.x, rfm.t_x, rfm.T)
    exp_rev = exp_tx * M.expected_spend(gg, rfm.x, rfm.mean_value)
    if not (np.all(np.isfinite(exp_tx)) and np.all(np.isfinite(exp_rev))):
        return "The purchase model gives no finite forecast for these data."
    checks = M.holdout_checks(ledger)
    block = _model_block(fit, gg, rfm, horizon_weeks, exp_tx, exp_rev, checks)
    cust_hash = np.asarray(ledger.cust_hash, dtype=np.uint64)[rfm.cust]
    keep, weight = sample_customers(rfm.x, exp_rev, cust_hash, program.forecast.max_customers, seed)
    items = _items_per_occasion(ledger)[rfm.cust]
    bday = (np.full(ledger.n_customers, -1, dtype=np.int16) if ledger.birthday_doy is None
            else np.asarray(ledger.birthday_doy, dtype=np.int16))
    start = int(ledger.end_day) + 1
    base = Base(
        cust=rfm.cust[keep], weight=weight, palive=M.p_alive(fit, rfm.x, rfm.t_x, rfm.T)[keep],
        x=rfm.x[keep], T=rfm.T[keep], mean_value=rfm.mean_value[keep], items=items[keep],
        cust_hash=cust_hash[keep], birthday_doy=bday[rfm.cust[keep]],
        par=np.array([fit.r, fit.alpha, fit.a, fit.b, gg.p, gg.q, gg.v]),
        horizon_weeks=horizon_weeks, start_day=start,
        end_day=start + int(np.ceil(horizon_weeks * 7.0)) - 1, data_start_day=int(ledger.start_day),
        gross_margin=program.business.gross_margin, horizon_months=program.business.horizon_months,
    )
    return base, block


def _items_per_occasion(ledger: Ledger) -> np.ndarray:
    """Return each customer's mean items per purchase occasion (1 when unknown)."""
    occ = M.occasions(ledger)
    tx = ledger.tx.filter(ledger.tx["amount"] >= 0)
    items = np.bincount(tx["cust"].to_numpy(), weights=tx["items"].to_numpy(), minlength=ledger.n_customers)
    n = np.bincount(occ["cust"].to_numpy(), minlength=ledger.n_customers)
    return np.where(n > 0, items / np.maximum(n, 1), 1.0)


# --- one draw -----------------------------------------------------------------------------


def _world(scheme: Scheme, v: dict[str, float]) -> np.ndarray:
    """Return the kernel's world vector: multipliers and the stamp-card state machine settings."""
    a = scheme.assumptions
    stamp = scheme.kind == "stamp_card"
    p = scheme.params
    return np.array([
        1.0 + v["visit_lift"], 1.0 + v["spend_lift"], 1.0 - v["retention_lift"],
        min(max(v["goal_gradient"], 0.0), 0.95) if stamp else 0.0,
        1.0 if a.post_reward_reset else 0.0, 1.0 if stamp else 0.0,
        float(p.stamps) if stamp else 1.0, float(COUNTERS[p.counter]) if stamp else 0.0,
        float(p.min_purchase) if stamp else 0.0, float(p.head_start) if stamp else 0.0,
        max(v["endowed_progress"], 0.0) if stamp else 0.0,
    ])


def _anchor(base: Base, scheme: Scheme) -> int:
    # only today's customers are simulated, none of them new: anchor welcome newness at the horizon end
    return base.end_day if scheme.kind == "welcome_offer" else base.data_start_day


def _context(ctx_type: Any, base: Base, scheme: Scheme, idx: np.ndarray, redemption: float) -> Any:
    anchor = _anchor(base, scheme)
    fields = dict(
        start_day=base.start_day, end_day=base.end_day, gross_margin=base.gross_margin,
        redemption_rate=redemption, member=np.ones(len(idx), dtype=bool),
        join_day=np.full(len(idx), base.start_day, dtype=np.int32),
        birthday_doy=base.birthday_doy[idx], cust_hash=base.cust_hash[idx],
        data_start_day=anchor,
    )
    names = {f.name for f in dataclasses.fields(ctx_type)}
    return ctx_type(**{k: v for k, v in fields.items() if k in names})


@dataclass(frozen=True)
class _LocalContext:
    start_day: int
    end_day: int
    gross_margin: float
    redemption_rate: float
    member: np.ndarray
    join_day: np.ndarray
    birthday_doy: np.ndarray
    cust_hash: np.ndarray
    data_start_day: int


def fixed_cost(program: Program, members: Any) -> Any:
    """Return setup + monthly × horizon + per_member_year × members × horizon years."""
    fc, h = program.business.fixed_costs, program.business.horizon_months
    return fc.setup + fc.monthly * h + fc.per_member_year * members * h / 12.0


def net_impact(program: Program, out: DrawOutcome, base_total: float) -> float:
    """Return incremental margin − reward cost − fixed cost for one draw."""
    gm = program.business.gross_margin
    return gm * (out.revenue - base_total) - out.reward_cost - fixed_cost(program, out.members)


# --- batched evaluation ------------------------------------------------------------------
#
# Every figure is a weighted sum over simulated customers of one (draw, assumption values)
# entry. Rather than one simulation and one replay per entry, all entries of a job — and
# all jobs that simulate the very same members in the very same world (schemes sharing
# their assumptions, tornado ends that differ only in the redemption rate) — go through
# one compiled simulation and one replay per scheme, with every entry's members as
# distinct customers; per-entry sums come back with np.bincount. Each member's numbers
# depend only on its own random-number key, so this gives what one call per draw gives.
# The replay runs at redemption rate 1: every kind's cost and liability are the expected
# value × the redemption rate (accruals do not depend on it), so each entry scales them
# by its own rate.

MAX_BATCH_MEMBERS = 80_000  # members simulated in one call (bounds memory, keeps the replay in cache)
MAX_BATCH_TX = 400_000  # transactions replayed in one call (measured: larger batches replay slower)
PIPELINE_DEPTH = 2  # simulated batches waiting for their replay


@dataclass(frozen=True)
class Job:
    """One scheme at a list of entries: the draw whose customer randomness it uses, and its assumption values."""

    scheme: Scheme
    draw: np.ndarray  # int64 per entry: index into Draws
    values: list[dict[str, float]]


@dataclass(frozen=True)
class Outcomes:
    """Weighted totals over the simulated customers, one per entry of a job."""

    revenue: np.ndarray
    reward_cost: np.ndarray
    liability: np.ndarray
    members: np.ndarray

    def net(self, program: Program, base_total: np.ndarray) -> np.ndarray:
        """Return each entry's incremental margin − reward cost − fixed cost."""
        gm = program.business.gross_margin
        return gm * (self.revenue - base_total) - self.reward_cost - fixed_cost(program, self.members)


def _sim_key(job: Job) -> bytes:
    """Return what decides a job's simulated purchases: draws, worlds and bias (not enrollment or redemption)."""
    bias = job.scheme.assumptions.frequency_bias
    spec = np.array([np.append(_world(job.scheme, v), bias) for v in job.values])
    return np.asarray(job.draw, dtype=np.int64).tobytes() + spec.tobytes()


class _Group:
    """Jobs that share their simulated purchases (same draws, worlds and frequency bias).

    Their enrollment may differ: a customer's chance of joining grows with the enrollment
    share and is compared with the same uniform, so the members at a lower share are a
    subset of those at a higher one. Each entry simulates and replays the members at the
    highest share among the jobs once (and each scheme once); every job sums over its own
    members.
    """

    def __init__(self, base: Base, dr: Draws, jobs: list[Job]) -> None:
        first = jobs[0]
        self.jobs = jobs
        self.draw = np.asarray(first.draw, dtype=np.int64)
        n_e = len(self.draw)
        self.worlds = np.array([_world(first.scheme, v) for v in first.values]).reshape(n_e, -1)
        bias = first.scheme.assumptions.frequency_bias
        self.share = np.array([[v["enrollment"] for v in job.values] for job in jobs]).reshape(len(jobs), n_e)
        self.top = self.share.max(axis=0)
        self.pis = {float(s): join_probability(base.weight, base.x, float(s), bias) for s in np.unique(self.share)}
        self.rows = [np.flatnonzero(dr.join_u[self.draw[e]] < self.pis[float(self.top[e])]) for e in range(n_e)]
        self.schemes: dict[int, Scheme] = {id(j.scheme): j.scheme for j in jobs}
        self.acc = {k: np.zeros((len(jobs), n_e)) for k in ("base", "sim", "members", "cost", "accrued", "liability")}

    def chunks(self, tx_per_member: list[float]):
        """Yield (e0, e1) runs of entries bounded in members and (estimated) transactions."""
        n_e, e0 = len(self.draw), 0
        while e0 < n_e:
            cap = max(1.0, min(MAX_BATCH_MEMBERS, MAX_BATCH_TX / max(tx_per_member[0], 1e-9)))
            e1, m = e0 + 1, len(self.rows[e0])
            while e1 < n_e and m + len(self.rows[e1]) <= cap:
                m += len(self.rows[e1])
                e1 += 1
            yield e0, e1
            e0 = e1

    def members(self, e0: int, e1: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the simulated members of entries e0..e1: (customer index, entry index from e0)."""
        rows = self.rows[e0:e1]
        lens = np.array([len(r) for r in rows], dtype=np.int64)
        mi = np.concatenate(rows) if lens.sum() else np.zeros(0, dtype=np.int64)
        return mi, np.repeat(np.arange(e1 - e0, dtype=np.int64), lens)

    def simulate(self, base: Base, dr: Draws, e0: int, e1: int, tx_per_member: list[float]) -> dict | None:
        """Return the scheme-world purchases of entries e0..e1's members (None when there are none)."""
        mi, mb = self.members(e0, e1)
        if len(mi) == 0:
            return None
        dm = self.draw[e0:e1][mb]
        c, day, amt, items, rev_m, off = S.members_batch(
            dr.keys[dm, mi], base.palive[mi], base.x[mi], base.T[mi], base.mean_value[mi], base.items[mi],
            base.par, base.horizon_weeks, self.worlds[e0:e1], mb, base.start_day,
            int(len(mi) * tx_per_member[0] * 1.25) + 64,
        )
        tx_per_member[0] = max(len(c) / len(mi), 0.1)
        # only members who bought are replayed; the others get their scheme's no-purchase outcome
        cnt = np.diff(off)
        active = cnt > 0
        n_act = int(np.count_nonzero(active))
        c_act = np.repeat(np.arange(n_act, dtype=np.int32), cnt[active]) if n_act < len(mi) else c
        return {"mi": mi, "mb": mb, "dm": dm, "rev": rev_m, "active": active, "mi_act": mi[active],
                "mb_act": mb[active], "tx": TxArrays(cust=c_act, day=day, amount=amt, items=items, n_customers=n_act)}

    def account(self, base: Base, dr: Draws, e0: int, e1: int, sim: dict | None, replay: Callable,
                ctx_type: Any) -> None:
        """Replay entries e0..e1's purchases through every scheme of the group and add up each job's entries."""
        if sim is None:
            return  # nobody joined: revenue stays the baseline's, no cost
        mi, mb, dm, active, mb_act, tx = sim["mi"], sim["mb"], sim["dm"], sim["active"], sim["mb_act"], sim["tx"]
        n_c, sl = e1 - e0, slice(e0, e1)
        w = base.weight[mi]
        # each job's weight on each simulated member: w where it joins at the job's share, else 0;
        # jobs with the same shares share their sums
        masks: dict[bytes, int] = {}
        mask_of, jw = [], []
        for j in range(len(self.jobs)):
            key = self.share[j, sl].tobytes()
            if key not in masks:
                masks[key] = len(jw)
                if np.array_equal(self.share[j, sl], self.top[sl]):
                    jw.append(w)
                else:
                    thr = np.concatenate([self.pis[float(self.share[j, e])][self.rows[e]] for e in range(e0, e1)])
                    jw.append(np.where(dr.join_u[dm, mi] < thr, w, 0.0))
            mask_of.append(masks[key])
        brev = dr.base_rev[dm, mi]

        def per_entry(index: np.ndarray, weights: np.ndarray) -> np.ndarray:
            return np.bincount(index, weights=weights, minlength=n_c)

        sums = [(per_entry(mb, ww * brev), per_entry(mb, ww * sim["rev"]), per_entry(mb, ww)) for ww in jw]
        jw_act = [ww[active] for ww in jw]
        acc = self.acc
        for j in range(len(self.jobs)):
            acc["base"][j, sl], acc["sim"][j, sl], acc["members"][j, sl] = sums[mask_of[j]]
        n_act = tx.n_customers
        ctxs: dict[int, Any] = {}
        for key, scheme in self.schemes.items():
            z_acc, z_liab = _idle_outcome(base, dr, scheme, replay, ctx_type)
            if n_act:
                anchor = _anchor(base, scheme)
                if anchor not in ctxs:
                    ctxs[anchor] = _context(ctx_type, base, scheme, sim["mi_act"], 1.0)
                rep = replay(scheme, tx, ctxs[anchor])
                cost_a = np.bincount(tx.cust, weights=np.asarray(rep.cost, dtype=np.float64), minlength=n_act)
                liab_a = np.asarray(rep.liability, dtype=np.float64)
                acc_a = None if z_acc is None else np.asarray(rep.accrued, dtype=np.float64)
            done: dict[int, tuple] = {}
            for j, job in enumerate(self.jobs):
                if id(job.scheme) != key:
                    continue
                k = mask_of[j]
                if k not in done:
                    ww, wa = jw[k], jw_act[k]
                    cost_e = per_entry(mb_act, wa * cost_a) if n_act else np.zeros(n_c)
                    liab_e = per_entry(mb_act, wa * liab_a) if n_act else np.zeros(n_c)
                    acc_e = None
                    if z_acc is not None:
                        acc_e = per_entry(mb_act, wa * acc_a) if n_act else np.zeros(n_c)
                        if z_acc.any():  # members who bought nothing still accrue
                            acc_e += per_entry(mb, np.where(active, 0.0, ww * z_acc[mi]))
                    if z_liab.any():  # and may hold rewards issued without a purchase
                        liab_e += per_entry(mb, np.where(active, 0.0, ww * z_liab[mi]))
                    done[k] = (cost_e, acc_e, liab_e)
                cost_e, acc_e, liab_e = done[k]
                acc["cost"][j, sl] = cost_e
                if acc_e is not None:
                    acc["accrued"][j, sl] = acc_e
                acc["liability"][j, sl] = liab_e

    def outcomes(self, dr: Draws) -> list[Outcomes]:
        base_total = dr.base_total[self.draw]
        acc, out = self.acc, []
        for j, job in enumerate(self.jobs):
            r = np.array([v["redemption_rate"] for v in job.values], dtype=np.float64)
            out.append(Outcomes(revenue=base_total - acc["base"][j] + acc["sim"][j],
                                reward_cost=r * acc["cost"][j] + acc["accrued"][j],
                                liability=r * acc["liability"][j], members=acc["members"][j]))
        return out


def _idle_outcome(base: Base, dr: Draws, scheme: Scheme, replay: Callable, ctx_type: Any
                  ) -> tuple[np.ndarray | None, np.ndarray]:
    """Return every simulated customer's (accrued cost or None, liability) as a member who buys nothing.

    A replay is per customer, so a member without purchases ends the same in every draw and
    world (perks accrue, coupons and birthday rewards are issued and lapse): it is replayed
    once per scheme, at redemption rate 1, and reused. Without purchases there is no
    reward cost (costs are incurred at a purchase).
    """
    key = (id(scheme), id(replay))
    if key not in dr.idle:
        n = len(base.cust)
        none_i, none_f = np.zeros(0, dtype=np.int32), np.zeros(0)
        tx = TxArrays(cust=none_i, day=none_i, amount=none_f, items=none_f, n_customers=n)
        rep = replay(scheme, tx, _context(ctx_type, base, scheme, np.arange(n), 1.0))
        accrued = getattr(rep, "accrued", None)
        dr.idle[key] = (None if accrued is None else np.asarray(accrued, dtype=np.float64),
                        np.asarray(rep.liability, dtype=np.float64))
    return dr.idle[key]


def evaluate(base: Base, dr: Draws, jobs: list[Job], replay: Callable, ctx_type: Any) -> list[Outcomes]:
    """Return every job's outcomes, simulating once per distinct (draws, world) and replaying once per scheme.

    The simulation (compiled, without the GIL, on every core) runs in a helper thread a few
    batches ahead of the replays, so the replays, which hold the GIL, overlap it. Each
    batch's numbers depend only on its members' random-number keys, so the result does
    not depend on the timing.
    """
    keyed: dict[bytes, list[int]] = {}
    for j, job in enumerate(jobs):
        keyed.setdefault(_sim_key(job), []).append(j)
    groups = [(_Group(base, dr, [jobs[j] for j in idx]), idx) for idx in keyed.values()]
    q: queue.Queue = queue.Queue(maxsize=PIPELINE_DEPTH)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            tpm = [8.0]  # transactions per member, learnt as batches come back
            for g, (group, _) in enumerate(groups):
                for e0, e1 in group.chunks(tpm):
                    if not put((g, e0, e1, group.simulate(base, dr, e0, e1, tpm))):
                        return
            put(None)
        except BaseException as exc:  # handed to the caller's thread
            put(exc)

    worker = threading.Thread(target=produce, name="punchcard-simulate", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            g, e0, e1, sim = item
            groups[g][0].account(base, dr, e0, e1, sim, replay, ctx_type)
    finally:
        stop.set()
        worker.join()
    out: list[Outcomes | None] = [None] * len(jobs)
    for group, idx in groups:
        for j, res in zip(idx, group.outcomes(dr)):
            out[j] = res
    return out  # type: ignore[return-value]


def scheme_draw(base: Base, scheme: Scheme, v: dict[str, float], keys: np.ndarray, join_u: np.ndarray,
                base_rev: np.ndarray, replay: Callable, ctx_type: Any) -> DrawOutcome:
    """Return one draw of the scheme world: revenue, reward cost and liability (weighted)."""
    one = Draws(keys=np.asarray(keys)[None, :], join_u=np.asarray(join_u)[None, :],
                base_rev=np.asarray(base_rev)[None, :],
                base_total=np.array([float(np.sum(base.weight * base_rev))]), u=np.zeros((1, len(RANGED))))
    o = evaluate(base, one, [Job(scheme, np.zeros(1, dtype=np.int64), [v])], replay, ctx_type)[0]
    return DrawOutcome(float(o.revenue[0]), float(o.reward_cost[0]), float(o.liability[0]), float(o.members[0]))


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Per-draw random inputs shared by every scheme: keys, enrollment uniforms, baseline revenue."""

    keys: np.ndarray  # (draws, customers) random-number base keys
    join_u: np.ndarray  # (draws, customers) enrollment uniforms
    base_rev: np.ndarray  # (draws, customers) baseline revenue
    base_total: np.ndarray  # (draws,) weighted baseline revenue
    u: np.ndarray  # (draws, len(RANGED)) uniforms for the ranged assumptions
    idle: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)  # see _idle_outcome


def make_draws(base: Base, seed: int, draws: int, *, stream: int = 0) -> Draws:
    """Return the per-draw random inputs and the baseline world (stream ≠ 0 gives independent numbers)."""
    rng = Generator(PCG64([seed, stream]) if stream else PCG64(seed))
    dkeys = rng.integers(0, np.iinfo(np.uint64).max, size=draws, dtype=np.uint64, endpoint=True)
    u = rng.random((draws, len(RANGED)))
    keys, join_u, base_rev = S.draws_baseline(dkeys, base.cust_hash, base.palive, base.x, base.T,
                                              base.mean_value, base.par, base.horizon_weeks)
    totals = np.array([float(np.sum(base.weight * base_rev[d])) for d in range(draws)])
    return Draws(keys, join_u, base_rev, totals, u)


def _mean(values: np.ndarray) -> float:
    tot = 0.0
    for x in values:
        tot += float(x)
    return tot / len(values)


def expected_net(program: Program, base: Base, scheme: Scheme, dr: Draws, values: Callable[[int], dict],
                 n: int, replay: Callable, ctx_type: Any) -> float:
    """Return the mean net impact over the first n draws with per-draw assumption values."""
    job = Job(scheme, np.arange(n, dtype=np.int64), [values(d) for d in range(n)])
    return _mean(evaluate(base, dr, [job], replay, ctx_type)[0].net(program, dr.base_total[:n]))


def _lift_job(scheme: Scheme, dr: Draws, n: int, lift: float) -> Job:
    """Return the break-even job: the first n draws' assumption values with the visit lift set to ``lift``."""
    vals = []
    for d in range(n):
        v = draw_values(scheme.assumptions, dr.u[d])
        v["visit_lift"] = lift
        vals.append(v)
    return Job(scheme, np.arange(n, dtype=np.int64), vals)


def _tornado_jobs(scheme: Scheme, n: int) -> list[tuple[str, str, Job]]:
    """Return (assumption, end, job) for each ranged assumption at its low and at its high."""
    a = scheme.assumptions
    out = []
    for name in RANGED:
        rng = getattr(a, name)
        if rng.is_fixed:
            continue
        for end in ("low", "high"):
            v = likely_values(a)
            v[name] = getattr(rng, end)
            out.append((name, end, Job(scheme, np.arange(n, dtype=np.int64), [v] * n)))
    return out


def _brent(xa: float, xb: float, fa: float, fb: float, xtol: float, rtol: float, maxiter: int):
    """Brent's method as a generator: yields the next lift to evaluate, is sent f there, returns the root.

    The steps are those of scipy.optimize.brentq (its C code, Brent 1973), written so that
    the searches of several schemes can advance together, one batched evaluation per step.
    """
    xpre, xcur, fpre, fcur = xa, xb, fa, fb
    xblk = fblk = spre = scur = 0.0
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and np.signbit(fpre) != np.signbit(fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre, scur = scur, stry  # good short step
            else:
                spre = scur = sbis  # bisect
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = yield xcur
    return xcur


def _break_even_all(program: Program, base: Base, schemes: list[Scheme], dr: Draws, n: int, replay: Callable,
                    ctx_type: Any, known: list[dict[float, float]]) -> list[float | None]:
    """Return each scheme's break-even visit lift, from its expected net impact ``known`` at the grid lifts.

    None where the expected net impact has the same sign at both ends of BREAK_EVEN_BRACKET.
    Otherwise the first grid step that changes sign brackets the root, and Brent's method
    solves it to 0.0005; every step evaluates all the schemes' next lifts in one batch.
    """
    lo, hi = BREAK_EVEN_BRACKET
    roots: list[float | None] = [None] * len(schemes)
    searches = {}
    for k, kn in enumerate(known):
        f_lo, f_hi = kn[lo], kn[hi]
        if f_lo == 0.0:
            roots[k] = lo
            continue
        if f_hi == 0.0:
            roots[k] = hi
            continue
        if np.sign(f_lo) == np.sign(f_hi):
            continue
        grid = sorted(x for x in kn if lo <= x <= hi)
        a, b = lo, hi
        for x0, x1 in zip(grid, grid[1:]):  # narrow the bracket to the first grid step that changes sign
            if np.sign(kn[x0]) != np.sign(kn[x1]):
                a, b = x0, x1
                break
        searches[k] = _brent(a, b, kn[a], kn[b], 5e-4, 1e-6, 100)
    asked = {}
    for k, gen in searches.items():
        try:
            asked[k] = next(gen)
        except StopIteration as done:
            roots[k] = float(done.value)
    while asked:
        jobs = [_lift_job(schemes[k], dr, n, x) for k, x in asked.items()]
        outs = evaluate(base, dr, jobs, replay, ctx_type)
        nxt = {}
        for (k, x), o in zip(asked.items(), outs):
            f = _mean(o.net(program, dr.base_total[:n]))
            known[k][x] = f
            try:
                nxt[k] = searches[k].send(f)
            except StopIteration as done:
                roots[k] = float(done.value)
        asked = nxt
    return roots


def break_even(program: Program, base: Base, scheme: Scheme, dr: Draws, n: int, replay: Callable,
               ctx_type: Any) -> float | None:
    """Return the visit lift in [−0.5, 2] at which expected net impact is zero (Brent, CRN), or None."""
    jobs = [_lift_job(scheme, dr, n, x) for x in BREAK_EVEN_GRID]
    outs = evaluate(base, dr, jobs, replay, ctx_type)
    known = {x: _mean(o.net(program, dr.base_total[:n])) for x, o in zip(BREAK_EVEN_GRID, outs)}
    return _break_even_all(program, base, [scheme], dr, n, replay, ctx_type, [known])[0]


def _tornado_rows(scheme: Scheme, at: dict[tuple[str, str], float]) -> list[dict]:
    a = scheme.assumptions
    rows = []
    for name in RANGED:
        rng = getattr(a, name)
        if rng.is_fixed:
            continue
        rows.append({"assumption": name, "low": rng.low, "high": rng.high,
                     "at_low": at[(name, "low")], "at_high": at[(name, "high")]})
    rows.sort(key=lambda r: (-abs(r["at_high"] - r["at_low"]), r["assumption"]))
    return rows


def tornado(program: Program, base: Base, scheme: Scheme, dr: Draws, n: int, replay: Callable,
            ctx_type: Any) -> list[dict]:
    """Return net impact with each ranged assumption at its low and high, others at likely."""
    jobs = _tornado_jobs(scheme, n)
    outs = evaluate(base, dr, [j for _, _, j in jobs], replay, ctx_type)
    at = {(name, end): _mean(o.net(program, dr.base_total[:n])) for (name, end, _), o in zip(jobs, outs)}
    return _tornado_rows(scheme, at)


def _histogram(values: np.ndarray, bins: int = 20) -> list[dict]:
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        return [{"x0": lo, "x1": hi, "count": int(len(values))}]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return [{"x0": float(edges[i]), "x1": float(edges[i + 1]), "count": int(counts[i])} for i in range(bins)]


def _summary(program: Program, dr: Draws, o: Outcomes) -> dict:
    """Return the per-draw summary of one scheme's main run (everything but break-even and tornado)."""
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
        "histogram": _histogram(net),
        "tornado": [],
    }


def forecast_schemes(program: Program, base: Base, schemes: list[Scheme], dr: Draws, replay: Callable,
                     ctx_type: Any, *, scenarios: bool = True) -> dict[str, dict]:
    """Return the ``schemes[].forecast`` block of every scheme, evaluating all of them together.

    The main draws, the tornado ends and the break-even grid of every scheme go through one
    batched evaluation (schemes that share their assumptions share the simulation); only
    the break-even refinement (Brent's method) evaluates one lift at a time.
    """
    draws = len(dr.base_total)
    n_sc = min(draws, SCENARIO_DRAWS)
    jobs: list[Job] = []
    plan: list[tuple[Scheme, int, list[tuple[str, str, int]], list[int]]] = []
    for s in schemes:
        main = len(jobs)
        jobs.append(Job(s, np.arange(draws, dtype=np.int64),
                        [draw_values(s.assumptions, dr.u[d]) for d in range(draws)]))
        torn, grid = [], []
        if scenarios:
            for name, end, job in _tornado_jobs(s, n_sc):
                torn.append((name, end, len(jobs)))
                jobs.append(job)
            for x in BREAK_EVEN_GRID:
                grid.append(len(jobs))
                jobs.append(_lift_job(s, dr, n_sc, x))
        plan.append((s, main, torn, grid))
    outs = evaluate(base, dr, jobs, replay, ctx_type)
    result = {s.id: _summary(program, dr, outs[main]) for s, main, _, _ in plan}
    if scenarios:
        known = [{x: _mean(outs[j].net(program, dr.base_total[:n_sc])) for x, j in zip(BREAK_EVEN_GRID, grid)}
                 for _, _, _, grid in plan]
        roots = _break_even_all(program, base, [p[0] for p in plan], dr, n_sc, replay, ctx_type, known)
        for (s, _, torn, _), root in zip(plan, roots):
            result[s.id]["break_even_visit_lift"] = root
            result[s.id]["tornado"] = _tornado_rows(s, {(name, end): _mean(outs[j].net(program, dr.base_total[:n_sc]))
                                                        for name, end, j in torn})
    return result


def scheme_forecast(program: Program, base: Base, scheme: Scheme, dr: Draws, replay: Callable,
                    ctx_type: Any, *, scenarios: bool = True) -> dict:
    """Return the ``schemes[].forecast`` block of one scheme."""
    return forecast_schemes(program, base, [scheme], dr, replay, ctx_type, scenarios=scenarios)[scheme.id]


def _default_replay() -> tuple[Callable, Any]:
    from punchcard import schemes

    return schemes.replay, getattr(schemes, "ReplayContext", _LocalContext)


def run(program: Program, ledger: Ledger, *, seed: int = 20270101, draws: int | None = None,
        replay: Callable | None = None,
        progress: Callable[[str], None] | None = None) -> ForecastOutput:
    """Return the fitted model, each scheme's simulated forecast and the run settings (or why it was skipped).

    ``progress(message)`` is told when each phase starts (fit, draws, break-even).
    """
    note = progress or (lambda _message: None)
    n_draws = int(draws if draws is not None else program.forecast.draws)
    note("fitting the customer model")
    prep = prepare(program, ledger, seed)
    if isinstance(prep, str):
        return _skip(program, seed, n_draws, prep)
    base, block = prep
    if replay is None:
        replay, ctx_type = _default_replay()
    else:
        ctx_type = _LocalContext
    note(f"simulating {n_draws} draws of {len(base.cust):,} customers for "
         f"{len(program.schemes)} schemes, with their tornado and break-even lifts")
    dr = make_draws(base, seed, n_draws)
    schemes = forecast_schemes(program, base, list(program.schemes), dr, replay, ctx_type)
    mean_w = float(np.sum(base.weight) / len(base.weight))
    return ForecastOutput(model=block, schemes=schemes,
                          run=_run_block(program, seed, n_draws, int(len(base.cust)), mean_w, None),
                          skipped_reason=None)
