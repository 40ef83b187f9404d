"""The customer base and data quality as plain data: the ``customers`` and ``data`` blocks.

Both functions read only the ledger and return plain Python values in a fixed order, so
``results.json`` is byte-identical across runs.
"""

from __future__ import annotations

from datetime import date, timedelta

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


def binned(values: pl.Series, starts: tuple[int, ...]) -> list[int]:
    """Return how many values fall in each bin [start_i, start_i+1), the last bin open."""
    idx = pl.DataFrame({"v": values}).select(
        pl.sum_horizontal([(pl.col("v") >= s).cast(pl.Int32) for s in starts[1:]]).alias("b")
    )["b"]
    counts = idx.value_counts().sort("b")
    found = dict(zip(counts["b"].to_list(), counts["count"].to_list()))
    return [int(found.get(i, 0)) for i in range(len(starts))]


def per_customer(ledger: Ledger) -> pl.DataFrame:
    """Return one row per customer: revenue, transactions, first and last day."""
    return (
        ledger.tx.lazy()
        .group_by("cust")
        .agg(pl.col("amount").sum().alias("revenue"), pl.len().alias("n"),
             pl.col("day").min().alias("first"), pl.col("day").max().alias("last"))
        .sort("cust")
        .collect()
    )


def pareto(revenue: pl.Series) -> list[dict]:
    """Return the revenue share of the top 0 %, 1 % … 100 % of customers by revenue."""
    ordered = revenue.sort(descending=True)
    total = float(ordered.sum())
    cum = ordered.cum_sum()
    n = ordered.len()
    out = []
    for k in range(101):
        top = round(k * n / 100)
        share = float(cum[top - 1]) / total if top > 0 and total else 0.0
        out.append({"customer_share": k / 100, "revenue_share": share})
    return out


def monthly(ledger: Ledger) -> list[dict]:
    """Return per calendar month: new and returning customers, transactions, revenue, anonymous revenue."""
    month = (pl.col("day").cast(pl.Date).dt.strftime("%Y-%m")).alias("month")
    firsts = ledger.tx.group_by("cust").agg(pl.col("day").min().alias("first"))
    known = (
        ledger.tx.join(firsts, on="cust").with_columns(month,
                                                       pl.col("first").cast(pl.Date).dt.strftime("%Y-%m").alias("fm"))
        .group_by("month")
        .agg(pl.col("cust").filter(pl.col("fm") == pl.col("month")).n_unique().alias("new_customers"),
             pl.col("cust").filter(pl.col("fm") != pl.col("month")).n_unique().alias("returning_customers"),
             pl.len().alias("tx"), pl.col("amount").sum().alias("rev"))
    )
    anon = ledger.anon.with_columns(month).group_by("month").agg(
        pl.len().alias("anon_tx"), pl.col("amount").sum().alias("anon_rev"))
    table = known.join(anon, on="month", how="full", coalesce=True).fill_null(0).sort("month")
    return [
        {"month": r["month"], "new_customers": int(r["new_customers"]),
         "returning_customers": int(r["returning_customers"]),
         "transactions": int(r["tx"] + r["anon_tx"]),
         "revenue": float(r["rev"] + r["anon_rev"]), "anonymous_revenue": float(r["anon_rev"])}
        for r in table.iter_rows(named=True)
    ]


def describe(ledger: Ledger) -> dict:
    """Return the ``customers`` block of results.json: Pareto, frequency, recency, gaps, months."""
    cust = per_customer(ledger)
    n = cust.height
    curve = pareto(cust["revenue"]) if n else []
    freq = cust["n"].clip(upper_bound=10).value_counts().sort("n") if n else pl.DataFrame({"n": [], "count": []})
    found = dict(zip(freq["n"].to_list(), freq["count"].to_list()))
    frequency = [{"transactions": str(k) if k < 10 else "10+", "customers": int(found.get(k, 0))}
                 for k in range(1, 11)]
    weeks = (ledger.end_day - cust["last"]) / 7.0
    recency = [{"weeks": lab, "customers": c}
               for lab, c in zip(bin_labels(RECENCY_WEEKS), binned(weeks, RECENCY_WEEKS))]
    days = ledger.tx.select("cust", "day").unique().sort(["cust", "day"])
    gaps = days.select(pl.col("day").diff().over("cust").alias("g")).drop_nulls()["g"]
    inter = [{"days": lab, "count": c}
             for lab, c in zip(bin_labels(INTERPURCHASE_DAYS), binned(gaps, INTERPURCHASE_DAYS))]
    return {
        "top20_revenue_share": curve[20]["revenue_share"] if curve else 0.0,
        "repeat_share": float((cust["n"] >= 2).sum() / n) if n else 0.0,
        "median_interpurchase_days": float(gaps.median()) if gaps.len() else None,
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
