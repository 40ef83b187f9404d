"""Stage 2, parsing: a file's cells (amounts, dates, ids) read into standard columns with Polars expressions.

``standard_rows`` parses one ``Source``; with the fast paths a plain cast reads the
columns the sample showed to be plain (in a one-file read, the CSV reader itself parses
plain, always-filled amounts and quantities), and ``fix_rows`` parses the rows that cast
cannot settle again with the full expressions, so both ways give the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import polars as pl
from numba import njit

from punchcard.ingest.dialect import EXCEL, Dialect, date_part, normalise_header, strip_currency
from punchcard.errors import PunchcardError
from punchcard.program import Sales
from punchcard.runtime import workers
from punchcard.ingest.rows import same_cut
from punchcard.ingest.sources import FILE_SHIFT, TIME_OF_DAY, Source, scan

EXCEL_EPOCH = 25569  # Excel serial day number of 1970-01-01 (1900 date system)
MAX_ID_BYTES = 1024  # a customer or order id (e-mail addresses are at most 254)
MAX_AMOUNT = 1e12  # larger money on one row is a broken cell (and would lose the cents)
MAX_ITEMS = 1e7  # items on one row


def within(value: pl.Expr, limit: float) -> pl.Expr:
    """Return ``value`` where its size is at most ``limit``, else null (an unreadable cell):
    a 400-digit amount, 1e308 or NaN is a broken export, not a sale."""
    return pl.when(value.abs() <= limit).then(value)


def amount_expr(col: str, dtype: pl.DataType, dialect: Dialect, limit: float = MAX_AMOUNT) -> pl.Expr:
    """Return a Float64 expression for a money/quantity column; null where it cannot be read
    or its size is beyond ``limit``."""
    if dtype.is_numeric():
        return within(pl.col(col).cast(pl.Float64), limit)
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
    return within(pl.when(negative).then(-value).otherwise(value), limit)


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


def time_of_day(col: str, dtype: pl.DataType) -> pl.Expr:
    """Return ``__tod``: the seconds since midnight of a date-time cell (null without a time)."""
    if isinstance(dtype, pl.Datetime):
        t = pl.col(col)
        return (t.dt.hour().cast(pl.Int32) * 3600 + t.dt.minute().cast(pl.Int32) * 60
                + t.dt.second().cast(pl.Int32)).alias("__tod")
    if dtype == pl.Date or dtype.is_numeric():
        return pl.lit(None, dtype=pl.Int32).alias("__tod")
    text = pl.col(col).cast(pl.String)
    part = [text.str.extract(TIME_OF_DAY, k).cast(pl.Int32, strict=False) for k in (1, 2, 3)]
    return (part[0] * 3600 + part[1] * 60 + part[2].fill_null(0)).alias("__tod")


def missing(expr: pl.Expr) -> pl.Expr:
    """Return whether a string cell is empty (null or only spaces)."""
    return expr.is_null() | (expr.cast(pl.String).str.strip_chars() == "")


def standard_rows(src: Source, index: int, sales: Sales, *, fast: bool = True,
                  need_hash: bool = True, rows: pl.Series | None = None,
                  cust_dtype: pl.DataType = pl.String, order_numbers: bool = False,
                  times: bool = False) -> pl.LazyFrame:
    """Return the file's rows as standard columns.

    With ``fast``, columns the sample showed to be plain are parsed with a plain cast, and
    ``__fix`` marks the rows that cast cannot settle; ``fix_rows`` parses those again with
    the full expressions, so both ways give the same values. With ``times``, ``__tod`` holds
    each row's time of day in seconds (null where the cell has none): without an order
    column, the lines of one customer at one date and time are one visit.
    """
    money = "amount" if "amount" in src.roles else "unit_price"
    # A one-file read (no line hashes, which need every cell's text) lets the reader parse
    # the plain amounts and quantities the sample shows always filled: a null there is an
    # empty cell or one the reader could not parse, and is read again as text (``__fix``).
    typed = {src.roles[r]: pl.Float64 for r, plain in (("items", src.plain_items), (money, src.plain_amount))
             if fast and plain and r in src.filled and rows is None and not need_hash and src.kind == "csv"}
    lf = scan(src, rows, typed)
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
        # Plain integer ids are kept as numbers: no text to strip or key. The id's length in
        # bytes (``__clen``) tells, after the scan, whether every id is written exactly as its
        # number (``not_canonical``); if one is not (spaces, a leading zero, …), the files are
        # read again with text ids.
        exprs += [pl.col(cust_col).cast(pl.Int64, strict=False).alias("cust_raw"),
                  pl.col(cust_col).cast(pl.String).str.len_bytes().alias("__clen")]
    elif cust_dtype == pl.UInt64:
        # Ids written as one prefix and a fixed number of digits (C00000278) are kept as the
        # digits' value: at one width, numbers order as the texts do. ``__clen`` and ``__cbad``
        # tell, after the scan, whether every id is written so (``not_prefixed``); if one is
        # not, the files are read again with text ids.
        prefix = src.id_prefix[0]
        col = pl.col(cust_col).cast(pl.String)
        exprs += [col.str.slice(len(prefix)).cast(pl.UInt64, strict=False).alias("cust_raw"),
                  col.str.len_bytes().alias("__clen"),
                  (~col.str.starts_with(prefix) | col.str.contains("+", literal=True)).alias("__cbad")]
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
            pl.all_horizontal([pl.col(c).is_null() if c in typed else missing(pl.col(c))
                               for c in raw]).alias("__empty"),
            missing(pl.col(date_col)).alias("__no_date"),
            date_expr(date_col, schema[date_col], src.dialect.date_format).alias("date"),
        ]

    def number(role: str, plain: bool) -> tuple[pl.Expr, pl.Expr]:
        col = roles[role]
        limit = MAX_ITEMS if role == "items" else MAX_AMOUNT
        if col in typed:
            # parsed by the reader: null where empty or unreadable, and ``within`` makes a value
            # that is not finite or beyond the limit null too; each such row is read again
            value = within(pl.col(col), limit)
            fix.append(value.is_null())
            return value, pl.col(col).is_null()
        if fast and plain:
            value = pl.col(col).cast(pl.Float64, strict=False)
            fix.append(pl.col(col).is_not_null() & ~value.is_finite().fill_null(False))
            return within(value, limit), pl.col(col).is_null()
        return amount_expr(col, schema[col], src.dialect, limit), missing(pl.col(col))

    if "items" in roles:
        value, absent = number("items", src.plain_items)
        exprs += [value.alias("items"), absent.alias("__no_items")]
    else:
        exprs += [pl.lit(1.0).alias("items"), pl.lit(True).alias("__no_items")]
    value, absent = number(money, src.plain_amount)
    exprs += [absent.alias("__no_amount"), value.alias("amount")]
    if "order" in roles and order_numbers:
        # plain integer order ids as numbers, like customer ids (``__olen`` as ``__clen``)
        col = pl.col(roles["order"])
        exprs += [col.cast(pl.Int64, strict=False).alias("order"),
                  col.cast(pl.String).str.len_bytes().alias("__olen")]
    elif "order" in roles:
        exprs.append(pl.col(roles["order"]).cast(pl.String).str.strip_chars().alias("order"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Int64 if order_numbers else pl.String).alias("order"))
        if order_numbers:
            exprs.append(pl.lit(None, dtype=pl.UInt32).alias("__olen"))
    if times:
        exprs.append(time_of_day(date_col, schema[date_col]) if src.has_time
                     else pl.lit(None, dtype=pl.Int32).alias("__tod"))
    if "birthday" in roles:
        col = roles["birthday"]
        if fast and src.plain_birthday:
            # A large export's birthdays take tens of thousands of distinct values: parsing
            # each costs less than Polars' cache of parsed values (the dates are the same).
            born = pl.col(col).str.to_date(src.dialect.birthday_format, strict=False, cache=False)
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


# 10**k for k = 0..19 (10**19 still fits in 64 unsigned bits)
POW10 = np.array([10 ** k for k in range(20)], dtype=np.uint64)


def in_halves(work: Callable[[Sequence], object], items: Sequence) -> list:
    """Return ``[work(first half of items), work(second half)]``, the halves on two threads
    (``work`` must release the GIL for most of its time: compiled loops over chunks), or one
    after the other when the build may use one thread (``--threads 1``)."""
    half = (len(items) + 1) // 2
    if workers() <= 1:
        return [work(items[:half]), work(items[half:])]
    with ThreadPoolExecutor(1, thread_name_prefix="punchcard-halves") as pool:
        second = pool.submit(work, items[half:])
        return [work(items[:half]), second.result()]


@njit(cache=True, nogil=True)
def _length_mismatch(numbers: np.ndarray, lengths: np.ndarray, pow10: np.ndarray) -> bool:
    """Return whether some number is written in other than ``lengths[i]`` characters."""
    for i in range(numbers.size):
        n = numbers[i]
        digits = np.int64(lengths[i])
        if n < 0:
            digits -= 1
            magnitude = np.uint64(-(n + 1)) + np.uint64(1)  # |n|, even for the smallest int64
        else:
            magnitude = np.uint64(n)
        if digits < 1 or digits > 19 or magnitude >= pow10[digits] or (
                digits > 1 and magnitude < pow10[digits - 1]):
            return True
    return False


def reread_ids(frame: pl.DataFrame, id_prefix: tuple[str, int] | None) -> tuple[pl.DataFrame, dict | None]:
    """Return the frame without its id-check columns, and how to read it again when an id broke
    the form the sample foresaw (prefixed, or numeric without leading zeros), else None.

    The answer is a ``Source`` replacement: ``{"id_prefix": None}``, ``{"numeric_ids": False}``
    or ``{"numeric_orders": False}`` — read those ids as text.
    """
    if id_prefix is not None:
        odd = not_prefixed(frame, id_prefix)
        frame = frame.drop("__clen", "__cbad")
        if odd:
            return frame, {"id_prefix": None}
    for lengths, col, role in (("__clen", "cust_raw", "numeric_ids"), ("__olen", "order", "numeric_orders")):
        if lengths in frame.columns:
            odd = not_canonical(frame[col], frame[lengths])
            frame = frame.drop(lengths)
            if odd:
                return frame, {role: False}
    return frame, None


def not_prefixed(frame: pl.DataFrame, id_prefix: tuple[str, int]) -> bool:
    """Return whether some id read as prefix + digits (``cust_raw`` UInt64) is not written
    exactly as that prefix and that many digits: a sign, a space, another prefix or width."""
    width = len(id_prefix[0].encode("utf-8")) + id_prefix[1]
    given = pl.col("__clen").is_not_null()
    odd = given & (pl.col("cust_raw").is_null() | (pl.col("__clen") != width) | pl.col("__cbad"))
    return bool(frame.select(odd.any()).item())


def not_canonical(numbers: pl.Series, lengths: pl.Series) -> bool:
    """Return whether some id read as a number is not written exactly as that number.

    ``numbers`` is the text cast to Int64 (which reads ``[+-]?[0-9]+`` only) and ``lengths``
    the text's length in bytes (null where the cell is empty). Written exactly as its number
    (as ``str(n)``) means: it was read, and its length is the number's digits plus its minus
    sign; a plus sign, a leading zero or ``-0`` makes the text longer than that.
    """
    # an empty cell is null in both; a text that is no number only in ``numbers``
    if numbers.null_count() > lengths.null_count():
        return True
    if [c.len() for c in numbers.get_chunks()] != [c.len() for c in lengths.get_chunks()]:
        numbers, lengths = numbers.rechunk(), lengths.rechunk()

    def mismatch(pairs: Sequence[tuple[pl.Series, pl.Series]]) -> bool:
        # chunk by chunk (views of the streaming engine's chunks, empty cells filled in a
        # chunk-sized copy): no column-sized copies
        for number, length in pairs:
            if number.null_count():
                number, length = number.fill_null(0), length.fill_null(1)
            if _length_mismatch(number.to_numpy(), length.to_numpy(), POW10):
                return True
        return False

    return any(in_halves(mismatch, list(zip(numbers.get_chunks(), lengths.get_chunks()))))


def check_ids(frame: pl.DataFrame, sources: list[Source]) -> None:
    """Raise for a customer or order id longer than ``MAX_ID_BYTES``: such a cell is a broken
    export (an unclosed quote swallowing the lines after it), and would be slow to key."""
    for col, role in (("cust_raw", "customer"), ("order", "order")):
        if col not in frame.columns or frame[col].dtype.is_numeric():
            continue
        values = frame[col]
        lengths = values.cat.len_bytes() if isinstance(values.dtype, pl.Categorical) else values.str.len_bytes()
        if (lengths.max() or 0) <= MAX_ID_BYTES:
            continue
        at = int(lengths.fill_null(0).gt(MAX_ID_BYTES).arg_true()[0])
        pos = int(frame["__pos"][at])
        src = sources[pos >> FILE_SHIFT]
        line = pos - ((pos >> FILE_SHIFT) << FILE_SHIFT) + 2
        raise PunchcardError(
            f"{src.label}: line {line}, column {src.roles.get(role)!r}: {'an' if role == 'order' else 'a'} {role} id of "
            f"{int(lengths[at]):,} bytes; an id has at most {MAX_ID_BYTES}. Fix: check the "
            "export's quoting (an unclosed quote swallows the lines after it), or name the "
            f"right column under `sales:` → `columns:` → `{role}:`."
        )


def fix_rows(frame: pl.DataFrame, sources: list[Source], sales: Sales, need_hash: bool,
             cust_dtype: pl.DataType, order_numbers: bool, times: bool = False) -> pl.DataFrame:
    """Return the frame with the rows marked ``__fix`` parsed again with the full expressions."""
    check_ids(frame, sources)
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
                                       order_numbers=order_numbers, times=times))
    redo = pl.concat(parts, how="vertical_relaxed").collect().select(frame.columns)
    if not redo["__pos"].equals(pos, check_names=False):  # pragma: no cover - a reader mismatch
        raise PunchcardError(f"{sources[0].label}: rows changed while reading the file; try again.")
    return same_cut(frame.with_columns(
        frame[c].scatter(at, redo[c].cast(frame[c].dtype)) for c in frame.columns if c != "__pos"))


def parse_file(src: Source, sales: Sales) -> pl.DataFrame:
    """Return one file's rows in standard columns, ``__pos`` counted from 0 within the file.

    What the file alone decides, and nothing more: customer and order ids stay numbers
    (Int64) when every one of them is written as a plain integer, customer ids the digits'
    value (UInt64) when every one is ``src.id_prefix`` and its digits, else text (String);
    every line's hash ``__h`` is kept, and a file without an order column keeps each line's
    time of day ``__tod`` (null without times). ``read.read_rows`` gives the same columns for all
    files at once; the parse cache keeps this one file's.
    """
    cust = pl.Int64 if src.numeric_ids else pl.UInt64 if src.id_prefix else pl.String
    orders = src.numeric_orders or "order" not in src.roles
    times = "order" not in src.roles
    frame = standard_rows(src, 0, sales, need_hash=True, cust_dtype=cust,
                          order_numbers=orders, times=times).collect(engine="streaming")
    frame = same_cut(frame)  # (before any ``drop``: a frame cut unevenly is copied whole)
    frame, reread = reread_ids(frame, src.id_prefix if cust == pl.UInt64 else None)
    if reread is not None:  # an id the sample did not foresee: read again with text ids
        del frame
        return parse_file(replace(src, **reread), sales)
    return fix_rows(frame, [src], sales, True, cust, orders, times)
