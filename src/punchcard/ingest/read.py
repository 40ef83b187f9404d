"""Stage 2: sales exports → ``Ledger``.

Each file is sniffed (``dialect.py``), scanned lazily by Polars as all-string columns and
parsed with expressions; every row read ends in exactly one bucket (used, or rejected
with a reason). Raw customer identifiers stay in the ingest modules: the ledger only
holds a compact integer key per customer and a stable hash of the raw id.

The stage's modules: ``sources.py`` (files prepared and scanned), ``parse.py`` (cells
into standard columns), ``rows.py`` (classification, orders, duplicates),
``quality.py`` (rejection counts, masked examples, errors), ``customers.py`` (customer
keys, stable hash, the sorted ledger) and ``cache.py`` (the parse cache of a multi-file
input); this module runs them.

Speed at scale (tens of millions of rows): the file is scanned once, streaming; columns
the sniffed sample shows to be plain take a plain cast, and only rows that cast cannot
settle are read again with the full rules; in a one-file read, the amounts and quantities
the sample shows plain and always filled are parsed by the CSV reader itself (Float64: a
cell it cannot parse is null there, like an empty one, and the row is read again as text,
as is a value ``parse.within`` refuses), while dates and ids stay text (the reader takes
2024/01/05 for a %Y-%m-%d date, and 007 or +7 for the id 7, which the text rules tell
apart); customer ids are keyed during the scan (as
numbers when they are plain integers, checked afterwards by their text's length; as the
digits' value when they are one prefix and a fixed number of digits such as C00000278,
checked afterwards by length, prefix and sign; else as categorical codes); order-level work (gap filling, summing lines) touches only orders of
more than one line; the scanned frame keeps the engine's chunks (no copy into one), and
the passes over every row after the scan are compiled loops (the ids' length check, the
copy of the customer codes and the rows' keys on two threads, half the chunks each:
``parse.in_halves``); and the ledger is sorted by
packing (cust, day, amount, items) into one 64-bit number per row (amounts off the cent
grid by their place among the grid and the off-grid amounts), written straight into its
customer's run (a counting sort), each run then sorted on its own.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl

from punchcard.ingest.cache import ParseCache, cached_rows
from punchcard.ingest.columns import header_suggestion
from punchcard.ingest.dialect import sniff
from punchcard.errors import PunchcardError
from punchcard.ingest.customers import assemble, stable_hash, warm_up
from punchcard.ingest.ledger import EPOCH_ORDINAL, InputFile, Ledger
from punchcard.ingest.parse import fix_rows, reread_ids, standard_rows
from punchcard.program import Sales, is_url
from punchcard.ingest.quality import MAX_EXAMPLES, accounting, check_sales, example_lines, too_many_rejected
from punchcard.ingest.rows import REASONS, classify, same_cut, transactions
from punchcard.ingest.sources import FILE_SHIFT, Source, prepare, private_folder, read_failure

__all__ = ["read_ledger", "sniff", "stable_hash"]


def read_ledger(sales: Sales, *, base: Path | None = None, cache: ParseCache | None = None) -> Ledger:
    """Return the ledger of ``sales``: parsed, accounted for, customers keyed; raises PunchcardError.

    With a ``cache``, an input of several files is read file by file, each file's parsed
    columns taken from the cache when its content was parsed before (``cache.py``).
    """
    if not sales.paths:
        raise PunchcardError("sales: no input files. Fix `sales.path` in the program file.")
    urls = [p for p in sales.paths if is_url(p)]
    if urls:
        raise PunchcardError(
            f"{urls[0]}: sales files given by URL are read by the workers of a Dask cluster. "
            "Fix: build with --scheduler ADDRESS and the extras (pip install 'punchcard[dask,s3]'; "
            "docs/scale.md), or download the file and give its path.")
    through_cache = cache is not None and len(sales.paths) > 1
    with private_folder() as tmp, ThreadPoolExecutor(2) as pool:
        pool.submit(warm_up)  # numba starts while the files are scanned
        transcoded: set[int] = set()
        if through_cache:
            sources, frame, transcoded = cached_rows(cache, sales, base, tmp, check_roles)
        else:
            sources = [prepare(Path(p), sales, base, tmp) for p in sales.paths]
            for src in sources:
                check_roles(src)
        has_order = any("order" in s.roles for s in sources)
        # Only lines repeated from another file are duplicates: one file needs no line hash.
        need_hash = len(sources) > 1
        if not through_cache:  # (a cached read keeps every line's hash: several files need it)
            try:
                frame = read_rows(sources, sales, need_hash)
            except pl.exceptions.ComputeError as exc:
                raise read_failure(exc, sources) from None
        prefixed = frame["cust_raw"].dtype == pl.UInt64  # ids keyed as prefix + digits
        # handed over, not shared: classify frees each column it replaces (the line hashes,
        # the filled order gaps) as it goes, instead of holding the read rows to the end
        held = [frame]
        del frame
        frame = classify(held.pop(), sales, has_order, by_day=same_dates(sources))
        # Without an order column, the lines of one customer at one timestamp are one visit:
        # summed here by date and time where the export has times, else by date (keys.assemble).
        visits = "order" if has_order else "time" if any(s.has_time for s in sources) else "date"
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
        used_zero = int(frame["__zero"].sum()) if "__zero" in frame.columns else 0
        tx = transactions(frame, has_order)
        del frame  # the rows are no longer needed: only the transactions go on
        check_sales(tx, sources)
        counts = counts.with_columns(pl.col("reason").replace_strict(
            list(range(len(REASONS))), list(REASONS), default=None, return_dtype=pl.String))
        for index in transcoded & set((picks["__pos"] // (1 << FILE_SHIFT)).to_list()):
            # an example line from a cached file read through a UTF-8 copy: make the copy
            sources[index] = prepare(Path(sales.paths[index]), sales, base, tmp)
        try:
            lines = example_lines(sources, picks) if picks.height else {}
        except pl.exceptions.ComputeError as exc:
            raise read_failure(exc, sources) from None
        inputs = tuple(
            InputFile(s.label, int(per_file.filter(pl.col("f") == i)["n"].sum()), source=str(p))
            for i, (s, p) in enumerate(zip(sources, sales.paths))
        )
    quality, details = accounting(counts, picks, lines, sources)
    quality = replace(quality, used_zero_amount=used_zero)
    if quality.rows_read == 0:
        raise PunchcardError(f"{sources[0].label}: the file has a header but no rows. "
                             "Fix: export the sales history with its rows.")
    if quality.rows_used * 2 < quality.rows_read:
        raise too_many_rejected(quality, details)
    held = [tx]  # handed over, not shared: assemble frees the ids once they are keyed
    del tx
    return assemble(held.pop(), sales, quality, inputs, visits=visits,
                    id_prefix=sources[0].id_prefix if prefixed else None)


def same_dates(sources: list[Source]) -> bool:
    """Return whether every file has the same header, kind and date format (so identical
    lines of two files have the same parsed date: ``rows.duplicate_lines``)."""
    first = sources[0]
    return all(s.kind == first.kind and s.header == first.header
               and s.roles.get("date") == first.roles.get("date")
               and s.dialect.date_format == first.dialect.date_format for s in sources)


def check_roles(src: Source) -> None:
    """Raise PunchcardError when the file lacks a customer, date or amount column."""
    if "date" not in src.roles or not ({"amount", "unit_price"} & set(src.roles)) \
            or "customer" not in src.roles:
        need = [r for r in ("customer", "date", "amount") if r not in src.roles
                and not (r == "amount" and "unit_price" in src.roles)]
        guess = header_suggestion(src.header, need[0], set(src.roles.values()))
        example = (f"e.g. `{need[0]}: {guess}`" if guess else
                   "with the header of that column")
        raise PunchcardError(
            f"{src.label}: line 1: no {need[0]} column found among "
            f"{', '.join(src.header)}. Name it under `sales:` → `columns:`, {example} "
            "(`punchcard init` guesses every column and says why)."
        )


def read_rows(sources: list[Source], sales: Sales, need_hash: bool) -> pl.DataFrame:
    """Return every row of every file in standard columns, in file and line order."""
    # Customer ids as numbers when they are plain integers (Int64), or one prefix and a
    # fixed number of digits (UInt64, the digits' value: ``Source.id_prefix``), else as
    # categorical codes (a mapping of this read alone): either way keyed once, while the
    # file is scanned.
    numbers = all(s.numeric_ids for s in sources)
    prefixed = not numbers and sources[0].id_prefix is not None and all(
        s.id_prefix == sources[0].id_prefix for s in sources)
    dtype = (pl.Int64 if numbers else pl.UInt64 if prefixed
             else pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}")))
    orders = (not sales.cancel_prefix and any("order" in s.roles for s in sources)
              and all(s.numeric_orders or "order" not in s.roles for s in sources))
    times = not any("order" in s.roles for s in sources) and any(s.has_time for s in sources)
    rows = pl.concat([standard_rows(s, i, sales, need_hash=need_hash, cust_dtype=dtype,
                                    order_numbers=orders, times=times)
                      for i, s in enumerate(sources)], how="vertical_relaxed")
    # (the columns cut alike before any ``drop``: a frame cut unevenly is copied whole)
    frame = same_cut(rows.collect(engine="streaming"))
    frame, reread = reread_ids(frame, sources[0].id_prefix if prefixed else None)
    if reread is not None:  # an id the sample did not foresee: read again with text ids
        del frame
        return read_rows([replace(s, **reread) for s in sources], sales, need_hash)
    frame = fix_rows(frame, sources, sales, need_hash, dtype, orders, times)
    if not frame["__pos"].is_sorted():  # pragma: no cover - the engine keeps the file order
        frame = frame.sort("__pos")
    return frame


def epoch_day(d: date) -> int:
    """Return the day number of a date counted from 1970-01-01."""
    return d.toordinal() - EPOCH_ORDINAL
