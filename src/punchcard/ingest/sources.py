"""Stage 2, the input files: each file sniffed, transcoded to UTF-8 CSV where needed, and scanned.

A ``Source`` is one file ready to scan: its dialect (``dialect.py``) merged with the
program's ``sales.format``, its column roles, and which columns the sample shows to be
plain enough for a plain cast. Rows are addressed by a position key (``FILE_SHIFT``).
"""

from __future__ import annotations

import codecs
import gzip
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from punchcard.ingest.dialect import (
    EXCEL,
    normalise_header,
    WHITESPACE,
    Dialect,
    detect_roles,
    engine_reason,
    open_binary,
    resolve_day_month,
    sniff_dialect,
    whitespace_to_csv,
)
from punchcard.errors import PunchcardError
from punchcard.program import Sales

CHUNK = 4 * 1024 * 1024
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
    has_time: bool = False  # the dates carry a time of day (not all midnight)
    # every sampled customer id is one text followed by a fixed number of digits, such as
    # C00000278 (("C", 8)): keyed by the digits' value, no text hashed while scanning
    id_prefix: tuple[str, int] | None = None
    # the roles among amount, unit_price and items whose sampled cells are all filled: a plain
    # one is parsed by the reader itself (``scan``'s ``typed``), an empty cell then being read again
    filled: tuple[str, ...] = ()


PLAIN_NUMBER = r"^-?\d+(\.\d+)?$"
TIME_OF_DAY = r"[ T](\d{1,2}):(\d\d)(?::(\d\d))?"


def has_time(values: pl.Series) -> bool:
    """Return whether sampled date cells carry a time of day other than midnight."""
    times = values.drop_nulls().str.extract(TIME_OF_DAY, 0).drop_nulls()
    return bool(times.len()) and bool(times.str.contains(r"[1-9]").any())
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


def label_of(path: Path, base: Path | None) -> str:
    """Return the path as users see it: relative to the program file's folder when possible."""
    if base is None:
        return str(path)
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return str(path)


# Open descriptors of nameless copies, per private folder; closed when the folder's block ends.
_PRIVATE: dict[Path, list[int]] = {}


@contextmanager
def private_folder() -> Iterator[Path]:
    """Yield a private (0700) temporary folder for transcoded copies; on every way out of the
    block (an error or Ctrl-C included) the copies are closed and the folder removed."""
    tmp = Path(tempfile.mkdtemp(prefix="punchcard-"))
    _PRIVATE[tmp] = []
    try:
        yield tmp
    finally:
        for fd in _PRIVATE.pop(tmp, []):
            os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)


def _nameless_copy(tmp: Path) -> tuple[Path, int | None]:
    """Return (a path to read it by, its descriptor) for a new file that has no name on disk.

    On Linux the file is opened with O_TMPFILE in ``tmp`` and read back through
    /proc/self/fd, so a copy of the customers' data never has a name that a kill -9 could
    leave behind: the kernel frees it with the process. Elsewhere (the documented fallback)
    it is a named file in the private folder, removed when the folder's block ends.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if flag and tmp in _PRIVATE and Path("/proc/self/fd").is_dir():
        try:
            fd = os.open(tmp, flag | os.O_RDWR, 0o600)
        except OSError:
            pass
        else:
            _PRIVATE[tmp].append(fd)
            return Path(f"/proc/self/fd/{fd}"), fd
    return tmp / f"{len(list(tmp.iterdir()))}.csv", None


def transcode(path: Path, dialect: Dialect, tmp: Path) -> Path:
    """Return a UTF-8 CSV copy of a cp1252 or whitespace-aligned file, converted in chunks.

    The copy is private: nameless where the system allows (see ``_nameless_copy``).
    """
    out, fd = _nameless_copy(tmp)
    decoder = codecs.getincrementaldecoder(dialect.encoding)()
    carry = ""
    lines = 0
    target = open(os.dup(fd), "w", encoding="utf-8", newline="") if fd is not None \
        else open(out, "w", encoding="utf-8", newline="")
    with open_binary(path) as src, target as dst:
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
    """Return the file's ``Source``: sniffed dialect merged with ``sales.format``, roles resolved.

    A file that cannot be opened or decompressed, or that the reader refuses, is an error
    naming the file and the fix (never the rows the reader quotes).
    """
    label = label_of(path, base)
    try:
        return _prepare(path, sales, base, tmp, label)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise PunchcardError(
            f"{label}: cannot be decompressed ("
            f"{'not a gzip file' if isinstance(exc, gzip.BadGzipFile) else engine_reason(exc)}). "
            "Fix: the file is damaged or not gzip — export it again, or drop `.gz` from its "
            "name if it is plain text."
        ) from None
    except pl.exceptions.PolarsError as exc:
        raise PunchcardError(f"{label}: cannot read the file ({engine_reason(exc)}). Fix: check "
                             "that it is a complete .csv, .csv.gz or .parquet export.") from None
    except OSError as exc:
        raise PunchcardError(f"{label}: cannot read the file ({exc.strerror or exc}). Fix: check "
                             "the file and its permissions.") from None


def _prepare(path: Path, sales: Sales, base: Path | None, tmp: Path, label: str) -> Source:
    if not path.exists():
        raise PunchcardError(f"{label}: file not found. Check `sales.path` in the program file.")
    if path.suffix.lower() == ".parquet":
        header = tuple(pl.scan_parquet(path).collect_schema().names())
        roles = detect_roles(header, dict(sales.columns), label)
        dialect = Dialect(date_format=sales.format.date_format)
        timed = False
        if "date" in roles:
            dates = pl.scan_parquet(path).select(roles["date"]).head(2000).collect().to_series()
            if isinstance(dates.dtype, pl.Datetime):
                timed = bool((dates.dt.time().cast(pl.Int64).fill_null(0) != 0).any())
            elif dates.dtype == pl.String:
                timed = has_time(dates)
        return Source(path, label, path, "parquet", dialect, header, roles, has_time=timed)
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

    timed = "date" in roles and roles["date"] in frame.columns and has_time(frame[roles["date"]])
    filled = tuple(r for r in ("amount", "unit_price", "items")
                   if roles.get(r) in frame.columns and frame[roles[r]].null_count() == 0)
    return Source(path, label, scan_path, "csv", dialect, header, roles,
                  *plain_sample(frame, roles, dialect), integers("customer"), integers("order"),
                  has_time=timed, id_prefix=None if integers("customer") else prefixed(frame, roles),
                  filled=filled)


def prefixed(frame: pl.DataFrame, roles: dict[str, str]) -> tuple[str, int] | None:
    """Return (prefix, digits) when every sampled customer id is that prefix followed by
    that many digits (C00000278: ("C", 8)), else None; never for e-mail columns (lower-cased)."""
    col = roles.get("customer")
    if col is None or col not in frame.columns or "mail" in normalise_header(col):
        return None
    ids = frame[col].drop_nulls()
    if ids.len() == 0:
        return None
    parts = ids.str.extract_groups(r"^(\D*)(\d{1,18})$")
    prefixes, digits = parts.struct.field("1"), parts.struct.field("2").str.len_bytes()
    if prefixes.null_count() or prefixes.n_unique() != 1 or digits.n_unique() != 1:
        return None
    return prefixes[0], int(digits[0])


def resolve_dates_fully(path: Path, dialect: Dialect, roles: dict[str, str], label: str) -> str:
    """Return the day/month order of a slash/dash date column, looking at the whole column."""
    col = roles["date"]
    if codecs.lookup(dialect.encoding).name == "utf-8" and dialect.delimiter != WHITESPACE:
        values = pl.scan_csv(path, separator=dialect.delimiter, infer_schema=False).select(
            pl.col(col)
        ).collect()[col]
    else:
        with private_folder() as tmp:
            copy = transcode(path, dialect, tmp)
            values = pl.scan_csv(copy, infer_schema=False).select(pl.col(col)).collect()[col]
    return resolve_day_month(dialect.date_format or "?/", values, label, col)


def scan(src: Source, rows: pl.Series | None = None,
         typed: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    """Return the file as all-string columns plus ``__row``; only ``rows`` (row indexes) if given.

    ``typed`` columns of a CSV file are parsed by the reader as that type instead, a cell it
    cannot parse read as null (like an empty one): the caller reads such rows again as text.
    """
    if src.kind == "parquet":
        lf = pl.scan_parquet(src.scan_path, row_index_name="__row")
    elif typed:
        lf = pl.scan_csv(src.scan_path, separator=src.dialect.delimiter, infer_schema=False,
                         schema_overrides=typed, ignore_errors=True,
                         row_index_name="__row", truncate_ragged_lines=True)
    else:
        lf = pl.scan_csv(src.scan_path, separator=src.dialect.delimiter, infer_schema=False,
                         row_index_name="__row", truncate_ragged_lines=True)
    if rows is not None:
        # rows are ascending: stop reading after the last one
        lf = lf.head(int(rows.max()) + 1).filter(pl.col("__row").is_in(rows.implode()))
    return lf


def read_failure(exc: Exception, sources: list[Source]) -> PunchcardError:
    """Return a user-facing error for a file Polars cannot read (usually the encoding)."""
    text = str(exc)
    reason = engine_reason(exc)
    label = sources[0].label if len(sources) == 1 else ", ".join(s.label for s in sources)
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return PunchcardError(
            f"{label}: the file is not valid UTF-8 beyond its first lines ({reason}). "
            "Fix: this looks like cp1252: add `format: {encoding: cp1252}` under `sales:`."
        )
    if "escaped" in text or "quote" in text.lower():
        return PunchcardError(
            f"{label}: a quote (\") beyond the first lines opens a cell that never closes "
            f"({reason}). Fix: remove the stray quote or close it, or re-export the file with "
            "every quote doubled inside quoted cells.")
    return PunchcardError(f"{label}: cannot read the file ({reason}). "
                          "Fix: check `delimiter:` under `sales:` → `format:`.")
