"""The floor: the least work any tool must do on the export — scan the CSV once and
aggregate revenue, visits, first and last date per identified customer with Polars.

Usage: python bench/floor.py SALES.csv [--customer COL] [--order COL] [--date COL] [--amount COL]
(prints a JSON line: customers, rows, revenue). The column names default to those of
`punchcard sample-data` (customer, order, date, amount); the accounts shape of
`bench/run.py` passes `--customer customer_id --order order_id`.
"""

from __future__ import annotations

import argparse
import json
import time

import polars as pl


def floor(path: str, customer: str = "customer", order: str = "order", date: str = "date",
          amount: str = "amount") -> pl.DataFrame:
    """Return one row per identified customer: revenue, visits, first and last date."""
    return (
        pl.scan_csv(path, schema_overrides={customer: pl.String, date: pl.String,
                                            amount: pl.Float64, order: pl.String})
        .filter(pl.col(customer).is_not_null())
        .with_columns(pl.col(date).str.to_date("%Y-%m-%d"))
        .group_by(customer)
        .agg(revenue=pl.col(amount).sum(),
             visits=pl.col(order).n_unique(),
             first=pl.col(date).min(),
             last=pl.col(date).max())
        .collect()
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sales")
    ap.add_argument("--customer", default="customer")
    ap.add_argument("--order", default="order")
    ap.add_argument("--date", default="date")
    ap.add_argument("--amount", default="amount")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = floor(args.sales, args.customer, args.order, args.date, args.amount)
    print(json.dumps({"customers": out.height, "revenue": float(out["revenue"].sum()),
                      "visits": int(out["visits"].sum()),
                      "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
