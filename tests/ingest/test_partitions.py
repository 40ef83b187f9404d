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


def _plain_copy(name: str, folder: Path):
    """Return the example program ``name`` reading its export decompressed (a plain CSV)."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "programs" / f"{name}.yaml").read_text(encoding="utf-8")
    (folder / f"{name}.csv").write_bytes(gzip.decompress((ROOT / "programs" / "data" / f"{name}.csv.gz").read_bytes()))
    path = folder / f"{name}.yaml"
    path.write_text(text.replace(f"path: data/{name}.csv.gz", f"path: {name}.csv"), encoding="utf-8")
    return load_program(path)


@pytest.mark.parametrize("name", ["biltvatt-goteborg", "bookshop-manchester", "obuwie-krakow"])
def test_byte_ranges_of_a_file_read_its_rows_as_the_whole_file(name, tmp_path):
    # semicolons and decimal commas with prefixed ids and line-item orders (biltvatt),
    # numeric ids and anonymous sales (bookshop), Polish UTF-8 headers (obuwie): each file
    # in ranges of 8 KiB gives, range by range with the rows before each added to __pos,
    # exactly the whole file's rows in every row partition
    from punchcard.ingest.partitions import plan_ranges, read_range

    prog = _plain_copy(name, tmp_path)
    path, base = Path(prog.sales.paths[0]), prog.path.parent
    plan = plan_ranges(path, prog.sales, base, 8192)
    assert plan is not None
    src, header, ranges = plan
    size = path.stat().st_size
    assert ranges[0][0] == header and ranges[-1][1] == size and len(ranges) == -(-(size - header) // 8192)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # no byte twice, none left out
    data = path.read_bytes()
    assert all(data[b - 1:b] == b"\n" for _, b in ranges[:-1])  # each cut just after a line break
    whole, pieces = read_file(path, 0, 1, prog.sales, base, 3)
    parts, before = [[], [], []], 0
    for a, b in ranges:
        info, got = read_range(path, 0, 1, prog.sales, base, 3, src, header, a, b)
        assert info is not None and info.source.scan_path == path
        for p in range(3):
            parts[p].append(got[p].with_columns(pl.col("__pos") + before))
        before += info.rows
    assert before == whole.rows
    for p in range(3):
        assert pl.concat(parts[p]).equals(pieces[p]), p


def test_a_file_transcoded_or_compressed_is_read_whole(tmp_path):
    from punchcard.ingest.partitions import plan_ranges

    prog = load_program(ROOT / "programs" / "kaffebar-oslo.yaml")  # cp1252, gzip
    assert plan_ranges(Path(prog.sales.paths[0]), prog.sales, prog.path.parent, 4096) is None
    copy = _plain_copy("kaffebar-oslo", tmp_path)  # cp1252: transcoded to UTF-8 before it is read
    assert plan_ranges(Path(copy.sales.paths[0]), copy.sales, copy.path.parent, 4096) is None
    small = _plain_copy("obuwie-krakow", tmp_path / "small")  # 169 kB: one range
    assert plan_ranges(Path(small.sales.paths[0]), small.sales, small.path.parent, 1 << 20) is None


@pytest.mark.parametrize(("text", "state"), [
    ('a,b\n', 0),                  # a row's end: the next cell starts
    ('a,"b\n', -1),                # a line break inside a quoted cell
    ('a,"b""\nc"\n', -1),          # a doubled quote does not close the cell
    ('a,"b"",c"\n1,2', 1),         # … nor does it hide the delimiter: still one cell
    ('5" tall,x\n', 0),            # a quote inside an unquoted cell is a character
    ('a,"b', 2),                   # ends inside a quoted cell
    ('a,"b"', 3),                  # ends just after a quote (the cell's end, or a doubled quote)
])
def test_quote_scan_follows_a_csv_readers_quotes(text, state):
    from punchcard.ingest.partitions import _quote_scan

    assert _quote_scan(np.frombuffer(text.encode(), dtype=np.uint8), ord(","), 0) == state


def test_a_range_with_a_quoted_line_break_is_left_to_the_whole_file(tmp_path):
    # a note written over two lines in row 301: the range holding it is not read apart
    # (the client then reads the whole file, which a local build reads the same way)
    from punchcard.ingest.partitions import plan_ranges, read_range

    path = write_program(tmp_path)
    lines = (tmp_path / "sales.csv").read_text().splitlines()
    rows = [lines[0] + ",note"] + [line + ",ok" for line in lines[1:]]
    rows[301] = rows[301][:-3] + ',"first line\nsecond line"'
    (tmp_path / "sales.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    prog = load_program(path)
    src, header, ranges = plan_ranges(tmp_path / "sales.csv", prog.sales, tmp_path, 2048)
    got = [read_range(tmp_path / "sales.csv", 0, 1, prog.sales, tmp_path, 2, src, header, a, b)[0]
           for a, b in ranges]
    text = (tmp_path / "sales.csv").read_bytes()
    at = text.index(b"first line")
    assert [info is None for info in got] == [a <= at < b for a, b in ranges]
