"""The ingest stage in pieces (for a cluster) gives the whole ledger, restricted to each partition.

Run here in one process, piece by piece, as a cluster's tasks would run them: the
partitions' ledgers, numbered by ``global_keys``, hold exactly the whole ledger's
transactions in the same order, and the row accounting adds up to read_ledger's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from punchcard.ingest import read_ledger, shard_of
from punchcard.ingest.partitions import classify_rows, customer_ledger, global_keys, read_file
from punchcard.ingest.rows import merge_day_counts, outlier_bounds, outlier_days
from punchcard.program import load_program
from tests.helpers import ROOT, SECRET_IDS, write_program, write_sales


def _two_drops(folder: Path) -> Path:
    """Two overlapping exports without order numbers (repeated lines, a bad amount, an anonymous sale)."""
    path = write_program(folder)
    first = write_sales(folder / "sales.csv", customers=70, seed=9).read_text().splitlines()
    second = [first[0]] + first[-40:] + [f"{SECRET_IDS[2]},2025-09-01,12.50,1", ",2025-09-02,8.00,1",
                                         f"{SECRET_IDS[4]},2025-09-03,abc,1"]
    (folder / "sales-2.csv").write_text("\n".join(second) + "\n", encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("  path: sales.csv\n",
                                                             "  path: [sales.csv, sales-2.csv]\n"),
                    encoding="utf-8")
    return path


def _pieces(prog, rows: int, shards: int, customers: int):
    paths = list(prog.sales.paths)
    reads = [read_file(Path(p), i, len(paths), prog.sales, prog.path.parent, rows) for i, p in enumerate(paths)]
    has_order = any(info.has_order for info, _ in reads)
    times = not has_order and any(info.has_time for info, _ in reads)
    visits = "order" if has_order else "time" if times else "date"
    days = merge_day_counts([info.days for info, _ in reads])
    classified = [classify_rows([pieces[p] for _, pieces in reads], prog.sales, has_order, times, days,
                                shards, customers, 5) for p in range(rows)]
    ledgers = [customer_ledger([pieces[q] for _, pieces in classified], prog.sales, visits)
               for q in range(customers)]
    return reads, classified, ledgers


@pytest.mark.parametrize("program", ["kaffebar-oslo", "two-drops"])
def test_partition_ledgers_are_the_whole_ledger_cut_by_customer_shard(program, tmp_path):
    path = _two_drops(tmp_path) if program == "two-drops" else ROOT / "programs" / f"{program}.yaml"
    prog = load_program(path)
    whole = read_ledger(prog.sales, base=prog.path.parent)
    reads, classified, ledgers = _pieces(prog, rows=3, shards=8, customers=2)
    keys = global_keys([facts["ids"] for facts, _ in ledgers])
    assert sum(len(k) for k in keys) == whole.n_customers
    assert sorted(np.concatenate(keys).tolist()) == list(range(whole.n_customers))
    for q, ((facts, part), key) in enumerate(zip(ledgers, keys)):
        # every customer of partition q is in a shard s with s % 2 == q
        assert np.all(shard_of(whole.cust_hash[key], 8) % 2 == q)
        assert np.array_equal(part.cust_hash, whole.cust_hash[key])
        if whole.birthday_doy is not None:
            assert np.array_equal(part.birthday_doy, whole.birthday_doy[key])
        # the partition's transactions are the whole ledger's rows of its customers, in order
        mine = whole.tx.filter(pl.col("cust").is_in(pl.Series(key, dtype=pl.Int32).implode()))
        theirs = part.tx.with_columns(pl.Series("cust", key[part.tx["cust"].to_numpy()], dtype=pl.Int32))
        assert theirs.equals(mine)
    # the anonymous sales are all in partition 0, sorted as in the whole ledger
    assert ledgers[0][1].anon.equals(whole.anon) and ledgers[1][1].anon.height == 0
    # rows read per file, and per reason, add up to read_ledger's accounting
    assert [info.rows for info, _ in reads] == [f.rows for f in whole.inputs]
    counts: dict = {}
    for accounting, _ in classified:
        for reason, n in accounting["counts"].items():
            counts[reason] = counts.get(reason, 0) + n
    assert counts.pop(None) == whole.quality.rows_used
    assert counts == whole.quality.rejected


def test_global_keys_number_customers_in_order_of_raw_id():
    # partition 0 holds b, d; partition 1 holds a, c, e: the whole ledger keys a..e as 0..4
    keys = global_keys([pl.Series(["b", "d"]), pl.Series(["a", "c", "e"])])
    assert [k.tolist() for k in keys] == [[1, 3], [0, 2, 4]]


def test_outlier_bounds_from_day_counts_are_polars_quantiles():
    # 200 dates in 2025 and two typing errors (1901, 2099): the counts of two files added
    # give the bounds the whole column gives
    rng = np.random.default_rng(5)
    days = [int(d) for d in rng.integers(20089, 20454, 200)] + [-25000, 47000]
    first, second = pl.Series(days[:120], dtype=pl.Int32), pl.Series(days[120:], dtype=pl.Int32)
    from punchcard.ingest.rows import day_counts

    merged = merge_day_counts([day_counts(first), day_counts(second), None])
    assert outlier_bounds(merged) == outlier_days(pl.concat([first, second])) is not None
    assert outlier_bounds(day_counts(pl.Series(days[:200], dtype=pl.Int32))) is None  # no outlier
