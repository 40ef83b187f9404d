"""Sniffing a sales export: encoding, delimiter, decimal mark, date format and column roles.

Everything here looks at a sample (the first few hundred KiB) only; ``ingest.py`` applies
the result to the whole file with Polars expressions.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from punchcard.errors import PunchcardError

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = "whitespace"  # pseudo-delimiter for whitespace-aligned text (CDNOW_master.txt)
EXCEL = "excel"  # pseudo date format: Excel serial day numbers (1900 date system)
MASK = "••••"

# Spaces used as thousands separators: normal, no-break, narrow no-break, thin.
SPACES = " \u00a0\u202f\u2009"
# Currency symbols and codes stripped from amounts before parsing.
CURRENCY_RE = (
    r"(?i)(?:R\$|US\$|C\$|A\$|NZ\$|kr\.?|zł|zl|[$€£¥₹₽₺₩]|"
    r"\b(?:NOK|SEK|DKK|EUR|USD|GBP|PLN|BRL|CHF|ISK|CAD|AUD|JPY|CZK|HUF)\b)"
)


@dataclass(frozen=True)
class Dialect:
    """How one export is written: the format every row of it follows."""

    encoding: str = "utf-8"  # utf-8 (BOM or not) or a Python codec name such as cp1252
    delimiter: str = ","  # one of DELIMITERS or WHITESPACE
    decimal: str = "."
    thousands: str | None = None  # None: spaces and the other of , . are accepted in groups of 3
    date_format: str | None = None  # strftime format of the date part, or EXCEL
    birthday_format: str | None = None


@dataclass(frozen=True)
class Sniffed:
    """What ``sniff`` found in an export: its format, header, column roles and size."""

    path: Path
    kind: str  # "csv" or "parquet"
    dialect: Dialect
    header: tuple[str, ...]
    roles: dict[str, str] = field(default_factory=dict)  # role -> header
    rows_estimate: int = 0


# --- column roles ---------------------------------------------------------------------
# Each role lists tiers of normalised headers (lower case, no accents, alphanumerics only);
# the first tier with a match wins, two matches in one tier are ambiguous.
ROLE_SYNONYMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "customer": (
        ("customer", "customerid", "customerno", "customernumber", "custid", "clientid",
         "kundenummer", "kundenr", "kundeid", "kunde", "kundid", "kundnr", "kundnummer",
         "medlemsnummer", "medlemsnr", "memberid", "membernumber", "loyaltyid", "cardnumber",
         "klient", "idklienta", "nrklienta", "numerklienta", "cliente", "idcliente",
         "iddocliente", "codigodocliente", "codcliente", "householdid", "household",
         "userid", "buyerid", "accountid"),
        ("email", "emailaddress", "epost", "epostadresse", "epostadress", "billingemail",
         "emailbilling", "customeremail", "adresemail"),
        ("customeruser", "customeruserid", "customerreferenceid", "cpf", "customername", "billingname", "navn",
         "namn", "nazwa", "nome"),
    ),
    "date": (
        ("date", "orderdate", "createdat", "transactiondate", "transactiontimestamp",
         "timestamp", "datetime", "purchasedate", "saledate", "dato", "kjopsdato",
         "datum", "kopdatum", "data", "datazakupu", "datatransakcji", "datadacompra",
         "datadopedido", "datadavenda", "invoicedate", "receiptdate"),
        ("paidat", "processedat", "orderdatetime", "day"),
    ),
    "amount": (
        ("amount", "total", "ordertotal", "ordertotalamount", "netsales", "salesvalue",
         "dollarvalue", "belop", "totalbelop", "belopp", "totalbelopp", "summa", "sum",
         "kwota", "wartosc", "wartoscbrutto", "kwotabrutto", "valor", "valortotal",
         "totalamount", "grandtotal", "revenue", "sales", "totalt", "netamount", "value"),
        ("grosssales", "subtotal", "totalsales"),
    ),
    "unit_price": (
        ("unitprice", "price", "lineitemprice", "itemprice", "pris", "enhetspris",
         "styckpris", "apris", "cena", "cenajednostkowa", "preco", "precounitario",
         "valorunitario"),
    ),
    "order": (
        ("order", "orderid", "ordernumber", "orderno", "ordrenr", "ordrenummer", "ordernr",
         "kvitteringsnr", "kvitteringsnummer", "kvittering", "kvittonr", "kvittonummer",
         "kvitto", "paragon", "nrparagonu", "numerparagonu", "pedido", "numerodopedido",
         "npedido", "idpedido", "transactionid", "receiptid", "receiptno", "receiptnumber",
         "invoice", "invoiceno", "invoicenumber", "basketid", "ticketid", "bilagsnr"),
    ),
    "items": (
        ("items", "quantity", "qty", "lineitemquantity", "numberofcds", "cds", "units",
         "antall", "antal", "antalartiklar", "ilosc", "quantidade", "qtd"),
    ),
    "product": (
        ("product", "productid", "sku", "item", "itemname", "lineitemname", "lineitemsku",
         "produkt", "produktid", "vare", "varenr", "artikel", "artikelnr", "produto",
         "produtoid", "towar"),
    ),
    "store": (
        ("store", "storeid", "shop", "location", "butikk", "butik", "sklep", "loja",
         "filial", "avdeling"),
    ),
    "birthday": (
        ("birthday", "birthdate", "dateofbirth", "dob", "fodselsdato", "fodselsdag",
         "bursdag", "fodelsedatum", "fodelsedag", "dataurodzenia", "urodziny",
         "datadenascimento", "nascimento", "aniversario"),
    ),
}
ROLES = tuple(ROLE_SYNONYMS)
OPTIONAL_ROLES = ("product", "store")  # ambiguity leaves these out instead of failing
# Headers that identify a person; masked in example lines even when not the customer role.
PERSONAL = re.compile(
    r"(mail|name|navn|namn|nazw|nome|phone|telefon|tlf|mobil|address|adresse|adress|adres|"
    r"endereco|street|zip|postnr|postcode|cpf|pesel|personnummer|fodselsnummer|birth|fodsel|"
    r"fodelse|urodz|nasc|customer|kunde|kund|klient|client|member|medlem|household|user)"
)


def normalise_header(text: str) -> str:
    """Return a header folded for matching: lower case, accents removed, alphanumerics only."""
    folded = text.lower().replace("ø", "o").replace("æ", "ae").replace("ł", "l").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))


def is_shopify(header: tuple[str, ...]) -> bool:
    """Return whether the header looks like a Shopify orders export."""
    norm = {normalise_header(h) for h in header}
    return {"name", "lineitemquantity"} <= norm or {"name", "financialstatus"} <= norm


def detect_roles(header: tuple[str, ...], given: dict[str, str], where: str) -> dict[str, str]:
    """Return role -> header: the given columns plus every role recognised in the header."""
    missing = [h for h in given.values() if h not in header]
    if missing:
        raise PunchcardError(
            f"{where}: column {missing[0]!r} named under `sales.columns` is not in the header "
            f"({', '.join(header)}). Fix the name under `sales.columns:`."
        )
    roles = dict(given)
    taken = set(given.values())
    norm = {h: normalise_header(h) for h in header}
    extra: dict[str, tuple[str, ...]] = {}
    if is_shopify(header):
        extra = {"order": ("name",)}
    for role, tiers in ROLE_SYNONYMS.items():
        if role in roles:
            continue
        for tier in (extra.get(role, ()),) + tiers:
            hits = [h for h in header if h not in taken and norm[h] in tier]
            if len(hits) > 1 and role in OPTIONAL_ROLES:
                break
            if len(hits) > 1:
                listed = " or ".join(repr(h) for h in hits)
                raise PunchcardError(
                    f"{where}: the {role} column is ambiguous: {listed}. Name the right one "
                    f"under `sales:` → `columns:`, e.g. `{role}: {hits[0]}`."
                )
            if hits:
                roles[role] = hits[0]
                taken.add(hits[0])
                break
    return roles


# --- reading a sample -----------------------------------------------------------------


def open_binary(path: Path) -> io.BufferedIOBase:
    """Return a binary stream of the file, decompressing ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> tuple[bytes, int]:
    """Return the first ``size`` bytes (decompressed) and an estimate of the file's total bytes."""
    with open_binary(path) as fh:
        raw = fh.read(size)
        total = path.stat().st_size
        if isinstance(fh, gzip.GzipFile) and len(raw) == size:
            consumed = max(fh.fileobj.tell(), 1)  # type: ignore[union-attr]
            total = int(total * len(raw) / consumed)
        elif isinstance(fh, gzip.GzipFile):
            total = len(raw)
    return raw, total


def detect_encoding(raw: bytes) -> str:
    """Return ``utf-8`` when the sample decodes as UTF-8 (with or without BOM), else ``cp1252``."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sample_text(raw: bytes, encoding: str) -> str:
    """Return the sample decoded, without a BOM and without its last (maybe partial) line."""
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=False)
    text = text.lstrip("\ufeff")
    if "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text


def detect_delimiter(text: str) -> str:
    """Return the delimiter whose count per line is the same non-zero number on most lines."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if not lines:
        return ","
    best, best_score = None, 0.0
    for delim in DELIMITERS:
        counts = [ln.count(delim) for ln in lines]
        head = counts[0]
        if head == 0:
            continue
        same = sum(c == head for c in counts) / len(counts)
        score = same * (1 + head / 100)
        if same >= 0.8 and score > best_score:
            best, best_score = delim, score
    if best is not None:
        return best
    widths = {len(ln.split()) for ln in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return WHITESPACE
    return ","


def whitespace_to_csv(text: str) -> str:
    """Return whitespace-aligned text rewritten with commas (a chunk of whole lines)."""
    text = re.sub(r"[ \t]+", ",", text)
    return re.sub(r"(?m)^,|,(?=\r?$)", "", text)


def sample_frame(text: str, delimiter: str) -> pl.DataFrame:
    """Return the sample parsed as all-string columns."""
    if delimiter == WHITESPACE:
        text, delimiter = whitespace_to_csv(text), ","
    return pl.read_csv(
        io.BytesIO(text.encode("utf-8")), separator=delimiter, infer_schema=False,
        truncate_ragged_lines=True,
    )


def engine_reason(exc: Exception) -> str:
    """Return the first line of a reader's error with any quoted input cut out: the engine
    quotes whole rows (customer ids included), and an error shows no input (docs/guarantees.md)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = re.sub(r"`[^`]*(`|$)", "`…`", first)
    return first if len(first) <= 160 else first[:157] + "…"


def unclosed_quote_line(text: str) -> int | None:
    """Return the 1-based line on which a quoted cell opens and never closes, if any."""
    open_at = None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.count('"') % 2:
            open_at = number if open_at is None else None
    return open_at


def table_error(path: Path | str, text: str, exc: Exception) -> PunchcardError:
    """Return the error for a sample the CSV reader cannot read: the line at fault where it
    can be found, the reader's reason without the input it quotes, and the fix."""
    line = unclosed_quote_line(text)
    if line is not None:
        return PunchcardError(
            f"{path}: line {line}: a quote (\") opens a cell that never closes, so the rest of "
            "the file would be one cell. Fix: remove the stray quote or close it, or re-export "
            "the file with every quote doubled inside quoted cells."
        )
    return PunchcardError(
        f"{path}: cannot read the file as a table ({engine_reason(exc)}). Fix: check that it "
        f"is a CSV export, or give `delimiter:` under `sales:` → `format:`."
    )


# --- values ---------------------------------------------------------------------------


def strip_currency(expr: pl.Expr) -> pl.Expr:
    """Return the amount text without currency symbols/codes and without any kind of space."""
    return (
        expr.str.replace_all(CURRENCY_RE, "")
        .str.replace_all(f"[{SPACES}]", "")
        .str.replace_all("\u2212", "-")
    )


def detect_decimal(values: pl.Series) -> tuple[str, str | None]:
    """Return (decimal mark, thousands separator or None) inferred from sample amounts."""
    clean = pl.DataFrame({"v": values}).select(strip_currency(pl.col("v")).alias("v"))["v"]
    clean = clean.drop_nulls()
    both_comma_last = clean.str.contains(r"\.\d*,\d+$").sum()
    both_point_last = clean.str.contains(r",\d*\.\d+$").sum()
    comma_dec = clean.str.contains(r"^[-+(]?\d+,(\d{1,2}|\d{4,})\)?-?$").sum()
    point_dec = clean.str.contains(r"^[-+(]?\d+\.(\d{1,2}|\d{4,})\)?-?$").sum()
    comma_score = both_comma_last + comma_dec
    point_score = both_point_last + point_dec
    if comma_score > point_score:
        return ",", None
    if point_score > 0:
        return ".", None
    grouped_comma = clean.str.contains(r"^\d{1,3}(,\d{3})+$").sum()
    grouped_point = clean.str.contains(r"^\d{1,3}(\.\d{3})+$").sum()
    if grouped_point > grouped_comma:
        return ",", None
    return ".", None


DATE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    (r"^\d{4}\.\d{1,2}\.\d{1,2}$", "%Y.%m.%d"),
    (r"^(19|20)\d{6}$", "%Y%m%d"),
    (r"^\d{1,2}\.\d{1,2}\.\d{4}$", "%d.%m.%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "?/"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "?-"),
    (r"^\d{1,2}\.\d{1,2}\.\d{2}$", "%d.%m.%y"),
    (r"^\d{1,2}/\d{1,2}/\d{2}$", "?/y"),
    (r"^\d{5}(\.\d+)?$", EXCEL),
)


def date_part(expr: pl.Expr) -> pl.Expr:
    """Return the date part of a date or datetime text (before a space or ``T`` and a time)."""
    return expr.str.strip_chars().str.replace(r"^(\S+?)(?:[ T]\d.*)?$", "$1")


def day_month_order(first_max: int, second_max: int, sep: str, year: str = "%Y") -> str | None:
    """Return the day/month format given the largest first and second numbers, None if unsure."""
    if first_max > 12 and second_max <= 12:
        return f"%d{sep}%m{sep}{year}"
    if second_max > 12 and first_max <= 12:
        return f"%m{sep}%d{sep}{year}"
    return None


def detect_date_format(values: pl.Series, where: str, column: str) -> str | None:
    """Return the date format of sample values; '?/' style results still need day/month order."""
    parts = pl.DataFrame({"v": values}).select(date_part(pl.col("v")).alias("v"))["v"].drop_nulls()
    parts = parts.filter(parts != "")
    if parts.len() == 0:
        return None
    best, best_hits = None, 0
    for pattern, fmt in DATE_PATTERNS:
        hits = int(parts.str.contains(pattern).sum())
        if hits > best_hits:
            best, best_hits = fmt, hits
    if best is None:
        raise PunchcardError(
            f"{where}: column {column!r}: cannot read dates such as {parts[0]!r}. Give the "
            f"format under `sales:` → `format:`, e.g. `date_format: \"%d.%m.%Y\"`."
        )
    return best


def resolve_day_month(fmt: str, values: pl.Series, where: str, column: str) -> str:
    """Return a concrete format for a '?/' style result, or raise the day/month ambiguity."""
    if not fmt.startswith("?"):
        return fmt
    sep, year = fmt[1], ("%y" if fmt.endswith("y") else "%Y")
    nums = (
        pl.DataFrame({"v": values})
        .select(date_part(pl.col("v")).alias("v"))
        .select(
            pl.col("v").str.extract(r"^(\d{1,2})\D", 1).cast(pl.Int32, strict=False).max().alias("a"),
            pl.col("v").str.extract(r"^\d{1,2}\D(\d{1,2})\D", 1).cast(pl.Int32, strict=False).max().alias("b"),
        )
    )
    first_max, second_max = nums["a"][0] or 0, nums["b"][0] or 0
    resolved = day_month_order(first_max, second_max, sep, year)
    if resolved is None:
        example = values.drop_nulls()[0] if values.drop_nulls().len() else ""
        raise PunchcardError(
            f"{where}: column {column!r}: dates such as {example!r} could be day/month or "
            f"month/day. Give the format under `sales:` → `format:`: "
            f"`date_format: \"%d{sep}%m{sep}{year}\"` or `date_format: \"%m{sep}%d{sep}{year}\"` "
            f"(with `punchcard init`: `--date-format %d{sep}%m{sep}{year}`)."
        )
    return resolved


# --- the whole sniff ------------------------------------------------------------------


def sniff_dialect(path: Path, given: Dialect | None = None,
                  columns: dict[str, str] | None = None) -> tuple[Dialect, tuple[str, ...], dict[str, str], pl.DataFrame, int]:
    """Return (dialect, header, roles, sample frame, total bytes) for a text export."""
    given = given or Dialect(encoding="", delimiter="", decimal="")
    raw, total = read_sample(path)
    encoding = given.encoding or detect_encoding(raw)
    text = sample_text(raw, encoding)
    delimiter = given.delimiter or detect_delimiter(text)
    try:
        frame = sample_frame(text, delimiter)
    except pl.exceptions.PolarsError as exc:
        raise table_error(path, text, exc) from None
    header = tuple(frame.columns)
    twice = [c.removesuffix("_duplicated_0") for c in header if c.endswith("_duplicated_0")]
    if twice:  # the reader renames a repeated header; which one is meant cannot be known
        raise PunchcardError(
            f"{path}: line 1: the header names the column {twice[0]!r} more than once. "
            "Fix: rename or remove the extra column in the export."
        )
    roles = detect_roles(header, columns or {}, str(path))
    decimal, thousands = given.decimal, given.thousands
    money = roles.get("amount") or roles.get("unit_price")
    if not decimal:
        decimal, thousands = detect_decimal(frame[money]) if money else (".", None)
    date_format = given.date_format
    if not date_format and "date" in roles:
        date_format = detect_date_format(frame[roles["date"]], str(path), roles["date"])
    birthday_format = None
    if "birthday" in roles:
        birthday_format = detect_date_format(frame[roles["birthday"]], str(path), roles["birthday"])
    dialect = Dialect(encoding, delimiter, decimal, thousands, date_format, birthday_format)
    return dialect, header, roles, frame, total


def sniff(path: Path, date_format: str | None = None) -> Sniffed:
    """Return the format, header, detected column roles and a row-count estimate of an export.

    ``date_format`` settles dates whose day/month order the data leave open.
    """
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        schema = pl.scan_parquet(path).collect_schema()
        header = tuple(schema.names())
        sample = pl.scan_parquet(path).head(2000).collect()
        roles = detect_roles(header, {}, str(path))
        fmt = None
        if "date" in roles and sample.schema[roles["date"]] == pl.String:
            fmt = detect_date_format(sample[roles["date"]], str(path), roles["date"])
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        return Sniffed(path, "parquet", Dialect(date_format=fmt), header, roles, int(rows))
    dialect, header, roles, frame, total = sniff_dialect(path)
    if date_format:
        dialect = Dialect(dialect.encoding, dialect.delimiter, dialect.decimal, dialect.thousands,
                          date_format, dialect.birthday_format)
    elif dialect.date_format and dialect.date_format.startswith("?"):
        fmt = resolve_day_month(dialect.date_format, frame[roles["date"]], str(path), roles["date"])
        dialect = Dialect(dialect.encoding, dialect.delimiter, dialect.decimal, dialect.thousands,
                          fmt, dialect.birthday_format)
    sample_bytes = max(len(frame.write_csv().encode()), 1)
    whole = total <= SAMPLE_BYTES
    rows = frame.height if whole else int(frame.height * total / sample_bytes)
    return Sniffed(path, "csv", dialect, header, roles, rows)
