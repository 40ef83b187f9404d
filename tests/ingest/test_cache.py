"""Parse cache: a multi-file input read through the cache gives the ledger, and the site, of a cold read.

Each case reads the same files three ways (no cache; through an empty cache; through the
filled cache) and compares every figure of the ledger. The CLI test builds the real CDNOW
log, cut into quarterly files, cold and warm and with 1 and 2 threads: the sites must be
byte-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from punchcard.ingest import Dialect, read_ledger
from punchcard.ingest import cache as cache_mod
from punchcard.ingest import parse
from punchcard.ingest.cache import DEFAULT_FOLDER, HEAD, SUFFIX, ParseCache
from punchcard.ingest.sources import Source
from punchcard.program import Sales, SalesFormat
from tests.helpers import real_file

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def same(a, b) -> None:
    """Assert two ledgers hold the same figures, rejections and examples."""
    assert a.tx.equals(b.tx) and a.anon.equals(b.anon)
    assert a.n_customers == b.n_customers and a.cust_hash.tolist() == b.cust_hash.tolist()
    assert (a.birthday_doy is None) == (b.birthday_doy is None)
    if a.birthday_doy is not None:
        assert a.birthday_doy.tolist() == b.birthday_doy.tolist()
    assert (a.start_day, a.end_day) == (b.start_day, b.end_day)
    assert a.quality == b.quality and a.inputs == b.inputs


@pytest.fixture
def parses(monkeypatch):
    """Record the files parsed (not taken from the cache)."""
    seen: list[str] = []
    real = parse.parse_file

    def counting(src, sales):
        seen.append(src.path.name)
        return real(src, sales)

    monkeypatch.setattr(cache_mod, "parse_file", counting)
    return seen


def three_ways(sales: Sales, base: Path, folder: Path, parses: list[str]):
    """Return the ledger read cold, asserting the cached reads (empty, then full) give the same."""
    cold = read_ledger(sales, base=base)
    pc = ParseCache(folder)
    first = read_ledger(sales, base=base, cache=pc)
    assert sorted(parses) == sorted(p.name for p in sales.paths)  # an empty cache parses every file
    parses.clear()
    second = read_ledger(sales, base=base, cache=pc)
    assert parses == []  # a full one none
    same(cold, first)
    same(cold, second)
    return cold


MONTHS = [
    # ids as numbers in the first file, as text in the second (k7, a leading zero):
    # the combined read keys them all as text, as a cold read does
    "customer,date,amount,order\n7,2024-01-01,10.00,1\n8,2024-01-02,20.50,2\n7,2024-01-02,0,3\n",
    "customer,date,amount,order\nk7,2024-02-01,30.00,4\n007,2024-02-02,12.25,5\n7,2024-01-01,10.00,1\n",
    "customer,date,amount,order\n8,2024-03-01,5.00,6\n8,2024-03-01,7.00,6\n,2024-03-04,3.00,7\n",
]


def test_mixed_ids_orders_and_rejections_read_as_cold(tmp_path, parses):
    paths = tuple(write(tmp_path / f"2024-0{i + 1}.csv", t) for i, t in enumerate(MONTHS))
    led = three_ways(Sales(paths=paths), tmp_path, tmp_path / "cache", parses)
    # used: 10 + 20.50 + 0 (a visit without revenue) in file 1, 30 + 12.25 in file 2, 5 + 7
    # as one order 6 + 3 anonymous; file 2's last line repeats file 1's first: duplicate_line
    assert round(led.tx["amount"].sum() + led.anon["amount"].sum(), 2) == 87.75
    assert led.n_customers == 4  # "007", "7", "8", "k7"
    assert led.quality.rejected == {"duplicate_line": 1}
    assert led.quality.examples["duplicate_line"][0]["file"] == "2024-02.csv"


def test_cp1252_whitespace_files_and_examples_from_cached_files(tmp_path, parses):
    # cp1252 (ø, €) and a whitespace-aligned file are read through UTF-8 copies; the
    # example lines of rejected rows in a cached file are read from a fresh copy
    a = write(tmp_path / "a.csv", "Kunde;Dato;Beløp\nø1;01.02.2024;12,50\nø2;02.02.2024;x\n", "cp1252")
    b = write(tmp_path / "b.csv", "Kunde;Dato;Beløp\nø1;03.02.2024;7,50\nø3;31.02.2024;1,00\n", "cp1252")
    sales = Sales(paths=(a, b), columns={"customer": "Kunde", "date": "Dato", "amount": "Beløp"},
                  format=SalesFormat(encoding="cp1252", delimiter=";", decimal=","))
    led = three_ways(sales, tmp_path, tmp_path / "cache", parses)
    assert led.quality.rejected == {"bad_date": 1, "bad_amount": 1}
    assert led.quality.examples["bad_amount"][0] == {"file": "a.csv", "line": 3, "text": "••••;02.02.2024;x"}
    c = write(tmp_path / "c.txt", " id  date amount\n 01 20240101  5.00\n 02 20241340  3.00\n")
    d = write(tmp_path / "d.txt", " id  date amount\n 01 20240201  6.00\n")
    parses.clear()
    sales = Sales(paths=(c, d), columns={"customer": "id", "date": "date", "amount": "amount"},
                  format=SalesFormat(date_format="%Y%m%d"))
    led = three_ways(sales, tmp_path, tmp_path / "cache2", parses)
    assert led.quality.examples["bad_date"][0]["text"] == "••••,20241340,3.00"


def test_new_changed_removed_and_corrupt_files(tmp_path, parses):
    paths = [write(tmp_path / f"2024-0{i + 1}.csv", t) for i, t in enumerate(MONTHS)]
    folder = tmp_path / "cache" / "prog"
    pc = ParseCache(folder)
    read_ledger(Sales(paths=tuple(paths[:2])), base=tmp_path, cache=pc)
    assert len(list(folder.glob("*" + SUFFIX))) == 2
    parses.clear()
    # a new month: only it is parsed
    same(read_ledger(Sales(paths=tuple(paths)), base=tmp_path, cache=pc),
         read_ledger(Sales(paths=tuple(paths)), base=tmp_path))
    assert parses == ["2024-03.csv"]
    # a changed file: parsed again, its old entry deleted
    parses.clear()
    write(paths[1], MONTHS[1].replace("30.00", "31.00"))
    same(read_ledger(Sales(paths=tuple(paths)), base=tmp_path, cache=pc),
         read_ledger(Sales(paths=tuple(paths)), base=tmp_path))
    assert parses == ["2024-02.csv"] and len(list(folder.glob("*" + SUFFIX))) == 3
    # a removed file: its entry deleted
    read_ledger(Sales(paths=(paths[0], paths[2])), base=tmp_path, cache=pc)
    assert len(list(folder.glob("*" + SUFFIX))) == 2
    # corrupt entries (a flipped byte, a cut file, garbage) are parsed again, never used
    entries = sorted(folder.glob("*" + SUFFIX))
    raw = bytearray(entries[0].read_bytes())
    raw[-100] ^= 0xFF
    entries[0].write_bytes(bytes(raw))
    entries[1].write_bytes(entries[1].read_bytes()[:-10])
    parses.clear()
    sales = Sales(paths=(paths[0], paths[2]))
    same(read_ledger(sales, base=tmp_path, cache=pc), read_ledger(sales, base=tmp_path))
    assert sorted(parses) == ["2024-01.csv", "2024-03.csv"]
    parses.clear()
    entries[0].write_bytes(b"not a cache entry")
    same(read_ledger(sales, base=tmp_path, cache=pc), read_ledger(sales, base=tmp_path))
    assert len(parses) == 1
    parses.clear()
    read_ledger(sales, base=tmp_path, cache=pc)
    assert parses == []  # the rebuilt entries are good
    # an entry is an IPC file and its description (size, CRC-32): a description that is garbage,
    # one that belongs to other data (a build cut off between the two renames), a missing IPC file
    entries = sorted(folder.glob("*" + SUFFIX))
    heads = sorted(folder.glob("*" + SUFFIX + HEAD))
    assert [h.name for h in heads] == [e.name + HEAD for e in entries]
    heads[0].write_bytes(b"{not json")
    heads[1].write_bytes(heads[1].read_bytes().replace(b'"crc32": ', b'"crc32": 1'))
    parses.clear()
    same(read_ledger(sales, base=tmp_path, cache=pc), read_ledger(sales, base=tmp_path))
    assert sorted(parses) == ["2024-01.csv", "2024-03.csv"]
    entries[0].unlink()
    parses.clear()
    same(read_ledger(sales, base=tmp_path, cache=pc), read_ledger(sales, base=tmp_path))
    assert len(parses) == 1
    # a removed file's entry goes with its description, and a temporary file left by a cut-off build
    (folder / (".tmp-left" + SUFFIX)).write_bytes(b"half an entry")
    read_ledger(Sales(paths=(paths[0], paths[1])), base=tmp_path, cache=pc)
    assert len(list(folder.glob("*" + SUFFIX))) == 2 and len(list(folder.glob("*" + HEAD))) == 2
    assert not list(folder.glob(".tmp-*"))


def test_another_format_is_another_entry(tmp_path, parses):
    paths = tuple(write(tmp_path / f"2024-0{i + 1}.csv", t) for i, t in enumerate(MONTHS))
    pc = ParseCache(tmp_path / "cache")
    read_ledger(Sales(paths=paths), base=tmp_path, cache=pc)
    parses.clear()
    # the same files read with other columns/format: not the cached parse
    read_ledger(Sales(paths=paths, format=SalesFormat(date_format="%Y-%m-%d")), base=tmp_path, cache=pc)
    assert len(parses) == 3


def test_single_file_is_not_cached(tmp_path, parses):
    path = write(tmp_path / "one.csv", MONTHS[0])
    read_ledger(Sales(paths=(path,)), base=tmp_path, cache=ParseCache(tmp_path / "cache"))
    assert parses == [] and not (tmp_path / "cache").exists()


CDNOW = """\
name: CDNOW by quarter
currency: USD
sales:
  path: exports/*.txt
  columns: {customer: customer_id, date: date, amount: dollar_value, items: number_of_cds}
  format: {date_format: "%Y%m%d"}
business: {gross_margin: 0.3}
forecast: {draws: 20}
schemes:
  - {id: tenth-cd, name: Tenth CD free, kind: stamp_card, counter: items, stamps: 9,
     reward: {value: 15}, expiry_days: 365}
  - {id: points, name: Points, kind: points, earn_per_unit: 1, point_value: 0.01,
     min_redeem: 500, expiry_months: 12}
"""


def quarters(folder: Path) -> list[Path]:
    """Write the real CDNOW log (whitespace-aligned, CRLF) as one file per quarter; return them."""
    lines = real_file("CDNOW_master.txt").read_bytes().split(b"\r\n")
    header, body = lines[0], [ln for ln in lines[1:] if ln.strip()]
    by_quarter: dict[str, list[bytes]] = {}
    for ln in body:
        ymd = ln.split()[1].decode()
        by_quarter.setdefault(f"{ymd[:4]}-q{(int(ymd[4:6]) + 2) // 3}", []).append(ln)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rows in sorted(by_quarter.items()):
        out.append(folder / f"{name}.txt")
        out[-1].write_bytes(b"\r\n".join([header, *rows]) + b"\r\n")
    return out


def build(program: Path, out: Path, *extra: str, threads: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "punchcard.cli", "build", str(program), "--out", str(out),
                           "--quiet", "--threads", str(threads), *extra],
                          capture_output=True, text=True, env=env, cwd=program.parent)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_cdnow_quarters_site_is_identical_cold_warm_and_after_a_drop(tmp_path):
    files = quarters(tmp_path / "exports")
    assert len(files) == 6  # 1997 q1..q4, 1998 q1..q2
    program = tmp_path / "cdnow.yaml"
    program.write_text(CDNOW, encoding="utf-8")
    # the last quarter arrives later: the first build has five
    last = files[-1].read_bytes()
    files[-1].unlink()
    assert build(program, tmp_path / "five").returncode == 0
    entries = tmp_path / DEFAULT_FOLDER / "cdnow"
    assert len(list(entries.glob("*" + SUFFIX))) == 5  # beside the program, one entry per file
    files[-1].write_bytes(last)
    runs = {
        "drop": build(program, tmp_path / "drop"),  # five entries used, one file parsed
        "warm": build(program, tmp_path / "warm", threads=1),  # all six from the cache
        "cold": build(program, tmp_path / "cold", "--no-cache"),
        "elsewhere": build(program, tmp_path / "elsewhere", "--cache", str(tmp_path / "other")),
    }
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr)
    assert len(list(entries.glob("*" + SUFFIX))) == 6
    assert len(list((tmp_path / "other" / "cdnow").glob("*" + SUFFIX))) == 6
    cold = tree(tmp_path / "cold")
    for name in ("drop", "warm", "elsewhere"):
        built = tree(tmp_path / name)
        assert sorted(built) == sorted(cold)
        assert [f for f in cold if cold[f] != built[f]] == [], name
    res = json.loads(cold["cdnow/results.json"])
    # the whole log: 69,659 rows in six files (the README's count)
    assert res["data"]["rows_read"] == 69659 and len(res["inputs"]) == 6
    assert not any(DEFAULT_FOLDER in f for f in cold)  # never inside the site


def test_cache_inside_the_site_is_refused(tmp_path):
    files = quarters(tmp_path / "exports")
    assert files
    program = tmp_path / "cdnow.yaml"
    program.write_text(CDNOW, encoding="utf-8")
    result = build(program, tmp_path / "site", "--cache", str(tmp_path / "site" / "cache"))
    assert result.returncode == 1
    assert "cannot be inside the site folder" in result.stderr and "--cache DIR" in result.stderr
    assert not (tmp_path / "site").exists()


def test_polars_frame_round_trip_keeps_every_bit(tmp_path):
    # the entry's columns come back with the same values and types (floats bit for bit)
    frame = pl.DataFrame({"amount": [0.1 + 0.2, -0.0, 1e-300], "cust_raw": ["a", None, "ø"]})
    src = Source(tmp_path / "f.csv", "f.csv", tmp_path / "f.csv", "csv", Dialect(), ("a",), {})
    pc = ParseCache(tmp_path)
    pc.store("k", src, frame)
    back = pc.load("k", tmp_path / "f.csv", "f.csv")
    assert back is not None and back.frame.equals(frame) and back.frame.schema == frame.schema
    assert back.frame["amount"].to_numpy().tobytes() == frame["amount"].to_numpy().tobytes()
    # ``__pos`` is left out of the entry when it is the row index (0, 1, 2), and made again
    for pos in ([0, 1, 2], [0, 2, 5]):
        with_pos = frame.with_columns(pl.Series("__pos", pos, dtype=pl.Int64)).select("cust_raw", "__pos", "amount")
        pc.store("p", src, with_pos)
        back = pc.load("p", tmp_path / "f.csv", "f.csv")
        assert back is not None and back.frame.equals(with_pos) and back.frame.schema == with_pos.schema


def test_prefixed_ids_through_the_cache(tmp_path, parses):
    # C + 4 digits in two files (kept as the digits' value), one file with an odd id
    # (read as text): the cached and cold reads key every id as its text
    rows = "".join(f"C{i % 300:04d},2024-01-{1 + i % 28:02d},{1 + i % 9}.50,{i}\n" for i in range(3000))
    head = "customer,date,amount,order\n"
    a = write(tmp_path / "a.csv", head + rows)
    b = write(tmp_path / "b.csv", head + rows.replace("2024-01-", "2024-02-"))
    led = three_ways(Sales(paths=(a, b)), tmp_path, tmp_path / "cache", parses)
    assert led.n_customers == 300
    c = write(tmp_path / "c.csv", head + rows.replace("2024-01-", "2024-03-") + "C+0007,2024-03-05,2.00,9999\n")
    parses.clear()
    led = three_ways(Sales(paths=(a, b, c)), tmp_path, tmp_path / "cache2", parses)
    assert led.n_customers == 301  # C+0007 is its own customer


def test_times_of_day_through_the_cache(tmp_path, parses):
    # no order column, times of day: a customer's lines at one time are one visit, read
    # cold or from the cache (k1 at 10:00 twice → one visit of 15; at 11:30 another)
    a = write(tmp_path / "a.csv", "customer,date,amount\nk1,2024-01-01 10:00:00,10.00\n"
                                  "k1,2024-01-01 10:00:00,5.00\nk1,2024-01-01 11:30:00,7.00\n")
    b = write(tmp_path / "b.csv", "customer,date,amount\nk2,2024-02-01 09:00:00,3.00\n")
    led = three_ways(Sales(paths=(a, b)), tmp_path, tmp_path / "cache", parses)
    assert sorted(led.tx["amount"].to_list()) == [3.0, 7.0, 15.0]
