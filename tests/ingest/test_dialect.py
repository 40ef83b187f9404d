"""Dialect sniffing: delimiters, decimal marks, date formats and column roles."""

from __future__ import annotations

import polars as pl
import pytest

from punchcard.ingest.dialect import (
    detect_date_format, detect_decimal, detect_delimiter, detect_encoding, detect_roles,
    normalise_header, resolve_day_month, sniff,
)
from punchcard.errors import PunchcardError


@pytest.mark.parametrize("text, delim", [
    ("a,b,c\n1,2,3\n", ","), ("a;b;c\n1;2,5;3\n", ";"), ("a\tb\n1\t2\n", "\t"),
    ("a|b\n1|2\n", "|"), (" id  date amount\n 00001 19970101  1.00\n", "whitespace"),
])
def test_delimiter(text, delim):
    assert detect_delimiter(text) == delim


@pytest.mark.parametrize("values, decimal", [
    (["1.234,56", "12,50"], ","), (["1 234,56", "9,90"], ","), (["1,234.56", "12.50"], "."),
    (["kr 49,00"], ","), (["R$ 1.234,56"], ","), (["$1,234.56"], "."), (["NOK 49"], "."),
    (["12,50 zł"], ","), (["1\u202f234,50"], ","),
])
def test_decimal(values, decimal):
    assert detect_decimal(pl.Series(values))[0] == decimal


@pytest.mark.parametrize("values, fmt", [
    (["2024-01-31"], "%Y-%m-%d"), (["31.01.2024"], "%d.%m.%Y"), (["19970101"], "%Y%m%d"),
    (["2024-01-31 10:11:12"], "%Y-%m-%d"), (["45292"], "excel"), (["31/01/2024"], "?/"),
])
def test_date_format(values, fmt):
    assert detect_date_format(pl.Series(values), "f.csv", "d") == fmt


def test_day_month_order():
    assert resolve_day_month("?/", pl.Series(["31/01/2024"]), "f", "d") == "%d/%m/%Y"
    assert resolve_day_month("?/", pl.Series(["01/31/2024"]), "f", "d") == "%m/%d/%Y"
    with pytest.raises(PunchcardError, match="date_format"):
        resolve_day_month("?/", pl.Series(["01/02/2024"]), "f", "d")


def test_encoding():
    assert detect_encoding("Beløp".encode()) == "utf-8"
    assert detect_encoding("Beløp".encode("cp1252")) == "cp1252"


def test_normalise_header():
    assert normalise_header("Ilość") == "ilosc"
    assert normalise_header("Fødselsdato") == "fodselsdato"
    assert normalise_header("Kund-ID") == "kundid"


def test_roles_shopify():
    header = ("Name", "Email", "Financial Status", "Created at", "Subtotal", "Total",
              "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku", "Billing Name")
    assert detect_roles(header, {}, "f") == {
        "customer": "Email", "date": "Created at", "amount": "Total", "unit_price": "Lineitem price",
        "order": "Name", "items": "Lineitem quantity"}


def test_roles_square():
    header = ("Date", "Time", "Category", "Item", "Qty", "SKU", "Gross Sales", "Discounts",
              "Net Sales", "Tax", "Transaction ID", "Payment ID", "Location", "Customer ID",
              "Customer Name", "Customer Reference ID")
    roles = detect_roles(header, {}, "f")
    assert roles["customer"] == "Customer ID" and roles["amount"] == "Net Sales"
    assert roles["order"] == "Transaction ID" and roles["items"] == "Qty" and roles["date"] == "Date"


def test_roles_woocommerce_and_nordic():
    woo = ("Order Number", "Order Status", "Order Date", "Customer User", "Billing Email", "Order Total")
    assert detect_roles(woo, {}, "f") == {"customer": "Billing Email", "date": "Order Date",
                                          "amount": "Order Total", "order": "Order Number"}
    nb = ("Kundenummer", "Dato", "Beløp", "Kvitteringsnr", "Antall", "Fødselsdato")
    assert detect_roles(nb, {}, "f") == {"customer": "Kundenummer", "date": "Dato", "amount": "Beløp",
                                         "order": "Kvitteringsnr", "items": "Antall",
                                         "birthday": "Fødselsdato"}


def test_sniff_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("Kundenummer;Dato;Beløp\n1;31.01.2024;kr 1 234,50\n".encode("cp1252"))
    found = sniff(path)
    assert (found.dialect.encoding, found.dialect.delimiter, found.dialect.decimal,
            found.dialect.date_format) == ("cp1252", ";", ",", "%d.%m.%Y")
    assert found.header == ("Kundenummer", "Dato", "Beløp") and found.rows_estimate >= 1
