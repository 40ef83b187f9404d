"""Ingest: one fixture per dialect, with revenue, customers, transactions and rejections by hand."""

from __future__ import annotations

import csv
import gzip
import pickle
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from punchcard.errors import PunchcardError
from punchcard.ingest.read import read_ledger, stable_hash
from punchcard.program import Sales, SalesFormat
from tests.helpers import real_file



def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def load(*paths: Path, **kw) -> object:
    return read_ledger(Sales(paths=tuple(paths), **kw), base=paths[0].parent)


def figures(ledger) -> tuple[float, int, int, int, dict]:
    revenue = round(ledger.tx["amount"].sum() + ledger.anon["amount"].sum(), 2)
    return revenue, ledger.n_customers, ledger.tx.height, ledger.anon.height, ledger.quality.rejected


EN_US = """Customer ID,Date,Amount
A1,01/15/2024,"1,234.56"
A2,01/20/2024,10.00
A1,02/13/2024,$5.44
,02/14/2024,3.00
A2,02/30/2024,1.00
"""


def test_en_us(tmp_path):
    # 1234.56 + 10.00 + 5.44 + 3.00 (anonymous) = 1253.00; 02/30 is no date → bad_date.
    led = load(write(tmp_path / "sales.csv", EN_US))
    assert figures(led) == (1253.00, 2, 3, 1, {"bad_date": 1})
    assert led.quality.rows_read == 5 and led.quality.rows_used == 4
    assert led.quality.examples["bad_date"] == [
        {"file": "sales.csv", "line": 6, "text": "••••,02/30/2024,1.00"}]
    # day of 2024-01-15 = 19737; A1 is cust 0 (sorted raw ids)
    assert led.tx.row(0) == (0, 19737, 1234.56, 1.0)
    assert led.start_day == 19737 and led.end_day == 19737 + 30


NB = """Kundenummer;Dato;Beløp;Kvitteringsnr
1001;01.03.2024;kr 1 234,50;K1
1001;01.03.2024;kr 15,50;K1
1002;02.03.2024;kr 49,00;K2
1003;05.03.2024;kr 0,00;K3
1002;31.02.2024;kr 10,00;K4
"""


def test_nb_cp1252_orders(tmp_path):
    # K1 = 1234.50 + 15.50 = 1250.00 (one transaction); K2 49.00 → 1299.00; K3 is a
    # zero-amount visit of 1003 (a customer, no revenue) → 3 customers, 3 tx; 31.02 → bad_date.
    led = load(write(tmp_path / "salg.csv", NB, "cp1252"))
    assert figures(led) == (1299.00, 3, 3, 0, {"bad_date": 1})
    assert led.tx["amount"].to_list() == [1250.0, 49.0, 0.0]
    assert led.quality.used_zero_amount == 1 and led.quality.rows_used == 4


def test_zero_amount_reject(tmp_path):
    # format.zero_amount: reject drops K3 as before: 2 customers, 2 tx
    led = load(write(tmp_path / "salg.csv", NB, "cp1252"), format=SalesFormat(zero_amount="reject"))
    assert figures(led) == (1299.00, 2, 2, 0, {"bad_date": 1, "zero_amount": 1})
    assert led.quality.used_zero_amount == 0


def test_sv_no_break_space(tmp_path):
    text = ("Kund-ID;Datum;Belopp\n"
            "s1;2024-05-01;1\u00a0234,50 kr\n"
            "s2;2024-05-02;2\u202f000,00\n"
            "s1;2024-05-03;99,90\n")
    # 1234.50 + 2000.00 + 99.90 = 3334.40
    led = load(write(tmp_path / "sv.csv", text))
    assert figures(led) == (3334.40, 2, 3, 0, {})


def test_pl_zloty_with_return(tmp_path):
    text = ("Klient;Data;Kwota;Ilość\n"
            "p1;01.06.2024;12,50 zł;2\n"
            "p2;02.06.2024;1 000,00 zł;1\n"
            "p1;03.06.2024;-12,50 zł;1\n")
    # 12.50 + 1000.00 − 12.50 = 1000.00; the return stays as a negative transaction
    led = load(write(tmp_path / "pl.csv", text))
    assert figures(led) == (1000.00, 2, 3, 0, {})
    assert sorted(led.tx["amount"].to_list()) == [-12.5, 12.5, 1000.0]
    assert led.tx["items"].sum() == 4.0


def test_pt_br(tmp_path):
    text = ("Cliente;Data;Valor\n"
            "c1;25/12/2023;R$ 1.234,56\n"
            "c2;03/01/2024;R$ 12,50\n"
            "c1;04/01/2024;R$ 0,44\n"
            "c2;05/01/2024;R$ abc\n")
    # 1234.56 + 12.50 + 0.44 = 1247.50; "R$ abc" → bad_amount; 25/12 makes it dd/mm
    led = load(write(tmp_path / "pt.csv", text))
    assert figures(led) == (1247.50, 2, 3, 0, {"bad_amount": 1})
    assert led.start_day == (date(2023, 12, 25) - date(1970, 1, 1)).days


ISO = """customer,date,amount
x1,2024-01-01 10:00:00,5.00
x1,2024-01-01 10:00:00,5.00
x2,2024-01-02 11:30:00,7.25
"""


def test_iso_bom_identical_lines_are_two_purchases(tmp_path):
    # line 3 repeats line 2 within one file: two identical purchases, not a duplicate;
    # 5.00 + 5.00 + 7.25 = 17.25; x1's two lines share a timestamp, so they are one visit
    # of 10.00 (no order column): 2 transactions from 3 used rows
    led = load(write(tmp_path / "iso.csv", ISO, "utf-8-sig"))
    assert figures(led) == (17.25, 2, 2, 0, {})
    assert led.quality.rows_used == 3 and sorted(led.tx["amount"].to_list()) == [7.25, 10.0]


def test_gzip(tmp_path):
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(gzip.compress(EN_US.encode()))
    assert figures(load(path)) == (1253.00, 2, 3, 1, {"bad_date": 1})


def test_parquet(tmp_path):
    path = tmp_path / "sales.parquet"
    pl.DataFrame({"customer_id": ["a", "b", "a", None],
                  "order_date": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 3)],
                  "amount": [10.0, 20.0, 0.0, 4.0]}).write_parquet(path)
    # 10 + 20 + 4 (anonymous) = 34; the 0.0 row is a (third) visit with no revenue
    assert figures(load(path)) == (34.0, 2, 3, 1, {})


def test_two_files_glob(tmp_path):
    a = write(tmp_path / "a.csv", "customer,date,amount\nk1,2024-01-01,10\nk2,2024-01-02,20\n")
    b = write(tmp_path / "b.csv", "customer,date,amount\nk1,2024-01-01,10\nk3,2024-02-01,30\n")
    paths = tuple(sorted(tmp_path.glob("*.csv")))
    # b's first line repeats a's first line → duplicate_line; 10 + 20 + 30 = 60
    led = load(*paths)
    assert figures(led) == (60.0, 3, 3, 0, {"duplicate_line": 1})
    assert [(i.path, i.rows) for i in led.inputs] == [("a.csv", 2), ("b.csv", 2)]
    assert led.quality.examples["duplicate_line"][0] == {"file": "b.csv", "line": 2, "text": "••••,2024-01-01,10"}
    assert len(led.inputs[0].sha256) == 64 and a.exists() and b.exists()


SHOPIFY = """Name,Email,Financial Status,Created at,Total,Lineitem quantity,Lineitem name,Lineitem price
#1001,ann@example.com,paid,2024-01-05 10:00:00 +0100,30.00,2,Latte,10.00
#1001,ann@example.com,,,,1,Bun,10.00
#1002,Bob@Example.com,paid,2024-01-06 09:00:00 +0100,12.00,1,Tea,12.00
"""


def test_shopify_line_items(tmp_path):
    # #1001: the second line carries no date or total → filled from its order: one tx of
    # 30.00 with 3 items; #1002 12.00 → 42.00, 2 customers, 2 transactions, nothing rejected.
    led = load(write(tmp_path / "orders_export.csv", SHOPIFY))
    assert figures(led) == (42.00, 2, 2, 0, {})
    assert sorted(led.tx["items"].to_list()) == [1.0, 3.0]


def test_unit_price_times_items(tmp_path):
    text = "customer,date,price,qty\nu1,2024-03-01,2.50,4\nu1,2024-03-02,3.00,\n"
    # 2.50 × 4 + 3.00 × 1 (empty qty = 1) = 13.00
    assert figures(load(write(tmp_path / "lines.csv", text))) == (13.0, 1, 2, 0, {})


def test_cancel_prefix(tmp_path):
    text = ("customer,date,amount,order\n"
            "c1,2024-01-01,100,R1\nc1,2024-01-03,100,CR1\nc2,2024-01-02,50,R2\n")
    # CR1 is a cancellation: −100 → revenue 100 − 100 + 50 = 50, three transactions
    led = load(write(tmp_path / "c.csv", text), cancel_prefix="C")
    assert figures(led) == (50.0, 2, 3, 0, {})
    assert led.tx.filter(pl.col("cust") == 0)["amount"].to_list() == [100.0, -100.0]


def test_window_and_sort(tmp_path):
    text = ("customer,date,amount\nb,2024-01-05,5\na,2024-01-02,9\na,2024-01-02,3\n"
            "a,2023-12-31,1\nb,2024-02-01,2\n")
    led = load(write(tmp_path / "w.csv", text), window=(date(2024, 1, 1), date(2024, 1, 31)))
    # 2023-12-31 and 2024-02-01 fall outside; a = cust 0. No order column: a's two lines of
    # 2024-01-02 are one visit of 9 + 3 = 12 (2 items), so 2 transactions in all
    assert figures(led) == (17.0, 2, 2, 0, {"outside_window": 2})
    assert led.tx.rows() == [(0, 19724, 12.0, 2.0), (1, 19727, 5.0, 1.0)]
    assert (led.start_day, led.end_day) == (19723, 19753)


def test_excel_serial_and_birthday(tmp_path):
    text = "customer,date,amount,birthday\nb1,45292,10,1990-03-01\nb2,45293.5,5,\n"
    # Excel 45292 = 2024-01-01 (epoch day 19723); b1's birthday is day 60 of the year
    led = load(write(tmp_path / "x.csv", text))
    assert led.tx["day"].to_list() == [19723, 19724]
    assert led.birthday_doy.tolist() == [60, -1]


def test_no_raw_ids_in_ledger(tmp_path):
    led = load(write(tmp_path / "orders_export.csv", SHOPIFY))
    blob = pickle.dumps((led.tx, led.anon, led.quality, led.inputs, led.cust_hash))
    for raw in (b"ann@example.com", b"bob@example.com", b"ann", b"Bob"):
        assert raw not in blob
    assert led.tx.schema == {"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64, "items": pl.Float64}


def test_stable_hash_known_value():
    # FNV-1a 64 of "a" = 0xaf63dc4c8601ec8c, then the splitmix64 finaliser
    h = 0xAF63DC4C8601EC8C
    m = (1 << 64) - 1
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & m
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & m
    h ^= h >> 31
    assert stable_hash(pl.Series(["a", "bcd", "a"])).tolist()[0::2] == [h, h]


# --- bad files -------------------------------------------------------------------------


def test_mostly_bad_dates_names_file_line_column_value(tmp_path):
    text = "Kundenummer;Dato;Beløp\n1;2024-13-45;10\n2;2024-14-45;10\n3;2024-01-01;10\n"
    with pytest.raises(PunchcardError) as err:
        load(write(tmp_path / "bad.csv", text))
    msg = err.value.message
    assert "bad.csv: line 2, column 'Dato', value '2024-13-45'" in msg
    assert "2 of 3 rows" in msg and "date_format" in msg


def test_cp1252_after_sample_hints_encoding(tmp_path):
    body = "customer,date,amount\n" + "k1,2024-01-01,1.00\n" * 20000 + "Bj\xf8rn,2024-01-02,2.00\n"
    with pytest.raises(PunchcardError) as err:
        load(write(tmp_path / "late.csv", body, "cp1252"))
    assert "late.csv" in err.value.message and "encoding: cp1252" in err.value.message


def test_declared_cp1252_reads(tmp_path):
    body = ("customer,date,amount\n" + "".join(f"k{i},2024-01-01,1.00\n" for i in range(20000))
            + "Bj\xf8rn,2024-01-02,2.00\n")
    # 20,000 × 1.00 + 2.00; the cp1252 name is one more customer
    led = load(write(tmp_path / "late.csv", body, "cp1252"), format=SalesFormat(encoding="cp1252"))
    assert figures(led) == (20002.0, 20001, 20001, 0, {})


def test_ambiguous_day_month(tmp_path):
    text = "customer,date,amount\na,01/02/2024,1\nb,03/04/2024,2\n"
    with pytest.raises(PunchcardError, match=r"date_format: \"%d/%m/%Y\""):
        load(write(tmp_path / "amb.csv", text))
    led = load(tmp_path / "amb.csv", format=SalesFormat(date_format="%d/%m/%Y"))
    assert led.tx["day"].to_list() == [19754, 19816]  # 2024-02-01, 2024-04-03


def test_ambiguous_column(tmp_path):
    text = "customer,date,Amount,Total\na,2024-01-01,1,1\n"
    with pytest.raises(PunchcardError) as err:
        load(write(tmp_path / "two.csv", text))
    assert "'Amount' or 'Total'" in err.value.message and "columns" in err.value.message
    led = load(tmp_path / "two.csv", columns={"amount": "Total"})
    assert led.n_customers == 1


def test_missing_named_column(tmp_path):
    with pytest.raises(PunchcardError, match="Kunde"):
        load(write(tmp_path / "m.csv", "customer,date,amount\na,2024-01-01,1\n"),
             columns={"customer": "Kunde"})


# --- real data -------------------------------------------------------------------------


@pytest.mark.slow
def test_cdnow_master():
    with open(real_file("cdnow_master.csv"), newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    # one file: every line is used, the 80 zero amounts as visits with no revenue and the
    # repeated identical lines as separate purchases (README: 80 zero rows, 23,570 customers)
    zero = sum(float(r[3]) == 0 for r in rows)
    led = load(real_file("cdnow_master.csv"))
    q = led.quality
    assert (q.rows_read, q.rows_used, zero, q.used_zero_amount) == (69659, 69659, 80, 80)
    assert q.rejected == {}
    assert led.n_customers == 23570
    # no order column: a customer's lines of one date are one visit (CDNOW: several orders
    # on one day, 2,068 repeated (customer, date) pairs among all rows)
    assert led.visits == "date"
    assert led.tx.height == len({(r[0], r[1]) for r in rows})
    assert led.tx["amount"].sum() == pytest.approx(sum(float(r[3]) for r in rows), abs=1e-6)


@pytest.mark.slow
def test_completejourney_baskets():
    with open(real_file("completejourney_transactions_sample.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    used = rows  # zero-amount lines (README: 528) are kept: lines of a basket with no revenue
    baskets = Counter((r["household_id"], r["basket_id"]) for r in used)
    led = load(real_file("completejourney_transactions_sample.csv"))
    assert led.quality.rows_read == 75000
    assert led.quality.rejected == {}
    assert led.n_customers == len({r["household_id"] for r in used})
    assert led.tx.height == len(baskets)
    assert len({r["basket_id"] for r in rows}) == 47243
    assert led.tx["amount"].sum() == pytest.approx(sum(float(r["sales_value"]) for r in used), rel=1e-12)
    assert led.tx["items"].sum() == sum(int(r["quantity"]) for r in used)


def test_identical_lines_on_one_receipt_are_two_items(tmp_path):
    # Receipt 7 holds two identical 47.00 coffees: one transaction of 94.00, nothing rejected.
    # The same receipt exported again in a second file is an overlap: its 2 lines are rejected.
    text = "customer,date,amount,order\na,2025-01-02,47.00,7\na,2025-01-02,47.00,7\n"
    first = write(tmp_path / "jan-1.csv", text)
    second = write(tmp_path / "jan-2.csv", text)
    ledger = load(first)
    assert figures(ledger)[:3] == (94.0, 1, 1)
    assert ledger.quality.rejected == {}
    both = load(first, second)
    assert figures(both)[:3] == (94.0, 1, 1)
    assert both.quality.rejected == {"duplicate_line": 2}


# --- fast paths: a sample that looks plain must not change what the rest of the file gives ---


def plain_rows(n: int) -> str:
    """n rows with plain integer customer/order ids, ISO dates and plain amounts (a big sample)."""
    return "".join(f"{1000 + i % 50},2024-01-{1 + i % 28:02d},2.50,1,{100000 + i}\n" for i in range(n))


def test_odd_rows_after_a_plain_sample_parse_as_the_full_rules(tmp_path):
    # 20,000 plain rows fill the sniffed sample; then rows the plain casts cannot settle.
    tail = ('1001,2024-02-01 10:00:00,"1,000.50",2,200001\n'  # timestamp, thousands separator
            "1001, 2024-02-02 ,$3.00,,200002\n"  # spaces around the date, currency, no quantity
            "1002,2024-02-03,abc,1,200003\n"  # bad amount
            "1002,2024-02-04,inf,1,200004\n"  # not a finite amount: bad_amount as in full rules
            "1003,,,,\n"  # no date, no amount
            ",,,,\n")  # empty line
    led = load(write(tmp_path / "odd.csv", "customer,date,amount,items,order\n" + plain_rows(20000) + tail))
    q = led.quality
    assert q.rows_read == 20006
    assert q.rejected == {"empty_line": 1, "missing_date": 1, "bad_amount": 2}
    assert q.rows_used == 20002
    assert round(led.tx["amount"].sum(), 2) == round(20000 * 2.5 + 1000.5 + 3.0, 2)
    days = led.tx.filter(pl.col("amount") > 2.5)["day"].to_list()
    assert sorted(days) == [19754, 19755]  # 2024-02-01 and 2024-02-02
    assert led.tx["items"].sum() == 20000 + 2 + 1


def test_amounts_the_reader_parses_give_what_the_text_rules_give(tmp_path, monkeypatch):
    # A one-file read whose sample shows plain, always-filled amounts and quantities lets the
    # CSV reader parse them (Float64): a cell it cannot parse, or an empty one, is null there
    # and read again as text. Every value, rejection, count and example line must be those
    # of the read that scans the columns as text.
    from dataclasses import replace

    from punchcard.ingest import parse, read

    tail = ("1001,2024-02-01, 5.00,2,200001\n"  # a space before: the reader parses it
            "1001,2024-02-02,5.00 , 2,200002\n"  # spaces after the amount, before the items
            "1002,2024-02-03,+2.5,1,200003\n1002,2024-02-04,.5,1,200004\n"
            "1002,2024-02-05,1e3,1,200005\n1002,2024-02-06,5.,1,200006\n"
            "1003,2024-02-07,nan,1,200007\n1003,2024-02-08,-inf,1,200008\n"
            "1003,2024-02-09,1e400,1,200009\n1003,2024-02-10,2e12,1,200010\n"
            "1004,2024-02-11,,1,200011\n1004,2024-02-12,abc,1,200012\n"
            "1004,2024-02-13,(3.00),1,200013\n"  # a return
            '1004,2024-02-14,"1,000.50",1,200014\n'
            "1005,2024-02-15,2.00,,200015\n1005,2024-02-16,2.00,x,200016\n"
            "1005,2024-02-17,2.00,1e8,200017\n1005,2024-02-18,2.00,2.5,200018\n"
            ",,,,\n , , , , \n,,abc,,\n")
    path = write(tmp_path / "typed.csv", "customer,date,amount,items,order\n" + plain_rows(20000) + tail)
    scanned = []
    real_scan = parse.scan
    monkeypatch.setattr(parse, "scan", lambda src, rows=None, typed=None: scanned.append(typed) or real_scan(src, rows, typed))
    typed = load(path)
    assert scanned[0] == {"amount": pl.Float64, "items": pl.Float64}  # the reader parsed them
    real_prepare = read.prepare
    monkeypatch.setattr(read, "prepare", lambda *a: replace(real_prepare(*a), filled=()))
    scanned.clear()
    text = load(path)
    assert not scanned[0]  # the same read with every column scanned as text
    assert typed.quality == text.quality
    assert typed.quality.rejected == {"empty_line": 2, "missing_date": 1, "missing_amount": 1,
                                      "bad_amount": 5, "bad_items": 2}
    for a, b in ((typed.tx, text.tx), (typed.anon, text.anon)):
        assert a.equals(b)
    assert typed.n_customers == text.n_customers
    assert typed.cust_hash.tolist() == text.cust_hash.tolist()
    days = dict(zip(typed.tx["day"].to_list(), typed.tx["amount"].to_list()))
    assert [days[d] for d in range(19754, 19760)] == [5.0, 5.0, 2.5, 0.5, 1000.0, 5.0]
    assert days[19766] == -3.0 and days[19767] == 1000.5


def test_a_sample_with_empty_amounts_keeps_them_text(tmp_path, monkeypatch):
    # Empty cells in the sample: the column is scanned as text (each empty cell would be read
    # again), with the same result.
    from punchcard.ingest import parse

    rows = "".join(f"{1000 + i % 50},2024-01-{1 + i % 28:02d},{'' if i % 7 == 0 else '2.50'},1,{100000 + i}\n"
                   for i in range(3000))
    scanned = []
    real_scan = parse.scan
    monkeypatch.setattr(parse, "scan", lambda src, rows=None, typed=None: scanned.append(typed) or real_scan(src, rows, typed))
    led = load(write(tmp_path / "gaps.csv", "customer,date,amount,items,order\n" + rows))
    assert scanned[0] == {"items": pl.Float64}
    assert led.quality.rejected == {"missing_amount": 429}
    assert led.tx["amount"].sum() == 2.5 * (3000 - 429)


def test_ids_that_are_not_plain_numbers_after_the_sample(tmp_path):
    # The sample shows plain integer ids; later "0042" and "42" are two customers (text ids),
    # " 42 " is "42" (spaces stripped), and order "007" is not order "7".
    tail = ("0042,2024-02-01,1.00,1,007\n42,2024-02-01,2.00,1,7\n 42 ,2024-02-02,4.00,1,8\n")
    led = load(write(tmp_path / "ids.csv", "customer,date,amount,items,order\n" + plain_rows(20000) + tail))
    assert led.n_customers == 50 + 2
    assert led.tx.height == 20003
    ids = sorted([str(1000 + i) for i in range(50)] + ["0042", "42"])
    assert led.tx.filter(pl.col("cust") == ids.index("42"))["amount"].to_list() == [2.0, 4.0]
    assert led.tx.filter(pl.col("cust") == ids.index("0042"))["amount"].to_list() == [1.0]
    assert stable_hash(pl.Series(ids)).tolist() == led.cust_hash.tolist()


def test_numeric_ids_sort_as_text(tmp_path):
    # customers are keyed in the sorted order of their ids as text: "10" < "9"
    text = "customer,date,amount\n9,2024-01-01,1\n10,2024-01-02,2\n100,2024-01-03,3\n"
    led = load(write(tmp_path / "n.csv", text))
    assert led.tx.rows() == [(0, 19724, 2.0, 1.0), (1, 19725, 3.0, 1.0), (2, 19723, 1.0, 1.0)]


def test_order_lines_apart_and_unsorted(tmp_path):
    # Order ids out of order and an order's lines far apart are still one visit each.
    text = ("customer,date,amount,order\n"
            "a,2024-01-02,1.10,B7\na,2024-01-01,2.00,A1\nb,2024-01-03,5.00,C3\n"
            ",2024-01-02,0.90,B7\nb,2024-01-03,1.00,C3\nb,2024-01-04,4.00,A2\n")
    led = load(write(tmp_path / "o.csv", text))
    assert led.tx.rows() == [(0, 19723, 2.0, 1.0), (0, 19724, 2.0, 2.0), (1, 19725, 6.0, 2.0),
                             (1, 19726, 4.0, 1.0)]


def test_amounts_beyond_cents_and_ties_sort_fully(tmp_path):
    # Amounts with many decimals take the general sort; equal (day, amount) sort by items.
    # (Three receipts: without the order column the three lines would be one visit.)
    text = ("customer,date,amount,items,order\n"
            "a,2024-01-01,1.123456789,3,1\na,2024-01-01,1.123456789,1,2\na,2024-01-01,0.5,2,3\n")
    led = load(write(tmp_path / "d.csv", text))
    assert led.tx.rows() == [(0, 19723, 0.5, 2.0), (0, 19723, 1.123456789, 1.0),
                             (0, 19723, 1.123456789, 3.0)]


def test_same_ledger_every_run(tmp_path):
    text = "customer,date,amount,items,order,birthday\n" + "".join(
        f"c{i % 97},2024-0{1 + i % 9}-1{i % 10},{(i * 37) % 500 / 100 + 0.5},{1 + i % 3},{i // 2},"
        f"{'1990-05-0' + str(1 + i % 9) if i % 4 else ''}\n" for i in range(5000))
    path = write(tmp_path / "r.csv", text)
    first, second = load(path), load(path)
    assert first.tx.equals(second.tx) and first.anon.equals(second.anon)
    assert first.birthday_doy.tolist() == second.birthday_doy.tolist()
    assert first.cust_hash.tolist() == second.cust_hash.tolist()


def test_reading_does_not_wait_for_the_hash(tmp_path: Path) -> None:
    # the inputs' SHA-256 is taken on demand (results.json, the fingerprint), then remembered
    import hashlib

    from punchcard import runtime

    path = write(tmp_path / "h.csv", EN_US)
    runtime._sha256.cache_clear()
    led = load(path)
    assert runtime._sha256.cache_info().currsize == 0
    assert led.inputs[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert led.inputs[0].record()["sha256"] == led.inputs[0].sha256


def test_missing_column_error_suggests_a_header_by_its_words(tmp_path):
    # The first column is the invoice number: the fix names the customer number instead.
    text = "Rechnungsnummer;Datum;Kundennummer;Betrag\nRE-1;01.02.2025;K1;3,50\n"
    with pytest.raises(PunchcardError, match=r"e\.g\. `customer: Kundennummer`"):
        load(write(tmp_path / "de.csv", text))


# --- visits without an order column (SPEC §3) ------------------------------------------


def test_lines_at_one_timestamp_are_one_visit(tmp_path):
    # a: two lines at 08:15 (one visit of 5), one at 17:40 the same day (another visit);
    # b: two lines at 09:00 (one visit of 7 = 3 + 4, 2 items)
    text = ("customer,date,amount\n"
            "a,2024-01-02 08:15,2.00\na,2024-01-02 08:15,3.00\nb,2024-01-02 09:00,3.00\n"
            "a,2024-01-02 17:40,1.50\nb,2024-01-02 09:00,4.00\n")
    led = load(write(tmp_path / "t.csv", text))
    assert led.visits == "time"
    assert led.tx.rows() == [(0, 19724, 1.5, 1.0), (0, 19724, 5.0, 2.0), (1, 19724, 7.0, 2.0)]


def test_midnight_everywhere_is_no_time(tmp_path):
    # times written as 00:00:00 on every line carry no time: the lines of one day are one visit
    text = ("customer,date,amount\n"
            "a,2024-01-02 00:00:00,2.00\na,2024-01-02 00:00:00,3.00\na,2024-01-03 00:00:00,1.00\n")
    led = load(write(tmp_path / "m.csv", text))
    assert led.visits == "date"
    assert led.tx.rows() == [(0, 19724, 5.0, 2.0), (0, 19725, 1.0, 1.0)]


def test_anonymous_lines_stay_one_visit_each(tmp_path):
    text = "customer,date,amount\n,2024-01-02,2.00\n,2024-01-02,3.00\na,2024-01-02,1.00\n"
    led = load(write(tmp_path / "n.csv", text))
    assert led.anon.height == 2 and led.tx.height == 1
