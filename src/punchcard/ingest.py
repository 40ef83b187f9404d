"""Stage 2: sales exports → ``Ledger``.

Each file is sniffed (``dialect.py``), scanned lazily by Polars as all-string columns and
parsed with expressions; every row read ends in exactly one bucket (used, or rejected
with a reason). Raw customer identifiers stay in this module: the ledger only holds a
compact integer key per customer and a stable hash of the raw id.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numba
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
    plain_amount: bool = False  # every sampled amount is a bare number: parse with a cast
    plain_date: bool = False  # every sampled date is a bare date: no time part, no spaces


def plain_sample(frame: pl.DataFrame, roles: dict[str, str], dialect: Dialect) -> tuple[bool, bool]:
    """Return whether the sample's amounts and dates can take the fast parse paths."""
    money = roles.get("amount") or roles.get("unit_price")
    amount = (
        money is not None and dialect.decimal == "." and dialect.thousands is None
        and bool(frame[money].drop_nulls().str.contains(r"^-?\d+(\.\d+)?$").all())
    )
    fmt = dialect.date_format or ""
    dates = frame[roles["date"]].drop_nulls() if "date" in roles else None
    plain = (
        dates is not None and fmt not in ("", EXCEL) and "%H" not in fmt
        and bool(dates.str.contains(r"^[0-9./-]+$").all())
    )
    return amount, plain


# --- hashing --------------------------------------------------------------------------


@numba.njit(cache=True)
def _fnv1a(buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = np.empty(offsets.size - 1, dtype=np.uint64)
    for i in range(offsets.size - 1):
        h = np.uint64(0xCBF29CE484222325)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
        # splitmix64 finaliser: spreads FNV's weak low bits
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
    return out


def stable_hash(ids: pl.Series) -> np.ndarray:
    """Return a uint64 FNV-1a (+ splitmix64 finaliser) hash of each string's UTF-8 bytes."""
    if ids.len() == 0:
        return np.zeros(0, dtype=np.uint64)
    lengths = ids.str.len_bytes().to_numpy().astype(np.int64)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = ids.str.join("")[0].encode("utf-8")
    return _fnv1a(np.frombuffer(joined, dtype=np.uint8), offsets)


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    fast_amount, fast_date = plain_sample(frame, roles, dialect)
    return Source(path, label, scan_path, "csv", dialect, header, roles, fast_amount, fast_date)


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


def standard_rows(src: Source, index: int, sales: Sales) -> pl.LazyFrame:
    """Return the file's rows as standard columns (raw text kept for the tests that need it)."""
    if src.kind == "parquet":
        lf = pl.scan_parquet(src.scan_path, row_index_name="__row")
    else:
        lf = pl.scan_csv(src.scan_path, separator=src.dialect.delimiter, infer_schema=False,
                         row_index_name="__row", truncate_ragged_lines=True)
    schema = lf.collect_schema()
    roles, raw = src.roles, [c for c in schema.names() if c != "__row"]
    cust_col = roles["customer"]
    cust = pl.col(cust_col).cast(pl.String).str.strip_chars()
    if "mail" in normalise_header(cust_col):
        cust = cust.str.to_lowercase()
    exprs = [
        (pl.lit(index << FILE_SHIFT, dtype=pl.Int64) + pl.col("__row").cast(pl.Int64)).alias("__pos"),
        pl.when(cust != "").then(cust).alias("cust_raw"),
        pl.all_horizontal([missing(pl.col(c)) for c in raw]).alias("__empty"),
        pl.struct(raw).hash(20270101).alias("__h"),
        missing(pl.col(roles["date"])).alias("__no_date"),
        (pl.col(roles["date"]).str.to_date(src.dialect.date_format, strict=False) if src.plain_date
         else date_expr(roles["date"], schema[roles["date"]], src.dialect.date_format)).alias("date"),
    ]
    if "items" in roles:
        exprs.append(amount_expr(roles["items"], schema[roles["items"]], src.dialect).alias("items"))
        exprs.append(missing(pl.col(roles["items"])).alias("__no_items"))
    else:
        exprs += [pl.lit(1.0).alias("items"), pl.lit(True).alias("__no_items")]
    money = roles.get("amount") or roles["unit_price"]
    exprs.append(missing(pl.col(money)).alias("__no_amount"))
    if src.plain_amount:
        exprs.append(pl.col(money).cast(pl.Float64, strict=False).alias("amount"))
    else:
        exprs.append(amount_expr(money, schema[money], src.dialect).alias("amount"))
    exprs.append(pl.col(roles["order"]).cast(pl.String).str.strip_chars().alias("order")
                 if "order" in roles else pl.lit(None, dtype=pl.String).alias("order"))
    if "birthday" in roles:
        exprs.append(date_expr(roles["birthday"], schema[roles["birthday"]],
                               src.dialect.birthday_format).alias("birthday"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Date).alias("birthday"))
    lf = lf.select(exprs)
    if "amount" not in roles:
        lf = lf.with_columns(
            (pl.col("amount") * pl.when(pl.col("__no_items")).then(1.0).otherwise(pl.col("items")))
            .alias("amount"))
    return lf


def classify(rows: pl.LazyFrame, sales: Sales, has_order: bool) -> pl.LazyFrame:
    """Return the rows with ``reason`` (null = used), order gaps filled, returns signed."""
    if has_order:
        in_order = pl.col("order").is_not_null()
        fill = {
            "cust_raw": pl.col("cust_raw").max().over("order"),
            "date": pl.col("date").min().over("order"),
        }
        rows = rows.with_columns(
            [pl.when(in_order & pl.col(k).is_null()).then(v).otherwise(pl.col(k)).alias(k)
             for k, v in fill.items()]
            + [(in_order & pl.col("__no_date") & pl.col("date").min().over("order").is_not_null())
               .alias("__date_filled"),
               (in_order & pl.col("__no_amount") & pl.col("amount").is_not_null().any().over("order"))
               .alias("__amount_filled")]
        ).with_columns(
            pl.when(pl.col("__amount_filled")).then(0.0).otherwise(pl.col("amount")).alias("amount"),
            (pl.col("__no_date") & ~pl.col("__date_filled")).alias("__no_date"),
            (pl.col("__no_amount") & ~pl.col("__amount_filled")).alias("__no_amount"),
        )
    day = pl.col("date").cast(pl.Int32)
    start, end = sales.window if sales.window else (None, None)
    outside = pl.lit(False)
    if start is not None:
        outside = outside | (day < start.toordinal() - EPOCH_ORDINAL)
    if end is not None:
        outside = outside | (day > end.toordinal() - EPOCH_ORDINAL)
    first_pos = pl.col("__pos").min().over("__h")
    is_dup = pl.col("__pos") != first_pos
    if has_order:
        # In a line-item export, identical lines on one receipt are two identical items
        # (two coffees); only a line repeated from an earlier file (overlapping exports)
        # is a duplicate.
        is_dup = (pl.col("__pos") // (1 << FILE_SHIFT)) != (first_pos // (1 << FILE_SHIFT))
    filled_zero = pl.col("__amount_filled") if has_order else pl.lit(False)
    reason = (
        pl.when(pl.col("__empty")).then(pl.lit("empty_line"))
        .when(pl.col("__no_date")).then(pl.lit("missing_date"))
        .when(pl.col("date").is_null()).then(pl.lit("bad_date"))
        .when(pl.col("__no_amount")).then(pl.lit("missing_amount"))
        .when(pl.col("amount").is_null()).then(pl.lit("bad_amount"))
        .when(~pl.col("__no_items") & pl.col("items").is_null()).then(pl.lit("bad_items"))
        .when((pl.col("amount") == 0) & ~filled_zero).then(pl.lit("zero_amount"))
        .when(is_dup).then(pl.lit("duplicate_line"))
        .when(outside).then(pl.lit("outside_window"))
    )
    amount = pl.col("amount")
    if sales.cancel_prefix and has_order:
        cancelled = pl.col("order").str.starts_with(sales.cancel_prefix).fill_null(False)
        amount = pl.when(cancelled).then(-amount.abs()).otherwise(amount)
    return rows.with_columns(
        reason.alias("reason"),
        amount.alias("amount"),
        day.alias("day"),
        pl.when(pl.col("__no_items")).then(1.0).otherwise(pl.col("items")).alias("items"),
    )


def transactions(used: pl.LazyFrame, has_order: bool) -> pl.LazyFrame:
    """Return one row per transaction: rows sharing an order (and customer) are summed."""
    cols = ["cust_raw", "day", "amount", "items", "birthday"]
    if not has_order:
        return used.select(cols)
    solo = pl.when(pl.col("order").is_null()).then(pl.col("__pos")).otherwise(-1).alias("__solo")
    return (
        used.with_columns(solo)
        .group_by(["cust_raw", "order", "__solo"])
        .agg(
            pl.col("day").sort_by("__pos").first(),
            pl.col("amount").sum(),
            pl.col("items").sum(),
            pl.col("birthday").drop_nulls().first(),
        )
        # A parallel sum may add an order's lines in any order; rounding far below a
        # cent makes the total the same bits on every run.
        .with_columns(pl.col("amount").round(6), pl.col("items").round(6))
        .select(cols)
    )


# --- examples and errors --------------------------------------------------------------


def example_lines(sources: list[Source], picks: pl.DataFrame) -> dict[int, tuple[str, dict[str, str]]]:
    """Return pos -> (masked line text, raw values by header) for the picked rows."""
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for index, src in enumerate(sources):
        rows = picks.filter((pl.col("__pos") // (1 << FILE_SHIFT)) == index)["__pos"]
        if rows.len() == 0:
            continue
        wanted = (rows - (index << FILE_SHIFT)).cast(pl.UInt32)
        if src.kind == "parquet":
            lf = pl.scan_parquet(src.scan_path, row_index_name="__row")
        else:
            lf = pl.scan_csv(src.scan_path, separator=src.dialect.delimiter, infer_schema=False,
                             row_index_name="__row", truncate_ragged_lines=True)
        found = lf.filter(pl.col("__row").is_in(wanted.implode())).collect()
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
        hashes = [pool.submit(file_sha256, p) for p in sales.paths]
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
        try:
            rows = pl.concat([standard_rows(s, i, sales) for i, s in enumerate(sources)],
                             how="vertical_relaxed")
            rows = classify(rows, sales, has_order)
            counts_q = rows.group_by("reason").agg(pl.len().alias("n"))
            per_file_q = rows.group_by((pl.col("__pos") // (1 << FILE_SHIFT)).alias("f")).agg(pl.len().alias("n"))
            picks_q = (rows.filter(pl.col("reason").is_not_null()).select("reason", "__pos")
                       .sort("__pos").group_by("reason").head(MAX_EXAMPLES))
            tx_q = transactions(rows.filter(pl.col("reason").is_null()), has_order)
            counts, per_file, picks, tx = pl.collect_all([counts_q, per_file_q, picks_q, tx_q])
        except pl.exceptions.ComputeError as exc:
            raise read_failure(exc, sources) from None
        lines = example_lines(sources, picks) if picks.height else {}
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


def assemble(tx: pl.DataFrame, sales: Sales, quality: DataQuality, inputs: tuple[InputFile, ...]) -> Ledger:
    """Return the Ledger: customers keyed in sorted order of raw id, hashed, tx sorted."""
    ids = tx.select(pl.col("cust_raw").drop_nulls().unique()).sort("cust_raw")["cust_raw"]
    keys = pl.DataFrame({"cust_raw": ids, "cust": pl.int_range(0, ids.len(), dtype=pl.Int32, eager=True)})
    known = tx.filter(pl.col("cust_raw").is_not_null()).join(keys, on="cust_raw", how="inner")
    ledger_tx = known.select(
        "cust", pl.col("day").cast(pl.Int32), pl.col("amount").cast(pl.Float64),
        pl.col("items").cast(pl.Float64),
    ).sort(["cust", "day", "amount"])
    anon = tx.filter(pl.col("cust_raw").is_null()).select(
        pl.col("day").cast(pl.Int32), pl.col("amount").cast(pl.Float64),
        pl.col("items").cast(pl.Float64),
    ).sort(["day", "amount", "items"])
    birthday = None
    if tx["birthday"].is_not_null().any():
        doy = (known.group_by("cust").agg(pl.col("birthday").drop_nulls().first())
               .sort("cust")["birthday"].dt.ordinal_day())
        birthday = doy.fill_null(-1).cast(pl.Int16).to_numpy()
    start, end = sales.window if sales.window else (None, None)
    first, last = tx["day"].min(), tx["day"].max()
    start_day = start.toordinal() - EPOCH_ORDINAL if start else int(first)
    end_day = end.toordinal() - EPOCH_ORDINAL if end else int(last)
    return Ledger(
        tx=ledger_tx, anon=anon, n_customers=ids.len(), cust_hash=stable_hash(ids),
        birthday_doy=birthday, start_day=start_day, end_day=end_day, quality=quality,
        inputs=inputs,
    )


def epoch_day(d: date) -> int:
    """Return the day number of a date counted from 1970-01-01."""
    return d.toordinal() - EPOCH_ORDINAL
