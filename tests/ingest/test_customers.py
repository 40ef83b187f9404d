"""Customers and the sorted ledger: amounts off the cent grid sort exactly, by their place
among the grid and the off-grid amounts (``money_ranks``), and come back bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
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


def test_id_order_and_hash_by_hand():
    from punchcard.ingest.customers import id_order, stable_hash

    # a shared prefix ("C0000") is skipped; what follows sorts as text, the shorter first
    ids = pl.Series(["C00009", "C000010", "C0000", "C00001"])
    assert id_order(ids).tolist() == [2, 3, 1, 0]  # C0000 < C00001 < C000010 < C00009
    # past 8 bytes after the prefix: sorted by Polars, the same order
    long = pl.Series(["kunde-0002@example.no", "kunde-0001@example.no", "a"])
    assert id_order(long).tolist() == [2, 1, 0]
    # FNV-1a of "a" (0xaf63dc4c8601ec8c), then the splitmix64 finaliser
    h = np.uint64(0xAF63DC4C8601EC8C)
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    assert stable_hash(pl.Series(["a", None])).tolist()[0] == int(h)


def accounts(rows: int, tail: str = "") -> str:
    """Return a CSV of ids written as C + 6 digits (a sample of plain ones), plus ``tail``."""
    body = "".join(f"C{(i * 7919) % 5000:06d},2024-01-{1 + i % 28:02d},{1 + i % 50}.25,{i}\n"
                   for i in range(rows))
    return "customer_id,date,amount,order_id\n" + body + tail


def text_ledger(monkeypatch, path):
    """Return the ledger read with every id as text (the prefix + digits path turned off)."""
    from punchcard.ingest import sources

    with monkeypatch.context() as m:
        m.setattr(sources, "prefixed", lambda frame, roles: None)
        return read_ledger(Sales(paths=(path,)), base=path.parent)


def same_ledger(a, b):
    assert a.tx.equals(b.tx) and a.anon.equals(b.anon) and a.n_customers == b.n_customers
    assert a.cust_hash.tolist() == b.cust_hash.tolist() and a.quality == b.quality


def test_prefixed_ids_key_as_their_text(tmp_path, monkeypatch):
    from punchcard.ingest.customers import stable_hash
    from punchcard.ingest.sources import prefixed

    assert prefixed(pl.DataFrame({"c": ["C000001", "C123456"]}), {"customer": "c"}) == ("C", 6)
    path = tmp_path / "accounts.csv"
    # one anonymous sale, and a line of order 5 without its customer (taken from the order)
    path.write_text(accounts(30000, ",2024-02-01,3.00,30001\n,2024-01-06,2.00,5\n"))
    led = read_ledger(Sales(paths=(path,)), base=tmp_path)
    same_ledger(led, text_ledger(monkeypatch, path))
    # order 5 = C(5 × 7919 mod 5000) = C004595 on 2024-01-06: 6.25 + 2.00
    key = sorted({f"C{(i * 7919) % 5000:06d}" for i in range(30000)}).index("C004595")
    assert 8.25 in led.tx.filter(pl.col("cust") == key)["amount"].to_list()
    ids = sorted({f"C{(i * 7919) % 5000:06d}" for i in range(30000)})
    assert led.n_customers == len(ids) == 5000 and led.anon.height == 1
    assert led.cust_hash.tolist() == stable_hash(pl.Series(ids)).tolist()


@pytest.mark.parametrize("odd", ["C+00042", "C-00042", " C000042", "C0000042", "D000042", "c000042", "C00004x"])
def test_ids_not_prefix_and_digits_after_the_sample_read_as_text(tmp_path, monkeypatch, odd):
    # the sample (256 KiB) shows C + 6 digits; a later id written otherwise is its own text
    path = tmp_path / "accounts.csv"
    path.write_text(accounts(20000, f"{odd},2024-02-01,3.00,20001\nC000042,2024-02-02,4.00,20002\n"))
    led = read_ledger(Sales(paths=(path,)), base=tmp_path)
    same_ledger(led, text_ledger(monkeypatch, path))
    # " C000042" is C000042 (spaces stripped): 5000 customers; any other odd id is one more
    assert led.n_customers == (5000 if odd == " C000042" else 5001)


def test_in_halves_runs_both_halves_in_order_on_two_threads_or_one(monkeypatch) -> None:
    # the ids' length check, the copy of the customer codes and the rows' keys run each half of
    # their chunks (rows) on its own thread; with one thread allowed, one after the other
    import threading

    from punchcard.ingest import parse

    seen = []

    def work(part):
        seen.append(threading.current_thread().name)
        return list(part)

    monkeypatch.setattr(parse, "workers", lambda: 2)
    assert parse.in_halves(work, list(range(5))) == [[0, 1, 2], [3, 4]]
    assert len(set(seen)) == 2
    seen.clear()
    monkeypatch.setattr(parse, "workers", lambda: 1)
    assert parse.in_halves(work, range(5)) == [[0, 1, 2], [3, 4]]
    assert seen == [threading.current_thread().name] * 2


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("off_grid", [False, True])
def test_packed_sort_orders_rows_as_a_full_sort_does(off_grid, chunks, threads, monkeypatch):
    # the rows are packed straight into their run (a counting sort: one run per customer, then
    # one per day for the anonymous rows, code n_customers), each half of the chunks on its own
    # thread, then each run is sorted: a few rows by insertion, a long run (customer 7's ~2,000
    # rows, a day with ~60 anonymous rows) by numpy's sort; the same with one thread allowed
    from punchcard.ingest import customers, parse
    from punchcard.ingest.customers import packed_sort

    monkeypatch.setattr(parse, "workers", lambda: threads)  # (one thread: the halves one after the other)
    halves = []
    real = customers.in_halves
    monkeypatch.setattr(customers, "in_halves", lambda work, items: halves.append(len(items)) or real(work, items))
    rng = np.random.default_rng(11)
    n, n_customers = 20000, 300
    cust = rng.integers(0, n_customers, n).astype(np.int32)
    cust[rng.random(n) < 0.1] = 7
    day = rng.integers(19000, 19030, n).astype(np.int32)
    anonymous = rng.random(n) < 0.01
    day[anonymous & (rng.random(n) < 0.3)] = 19003  # ~60 anonymous rows on one day
    cust[anonymous] = n_customers
    amount = rng.integers(100, 5000, n) / 100
    if off_grid:  # some amounts a hair off the cent grid: the ranked packing (money_ranks)
        amount = np.where(rng.random(n) < 0.1, amount + rng.choice([1e-12, -1e-12], n), amount)
    frame = pl.DataFrame({"day": day, "amount": amount, "items": rng.integers(1, 4, n).astype(np.float64)})
    tx = (pl.concat([frame.slice(0, 7000), frame.slice(7000, 9000), frame.slice(16000)], rechunk=False)
          if chunks == 3 else frame)
    assert tx["day"].n_chunks() == chunks

    def outputs(known):
        return np.empty(n, dtype=np.int32), np.empty(n, dtype=np.float64), np.empty(known, dtype=np.int32)

    ident, anon = packed_sort(cust.copy(), n_customers, tx, np.empty(n, dtype=np.uint64), outputs)
    expected = frame.with_columns(cust=pl.Series(cust)).sort(["cust", "day", "amount", "items"])
    known = int((cust < n_customers).sum())
    assert ident["cust"].tolist() == expected["cust"][:known].to_list()
    for col in ("day", "amount", "items"):
        assert ident[col].tolist() == expected[col][:known].to_list()
        assert anon[col].tolist() == expected[col][known:].to_list()
    assert ident["amount"].tobytes() == expected["amount"][:known].to_numpy().tobytes()
    assert (cust == 7).sum() > 48 and (anon["day"] == 19003).sum() > 48  # runs past the insertion sort
    assert len(halves) == 4  # counted, packed, sorted, unpacked: each in two halves


def test_packed_sort_leaves_a_span_of_dates_too_long_for_its_runs_to_polars(monkeypatch):
    # one run per day for the anonymous rows: a span of more than 2**MAX_DAY_BITS days gives None
    # (assemble then sorts with Polars), here with the limit lowered to 4 bits (16 days)
    from punchcard.ingest import customers

    frame = pl.DataFrame({"day": np.array([0, 20, 5], dtype=np.int32), "amount": [1.0, 2.0, 3.0],
                          "items": [1.0, 1.0, 1.0]})
    cust = np.array([0, 1, 2], dtype=np.int32)

    def outputs(known):
        return np.empty(3, dtype=np.int32), np.empty(3), np.empty(known, dtype=np.int32)

    monkeypatch.setattr(customers, "MAX_DAY_BITS", 4)
    assert customers.packed_sort(cust.copy(), 2, frame, np.empty(3, dtype=np.uint64), outputs) is None
    monkeypatch.setattr(customers, "MAX_DAY_BITS", 5)
    ident, anon = customers.packed_sort(cust.copy(), 2, frame, np.empty(3, dtype=np.uint64), outputs)
    assert ident["day"].tolist() == [0, 20] and anon["day"].tolist() == [5]


def test_a_ledger_sorted_by_polars_equals_the_packed_one(tmp_path, monkeypatch):
    # the fallback that packed_sort's None leads to (assemble's Polars sort) gives the same ledger
    from punchcard.ingest import customers

    path = tmp_path / "accounts.csv"
    path.write_text(accounts(3000, ",2024-02-01,3.00,3001\n"))  # with one anonymous sale
    packed = read_ledger(Sales(paths=(path,)), base=tmp_path)
    monkeypatch.setattr(customers, "MAX_DAY_BITS", 1)
    same_ledger(read_ledger(Sales(paths=(path,)), base=tmp_path), packed)
    assert packed.anon.height == 1
