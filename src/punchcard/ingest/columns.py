"""Guessing a sales export's column roles, currency and language from its header and values.

``punchcard init`` uses this on an export it has never seen. Each guess carries its
evidence and a confidence, so the starter program can say why it chose a column:

* the header vocabulary of the languages punchcard ships (nb, sv, pl, pt, en) plus German
  and common English synonyms — a header matches a word exactly, or contains one (German
  and Scandinavian compounds: *Rechnungsnummer*, *Kjøpsdato*);
* the values: a column of dates is a date, never an id; small whole numbers are
  quantities even under a header that says ``AMOUNT``; a column equal to quantity × another
  column is the line amount (and the other the unit price); a customer id repeats on
  several dates where an order number stays on one.

Build-time detection (``dialect.detect_roles``) stays as strict as before: the guesses
here are written into the program file, where the user checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from punchcard.errors import PunchcardError
from punchcard.ingest.dialect import (CURRENCY_RE, DATE_PATTERNS, EXCEL, Dialect, date_part,
                                      day_month_order, detect_delimiter, detect_encoding,
                                      is_shopify, normalise_header, open_binary, read_sample,
                                      resolve_day_month, sample_frame, sample_text)

HIGH, MEDIUM, LOW = "high", "medium", "low"
REQUIRED = ("customer", "date", "amount")  # amount, or unit_price with items
LANGUAGE_NAMES = {"en": "English", "de": "German", "nb": "Norwegian", "sv": "Swedish",
                  "pl": "Polish", "pt": "Portuguese"}

# role -> language -> words (normalised: lower case, no accents, alphanumerics only).
# A header equal to a word is a strong match; one containing a word of 4+ letters (a
# compound such as "rechnungsnummer") a weaker one.
VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {
        "en": ("customer", "customerid", "customerno", "customernumber", "customercode", "custid",
               "custno", "client", "clientid", "clientno", "member", "memberid", "membernumber",
               "memberno", "loyaltyid", "loyaltycard", "loyaltynumber", "cardnumber", "cardno",
               "card", "household", "householdid", "account", "accountid", "accountno", "userid",
               "buyer", "buyerid", "shopper", "shopperid", "patron", "email", "emailaddress"),
        "de": ("kunde", "kunden", "kundennummer", "kundennr", "kundenid", "kundenkarte", "mitglied",
               "mitgliedsnummer", "mitgliedsnr", "kartennummer", "kundenkartennummer"),
        "nb": ("kunde", "kundenummer", "kundenr", "kundeid", "medlem", "medlemsnummer", "medlemsnr",
               "kortnummer", "epost"),
        "sv": ("kund", "kundid", "kundnr", "kundnummer", "medlem", "medlemsnummer", "medlemsnr",
               "kortnummer", "epost"),
        "pl": ("klient", "idklienta", "nrklienta", "numerklienta", "kodklienta", "nabywca",
               "czlonek", "numerkarty"),
        "pt": ("cliente", "idcliente", "codcliente", "codigocliente", "codigodocliente",
               "numerocliente", "iddocliente", "cpf", "socio", "membro"),
    },
    "date": {
        "en": ("date", "day", "dt", "time", "timestamp", "datetime", "orderdate", "invoicedate",
               "transactiondate", "transactiontimestamp", "purchasedate", "saledate", "salesdate",
               "createdat", "paidat", "txndate", "receiptdate", "bookingdate"),
        "de": ("datum", "belegdatum", "rechnungsdatum", "verkaufsdatum", "kaufdatum",
               "buchungsdatum", "zeit", "zeitpunkt", "tag"),
        "nb": ("dato", "kjopsdato", "salgsdato", "tidspunkt", "tid"),
        "sv": ("datum", "kopdatum", "forsaljningsdatum", "tidpunkt", "tid"),
        "pl": ("data", "datasprzedazy", "datazakupu", "datatransakcji", "czas"),
        "pt": ("data", "datadacompra", "datadavenda", "datadopedido", "hora", "datahora"),
    },
    "amount": {
        "en": ("amount", "total", "sum", "value", "revenue", "sales", "netsales", "grosssales",
               "linetotal", "subtotal", "net", "gross", "paid", "spend", "turnover", "ordertotal",
               "totalamount", "grandtotal", "salesvalue", "dollarvalue", "netamount"),
        "de": ("betrag", "gesamt", "gesamtbetrag", "summe", "umsatz", "wert", "bruttobetrag",
               "nettobetrag", "endbetrag", "rechnungsbetrag", "brutto", "netto", "gesamtpreis"),
        "nb": ("belop", "totalbelop", "sum", "totalt", "omsetning", "verdi"),
        "sv": ("belopp", "totalbelopp", "summa", "totalt", "omsattning", "varde"),
        "pl": ("kwota", "kwotabrutto", "wartosc", "wartoscbrutto", "suma", "razem", "naleznosc",
               "obrot"),
        "pt": ("valor", "valortotal", "total", "montante", "quantia", "importancia",
               "faturamento"),
    },
    "unit_price": {
        "en": ("price", "unitprice", "itemprice", "priceeach", "lineitemprice", "saleprice",
               "salesprice"),
        "de": ("preis", "einzelpreis", "stueckpreis", "stuckpreis", "epreis", "verkaufspreis"),
        "nb": ("pris", "enhetspris", "stykkpris", "apris"),
        "sv": ("pris", "styckpris", "apris", "enhetspris"),
        "pl": ("cena", "cenajednostkowa", "cenanetto", "cenabrutto"),
        "pt": ("preco", "precounitario", "valorunitario"),
    },
    "order": {
        "en": ("order", "orderid", "orderno", "ordernumber", "invoice", "invoiceno", "invoicenumber",
               "invoiceid", "receipt", "receiptno", "receiptid", "receiptnumber", "transaction",
               "transactionid", "transactionno", "txn", "txnid", "basket", "basketid", "ticket",
               "ticketid", "bill", "billno", "check", "checkno"),
        "de": ("rechnung", "rechnungsnummer", "rechnungsnr", "beleg", "belegnummer", "belegnr",
               "bon", "bonnummer", "bonnr", "bestellung", "bestellnummer", "bestellnr", "auftrag",
               "auftragsnummer", "quittung", "kassenbon", "vorgang", "vorgangsnummer"),
        "nb": ("ordre", "ordrenr", "ordrenummer", "kvittering", "kvitteringsnr",
               "kvitteringsnummer", "bilagsnr", "faktura", "fakturanr"),
        "sv": ("order", "ordernr", "kvitto", "kvittonr", "kvittonummer", "faktura", "fakturanr"),
        "pl": ("zamowienie", "nrzamowienia", "paragon", "nrparagonu", "numerparagonu", "faktura",
               "nrfaktury", "transakcja"),
        "pt": ("pedido", "numerodopedido", "npedido", "idpedido", "nota", "notafiscal", "cupom",
               "venda", "recibo", "fatura"),
    },
    "items": {
        "en": ("quantity", "qty", "items", "units", "count", "pieces", "pcs", "numberofitems",
               "lineitemquantity", "numberofcds", "cds"),
        "de": ("menge", "anzahl", "stueck", "stuck", "stk", "stueckzahl"),
        "nb": ("antall", "stk", "mengde"),
        "sv": ("antal", "mangd", "antalartiklar"),
        "pl": ("ilosc", "szt", "liczba"),
        "pt": ("quantidade", "qtd", "qtde", "quant", "unidades"),
    },
    "product": {
        "en": ("product", "productid", "productcode", "sku", "item", "itemid", "itemcode",
               "itemname", "article", "articleno", "ean", "barcode", "upc", "plu", "description",
               "lineitemname", "lineitemsku"),
        "de": ("artikel", "artikelnummer", "artikelnr", "produkt", "ware", "warengruppe",
               "bezeichnung", "artikelbezeichnung"),
        "nb": ("vare", "varenr", "varenummer", "produkt", "produktid"),
        "sv": ("artikel", "artikelnr", "vara", "produkt"),
        "pl": ("produkt", "towar", "indeks", "kodtowaru"),
        "pt": ("produto", "codproduto", "produtoid", "artigo"),
    },
    "store": {
        "en": ("store", "storeid", "shop", "branch", "location", "outlet", "till", "register"),
        "de": ("filiale", "geschaeft", "laden", "markt", "kasse"),
        "nb": ("butikk", "avdeling", "kasse"),
        "sv": ("butik", "kassa", "filial"),
        "pl": ("sklep", "oddzial", "kasa"),
        "pt": ("loja", "filial", "caixa"),
    },
    "birthday": {
        "en": ("birthday", "birthdate", "dateofbirth", "dob"),
        "de": ("geburtstag", "geburtsdatum"),
        "nb": ("fodselsdato", "fodselsdag", "bursdag"),
        "sv": ("fodelsedatum", "fodelsedag"),
        "pl": ("dataurodzenia", "urodziny"),
        "pt": ("datadenascimento", "nascimento", "aniversario"),
    },
    "currency": {
        "en": ("currency", "curr", "ccy", "currencycode"),
        "de": ("wahrung", "waehrung"),
        "nb": ("valuta",), "sv": ("valuta",), "pl": ("waluta",), "pt": ("moeda",),
    },
}
ROLES = ("customer", "date", "amount", "unit_price", "order", "items", "product", "store",
         "birthday")
ID_WORDS = ("id", "nr", "no", "nummer", "number", "num", "code", "kod", "codigo", "numer")
NAME_WORDS = ("name", "navn", "namn", "nazw", "nome")
# Currency symbols and codes in values or headers → ISO code ("kr" depends on the language).
SYMBOLS = (("R$", "BRL"), ("US$", "USD"), ("£", "GBP"), ("€", "EUR"), ("zł", "PLN"),
           ("¥", "JPY"), ("₹", "INR"), ("$", "USD"))
CODES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP", "PLN", "BRL", "CHF", "ISK", "CAD", "AUD",
         "JPY", "CZK", "HUF")
# language (and currency) → the locale the site is written in; German has no site text yet.
LOCALES = {"nb": "nb-NO", "sv": "sv-SE", "pl": "pl-PL", "pt": "pt-BR"}
CURRENCY_OF = {"nb": "NOK", "sv": "SEK", "pl": "PLN", "pt": "BRL", "de": "EUR"}
ENGLISH_LOCALE = {"GBP": "en-GB", "USD": "en-US", "EUR": "en-IE", "CAD": "en-CA", "AUD": "en-AU",
                  "INR": "en-IN"}


@dataclass(frozen=True)
class Guess:
    """One guessed value: what it is, the evidence for it and how sure it is."""

    value: str
    evidence: str
    confidence: str = MEDIUM


@dataclass
class Profile:
    """What a sample of one column's values looks like."""

    name: str
    filled: int = 0
    date_format: str | None = None  # strftime format when nearly every value reads as a date
    date_share: float = 0.0  # the share of values that format reads
    weak_date: str | None = None  # the format that reads most (half or more) values, not 90 %
    has_time: bool = False
    numeric: float = 0.0  # share of values that read as numbers
    integers: float = 0.0  # share of those that are whole
    low: float = 0.0
    high: float = 0.0
    median: float = 0.0
    distinct: int = 0
    symbols: set[str] = field(default_factory=set)
    emails: bool = False
    values: pl.Series | None = None  # the numbers (Float64), when numeric


def words(header: str, role: str) -> tuple[int, str, str]:
    """Return (score, word, language) of the best vocabulary match of a header for a role.

    3: the header is a word; 2: it contains one (4+ letters) or has it as a token; 0: none.
    """
    norm, toks = normalise_header(header), tokens(header)
    best = (0, "", "")
    for lang, vocab in VOCABULARY[role].items():
        for word in vocab:
            if norm == word:
                return 3, word, lang
            if best[0] < 2 and (word in toks or (len(word) >= 4 and word in norm)):
                best = (2, word, lang)
    return best


def number_expr(col: str, decimal: str) -> pl.Expr:
    """Return the column read as numbers in the sniffed decimal convention (null where not)."""
    from punchcard.ingest.parse import amount_expr

    return amount_expr(col, pl.String, Dialect(decimal=decimal))


def detect_decimal_all(frame: pl.DataFrame) -> str:
    """Return the decimal mark the sample's numbers use, judged over every column."""
    from punchcard.ingest.dialect import detect_decimal

    cells = pl.concat([frame[c].drop_nulls() for c in frame.columns]) if frame.width else pl.Series([], dtype=pl.String)
    # dates (31.01.2024, 2024-01-31) and times are not numbers
    cells = cells.filter(~cells.str.contains(r"\d[./-]\d+[./-]\d|:\d\d"))
    return detect_decimal(cells)[0] if cells.len() else "."


def date_format_of(values: pl.Series) -> tuple[str | None, float, bool]:
    """Return (format, share of values it reads, any time part) for a column's sample values:
    the best format and its share (the caller decides what share is enough), or None."""
    parts = values.drop_nulls().str.strip_chars()
    parts = parts.filter(parts != "")
    if parts.len() == 0:
        return None, 0.0, False
    times = parts.str.extract(r"[ T](\d{1,2}:\d\d(?::\d\d)?)", 1).drop_nulls()
    has_time = bool(times.str.contains(r"[1-9]").any())  # midnight everywhere is no time
    days = pl.DataFrame({"v": parts}).select(date_part(pl.col("v")).alias("v"))["v"]
    best, best_share = None, 0.0
    for pattern, fmt in DATE_PATTERNS:
        if fmt == EXCEL:
            continue  # a five-digit number is an id or an amount far more often than a date
        share = float(days.str.contains(pattern).mean())
        if share > best_share:
            best, best_share = fmt, share
    if best is None or best_share < 0.5:
        return None, best_share, has_time
    if not best.startswith("?"):
        read = days.str.to_date(best, strict=False)
        best_share = float(read.is_not_null().mean())
        if best_share < 0.5:
            return None, best_share, has_time
        years = read.dt.year().drop_nulls()
        if years.len() and (years.min() < 1900 or years.max() > 2100):
            return None, 0.0, has_time
    return best, best_share, has_time


def profile(frame: pl.DataFrame, col: str, decimal: str) -> Profile:
    """Return the profile of one column of the all-string sample."""
    values = frame[col]
    text = values.drop_nulls().str.strip_chars()
    text = text.filter(text != "")
    p = Profile(col, filled=text.len(), distinct=text.n_unique())
    if p.filled == 0:
        return p
    fmt, p.date_share, p.has_time = date_format_of(text)
    if fmt is not None and p.date_share >= 0.9:
        p.date_format = fmt
    elif fmt is not None:
        p.weak_date = fmt  # most values read as dates: a date if the header says so
    p.emails = float(text.str.contains("@").mean()) > 0.9
    found = text.str.extract_all(CURRENCY_RE).explode().drop_nulls()
    p.symbols = set(found.unique().to_list())
    if fmt is None:
        # read row by row, aligned with the sample (empty cells are null)
        numbers = pl.DataFrame({col: values}).select(number_expr(col, decimal))[col]
        read = numbers.drop_nulls()
        p.numeric = read.len() / p.filled
        if read.len():
            p.integers = float((read == read.round(0)).mean())
            p.low, p.high, p.median = float(read.min()), float(read.max()), float(read.median())
            p.values = numbers
    return p


def quantity_like(p: Profile) -> bool:
    """Return whether a column holds small whole numbers (how many of an item)."""
    return p.numeric >= 0.95 and p.integers >= 0.99 and p.median <= 20


def money_like(p: Profile) -> bool:
    """Return whether a column holds money: numbers, some with a fractional part or a symbol."""
    return p.numeric >= 0.95 and (p.integers < 0.98 or bool(p.symbols))


def product_share(total: pl.Series, count: pl.Series, unit: pl.Series) -> float:
    """Return the share of rows where total = count × unit (to the cent)."""
    frame = pl.DataFrame({"t": total, "c": count, "u": unit}).drop_nulls()
    if frame.height == 0:
        return 0.0
    ok = ((frame["t"] - frame["c"] * frame["u"]).abs() <= 0.011 + 1e-6 * frame["t"].abs())
    return float(ok.mean())


def scales_with_quantity(money: pl.Series, count: pl.Series, product: pl.Series) -> bool | None:
    """Return whether a money column is a line total: for a product sold in several
    quantities, money ÷ quantity stays the same where money itself changes. None: no evidence."""
    frame = pl.DataFrame({"m": money, "c": count, "p": product}).drop_nulls().filter(pl.col("c") > 0)
    if frame.height == 0:
        return None
    per = (frame.group_by("p").agg(pl.col("c").n_unique().alias("nc"), pl.col("m").n_unique().alias("nm"),
                                   (pl.col("m") / pl.col("c")).round(4).n_unique().alias("nu"))
           .filter(pl.col("nc") > 1))
    if per.height == 0:
        return None
    total = int((per["nu"] < per["nm"]).sum())
    unit = int((per["nm"] < per["nu"]).sum())
    if total == unit:
        return None
    return total > unit


def dates_per_id(ids: pl.Series, days: pl.Series) -> float:
    """Return the share of repeated ids that appear on more than one date."""
    frame = pl.DataFrame({"i": ids, "d": days}).drop_nulls()
    per = frame.group_by("i").agg(pl.len().alias("n"), pl.col("d").n_unique().alias("nd"))
    repeated = per.filter(pl.col("n") > 1)
    if repeated.height == 0:
        return 0.0
    return float((repeated["nd"] > 1).mean())


def pct(share: float) -> str:
    """Return a share as a percentage for evidence text (never 0 % or 100 % unless exact)."""
    value = share * 100
    if 0 < value < 1:
        return "< 1 %"
    if 99 < value < 100:
        return "> 99 %"
    return f"{value:.0f} %"


@dataclass
class Guessed:
    """Everything ``guess`` found: the column roles, currency and locale, with evidence."""

    roles: dict[str, Guess]
    currency: Guess
    locale: Guess
    language: str | None
    notes: list[str] = field(default_factory=list)
    timed: bool = False  # the dates carry a time of day
    def missing(self) -> list[str]:
        """Return the required roles not found (amount is covered by unit_price with items)."""
        out = [r for r in ("customer", "date") if r not in self.roles]
        if "amount" not in self.roles and not {"unit_price", "items"} <= set(self.roles):
            out.append("amount")
        return out


def guess(frame: pl.DataFrame, decimal: str | None = None,
          given_date_format: str | None = None) -> tuple[Guessed, str, dict[str, Profile]]:
    """Return (what was guessed, the decimal mark, per-column profiles) for an all-string sample."""
    decimal = decimal or detect_decimal_all(frame)
    profiles = {c: profile(frame, c, decimal) for c in frame.columns}
    header = {c: {r: words(c, r) for r in (*ROLES, "currency")} for c in frame.columns}
    roles: dict[str, Guess] = {}
    taken: set[str] = set()
    notes: list[str] = []

    def said(col: str, role: str) -> str:
        score, word, _ = header[col][role]
        how = "is" if score == 3 else "contains"
        langs = [LANGUAGE_NAMES[k] for k, vocab in VOCABULARY[role].items() if word in vocab]
        return f"header {how} {word!r} ({', '.join(langs)})"

    def take(role: str, col: str, evidence: str, confidence: str) -> None:
        roles[role] = Guess(col, evidence, confidence)
        taken.add(col)

    def by_header(role: str, cols: list[str]) -> list[str]:
        ranked = [c for c in cols if c not in taken and header[c][role][0] > 0]
        return sorted(ranked, key=lambda c: (-header[c][role][0], list(frame.columns).index(c)))

    # 1. dates: the birthday first (its header says so), then the sale date
    dated = [c for c, p in profiles.items() if p.date_format]
    for c in by_header("birthday", dated):
        take("birthday", c, f"{said(c, 'birthday')}; values read as dates", HIGH)
        break
    named = by_header("date", dated)
    if named:
        c = named[0]
        p = profiles[c]
        time = " with a time of day" if p.has_time else ""
        take("date", c, f"{said(c, 'date')}; {pct(p.date_share)} of values read as dates{time}", HIGH)
    elif weak := by_header("date", [c for c, p in profiles.items() if p.weak_date]):
        c = weak[0]
        p = profiles[c]
        p.date_format = p.weak_date
        take("date", c, f"{said(c, 'date')}; but only {pct(p.date_share)} of values read as "
             f"{p.weak_date}: check the rest", MEDIUM)
    else:
        rest = [c for c in dated if c not in taken]
        if rest:
            c = max(rest, key=lambda c: profiles[c].distinct)
            conf = MEDIUM if len(rest) == 1 else LOW
            take("date", c, "values read as dates" + ("" if len(rest) == 1 else
                 f" (so do {', '.join(repr(r) for r in rest if r != c)}; the one with most distinct days)"), conf)
        else:
            for c in by_header("date", list(frame.columns)):
                notes.append(f"{c!r}: the header says date, but its values do not read as dates "
                             "(give `date_format:` under `sales:` → `format:`)")
                break

    # 2. numbers: quantities, money
    numeric = [c for c, p in profiles.items() if c not in taken and p.numeric >= 0.95]
    qty = [c for c in numeric if not money_like(profiles[c]) and (
        quantity_like(profiles[c]) or header[c]["items"][0] and profiles[c].integers >= 0.95)
        and header[c]["unit_price"][0] <= header[c]["amount"][0]]
    # money: numbers with decimals or a currency sign, or whole numbers under a money header
    money = [c for c in numeric if money_like(profiles[c]) or (
        c not in qty and (header[c]["amount"][0] or header[c]["unit_price"][0])
        and not header[c]["customer"][0] and not header[c]["order"][0])]
    for c in by_header("items", qty):
        take("items", c, f"{said(c, 'items')}; whole numbers {profiles[c].low:g}–{profiles[c].high:g}", HIGH)
        break
    if "items" not in roles and money:
        # a column called amount (or value) holding small whole numbers beside a money column
        for c in by_header("amount", qty):
            take("items", c, f"{said(c, 'amount')}, but its values are small whole numbers "
                 f"({profiles[c].low:g}–{profiles[c].high:g}, median {profiles[c].median:g}): "
                 f"quantities, not money", MEDIUM)
            break
    if "items" not in roles:
        # a whole-number column q with money columns a = q × b: the quantity of a line item
        for q in [c for c in qty if c not in taken]:
            pair = [(a, b) for a in money for b in money if a != b and product_share(
                profiles[a].values, profiles[q].values, profiles[b].values) >= 0.95]
            if pair:
                take("items", q, f"{pair[0][0]!r} = {q!r} × {pair[0][1]!r} on the lines: quantities",
                     MEDIUM)
                break
    money = [c for c in money if c not in taken]
    if "items" in roles and len(money) >= 2:
        q = roles["items"].value
        best = None
        for a in money:
            for b in money:
                if a != b:
                    share = product_share(profiles[a].values, profiles[q].values, profiles[b].values)
                    if share >= 0.9 and (best is None or share > best[0]):
                        best = (share, a, b)
        if best:
            share, a, b = best
            take("amount", a, f"equals {q!r} × {b!r} on {pct(share)} of lines: the line amount", HIGH)
            take("unit_price", b, f"{a!r} = {q!r} × {b!r}: the price of one item", HIGH)
    if "amount" not in roles and "unit_price" not in roles:
        # a header that says price more than amount is a price; it may still be the line total
        amounts = [c for c in by_header("amount", money)
                   if header[c]["amount"][0] >= header[c]["unit_price"][0]]
        prices = [c for c in by_header("unit_price", money) if c not in amounts]
        if amounts:
            c = amounts[0]
            take("amount", c, f"{said(c, 'amount')}; values are money "
                 f"({profiles[c].low:g} to {profiles[c].high:g})",
                 HIGH if header[c]["amount"][0] == 3 else MEDIUM)
        elif prices:
            c = prices[0]
            total = None
            if "items" in roles:
                prods = by_header("product", [x for x in frame.columns if x not in taken
                                              and not profiles[x].date_format])
                if prods:
                    total = scales_with_quantity(profiles[c].values,
                                                 profiles[roles["items"].value].values, frame[prods[0]])
            q = roles["items"].value if "items" in roles else None
            if total:
                take("amount", c, f"{said(c, 'unit_price')}, but for one product it grows with "
                     f"{q!r}: the line's total, not one item's price", MEDIUM)
            elif q:
                why = "" if total is None else f"; for one product it stays the same whatever {q!r}"
                take("unit_price", c, f"{said(c, 'unit_price')}{why}: the amount is {c!r} × {q!r}",
                     MEDIUM if total is None else HIGH)
            else:
                take("amount", c, f"{said(c, 'unit_price')}, and there is no quantity column: "
                     "taken as the line amount", LOW)
    if "amount" not in roles and "unit_price" not in roles:
        rest = [c for c in money if c not in taken]
        if len(rest) == 1:
            take("amount", rest[0], "the only column of money (numbers with decimals)", MEDIUM)
        elif rest:
            c = rest[-1]
            take("amount", c, f"one of {len(rest)} columns of money ({', '.join(map(repr, rest))}); "
                 "the last of them", LOW)
    if "amount" not in roles and "unit_price" not in roles:
        # no column of money anywhere: whole amounts (prices in whole kroner) under a money header
        for c in by_header("amount", [c for c in qty if c not in taken]):
            take("amount", c, f"{said(c, 'amount')}; whole numbers ({profiles[c].low:g} to "
                 f"{profiles[c].high:g}) and no other column of money", MEDIUM)
            break

    # 3. ids: customer and order (never a date, a quantity or money)
    ids = [c for c in frame.columns if c not in taken and not profiles[c].date_format
           and not money_like(profiles[c])]
    days = None
    if "date" in roles:
        days = frame[roles["date"].value].str.strip_chars()
        days = pl.DataFrame({"v": days}).select(date_part(pl.col("v")).alias("v"))["v"]

    def spread(c: str) -> str:
        if days is None:
            return ""
        share = dates_per_id(frame[c], days)
        return f"; {pct(share)} of its repeated values appear on more than one date"

    def idness(c: str) -> float:
        norm = normalise_header(c)
        bonus = 0.5 if any(w in norm for w in ID_WORDS) else 0.0
        return bonus - (1.0 if any(w in norm for w in NAME_WORDS) else 0.0)

    shop_name = next((c for c in ids if normalise_header(c) == "name"), None)
    if is_shopify(tuple(frame.columns)) and shop_name is not None:
        take("order", shop_name, f"a Shopify orders export: {shop_name!r} is the order number "
             f"(such as {frame[shop_name].drop_nulls()[0]!r})", HIGH)
    for role in ("customer", "order"):
        if role in roles:
            continue
        named = by_header(role, ids)
        named.sort(key=lambda c: (-header[c][role][0] - idness(c), list(frame.columns).index(c)))
        if named:
            c = named[0]
            rep = profiles[c].filled - profiles[c].distinct
            conf = HIGH if header[c][role][0] == 3 or idness(c) > 0 else MEDIUM
            take(role, c, f"{said(c, role)}; {profiles[c].distinct:,} distinct values on "
                 f"{profiles[c].filled:,} lines ({rep:,} repeats){spread(c) if role == 'customer' else ''}", conf)
    if "customer" not in roles:
        mails = [c for c in ids if c not in taken and profiles[c].emails]
        if mails:
            take("customer", mails[0], "values are e-mail addresses", MEDIUM)
    if "customer" not in roles and days is not None:
        rest = [c for c in ids if c not in taken and profiles[c].distinct < profiles[c].filled
                and not quantity_like(profiles[c])]
        scored = sorted(((dates_per_id(frame[c], days), c) for c in rest), reverse=True)
        if scored and scored[0][0] > 0.2:
            share, c = scored[0]
            take("customer", c, f"values repeat, {pct(share)} of repeated ones on more than "
                 "one date (a customer comes back; an order does not)", LOW)
    for role in ("product", "store"):
        for c in by_header(role, [c for c in frame.columns if c not in taken]):
            take(role, c, said(c, role), HIGH if header[c][role][0] == 3 else MEDIUM)
            break
    if headerless(tuple(frame.columns)):
        notes.append(f"the first line ({', '.join(frame.columns)}) looks like data, not a header: a "
                     "build reads it as the header, so that sale is not counted. Add a header line "
                     "naming the columns to the export")
    currency, language = guess_currency(frame, profiles, roles, header)
    timed = "date" in roles and profiles[roles["date"].value].has_time
    return (Guessed(roles, currency, guess_locale(language, currency.value), language, notes, timed),
            decimal, profiles)


def headerless(header: tuple[str, ...]) -> bool:
    """Return whether a "header" is really a line of data: most of its cells are numbers or
    dates (a header names its columns in words)."""
    valueish = [h for h in header if re.fullmatch(r"[-+]?[\d.,/: ]+", h.strip())]
    return len(valueish) * 2 > len(header)


def tokens(header: str) -> set[str]:
    """Return the header's words, normalised (split at non-letters and camelCase)."""
    parts = re.split(r"[^0-9A-Za-zÀ-ÿ]+|(?<=[a-z])(?=[A-Z])", header)
    return {normalise_header(t) for t in parts if t}


def languages(header: dict[str, dict[str, tuple[int, str, str]]]) -> str | None:
    """Return the language most headers are written in: the one with most headers that are,
    or contain as a compound part, one of its words; English loses ties."""
    votes: dict[str, int] = {}
    for col in header:
        norm, toks = normalise_header(col), tokens(col)
        langs = {lang for role in VOCABULARY for lang, vocab in VOCABULARY[role].items()
                 if any(norm == w or w in toks or (len(w) >= 6 and w in norm) for w in vocab)}
        for lang in langs:
            votes[lang] = votes.get(lang, 0) + 1
    if not votes:
        return None
    return max(sorted(votes, key=lambda k: k == "en"), key=lambda k: votes[k])


def guess_currency(frame: pl.DataFrame, profiles: dict[str, Profile], roles: dict[str, Guess],
                   header: dict) -> tuple[Guess, str | None]:
    """Return the currency guess (with evidence) and the export's language."""
    language = languages(header)
    for col in frame.columns:  # a currency column: its most common code
        if header[col]["currency"][0]:
            values = frame[col].drop_nulls().str.strip_chars().str.to_uppercase()
            codes = values.filter(values.is_in(list(CODES)))
            if codes.len():
                top = codes.value_counts(sort=True)[0, 0]
                return Guess(top, f"column {col!r} says {top}", HIGH), language
    for col in frame.columns:  # a code in a header: "Amount (GBP)", "Betrag in EUR"
        for code in CODES:
            if re.search(rf"(?<![A-Za-z]){code}(?![A-Za-z])", col, flags=re.IGNORECASE):
                return Guess(code, f"header {col!r}", HIGH), language
        for sym, code in SYMBOLS:
            if sym in col:
                return Guess(code, f"header {col!r} has {sym}", HIGH), language
    money = [g.value for r, g in roles.items() if r in ("amount", "unit_price")]
    for col in money:
        for sym in sorted(profiles[col].symbols, key=len, reverse=True):
            up = sym.upper()
            if up in CODES:
                return Guess(up, f"values in {col!r} carry {sym}", HIGH), language
            for s, code in SYMBOLS:
                if sym == s:
                    return Guess(code, f"values in {col!r} carry {sym}",
                                 MEDIUM if s == "$" else HIGH), language
            if sym.lower().startswith("kr"):
                code = {"sv": "SEK", "nb": "NOK"}.get(language or "", "NOK")
                return Guess(code, f"values carry {sym!r} and the headers are "
                             f"{LANGUAGE_NAMES.get(language or 'nb', 'Norwegian')}", MEDIUM), language
    if language in CURRENCY_OF:
        code = CURRENCY_OF[language]
        return Guess(code, f"no currency in the export; the headers are {LANGUAGE_NAMES[language]}",
                     LOW), language
    return Guess("USD", "no currency in the export: a default", LOW), language


def guess_locale(language: str | None, currency: str) -> Guess:
    """Return the site's locale for the export's language and currency."""
    if language == "pt":
        loc = "pt-PT" if currency == "EUR" else "pt-BR"
        return Guess(loc, f"Portuguese headers, {currency}", MEDIUM)
    if language in LOCALES:
        return Guess(LOCALES[language], f"{LANGUAGE_NAMES[language]} headers", MEDIUM)
    loc = ENGLISH_LOCALE.get(currency, "en-GB")
    if language and language != "en":
        return Guess(loc, f"{LANGUAGE_NAMES[language]} headers, but the site has no "
                     f"{LANGUAGE_NAMES[language]} text: English words, {currency} formats", LOW)
    why = "English headers" if language == "en" else "no language in the headers"
    return Guess(loc, f"{why}, {currency}", LOW if language is None else MEDIUM)


def header_suggestion(header: tuple[str, ...], role: str, taken: set[str]) -> str | None:
    """Return the header that best matches a role's vocabulary (not already taken), or None."""
    best = sorted((-words(h, role)[0], i, h) for i, h in enumerate(header)
                  if h not in taken and words(h, role)[0])
    return best[0][2] if best else None


# --- an unseen export: read a sample, count the rows, guess ------------------------------


@dataclass(frozen=True)
class Sample:
    """What ``init`` read of an export: its format, a sample of its rows, and its row count."""

    path: Path
    kind: str  # "csv" or "parquet"
    dialect: Dialect
    header: tuple[str, ...]
    frame: pl.DataFrame  # the sample, every column as text
    rows: int  # counted, not estimated


def count_rows(path: Path) -> int:
    """Return the number of data rows of a text export: its lines after the header (counted)."""
    lines, last = 0, b"\n"
    with open_binary(path) as fh:
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def read_export(path: Path) -> Sample:
    """Return the export's dialect (all but the date format), header, a sample and its rows."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        frame = pl.scan_parquet(path).head(5000).collect()
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        text = frame.select(pl.all().cast(pl.String))
        return Sample(path, "parquet", Dialect(), tuple(frame.columns), text, int(rows))
    raw, _ = read_sample(path)
    encoding = detect_encoding(raw)
    text = sample_text(raw, encoding)
    delimiter = detect_delimiter(text)
    try:
        frame = sample_frame(text, delimiter)
    except pl.exceptions.PolarsError as exc:
        raise PunchcardError(f"{path}: line 1: cannot read the file as a table ({exc}). Fix: "
                             "check that it is a CSV export (comma, semicolon or tab between "
                             "columns).") from None
    return Sample(path, "csv", Dialect(encoding, delimiter), tuple(frame.columns), frame,
                  count_rows(path))


def resolve_format(sample: Sample, fmt: str | None, column: str, given: str | None) -> str | None:
    """Return a concrete date format for a column: given, read from the sample, or (where the
    sample leaves day/month open) from the whole column."""
    if given:
        return given
    if not fmt or not fmt.startswith("?"):
        return fmt
    first, second = day_month_maxima(sample.frame[column])
    resolved = day_month_order(first, second, fmt[1], "%y" if fmt.endswith("y") else "%Y")
    if resolved or sample.kind != "csv":
        return resolved or resolve_day_month(fmt, sample.frame[column], str(sample.path), column)
    from punchcard.ingest.sources import resolve_dates_fully

    dialect = replace(sample.dialect, date_format=fmt)
    return resolve_dates_fully(sample.path, dialect, {"date": column}, str(sample.path))


def day_month_maxima(values: pl.Series) -> tuple[int, int]:
    """Return the largest first and second numbers of slash/dash dates."""
    nums = pl.DataFrame({"v": values}).select(date_part(pl.col("v")).alias("v")).select(
        pl.col("v").str.extract(r"^(\d{1,2})\D", 1).cast(pl.Int32, strict=False).max().alias("a"),
        pl.col("v").str.extract(r"^\d{1,2}\D(\d{1,2})\D", 1).cast(pl.Int32, strict=False).max().alias("b"))
    return nums["a"][0] or 0, nums["b"][0] or 0


def sniff_export(path: Path, date_format: str | None = None) -> tuple[Sample, Guessed, Dialect]:
    """Return the export's sample, the guessed roles/currency/locale, and its full dialect."""
    sample = read_export(path)
    guessed, decimal, profiles = guess(sample.frame)
    date_fmt = birthday_fmt = None
    if "date" in guessed.roles:
        col = guessed.roles["date"].value
        date_fmt = resolve_format(sample, profiles[col].date_format, col, date_format)
    if "birthday" in guessed.roles:
        col = guessed.roles["birthday"].value
        fmt = profiles[col].date_format
        birthday_fmt = fmt if fmt and not fmt.startswith("?") else None
    dialect = replace(sample.dialect, decimal=decimal, date_format=date_fmt,
                      birthday_format=birthday_fmt)
    return sample, guessed, dialect
