"""Stage 2 in pieces: each sales file read on its own, rows regrouped, ledgers per customer-hash partition.

The ingest stage (``ingest.read_ledger``) reads every file in one process. These are
the same steps cut where a cluster can run them apart (``cluster.py``), with the same
ledger, restricted to each partition's customers, at the end:

1. ``read_file``: one file sniffed, read and parsed exactly as ``read_rows`` does, its
   rows split by a *row key* that keeps together every row another row can touch: lines
   of one order (filled from each other, summed into one transaction), identical lines
   (duplicates) and, outside orders, a customer's lines.
2. ``classify_rows``: one row partition's rows from every file, in file and line order,
   classified (used, or rejected with a reason) and turned into transactions; these are
   split by *customer*.
3. ``customer_ledger``: one customer partition's transactions keyed and sorted
   (``keys.assemble``): customers keyed in order of raw id among the partition's, so the
   whole ledger's keys follow from the sorted ids (``global_keys``).

Partition numbers come from Polars' hash of the id's text: consistent across processes
of one Polars version (``cluster.py`` checks the workers run the client's), and the
results do not depend on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from numba import njit

from punchcard.errors import PunchcardError
from punchcard.ingest.ledger import DataQuality, Ledger
from punchcard.program import Sales
from punchcard.ingest.sources import FILE_SHIFT, Source

ROW_SEED = 20270101  # seed of the partition hash (any fixed value)


@dataclass(frozen=True)
class FileRead:
    """What reading one file tells the client: its source (labels, roles) and rows read."""

    source: Source
    rows: int
    has_order: bool
    has_time: bool  # its dates carry a time of day
    days: tuple | None  # ``rows.day_counts`` of its dates (date outliers are judged among all files')
    sha256: str = ""  # of a file fetched from a URL (taken while copying it)


def _split(frame: pl.DataFrame, part: np.ndarray, partitions: int) -> list[pl.DataFrame]:
    """Return the frame's rows in ``partitions`` pieces (row i to piece ``part[i]``), each in row order."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return [frame[order[bounds[p]:bounds[p + 1]]] for p in range(partitions)]


def fetch(url: str, folder: Path) -> tuple[Path, str]:
    """Return a copy of the file at ``url`` in ``folder`` (through fsspec) and its SHA-256."""
    try:
        import fsspec
    except ImportError:
        raise PunchcardError(f"{url}: reading sales files by URL needs fsspec on the workers. "
                             "Fix: pip install 'punchcard[dask]' there.") from None
    local = folder / (url.rstrip("/").rsplit("/", 1)[-1] or "sales.csv")
    digest = hashlib.sha256()
    try:
        with fsspec.open(url, "rb") as src, open(local, "wb") as dst:
            while block := src.read(1 << 20):
                digest.update(block)
                dst.write(block)
    except (ImportError, OSError, ValueError) as exc:
        raise url_error(url, exc) from None
    return local, digest.hexdigest()


def url_error(url: str, exc: BaseException) -> PunchcardError:
    """Return the error for a URL that fsspec could not list or read, with its fix."""
    if isinstance(exc, ImportError):  # fsspec names the package a protocol needs
        return PunchcardError(f"{url}: {exc}. Fix: install it on the workers, e.g. "
                              "pip install 'punchcard[dask,s3]' (gs://: gcs, abfs://: azure).")
    return PunchcardError(f"{url}: cannot be read ({type(exc).__name__}: {exc}). Fix: check the "
                          "URL, and the workers' credentials for it.")


def read_file(path: Path, index: int, n_files: int, sales: Sales, base: Path | None,
              partitions: int, label: str | None = None,
              source: Source | None = None) -> tuple[FileRead, list[pl.DataFrame]]:
    """Return one file's read, and its rows (standard columns, ids as text) in ``partitions`` row pieces.

    ``label`` names the file in messages instead of its path (a URL it was fetched from).
    ``source``: the file already prepared (a byte range of it: ``read_range``); ``__pos``
    then counts the rows from the range's first.
    """
    from punchcard.ingest.read import check_roles, read_rows
    from punchcard.ingest.rows import day_counts
    from punchcard.ingest.sources import label_of, prepare, private_folder, read_failure

    with private_folder() as tmp:
        try:
            src = source or prepare(Path(path), sales, base, tmp)
        except PunchcardError as exc:
            if label is None:
                raise
            raise PunchcardError(str(exc.message).replace(label_of(Path(path), base), label)
                                 .replace(str(path), label)) from None
        if label is not None:
            src = dataclasses.replace(src, label=label)
        # ids with one prefix are read as the digits' value, which another file may not share:
        # here as text, like the ids of a mix of files
        src = dataclasses.replace(src, id_prefix=None)
        check_roles(src)
        has_order = "order" in src.roles
        # as read_ledger: a single line-item export needs no line hashes
        try:
            frame = read_rows([src], sales, need_hash=n_files > 1 or not has_order)
        except pl.exceptions.ComputeError as exc:
            raise read_failure(exc, [src]) from None
    if index:
        frame = frame.with_columns(pl.col("__pos") + (index << FILE_SHIFT))
    # one representation for every file (a file's ids may be read as numbers, another's as text)
    frame = frame.with_columns(pl.col("cust_raw").cast(pl.String), pl.col("order").cast(pl.String))
    fallback = pl.col("__h") if "__h" in frame.columns else pl.col("__pos").cast(pl.UInt64)
    key = (pl.when(pl.col("order").is_not_null()).then(pl.col("order").hash(ROW_SEED))
           .when(pl.col("cust_raw").is_not_null()).then(pl.col("cust_raw").hash(ROW_SEED))
           .otherwise(fallback))
    part = frame.select((key % partitions).cast(pl.Int64).alias("p"))["p"].to_numpy()
    days = day_counts(frame["date"].cast(pl.Int32))
    return FileRead(src, frame.height, has_order, src.has_time, days), _split(frame, part, partitions)


#: Bytes of one large CSV file per read task (``plan_ranges``): about 6M rows of a typical
#: export, which a worker parses in about 2 GB (docs/scale.md, memory per worker).
RANGE_BYTES = 256 << 20
_QUOTE, _NEWLINE = 34, 10  # '"', '\n'


@njit(cache=True, nogil=True)
def _quote_scan(buf, delimiter, state):
    """Run a CSV reader's quote states over ``buf`` from ``state``; return the state after it,
    or -1 at the first line break inside a quoted cell.

    States: 0 a cell's start, 1 inside an unquoted cell (a quote there is a character),
    2 inside a quoted cell, 3 just after a quote inside a quoted cell (a doubled quote or
    the cell's end)."""
    for i in range(buf.shape[0]):
        c = buf[i]
        if state == 2:
            if c == _QUOTE:
                state = 3
            elif c == _NEWLINE:
                return -1
        elif state == 3 and c == _QUOTE:
            state = 2
        elif c == delimiter or c == _NEWLINE:
            state = 0
        elif state == 0 and c == _QUOTE:
            state = 2
        else:
            state = 1
    return state


def plan_ranges(path: Path, sales: Sales, base: Path | None,
                range_bytes: int) -> tuple[Source, int, list[tuple[int, int]]] | None:
    """Return (the file's source, the header's bytes, byte ranges of its rows) to read a large
    CSV in pieces, or None when it is read whole.

    Read whole: a compressed or Parquet file, one transcoded to UTF-8 (another encoding,
    whitespace-aligned columns), or one no larger than ``range_bytes``. Each range but the
    last ends just after a line break; whether that break ends a row (it may be inside a
    quoted cell) is checked while each range is read (``read_range``).
    """
    from punchcard.ingest.sources import prepare, private_folder

    path = Path(path)
    if path.name.lower().endswith((".gz", ".parquet")):
        return None
    with private_folder() as tmp:
        src = prepare(path, sales, base, tmp)
    size = path.stat().st_size
    if src.kind != "csv" or src.scan_path != path or size <= range_bytes:
        return None
    cuts = []
    with open(path, "rb") as fh:
        header = len(fh.readline())
        at = header
        while at + range_bytes < size:
            fh.seek(at + range_bytes - 1)
            fh.readline()  # to just after the next line break
            at = fh.tell()
            if at < size:
                cuts.append(at)
    bounds = [header, *cuts, size]
    return src, header, [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def read_range(path: Path, index: int, n_files: int, sales: Sales, base: Path | None, partitions: int,
               src: Source, header: int, start: int, end: int) -> tuple[FileRead | None, list[pl.DataFrame]]:
    """Return the read of bytes ``start:end`` of a file (``plan_ranges``), as ``read_file``, its
    ``__pos`` counted from the range's first row (``classify_rows`` adds the rows before it).

    The range is copied after the file's header into a private copy, which is parsed with the
    file's source (dialect, roles, fast paths). (None, []) when the range cannot be read
    apart: a line break inside a quoted cell (at a range boundary the row would be cut), or
    an input error (its message would name a line of the range, not of the file): the client
    then reads the whole file in one task, as it reads any other file.
    """
    from punchcard.ingest.sources import _nameless_copy, private_folder

    delimiter = ord(src.dialect.delimiter)
    with private_folder() as tmp:
        copy, fd = _nameless_copy(tmp)
        target = open(os.dup(fd), "wb") if fd is not None else open(copy, "wb")
        with open(path, "rb") as fh, target as dst:
            head = fh.read(header)
            state = _quote_scan(np.frombuffer(head, dtype=np.uint8), delimiter, 0)
            dst.write(head)
            fh.seek(start)
            left = end - start
            while left > 0 and state >= 0:
                block = fh.read(min(left, 4 << 20))
                if not block:
                    break
                state = _quote_scan(np.frombuffer(block, dtype=np.uint8), delimiter, state)
                dst.write(block)
                left -= len(block)
        if state < 0 or state == 2 or left > 0:  # a quoted line break, or the file changed
            return None, []
        try:
            info, pieces = read_file(path, index, n_files, sales, base, partitions,
                                     source=dataclasses.replace(src, scan_path=copy))
        except PunchcardError:
            return None, []
    return dataclasses.replace(info, source=dataclasses.replace(info.source, scan_path=Path(path))), pieces


def classify_rows(pieces: list[pl.DataFrame], sales: Sales, has_order: bool, times: bool, days,
                  shards: int, partitions: int, max_examples: int,
                  offsets: list[int] | None = None) -> tuple[dict, list[pl.DataFrame]]:
    """Return one row partition's accounting and its transactions in ``partitions`` customer pieces.

    The accounting: rows per reason (None = used), the first ``max_examples`` rejected
    rows of each reason (``{"reason": [...], "__pos": [...]}``) and ``quality.sales_figures``. ``times``: the whole
    input's visits are a customer's lines at one date and time (no file has an order column,
    one has times): each file was read by its own rule, its time of day (``__tod``) is kept
    or dropped here as a read of all files keeps it. ``days``: every file's dates
    (``rows.merge_day_counts``), among which outliers are judged. A customer's transactions
    go to piece ``shard % partitions`` (``shard.shard_of`` of the id's stable hash, among
    ``shards``), so a piece holds whole shards; anonymous ones all go to piece 0.
    ``offsets``: per piece, the rows of its file before it (a byte range's piece counts its
    rows from the range's first: ``read_range``), added to ``__pos``, so that every row has
    its line's position in the whole file, as a read of the whole file gives it.
    """
    from punchcard.ingest.customers import stable_hash
    from punchcard.ingest.quality import sales_figures
    from punchcard.ingest.rows import REASONS, classify, transactions
    from punchcard.ingest.shards import shard_of

    def as_read_together(piece: pl.DataFrame) -> pl.DataFrame:
        if times and "__tod" not in piece.columns:
            return piece.with_columns(pl.lit(None, dtype=pl.Int32).alias("__tod"))
        return piece if times else piece.drop("__tod", strict=False)

    pieces = [as_read_together(p) for p in pieces]
    if offsets is not None:
        pieces = [p.with_columns(pl.col("__pos") + off) if off else p for p, off in zip(pieces, offsets)]
    frame = pl.concat([p for p in pieces if p.height] or pieces[:1], how="vertical_relaxed")
    if not frame["__pos"].is_sorted():
        frame = frame.sort("__pos")
    frame = classify(frame, sales, has_order, days)
    names = list(REASONS)
    counts = {(None if r is None else names[r]): int(n) for r, n in
              zip(*frame["reason"].value_counts(name="n").to_dict(as_series=False).values())}
    rejected = frame["reason"].is_not_null()
    picks = (frame.filter(rejected).select("reason", "__pos").sort("__pos")
             .group_by("reason", maintain_order=True).head(max_examples))
    accounting = {"counts": counts, "picks": {"reason": [names[r] for r in picks["reason"].to_list()],
                                              "__pos": picks["__pos"].to_list()}}
    used = frame.filter(~rejected)
    accounting["used_zero"] = int(used["__zero"].sum()) if "__zero" in used.columns else 0  # as read_ledger
    tx = transactions(used, has_order)
    del used
    accounting["sales"] = sales_figures(tx)
    ids = tx["cust_raw"].drop_nulls().unique()
    piece = shard_of(stable_hash(ids), shards) % partitions
    part = tx["cust_raw"].replace_strict(ids, pl.Series(piece, dtype=pl.Int64), default=0,
                                         return_dtype=pl.Int64).to_numpy()
    return accounting, _split(tx, part, partitions)


def customer_ledger(pieces: list[pl.DataFrame], sales: Sales, visits: str) -> tuple[dict, Ledger]:
    """Return one customer partition's facts for the client and its ledger (keys among its customers).

    The facts: customers, their ids sorted (the keys' order), and the first and last day of
    the identified and of all transactions (None: none). The ledger's dates are the
    partition's own until the client sets the whole data's; ``visits`` is the whole
    input's visit rule (``Ledger.visits``).
    """
    from punchcard.ingest.customers import assemble

    tx = pl.concat([p for p in pieces if p.height] or pieces[:1], how="vertical_relaxed")
    ids = tx["cust_raw"].drop_nulls().unique().sort()
    cats = pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}"))
    tx = tx.with_columns(pl.col("cust_raw").cast(cats))
    ident = tx.filter(pl.col("cust_raw").is_not_null())["day"]
    ledger = assemble(tx, dataclasses.replace(sales, window=None), DataQuality(0, 0), (), visits=visits)
    if ledger.n_customers != ids.len():  # pragma: no cover - keys and ids disagree
        raise PunchcardError("internal: a partition's customers were keyed twice; build without --scheduler.")
    facts = {"customers": ledger.n_customers, "ids": ids,
             "ident_first": ident.min(), "ident_last": ident.max(),
             "first": tx["day"].min(), "last": tx["day"].max(),
             "birthdays": ledger.birthday_doy is not None}
    return facts, ledger


def global_keys(ids: list[pl.Series]) -> list[np.ndarray]:
    """Return, per partition, the whole ledger's key of each of its customers (given each one's sorted ids).

    The whole ledger keys customers in order of raw id (``keys.assemble``), so a
    customer's key is the rank of its id among every partition's.
    """
    whole = pl.concat(ids) if ids else pl.Series([], dtype=pl.String)
    rank = np.empty(whole.len(), dtype=np.int64)
    rank[whole.arg_sort().to_numpy()] = np.arange(whole.len())
    out, start = [], 0
    for part in ids:
        out.append(rank[start:start + part.len()])
        start += part.len()
    return out
