"""Stage 2, the parse cache: each sales file's parsed columns, kept by the file's content hash.

A sales input of several files (``sales.path: exports/*.csv``, one file per data drop)
is read file by file; each file's parsed columns (the output of ``parse.standard_rows``
with its rows fixed: cells read into standard columns, nothing yet classified) are kept
in one entry of the cache folder, named by a hash of the file's SHA-256 and of everything
else the parse depends on (the program's ``sales.columns`` and ``sales.format``, the
versions of punchcard and Polars, this module's ``FORMAT``). The next build parses only
the files whose entry is missing; the rules that look across rows and files (rejection
reasons, duplicates, orders, the window) run after the cache, on every row, so a cached
read gives the same rows, and the same site, as a cold one.

An entry is two files: ``<key>.pcc``, the columns as an uncompressed Arrow IPC file
(written and read back at the speed of a copy: Parquet's encoding took longer than parsing
the CSV again; ``__pos``, each row's line index, is left out and made again when it is
just 0, 1, 2, …), and ``<key>.pcc.json``, its description (the file's dialect and column
roles, the size and CRC-32 of the IPC file). The IPC file is checked through a read-only
memory map and then read by Polars from its path, so its bytes are not copied into Python
first (FORMAT 3 kept both in one file, read whole and copied twice: 2.0 CPU-s against
0.8 for the 24 monthly entries of a 20M-row export, bench/PROFILE.md). Each file is
written under a temporary name and renamed, the IPC file first: a reader sees an old or
a new description, and one that does not match the IPC file beside it (a build cut off
between the two renames, an entry altered or cut short) makes the file be parsed again
and the entry replaced, never used. Entries are looked up and read two files at a time,
and a parsed file is written while the next one is parsed. Entries live in
``<folder>/<program id>/``; after a read the entries of that program's files no longer
given (changed or removed files) are deleted. The folder is safe to delete at any time:
the next build parses every file again.
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import os
import tempfile
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from punchcard import __version__
from punchcard.errors import PunchcardError
from punchcard.ingest.customers import prefixed_text
from punchcard.ingest.dialect import Dialect
from punchcard.ingest.parse import parse_file
from punchcard.ingest.rows import aligned
from punchcard.ingest.sources import FILE_SHIFT, Source, label_of, prepare, read_failure
from punchcard.program import Sales
from punchcard.runtime import sha256_file

FORMAT = 4  # bump when the parsed columns or the entry layout change
SUFFIX = ".pcc"  # the IPC file; its description is <key>.pcc.json
HEAD = ".json"
DEFAULT_FOLDER = ".punchcard-cache"


@dataclass(frozen=True)
class Entry:
    """One file's parsed columns read back from the cache, and how the file was read."""

    source: Source
    frame: pl.DataFrame
    transcoded: bool  # the file was read through a UTF-8 copy (cp1252, whitespace-aligned)


@dataclass(frozen=True)
class ParseCache:
    """A folder of parsed sales files for one program (``folder/<program id>/``)."""

    folder: Path

    def key(self, sha256: str, sales: Sales) -> str:
        """Return the entry name of a file with this content, read by ``sales``' columns and format."""
        spec = json.dumps({"format": FORMAT, "punchcard": __version__, "polars": pl.__version__,
                           "sha256": sha256, "columns": sorted(sales.columns.items()),
                           "sales_format": asdict(sales.format)}, sort_keys=True)
        return hashlib.sha256(spec.encode()).hexdigest()[:40]

    def load(self, key: str, path: Path, label: str) -> Entry | None:
        """Return the entry ``key`` for the file at ``path``, or None when it is absent or unusable."""
        data = self.folder / (key + SUFFIX)
        try:
            head = json.loads((self.folder / (key + SUFFIX + HEAD)).read_bytes())
            with open(data, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if head.get("key") != key or size != head["size"] or size == 0:
                    return None
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    if zlib.crc32(view) != head["crc32"]:
                        return None
            frame = pl.read_ipc(data)
            if frame.height != head["rows"]:
                return None
            if "__pos" not in frame.columns and frame.width:  # left out when it is the row index
                # cut like the other columns (the reader splits them into record batches):
                # a column in other chunks would make later steps copy every column
                pos = pl.int_range(0, frame.height, dtype=pl.Int64, eager=True).alias("__pos")
                frame = frame.with_columns(aligned(pos, frame.to_series(0))).select(head["columns"])
            if frame.columns != head["columns"]:
                return None
            src = Source(path, label, path, head["kind"], Dialect(**head["dialect"]),
                         tuple(head["header"]), dict(head["roles"]), has_time=bool(head["has_time"]),
                         id_prefix=tuple(head["id_prefix"]) if head["id_prefix"] else None)
            if (frame["cust_raw"].dtype == pl.UInt64) != (src.id_prefix is not None):
                return None
            return Entry(src, frame, bool(head["transcoded"]))
        except (ValueError, TypeError, KeyError, AttributeError, OSError, pl.exceptions.PolarsError):
            return None

    def store(self, key: str, src: Source, frame: pl.DataFrame) -> None:
        """Write the entry ``key``: each of its two files atomically, the IPC file first (a reader
        sees the old entry, the new one, none, or a description that does not match: none)."""
        buf = io.BytesIO()
        columns = frame.columns
        index = pl.int_range(0, pl.len(), dtype=pl.Int64)
        if "__pos" in columns and frame.select((pl.col("__pos") == index).all()).item():
            frame = frame.drop("__pos")  # the row index: made again on reading
        frame.rechunk().write_ipc(buf, compression="uncompressed")
        data = buf.getvalue()
        head = {"key": key, "rows": frame.height, "size": len(data), "crc32": zlib.crc32(data),
                "columns": columns,
                "kind": src.kind, "dialect": asdict(src.dialect), "header": list(src.header),
                "roles": src.roles, "transcoded": src.scan_path != src.path, "has_time": src.has_time,
                # ids kept as prefix + digits (UInt64) need the prefix to be read as text
                "id_prefix": list(src.id_prefix) if frame["cust_raw"].dtype == pl.UInt64 else None}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # the IPC file first: a description never names data that is not there yet
            self._replace(key + SUFFIX, data)
            self._replace(key + SUFFIX + HEAD, json.dumps(head, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            raise PunchcardError(
                f"{self.folder}: cannot write the parse cache ({exc.strerror or exc}). "
                "Fix: give a writable folder with `--cache DIR`, or turn the cache off with `--no-cache`."
            ) from None

    def _replace(self, name: str, content: bytes) -> None:
        """Write ``name`` in the folder atomically (a temporary file renamed; readable by its owner only)."""
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, self.folder / name)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def keep_only(self, keys: set[str]) -> None:
        """Delete this program's entries other than ``keys`` (files changed or no longer given)."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            key = path.name[:-len(SUFFIX + HEAD)] if path.name.endswith(SUFFIX + HEAD) else (
                path.stem if path.suffix == SUFFIX else None)  # (and a temporary file left by a build cut off)
            if key is not None and key not in keys:
                try:
                    path.unlink()
                except OSError:
                    pass  # another build may have removed it first


def cache_for(folder: Path, program_id: str, site: Path) -> ParseCache:
    """Return the parse cache of a program under ``folder``; raises PunchcardError if it would
    sit inside the site folder (which every build replaces)."""
    root, out = folder.resolve(), site.resolve()
    if root == out or out in root.parents:
        raise PunchcardError(
            f"{folder}: the parse cache cannot be inside the site folder {site}/ (a build replaces "
            "that folder). Fix: give another folder with `--cache DIR`."
        )
    return ParseCache(folder / program_id)


def cached_rows(cache: ParseCache, sales: Sales, base: Path | None, tmp: Path,
                check: Callable[[Source], None]) -> tuple[list[Source], pl.DataFrame, set[int]]:
    """Return (sources, rows, transcoded) for a sales input read file by file through the cache.

    ``rows`` is what ``read.read_rows`` returns for the same files (every row in
    standard columns, in file and line order); ``transcoded`` holds the indexes of the files
    taken from the cache that are read through a UTF-8 copy (none is made for them: a caller
    that needs their lines prepares them again). ``check`` vets each freshly prepared file
    before it is parsed. Entries of files no longer given are deleted afterwards.
    """
    paths = [Path(p) for p in sales.paths]
    labels = [label_of(p, base) for p in paths]
    for path, label in zip(paths, labels):
        if not path.exists():
            raise PunchcardError(f"{label}: file not found. Check `sales.path` in the program file.")

    def look_up(index: int) -> tuple[str, Entry | None]:
        key = cache.key(sha256_file(paths[index]), sales)
        return key, cache.load(key, paths[index], labels[index])

    sources, frames, transcoded, keys = [], [], set(), set()
    # hashing the files and reading their entries release the GIL: two files at a time
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(look_up, range(len(paths))))
        writing = []
        for index, (path, (key, entry)) in enumerate(zip(paths, found)):
            keys.add(key)
            if entry is None:
                src = prepare(path, sales, base, tmp)
                check(src)
                try:
                    frame = parse_file(src, sales)
                except pl.exceptions.ComputeError as exc:
                    raise read_failure(exc, [src]) from None
                writing.append(pool.submit(cache.store, key, src, frame))  # while the next is parsed
            else:
                src, frame = entry.source, entry.frame
                if entry.transcoded:
                    transcoded.add(index)
            found[index] = (key, None)  # the entry's frame is held once, below
            sources.append(src)
            frames.append(frame.with_columns(pl.col("__pos") + (index << FILE_SHIFT)))
        for job in writing:
            job.result()
    cache.keep_only(keys)
    return sources, combine(frames, sources, sales), transcoded


def combine(frames: list[pl.DataFrame], sources: list[Source], sales: Sales) -> pl.DataFrame:
    """Return the files' parsed rows as one frame, ids typed as ``read.read_rows`` types them.

    Customer ids are numbers only when every file's are (Int64 plain integers, or UInt64
    prefix + digits with one prefix and width); else every file's ids as text, keyed by
    categorical codes (a number's text is the id's: the parse checked it). Order ids
    likewise (as text when cancelled orders are marked by a prefix).
    """
    kinds = {f["cust_raw"].dtype for f in frames}
    prefixes = {s.id_prefix for s in sources}
    numbers = kinds == {pl.Int64} or (kinds == {pl.UInt64} and len(prefixes) == 1)
    orders = (not sales.cancel_prefix and any("order" in s.roles for s in sources)
              and all(f["order"].dtype == pl.Int64 for f in frames))
    # a line's time of day only where no file has orders (lines of one customer at one time)
    times = not any("order" in s.roles for s in sources) and any(s.has_time for s in sources)
    frames = [f if times else f.drop("__tod", strict=False) for f in frames]

    def ids(f: pl.DataFrame, src: Source) -> pl.Series:
        if numbers or f["cust_raw"].dtype == pl.String:
            return f["cust_raw"]
        if f["cust_raw"].dtype == pl.UInt64:
            return prefixed_text(f["cust_raw"], src.id_prefix).alias("cust_raw")
        return f["cust_raw"].cast(pl.String)

    frames = [f.with_columns(ids(f, src), pl.col("order").cast(pl.Int64 if orders else pl.String))
              for f, src in zip(frames, sources)]
    rows = pl.concat(frames, how="vertical", rechunk=False)
    if not numbers:
        cats = pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}"))
        rows = rows.with_columns(pl.col("cust_raw").cast(cats))
    return rows
