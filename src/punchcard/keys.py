"""Stage 2, the ledger built: customers keyed in order of raw id, hashed, transactions sorted.

Raw customer ids end here: the ledger holds a compact key per customer and a stable hash
of the raw id. The transactions are sorted by packing (cust, day, amount, items) into one
64-bit number per row, in slices on a few threads.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from punchcard.ledger import EPOCH_ORDINAL, DataQuality, InputFile, Ledger
from punchcard.program import Sales


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
