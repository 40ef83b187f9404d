"""The one settlement core: hold rewards, settle them at the next qualifying transaction,
expire them, or keep them outstanding — plus the replay's input and output records.

Every kind's compiled scan writes into three output tables (per transaction, per
customer, per day of the window) through the helpers below, so counting, expiry and
liability are done the same way for all kinds. Column numbers are module constants.

Layout, for speed: each table is stored one *row per column* — ``tout[T_COST, i]``,
``cout[C_EXPIRED, c]``, ``dout[D_HELD, k]`` — so a scan writes each output as a
contiguous stream and ``finish`` hands the rows out as views, without copying. The
wallet of held rewards is allocated once per scan with room for the most any customer
can hold (``wallet``), and reset per customer by its size ``n``; the helpers never
allocate.

Memory, for speed: a replay may be handed a ``Tables`` — memory kept from an earlier
replay — and then writes its tables there, zeroed in place, instead of asking the kernel
for fresh pages (column-sized arrays are fresh mappings that the kernel zeroes on first
touch: most of a large backtest's time before). What it returns views that memory, so a
``Tables`` serves one replay at a time, and is handed to the next only once the last
Replay made in it is no longer read (``backtest.run`` keeps one per thread).
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
C_EARNED, C_EXPIRED, C_OUTSTANDING, C_LIABILITY, C_ACCRUED, C_REWARDS, C_FIRST, C_COST = 0, 1, 2, 3, 4, 5, 6, 7
# uses: transactions at which a reward was handed over (before the redemption rate); the
# day of the first; item gap: expected (face value − cost) of the free items handed over
C_USES, C_FIRST_USE, C_ITEM_GAP = 8, 9, 10
N_C = 11
# per-day output columns (index = day - start_day; one spare row for accrual ends)
D_EARNED, D_REDEEMED, D_COST, D_EXPIRED, D_HELD, D_ACCRUAL, D_ITEM_GAP = 0, 1, 2, 3, 4, 5, 6
N_D = 7
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
    join_day: np.ndarray  # int32 or int64 (spares the scans a cast) per cust; earning starts on this day
    birthday_doy: np.ndarray  # int16 per cust, 1..366; -1 → pseudo-random day from cust_hash
    cust_hash: np.ndarray  # uint64 per cust
    data_start_day: int | None = None  # anchor for welcome newness and coupon dates (None = start_day)


@dataclass(frozen=True)
class Replay:
    """One scheme replayed over one ledger: per transaction, per customer and per day."""

    start_day: int
    # per transaction (float64, expected values after the redemption rate); None when the
    # replay was asked for per-customer and per-day figures only (``per_tx=False``)
    earned: np.ndarray | None  # rewards earned at this transaction (points for `points`)
    redeemed: np.ndarray | None  # expected rewards (points) redeemed here
    cost: np.ndarray | None  # expected reward cost incurred here
    discount: np.ndarray | None  # expected value handed to the customer here (face value)
    # per customer
    cust_cost: np.ndarray  # expected reward cost incurred at the customer's transactions
    cust_earned: np.ndarray  # all rewards earned, including those issued away from a till
    expired: np.ndarray
    outstanding: np.ndarray
    liability: np.ndarray  # outstanding × cost × redemption rate
    accrued: np.ndarray  # cost accrued over membership time (perks, tier perks)
    rewards: np.ndarray  # reward count for distributions (points: redemptions)
    first_reward_day: np.ndarray  # int64, -1 = never rewarded (points: first redemption)
    uses: np.ndarray  # transactions where a reward was used (a redemption opportunity met; before the rate)
    first_use_day: np.ndarray  # int64, -1 = never used
    item_gap: np.ndarray  # expected face value − cost of the free items handed over (× redemption rate)
    # per day of [start_day, end_day]
    daily_earned: np.ndarray
    daily_redeemed: np.ndarray
    daily_cost: np.ndarray  # reward cost incl. accruals
    daily_expired: np.ndarray  # expiry events, on the first day a reward is no longer valid
    daily_liability: np.ndarray  # liability held at the end of each day
    daily_item_gap: np.ndarray  # face value − cost of the free items handed over each day (see item_gap)


class Tables:
    """Memory kept for replays: named flat arrays, grown when too small, never shrunk.

    ``array`` hands out the first ``n`` elements of a named array as they are (not
    zeroed); ``buffers``, ``wallet`` and ``finish`` take their arrays from here when given
    one, and ``shard.replay_sharded`` its merged arrays (its shards replay in ``part()``).
    One replay at a time: see the module's note on memory.
    """

    def __init__(self) -> None:
        self._mem: dict[str, np.ndarray] = {}
        self._part: Tables | None = None

    def array(self, name: str, n: int, dtype=np.float64) -> np.ndarray:
        """Return n elements of the memory kept under `name` (contiguous, contents left over)."""
        dtype = np.dtype(dtype)
        buf = self._mem.get(name)
        if buf is None or buf.dtype != dtype or buf.size < n:
            buf = self._mem[name] = np.empty(max(int(n), 1), dtype=dtype)
        return buf[:n]

    def table(self, name: str, rows: int, cols: int) -> np.ndarray:
        """Return a C-contiguous float64 rows × cols table of the memory kept under `name`."""
        return self.array(name, rows * cols).reshape(rows, cols)

    def part(self) -> Tables:
        """Return the memory kept for the shards' replays of a sharded one (another ``Tables``)."""
        if self._part is None:
            self._part = Tables()
        return self._part


def buffers(n_tx: int, n_customers: int, n_days: int, per_tx: bool = True,
            tables: Tables | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return zeroed per-transaction (N_T × n_tx), per-customer (N_C × n) and per-day
    (N_D × (n_days + 1)) output tables (in ``tables``' memory, zeroed in place, when given).

    Without ``per_tx`` the per-transaction table is one scratch column (N_T × 1) that
    every write lands in (see ``at``): the backtest and the forecast read per-customer
    and per-day figures only, and skip 32 bytes of writes per transaction.
    """
    n_t = n_tx if per_tx else 1
    if tables is None:
        tout, cout, dout = np.zeros((N_T, n_t)), np.zeros((N_C, n_customers)), np.zeros((N_D, n_days + 1))
    else:
        tout, cout = tables.table("tout", N_T, n_t), tables.table("cout", N_C, n_customers)
        dout = tables.table("dout", N_D, n_days + 1)
        for t in (tout, cout, dout):
            t.fill(0.0)
    cout[C_FIRST] = -1.0
    cout[C_FIRST_USE] = -1.0
    return tout, cout, dout


@njit(cache=True, inline="always")
def at(i, tout):
    """Return the column of transaction i in the per-transaction table (0 in a scratch table)."""
    return i if i < tout.shape[1] else 0


@njit(cache=True, nogil=True)
def _offsets(cust, n_customers):
    off = np.empty(n_customers + 1, dtype=np.int64)
    c = 0
    for i in range(cust.shape[0]):
        k = cust[i]
        while c <= k:
            off[c] = i
            c += 1
    while c <= n_customers:
        off[c] = cust.shape[0]
        c += 1
    return off


def offsets(cust: np.ndarray, n_customers: int) -> np.ndarray:
    """Return the start index of every customer's rows (n_customers + 1 entries; cust sorted)."""
    return _offsets(cust, int(n_customers))


def tx_offsets(tx) -> np.ndarray:
    """Return the transactions' customer offsets: ``tx.off`` when given, else computed."""
    off = getattr(tx, "off", None)
    return offsets(tx.cust, tx.n_customers) if off is None else off


def scan_inputs(ctx: ReplayContext) -> tuple[np.ndarray, np.ndarray]:
    """Return the context's members (bool) and join days (int64) as the scans take them (no copy if so)."""
    return np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64)


def data_start(ctx: ReplayContext) -> int:
    """Return the day coupon dates and welcome newness are counted from."""
    return int(ctx.start_day if ctx.data_start_day is None else ctx.data_start_day)


def finish(start_day: int, tout: np.ndarray, cout: np.ndarray, dout: np.ndarray, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the Replay record built from a scan's three output tables (rows as views; the
    first days, int64, cast into ``tables``' memory when given)."""
    n_days = dout.shape[1] - 1
    n = cout.shape[1]
    if tables is None:
        first, first_use = cout[C_FIRST].astype(np.int64), cout[C_FIRST_USE].astype(np.int64)
    else:
        first, first_use = tables.array("first", n, np.int64), tables.array("first_use", n, np.int64)
        np.copyto(first, cout[C_FIRST], casting="unsafe")
        np.copyto(first_use, cout[C_FIRST_USE], casting="unsafe")
    accrual = np.cumsum(dout[D_ACCRUAL])[:n_days]
    liability = np.cumsum(dout[D_HELD])[:n_days]
    liability[np.abs(liability) < 1e-9] = 0.0
    return Replay(
        start_day=int(start_day),
        earned=tout[T_EARNED] if per_tx else None,
        redeemed=tout[T_REDEEMED] if per_tx else None,
        cost=tout[T_COST] if per_tx else None,
        discount=tout[T_DISCOUNT] if per_tx else None,
        cust_cost=cout[C_COST],
        cust_earned=cout[C_EARNED],
        expired=cout[C_EXPIRED],
        outstanding=cout[C_OUTSTANDING],
        liability=cout[C_LIABILITY],
        accrued=cout[C_ACCRUED],
        rewards=cout[C_REWARDS],
        first_reward_day=first,
        uses=cout[C_USES],
        first_use_day=first_use,
        item_gap=cout[C_ITEM_GAP],
        daily_earned=dout[D_EARNED, :n_days],
        daily_redeemed=dout[D_REDEEMED, :n_days],
        daily_cost=dout[D_COST, :n_days] + accrual,
        daily_expired=dout[D_EXPIRED, :n_days],
        daily_liability=liability,
        daily_item_gap=dout[D_ITEM_GAP, :n_days],
    )


@njit(cache=True, nogil=True)
def _longest(off):
    m = 0
    for c in range(off.shape[0] - 1):
        m = max(m, off[c + 1] - off[c])
    return m


def wallet(off: np.ndarray | None = None, extra: int = 0, tables: Tables | None = None) -> np.ndarray:
    """Return a wallet table (N_W × capacity) with room for everything one customer can hold.

    A scan holds at most one reward entry per transaction plus ``extra`` issued away from
    a till (coupon days, birthdays); ``off`` gives the customers' transaction counts.
    """
    longest = 0 if off is None or len(off) < 2 else int(_longest(off))
    if tables is None:
        return np.zeros((N_W, longest + int(extra) + 8))
    w = tables.table("wallet", N_W, longest + int(extra) + 8)
    w.fill(0.0)
    return w


def new_wallet() -> np.ndarray:
    """Return a small empty wallet table (for driving the helpers directly)."""
    return wallet()


@njit(cache=True, inline="always")
def mark_reward(c, day, count, cout):
    """Count `count` rewards for customer c and remember the day of their first one."""
    cout[C_REWARDS, c] += count
    if cout[C_FIRST, c] < 0:
        cout[C_FIRST, c] = day


@njit(cache=True, inline="always")
def mark_use(c, day, cout):
    """Count one transaction at which customer c used a reward, and remember the day of the first."""
    cout[C_USES, c] += 1.0
    if cout[C_FIRST_USE, c] < 0:
        cout[C_FIRST_USE, c] = day


@njit(cache=True, inline="always")
def hold(w, n, exp, count, cost, face, rate, liab, item, c, day, day0, r, cout, dout):
    """Put `count` rewards valid through day `exp` into the wallet; return its new size."""
    if n >= w.shape[1]:
        raise ValueError("wallet full: allocate it with settle.wallet(off, extra)")
    w[W_EXP, n] = exp
    w[W_COUNT, n] = count
    w[W_COST, n] = cost
    w[W_FACE, n] = face
    w[W_RATE, n] = rate
    w[W_LIAB, n] = liab
    w[W_ITEM, n] = item
    cout[C_EARNED, c] += count
    mark_reward(c, day, count, cout)
    k = day - day0
    dout[D_EARNED, k] += count
    dout[D_HELD, k] += r * count * liab
    return n + 1


@njit(cache=True, inline="always")
def expire(w, n, day, c, day0, r, cout, dout):
    """Drop every held reward whose last valid day is before `day` as expired; return the new size."""
    m = 0
    for j in range(n):
        if w[W_EXP, j] < day:
            cnt = w[W_COUNT, j]
            k = int(w[W_EXP, j]) + 1 - day0
            cout[C_EXPIRED, c] += cnt
            dout[D_EXPIRED, k] += cnt
            dout[D_HELD, k] -= r * cnt * w[W_LIAB, j]
        else:
            if m != j:
                for q in range(N_W):
                    w[q, m] = w[q, j]
            m += 1
    return m


@njit(cache=True, inline="always")
def settle(w, n, i, c, bill, day, day0, r, tout, cout, dout):
    """Redeem every reward in the wallet at customer c's transaction i (expected × r); return the count settled."""
    count = 0.0
    held = 0.0
    item_cost = 0.0
    item_value = 0.0
    disc = 0.0
    for j in range(n):
        cnt = w[W_COUNT, j]
        count += cnt
        held += cnt * w[W_LIAB, j]
        if w[W_ITEM, j] > 0.0:
            item_cost += cnt * w[W_COST, j]
            item_value += cnt * w[W_FACE, j]
        else:
            disc += cnt * (w[W_FACE, j] + w[W_RATE, j] * bill)
    if disc > bill:
        disc = bill
    cost = r * (item_cost + disc)
    k = day - day0
    t = at(i, tout)
    tout[T_REDEEMED, t] += r * count
    tout[T_COST, t] += cost
    tout[T_DISCOUNT, t] += r * (item_value + disc)
    cout[C_COST, c] += cost
    cout[C_ITEM_GAP, c] += r * (item_value - item_cost)
    dout[D_ITEM_GAP, k] += r * (item_value - item_cost)
    mark_use(c, day, cout)
    dout[D_REDEEMED, k] += r * count
    dout[D_COST, k] += cost
    dout[D_HELD, k] -= r * held
    return count


@njit(cache=True, inline="always")
def close(w, n, end_day, c, day0, r, cout, dout):
    """At the end of the data: expire what has passed its last day, keep the rest outstanding."""
    n = expire(w, n, end_day, c, day0, r, cout, dout)
    for j in range(n):
        cnt = w[W_COUNT, j]
        cout[C_OUTSTANDING, c] += cnt
        cout[C_LIABILITY, c] += r * cnt * w[W_LIAB, j]


@njit(cache=True, inline="always")
def immediate(i, c, day, day0, r, value, tout, cout, dout):
    """Record one reward worth `value` earned and redeemed at transaction i (an at-the-till discount)."""
    k = day - day0
    t = at(i, tout)
    tout[T_EARNED, t] += 1.0
    tout[T_REDEEMED, t] += r
    tout[T_COST, t] += r * value
    tout[T_DISCOUNT, t] += r * value
    cout[C_COST, c] += r * value
    cout[C_EARNED, c] += 1.0
    mark_reward(c, day, 1.0, cout)
    mark_use(c, day, cout)
    dout[D_EARNED, k] += 1.0
    dout[D_REDEEMED, k] += r
    dout[D_COST, k] += r * value


@njit(cache=True, inline="always")
def accrue(c, a, b, per_day, day0, cout, dout):
    """Spread a cost of `per_day` over days a..b (inclusive) of customer c's membership."""
    if b < a or per_day == 0.0:
        return
    cout[C_ACCRUED, c] += per_day * (b - a + 1)
    dout[D_ACCRUAL, a - day0] += per_day
    dout[D_ACCRUAL, b + 1 - day0] -= per_day


def expiry_day(expiry_days: int | None) -> float:
    """Return the validity length in days as the scans expect it (NEVER when unlimited)."""
    return NEVER if expiry_days is None else float(expiry_days)


def unit_cost(value: float, cost: float | None, gross_margin: float) -> float:
    """Return the cost of one item reward: its stated cost, else value × (1 − gross margin)."""
    return float(cost) if cost is not None else float(value) * (1.0 - float(gross_margin))
