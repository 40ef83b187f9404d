"""Rows: duplicate lines found through the repeated hashes equal the definition, row by row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from punchcard.ingest.rows import (OUTLIER_MIN_DAYS, OUTLIER_QUANTILE, cross_file_days, dense_shared,
                                   duplicate_lines, multi_orders, outlier_days, repeated_rows)
from punchcard.ingest.sources import FILE_SHIFT


def by_definition(h: list[int], files: list[int]) -> list[bool]:
    """A line is a duplicate when the first line with its hash is in another (earlier)
    file — the rule written as a plain loop."""
    first: dict[int, int] = {}
    out = []
    for i, v in enumerate(h):
        j = first.setdefault(v, i)
        out.append(files[j] != files[i])
    return out


def test_repeated_rows_by_hand():
    # 5 occurs at rows 0 and 3, 9 at rows 2 and 4; 7 once
    assert repeated_rows(np.array([5, 7, 9, 5, 9], dtype=np.uint64)).tolist() == [0, 2, 3, 4]
    assert repeated_rows(np.array([1, 2, 3], dtype=np.uint64)).tolist() == []


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("has_order", [True, False])
def test_duplicate_lines_match_the_definition(seed, has_order):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    h = rng.integers(0, max(1, n // int(rng.integers(1, 5))), n).astype(np.uint64)
    files = np.sort(rng.integers(0, 4, n))
    pos = (files.astype(np.int64) << FILE_SHIFT) + np.arange(n)
    got = duplicate_lines(pl.DataFrame({"__h": h, "__pos": pos}), has_order).to_list()
    assert got == by_definition(h.tolist(), files.tolist())
    assert any(got) or n < 20  # the cases do hold duplicates


@pytest.mark.parametrize("seed", range(6))
def test_duplicate_lines_by_day_match_the_definition(seed):
    # identical lines have the same date: a line's hash is drawn from its day (or its
    # missing date, -1), so the search among the days several files share finds the same
    # duplicates as the search among all rows
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    files = np.sort(rng.integers(0, 4, n))
    # days mostly in the file's own month (no day shared), some overlap and missing dates
    day = files * 31 + rng.integers(0, 31, n) + np.where(rng.random(n) < 0.2, 15, 0)
    day = np.where(rng.random(n) < 0.05, -1, day)
    h = (day + 2) * 1000 + rng.integers(0, 3, n)
    pos = (files.astype(np.int64) << FILE_SHIFT) + np.arange(n)
    date = pl.Series("date", day, dtype=pl.Int32).replace(-1, None).cast(pl.Date)
    frame = pl.DataFrame({"__h": h.astype(np.uint64), "__pos": pos, "date": date})
    want = by_definition(h.tolist(), files.tolist())
    assert duplicate_lines(frame, True, by_day=True).to_list() == want
    assert duplicate_lines(frame, True).to_list() == want


def test_rows_on_no_shared_day_are_not_searched():
    # two files, days 0-1 and 2-3: no day in both, so the repeated hash 7 (rows 0 and 2,
    # a hash look-alike on another day) is not a duplicate when searched by day
    frame = pl.DataFrame({"__h": np.array([7, 8, 7, 9], dtype=np.uint64),
                          "__pos": [0, 1, 1 << FILE_SHIFT, (1 << FILE_SHIFT) + 1],
                          "date": pl.Series([0, 1, 2, 3], dtype=pl.Int32).cast(pl.Date)})
    assert cross_file_days(frame).tolist() == []
    assert duplicate_lines(frame, True, by_day=True).to_list() == [False] * 4
    assert duplicate_lines(frame, True).to_list() == [False, False, True, False]
    # day 1 in both files: rows 1 and 2 are searched
    frame = frame.with_columns(pl.Series("date", [0, 1, 1, 3], dtype=pl.Int32).cast(pl.Date))
    assert cross_file_days(frame).tolist() == [1, 2]
    # no dates at all: every row shares its missing date
    frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("date"))
    assert cross_file_days(frame).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("seed", range(8))
def test_multi_orders_out_of_order_match_a_count(seed):
    # order ids not ascending (monthly files, each ending with another numbering), with
    # gaps and missing ids: counted over their range (or hashed when the range is wide),
    # a row is in a multi-line order when its id occurs twice or more
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    spread = [n // 2, 10 * n, 1 << 40][seed % 3]
    ids = rng.integers(0, max(spread, 2), n)
    known = rng.random(n) > 0.1
    order = pl.Series("order", [int(v) if k else None for v, k in zip(ids, known)], dtype=pl.Int64)
    counts = {}
    for v in order.drop_nulls().to_list():
        counts[v] = counts.get(v, 0) + 1
    want = [v is not None and counts[v] > 1 for v in order.to_list()]
    assert multi_orders(order).to_list() == want
    assert multi_orders(order.cast(pl.String)).to_list() == want
    chunked = pl.concat([order.slice(0, n // 3), order.slice(n // 3)], rechunk=False)
    assert multi_orders(chunked).to_list() == want


def test_dense_shared_by_hand():
    # ids 5, 3, 5, None, 4, 3: 5 and 3 twice (rows 0, 1, 2, 5); the range 3-5 is counted
    order = pl.Series([5, 3, 5, None, 4, 3], dtype=pl.Int64)
    assert dense_shared(order, order.is_not_null()).tolist() == [True, True, True, False, False, True]
    wide = pl.Series([0, 1 << 40, 0], dtype=pl.Int64)  # a range of 2^40 for 3 rows: not counted
    assert dense_shared(wide, wide.is_not_null()) is None


def outliers_by_quantiles(day: pl.Series):
    """The outlier rule written with Polars' quantiles (the definition in docs/data.md)."""
    known = day.drop_nulls()
    if known.len() == 0:
        return None
    low = int(known.quantile(OUTLIER_QUANTILE, interpolation="lower"))
    high = int(known.quantile(1 - OUTLIER_QUANTILE, interpolation="higher"))
    reach = max(high - low, OUTLIER_MIN_DAYS)
    if int(known.min()) >= low - reach and int(known.max()) <= high + reach:
        return None
    return low - reach, high + reach


@pytest.mark.parametrize("seed", range(10))
def test_outlier_days_by_counts_match_the_quantiles(seed):
    # a year of dates, a few typing errors (1901, 2099: ±45,000 days), missing dates:
    # counted per day, the bounds are the quantiles' bounds
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    days = rng.integers(19_700, 20_065, n)
    odd = rng.random(n) < [0, 0.001, 0.006][seed % 3]
    days = np.where(odd, rng.choice([-25_000, 47_000], n), days)
    day = pl.Series(days, dtype=pl.Int32).scatter(np.flatnonzero(rng.random(n) < 0.05), None)
    assert outlier_days(day) == outliers_by_quantiles(day)
    if seed % 3 == 2 and n > 500:
        assert outlier_days(day) is not None  # the case does hold outliers
