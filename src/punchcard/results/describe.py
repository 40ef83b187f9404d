"""The customer base and data quality as plain data: the ``customers`` and ``data`` blocks.

Both functions read only the ledger and return plain Python values in a fixed order, so
``results.json`` is byte-identical across runs.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from numba import njit

from punchcard.ingest import Ledger

RECENCY_WEEKS = (0, 4, 8, 13, 26, 52, 104)  # bin starts; the last bin is open
INTERPURCHASE_DAYS = (0, 7, 14, 30, 60, 90, 180, 365)
EPOCH = date(1970, 1, 1)


def iso_day(day: int) -> str:
    """Return an epoch day number as YYYY-MM-DD."""
    return (EPOCH + timedelta(days=int(day))).isoformat()


def bin_labels(starts: tuple[int, ...]) -> list[str]:
    """Return labels such as ``0–4``, ``4–8`` … ``104+`` for bin starts."""
    return [f"{a}–{b}" for a, b in zip(starts, starts[1:])] + [f"{starts[-1]}+"]


def _arrays(ledger: Ledger) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tx = ledger.tx  # zero-copy views of the ledger's columns
    return tx["cust"].to_numpy(), tx["day"].to_numpy(), tx["amount"].to_numpy()


def per_customer(ledger: Ledger) -> dict[str, np.ndarray]:
    """Return per customer (in key order): revenue, transactions, first and last day.

    One sequential pass over the (cust, day)-sorted ledger: sums add in the same order on
    every run.
    """
    cust, day, amount = _arrays(ledger)
    if len(cust) == 0:
        empty = np.zeros(0)
        return {"revenue": empty, "n": empty.astype(np.int64), "first": empty, "last": empty}
    new = np.ones(len(cust), dtype=bool)
    new[1:] = cust[1:] != cust[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(cust)) - 1
    return {"revenue": np.add.reduceat(amount, starts), "n": np.diff(np.append(starts, len(cust))),
            "first": day[starts], "last": day[ends]}


def pareto(revenue: np.ndarray) -> list[dict]:
    """Return the revenue share of the top 0 %, 1 % … 100 % of customers by revenue."""
    ordered = np.sort(np.asarray(revenue, dtype=np.float64))[::-1]
    total = float(ordered.sum())
    cum = np.cumsum(ordered)
    n = len(ordered)
    out = []
    for k in range(101):
        top = round(k * n / 100)
        share = float(cum[top - 1]) / total if top > 0 and total else 0.0
        out.append({"customer_share": k / 100, "revenue_share": share})
    return out


def binned(values: np.ndarray, starts: tuple[int, ...]) -> list[int]:
    """Return how many values fall in each bin [start_i, start_i+1), the last bin open."""
    idx = np.searchsorted(np.asarray(starts[1:], dtype=np.float64), np.asarray(values), side="right")
    return [int(c) for c in np.bincount(idx, minlength=len(starts))[: len(starts)]]


def _month_table(lo: int, hi: int) -> np.ndarray:
    """Return months since 1970-01 for the epoch days lo..hi (a table indexed by day − lo)."""
    span = np.arange(lo, hi + 1, dtype=np.int64)
    return span.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@njit(cache=True)
def _monthly(cust, day, amount, shard, k, anon_day, anon_amount, table, day_lo, month_lo, size):
    """Return per month (index = month − month_lo): customers active, new customers,
    transactions, revenue per customer-hash shard (k × size) and anonymous revenue, in one
    pass over the (cust, day)-sorted ledger; sums add in row order, as ``np.bincount``
    with weights does."""
    active = np.zeros(size, dtype=np.int64)
    new = np.zeros(size, dtype=np.int64)
    tx = np.zeros(size, dtype=np.int64)
    rev = np.zeros((k, size), dtype=np.float64)
    anon_rev = np.zeros(size, dtype=np.float64)
    prev_cust, prev_month = -1, -1
    for i in range(cust.size):
        m = table[day[i] - day_lo] - month_lo
        c = cust[i]
        if c != prev_cust:  # a customer's first transaction (and first month)
            new[m] += 1
            active[m] += 1
        elif m != prev_month:  # the same customer in a later month
            active[m] += 1
        tx[m] += 1
        rev[shard[c], m] += amount[i]
        prev_cust, prev_month = c, m
    for i in range(anon_day.size):
        m = table[anon_day[i] - day_lo] - month_lo
        tx[m] += 1
        anon_rev[m] += anon_amount[i]
    return active, new, tx, rev, anon_rev


def monthly(ledger: Ledger) -> list[dict]:
    """Return per calendar month: new and returning customers, transactions, revenue, anonymous revenue."""
    span = day_span(ledger)
    if span is None:
        return []
    return month_rows(*month_sums(ledger, *span))


def day_span(ledger: Ledger) -> tuple[int, int] | None:
    """Return the first and last day of any transaction, identified or anonymous (None: none)."""
    present = [d for d in (ledger.tx["day"], ledger.anon["day"]) if d.len()]
    if not present:
        return None
    return min(int(d.min()) for d in present), max(int(d.max()) for d in present)


def month_sums(ledger: Ledger, day_lo: int, day_hi: int, shards: int | None = None
               ) -> tuple[int, tuple[np.ndarray, ...]]:
    """Return (first month, per-month counts and sums) of the ledger's rows over days day_lo..day_hi.

    Revenue is summed per customer-hash shard (``shards``, default ``shard.ledger_shards``);
    a cluster's partitions, each a set of whole shards, give the same shards' sums.
    """
    from punchcard.ingest import ledger_shards, shard_of

    k = shards if shards is not None else ledger_shards(ledger)
    cust, day, amount = _arrays(ledger)
    table = _month_table(day_lo, day_hi)
    lo = int(table[0])
    size = int(table[-1]) - lo + 1
    shard = shard_of(np.asarray(ledger.cust_hash, dtype=np.uint64), k)
    return lo, _monthly(cust, day, amount, shard, k, ledger.anon["day"].to_numpy(),
                        ledger.anon["amount"].to_numpy(), table, day_lo, lo, size)


def month_rows(lo: int, sums: tuple[np.ndarray, ...]) -> list[dict]:
    """Return the ``monthly`` rows of ``month_sums``' figures (months without a transaction left out)."""
    active, new, tx, by_shard, anon_rev = sums
    rev = by_shard[0].copy()  # the shards' revenue added in shard order (shard.ordered_sum)
    for row in by_shard[1:]:
        rev += row
    out = []
    for k in range(len(tx)):
        if tx[k] == 0:
            continue
        label = str(np.datetime64(lo + k, "M"))
        out.append({"month": label, "new_customers": int(new[k]),
                    "returning_customers": int(active[k] - new[k]),
                    "transactions": int(tx[k]), "revenue": float(rev[k] + anon_rev[k]),
                    "anonymous_revenue": float(anon_rev[k])})
    return out


@njit(cache=True)
def _gap_counts(cust, day, longest):
    """Return how many times each gap of 1..longest days separates a customer's consecutive
    distinct days (index = gap)."""
    counts = np.zeros(longest + 1, dtype=np.int64)
    for i in range(1, cust.size):
        if cust[i] == cust[i - 1]:
            gap = day[i] - day[i - 1]
            if gap > 0:
                counts[gap] += 1
    return counts


def median_of_counts(counts: np.ndarray) -> float | None:
    """Return the median of values given as how many times each (its index) occurs, as
    ``np.median`` of those values would; None when there are none."""
    total = int(counts.sum())
    if total == 0:
        return None
    cum = np.cumsum(counts)
    upper = int(np.searchsorted(cum, total // 2 + 1))  # the (total // 2)-th value, from 0
    if total % 2:
        return float(upper)
    lower = int(np.searchsorted(cum, total // 2))  # the one before it
    return float(np.mean(np.array([lower, upper], dtype=np.float64)))


def describe(ledger: Ledger) -> dict:
    """Return the ``customers`` block of results.json: Pareto, frequency, recency, gaps, months."""
    _, day, _ = _arrays(ledger)
    return customers_block(per_customer(ledger), gap_counts(ledger, int(day.max() - day.min()) if len(day) else 0),
                           monthly(ledger), int(ledger.end_day))


def gap_counts(ledger: Ledger, longest: int) -> np.ndarray:
    """Return how many times each gap of 1..longest days separates a customer's consecutive distinct days."""
    ids, day, _ = _arrays(ledger)
    return _gap_counts(ids, day, longest)


def customers_block(cust: dict[str, np.ndarray], gaps: np.ndarray, months: list[dict], end_day: int) -> dict:
    """Return the ``customers`` block from the per-customer figures, the gap counts and the monthly rows."""
    n = len(cust["n"])
    curve = pareto(cust["revenue"]) if n else []
    counts = np.bincount(np.minimum(cust["n"], 10), minlength=11)
    frequency = [{"transactions": str(k) if k < 10 else "10+", "customers": int(counts[k])}
                 for k in range(1, 11)]
    weeks = (end_day - cust["last"]) / 7.0
    recency = [{"weeks": lab, "customers": c}
               for lab, c in zip(bin_labels(RECENCY_WEEKS), binned(weeks, RECENCY_WEEKS))]
    per_bin = np.bincount(np.searchsorted(np.asarray(INTERPURCHASE_DAYS[1:], dtype=np.float64),
                                          np.arange(len(gaps)), side="right"),
                          weights=gaps, minlength=len(INTERPURCHASE_DAYS))
    inter = [{"days": lab, "count": int(c)}
             for lab, c in zip(bin_labels(INTERPURCHASE_DAYS), per_bin[: len(INTERPURCHASE_DAYS)])]
    return {
        "top20_revenue_share": curve[20]["revenue_share"] if curve else 0.0,
        "repeat_share": float((cust["n"] >= 2).sum() / n) if n else 0.0,
        "median_interpurchase_days": median_of_counts(gaps),
        "pareto": curve,
        "frequency": frequency,
        "recency": recency,
        "interpurchase": inter,
        "monthly": months,
    }


def data_summary(ledger: Ledger) -> dict:
    """Return the ``data`` block of results.json: row accounting, totals and the date range."""
    return data_block(ledger.quality, int(ledger.n_customers), int(ledger.start_day), int(ledger.end_day),
                      data_sums(ledger), ledger.visits)


def data_sums(ledger: Ledger, shards: int | None = None) -> dict:
    """Return the ledger's transaction counts, revenue and returns (identified ones per
    customer-hash shard, anonymous ones apart) and its first and last day (None: no rows)."""
    from punchcard.ingest import ledger_shards, shard_of, shard_sums

    k = shards if shards is not None else ledger_shards(ledger)
    amount, cust = ledger.tx["amount"].to_numpy(), ledger.tx["cust"].to_numpy()
    cust_shard = shard_of(np.asarray(ledger.cust_hash, dtype=np.uint64), k)
    anon = ledger.anon["amount"].to_numpy()
    days = [d for d in (ledger.tx["day"], ledger.anon["day"]) if d.len()]
    return {
        "transactions": int(ledger.tx.height + ledger.anon.height),
        "anonymous_transactions": int(ledger.anon.height),
        "revenue_by_shard": shard_sums(amount, cust, cust_shard, k),
        "returns_by_shard": shard_sums(amount, cust, cust_shard, k, negative=True),
        "anonymous_revenue": float(np.add.reduce(anon)) if len(anon) else 0.0,
        "anonymous_returns": float(np.add.reduce(anon[anon < 0])) if np.any(anon < 0) else 0.0,
        "first": min(int(d.min()) for d in days) if days else None,
        "last": max(int(d.max()) for d in days) if days else None,
    }


def data_block(q, customers: int, start_day: int, end_day: int, sums: dict, visits: str) -> dict:
    """Return the ``data`` block from the row accounting ``q`` (a DataQuality), ``data_sums``
    and the visit rule that applied (``Ledger.visits``)."""
    from punchcard.ingest import ordered_sum

    first, last = sums["first"], sums["last"]
    return {
        "rows_read": q.rows_read,
        "rows_used": q.rows_used,
        "rows_used_zero_amount": q.used_zero_amount,
        "rows_rejected": dict(q.rejected),
        "rejected_examples": {k: [dict(e) for e in v] for k, v in q.examples.items()},
        "transactions": sums["transactions"],
        "customers": customers,
        "anonymous_transactions": sums["anonymous_transactions"],
        "anonymous_revenue": sums["anonymous_revenue"],
        "revenue": float(ordered_sum(sums["revenue_by_shard"])) + sums["anonymous_revenue"],
        "returns": -(float(ordered_sum(sums["returns_by_shard"])) + sums["anonymous_returns"]),
        "first_date": iso_day(first) if first is not None else None,
        "last_date": iso_day(last) if last is not None else None,
        "days": int(end_day - start_day + 1),
        "visits": visits,
    }
