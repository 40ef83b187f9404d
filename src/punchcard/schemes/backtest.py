"""Stage 3: replay every scheme of a program over the real history (everyone a member).

The figures follow SPEC §4 and fill exactly the ``schemes[].backtest`` keys of
docs/results.md: ``summary`` keys, ``monthly`` and ``distribution``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from punchcard.ingest import Ledger, TxArrays, arrays
from punchcard.program import FixedCosts, Program, Scheme
from punchcard.schemes.settle import Replay, ReplayContext
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


def base(ledger: Ledger, shards: int | None = None) -> Base:
    """Return the arrays all schemes' backtests of `ledger` share.

    Revenue is summed per customer-hash shard and the shards added in order
    (``ingest.ordered_sum``; ``shards`` default: ``ingest.ledger_shards``).
    """
    tx = arrays(ledger)
    n = ledger.n_customers
    off = offsets(tx.cust, n)
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
                cust_hash=cust_hash)


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
                         redemption_rate=redemption_rate, member=b.member, join_day=b.join_day,
                         birthday_doy=b.birthday_doy, cust_hash=b.cust_hash,
                         data_start_day=b.start_day)


def run(program: Program, ledger: Ledger, *, shards: int | None = None,
        progress=None) -> dict[str, BacktestResult]:
    """Return every scheme's backtest over `ledger`, keyed by scheme id.

    Each scheme is replayed over ``shards`` customer-hash shards (default:
    ``ingest.ledger_shards``, from the size of the sales files) and merged; per-customer
    figures equal a whole replay's, per-day series are the shards' added in shard order. The schemes replay side by side on ``workers()`` threads (the compiled
    scans run without the GIL); every scheme's figures come from its own replay alone, so
    they do not depend on the number of threads. ``progress`` wraps the scheme loop
    (e.g. a progress bar).
    """
    k = shards if shards is not None else ledger_shards(ledger)
    b = base(ledger, k)
    plan = plan_shards(b.tx, context(b, 0.0, 0.0), k) if k > 1 else None  # split once

    def one(scheme: Scheme) -> BacktestResult:
        rate = scheme.assumptions.redemption_rate.mean
        rep = replay_sharded(scheme, b.tx, context(b, program.business.gross_margin, rate), k, plan,
                             per_tx=False)
        return result(scheme, rep, b, program.business.fixed_costs, rate)

    out: dict[str, BacktestResult] = {}
    n = min(workers(), len(program.schemes))
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


def used_probability(uses: np.ndarray, redemption_rate: float) -> np.ndarray:
    """Return each customer's chance of using at least one reward: 1 − (1 − r)^uses.

    ``uses`` counts the transactions at which a customer held a usable reward; each is
    used with probability r (the redemption rate), independently.
    """
    r = min(max(float(redemption_rate), 0.0), 1.0)
    if r >= 1.0:
        return (uses > 0).astype(np.float64)
    return 1.0 - np.power(1.0 - r, uses)


def result(scheme: Scheme, rep: Replay, b: Base, fixed: FixedCosts,
           redemption_rate: float | None = None) -> BacktestResult:
    """Return the backtest figures of one replay (``redemption_rate``: the one it ran at, default the mean)."""
    r = scheme.assumptions.redemption_rate.mean if redemption_rate is None else redemption_rate
    members = int(b.member.sum())
    n_days = b.end_day - b.start_day + 1
    member_days = float((b.end_day - b.join_day[b.member].astype(np.int64) + 1).sum())
    fixed_cost = (fixed.setup + fixed.monthly * n_days / DAYS_PER_MONTH
                  + fixed.per_member_year * member_days / DAYS_PER_YEAR)
    displacement = scheme.assumptions.displacement.mean
    cust_cost = rep.cust_cost + rep.accrued + displacement * rep.item_gap
    reward_cost = float(cust_cost.sum())
    total = reward_cost + fixed_cost
    issued = b.member & (rep.first_reward_day >= 0)
    used = np.where(b.member, used_probability(rep.uses, r), 0.0)
    first_use = rep.first_use_day - b.join_day
    wait = first_use[b.member & (rep.first_use_day >= 0)]
    n_top = math.ceil(0.2 * members)
    top_cost = float(cust_cost[b.rank[:n_top]].sum())
    rewarded = float(used.sum())
    within_year = float(used[b.member & (rep.first_use_day >= 0) & (first_use <= 365)].sum())
    summary = {
        "members": members,
        "customers_rewarded": int(round(rewarded)),
        "customers_issued": int(issued.sum()),
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
        "median_days_to_first_reward": float(np.median(wait)) if len(wait) else None,
    }
    return BacktestResult(summary=summary, monthly=_monthly(rep, b, _fixed_daily(b, fixed), displacement),
                          distribution=_distribution(rep, b, cust_cost, wait))


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


def _distribution(rep: Replay, b: Base, cust_cost: np.ndarray, wait: np.ndarray) -> dict:
    """Return rewards per member, cost by revenue decile and days to the first reward."""
    per_member = np.floor(rep.rewards[b.member] + 1e-9).astype(np.int64)
    counts = np.bincount(np.minimum(per_member, 10), minlength=11)
    rewards = [{"rewards": str(k) if k < 10 else "10+", "members": int(counts[k])}
               for k in range(11)]
    n = len(b.rank)
    decile = (np.arange(n) * 10) // max(n, 1)
    dec_rev = np.bincount(decile, weights=b.cust_revenue[b.rank], minlength=10)
    dec_cost = np.bincount(decile, weights=cust_cost[b.rank], minlength=10)
    deciles = [{"decile": k + 1, "revenue": float(dec_rev[k]), "cost": float(dec_cost[k])}
               for k in range(10)]
    first = [{"days": label,
              "customers": int(((wait >= lo) & (wait <= (np.inf if hi is None else hi))).sum())}
             for lo, hi, label in FIRST_REWARD_BINS]
    return {"rewards_per_member": rewards, "cost_by_decile": deciles,
            "days_to_first_reward": first}
