"""Batched evaluation of the forecast: jobs, the groups that share a simulation, ``evaluate``.

The compiled simulation runs in a helper thread a few batches ahead of the scheme replays.
"""

from __future__ import annotations

import queue
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numba import njit

from punchcard.forecast import simulate as S
from punchcard.forecast.draws import RANGED, Draws, join_probability
from punchcard.ingest import TxArrays
from punchcard.program import Program, Scheme, kinds
from punchcard.runtime import workers
from punchcard.forecast.worlds import (
    N_GROUPS, N_SEGMENTS, NEW, SEGMENTS, Base, DrawOutcome, anchor_day, replay_context, world_vector, fixed_cost,
)

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
#: At most this many threads simulate batches side by side, each on its own
#: (``members_batch(parallel=False)``), where more than one core may work (with one, the
#: simulation runs on numba's threads): the serial parts of one batch (gathering its members,
#: laying out its rows) overlap another's compiled simulation. Measured on the 2-core machine:
#: the break-even of the 1M-row café sample in 4.4–4.8 s instead of 5.1–5.3 s (bench/PROFILE.md).
MAX_SIMULATORS = 4


@dataclass(frozen=True)
class Job:
    """One scheme at a list of entries: the draw whose customer randomness it uses, and its assumption values."""

    scheme: Scheme
    draw: np.ndarray  # int64 per entry: index into Draws
    values: list[dict[str, float]]
    # True: every customer takes part, weighted by their chance of joining (the expectation
    # over who joins, without its noise); False: members drawn with the join uniforms
    expected: bool = False


@dataclass(frozen=True)
class Outcomes:
    """Weighted totals over the simulated customers, one per entry of a job."""

    revenue: np.ndarray
    reward_cost: np.ndarray
    liability: np.ndarray
    members: np.ndarray
    # per entry and group (light, medium, heavy, new customers; worlds.N_GROUPS columns):
    # members' revenue without and with the scheme, members, reward cost
    seg_base: np.ndarray | None = None
    seg_sim: np.ndarray | None = None
    seg_members: np.ndarray | None = None
    seg_reward_cost: np.ndarray | None = None

    def net(self, program: Program, base_total: np.ndarray) -> np.ndarray:
        """Return each entry's incremental margin − reward cost − fixed cost."""
        gm = program.business.gross_margin
        return gm * (self.revenue - base_total) - self.reward_cost - fixed_cost(program, self.members)


# The world vector's stamp-card fields (goal gradient onwards) change the simulated
# purchases only through the goal gradient and the head start's endowed progress: without
# either, a stamp card of any size buys like any other scheme, so those fields are left out
# of the key and variants of a card (`punchcard tune`) share one simulation.
_STAMP_FIELDS = slice(3, None)
_NO_STAMP_EFFECT = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def _sim_world(world: np.ndarray) -> np.ndarray:
    """Return the part of a world vector that decides the simulated purchases."""
    gg, head_start, endow = world[3], world[9], world[10]
    if gg == 0.0 and (head_start == 0.0 or endow == 0.0):
        world = world.copy()
        world[_STAMP_FIELDS] = _NO_STAMP_EFFECT
    return world


class _Worlds:
    """Each job's world vectors and simulation spec, one (entry, group) per row, worked out once per
    distinct set of assumption values (a break-even or tornado job repeats one set on every draw)."""

    def __init__(self) -> None:
        self._memo: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def _of(self, scheme: Scheme, v: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        # the values' exact bits (0.0 and −0.0 apart) and names: equal keys give the same vectors
        key = (id(scheme), tuple(v), struct.pack(f"{len(v)}d", *v.values()))
        got = self._memo.get(key)
        if got is None:
            worlds = np.array([world_vector(scheme, v, g) for g in range(N_GROUPS)])
            bias = scheme.assumptions.frequency_bias
            spec = np.array([np.append(_sim_world(w), bias) for w in worlds])
            got = self._memo[key] = (worlds, spec)
        return got

    def worlds(self, job: Job) -> np.ndarray:
        """Return ``world_vector(job.scheme, v, g)`` for every entry's values v and group g, in that order."""
        return np.concatenate([self._of(job.scheme, v)[0] for v in job.values])

    def spec(self, job: Job) -> np.ndarray:
        """Return each (entry, group)'s ``_sim_world`` of its world vector with the frequency bias appended."""
        return np.concatenate([self._of(job.scheme, v)[1] for v in job.values])


def _sim_key(job: Job, worlds: _Worlds | None = None) -> bytes:
    """Return what decides a job's simulated purchases: draws, worlds, bias and whether only new
    customers can join (not enrollment, acquisition or redemption)."""
    spec = (worlds or _Worlds()).spec(job)
    new_only = b"N" if kinds()[job.scheme.kind].new_customers_only else b"A"
    return (np.asarray(job.draw, dtype=np.int64).tobytes() + spec.tobytes() + (b"E" if job.expected else b"S")
            + new_only)


def share_key(v: dict[str, float]) -> tuple[float, float, float, float]:
    """Return the enrollment of light, medium and heavy buyers and of new customers (the plain share)."""
    plain = float(v["enrollment"])
    return tuple(float(v.get(f"enrollment:{name}", plain)) for name in SEGMENTS) + (plain,)


class _Group:
    """Jobs that share their simulated purchases (same draws, worlds and frequency bias).

    Their enrollment may differ: a customer's chance of joining grows with the enrollment
    share and is compared with the same uniform, so the members at a lower share are a
    subset of those at a higher one. Each entry simulates and replays the members at the
    highest share among the jobs once (and each scheme once); every job sums over its own
    members.
    """

    def __init__(self, base: Base, dr: Draws, jobs: list[Job], worlds: _Worlds | None = None) -> None:
        first = jobs[0]
        self.jobs = jobs
        self.draw = np.asarray(first.draw, dtype=np.int64)
        n_e = len(self.draw)
        # one world per (entry, group): member i of entry e lives in world e × N_GROUPS + its group
        self.worlds = (worlds or _Worlds()).worlds(first).reshape(n_e * N_GROUPS, -1)
        self.bias = first.scheme.assumptions.frequency_bias
        self.new_only = kinds()[first.scheme.kind].new_customers_only
        # each (job, entry)'s enrollment per group, and its acquisition lift
        self.share = [[share_key(v) for v in job.values] for job in jobs]
        self.acq = np.array([[v.get("acquisition_lift", 0.0) for v in job.values] for job in jobs]
                            ).reshape(len(jobs), n_e)
        self.pi_of: dict[tuple, np.ndarray] = {}
        self.new, self.extra, self.seg = base.is_new, base.is_extra, base.group
        self.expected = first.expected
        # a customer joins with probability π, and is simulated with probability π × thin
        # (weight ÷ thin); with the same uniform, the members of every job are a subset of
        # those at the largest π among the jobs (expected jobs: everyone who can join takes
        # part, each thinned one with chance thin, weighted by π)
        self.rows = []
        brings = np.any(self.acq > 0.0, axis=0)
        tops: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # (the jobs' shares, brings): (top, top > 0)
        for e in range(n_e):
            key = (tuple(self.share[j][e] for j in range(len(jobs))), bool(brings[e]))
            if key not in tops:
                top = np.max([self.pi(base, self.share[j][e]) for j in range(len(jobs))], axis=0)
                if not brings[e]:
                    top = np.where(self.extra, 0.0, top)  # no scheme of this entry brings anyone
                tops[key] = (top, top > 0.0)
            top, can = tops[key]
            u = dr.join_u[self.draw[e]]
            self.rows.append(np.flatnonzero(can & (u < base.thin)) if self.expected
                             else np.flatnonzero(u < base.thin * top))
        self.schemes: dict[int, Scheme] = {id(j.scheme): j.scheme for j in jobs}
        self.acc = {k: np.zeros((len(jobs), n_e, N_GROUPS))
                    for k in ("base", "sim", "members", "cost", "gap", "accrued", "liability")}

    def pi(self, base: Base, share: tuple) -> np.ndarray:
        """Return every simulated customer's chance of joining at enrollment ``share`` (one per group).

        Today's customers join so that the weighted share of each segment is its enrollment,
        tilted by the frequency bias (one share for all: over all of them together, as
        before segments); new customers join at the plain (average) share, and the arrivals
        a scheme's acquisition lift brings all join. A kind for new customers only: today's
        customers cannot join.
        """
        if share not in self.pi_of:
            pi = np.zeros(len(base.x))
            old = ~self.new
            if not self.new_only:
                if share[0] == share[1] == share[2]:
                    pi[old] = join_probability(base.weight[old], base.x[old], share[0], self.bias)
                else:
                    for g in range(N_SEGMENTS):
                        sel = old & (self.seg == g)
                        pi[sel] = join_probability(base.weight[sel], base.x[sel], share[g], self.bias)
            pi[self.new] = min(max(share[NEW], 0.0), 1.0)
            pi[self.extra] = 1.0
            self.pi_of[share] = pi
        return self.pi_of[share]

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

    def simulate(self, base: Base, dr: Draws, e0: int, e1: int, tx_per_member: list[float],
                 parallel: bool = True) -> dict | None:
        """Return the scheme-world purchases of entries e0..e1's members (None when there are none);
        ``parallel``: on numba's threads (else on this thread alone: ``members_batch``)."""
        mi, mb = self.members(e0, e1)
        if len(mi) == 0:
            return None
        dm = self.draw[e0:e1][mb]
        # each member's draw of the keys, rates and arrival, and the baseline's spends kept by
        # the draws (read, not drawn again): one compiled pass without the GIL
        keys, lam, p, nu, t0, items, world_of, memo = S.gather(
            dm, mi, mb, N_GROUPS, self.seg, base.items, dr.keys, dr.lam, dr.p, dr.nu, dr.t0, dr.memo)
        _, day, amt, items, rev_m, off = S.members_batch(
            keys, lam, p, nu, items, base.par, base.horizon_weeks, self.worlds[e0 * N_GROUPS:e1 * N_GROUPS],
            world_of, base.start_day, int(len(mi) * tx_per_member[0] * 1.25) + 64, t0, memo, parallel,
            cust=False,
        )
        tx_per_member[0] = max(len(day) / len(mi), 0.1)
        # only members who bought are replayed; the others get their scheme's no-purchase outcome
        cnt = np.diff(off)
        active = cnt > 0
        n_act = int(np.count_nonzero(active))
        c_act = np.repeat(np.arange(n_act, dtype=np.int32), cnt[active])
        return {"mi": mi, "mb": mb, "dm": dm, "rev": rev_m, "active": active, "mi_act": mi[active],
                "tx": TxArrays(cust=c_act, day=day, amount=amt, items=items, n_customers=n_act)}

    def account(self, base: Base, dr: Draws, e0: int, e1: int, sim: dict | None, replay: Callable, pool: ThreadPoolExecutor | None = None) -> None:
        """Replay entries e0..e1's purchases through every scheme of the group and add up each job's entries.

        The schemes replay side by side on ``pool`` (their compiled scans release the GIL);
        the sums are then added up one scheme after another, in a fixed order.
        """
        if sim is None:
            return  # nobody joined: revenue stays the baseline's, no cost
        mi, mb, dm, active, tx = sim["mi"], sim["mb"], sim["dm"], sim["active"], sim["tx"]
        n_c, sl = e1 - e0, slice(e0, e1)
        w = base.weight[mi] / base.thin
        # each job's weight on each simulated member: w where it joins at the job's share, else 0
        # (expected jobs: w × the chance of joining); jobs with the same shares share their sums
        masks: dict[bytes, int] = {}
        mask_of, jw = [], []
        extra = self.extra[mi]
        for j in range(len(self.jobs)):
            shares = self.share[j][e0:e1]
            key = repr(shares).encode() + self.acq[j, sl].tobytes()
            if key not in masks:
                masks[key] = len(jw)
                if all(sh == shares[0] for sh in shares):  # one share for every entry (mi: their rows, in order)
                    pi = self.pi(base, shares[0])[mi]
                else:
                    pi = np.concatenate([self.pi(base, shares[e - e0])[self.rows[e]] for e in range(e0, e1)])
                ww = w * pi if self.expected else np.where(dr.join_u[dm, mi] < base.thin * pi, w, 0.0)
                if extra.any():  # the arrivals the scheme brings count as many times as its acquisition lift
                    ww = np.where(extra, ww * self.acq[j, sl][mb], ww)
                jw.append(ww)
            mask_of.append(masks[key])
        # each member's (entry, group) cell: taken once, summed into many times
        cell_all = mb * N_GROUPS + self.seg[mi]
        n_cells = n_c * N_GROUPS

        def per_entry(weights: np.ndarray) -> np.ndarray:
            """Return the members' weights summed per (entry, group): n_c × N_GROUPS."""
            return np.bincount(cell_all, weights=weights, minlength=n_cells).reshape(n_c, N_GROUPS)

        # per mask: Σ w × baseline revenue, Σ w × scheme-world revenue and Σ w, per (entry, group)
        sums = [tuple(v.reshape(n_c, N_GROUPS) for v in _member_sums(cell_all, n_cells, ww, dr.base_rev, dm, mi,
                                                                     sim["rev"])) for ww in jw]
        acc = self.acc
        for j in range(len(self.jobs)):
            acc["base"][j, sl], acc["sim"][j, sl], acc["members"][j, sl] = sums[mask_of[j]]
        n_act = tx.n_customers
        ctxs: dict[int, Any] = {}
        if n_act:
            for scheme in self.schemes.values():
                anchor = anchor_day(base, scheme)
                if anchor not in ctxs:
                    ctxs[anchor] = replay_context(base, scheme, sim["mi_act"], 1.0)

        def one(scheme: Scheme) -> tuple:
            """Return the scheme's per-member cost, liability and accruals over the batch (run on the pool)."""
            rep = replay(scheme, tx, ctxs[anchor_day(base, scheme)])
            accrued = getattr(rep, "accrued", None)
            cust_cost = getattr(rep, "cust_cost", None)
            if cust_cost is None:  # a replay with per-transaction costs only
                cust_cost = np.bincount(tx.cust, weights=np.asarray(rep.cost, dtype=np.float64), minlength=n_act)
            gap = getattr(rep, "item_gap", None)
            return (np.asarray(cust_cost, dtype=np.float64),
                    np.asarray(rep.liability, dtype=np.float64),
                    None if accrued is None else np.asarray(accrued, dtype=np.float64),
                    np.zeros(n_act) if gap is None else np.asarray(gap, dtype=np.float64))

        idle = {key: _idle_outcome(base, dr, scheme, replay) for key, scheme in self.schemes.items()}
        replays = dict(zip(self.schemes, _map(pool, one, list(self.schemes.values())))) if n_act else {}
        for key, scheme in self.schemes.items():
            z_acc, z_liab = idle[key]
            if n_act:
                cost_a, liab_a, acc_a, gap_a = replays[key]
                acc_a = None if z_acc is None else acc_a
            done: dict[int, tuple] = {}
            for j, job in enumerate(self.jobs):
                if id(job.scheme) != key:
                    continue
                k = mask_of[j]
                if k not in done:
                    ww = jw[k]
                    if n_act:  # the active members' Σ w × cost, gap, liability (and accrued)
                        with_acc = z_acc is not None
                        cost_e, gap_e, liab_e, acc_e = (v.reshape(n_c, N_GROUPS) for v in _active_sums(
                            cell_all, n_cells, ww, active, cost_a, gap_a, liab_a, acc_a if with_acc else cost_a,
                            with_acc))
                    else:
                        cost_e, gap_e, liab_e, acc_e = (np.zeros((n_c, N_GROUPS)) for _ in range(4))
                    if z_acc is None:
                        acc_e = None
                    elif z_acc.any():  # members who bought nothing still accrue
                        acc_e += per_entry(np.where(active, 0.0, ww * z_acc[mi]))
                    if z_liab.any():  # and may hold rewards issued without a purchase
                        liab_e += per_entry(np.where(active, 0.0, ww * z_liab[mi]))
                    done[k] = (cost_e, acc_e, liab_e, gap_e)
                cost_e, acc_e, liab_e, gap_e = done[k]
                acc["cost"][j, sl] = cost_e
                acc["gap"][j, sl] = gap_e
                if acc_e is not None:
                    acc["accrued"][j, sl] = acc_e
                acc["liability"][j, sl] = liab_e

    def outcomes(self, dr: Draws) -> list[Outcomes]:
        base_total = dr.base_total[self.draw]
        acc, out = self.acc, []
        for j, job in enumerate(self.jobs):
            r = np.array([v["redemption_rate"] for v in job.values], dtype=np.float64)[:, None]
            d = np.array([v.get("displacement", 0.0) for v in job.values], dtype=np.float64)[:, None]
            # a free item costs its cost of goods + displacement × (value − cost) (docs/method.md)
            cost = r * (acc["cost"][j] + d * acc["gap"][j]) + acc["accrued"][j]
            out.append(Outcomes(revenue=base_total - acc["base"][j].sum(axis=1) + acc["sim"][j].sum(axis=1),
                                reward_cost=cost.sum(axis=1),
                                liability=(r * acc["liability"][j]).sum(axis=1),
                                members=acc["members"][j].sum(axis=1),
                                seg_base=acc["base"][j], seg_sim=acc["sim"][j], seg_members=acc["members"][j],
                                seg_reward_cost=cost))
        return out


@njit(cache=True, nogil=True)
def _member_sums(cell: np.ndarray, n_cells: int, w: np.ndarray, base_rev: np.ndarray, dm: np.ndarray,
                 mi: np.ndarray, rev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return Σ w × baseline revenue (``base_rev[dm, mi]``), Σ w × scheme-world revenue and Σ w per cell.

    One pass for what three ``np.bincount(cell, weights=…)`` of the products give: each sum adds
    its terms in the members' order, as bincount does, so the bits are the same."""
    base = np.zeros(n_cells)
    sim = np.zeros(n_cells)
    members = np.zeros(n_cells)
    for i in range(cell.shape[0]):
        c = cell[i]
        wi = w[i]
        base[c] += wi * base_rev[dm[i], mi[i]]
        sim[c] += wi * rev[i]
        members[c] += wi
    return base, sim, members


@njit(cache=True, nogil=True)
def _active_sums(cell: np.ndarray, n_cells: int, w: np.ndarray, active: np.ndarray, cost: np.ndarray,
                 gap: np.ndarray, liab: np.ndarray, accrued: np.ndarray, with_accrued: bool) -> np.ndarray:
    """Return Σ w × cost, gap, liability and accrued (0 unless ``with_accrued``) per cell over the
    active members (4 × n_cells): the j-th active member's values are ``cost[j]`` … In the members'
    order, as ``np.bincount`` of the products over the active members adds them: the same bits."""
    out = np.zeros((4, n_cells))
    j = 0
    for i in range(cell.shape[0]):
        if active[i]:
            c = cell[i]
            wi = w[i]
            out[0, c] += wi * cost[j]
            out[1, c] += wi * gap[j]
            out[2, c] += wi * liab[j]
            if with_accrued:
                out[3, c] += wi * accrued[j]
            j += 1
    return out


def _map(pool: ThreadPoolExecutor | None, fn: Callable, items: list) -> list:
    """Return [fn(x) for x in items], on the pool when there is one and more than one item."""
    if pool is None or len(items) < 2:
        return [fn(x) for x in items]
    return list(pool.map(fn, items))


def _idle_outcome(base: Base, dr: Draws, scheme: Scheme, replay: Callable
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
        rep = replay(scheme, tx, replay_context(base, scheme, np.arange(n), 1.0))
        accrued = getattr(rep, "accrued", None)
        dr.idle[key] = (None if accrued is None else np.asarray(accrued, dtype=np.float64),
                        np.asarray(rep.liability, dtype=np.float64))
    return dr.idle[key]


def evaluate(base: Base, dr: Draws, jobs: list[Job], replay: Callable,
             progress: Callable[[int, int], None] | None = None) -> list[Outcomes]:
    """Return every job's outcomes, simulating once per distinct (draws, world) and replaying once per scheme.

    The simulation (compiled, without the GIL) runs in helper threads a few batches ahead of
    the replays, so the replays, which hold the GIL, overlap it: one thread on numba's threads
    where one core may work, else up to MAX_SIMULATORS threads, a batch each. Each batch's
    numbers depend only on its members' random-number keys, and each fills its own entries'
    slices of the sums, so the result depends neither on the timing nor on how the entries
    are cut into batches. ``progress(done, total)`` is told the member replays done
    after each batch (a progress bar).
    """
    keyed: dict[bytes, list[int]] = {}
    worlds = _Worlds()
    for j, job in enumerate(jobs):
        keyed.setdefault(_sim_key(job, worlds), []).append(j)
    groups = [(_Group(base, dr, [jobs[j] for j in idx], worlds), idx) for idx in keyed.values()]
    q: queue.Queue = queue.Queue(maxsize=max(PIPELINE_DEPTH, min(workers(), MAX_SIMULATORS)))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    n_prod = min(workers(), MAX_SIMULATORS)
    tpm = [8.0]  # transactions per member, learnt as batches come back (sizes batches, changes no figure)
    batches = ((g, e0, e1) for g, (group, _) in enumerate(groups) for e0, e1 in group.chunks(tpm))
    lock = threading.Lock()
    finished = [0]

    def produce() -> None:
        try:
            while not stop.is_set():
                with lock:
                    nxt = next(batches, None)
                if nxt is None:
                    break
                g, e0, e1 = nxt
                if not put((g, e0, e1, groups[g][0].simulate(base, dr, e0, e1, tpm, parallel=n_prod == 1))):
                    return
        except BaseException as exc:  # handed to the caller's thread
            put(exc)
        with lock:
            finished[0] += 1
            last = finished[0] == n_prod
        if last:
            put(None)

    producers = [threading.Thread(target=produce, name=f"punchcard-simulate-{k}", daemon=True)
                 for k in range(n_prod)]
    for worker in producers:
        worker.start()
    pool = ThreadPoolExecutor(workers(), thread_name_prefix="punchcard-replay") if workers() > 1 else None
    work = [np.cumsum([0] + [len(r) * len(group.schemes) for r in group.rows]) for group, _ in groups]
    total, done = int(sum(w[-1] for w in work)), 0
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            g, e0, e1, sim = item
            groups[g][0].account(base, dr, e0, e1, sim, replay, pool)
            if progress is not None:
                done += int(work[g][e1] - work[g][e0])
                progress(done, total)
    finally:
        stop.set()
        for worker in producers:
            worker.join()
        if pool is not None:
            pool.shutdown()
    out: list[Outcomes | None] = [None] * len(jobs)
    for group, idx in groups:
        for j, res in zip(idx, group.outcomes(dr)):
            out[j] = res
    return out  # type: ignore[return-value]


def scheme_draw(base: Base, scheme: Scheme, v: dict[str, float], keys: np.ndarray, join_u: np.ndarray,
                base_rev: np.ndarray, replay: Callable) -> DrawOutcome:
    """Return one draw of the scheme world: revenue, reward cost and liability (weighted)."""
    keys = np.asarray(keys, dtype=np.uint64)
    lam, p, nu = S.posterior(keys, base.palive, base.x, base.T, base.mean_value, base.par)
    n = len(keys)
    t0 = S.arrival_times(keys, np.full(n, -1.0) if base.arr_lo is None else base.arr_lo,
                         np.full(n, -1.0) if base.arr_hi is None else base.arr_hi)
    one = Draws(keys=keys[None, :], join_u=np.asarray(join_u)[None, :],
                base_rev=np.asarray(base_rev)[None, :],
                base_total=np.array([float(np.sum(base.weight * base_rev))]), u=np.zeros((1, len(RANGED))),
                lam=lam[None, :], p=p[None, :], nu=nu[None, :], t0=t0[None, :])
    o = evaluate(base, one, [Job(scheme, np.zeros(1, dtype=np.int64), [v])], replay)[0]
    return DrawOutcome(float(o.revenue[0]), float(o.reward_cost[0]), float(o.liability[0]), float(o.members[0]))
