"""Stage 2, rows: each row classified (used, or rejected for one reason), orders filled and summed.

Duplicate lines are found by a hash of the whole line; a line of a multi-line order that
lacks its customer, date or amount takes them from the order, and the order's lines are
summed into one transaction.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from numba import njit

from punchcard.ingest.ledger import EPOCH_ORDINAL
from punchcard.program import Sales
from punchcard.ingest.sources import FILE_SHIFT

# Reasons in the order they are tested: a row lands in the first that applies.
REASONS = ("empty_line", "missing_date", "bad_date", "missing_amount", "bad_amount",
           "bad_items", "zero_amount", "duplicate_line", "outside_window", "date_outlier")
# A date is an outlier when it lies further outside the central 98 % of the file's dates
# (1st to 99th percentile) than that range is wide, and at least a year (docs/data.md):
# 1901 or 2099 among a year of 2025 sales is a typing error, not a customer.
OUTLIER_QUANTILE = 0.01
OUTLIER_MIN_DAYS = 365
DENSE_DAYS = 1 << 22  # dates spanning fewer days are counted per day (an array of 32 MiB at most)


def outlier_days(day: pl.Series) -> tuple[int, int] | None:
    """Return (first, last) day number that is not an outlier, or None when no date is one."""
    known = day.drop_nulls()
    if known.len() == 0:
        return None
    lo, hi = int(known.min()), int(known.max())
    if hi - lo < DENSE_DAYS:
        # a count per day gives the same order statistics as the quantiles, without a sort
        # (counted chunk by chunk, in place: no column-sized copies)
        counts = np.zeros(hi - lo + 1, dtype=np.int64)
        for chunk in known.cast(pl.Int32).get_chunks():
            _count_days(chunk.to_numpy(), np.int32(lo), counts)
        return outlier_bounds((lo, counts))
    low = int(known.quantile(OUTLIER_QUANTILE, interpolation="lower"))
    high = int(known.quantile(1 - OUTLIER_QUANTILE, interpolation="higher"))
    reach = max(high - low, OUTLIER_MIN_DAYS)
    first, last = low - reach, high + reach
    if int(known.min()) >= first and int(known.max()) <= last:
        return None
    return first, last


@njit(cache=True, nogil=True)
def _count_days(days, lo, counts) -> None:
    """Add one to ``counts[day - lo]`` for each day."""
    for i in range(days.size):
        counts[days[i] - lo] += 1


def day_counts(day: pl.Series) -> tuple[int, np.ndarray] | None:
    """Return (first day, rows per day from it) of the known dates of ``day`` (None: none):
    what ``outlier_bounds`` needs, addable across the files of one input."""
    known = day.drop_nulls()
    if known.len() == 0:
        return None
    days = known.to_numpy().astype(np.int64)
    lo = int(days.min())
    return lo, np.bincount(days - lo)


def merge_day_counts(parts: list[tuple[int, np.ndarray] | None]) -> tuple[int, np.ndarray] | None:
    """Return the day counts of several parts added up (None: no part has a date)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    lo = min(p[0] for p in parts)
    out = np.zeros(max(p[0] + len(p[1]) for p in parts) - lo, dtype=np.int64)
    for first, counts in parts:
        out[first - lo:first - lo + len(counts)] += counts
    return lo, out


def outlier_bounds(counts: tuple[int, np.ndarray] | None) -> tuple[int, int] | None:
    """Return ``outlier_days`` of the dates given as ``day_counts`` (the same order statistics)."""
    if counts is None:
        return None
    lo, c = counts
    cum = np.cumsum(c)
    n = int(cum[-1])

    def at(i: int) -> int:  # the i-th smallest day (from 0), as a sort would give it
        return lo + int(np.searchsorted(cum, i, side="right"))

    low = at(math.floor(OUTLIER_QUANTILE * (n - 1)))  # Polars' "lower" quantile
    high = at(math.ceil((1 - OUTLIER_QUANTILE) * (n - 1)))  # and its "higher" one
    reach = max(high - low, OUTLIER_MIN_DAYS)
    first, last = low - reach, high + reach
    present = np.flatnonzero(c)
    if lo + int(present[0]) >= first and lo + int(present[-1]) <= last:
        return None
    return first, last


def runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (order, starts): a sort of ``keys`` and where each run of equal keys begins in it."""
    order = pl.Series(keys).arg_sort().to_numpy()
    ordered = keys[order]
    change = np.empty(ordered.size, dtype=bool)
    change[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    return order, np.flatnonzero(change)


def repeated_rows(h: np.ndarray) -> np.ndarray:
    """Return, ascending, the rows whose value in ``h`` occurs more than once.

    One sort of a copy of the values (numpy sorts 64-bit numbers several times faster than
    an argsort) finds the repeated values; only those rows need the full test, and a clean
    export has none.
    """
    ordered = np.sort(h)
    again = ordered[1:][ordered[1:] == ordered[:-1]]
    if again.size == 0:
        return np.zeros(0, dtype=np.int64)
    again = np.unique(again)
    at = np.minimum(np.searchsorted(again, h), again.size - 1)
    return np.flatnonzero(again[at] == h)


@njit(cache=True, nogil=True)
def _mark_days(days, known, pos, lo, owner, shared) -> None:
    """Mark in ``shared`` the day slots (day - lo; the last slot: no date) that rows of two or
    more files have, ``owner`` holding the first file seen in each slot; ``pos`` the rows'
    position keys, ``known`` empty: every date known (one chunk of the rows at a time)."""
    slots = owner.size
    for i in range(days.size):
        slot = days[i] - lo if known.size == 0 or known[i] else slots - 1
        file = pos[i] >> FILE_SHIFT
        if owner[slot] < 0:
            owner[slot] = file
        elif owner[slot] != file:
            shared[slot] = True


@njit(cache=True, nogil=True)
def _rows_on(days, known, lo, shared, start):
    """Return the rows (numbered from ``start``) whose day slot is ``shared``."""
    slots = shared.size
    n = 0
    for i in range(days.size):
        if shared[days[i] - lo if known.size == 0 or known[i] else slots - 1]:
            n += 1
    rows = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(days.size):
        if shared[days[i] - lo if known.size == 0 or known[i] else slots - 1]:
            rows[n] = start + i
            n += 1
    return rows


def cross_file_days(frame: pl.DataFrame) -> np.ndarray:
    """Return, ascending, the rows whose date (or missing date) some other file's rows also have.

    Read chunk by chunk, in place (numpy views of the columns' chunks): no column-sized copies.
    """
    day = frame["date"].cast(pl.Int32)
    lo, hi = day.min(), day.max()
    if lo is None:  # no date at all: every row shares its missing date
        return np.arange(day.len(), dtype=np.int64)
    pos = frame["__pos"]
    days, positions = day.get_chunks(), pos.get_chunks()
    if [c.len() for c in days] != [c.len() for c in positions]:
        days, positions = [day.rechunk()], [pos.rechunk()]
    everyone = np.zeros(0, dtype=np.bool_)

    def chunk(c: pl.Series) -> tuple[np.ndarray, np.ndarray]:  # (days, known) of one chunk
        if c.null_count():
            return c.fill_null(int(lo)).to_numpy(), c.is_not_null().to_numpy()
        return c.to_numpy(), everyone

    slots = int(hi) - int(lo) + 2
    owner = np.full(slots, -1, dtype=np.int64)
    shared = np.zeros(slots, dtype=np.bool_)
    for d, p in zip(days, positions):
        _mark_days(*chunk(d), p.to_numpy(), np.int32(lo), owner, shared)
    if not shared.any():
        return np.zeros(0, dtype=np.int64)
    parts, start = [], 0
    for d in days:
        parts.append(_rows_on(*chunk(d), np.int32(lo), shared, start))
        start += d.len()
    return np.concatenate(parts)


def duplicate_lines(frame: pl.DataFrame, has_order: bool, by_day: bool = False) -> pl.Series:
    """Return whether each row repeats an identical line (same ``__h``) of an earlier file.

    Identical lines within one file are separate purchases (two identical coffees, with or
    without a receipt number); only a line repeated from an earlier file of the same input
    (overlapping exports) is a duplicate. ``has_order`` no longer changes the rule.

    With ``by_day`` (every file's date column is the same column read in the same format,
    so identical lines have the same parsed date), only rows on a date that rows of
    another file also have (or without a date, where another file has such rows) can
    repeat a line of another file: monthly exports share no date, and no line is hashed
    and sorted.
    """
    hashes = frame["__h"]
    dup = np.zeros(hashes.len(), dtype=bool)
    within = cross_file_days(frame) if by_day else None
    if within is not None and within.size == hashes.len():
        within = None  # every row is on a shared day: search them all
    # only the rows searched are copied out of the column (monthly exports: none)
    h = hashes.to_numpy() if within is None else hashes.gather(within).to_numpy()
    rows = repeated_rows(h)  # the test below on these rows alone (in row order) gives the same
    del h
    if within is not None:
        rows = within[rows]
    if rows.size == 0:
        return pl.Series("__dup", dup)
    order, starts = runs(hashes.gather(rows).to_numpy())
    first = np.repeat(np.minimum.reduceat(order, starts), np.diff(np.append(starts, rows.size)))
    files = frame["__pos"].gather(rows).to_numpy() >> FILE_SHIFT
    dup[rows[order]] = files[order] != files[first]
    return pl.Series("__dup", dup)


@njit(cache=True, nogil=True)
def _shared_neighbours(numbers, known, start, last, shared) -> bool:
    """Mark in ``shared`` the rows whose number equals that of the known row before or after
    it, for the rows start.. of one chunk (``known`` empty: all known); False as soon as the
    known numbers descend. ``last`` carries (row, number) of the last known row so far."""
    for i in range(numbers.size):
        if known.size and not known[i]:
            continue
        if last[0] >= 0:
            if numbers[i] < last[1]:
                return False
            if numbers[i] == last[1]:
                shared[start + i] = True
                shared[last[0]] = True
        last[0], last[1] = start + i, numbers[i]
    return True


@njit(cache=True, nogil=True)
def _count_ids(numbers, known, lo, counts) -> None:
    """Add each known number's occurrence to ``counts[number - lo]`` (saturating at 2)."""
    for i in range(numbers.size):
        if known.size and not known[i]:
            continue
        j = numbers[i] - lo
        if counts[j] < 2:
            counts[j] += 1


@njit(cache=True, nogil=True)
def _mark_counted(numbers, known, lo, counts, start, shared) -> None:
    """Mark in ``shared`` the known rows (from ``start``) whose number was counted twice or more."""
    for i in range(numbers.size):
        if known.size and not known[i]:
            continue
        if counts[numbers[i] - lo] > 1:
            shared[start + i] = True


def dense_shared(numbers: pl.Series, known: pl.Series) -> np.ndarray | None:
    """Return whether each row's number is shared with another known row, by counting each
    number in an array over their range; None when the range is too wide for that (more
    than four slots a row)."""
    lo, hi = numbers.min(), numbers.max()
    if lo is None or int(hi) - int(lo) >= max(4 * numbers.len(), 1 << 16):
        return None
    lo = int(lo)
    counts = np.zeros(int(hi) - lo + 1, dtype=np.uint8)
    values, masks = numbers.fill_null(lo).get_chunks(), None
    if numbers.null_count():
        masks = known.get_chunks()
        if [c.len() for c in masks] != [c.len() for c in values]:
            values, masks = [numbers.fill_null(lo).rechunk()], [known.rechunk()]
    everyone = np.zeros(0, dtype=np.bool_)
    for j, chunk in enumerate(values):
        _count_ids(chunk.to_numpy(), masks[j].to_numpy() if masks is not None else everyone, lo, counts)
    shared = np.zeros(numbers.len(), dtype=np.bool_)
    start = 0
    for j, chunk in enumerate(values):
        _mark_counted(chunk.to_numpy(), masks[j].to_numpy() if masks is not None else everyone,
                      lo, counts, start, shared)
        start += chunk.len()
    return shared


def multi_orders(order: pl.Series) -> pl.Series:
    """Return whether each row's order id is shared with another row (nulls: never)."""
    n = order.len()
    known = order.is_not_null()
    numbers = order if order.dtype == pl.Int64 else order.cast(pl.Int64, strict=False)
    if numbers.null_count() == order.null_count():
        # Ascending numeric ids (the usual export): equal ids are neighbours. Read chunk by
        # chunk, in place.
        shared = np.zeros(n, dtype=np.bool_)
        last = np.array([-1, 0], dtype=np.int64)
        values, masks = numbers.fill_null(0).get_chunks(), None
        if numbers.null_count():
            masks = known.get_chunks()
            if [c.len() for c in masks] != [c.len() for c in values]:
                values, masks = [numbers.fill_null(0).rechunk()], [known.rechunk()]
        start, ascending, everyone = 0, True, np.zeros(0, dtype=np.bool_)
        for j, chunk in enumerate(values):
            mask = masks[j].to_numpy() if masks is not None else everyone
            ascending = _shared_neighbours(chunk.to_numpy(), mask, start, last, shared)
            if not ascending:
                break
            start += chunk.len()
        if not ascending:
            # numbers out of order (e.g. monthly files, each ending with another numbering):
            # counted over their range when it is dense enough, else hashed and sorted below
            dense = dense_shared(numbers, known)
            if dense is not None:
                shared, ascending = dense, True
        if ascending:
            if order.dtype != pl.Int64 and shared.any():
                # numeric look-alikes ("007", "7"): test the text itself
                cand = np.flatnonzero(shared)
                shared[cand] = order.gather(cand).is_duplicated().to_numpy()
            return pl.Series("__multi", shared)
    ids = order.filter(known)
    if ids.len() < 2:
        return pl.Series("__multi", [False] * n, dtype=pl.Boolean)
    h = ids.hash(20270101).to_numpy()
    ordered, starts = runs(h)
    sizes = np.diff(np.append(starts, h.size))
    shared = np.empty(h.size, dtype=bool)
    shared[ordered] = np.repeat(sizes > 1, sizes)
    out = np.zeros(n, dtype=bool)
    where = known.arg_true().to_numpy()
    if shared.any():
        # the candidates above may include hash look-alikes: test the text itself
        cand = np.flatnonzero(shared)
        shared[cand] = ids.gather(cand).is_duplicated().to_numpy()
    out[where] = shared
    return pl.Series("__multi", out)


def aligned(values: pl.Series, like: pl.Series) -> pl.Series:
    """Return ``values`` cut into the same chunks as ``like``.

    A frame read by the streaming engine comes in many chunks, shared by its columns; a
    column added in one chunk would make ``select`` copy every column into one chunk.
    """
    if like.n_chunks() == 1:
        return values.rechunk()
    parts, start = [], 0
    for chunk in like.get_chunks():
        parts.append(values.slice(start, chunk.len()).rechunk())
        start += chunk.len()
    return pl.concat(parts, rechunk=False)


def same_cut(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with every column cut into the chunks of its first column.

    The streaming engine returns a column it computed as a constant (``items`` of an export
    without quantities, a missing ``birthday``) in one chunk and the others in many; a frame
    whose columns are cut differently is copied whole by the next lazy operation
    (``drop``, ``select``): about a gigabyte at 20M rows. Only the odd columns are cut here.
    """
    if frame.width < 2:
        return frame
    like = frame.to_series(0)
    lengths = [c.len() for c in like.get_chunks()]
    odd = [c for c in frame.columns[1:] if [x.len() for x in frame[c].get_chunks()] != lengths]
    return frame.with_columns(aligned(frame[c], like) for c in odd) if odd else frame


def fill_orders(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with ``__multi`` (only where some order has more than one line), and
    the gaps of multi-line orders filled from the order (``__amount_filled``)."""
    multi = multi_orders(frame["order"])
    if not multi.any():
        return frame
    frame = frame.with_columns(multi, pl.lit(False).alias("__amount_filled"))
    at = multi.arg_true()
    sub = frame[at].with_columns(
        pl.col("cust_raw").fill_null(
            # the largest id as text (UInt64: prefix + fixed-width digits, whose numbers
            # order as their texts)
            pl.col("cust_raw").max().over("order") if frame["cust_raw"].dtype == pl.UInt64
            else pl.col("cust_raw").cast(pl.String).max().over("order").cast(frame["cust_raw"].dtype)),
        pl.col("date").fill_null(pl.col("date").min().over("order")),
        (pl.col("__no_date") & pl.col("date").min().over("order").is_not_null()).alias("__date_filled"),
        (pl.col("__no_amount") & pl.col("amount").is_not_null().any().over("order")).alias("__amount_filled"),
    ).with_columns(
        pl.when(pl.col("__amount_filled")).then(0.0).otherwise(pl.col("amount")).alias("amount"),
        (pl.col("__no_date") & ~pl.col("__date_filled")).alias("__no_date"),
        (pl.col("__no_amount") & ~pl.col("__amount_filled")).alias("__no_amount"),
    )
    return frame.with_columns(
        frame[c].scatter(at, sub[c]) for c in
        ("cust_raw", "date", "amount", "__no_date", "__no_amount", "__amount_filled"))


def classify(frame: pl.DataFrame, sales: Sales, has_order: bool,
             days: tuple[int, np.ndarray] | None | str = "frame", by_day: bool = False) -> pl.DataFrame:
    """Return the rows with ``reason`` (a REASONS index; null = used), order gaps filled, returns
    signed; ``__multi`` marks the lines of multi-line orders (no such column: none).

    Date outliers are judged among the frame's dates, or among ``days`` (``day_counts`` of
    every file of the input) when the frame is a part of it (a cluster's partition).
    ``by_day``: every file reads the same date column in the same format, so lines repeated
    across files are looked for only among rows on dates that several files have
    (``duplicate_lines``).
    """
    dup = pl.lit(False)
    if "__h" in frame.columns:
        frame = frame.with_columns(aligned(duplicate_lines(frame, has_order, by_day), frame["__pos"])).drop("__h")
        dup = pl.col("__dup")
    if has_order:
        frame = fill_orders(frame)
    multi = "__multi" in frame.columns
    day = pl.col("date").cast(pl.Int32)
    start, end = sales.window if sales.window else (None, None)
    outside = pl.lit(False)
    if start is not None:
        outside = outside | (day < start.toordinal() - EPOCH_ORDINAL)
    if end is not None:
        outside = outside | (day > end.toordinal() - EPOCH_ORDINAL)
    filled_zero = pl.col("__amount_filled") if multi else pl.lit(False)
    bounds = outlier_days(frame["date"].cast(pl.Int32)) if isinstance(days, str) else outlier_bounds(days)
    if bounds is not None:  # a window the program gives is the user's word on the period
        first = bounds[0] if start is None else min(bounds[0], start.toordinal() - EPOCH_ORDINAL)
        last = bounds[1] if end is None else max(bounds[1], end.toordinal() - EPOCH_ORDINAL)
        bounds = first, last
    outlier = pl.lit(False) if bounds is None else ~day.is_between(*bounds).fill_null(True)
    zero = (pl.col("amount") == 0) & ~filled_zero
    # A zero-amount sale is a visit with no revenue unless the program rejects them.
    reject_zero = sales.format.zero_amount == "reject"
    tests = [
        pl.col("__empty"), pl.col("__no_date"), pl.col("date").is_null(), pl.col("__no_amount"),
        pl.col("amount").is_null(), ~pl.col("__no_items") & pl.col("items").is_null(),
        zero if reject_zero else pl.lit(False), dup, outside, outlier,
    ]
    # Each test alone is a cheap pass; the chain (first test that applies) only needs the
    # tests that hit some row — on a clean export, none.
    hits = frame.select(test.any().alias(str(code)) for code, test in enumerate(tests)).row(0)
    reason = pl.lit(None, dtype=pl.UInt8)
    for code in reversed([c for c, hit in enumerate(hits) if hit]):
        reason = pl.when(tests[code]).then(pl.lit(code, dtype=pl.UInt8)).otherwise(reason)
    amount = pl.col("amount")
    if sales.cancel_prefix and has_order:
        cancelled = pl.col("order").str.starts_with(sales.cancel_prefix).fill_null(False)
        amount = pl.when(cancelled).then(-amount.abs()).otherwise(amount)
    keep = ["__pos", "cust_raw", "birthday"] + (["order"] if has_order else []) + (["__multi"] if multi else [])
    keep += ["__tod"] if "__tod" in frame.columns else []
    return frame.select(
        *keep,
        *([] if reject_zero else [zero.fill_null(False).alias("__zero")]),
        reason.alias("reason"),
        amount.alias("amount"),
        day.alias("day"),
        # a missing quantity counts one item (a quantity that cannot be read is rejected)
        pl.col("items").fill_null(1.0).alias("items"),
    )


def visits_at_times(used: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Return one row per visit of an export with times and no order column: a customer's
    lines at one date and time are summed (anonymous lines stay one a visit)."""
    known = used["cust_raw"].is_not_null()
    grouped = (
        used.filter(known)
        .group_by(["cust_raw", "day", "__tod"])
        .agg(pl.col("amount").sum(), pl.col("items").sum(),
             pl.col("birthday").sort_by("__pos").drop_nulls().first(), pl.col("__pos").min())
        .with_columns(pl.col("amount").round(6), pl.col("items").round(6))
        .sort("__pos")  # group_by does not keep an order: keep the file's
        .select(cols)
    )
    return pl.concat([grouped, used.filter(~known).select(cols)])


def transactions(used: pl.DataFrame, has_order: bool) -> pl.DataFrame:
    """Return one row per transaction: rows sharing an order (and customer) are summed;
    without an order column, a customer's lines at one date and time (``visits_at_times``)."""
    cols = ["cust_raw", "day", "amount", "items", "birthday", "__pos"]
    if "__tod" in used.columns:
        return visits_at_times(used, cols)
    if "__multi" not in used.columns or not used["__multi"].any():
        return used.select(cols)
    # Only orders of more than one line need summing; a single line is its own visit.
    multi = used["__multi"]
    grouped = (
        used.filter(multi)
        .group_by(["cust_raw", "order"])
        .agg(
            pl.col("day").sort_by("__pos").first(),
            pl.col("amount").sum(),
            pl.col("items").sum(),
            pl.col("birthday").sort_by("__pos").drop_nulls().first(),
            pl.col("__pos").min(),
        )
        # A parallel sum may add an order's lines in any order; rounding far below a
        # cent makes the total the same bits on every run.
        .with_columns(pl.col("amount").round(6), pl.col("items").round(6))
        .select(cols)
    )
    return pl.concat([used.filter(~multi).select(cols), grouped])
