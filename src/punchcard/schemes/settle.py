"""The one settlement core: hold rewards, settle them at the next qualifying transaction,
expire them, or keep them outstanding — plus the replay's input and output records.

Every kind's compiled scan writes into three output tables (per transaction, per
customer, per day of the window) through the helpers below, so counting, expiry and
liability are done the same way for all kinds. Column numbers are module constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

NEVER = 2.0**40  # expiry day of a reward that never expires

# per-transaction output columns
T_EARNED, T_REDEEMED, T_COST, T_DISCOUNT = 0, 1, 2, 3
N_T = 4
# per-customer output columns
C_EARNED, C_EXPIRED, C_OUTSTANDING, C_LIABILITY, C_ACCRUED, C_REWARDS, C_FIRST = 0, 1, 2, 3, 4, 5, 6
N_C = 7
# per-day output columns (index = day - start_day; one spare row for accrual ends)
D_EARNED, D_REDEEMED, D_COST, D_EXPIRED, D_HELD, D_ACCRUAL = 0, 1, 2, 3, 4, 5
N_D = 6
# wallet columns: last valid day, count, unit cost (items), face value, share of the bill,
# liability value per unit, 1.0 for an item reward / 0.0 for a discount
W_EXP, W_COUNT, W_COST, W_FACE, W_RATE, W_LIAB, W_ITEM = 0, 1, 2, 3, 4, 5, 6
N_W = 7


@dataclass(frozen=True)
class ReplayContext:
    """Who is a member since when, and the window and assumptions a replay runs under."""

    start_day: int  # first day of the accounting window (epoch days)
    end_day: int  # last day of the window, inclusive
    gross_margin: float
    redemption_rate: float
    member: np.ndarray  # bool per cust; non-members earn nothing
    join_day: np.ndarray  # int32 per cust; earning starts on this day
    birthday_doy: np.ndarray  # int16 per cust, 1..366; -1 → pseudo-random day from cust_hash
    cust_hash: np.ndarray  # uint64 per cust
    data_start_day: int | None = None  # anchor for welcome newness and coupon dates (None = start_day)


@dataclass(frozen=True)
class Replay:
    """One scheme replayed over one ledger: per transaction, per customer and per day."""

    start_day: int
    # per transaction (float64, expected values after the redemption rate)
    earned: np.ndarray  # rewards earned at this transaction (points for `points`)
    redeemed: np.ndarray  # expected rewards (points) redeemed here
    cost: np.ndarray  # expected reward cost incurred here
    discount: np.ndarray  # expected value handed to the customer here (face value)
    # per customer
    cust_earned: np.ndarray  # all rewards earned, including those issued away from a till
    expired: np.ndarray
    outstanding: np.ndarray
    liability: np.ndarray  # outstanding × cost × redemption rate
    accrued: np.ndarray  # cost accrued over membership time (perks, tier perks)
    rewards: np.ndarray  # reward count for distributions (points: redemptions)
    first_reward_day: np.ndarray  # int64, -1 = never rewarded (points: first redemption)
    # per day of [start_day, end_day]
    daily_earned: np.ndarray
    daily_redeemed: np.ndarray
    daily_cost: np.ndarray  # reward cost incl. accruals
    daily_expired: np.ndarray  # expiry events, on the first day a reward is no longer valid
    daily_liability: np.ndarray  # liability held at the end of each day


def buffers(n_tx: int, n_customers: int, n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return zeroed per-transaction, per-customer and per-day output tables."""
    cout = np.zeros((n_customers, N_C))
    cout[:, C_FIRST] = -1.0
    return np.zeros((n_tx, N_T)), cout, np.zeros((n_days + 1, N_D))


def offsets(cust: np.ndarray, n_customers: int) -> np.ndarray:
    """Return the start index of every customer's rows (n_customers + 1 entries)."""
    return np.searchsorted(cust, np.arange(n_customers + 1), side="left").astype(np.int64)


def data_start(ctx: ReplayContext) -> int:
    """Return the day coupon dates and welcome newness are counted from."""
    return int(ctx.start_day if ctx.data_start_day is None else ctx.data_start_day)


def finish(start_day: int, tout: np.ndarray, cout: np.ndarray, dout: np.ndarray) -> Replay:
    """Return the Replay record built from a scan's three output tables."""
    n_days = dout.shape[0] - 1
    accrual = np.cumsum(dout[:, D_ACCRUAL])[:n_days]
    liability = np.cumsum(dout[:, D_HELD])[:n_days]
    liability[np.abs(liability) < 1e-9] = 0.0
    return Replay(
        start_day=int(start_day),
        earned=tout[:, T_EARNED].copy(),
        redeemed=tout[:, T_REDEEMED].copy(),
        cost=tout[:, T_COST].copy(),
        discount=tout[:, T_DISCOUNT].copy(),
        cust_earned=cout[:, C_EARNED].copy(),
        expired=cout[:, C_EXPIRED].copy(),
        outstanding=cout[:, C_OUTSTANDING].copy(),
        liability=cout[:, C_LIABILITY].copy(),
        accrued=cout[:, C_ACCRUED].copy(),
        rewards=cout[:, C_REWARDS].copy(),
        first_reward_day=cout[:, C_FIRST].astype(np.int64),
        daily_earned=dout[:n_days, D_EARNED].copy(),
        daily_redeemed=dout[:n_days, D_REDEEMED].copy(),
        daily_cost=dout[:n_days, D_COST] + accrual,
        daily_expired=dout[:n_days, D_EXPIRED].copy(),
        daily_liability=liability,
    )


def new_wallet() -> np.ndarray:
    """Return an empty wallet table (it grows as needed)."""
    return np.zeros((8, N_W))


@njit(cache=True)
def mark_reward(c, day, count, cout):
    """Count `count` rewards for customer c and remember the day of their first one."""
    cout[c, C_REWARDS] += count
    if cout[c, C_FIRST] < 0:
        cout[c, C_FIRST] = day


@njit(cache=True)
def hold(w, n, exp, count, cost, face, rate, liab, item, c, day, day0, r, cout, dout):
    """Put `count` rewards valid through day `exp` into the wallet; return (wallet, size)."""
    if n == w.shape[0]:
        w2 = np.zeros((2 * n + 8, w.shape[1]))
        w2[:n] = w[:n]
        w = w2
    w[n, W_EXP] = exp
    w[n, W_COUNT] = count
    w[n, W_COST] = cost
    w[n, W_FACE] = face
    w[n, W_RATE] = rate
    w[n, W_LIAB] = liab
    w[n, W_ITEM] = item
    cout[c, C_EARNED] += count
    mark_reward(c, day, count, cout)
    k = day - day0
    dout[k, D_EARNED] += count
    dout[k, D_HELD] += r * count * liab
    return w, n + 1


@njit(cache=True)
def expire(w, n, day, c, day0, r, cout, dout):
    """Drop every held reward whose last valid day is before `day` as expired; return the new size."""
    m = 0
    for j in range(n):
        if w[j, W_EXP] < day:
            cnt = w[j, W_COUNT]
            k = int(w[j, W_EXP]) + 1 - day0
            cout[c, C_EXPIRED] += cnt
            dout[k, D_EXPIRED] += cnt
            dout[k, D_HELD] -= r * cnt * w[j, W_LIAB]
        else:
            if m != j:
                w[m, :] = w[j, :]
            m += 1
    return m


@njit(cache=True)
def settle(w, n, i, bill, day, day0, r, tout, dout):
    """Redeem every reward in the wallet at transaction i (expected × r); return the count settled."""
    count = 0.0
    held = 0.0
    item_cost = 0.0
    item_value = 0.0
    disc = 0.0
    for j in range(n):
        cnt = w[j, W_COUNT]
        count += cnt
        held += cnt * w[j, W_LIAB]
        if w[j, W_ITEM] > 0.0:
            item_cost += cnt * w[j, W_COST]
            item_value += cnt * w[j, W_FACE]
        else:
            disc += cnt * (w[j, W_FACE] + w[j, W_RATE] * bill)
    if disc > bill:
        disc = bill
    cost = r * (item_cost + disc)
    k = day - day0
    tout[i, T_REDEEMED] += r * count
    tout[i, T_COST] += cost
    tout[i, T_DISCOUNT] += r * (item_value + disc)
    dout[k, D_REDEEMED] += r * count
    dout[k, D_COST] += cost
    dout[k, D_HELD] -= r * held
    return count


@njit(cache=True)
def close(w, n, end_day, c, day0, r, cout, dout):
    """At the end of the data: expire what has passed its last day, keep the rest outstanding."""
    n = expire(w, n, end_day, c, day0, r, cout, dout)
    for j in range(n):
        cnt = w[j, W_COUNT]
        cout[c, C_OUTSTANDING] += cnt
        cout[c, C_LIABILITY] += r * cnt * w[j, W_LIAB]


@njit(cache=True)
def immediate(i, c, day, day0, r, value, tout, cout, dout):
    """Record one reward worth `value` earned and redeemed at transaction i (an at-the-till discount)."""
    k = day - day0
    tout[i, T_EARNED] += 1.0
    tout[i, T_REDEEMED] += r
    tout[i, T_COST] += r * value
    tout[i, T_DISCOUNT] += r * value
    cout[c, C_EARNED] += 1.0
    mark_reward(c, day, 1.0, cout)
    dout[k, D_EARNED] += 1.0
    dout[k, D_REDEEMED] += r
    dout[k, D_COST] += r * value


@njit(cache=True)
def accrue(c, a, b, per_day, day0, cout, dout):
    """Spread a cost of `per_day` over days a..b (inclusive) of customer c's membership."""
    if b < a or per_day == 0.0:
        return
    cout[c, C_ACCRUED] += per_day * (b - a + 1)
    dout[a - day0, D_ACCRUAL] += per_day
    dout[b + 1 - day0, D_ACCRUAL] -= per_day


def expiry_day(expiry_days: int | None) -> float:
    """Return the validity length in days as the scans expect it (NEVER when unlimited)."""
    return NEVER if expiry_days is None else float(expiry_days)


def unit_cost(value: float, cost: float | None, gross_margin: float) -> float:
    """Return the cost of one item reward: its stated cost, else value × (1 − gross margin)."""
    return float(cost) if cost is not None else float(value) * (1.0 - float(gross_margin))
