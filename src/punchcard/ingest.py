"""Stage 2: sales exports → ``Ledger``.

Each file is sniffed (``dialect.py``), scanned lazily by Polars as all-string columns and
parsed with expressions; every row read ends in exactly one bucket (used, or rejected
with a reason). Raw customer identifiers stay in this module: the ledger only holds a
compact integer key per customer and a stable hash of the raw id.

Speed at scale (tens of millions of rows): the file is scanned once, streaming; columns
the sniffed sample shows to be plain take a plain cast, and only rows that cast cannot
settle are read again with the full rules; customer ids are keyed during the scan (as
numbers when they are plain integers, else as categorical codes); order-level work
(gap filling, summing lines) touches only orders of more than one line; and the ledger is
sorted by packing (cust, day, amount, items) into one 64-bit number per row.
"""

from __future__ import annotations

import codecs
import os
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from punchcard.dialect import (
    EXCEL,
    MASK,
    PERSONAL,
    WHITESPACE,
    Dialect,
    date_part,
    detect_date_format,
    detect_roles,
    normalise_header,
    open_binary,
    resolve_day_month,
    sniff,
    sniff_dialect,
    strip_currency,
    whitespace_to_csv,
)
from punchcard.errors import PunchcardError
from punchcard.fingerprint import sha256_file
from punchcard.ledger import EPOCH_ORDINAL, DataQuality, InputFile, Ledger
from punchcard.program import Sales

__all__ = ["read_ledger", "sniff", "stable_hash"]

EXCEL_EPOCH = 25569  # Excel serial day number of 1970-01-01 (1900 date system)
MAX_EXAMPLES = 5
CHUNK = 4 * 1024 * 1024
# Reasons in the order they are tested: a row lands in the first that applies.
REASONS = ("empty_line", "missing_date", "bad_date", "missing_amount", "bad_amount",
           "bad_items", "zero_amount", "duplicate_line", "outside_window")
REASON_ROLE = {"missing_date": "date", "bad_date": "date", "missing_amount": "amount",
               "bad_amount": "amount", "bad_items": "items", "zero_amount": "amount"}
FILE_SHIFT = 40  # position key = file index << 40 | row index


@dataclass(frozen=True)
class Source:
    """One input file, ready to scan: where to read it, its dialect and column roles."""

    path: Path
    label: str  # path as shown to users (relative to the program file)
    scan_path: Path  # the file itself, or a UTF-8 CSV transcoded from it
    kind: str  # "csv" or "parquet"
    dialect: Dialect
    header: tuple[str, ...]
    roles: dict[str, str]
    # Fast parse paths, chosen from the sample: a plain cast per column, and any row the
    # cast cannot read is parsed again with the full expressions (so the result is the same).
    plain_amount: bool = False  # every sampled amount is a bare number
    plain_date: bool = False  # every sampled date is a bare date: no time part, no spaces
    plain_items: bool = False  # every sampled quantity is a bare number
    plain_birthday: bool = False  # every sampled birthday is a bare date
    numeric_ids: bool = False  # every sampled customer id is a plain integer such as 1042
    numeric_orders: bool = False  # every sampled order id is a plain integer


PLAIN_NUMBER = r"^-?\d+(\.\d+)?$"
PLAIN_DATE = r"^[0-9./-]+$"


def plain_sample(frame: pl.DataFrame, roles: dict[str, str], dialect: Dialect) -> tuple[bool, bool, bool, bool]:
    """Return whether the sample's amounts, dates, quantities and birthdays can take the fast paths."""
    numeric = dialect.decimal == "." and "." not in (dialect.thousands or "")

    def plain(role: str, pattern: str, fmt: str | None = "") -> bool:
        col = roles.get(role)
        if col is None or col not in frame.columns:
            return False
        if fmt is not None and fmt != "" and (fmt == EXCEL or fmt.startswith("?") or "%H" in fmt
                                              or "%T" in fmt):
            return False
        values = frame[col].drop_nulls()
        return bool(values.str.contains(pattern).all())

    money = "amount" if "amount" in roles else "unit_price"
    amount = numeric and plain(money, PLAIN_NUMBER)
    dates = (bool(dialect.date_format) and "date" in roles and roles["date"] in frame.columns
             and frame[roles["date"]].null_count() == 0
             and plain("date", PLAIN_DATE, dialect.date_format))
    items = numeric and plain("items", PLAIN_NUMBER)
    birthday = bool(dialect.birthday_format) and plain("birthday", PLAIN_DATE, dialect.birthday_format)
    return amount, dates, items, birthday


# --- hashing --------------------------------------------------------------------------


FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def stable_hash(ids: pl.Series) -> np.ndarray:
    """Return a uint64 FNV-1a (+ splitmix64 finaliser) hash of each string's UTF-8 bytes."""
    n = ids.len()
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    lengths = ids.str.len_bytes().fill_null(0).to_numpy().astype(np.int64)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    buf = np.frombuffer(ids.fill_null("").str.join("")[0].encode("utf-8"), dtype=np.uint8)
    # FNV-1a one byte position at a time over the strings still that long (longest first)
    by_len = np.argsort(-lengths, kind="stable")
    desc = lengths[by_len]
    first = starts[by_len]
    h = np.full(n, FNV_OFFSET, dtype=np.uint64)
    ascending = desc[::-1]
    with np.errstate(over="ignore"):
        for j in range(int(desc[0]) if n else 0):
            k = n - int(np.searchsorted(ascending, j, side="right"))
            h[:k] = (h[:k] ^ buf[first[:k] + j].astype(np.uint64)) * FNV_PRIME
        # splitmix64 finaliser: spreads FNV's weak low bits
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    out = np.empty(n, dtype=np.uint64)
    out[by_len] = h
    return out


# --- preparing files ------------------------------------------------------------------


def label_of(path: Path, base: Path | None) -> str:
    """Return the path as users see it: relative to the program file's folder when possible."""
    if base is None:
        return str(path)
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return str(path)


def transcode(path: Path, dialect: Dialect, tmp: Path) -> Path:
    """Return a UTF-8 CSV copy of a cp1252 or whitespace-aligned file, converted in chunks."""
    out = tmp / f"{len(list(tmp.iterdir()))}.csv"
    decoder = codecs.getincrementaldecoder(dialect.encoding)()
    carry = ""
    lines = 0
    with open_binary(path) as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while True:
            raw = src.read(CHUNK)
            try:
                text = carry + decoder.decode(raw, final=not raw).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                line = lines + carry.count("\n") + raw[: exc.start].count(b"\n") + 1
                raise PunchcardError(
                    f"{path}: line {line}: byte 0x{raw[exc.start]:02x} cannot be read as "
                    f"{dialect.encoding}. Fix: set the file's real encoding under `sales:` "
                    "as `format: {encoding: utf-8}` (or latin-1, cp1252, …), or re-export "
                    "the file as UTF-8."
                ) from None
            lines += raw.count(b"\n")
            if raw and "\n" in text:
                cut = text.rindex("\n") + 1
                text, carry = text[:cut], text[cut:]
            elif raw:
                carry, text = text, ""
            if dialect.delimiter == WHITESPACE:
                text = whitespace_to_csv(text)
            dst.write(text)
            if not raw:
                break
    return out


def prepare(path: Path, sales: Sales, base: Path | None, tmp: Path) -> Source:
    """Return the file's ``Source``: sniffed dialect merged with ``sales.format``, roles resolved."""
    label = label_of(path, base)
    if not path.exists():
        raise PunchcardError(f"{label}: file not found. Check `sales.path` in the program file.")
    if path.suffix.lower() == ".parquet":
        header = tuple(pl.scan_parquet(path).collect_schema().names())
        roles = detect_roles(header, dict(sales.columns), label)
        dialect = Dialect(date_format=sales.format.date_format)
        return Source(path, label, path, "parquet", dialect, header, roles)
    fmt = sales.format
    given = Dialect(fmt.encoding or "", fmt.delimiter or "", fmt.decimal or "", fmt.thousands,
                    fmt.date_format)
    try:
        dialect, header, roles, frame, _ = sniff_dialect(path, given, dict(sales.columns))
    except PunchcardError as exc:
        raise PunchcardError(str(exc.message).replace(str(path), label, 1)) from None
    if dialect.date_format and dialect.date_format.startswith("?"):
        dialect = replace(dialect, date_format=resolve_dates_fully(path, dialect, roles, label))
    if dialect.birthday_format and dialect.birthday_format.startswith("?"):
        col = roles["birthday"]
        dialect = replace(dialect, birthday_format=resolve_day_month(
            dialect.birthday_format, frame[col], label, col))
    utf8 = codecs.lookup(dialect.encoding).name == "utf-8"
    scan_path = path
    if not utf8 or dialect.delimiter == WHITESPACE:
        scan_path = transcode(path, dialect, tmp)
        dialect = replace(dialect, delimiter="," if dialect.delimiter == WHITESPACE else dialect.delimiter)
    def integers(role: str) -> bool:
        if roles.get(role) not in frame.columns:
            return False
        return bool(frame[roles[role]].drop_nulls().str.contains(r"^(?:-?[1-9][0-9]{0,17}|0)$").all())

    return Source(path, label, scan_path, "csv", dialect, header, roles,
                  *plain_sample(frame, roles, dialect), integers("customer"), integers("order"))


def resolve_dates_fully(path: Path, dialect: Dialect, roles: dict[str, str], label: str) -> str:
    """Return the day/month order of a slash/dash date column, looking at the whole column."""
    col = roles["date"]
    if codecs.lookup(dialect.encoding).name == "utf-8" and dialect.delimiter != WHITESPACE:
        values = pl.scan_csv(path, separator=dialect.delimiter, infer_schema=False).select(
            pl.col(col)
        ).collect()[col]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy = transcode(path, dialect, Path(tmp))
            values = pl.scan_csv(copy, infer_schema=False).select(pl.col(col)).collect()[col]
    return resolve_day_month(dialect.date_format or "?/", values, label, col)


# --- parsing expressions --------------------------------------------------------------


def amount_expr(col: str, dtype: pl.DataType, dialect: Dialect) -> pl.Expr:
    """Return a Float64 expression for a money/quantity column; null where it cannot be read."""
    if dtype.is_numeric():
        return pl.col(col).cast(pl.Float64)
    dec = dialect.decimal or "."
    if dialect.thousands is not None:
        thou = "".join(c for c in dialect.thousands if c not in " \u00a0\u202f\u2009")
    else:
        thou = ("," if dec == "." else ".") + "'"
    d, t = _re_escape(dec), _re_escape(thou) if thou else ""
    grouped = rf"|\d{{1,3}}(?:[{t}]\d{{3}})+(?:{d}\d*)?" if t else ""
    exponent = r"(?:[eE][-+]?\d+)?" if dec == "." else ""
    valid = rf"^(?:\d+(?:{d}\d*)?{exponent}{grouped}|{d}\d+)$"
    text = strip_currency(pl.col(col).cast(pl.String).str.strip_chars())
    negative = text.str.contains(r"^\(.*\)$|^-|-$")
    core = text.str.replace(r"^[(+\-]+", "").str.replace(r"[)\-]+$", "")
    number = core.str.replace_all(f"[{t}]", "") if t else core
    number = number.str.replace_all(_re_escape(dec), ".", literal=False) if dec != "." else number
    value = pl.when(core.str.contains(valid)).then(number.cast(pl.Float64, strict=False))
    return pl.when(negative).then(-value).otherwise(value)


def _re_escape(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?{}[]\|()-" else c for c in text)


def date_expr(col: str, dtype: pl.DataType, fmt: str | None) -> pl.Expr:
    """Return a Date expression for a date column; null where it cannot be read."""
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    if dtype.is_numeric() or fmt == EXCEL:
        serial = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        days = serial.floor().cast(pl.Int32, strict=False) - EXCEL_EPOCH
        return pl.when(serial.is_between(1, 2_958_465)).then(days.cast(pl.Date))
    text = pl.col(col).cast(pl.String).str.strip_chars()
    if fmt and ("%H" in fmt or "%T" in fmt):
        return text.str.to_datetime(fmt, strict=False).dt.date()
    return date_part(text).str.to_date(fmt or "%Y-%m-%d", strict=False)


def missing(expr: pl.Expr) -> pl.Expr:
    """Return whether a string cell is empty (null or only spaces)."""
    return expr.is_null() | (expr.cast(pl.String).str.strip_chars() == "")


def scan(src: Source, rows: pl.Series | None = None) -> pl.LazyFrame:
    """Return the file as all-string columns plus ``__row``; only ``rows`` (row indexes) if given."""
    if src.kind == "parquet":
        lf = pl.scan_parquet(src.scan_path, row_index_name="__row")
    else:
        lf = pl.scan_csv(src.scan_path, separator=src.dialect.delimiter, infer_schema=False,
                         row_index_name="__row", truncate_ragged_lines=True)
    if rows is not None:
        # rows are ascending: stop reading after the last one
        lf = lf.head(int(rows.max()) + 1).filter(pl.col("__row").is_in(rows.implode()))
    return lf


def standard_rows(src: Source, index: int, sales: Sales, *, fast: bool = True,
                  need_hash: bool = True, rows: pl.Series | None = None,
                  cust_dtype: pl.DataType = pl.String, order_numbers: bool = False) -> pl.LazyFrame:
    """Return the file's rows as standard columns.

    With ``fast``, columns the sample showed to be plain are parsed with a plain cast, and
    ``__fix`` marks the rows that cast cannot settle; ``fix_rows`` parses those again with
    the full expressions, so both ways give the same values.
    """
    lf = scan(src, rows)
    schema = lf.collect_schema()
    roles, raw = src.roles, [c for c in schema.names() if c != "__row"]
    fix: list[pl.Expr] = []
    cust_col = roles["customer"]
    cust = pl.col(cust_col).cast(pl.String).str.strip_chars()
    if "mail" in normalise_header(cust_col):
        cust = cust.str.to_lowercase()
    exprs = [
        (pl.lit(index << FILE_SHIFT, dtype=pl.Int64) + pl.col("__row").cast(pl.Int64)).alias("__pos"),
    ]
    if cust_dtype == pl.Int64:
        # Plain integer ids are kept as numbers: no text to strip or key. An id that is not
        # written exactly as its number (spaces, a leading zero, …) sets ``__cbad``, and the
        # files are read again with text ids.
        number = pl.col(cust_col).cast(pl.Int64, strict=False)
        exprs += [number.alias("cust_raw"),
                  (pl.col(cust_col).is_not_null()
                   & (number.cast(pl.String) != pl.col(cust_col)).fill_null(True)).alias("__rekey")]
    else:
        exprs.append(pl.when(cust != "").then(cust).cast(cust_dtype).alias("cust_raw"))
    if need_hash:
        exprs.append(pl.struct(raw).hash(20270101).alias("__h"))
    date_col = roles["date"]
    if fast and src.plain_date:
        # A row without a date is empty only if every cell is missing; a cell of spaces
        # needs the full test, so such rows are parsed again.
        all_null = pl.all_horizontal([pl.col(c).is_null() for c in raw])
        no_date = pl.col(date_col).is_null()
        date = pl.col(date_col).str.to_date(src.dialect.date_format, strict=False)
        exprs += [all_null.alias("__empty"), no_date.alias("__no_date"), date.alias("date")]
        fix += [date.is_null() & ~no_date, no_date & ~all_null]
    else:
        exprs += [
            pl.all_horizontal([missing(pl.col(c)) for c in raw]).alias("__empty"),
            missing(pl.col(date_col)).alias("__no_date"),
            date_expr(date_col, schema[date_col], src.dialect.date_format).alias("date"),
        ]

    def number(role: str, plain: bool) -> tuple[pl.Expr, pl.Expr]:
        col = roles[role]
        if fast and plain:
            value = pl.col(col).cast(pl.Float64, strict=False)
            fix.append(pl.col(col).is_not_null() & ~value.is_finite().fill_null(False))
            return value, pl.col(col).is_null()
        return amount_expr(col, schema[col], src.dialect), missing(pl.col(col))

    if "items" in roles:
        value, absent = number("items", src.plain_items)
        exprs += [value.alias("items"), absent.alias("__no_items")]
    else:
        exprs += [pl.lit(1.0).alias("items"), pl.lit(True).alias("__no_items")]
    value, absent = number("amount" if "amount" in roles else "unit_price", src.plain_amount)
    exprs += [absent.alias("__no_amount"), value.alias("amount")]
    if "order" in roles and order_numbers:
        # plain integer order ids as numbers, like customer ids (``__oddkey`` as ``__rekey``)
        col = pl.col(roles["order"])
        number = col.cast(pl.Int64, strict=False)
        exprs += [number.alias("order"),
                  (col.is_not_null() & (number.cast(pl.String) != col).fill_null(True)).alias("__oddkey")]
    elif "order" in roles:
        exprs.append(pl.col(roles["order"]).cast(pl.String).str.strip_chars().alias("order"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Int64 if order_numbers else pl.String).alias("order"))
        if order_numbers:
            exprs.append(pl.lit(False).alias("__oddkey"))
    if "birthday" in roles:
        col = roles["birthday"]
        if fast and src.plain_birthday:
            born = pl.col(col).str.to_date(src.dialect.birthday_format, strict=False)
            fix.append(born.is_null() & pl.col(col).is_not_null())
        else:
            born = date_expr(col, schema[col], src.dialect.birthday_format)
        exprs.append(born.alias("birthday"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Date).alias("birthday"))
    if fast:
        exprs.append((pl.any_horizontal(fix).fill_null(True) if fix else pl.lit(False)).alias("__fix"))
    lf = lf.select(exprs)
    if "amount" not in roles:
        lf = lf.with_columns(
            (pl.col("amount") * pl.when(pl.col("__no_items")).then(1.0).otherwise(pl.col("items")))
            .alias("amount"))
    return lf


def fix_rows(frame: pl.DataFrame, sources: list[Source], sales: Sales, need_hash: bool,
             cust_dtype: pl.DataType, order_numbers: bool) -> pl.DataFrame:
    """Return the frame with the rows marked ``__fix`` parsed again with the full expressions."""
    fix = frame["__fix"]
    frame = frame.drop("__fix")
    if not fix.any():
        return frame
    at = fix.arg_true()
    pos = frame["__pos"].gather(at)
    parts = []
    for index, src in enumerate(sources):
        rows = pos.filter(pos // (1 << FILE_SHIFT) == index) - (index << FILE_SHIFT)
        if rows.len():
            parts.append(standard_rows(src, index, sales, fast=False, need_hash=need_hash,
                                       rows=rows.cast(pl.UInt32), cust_dtype=cust_dtype,
                                       order_numbers=order_numbers))
    redo = pl.concat(parts, how="vertical_relaxed").collect().select(frame.columns)
    if not redo["__pos"].equals(pos, check_names=False):  # pragma: no cover - a reader mismatch
        raise PunchcardError(f"{sources[0].label}: rows changed while reading the file; try again.")
    return frame.with_columns(
        frame[c].scatter(at, redo[c].cast(frame[c].dtype)) for c in frame.columns if c != "__pos")


def runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (order, starts): a sort of ``keys`` and where each run of equal keys begins in it."""
    order = pl.Series(keys).arg_sort().to_numpy()
    ordered = keys[order]
    change = np.empty(ordered.size, dtype=bool)
    change[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    return order, np.flatnonzero(change)


def duplicate_lines(frame: pl.DataFrame, has_order: bool) -> pl.Series:
    """Return whether each row repeats an earlier identical line (same ``__h``).

    Without orders, any repeat is a duplicate. In a line-item export, identical lines on one
    receipt are two identical items (two coffees); only a line repeated from an earlier file
    (overlapping exports) is a duplicate.
    """
    h = frame["__h"].to_numpy()
    order, starts = runs(h)
    first = np.repeat(np.minimum.reduceat(order, starts), np.diff(np.append(starts, h.size)))
    dup = np.empty(h.size, dtype=bool)
    if has_order:
        files = frame["__pos"].to_numpy() >> FILE_SHIFT
        dup[order] = files[order] != files[first]
    else:
        dup[order] = order != first
    return pl.Series("__dup", dup)


def multi_orders(order: pl.Series) -> pl.Series:
    """Return whether each row's order id is shared with another row (nulls: never)."""
    n = order.len()
    known = order.is_not_null()
    ids = order.filter(known)
    if ids.len() < 2:
        return pl.Series("__multi", [False] * n, dtype=pl.Boolean)
    numbers = ids.cast(pl.Int64, strict=False)
    if numbers.null_count() == 0 and numbers.is_sorted():
        # Ascending numeric ids (the usual export): equal ids are neighbours.
        same = (numbers.diff(null_behavior="drop") == 0).to_numpy()
        shared = np.zeros(ids.len(), dtype=bool)
        if same.any():
            shared[1:] |= same
            shared[:-1] |= same
    else:
        h = ids.hash(20270101).to_numpy()
        ordered, starts = runs(h)
        sizes = np.diff(np.append(starts, h.size))
        shared = np.empty(h.size, dtype=bool)
        shared[ordered] = np.repeat(sizes > 1, sizes)
    out = np.zeros(n, dtype=bool)
    where = known.arg_true().to_numpy()
    if shared.any():
        # the candidates above may include hash or numeric look-alikes: test the text itself
        cand = np.flatnonzero(shared)
        shared[cand] = ids.gather(cand).is_duplicated().to_numpy()
    out[where] = shared
    return pl.Series("__multi", out)


def fill_orders(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with ``__multi`` and the gaps of multi-line orders filled from the order."""
    multi = multi_orders(frame["order"])
    frame = frame.with_columns(multi, pl.lit(False).alias("__amount_filled"))
    if not multi.any():
        return frame
    at = multi.arg_true()
    sub = frame[at].with_columns(
        pl.col("cust_raw").fill_null(
            pl.col("cust_raw").cast(pl.String).max().over("order").cast(frame["cust_raw"].dtype)),
        pl.col("date").fill_null(pl.col("date").min().over("order")),
        (pl.col("__no_date") & pl.col("date").min().over("order").is_not_null()).alias("__date_filled"),
        (pl.col("__no_amount") & pl.col("amount").is_not_null().any().over("order")).alias("__amount_filled"),
    ).with_columns(
        pl.when(pl.col("__amount_filled")).then(0.0).otherwise(pl.col("amount")).alias("amount"),
        (pl.col("__no_date") & ~pl.col("__date_filled")).alias("__no_date"),
        (pl.col("__no_amount") & ~pl.col("__amount_filled")).alias("__no_amount"),
    )
    return frame.with_columns(
        frame[c].scatter(at, sub[c]) for c in
        ("cust_raw", "date", "amount", "__no_date", "__no_amount", "__amount_filled"))


def classify(frame: pl.DataFrame, sales: Sales, has_order: bool) -> pl.DataFrame:
    """Return the rows with ``reason`` (a REASONS index; null = used), order gaps filled, returns signed."""
    if "__h" in frame.columns:
        frame = frame.with_columns(duplicate_lines(frame, has_order)).drop("__h")
    else:
        frame = frame.with_columns(pl.lit(False).alias("__dup"))
    if has_order:
        frame = fill_orders(frame)
    day = pl.col("date").cast(pl.Int32)
    start, end = sales.window if sales.window else (None, None)
    outside = pl.lit(False)
    if start is not None:
        outside = outside | (day < start.toordinal() - EPOCH_ORDINAL)
    if end is not None:
        outside = outside | (day > end.toordinal() - EPOCH_ORDINAL)
    filled_zero = pl.col("__amount_filled") if has_order else pl.lit(False)
    tests = [
        pl.col("__empty"), pl.col("__no_date"), pl.col("date").is_null(), pl.col("__no_amount"),
        pl.col("amount").is_null(), ~pl.col("__no_items") & pl.col("items").is_null(),
        (pl.col("amount") == 0) & ~filled_zero, pl.col("__dup"), outside,
    ]
    # Each test alone is a cheap pass; the chain (first test that applies) only needs the
    # tests that hit some row — on a clean export, none.
    hits = frame.select(test.any().alias(str(code)) for code, test in enumerate(tests)).row(0)
    reason = pl.lit(None, dtype=pl.UInt8)
    for code in reversed([c for c, hit in enumerate(hits) if hit]):
        reason = pl.when(tests[code]).then(pl.lit(code, dtype=pl.UInt8)).otherwise(reason)
    amount = pl.col("amount")
    if sales.cancel_prefix and has_order:
        cancelled = pl.col("order").str.starts_with(sales.cancel_prefix).fill_null(False)
        amount = pl.when(cancelled).then(-amount.abs()).otherwise(amount)
    keep = ["__pos", "cust_raw", "birthday"] + (["order", "__multi"] if has_order else [])
    return frame.select(
        *keep,
        reason.alias("reason"),
        amount.alias("amount"),
        day.alias("day"),
        # a missing quantity counts one item (a quantity that cannot be read is rejected)
        pl.col("items").fill_null(1.0).alias("items"),
    )


def transactions(used: pl.DataFrame, has_order: bool) -> pl.DataFrame:
    """Return one row per transaction: rows sharing an order (and customer) are summed."""
    cols = ["cust_raw", "day", "amount", "items", "birthday", "__pos"]
    if not has_order or not used["__multi"].any():
        return used.select(cols)
    # Only orders of more than one line need summing; a single line is its own visit.
    multi = used["__multi"]
    grouped = (
        used.filter(multi)
        .group_by(["cust_raw", "order"])
        .agg(
            pl.col("day").sort_by("__pos").first(),
            pl.col("amount").sum(),
            pl.col("items").sum(),
            pl.col("birthday").sort_by("__pos").drop_nulls().first(),
            pl.col("__pos").min(),
        )
        # A parallel sum may add an order's lines in any order; rounding far below a
        # cent makes the total the same bits on every run.
        .with_columns(pl.col("amount").round(6), pl.col("items").round(6))
        .select(cols)
    )
    return pl.concat([used.filter(~multi).select(cols), grouped])


# --- examples and errors --------------------------------------------------------------


def example_lines(sources: list[Source], picks: pl.DataFrame) -> dict[int, tuple[str, dict[str, str]]]:
    """Return pos -> (masked line text, raw values by header) for the picked rows."""
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for index, src in enumerate(sources):
        rows = picks.filter((pl.col("__pos") // (1 << FILE_SHIFT)) == index)["__pos"]
        if rows.len() == 0:
            continue
        wanted = (rows - (index << FILE_SHIFT)).cast(pl.UInt32).sort()
        found = scan(src, wanted).collect()  # reads the file only up to the last example
        hidden = {src.roles["customer"], src.roles.get("birthday")}
        shown = [
            pl.lit(MASK) if (c in hidden or PERSONAL.search(normalise_header(c))) and c not in (
                src.roles.get("date"), src.roles.get("amount"), src.roles.get("order"),
                src.roles.get("items"), src.roles.get("unit_price"))
            else pl.col(c).cast(pl.String).fill_null("")
            for c in found.columns if c != "__row"
        ]
        sep = src.dialect.delimiter if src.dialect.delimiter != WHITESPACE else " "
        texts = found.select(pl.col("__row"), pl.concat_str(shown, separator=sep).alias("t"))
        for row, text, values in zip(texts["__row"].to_list(), texts["t"].to_list(),
                                     found.drop("__row").cast(pl.String).to_dicts()):
            out[(index << FILE_SHIFT) + row] = (text, values)
    return out


HINTS = {
    "missing_date": "every row needs a date; check that `columns: {date: …}` names the right column",
    "bad_date": "give the date format under `sales:` → `format:`, e.g. `date_format: \"%d.%m.%Y\"`",
    "missing_amount": "every row needs an amount; check that `columns: {amount: …}` names the right column",
    "bad_amount": "check the decimal mark under `sales:` → `format:`, e.g. `decimal: \",\"` or `thousands: \".\"`",
    "bad_items": "check that `columns: {items: …}` names a quantity column",
    "zero_amount": "check that `columns: {amount: …}` names the money column",
    "duplicate_line": "the file repeats the same lines; remove the repeated export",
    "outside_window": "widen or remove `sales.window`",
    "empty_line": "the file is mostly empty lines; check the export",
}


def too_many_rejected(quality: DataQuality, details: dict[str, tuple[str, str | None, str | None]]) -> PunchcardError:
    """Return the error for a file that is mostly unreadable: top reasons with an example line."""
    top = sorted(quality.rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    reason = top[0][0]
    ex = quality.examples[reason][0]
    column, value = details[reason][1], details[reason][2]
    where = f"{ex['file']}: line {ex['line']}"
    if column is not None:
        where += f", column {column!r}, value {value!r}"
    counts = ", ".join(f"{k} {v:,}" for k, v in top)
    return PunchcardError(
        f"{where}: {quality.rows_read - quality.rows_used:,} of {quality.rows_read:,} rows cannot "
        f"be used ({counts}); e.g. `{ex['text']}`. Fix: {HINTS.get(reason, 'check the export')}."
    )


# --- the ledger -----------------------------------------------------------------------


def read_ledger(sales: Sales, *, base: Path | None = None) -> Ledger:
    """Return the ledger of ``sales``: parsed, accounted for, customers keyed; raises PunchcardError."""
    if not sales.paths:
        raise PunchcardError("sales: no input files. Fix `sales.path` in the program file.")
    with tempfile.TemporaryDirectory(prefix="punchcard-") as tmp, ThreadPoolExecutor(2) as pool:
        hashes = [pool.submit(sha256_file, p) for p in sales.paths]
        sources = [prepare(Path(p), sales, base, Path(tmp)) for p in sales.paths]
        for src in sources:
            if "date" not in src.roles or not ({"amount", "unit_price"} & set(src.roles)) \
                    or "customer" not in src.roles:
                need = [r for r in ("customer", "date", "amount") if r not in src.roles
                        and not (r == "amount" and "unit_price" in src.roles)]
                raise PunchcardError(
                    f"{src.label}: line 1: no {need[0]} column found among "
                    f"{', '.join(src.header)}. Name it under `sales:` → `columns:`, "
                    f"e.g. `{need[0]}: {src.header[0]}`."
                )
        has_order = any("order" in s.roles for s in sources)
        # Duplicate lines need a hash of every line, except in a single line-item export,
        # where only repeats across files count.
        need_hash = not has_order or len(sources) > 1
        try:
            frame = read_rows(sources, sales, need_hash)
        except pl.exceptions.ComputeError as exc:
            raise read_failure(exc, sources) from None
        frame = classify(frame, sales, has_order)
        reason = frame["reason"]
        counts = reason.value_counts(name="n")
        if len(sources) == 1:
            per_file = pl.DataFrame({"f": [0], "n": [frame.height]})
        else:
            per_file = (frame.select((pl.col("__pos") // (1 << FILE_SHIFT)).alias("f"))
                        .group_by("f").agg(pl.len().alias("n")))
        rejected = reason.is_not_null()
        picks = pl.DataFrame({"reason": pl.Series([], dtype=pl.String), "__pos": pl.Series([], dtype=pl.Int64)})
        if rejected.any():
            picks = (frame.filter(rejected).select("reason", "__pos").sort("__pos")
                     .group_by("reason", maintain_order=True).head(MAX_EXAMPLES)
                     .with_columns(pl.col("reason").replace_strict(list(range(len(REASONS))), list(REASONS),
                                                                 return_dtype=pl.String)))
            frame = frame.filter(~rejected)
        del reason, rejected
        tx = transactions(frame, has_order)
        del frame  # the rows are no longer needed: only the transactions go on
        counts = counts.with_columns(pl.col("reason").replace_strict(
            list(range(len(REASONS))), list(REASONS), default=None, return_dtype=pl.String))
        try:
            lines = example_lines(sources, picks) if picks.height else {}
        except pl.exceptions.ComputeError as exc:
            raise read_failure(exc, sources) from None
        inputs = tuple(
            InputFile(s.label, h.result(), int(per_file.filter(pl.col("f") == i)["n"].sum()))
            for i, (s, h) in enumerate(zip(sources, hashes))
        )
    quality, details = accounting(counts, picks, lines, sources)
    if quality.rows_read == 0:
        raise PunchcardError(f"{sources[0].label}: the file has a header but no rows. "
                             "Fix: export the sales history with its rows.")
    if quality.rows_used * 2 < quality.rows_read:
        raise too_many_rejected(quality, details)
    return assemble(tx, sales, quality, inputs)


def read_rows(sources: list[Source], sales: Sales, need_hash: bool) -> pl.DataFrame:
    """Return every row of every file in standard columns, in file and line order."""
    # Customer ids as numbers when they are plain integers, else as categorical codes (a
    # mapping of this read alone): either way keyed once, while the file is scanned.
    numbers = all(s.numeric_ids for s in sources)
    dtype = pl.Int64 if numbers else pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}"))
    orders = (not sales.cancel_prefix and any("order" in s.roles for s in sources)
              and all(s.numeric_orders or "order" not in s.roles for s in sources))
    rows = pl.concat([standard_rows(s, i, sales, need_hash=need_hash, cust_dtype=dtype, order_numbers=orders)
                      for i, s in enumerate(sources)], how="vertical_relaxed")
    frame = rows.collect(engine="streaming")
    for flag, role in (("__rekey", "numeric_ids"), ("__oddkey", "numeric_orders")):
        if flag in frame.columns:
            odd = frame[flag].any()
            frame = frame.drop(flag)
            if odd:  # an id the sample did not foresee: read again with text ids
                del frame
                return read_rows([replace(s, **{role: False}) for s in sources], sales, need_hash)
    frame = fix_rows(frame, sources, sales, need_hash, dtype, orders)
    if not frame["__pos"].is_sorted():  # pragma: no cover - the engine keeps the file order
        frame = frame.sort("__pos")
    return frame


def read_failure(exc: Exception, sources: list[Source]) -> PunchcardError:
    """Return a user-facing error for a file Polars cannot read (usually the encoding)."""
    text = str(exc)
    label = sources[0].label if len(sources) == 1 else ", ".join(s.label for s in sources)
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return PunchcardError(
            f"{label}: the file is not valid UTF-8 beyond its first lines ({text.splitlines()[0]}). "
            "Fix: this looks like cp1252: add `format: {encoding: cp1252}` under `sales:`."
        )
    return PunchcardError(f"{label}: cannot read the file ({text.splitlines()[0]}). "
                          "Fix: check `delimiter:` under `sales:` → `format:`.")


def accounting(counts: pl.DataFrame, picks: pl.DataFrame, lines: dict, sources: list[Source]):
    """Return the DataQuality and, per reason, (masked text, column, value) of its first example."""
    rejected = {r: int(n) for r, n in zip(counts["reason"].to_list(), counts["n"].to_list())
                if r is not None}
    rejected = {r: rejected[r] for r in REASONS if r in rejected}
    used = int(counts.filter(pl.col("reason").is_null())["n"].sum())
    examples: dict[str, list[dict]] = {}
    details: dict[str, tuple[str, str | None, str | None]] = {}
    picks = picks.sort(["reason", "__pos"])
    for reason, pos in zip(picks["reason"].to_list(), picks["__pos"].to_list()):
        src = sources[pos >> FILE_SHIFT]
        row = pos - ((pos >> FILE_SHIFT) << FILE_SHIFT)
        text, values = lines.get(pos, ("", {}))
        examples.setdefault(reason, []).append({"file": src.label, "line": row + 2, "text": text})
        if reason not in details:
            role = REASON_ROLE.get(reason)
            column = src.roles.get(role) or (src.roles.get("unit_price") if role == "amount" else None)
            details[reason] = (text, column, values.get(column) if column else None)
    examples = {r: examples[r] for r in REASONS if r in examples}
    return DataQuality(used + sum(rejected.values()), used, rejected, examples), details


CHUNK_ROWS = 1 << 20  # numpy work in slices: small temporaries, reused, instead of fresh big arrays


def slices(n: int):
    """Yield (start, stop) slices of up to CHUNK_ROWS rows covering 0..n."""
    for start in range(0, n, CHUNK_ROWS):
        yield start, min(start + CHUNK_ROWS, n)


def in_slices(work, n: int) -> list:
    """Return ``work(start, stop)`` over the slices of 0..n, run on a few threads (numpy
    releases the GIL in its loops)."""
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda span: work(*span), slices(n)))


def id_order(ids: pl.Series) -> np.ndarray:
    """Return the permutation that sorts distinct strings by their UTF-8 bytes."""
    n = ids.len()
    lengths = ids.str.len_bytes().to_numpy()
    buf = np.frombuffer(ids.str.join("")[0].encode("utf-8"), dtype=np.uint8) if n else None
    if n == 0 or int(lengths.max()) > 8 or not buf.all():
        return ids.arg_sort().to_numpy()
    # Up to 8 bytes and no NUL: the bytes, zero-padded, read as a big-endian number sort
    # the same way as the strings.
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    padded = np.zeros(n * 8, dtype=np.uint8)
    padded[np.repeat(np.arange(n, dtype=np.int64) * 8 - starts, lengths) + np.arange(buf.size)] = buf
    return np.argsort(padded.view(">u8"), kind="stable")


def int_scale(values: pl.Series) -> tuple[float, int, int] | None:
    """Return (scale, min, max) where values × scale are exact integers (scale 1, 100, 10⁴ or
    10⁶, the first that fits), or None."""
    if values.len() == 0:
        return 1.0, 0, 0
    lo, hi = values.min(), values.max()
    if lo is None or not (abs(lo) < 2.0 ** 31 and abs(hi) < 2.0 ** 31):
        return None
    head = values.head(CHUNK_ROWS).to_numpy()
    for scale in (1.0, 100.0, 1e4, 1e6):
        if np.array_equal(np.rint(head * scale) / scale, head):
            return scale, int(round(lo * scale)), int(round(hi * scale))
    return None


def packed_sort(cust: np.ndarray, n_customers: int, tx: pl.DataFrame
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """Return (identified, anonymous) columns sorted by (cust, day, amount, items), or None.

    Each row's (cust, day, amount, items) are packed into one 64-bit number (each field
    takes the bits of its range; amounts as exact integer cents or finer), so one sort of
    plain numbers orders them; anonymous rows get cust = n_customers and sort last. None
    when the fields do not fit in 64 bits or an amount is not an exact number of cents.
    """
    n = tx.height
    day_col, amount_col, items_col = tx["day"], tx["amount"], tx["items"]
    money, count = int_scale(amount_col), int_scale(items_col)
    if money is None or count is None or n == 0:
        return None
    day_lo, day_hi = int(day_col.min()), int(day_col.max())
    widths = [n_customers.bit_length(), (day_hi - day_lo).bit_length(),
              (money[2] - money[1]).bit_length(), (count[2] - count[1]).bit_length()]
    if sum(widths) > 64:
        return None
    shift = [np.uint64(w) for w in widths]
    masks = [np.uint64((1 << w) - 1) for w in widths]
    day, amount, items = day_col.to_numpy(), amount_col.to_numpy(), items_col.to_numpy()
    key = np.empty(n, dtype=np.uint64)

    def encode(s: int, e: int) -> bool:
        part = key[s:e]
        part[:] = cust[s:e]
        part <<= shift[1]
        part |= (day[s:e] - day_lo).astype(np.uint64)
        for values, (scale, lo, _), width in ((amount[s:e], money, shift[2]), (items[s:e], count, shift[3])):
            scaled = np.rint(values * scale) if scale != 1.0 else np.rint(values)
            if not np.array_equal(scaled / scale if scale != 1.0 else scaled, values):
                return False
            scaled -= lo
            part <<= width
            part |= scaled.astype(np.uint64)
        return True

    if not all(in_slices(encode, n)):
        return None
    key.sort()
    known = int(np.searchsorted(key, np.uint64(n_customers) << np.uint64(sum(widths[1:]))))
    out = {"cust": np.empty(known, dtype=np.int32), "day": np.empty(n, dtype=np.int32),
           "amount": np.empty(n, dtype=np.float64), "items": np.empty(n, dtype=np.float64)}

    def decode(s: int, e: int) -> None:
        part = key[s:e]
        out["items"][s:e] = ((part & masks[3]).astype(np.int64) + count[1]) / count[0]
        part >>= shift[3]
        out["amount"][s:e] = ((part & masks[2]).astype(np.int64) + money[1]) / money[0]
        part >>= shift[2]
        out["day"][s:e] = (part & masks[1]).astype(np.int64) + day_lo
        if s < known:
            part >>= shift[1]
            out["cust"][s:min(e, known)] = part[: min(e, known) - s]

    in_slices(decode, n)
    del key
    ident = {c: out[c][:known] for c in ("cust", "day", "amount", "items")}
    anon = {c: out[c][known:] for c in ("day", "amount", "items")}
    return ident, anon


def customer_codes(cust: pl.Series) -> tuple[np.ndarray, int, np.ndarray, pl.Series]:
    """Return (codes, k, in_use, ids): a code per row (0..k-1, k for anonymous), the codes in
    use and, for each of those, the customer id as text."""
    n = cust.len()
    if cust.dtype == pl.Int64:
        lo, hi = cust.min(), cust.max()
        if lo is None:
            return np.zeros(n, dtype=np.uint32), 0, np.zeros(0, dtype=np.int64), pl.Series([], dtype=pl.String)
        k = int(hi) - int(lo) + 1
        if k > 8 * n + (1 << 20):  # ids too spread out to index: key them as text
            cats = pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}"))
            return customer_codes(cust.cast(pl.String).cast(cats))
        values = cust.fill_null(int(hi) + 1).to_numpy()
        codes = np.empty(n, dtype=np.uint32)
        for s, e in slices(n):
            codes[s:e] = values[s:e] - lo
        seen = np.zeros(k + 1, dtype=bool)
        seen[codes] = True
        in_use = np.flatnonzero(seen[:k])
        return codes, k, in_use, pl.Series(in_use + int(lo)).cast(pl.String)
    k = int(cust.to_physical().max() or 0) + 1  # codes of this read's own mapping: 0..k-1
    codes = cust.to_physical().fill_null(k).to_numpy()
    # one row of each customer (any: they all carry the same id) gives the id's text
    row_of = np.full(k + 1, -1, dtype=np.int64)
    for s, e in slices(n):
        row_of[codes[s:e]] = np.arange(s, e)
    in_use = np.flatnonzero(row_of[:k] >= 0)
    return codes, k, in_use, cust.gather(row_of[in_use]).cast(pl.String)


def assemble(tx: pl.DataFrame, sales: Sales, quality: DataQuality, inputs: tuple[InputFile, ...]) -> Ledger:
    """Return the Ledger: customers keyed in sorted order of raw id, hashed, tx sorted."""
    codes, k, in_use, present = customer_codes(tx["cust_raw"])
    n = codes.size
    by_id = id_order(present)
    ids = present.gather(by_id)
    n_customers = ids.len()
    rank = np.empty(k + 1, dtype=np.int32)  # only the codes in use are ever looked up
    rank[k] = n_customers  # anonymous rows sort after every customer
    rank[in_use[by_id]] = np.arange(n_customers, dtype=np.int32)
    del present, in_use
    cust = np.empty(n, dtype=np.int32)  # per row: the customer key, n_customers if anonymous

    def key_rows(s: int, e: int) -> None:
        np.take(rank, codes[s:e], out=cust[s:e])

    in_slices(key_rows, n)
    del rank, codes
    packed = packed_sort(cust, n_customers, tx)
    if packed is None:
        frame = tx.select("day", "amount", "items").with_columns(cust=cust).sort(
            ["cust", "day", "amount", "items"])
        packed = ({c: frame[c].to_numpy() for c in ("cust", "day", "amount", "items")},
                  {c: frame[c].to_numpy() for c in ("day", "amount", "items")})
        known = int(np.searchsorted(frame["cust"].to_numpy(), n_customers))
        packed = ({c: v[:known] for c, v in packed[0].items()}, {c: v[known:] for c, v in packed[1].items()})
        del frame
    ledger_tx = pl.DataFrame(packed[0], schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64,
                                                "items": pl.Float64})
    anon = pl.DataFrame(packed[1], schema={"day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    del packed
    birthday = None
    born = tx["birthday"]
    if born.is_not_null().any():
        # each customer's birthday: the one on their earliest line that gives one
        rows = np.flatnonzero(born.is_not_null().to_numpy())
        who = cust[rows]
        pos = tx["__pos"].to_numpy()[rows]
        earliest = np.full(n_customers + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, who, pos)
        pick = (pos == earliest[who]) & (who < n_customers)
        birthday = np.full(n_customers, -1, dtype=np.int16)
        birthday[who[pick]] = born.gather(rows[pick]).dt.ordinal_day().cast(pl.Int16).to_numpy()
    start, end = sales.window if sales.window else (None, None)
    first, last = tx["day"].min(), tx["day"].max()
    start_day = start.toordinal() - EPOCH_ORDINAL if start else int(first)
    end_day = end.toordinal() - EPOCH_ORDINAL if end else int(last)
    return Ledger(
        tx=ledger_tx, anon=anon, n_customers=n_customers, cust_hash=stable_hash(ids),
        birthday_doy=birthday, start_day=start_day, end_day=end_day, quality=quality,
        inputs=inputs,
    )


def epoch_day(d: date) -> int:
    """Return the day number of a date counted from 1970-01-01."""
    return d.toordinal() - EPOCH_ORDINAL
