"""Stage 3: replay every scheme of a program over the real history (everyone a member).

The figures follow SPEC §4 and fill exactly the ``schemes[].backtest`` keys of
docs/results.md: ``summary`` keys, ``monthly`` and ``distribution``.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from punchcard.ingest import Ledger, TxArrays, arrays
from punchcard.program import FixedCosts, Program, Scheme
from punchcard.schemes.registry import check_input
from punchcard.schemes.settle import Replay, ReplayContext, Tables
from punchcard.schemes.settle import offsets
from punchcard.ingest import ledger_shards, ordered_sum, shard_of, shard_sums
from punchcard.runtime import DAYS_PER_MONTH, workers
from punchcard.schemes.shard import plan_shards, replay_sharded

DAYS_PER_YEAR = 365.25
FIRST_REWARD_BINS = ((0, 30, "0–30"), (31, 90, "31–90"), (91, 180, "91–180"),
                     (181, 365, "181–365"), (366, None, "366+"))


@dataclass(frozen=True)
class BacktestResult:
    """One scheme's backtest: headline figures, a monthly series and distributions."""

    summary: dict
    monthly: list[dict]
    distribution: dict


@dataclass(frozen=True)
class Base:
    """What every scheme's backtest of one ledger shares, computed once."""

    tx: TxArrays
    off: np.ndarray  # int64, n_customers + 1: where each customer's rows start
    member: np.ndarray  # bool per cust: has at least one transaction
    join_day: np.ndarray  # int32 per cust: first transaction day (end_day + 1 if none)
    cust_revenue: np.ndarray  # float64 per cust, net of returns
    revenue: float  # identified + anonymous, net of returns
    rank: np.ndarray  # members ordered by revenue, highest first (ties: lower cust first)
    start_day: int
    end_day: int
    birthday_doy: np.ndarray
    cust_hash: np.ndarray
    join64: np.ndarray | None = None  # join_day as int64, as the scans take it (None: cast per replay)


def base(ledger: Ledger, shards: int | None = None) -> Base:
    """Return the arrays all schemes' backtests of `ledger` share.

    Revenue is summed per customer-hash shard and the shards added in order
    (``ingest.ordered_sum``; ``shards`` default: ``ingest.ledger_shards``).
    """
    tx = arrays(ledger)
    n = ledger.n_customers
    off = offsets(tx.cust, n)
    tx = dataclasses.replace(tx, off=off)  # every replay of this ledger reads it
    member = off[1:] > off[:-1]
    join = np.full(n, ledger.end_day + 1, dtype=np.int32)
    join[member] = tx.day[off[:-1][member]]
    cust_revenue = per_customer(off, tx.amount)
    k = shards if shards is not None else ledger_shards(ledger)
    cust_hash = np.asarray(ledger.cust_hash, dtype=np.uint64)
    by_shard = shard_sums(tx.amount, tx.cust, shard_of(cust_hash, k), k)
    anon = float(np.add.reduce(ledger.anon["amount"].to_numpy())) if ledger.anon.height else 0.0
    ids = np.flatnonzero(member)
    rank = ids[np.lexsort((ids, -cust_revenue[ids]))]
    bd = (np.full(n, -1, dtype=np.int16) if ledger.birthday_doy is None
          else np.asarray(ledger.birthday_doy, dtype=np.int16))
    return Base(tx=tx, off=off, member=member, join_day=join, cust_revenue=cust_revenue,
                revenue=float(ordered_sum(by_shard)) + anon, rank=rank,
                start_day=int(ledger.start_day), end_day=int(ledger.end_day), birthday_doy=bd,
                cust_hash=cust_hash, join64=join.astype(np.int64))


@njit(cache=True, nogil=True)
def per_customer(off, x):
    """Return the sum of x over each customer's rows, added in row order (as np.bincount does)."""
    out = np.zeros(off.shape[0] - 1)
    for c in range(off.shape[0] - 1):
        s = 0.0
        for i in range(off[c], off[c + 1]):
            s += x[i]
        out[c] = s
    return out


def context(b: Base, gross_margin: float, redemption_rate: float) -> ReplayContext:
    """Return the backtest's replay context: every customer a member from their first visit."""
    return ReplayContext(start_day=b.start_day, end_day=b.end_day, gross_margin=gross_margin,
                         redemption_rate=redemption_rate, member=b.member,
                         join_day=b.join_day if b.join64 is None else b.join64,
                         birthday_doy=b.birthday_doy, cust_hash=b.cust_hash,
                         data_start_day=b.start_day)


def run(program: Program, ledger: Ledger, *, shards: int | None = None,
        progress=None, threads: int | None = None) -> dict[str, BacktestResult]:
    """Return every scheme's backtest over `ledger`, keyed by scheme id.

    Each scheme is replayed over ``shards`` customer-hash shards (default:
    ``ingest.ledger_shards``, from the size of the sales files) and merged; per-customer
    figures equal a whole replay's, per-day series are the shards' added in shard order. The
    schemes replay side by side on ``workers()`` threads (the compiled
    scans run without the GIL); every scheme's figures come from its own replay alone, so
    they do not depend on the number of threads (``threads``, at most ``workers()``: the
    build gives 1 when the backtest runs beside the forecast). ``progress`` wraps the
    scheme loop (e.g. a progress bar).

    Memory: the column-sized arrays are made once per backtest, not per scheme. Each
    thread takes a ``settle.Tables`` from a small pool, replays into it (zeroed in place),
    takes the scheme's figures (``result``) and only then gives it back; what every
    scheme shares (offsets, int64 join days, the shard plan, the checks, the figures of
    the customers alone: ``common``) is worked out once.
    """
    k = shards if shards is not None else ledger_shards(ledger)
    b = base(ledger, k)
    fixed = program.business.fixed_costs
    check_input(b.tx, context(b, 0.0, 0.0))  # once: the shards and schemes replay unchecked
    plan = plan_shards(b.tx, context(b, 0.0, 0.0), k) if k > 1 else None  # split once
    shared = common(b, fixed)
    free: list[Tables] = []  # at most one per thread: a Tables is back here once its result is taken

    def one(scheme: Scheme) -> BacktestResult:
        try:
            tables = free.pop()
        except IndexError:
            tables = Tables()
        try:
            rate = scheme.assumptions.redemption_rate.mean
            rep = replay_sharded(scheme, b.tx, context(b, program.business.gross_margin, rate), k, plan,
                                 per_tx=False, check=False, tables=tables)
            return result(scheme, rep, b, fixed, rate, tables=tables, shared=shared)
        finally:
            free.append(tables)  # `rep` views it: read no more

    out: dict[str, BacktestResult] = {}
    n = min(workers() if threads is None else max(1, min(threads, workers())), len(program.schemes))
    if n <= 1:
        for scheme in (program.schemes if progress is None else progress(program.schemes)):
            out[scheme.id] = one(scheme)
        return out
    with ThreadPoolExecutor(n, thread_name_prefix="punchcard-backtest") as pool:
        futures = {scheme.id: pool.submit(one, scheme) for scheme in program.schemes}
        try:
            for scheme in (program.schemes if progress is None else progress(program.schemes)):
                out[scheme.id] = futures[scheme.id].result()
        finally:
            for f in futures.values():
                f.cancel()
    return out


def _fixed_daily(b: Base, fixed: FixedCosts) -> np.ndarray:
    """Return the fixed cost falling on each day of the window."""
    n_days = b.end_day - b.start_day + 1
    joins = b.join_day[b.member].astype(np.int64) - b.start_day
    members_on = np.cumsum(np.bincount(joins, minlength=n_days)[:n_days])
    daily = np.full(n_days, fixed.monthly / DAYS_PER_MONTH)
    daily += members_on * (fixed.per_member_year / DAYS_PER_YEAR)
    daily[0] += fixed.setup
    return daily


@dataclass(frozen=True)
class Common:
    """The figures of a backtest that depend on the customers and fixed costs alone, not the scheme."""

    members: int
    member_days: float  # days of membership in the window, all members together
    fixed_daily: np.ndarray  # ``_fixed_daily``
    nonmember: np.ndarray  # bool per cust
    decile: np.ndarray  # revenue decile (0..9) of each member in ``b.rank`` order
    decile_revenue: np.ndarray  # revenue per decile


def common(b: Base, fixed: FixedCosts) -> Common:
    """Return what every scheme's ``result`` over `b` shares (worked out once per backtest)."""
    member_days = float((b.end_day - b.join_day[b.member].astype(np.int64) + 1).sum())
    n = len(b.rank)
    decile = (np.arange(n) * 10) // max(n, 1)
    return Common(members=int(b.member.sum()), member_days=member_days, fixed_daily=_fixed_daily(b, fixed),
                  nonmember=~b.member, decile=decile,
                  decile_revenue=np.bincount(decile, weights=b.cust_revenue[b.rank], minlength=10))


def used_probability(uses: np.ndarray, redemption_rate: float, out: np.ndarray | None = None) -> np.ndarray:
    """Return each customer's chance of using at least one reward: 1 − (1 − r)^uses.

    ``uses`` counts the transactions at which a customer held a usable reward; each is
    used with probability r (the redemption rate), independently. ``out``: where to
    write it (else a new array).
    """
    r = min(max(float(redemption_rate), 0.0), 1.0)
    if out is None:
        out = np.empty(len(uses))
    if r >= 1.0:
        np.copyto(out, uses > 0)
        return out
    np.power(1.0 - r, uses, out=out)
    return np.subtract(1.0, out, out=out)


_BIN_LO = np.array([lo for lo, _, _ in FIRST_REWARD_BINS], dtype=np.int64)
_BIN_HI = np.array([2**62 if hi is None else hi for _, hi, _ in FIRST_REWARD_BINS], dtype=np.int64)


@njit(cache=True, nogil=True)
def _per_member(member, first_reward, first_use, join, rewards, used, bin_lo, bin_hi, wait, within):
    """One pass over the customers: the members issued a reward; those per reward count (0..9,
    10+); each user's days from joining to the first use (``wait``, in customer order) and
    their chance of use when that is within a year (``within``); the users per ``bin_lo``..
    ``bin_hi`` of days. Returns (issued, users, users within a year, counts, bins)."""
    issued = 0
    k = 0
    m = 0
    counts = np.zeros(11, dtype=np.int64)
    bins = np.zeros(bin_lo.shape[0], dtype=np.int64)
    for c in range(member.shape[0]):
        if not member[c]:
            continue
        if first_reward[c] >= 0:
            issued += 1
        x = np.int64(np.floor(rewards[c] + 1e-9))
        counts[min(x, 10)] += 1
        if first_use[c] >= 0:
            f = first_use[c] - np.int64(join[c])
            wait[k] = f
            k += 1
            if f <= 365:
                within[m] = used[c]
                m += 1
            for j in range(bin_lo.shape[0]):
                if bin_lo[j] <= f <= bin_hi[j]:
                    bins[j] += 1
    return issued, k, m, counts, bins


def result(scheme: Scheme, rep: Replay, b: Base, fixed: FixedCosts,
           redemption_rate: float | None = None, *, tables: Tables | None = None,
           shared: Common | None = None) -> BacktestResult:
    """Return the backtest figures of one replay (``redemption_rate``: the one it ran at, default the mean).

    ``tables``: memory for the per-customer working arrays (as ``settle.Tables``; a new one
    when None); ``shared``: ``common(b, fixed)``, when the caller worked it out once.
    """
    r = scheme.assumptions.redemption_rate.mean if redemption_rate is None else redemption_rate
    t = Tables() if tables is None else tables
    c = common(b, fixed) if shared is None else shared
    n = len(b.member)
    members = c.members
    n_days = b.end_day - b.start_day + 1
    fixed_cost = (fixed.setup + fixed.monthly * n_days / DAYS_PER_MONTH
                  + fixed.per_member_year * c.member_days / DAYS_PER_YEAR)
    displacement = scheme.assumptions.displacement.mean
    # cust_cost = rep.cust_cost + rep.accrued + displacement * rep.item_gap, without temporaries
    cust_cost, scratch = t.array("result.cost", n), t.array("result.used", n)
    np.add(rep.cust_cost, rep.accrued, out=cust_cost)
    np.multiply(displacement, rep.item_gap, out=scratch)
    cust_cost += scratch
    reward_cost = float(cust_cost.sum())
    total = reward_cost + fixed_cost
    used = used_probability(rep.uses, r, out=scratch)
    np.copyto(used, 0.0, where=c.nonmember)
    wait, within = t.array("result.wait", n, np.int64), t.array("result.within", n)
    issued, n_wait, n_within, counts, bins = _per_member(
        b.member, rep.first_reward_day, rep.first_use_day, b.join_day, rep.rewards, used,
        _BIN_LO, _BIN_HI, wait, within)
    wait = wait[:n_wait]
    ranked = np.take(cust_cost, b.rank, out=t.array("result.ranked", len(b.rank)), mode="clip")
    n_top = math.ceil(0.2 * members)
    top_cost = float(ranked[:n_top].sum())
    rewarded = float(used.sum())
    within_year = float(within[:n_within].sum())
    summary = {
        "members": members,
        "customers_rewarded": int(round(rewarded)),
        "customers_issued": int(issued),
        "rewards_earned": int(round(float(rep.cust_earned.sum()))),
        "rewards_redeemed": float(rep.daily_redeemed.sum()),
        "rewards_expired": int(round(float(rep.expired.sum()))),
        "rewards_outstanding": int(round(float(rep.outstanding.sum()))),
        "reward_cost": reward_cost,
        "fixed_cost": float(fixed_cost),
        "total_cost": float(total),
        "cost_share_of_revenue": float(total / b.revenue) if b.revenue > 0 else 0.0,
        "cost_per_member": float(total / members) if members else 0.0,
        "liability": float(rep.liability.sum()),
        "top20_cost_share": top_cost / reward_cost if reward_cost > 0 else 0.0,
        "rewarded_share": rewarded / members if members else 0.0,
        "rewarded_within_year_share": within_year / members if members else 0.0,
        # the median last: it reorders `wait` (memory kept in `t`) in place
        "median_days_to_first_reward": float(np.median(wait, overwrite_input=True)) if len(wait) else None,
    }
    return BacktestResult(summary=summary, monthly=_monthly(rep, b, c.fixed_daily, displacement),
                          distribution=_distribution(counts, c, ranked, bins))


def _monthly(rep: Replay, b: Base, fixed_daily: np.ndarray, displacement: float = 0.0) -> list[dict]:
    """Return the calendar-month series of rewards, costs and month-end liability."""
    days = np.arange(b.start_day, b.end_day + 1).astype("datetime64[D]")
    months, idx = np.unique(days.astype("datetime64[M]"), return_inverse=True)
    last = np.searchsorted(idx, np.arange(len(months)), side="right") - 1

    def per_month(x: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=x, minlength=len(months))

    earned, redeemed = per_month(rep.daily_earned), per_month(rep.daily_redeemed)
    cost, fixed = per_month(rep.daily_cost + displacement * rep.daily_item_gap), per_month(fixed_daily)
    return [{"month": str(m), "rewards_earned": float(earned[k]),
             "rewards_redeemed": float(redeemed[k]), "reward_cost": float(cost[k]),
             "fixed_cost": float(fixed[k]), "cost": float(cost[k] + fixed[k]),
             "liability": float(rep.daily_liability[last[k]])}
            for k, m in enumerate(months)]


def _distribution(counts: np.ndarray, c: Common, ranked_cost: np.ndarray, bins: np.ndarray) -> dict:
    """Return rewards per member, cost by revenue decile and days to the first reward
    (from ``_per_member``'s counts and bins, and each member's cost in ``b.rank`` order)."""
    rewards = [{"rewards": str(k) if k < 10 else "10+", "members": int(counts[k])}
               for k in range(11)]
    dec_rev = c.decile_revenue
    dec_cost = np.bincount(c.decile, weights=ranked_cost, minlength=10)
    deciles = [{"decile": k + 1, "revenue": float(dec_rev[k]), "cost": float(dec_cost[k])}
               for k in range(10)]
    first = [{"days": label, "customers": int(bins[j])}
             for j, (_, _, label) in enumerate(FIRST_REWARD_BINS)]
    return {"rewards_per_member": rewards, "cost_by_decile": deciles,
            "days_to_first_reward": first}
