"""Guessing an unseen export's columns, currency and language (`columns.py`, used by `init`)."""

from __future__ import annotations

import polars as pl
import pytest

from punchcard.ingest.columns import HIGH, LOW, guess, header_suggestion
from punchcard.ingest.columns import count_rows, sniff_export
from tests.exports import english_gbp, german_line_items, grocery

# Header vocabularies, one small export per language (written for these tests): the header
# and two lines. Expected: role -> column, and the language.
VOCABULARIES = {
    "nb": ("Kvitteringsnummer;Kjøpsdato;Kundenummer;Varenummer;Antall;Beløp\n"
           "1001;03.02.2025;K-17;4711;2;98,00\n1002;04.02.2025;K-17;4712;1;49,50\n"
           "1003;14.02.2025;K-22;4711;1;49,00\n",
           {"order": "Kvitteringsnummer", "date": "Kjøpsdato", "customer": "Kundenummer",
            "product": "Varenummer", "items": "Antall", "amount": "Beløp"}),
    "sv": ("Kvittonummer;Köpdatum;Medlemsnummer;Artikelnr;Antal;Summa\n"
           "55;2025-02-03;M100;A1;1;35,00\n56;2025-02-03;M101;A2;3;105,50\n"
           "57;2025-02-09;M100;A1;1;35,00\n",
           {"order": "Kvittonummer", "date": "Köpdatum", "customer": "Medlemsnummer",
            "product": "Artikelnr", "items": "Antal", "amount": "Summa"}),
    "pl": ("Nr paragonu;Data sprzedaży;Numer klienta;Towar;Ilość;Wartość brutto\n"
           "P/1;03.02.2025;88;Buty;1;299,99\nP/2;04.02.2025;89;Pasek;2;119,98\n"
           "P/3;15.02.2025;88;Buty;1;299,99\n",
           {"order": "Nr paragonu", "date": "Data sprzedaży", "customer": "Numer klienta",
            "product": "Towar", "items": "Ilość", "amount": "Wartość brutto"}),
    "pt": ("Número do pedido;Data da compra;Código do cliente;Produto;Quantidade;Valor total\n"
           "9001;03/02/2025;C1;Camisa;1;R$ 89,90\n9002;14/02/2025;C2;Meia;3;R$ 59,70\n"
           "9003;15/02/2025;C1;Meia;1;R$ 19,90\n",
           {"order": "Número do pedido", "date": "Data da compra", "customer": "Código do cliente",
            "product": "Produto", "items": "Quantidade", "amount": "Valor total"}),
    "de": ("Belegnummer;Verkaufsdatum;Kundennr;Artikelbezeichnung;Anzahl;Gesamtbetrag\n"
           "B1;03.02.2025;501;Brot;1;3,20\nB2;04.02.2025;502;Kaffee;2;5,80\n"
           "B3;17.02.2025;501;Brot;1;3,20\n",
           {"order": "Belegnummer", "date": "Verkaufsdatum", "customer": "Kundennr",
            "product": "Artikelbezeichnung", "items": "Anzahl", "amount": "Gesamtbetrag"}),
    "en": ("Receipt Number,Purchase Date,Member ID,SKU,Qty,Net Sales\n"
           "R1,2025-02-03,m1,S1,1,4.50\nR2,2025-02-04,m2,S2,2,9.00\nR3,2025-02-10,m1,S1,1,4.50\n",
           {"order": "Receipt Number", "date": "Purchase Date", "customer": "Member ID",
            "product": "SKU", "items": "Qty", "amount": "Net Sales"}),
}


def sample(text: str) -> pl.DataFrame:
    sep = ";" if text.count(";") > text.count(",") else ","
    return pl.read_csv(text.encode(), separator=sep, infer_schema=False)


@pytest.mark.parametrize("lang", sorted(VOCABULARIES))
def test_header_vocabulary_of_each_language(lang):
    text, expected = VOCABULARIES[lang]
    found, decimal, _ = guess(sample(text))
    assert {r: g.value for r, g in found.roles.items()} == expected
    assert found.language == lang
    assert decimal == ("." if lang == "en" else ",")
    assert found.missing() == []


def test_locale_and_currency_follow_the_language():
    found = {lang: guess(sample(text))[0] for lang, (text, _) in VOCABULARIES.items()}
    assert {k: (g.locale.value, g.currency.value) for k, g in found.items()} == {
        "nb": ("nb-NO", "NOK"), "sv": ("sv-SE", "SEK"), "pl": ("pl-PL", "PLN"),
        "pt": ("pt-BR", "BRL"),  # R$ in the values
        "de": ("en-IE", "EUR"),  # no German site text: English words, euro formats
        "en": ("en-US", "USD")}
    assert found["pt"].currency.confidence == HIGH  # R$ in the values
    assert found["nb"].currency.confidence == LOW  # only the language says NOK
    assert "no German" in found["de"].locale.evidence


def test_german_cp1252_line_items(tmp_path):
    truth = german_line_items(tmp_path / "rechnungen.csv")
    s, found, dialect = sniff_export(tmp_path / "rechnungen.csv")
    roles = {r: g.value for r, g in found.roles.items()}
    assert roles == {"customer": "Kundennummer", "date": "Rechnungsdatum", "amount": "Betrag (EUR)",
                     "unit_price": "Einzelpreis (EUR)", "order": "Rechnungsnummer",
                     "items": "Menge", "product": "Artikelnummer"}
    assert "Menge" in found.roles["amount"].evidence and "100 %" in found.roles["amount"].evidence
    assert (dialect.encoding, dialect.delimiter, dialect.decimal, dialect.date_format) == (
        "cp1252", ";", ",", "%d.%m.%Y")
    assert (found.currency.value, found.language) == ("EUR", "de")
    assert s.rows == truth["lines"] == 783


def test_grocery_amount_column_holds_quantities(tmp_path):
    grocery(tmp_path / "g.csv")
    _, found, dialect = sniff_export(tmp_path / "g.csv")
    roles = {r: g.value for r, g in found.roles.items()}
    # AMOUNT is 1..6 (quantities); SALES_PRICE doubles when AMOUNT doubles for one item code:
    # the line's total, so it is the amount (not a unit price to multiply again)
    assert roles == {"customer": "CARD_NO", "date": "TRANS_DT", "amount": "SALES_PRICE",
                     "items": "AMOUNT", "product": "ITEM_CODE"}
    assert "quantities" in found.roles["items"].evidence
    assert "line's total" in found.roles["amount"].evidence
    assert dialect.date_format == "%m/%d/%Y"  # 11/1/2000 … 12/30/2000


def test_english_gbp_from_the_currency_column(tmp_path):
    english_gbp(tmp_path / "e.csv")
    _, found, _ = sniff_export(tmp_path / "e.csv")
    assert found.roles["customer"].value == "Customer Email"
    assert found.roles["amount"].value == "Line Total"
    assert (found.currency.value, found.currency.confidence) == ("GBP", HIGH)
    assert found.locale.value == "en-GB"


@pytest.mark.parametrize("header, code", [("Amount (GBP)", "GBP"), ("Betrag in EUR", "EUR"),
                                          ("Total £", "GBP")])
def test_currency_in_a_header(header, code):
    frame = pl.DataFrame({"customer": ["a", "b", "a"], "date": ["2025-01-01", "2025-01-02", "2025-01-09"],
                          header: ["1.50", "2.25", "3.10"]})
    assert guess(frame)[0].currency.value == code


def test_pound_signs_in_values():
    frame = pl.DataFrame({"customer": ["a", "b", "a"], "date": ["2025-01-01", "2025-01-02", "2025-01-09"],
                          "amount": ["£1.50", "£2.25", "£3.10"]})
    assert guess(frame)[0].currency.value == "GBP"


def test_values_alone_find_date_money_and_customer():
    # headers that say nothing: the date reads as dates, the money has decimals, the customer
    # id comes back on other dates while the receipt number stays on one
    frame = pl.DataFrame({
        "c1": ["r1", "r1", "r2", "r3", "r4", "r5"],
        "c2": ["x9", "x9", "x7", "x9", "x7", "x8"],
        "c3": ["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-05", "2025-01-06", "2025-01-07"],
        "c4": ["3.50", "1.25", "9.99", "4.10", "2.20", "7.30"]})
    found = guess(frame)[0]
    assert {r: g.value for r, g in found.roles.items()} == {"date": "c3", "amount": "c4", "customer": "c2"}
    assert found.roles["customer"].confidence == LOW
    assert "more than one date" in found.roles["customer"].evidence


def test_an_id_column_is_not_a_date():
    # 8-digit numbers starting 20…: not dates when month/day do not read
    frame = pl.DataFrame({"Kunde": ["20991399", "20991399"], "Dato": ["2025-01-01", "2025-01-02"],
                          "Beløp": ["1,00", "2,00"]})
    assert guess(frame)[0].roles["customer"].value == "Kunde"


def test_rows_are_counted_not_estimated(tmp_path):
    path = tmp_path / "big.csv"
    line = "customer-with-a-long-name@example.com,2025-01-01,12.50,1,a note that varies {}\n"
    path.write_text("customer,date,amount,items,note\n" + "".join(line.format("x" * (i % 50))
                                                                  for i in range(9000)))
    assert path.stat().st_size > 256 * 1024  # more than the sample
    assert count_rows(path) == 9000


def test_header_suggestion_for_error_messages():
    header = ("Rechnungsnummer", "Kundennummer", "Datum")
    assert header_suggestion(header, "customer", set()) == "Kundennummer"
    assert header_suggestion(header, "amount", set()) is None


def test_date_evidence_says_how_many_values_read():
    # 19 of 20 dates read (one typed "31.02.2025"): the evidence says 95 %, not 100 %
    dates = [f"{d:02d}.01.2025" for d in range(1, 20)] + ["31.02.2025"]
    frame = pl.DataFrame({"Kunde": [f"k{i % 4}" for i in range(20)], "Dato": dates,
                          "Beløp": ["12,50"] * 20})
    found = guess(frame)[0]
    assert "95 % of values read as dates" in found.roles["date"].evidence
    assert not found.timed


def test_shopify_orders_export():
    # line items with empty cells (only an order's first line has its date and total): the
    # values stay aligned with their rows, and 'Name' is the order number
    text = ("Name,Email,Financial Status,Created at,Total,Lineitem quantity,Lineitem name,Lineitem price\n"
            "#1001,ann@example.com,paid,2024-01-05 10:00:00 +0100,30.00,2,Latte,10.00\n"
            "#1001,ann@example.com,,,,1,Bun,10.00\n"
            "#1002,bob@example.com,paid,2024-01-06 09:00:00 +0100,12.00,1,Tea,12.00\n")
    found = guess(sample(text))[0]
    assert {r: g.value for r, g in found.roles.items()} == {
        "customer": "Email", "date": "Created at", "amount": "Total", "order": "Name",
        "items": "Lineitem quantity", "product": "Lineitem name"}
    assert found.timed


def test_a_date_header_with_some_unreadable_dates_is_still_the_date():
    # 4 of 5 dates read (31.02 does not exist): named Dato, so the date, with medium confidence
    text = ("Kundenummer;Dato;Beløp\n1001;01.03.2024;kr 15,50\n1002;02.03.2024;kr 49,00\n"
            "1003;05.03.2024;kr 9,00\n1001;07.03.2024;kr 12,00\n1002;31.02.2024;kr 10,00\n")
    found = guess(sample(text))[0]
    assert found.roles["date"].value == "Dato" and found.roles["date"].confidence == "medium"
    assert "only 80 % of values read as %d.%m.%Y" in found.roles["date"].evidence


def test_a_first_line_of_data_is_not_taken_for_a_header():
    # CDNOW_sample.txt has no header: its first sale would be read as one
    frame = sample("00001,19970101,1,11.77\n00002,19970112,1,12.00\n00002,19970112,5,77.00\n"
                   "00003,19970102,2,20.76\n00003,19970330,2,20.76\n")
    notes = guess(frame)[0].notes
    assert any("looks like data, not a header" in n for n in notes)
    assert not guess(sample(VOCABULARIES["en"][0]))[0].notes
