"""The floor: the least work any tool must do on the export — scan the CSV once and
aggregate revenue, visits, first and last date per identified customer with Polars.

Usage: python bench/floor.py SALES.csv   (prints a JSON line: customers, rows, revenue)
"""

from __future__ import annotations

import json
import sys
import time

import polars as pl


def floor(path: str) -> pl.DataFrame:
    """Return one row per identified customer: revenue, visits, first and last date."""
    return (
        pl.scan_csv(path, schema_overrides={"customer": pl.String, "date": pl.String,
                                            "amount": pl.Float64, "order": pl.String})
        .filter(pl.col("customer").is_not_null())
        .with_columns(pl.col("date").str.to_date("%Y-%m-%d"))
        .group_by("customer")
        .agg(revenue=pl.col("amount").sum(),
             visits=pl.col("order").n_unique(),
             first=pl.col("date").min(),
             last=pl.col("date").max())
        .collect()
    )


def main() -> None:
    t0 = time.perf_counter()
    out = floor(sys.argv[1])
    print(json.dumps({"customers": out.height, "revenue": float(out["revenue"].sum()),
                      "visits": int(out["visits"].sum()),
                      "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
