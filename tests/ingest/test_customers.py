"""Customers and the sorted ledger: amounts off the cent grid sort exactly, by their place
among the grid and the off-grid amounts (``money_ranks``), and come back bit for bit."""

from __future__ import annotations

import numpy as np
import polars as pl

from punchcard.ingest import read_ledger
from punchcard.ingest.customers import money_ranks
from punchcard.program import Sales


def test_money_ranks_by_hand():
    # grid of cents 4.63..4.65 (3 values) and two off-grid amounts:
    # u = 4.63, 4.639999999999999, 4.64, 4.640000000000001, 4.65
    values = pl.Series([4.64, 4.640000000000001, 4.63, 4.639999999999999, 4.65, 4.64])
    scale, lo, off, u = money_ranks(values)
    assert (scale, lo) == (100.0, 463)
    assert u.tolist() == [4.63, 4.639999999999999, 4.64, 4.640000000000001, 4.65]
    assert off.tolist() == [0, 1, 2]  # off-grid amounts below 4.63, 4.64, 4.65


def test_off_grid_amounts_sort_and_read_back_exactly(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    cents = rng.integers(100, 2000, n) / 100
    noisy = np.where(rng.random(n) < 0.2, cents + 1.0 - 1.0 + rng.choice([0.0, 1e-12, -1e-12], n), cents)
    frame = pl.DataFrame({"customer": [f"c{c}" for c in rng.integers(0, 50, n)],
                          "date": [f"2024-01-{d:02d}" for d in rng.integers(1, 4, n)],
                          "amount": noisy, "items": rng.integers(1, 3, n).astype(float),
                          "order": np.arange(n)})  # every line its own visit
    path = tmp_path / "noisy.csv"
    frame.write_csv(path)
    assert frame["amount"].map_elements(lambda v: len(repr(v)) > 8, return_dtype=pl.Boolean).any()
    led = read_ledger(Sales(paths=(path,)), base=tmp_path)
    back = pl.read_csv(path)  # the same text read by Polars: the amounts as the ledger must hold them
    keys = sorted(back["customer"].unique().to_list())
    expected = (back.with_columns(cust=pl.col("customer").replace_strict(keys, list(range(len(keys))),
                                                                        return_dtype=pl.Int32),
                                  day=pl.col("date").str.to_date().cast(pl.Int32))
                .select("cust", "day", "amount", "items").sort(["cust", "day", "amount", "items"]))
    assert led.tx.rows() == expected.rows()
    assert led.tx["amount"].to_numpy().tobytes() == expected["amount"].to_numpy().tobytes()
