"""The customers and data blocks, checked on a ledger small enough to count by hand."""

from __future__ import annotations

import numpy as np
import polars as pl

from punchcard.results.describe import data_summary, describe
from punchcard.ingest.ledger import DataQuality, Ledger


def ledger() -> Ledger:
    # cust 0: days 0, 10, 40 (30 + 30 + 40 = 100); cust 1: day 35 (50); anonymous day 5 (7)
    tx = pl.DataFrame({"cust": [0, 0, 0, 1], "day": [0, 10, 40, 35],
                       "amount": [30.0, 30.0, 40.0, 50.0], "items": [1.0] * 4},
                      schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    anon = pl.DataFrame({"day": [5], "amount": [7.0], "items": [1.0]},
                        schema={"day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    q = DataQuality(rows_read=6, rows_used=5, rejected={"zero_amount": 1},
                    examples={"zero_amount": [{"file": "f.csv", "line": 3, "text": "••••,x,0"}]})
    return Ledger(tx, anon, 2, np.zeros(2, np.uint64), None, 0, 40, q)


def test_describe():
    c = describe(ledger())
    assert c["repeat_share"] == 0.5
    assert c["pareto"][50] == {"customer_share": 0.5, "revenue_share": 100 / 150}
    assert c["top20_revenue_share"] == 0.0  # round(0.2 × 2) = 0 customers
    assert c["frequency"][0] == {"transactions": "1", "customers": 1}
    assert c["frequency"][2] == {"transactions": "3", "customers": 1}
    assert c["recency"][0] == {"weeks": "0–4", "customers": 2}  # 0 and 5 days before day 40
    assert c["interpurchase"][:3] == [{"days": "0–7", "count": 0}, {"days": "7–14", "count": 1},
                                      {"days": "14–30", "count": 0}]
    assert c["median_interpurchase_days"] == 20.0  # gaps 10 and 30
    assert c["monthly"] == [
        {"month": "1970-01", "new_customers": 1, "returning_customers": 0, "transactions": 3,
         "revenue": 67.0, "anonymous_revenue": 7.0},
        {"month": "1970-02", "new_customers": 1, "returning_customers": 1, "transactions": 2,
         "revenue": 90.0, "anonymous_revenue": 0.0}]


def test_data_summary():
    d = data_summary(ledger())
    assert d["revenue"] == 157.0 and d["transactions"] == 5 and d["customers"] == 2
    assert d["first_date"] == "1970-01-01" and d["last_date"] == "1970-02-10" and d["days"] == 41
    assert d["rows_rejected"] == {"zero_amount": 1} and d["anonymous_revenue"] == 7.0
