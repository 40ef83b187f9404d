"""The customer base and data quality as plain data: the ``customers`` and ``data`` blocks.

Both functions read only the ledger and return plain Python values in a fixed order, so
``results.json`` is byte-identical across runs.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from punchcard.ledger import Ledger

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


def _month_index(day: np.ndarray) -> np.ndarray:
    """Return months since 1970-01 for epoch days (through a table of the few days there are)."""
    if len(day) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = int(day.min())
    span = np.arange(lo, int(day.max()) + 1, dtype=np.int64)
    table = span.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return table[day - lo]


def monthly(ledger: Ledger) -> list[dict]:
    """Return per calendar month: new and returning customers, transactions, revenue, anonymous revenue."""
    cust, day, amount = _arrays(ledger)
    anon_day = ledger.anon["day"].to_numpy().astype(np.int64)
    anon_amount = ledger.anon["amount"].to_numpy().astype(np.float64)
    month = _month_index(day)
    anon_month = _month_index(anon_day)
    every = np.concatenate([month, anon_month])
    if len(every) == 0:
        return []
    lo, hi = int(every.min()), int(every.max())
    size = hi - lo + 1
    m, am = month - lo, anon_month - lo
    # a (customer, month) pair starts where the customer or the month changes (sorted ledger)
    pair = np.ones(len(cust), dtype=bool)
    pair[1:] = (cust[1:] != cust[:-1]) | (m[1:] != m[:-1])
    first_of_customer = np.ones(len(cust), dtype=bool)
    first_of_customer[1:] = cust[1:] != cust[:-1]
    active = np.bincount(m[pair], minlength=size)
    new = np.bincount(m[first_of_customer], minlength=size)
    tx = np.bincount(m, minlength=size) + np.bincount(am, minlength=size)
    rev = np.bincount(m, weights=amount, minlength=size)
    anon_rev = np.bincount(am, weights=anon_amount, minlength=size)
    out = []
    for k in range(size):
        if tx[k] == 0:
            continue
        label = str(np.datetime64(lo + k, "M"))
        out.append({"month": label, "new_customers": int(new[k]),
                    "returning_customers": int(active[k] - new[k]),
                    "transactions": int(tx[k]), "revenue": float(rev[k] + anon_rev[k]),
                    "anonymous_revenue": float(anon_rev[k])})
    return out


def describe(ledger: Ledger) -> dict:
    """Return the ``customers`` block of results.json: Pareto, frequency, recency, gaps, months."""
    cust = per_customer(ledger)
    n = len(cust["n"])
    curve = pareto(cust["revenue"]) if n else []
    counts = np.bincount(np.minimum(cust["n"], 10), minlength=11)
    frequency = [{"transactions": str(k) if k < 10 else "10+", "customers": int(counts[k])}
                 for k in range(1, 11)]
    weeks = (ledger.end_day - cust["last"]) / 7.0
    recency = [{"weeks": lab, "customers": c}
               for lab, c in zip(bin_labels(RECENCY_WEEKS), binned(weeks, RECENCY_WEEKS))]
    ids, day, _ = _arrays(ledger)
    step = np.diff(day)
    gaps = step[(ids[1:] == ids[:-1]) & (step > 0)]  # between a customer's distinct days
    inter = [{"days": lab, "count": c}
             for lab, c in zip(bin_labels(INTERPURCHASE_DAYS), binned(gaps, INTERPURCHASE_DAYS))]
    return {
        "top20_revenue_share": curve[20]["revenue_share"] if curve else 0.0,
        "repeat_share": float((cust["n"] >= 2).sum() / n) if n else 0.0,
        "median_interpurchase_days": float(np.median(gaps)) if len(gaps) else None,
        "pareto": curve,
        "frequency": frequency,
        "recency": recency,
        "interpurchase": inter,
        "monthly": monthly(ledger),
    }


def data_summary(ledger: Ledger) -> dict:
    """Return the ``data`` block of results.json: row accounting, totals and the date range."""
    q = ledger.quality
    both = pl.concat([ledger.tx.select("day", "amount"), ledger.anon.select("day", "amount")])
    first, last = both["day"].min(), both["day"].max()
    return {
        "rows_read": q.rows_read,
        "rows_used": q.rows_used,
        "rows_rejected": dict(q.rejected),
        "rejected_examples": {k: [dict(e) for e in v] for k, v in q.examples.items()},
        "transactions": int(both.height),
        "customers": int(ledger.n_customers),
        "anonymous_transactions": int(ledger.anon.height),
        "anonymous_revenue": float(ledger.anon["amount"].sum()),
        "revenue": float(both["amount"].sum()),
        "returns": float(-both["amount"].filter(both["amount"] < 0).sum()),
        "first_date": iso_day(first) if first is not None else None,
        "last_date": iso_day(last) if last is not None else None,
        "days": int(ledger.end_day - ledger.start_day + 1),
    }
