"""Stage 2, the ledger built: customers keyed in order of raw id, hashed, transactions sorted.

Raw customer ids end here: the ledger holds a compact key per customer and a stable hash
of the raw id. The transactions are sorted by packing (cust, day, amount, items) into one
64-bit number per row; the passes over every row (keying, packing, unpacking) are
compiled loops.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import polars as pl
from numba import njit

from punchcard.ingest.ledger import EPOCH_ORDINAL, DataQuality, InputFile, Ledger
from punchcard.ingest.parse import POW10, in_halves
from punchcard.program import Sales


FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def id_bytes(ids: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (buf, starts, lengths): the strings' UTF-8 bytes end to end, and where each
    string starts in them and how long it is (nulls as empty strings)."""
    lengths = ids.str.len_bytes().fill_null(0).to_numpy().astype(np.int64)
    starts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    buf = np.frombuffer(ids.fill_null("").str.join("")[0].encode("utf-8"), dtype=np.uint8)
    return buf, starts, lengths


@njit(cache=True, nogil=True)
def _fnv(buf, starts, lengths, offset, prime):
    """Return the FNV-1a hash, spread by the splitmix64 finaliser, of each string's bytes."""
    out = np.empty(starts.size, dtype=np.uint64)
    for i in range(starts.size):
        h = offset
        for j in range(starts[i], starts[i] + lengths[i]):
            h = (h ^ np.uint64(buf[j])) * prime
        # splitmix64 finaliser: spreads FNV's weak low bits
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
    return out


def stable_hash(ids: pl.Series) -> np.ndarray:
    """Return a uint64 FNV-1a (+ splitmix64 finaliser) hash of each string's UTF-8 bytes."""
    if ids.len() == 0:
        return np.zeros(0, dtype=np.uint64)
    return _fnv(*id_bytes(ids), FNV_OFFSET, FNV_PRIME)


@njit(cache=True, nogil=True)
def _tail_keys(buf, starts, lengths, skip):
    """Return each string's bytes after the first ``skip``, up to 8, zero-padded, as a
    big-endian number (numbers in the order of the byte strings, when no byte is NUL)."""
    out = np.zeros(starts.size, dtype=np.uint64)
    for i in range(starts.size):
        k = np.uint64(0)
        for j in range(8):
            k <<= np.uint64(8)
            if skip + j < lengths[i]:
                k |= np.uint64(buf[starts[i] + skip + j])
        out[i] = k
    return out


@njit(cache=True, nogil=True)
def _decimal_hash(ids, offset, prime):
    """Return ``stable_hash`` of each integer's decimal text (``str(n)``), from the numbers."""
    out = np.empty(ids.size, dtype=np.uint64)
    digits = np.empty(20, dtype=np.uint64)
    for i in range(ids.size):
        n = ids[i]
        m = np.uint64(-(n + 1)) + np.uint64(1) if n < 0 else np.uint64(n)
        j = 0
        while True:
            digits[j] = np.uint64(48) + m % np.uint64(10)  # ASCII '0' + the digit
            m //= np.uint64(10)
            j += 1
            if m == 0:
                break
        h = offset
        if n < 0:
            h = (h ^ np.uint64(45)) * prime  # '-'
        for t in range(j - 1, -1, -1):
            h = (h ^ digits[t]) * prime
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
    return out


@njit(cache=True, nogil=True)
def _decimal_keys(ids, pow10):
    """Return (sign, aligned, width) per integer: sorted by sign, then aligned, then width,
    the integers' decimal texts are in byte order.

    A minus sign sorts before every digit (sign 0 first); the digits of |n| compare as text
    when aligned left to 19 places (|n| × 10^(19 − width)), and where those are equal one text
    is the other's prefix, the shorter first.
    """
    sign = np.empty(ids.size, dtype=np.uint8)
    aligned = np.empty(ids.size, dtype=np.uint64)
    width = np.empty(ids.size, dtype=np.uint8)
    for i in range(ids.size):
        n = ids[i]
        sign[i] = 0 if n < 0 else 1
        m = np.uint64(-(n + 1)) + np.uint64(1) if n < 0 else np.uint64(n)
        w = 1
        while w < 19 and m >= pow10[w]:
            w += 1
        width[i] = w
        aligned[i] = m * pow10[19 - w]
    return sign, aligned, width


@njit(cache=True, nogil=True)
def _digits_hash(ids, start, width, prime):
    """Return ``stable_hash`` of each number's ``width`` digits (zero-padded) after a prefix
    whose FNV state is ``start``."""
    out = np.empty(ids.size, dtype=np.uint64)
    digits = np.empty(width, dtype=np.uint64)
    for i in range(ids.size):
        m = np.uint64(ids[i])
        for j in range(width - 1, -1, -1):
            digits[j] = np.uint64(48) + m % np.uint64(10)
            m //= np.uint64(10)
        h = start
        for j in range(width):
            h = (h ^ digits[j]) * prime
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
    return out


def prefixed_hash(ids: np.ndarray, id_prefix: tuple[str, int]) -> np.ndarray:
    """Return ``stable_hash`` of the texts prefix + zero-padded digits of the numbers."""
    h = int(FNV_OFFSET)
    for b in id_prefix[0].encode("utf-8"):
        h = ((h ^ b) * int(FNV_PRIME)) & 0xFFFFFFFFFFFFFFFF
    return _digits_hash(ids, np.uint64(h), id_prefix[1], FNV_PRIME)


def prefixed_text(ids: pl.Series, id_prefix: tuple[str, int]) -> pl.Series:
    """Return the texts prefix + zero-padded digits of the numbers."""
    return pl.DataFrame({"id": ids}).select(pl.concat_str(
        pl.lit(id_prefix[0]), pl.col("id").cast(pl.String).str.zfill(id_prefix[1])))["literal"]


def decimal_order(ids: np.ndarray) -> np.ndarray:
    """Return the permutation that sorts distinct integers by their decimal text (as ``id_order``)."""
    sign, aligned, width = _decimal_keys(ids, POW10)
    return np.lexsort((width, aligned, sign))


def decimal_hash(ids: np.ndarray) -> np.ndarray:
    """Return ``stable_hash`` of the integers' decimal texts."""
    return _decimal_hash(ids, FNV_OFFSET, FNV_PRIME)


CHUNK_ROWS = 1 << 20  # the amounts' scale is chosen from this many rows (then checked on all)


def id_order(ids: pl.Series, parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Return the permutation that sorts distinct strings by their UTF-8 bytes (``parts``:
    their ``id_bytes``, when already taken)."""
    n = ids.len()
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    buf, starts, lengths = parts or id_bytes(ids)
    # The bytes every id starts with (those of the smallest and the largest) decide nothing;
    # when at most 8 bytes follow them and no byte is NUL, those bytes, zero-padded and read
    # as a big-endian number, sort the same way as the strings (C00000278 → 00000278).
    lo, hi = ids.min().encode("utf-8"), ids.max().encode("utf-8")
    skip = next((i for i, (a, b) in enumerate(zip(lo, hi)) if a != b), min(len(lo), len(hi)))
    if int(lengths.max()) - skip > 8 or not buf.all():
        return ids.arg_sort().to_numpy()
    return np.argsort(_tail_keys(buf, starts, lengths, skip))


def int_scale(values: pl.Series) -> tuple[float, int, int] | None:
    """Return (scale, min, max) where values × scale are exact integers (scale 1, 100, 10⁴ or
    10⁶, the first that fits the first CHUNK_ROWS values), or None."""
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


@njit(cache=True, nogil=True)
def _inexact(values, scale):
    """Return the values that are not an exact integer at ``scale`` (as ``_pack`` tests it)."""
    n = 0
    for i in range(values.size):
        if np.rint(values[i] * scale) / scale != values[i]:
            n += 1
    out = np.empty(n, dtype=np.float64)
    j = 0
    for i in range(values.size):
        if np.rint(values[i] * scale) / scale != values[i]:
            out[j] = values[i]
            j += 1
    return out


def money_ranks(values: pl.Series) -> tuple[float, int, np.ndarray, np.ndarray] | None:
    """Return (scale, lo, off, u) for amounts that are mostly, but not all, exact at a scale.

    ``u`` is every value of the grid lo/scale, (lo+1)/scale, … up to the largest amount,
    merged with the distinct amounts off the grid, ascending; an amount's place in ``u``
    orders it as the amount itself does, and ``u`` gives it back exactly. ``off[j]`` is
    how many off-grid amounts lie below grid value j, so an on-grid amount's place is
    j + off[j] without a search. None when no scale puts half of the first CHUNK_ROWS
    amounts on its grid, or the grid would pass 2^24 values.
    """
    lo, hi = values.min(), values.max()
    if lo is None or not (abs(lo) < 2.0 ** 31 and abs(hi) < 2.0 ** 31):
        return None
    head = values.head(CHUNK_ROWS).to_numpy()
    for scale in (1.0, 100.0, 1e4, 1e6):
        if np.mean(np.rint(head * scale) / scale == head) >= 0.5:
            break
    else:
        return None
    lo_c, hi_c = int(np.rint(lo * scale)), int(np.rint(hi * scale))
    if hi_c - lo_c >= 1 << 24:
        return None
    off_grid = np.unique(np.concatenate([_inexact(c.to_numpy(), scale) for c in values.get_chunks()]
                                        or [np.zeros(0)]))
    grid = np.arange(lo_c, hi_c + 1, dtype=np.float64) / scale
    u = np.concatenate([grid, off_grid])
    u.sort()
    return scale, lo_c, np.searchsorted(off_grid, grid).astype(np.int64), u


@njit(cache=True, nogil=True)
def _pack(cust, day, day_lo, amount, money_scale, money_lo, money_off, money_u, items, count_scale,
          count_lo, day_bits, money_bits, count_bits, cursor, key) -> bool:
    """Write each row's (cust, day, amount, items) packed into ``key``, at the cursor of its
    run (then advanced: ``pack_runs``' runs, one per customer, then one per day for the
    anonymous rows); False as soon as an amount or quantity is not an exact integer at its
    scale. With ``money_u`` (``money_ranks``) the amount field holds the amount's place in
    ``money_u`` instead."""
    ranked = money_u.size > 0
    n_customers = cursor.size - (np.int64(1) << np.int64(day_bits))  # (cursor: one per run)
    for i in range(cust.size):
        c = cust[i]
        k = (np.uint64(c) << day_bits) | np.uint64(day[i] - day_lo)
        run = c if c < n_customers else n_customers + (day[i] - day_lo)
        value = amount[i]
        scaled = np.rint(value * money_scale) if money_scale != 1.0 else np.rint(value)
        if (scaled / money_scale if money_scale != 1.0 else scaled) != value:
            if not ranked:
                return False
            a, b = 0, money_u.size  # an off-grid amount: its place by binary search
            while a < b:
                m = (a + b) >> 1
                if money_u[m] < value:
                    a = m + 1
                else:
                    b = m
            k = (k << money_bits) | np.uint64(a)
        elif ranked:
            j = np.int64(scaled) - money_lo
            k = (k << money_bits) | np.uint64(j + money_off[j])
        else:
            k = (k << money_bits) | np.uint64(scaled - money_lo)
        value = items[i]
        scaled = np.rint(value * count_scale) if count_scale != 1.0 else np.rint(value)
        if (scaled / count_scale if count_scale != 1.0 else scaled) != value:
            return False
        at = cursor[run]
        key[at] = (k << count_bits) | np.uint64(scaled - count_lo)
        cursor[run] = at + 1
    return True


@njit(cache=True, nogil=True)
def _count_runs(cust, day, day_lo, n_customers, counts) -> None:
    """Add each row to the count of its run (``_pack``'s: its customer, or for an anonymous
    row, ``cust == n_customers``, its day), at ``counts[run]``."""
    for i in range(cust.size):
        c = cust[i]
        counts[c if c < n_customers else n_customers + (day[i] - day_lo)] += 1


#: The anonymous rows' runs are one per day of the sales' span rounded up to a power of two;
#: a span over 2**22 days (11,000 years: dates no export holds) is sorted by Polars instead
MAX_DAY_BITS = 22


def pack_runs(cust: np.ndarray, n_customers: int, parts: list[pl.DataFrame], day_lo: int, day_bits: int,
              pack: Callable[[np.ndarray, pl.DataFrame, np.ndarray], bool]) -> np.ndarray | None:
    """Pack every row sorted by its run, by ``pack(cust, part, cursor)`` (``_pack``: each row
    written at its run's cursor, a counting sort), the runs one per customer and then, for
    the anonymous rows, one per day. The first half of the chunks ``parts`` is packed on one
    thread, the second on another (``in_halves``), each with cursors of its own. Return where
    each run starts (and, last, where the rows end), or None as soon as ``pack`` says False
    (an amount off the grid)."""
    runs = n_customers + (1 << day_bits)
    edges = np.cumsum([0] + [part.height for part in parts])
    mid = (len(parts) + 1) // 2
    halves = [range(0, mid), range(mid, len(parts))]

    def count(half: range) -> np.ndarray:
        counts = np.zeros(runs, dtype=np.int32)  # (a run's rows: under 2**31)
        for j in half:
            _count_runs(cust[edges[j]:edges[j + 1]], parts[j]["day"].to_numpy(), day_lo, n_customers, counts)
        return counts

    first, second = in_halves(lambda h: count(h[0]), halves)
    starts = np.zeros(runs + 1, dtype=np.int64)
    np.cumsum(first + second, out=starts[1:])  # starts[r + 1]: where run r ends
    del second
    own = starts[:-1].copy()  # the first half's cursors: where each run starts
    np.add(own, first, out=starts[1:])  # the second half's: after the first half's rows of the run
    del first

    def fill(half: tuple[range, np.ndarray]) -> bool:
        rows, cursor = half
        return all(pack(cust[edges[j]:edges[j + 1]], parts[j], cursor) for j in rows)

    packed = in_halves(lambda h: fill(h[0]), [(halves[0], own), (halves[1], starts[1:])])
    return starts if all(packed) else None  # (each second-half cursor has reached its run's end)


def sort_runs(key: np.ndarray, starts: np.ndarray) -> None:
    """Sort each run ``key[starts[r]:starts[r + 1]]`` in place (``_sort_runs``), the runs
    before and after the middle row on two threads (``in_halves``; no parallel kernel: the
    ingest may run beside the forecast's). With every key of run r above those of the runs
    before it, ``key`` is then sorted."""
    mid = int(np.searchsorted(starts, starts[-1] // 2))
    in_halves(lambda parts: [_sort_runs(key, starts, r.start, r.stop) for r in parts],
              [range(0, mid), range(mid, starts.size - 1)])


@njit(cache=True, nogil=True)
def _sort_runs(key, starts, first, last) -> None:
    """Sort runs ``first`` to ``last - 1`` of ``key`` in place: a customer's few rows by
    insertion, a long run (the anonymous rows, a very frequent customer) by numpy's sort."""
    for r in range(first, last):
        lo, hi = starts[r], starts[r + 1]
        if hi - lo > 48:
            key[lo:hi].sort()
            continue
        for i in range(lo + 1, hi):
            v = key[i]
            j = i - 1
            while j >= lo and key[j] > v:
                key[j + 1] = key[j]
                j -= 1
            key[j + 1] = v


@njit(cache=True, nogil=True)
def _unpack(key, known, day_lo, money_scale, money_lo, money_u, count_scale, count_lo,
            day_bits, money_bits, count_bits, cust, day, items, lo, hi) -> None:
    """Write the fields packed in ``key[lo:hi]`` back out: the amounts over ``key`` itself (as
    float64), ``cust`` for the first ``known`` rows."""
    ranked = money_u.size > 0
    amount = key.view(np.float64)  # row i's amount goes where its key was, once read
    day_mask = (np.uint64(1) << day_bits) - np.uint64(1)
    money_mask = (np.uint64(1) << money_bits) - np.uint64(1)
    count_mask = (np.uint64(1) << count_bits) - np.uint64(1)
    for i in range(lo, hi):
        k = key[i]
        items[i] = (np.int64(k & count_mask) + count_lo) / count_scale
        k >>= count_bits
        if ranked:
            amount[i] = money_u[np.int64(k & money_mask)]
        else:
            amount[i] = (np.int64(k & money_mask) + money_lo) / money_scale
        k >>= money_bits
        day[i] = np.int64(k & day_mask) + day_lo
        if i < known:
            cust[i] = k >> day_bits


def same_chunks(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Return the frame as slices along the chunks its columns share (one slice, copied into
    one chunk, when they do not share them): each column of a slice reads as a numpy view."""
    lengths = [c.len() for c in frame.to_series(0).get_chunks()]
    if any([c.len() for c in col.get_chunks()] != lengths for col in frame.get_columns()):
        return [frame.rechunk()]
    out, start = [], 0
    for length in lengths:
        out.append(frame.slice(start, length))
        start += length
    return out


def packed_sort(cust: np.ndarray, n_customers: int, tx: pl.DataFrame, key: np.ndarray,
                outputs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """Return (identified, anonymous) columns sorted by (cust, day, amount, items), or None.

    Each row's (cust, day, amount, items) are packed into one 64-bit number (each field
    takes the bits of its range; amounts as exact integer cents or finer), so plain numbers
    order them; anonymous rows get cust = n_customers and sort last. The numbers are written
    straight into each customer's run (a counting sort on the customer: one pass, no global
    sort), then each run is sorted on its own, the runs shared among the threads. None when
    the fields do not fit in 64 bits or an amount is not an exact number of cents.

    Memory already paged in is reused: ``key`` (uint64, a row each, its contents spare)
    holds the packed numbers and then the sorted amounts; ``outputs(known)``, called once
    the numbers are sorted, gives the arrays for the sorted days, items and customer keys
    (int32 and float64 a row each, int32 for each of the ``known`` identified rows; the
    days may go over ``cust``).
    """
    n = tx.height
    day_col, amount_col, items_col = tx["day"], tx["amount"], tx["items"]
    count = int_scale(items_col)
    if count is None or n == 0:
        return None
    day_lo, day_hi = int(day_col.min()), int(day_col.max())
    none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    money = int_scale(amount_col)
    parts = same_chunks(tx.select("day", "amount", "items"))  # the columns read in place
    if len(parts) == 1 and n > 1:  # (halves for the two threads)
        parts = [parts[0].slice(0, n // 2), parts[0].slice(n // 2)]
    for ranked in (False, True):
        # amounts as exact integers at a scale; else (some amounts off every grid, such as
        # 4.640000000000001) as their place among the grid and the off-grid amounts
        if ranked:
            ranks = money_ranks(amount_col)
            if ranks is None:
                return None
            money, (off, u) = (ranks[0], ranks[1], ranks[1] + ranks[3].size - 1), ranks[2:]
        elif money is None:
            continue
        else:
            off, u = none
        widths = [n_customers.bit_length(), (day_hi - day_lo).bit_length(),
                  (money[2] - money[1]).bit_length(), (count[2] - count[1]).bit_length()]
        if sum(widths) > 64 or widths[1] > MAX_DAY_BITS:
            return None
        bits = [np.uint64(w) for w in widths[1:]]

        def pack(c: np.ndarray, part: pl.DataFrame, cursor: np.ndarray) -> bool:
            return _pack(c, part["day"].to_numpy(), day_lo, part["amount"].to_numpy(), money[0], money[1],
                         off, u, part["items"].to_numpy(), count[0], count[1], *bits, cursor, key)

        starts = pack_runs(cust, n_customers, parts, day_lo, widths[1], pack)
        if starts is not None:
            break
    else:
        return None
    sort_runs(key, starts)  # each customer's rows were packed into its own run: sort the runs
    known = int(starts[n_customers])  # the anonymous rows' runs come last
    day, items, keys = outputs(known)
    in_halves(lambda rows: _unpack(key, known, day_lo, money[0], money[1], u, count[0], count[1], *bits,
                                   keys, day, items, rows.start, rows.stop), range(n))
    amount = key.view(np.float64)
    ident = {"cust": keys[:known], "day": day[:known], "amount": amount[:known], "items": items[:known]}
    anon = {"day": day[known:], "amount": amount[known:], "items": items[known:]}
    return ident, anon


def paged_in(rows: int, known: int) -> tuple[np.ndarray, np.ndarray]:
    """Return a float64 array of ``rows`` and an int32 array of ``known`` entries, every page
    touched (memory new to the process is slow the first time it is written)."""
    items, keys = np.empty(rows, dtype=np.float64), np.empty(max(known, 0), dtype=np.int32)
    items[::512] = 0.0
    keys[::1024] = 0
    return items, keys


def warm_up() -> None:
    """Make numba's first compiled call (a few tenths of a second to start its machinery),
    so that it can run on a spare thread while the files are scanned."""
    _popcount(np.uint64(0))


def numpy_of(series: pl.Series, dtype, fill=None) -> np.ndarray:
    """Return the series' values as one numpy array, nulls replaced by ``fill``.

    Copied chunk by chunk into an array numpy allocates: a column the streaming engine
    returned in many chunks is not first joined into one by Polars (another column-sized
    allocation, paged in 4 KiB at a time), and nulls are filled one chunk at a time (a
    filled copy of the whole column would be a third such allocation at the read's peak).
    """
    out = np.empty(series.len(), dtype=dtype)
    chunks = series.get_chunks()
    starts = np.cumsum([0] + [chunk.len() for chunk in chunks])

    def copy(part: list[int]) -> None:
        for j in part:
            chunk = chunks[j]
            filled = chunk.fill_null(fill) if fill is not None and chunk.null_count() else chunk
            out[starts[j]:starts[j + 1]] = filled.to_numpy()

    in_halves(copy, range(len(chunks)))  # (each half of the chunks on its own thread)
    return out


@njit(cache=True, nogil=True)
def _popcount(x):
    """Return the number of set bits of a 64-bit word."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def _mark(codes, lo, k):
    """Return a bitmap of the codes 0..k that occur (code = value − lo) and, per 64-bit word,
    how many are set in the words before it."""
    words = np.zeros(k // 64 + 1, dtype=np.uint64)
    for i in range(codes.size):
        c = codes[i] - lo
        words[c >> 6] |= np.uint64(1) << np.uint64(c & 63)
    before = np.empty(words.size, dtype=np.int64)
    total = 0
    for w in range(words.size):
        before[w] = total
        total += np.int64(_popcount(words[w]))
    return words, before


@njit(cache=True, nogil=True)
def _index(words, before, c):
    """Return the number of set codes below code c (c's index among the set codes)."""
    w = c >> 6
    below = words[w] & ((np.uint64(1) << np.uint64(c & 63)) - np.uint64(1))
    return before[w] + np.int64(_popcount(below))


@njit(cache=True, nogil=True)
def _set_codes(words, before, k):
    """Return the codes below k that are set in the bitmap, ascending."""
    out = np.empty(_index(words, before, k), dtype=np.int64)
    j = 0
    for w in range(words.size):
        x = words[w]
        while x:
            low = x & (~x + np.uint64(1))  # the lowest set bit
            c = w * 64 + np.int64(_popcount(low - np.uint64(1)))
            if c >= k:
                return out
            out[j] = c
            j += 1
            x ^= low
    return out


@njit(cache=True, nogil=True)
def _first_rows(codes, lo, words, before):
    """Return, per set code (in code order), a row that has it."""
    row = np.empty(before[-1] + np.int64(_popcount(words[-1])), dtype=np.int64)
    for i in range(codes.size - 1, -1, -1):
        row[_index(words, before, codes[i] - lo)] = i
    return row


@njit(cache=True, nogil=True)
def _key_rows(codes, lo, words, before, rank, cust) -> None:
    """Write each row's customer key: ``rank`` of its code's index among the set codes."""
    for i in range(codes.size):
        cust[i] = rank[_index(words, before, codes[i] - lo)]


@njit(cache=True, nogil=True)
def _earliest(cust, has, days, pos, seen, out, best) -> None:
    """Note, per customer, whether a row of theirs ``has`` a day and the day (``days``, a row
    each) of the one with the smallest ``pos``; with ``pos`` empty, rows are in position order
    and the first of a customer's rows is it. Called chunk by chunk, in row order: ``seen``,
    ``out`` and ``best`` (one entry per customer) carry over."""
    n_customers = seen.size
    for i in range(cust.size):
        if not has[i]:
            continue
        c = cust[i]
        if c >= n_customers:
            continue
        if pos.size == 0:
            if not seen[c]:
                seen[c] = True
                out[c] = days[i]
        elif not seen[c] or pos[i] < best[c]:
            seen[c] = True
            best[c] = pos[i]
            out[c] = days[i]


def customer_codes(cust: pl.Series, id_prefix: tuple[str, int] | None = None
                   ) -> tuple[np.ndarray, int, int, np.ndarray, np.ndarray, pl.Series | np.ndarray]:
    """Return (codes, lo, k, words, before, ids): a code per row (code − lo is 0..k-1, k for
    anonymous), the codes in use as a bitmap (``_mark``) and, for each code in use below k
    (in code order), the customer id: as text, or as a number (numeric ids).

    Numeric ids are coded by value, so a bitmap (k bits) rather than a table of k entries
    tells which occur and, counting set bits, each one's place among them.
    """
    n = cust.len()
    if cust.dtype in (pl.Int64, pl.UInt64):  # UInt64: prefix + digits (``id_prefix``)
        lo, hi = cust.min(), cust.max()
        if lo is None:
            words, before = _mark(np.zeros(n, dtype=np.int64), 0, 0)
            return np.zeros(n, dtype=np.int64), 0, 0, words, before, np.zeros(0, dtype=np.int64)
        k = int(hi) - int(lo) + 1
        if k > 8 * n + (1 << 20):  # ids too spread out to index: key them as text
            cats = pl.Categorical(pl.Categories(f"punchcard-ingest-{uuid.uuid4().hex}"))
            text = prefixed_text(cust, id_prefix) if cust.dtype == pl.UInt64 else cust.cast(pl.String)
            return customer_codes(text.cast(cats))
        codes = numpy_of(cust, np.int64, int(hi) + 1)
        words, before = _mark(codes, int(lo), k)
        return codes, int(lo), k, words, before, _set_codes(words, before, k) + int(lo)
    k = int(cust.to_physical().max() or 0) + 1  # codes of this read's own mapping: 0..k-1
    codes = numpy_of(cust.to_physical(), np.int64, k)
    words, before = _mark(codes, 0, k)
    # one row of each customer (any: they all carry the same id) gives the id's text
    rows = _first_rows(codes, 0, words, before)
    present = rows[:_index(words, before, k)]  # the anonymous code k, if set, is last
    return codes, 0, k, words, before, cust.gather(present).cast(pl.String)


def birthdays(tx: pl.DataFrame, cust: np.ndarray, n_customers: int) -> np.ndarray | None:
    """Return each customer's birthday (day of the year, -1 unknown): the one on their
    earliest line that gives one; None when no line does."""
    born = tx["birthday"]
    if not born.is_not_null().any():
        return None
    pos = tx["__pos"]
    ordered = pos.is_sorted()
    # read chunk by chunk, in place: no column-sized copies
    borns, places = born.get_chunks(), pos.get_chunks()
    if not ordered and [c.len() for c in borns] != [c.len() for c in places]:
        borns, places = [born.rechunk()], [pos.rechunk()]
    seen = np.zeros(n_customers, dtype=np.bool_)
    days = np.zeros(n_customers, dtype=np.int32)
    best = np.zeros(0 if ordered else n_customers, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    start = 0
    for j, chunk in enumerate(borns):
        stop = start + chunk.len()
        _earliest(cust[start:stop], chunk.is_not_null().to_numpy(),  # the rows that give one, their days
                  chunk.to_physical().fill_null(0).to_numpy(), none if ordered else places[j].to_numpy(),
                  seen, days, best)
        start = stop
    birthday = np.full(n_customers, -1, dtype=np.int16)
    birthday[seen] = pl.Series(days[seen]).cast(pl.Date).dt.ordinal_day().cast(pl.Int16).to_numpy()
    return birthday


@njit(cache=True, nogil=True)
def _merge_days(cust, day, amount, items) -> int:
    """Sum each run of rows with the same (cust, day) into its first row, in place; return the
    number of rows left (the rows are sorted by cust, then day)."""
    j = -1
    for i in range(cust.size):
        if j >= 0 and cust[i] == cust[j] and day[i] == day[j]:
            amount[j] += amount[i]
            items[j] += items[i]
        else:
            j += 1
            cust[j], day[j], amount[j], items[j] = cust[i], day[i], amount[i], items[i]
    return j + 1


def merge_days(ident: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the identified rows with each customer's rows of one day summed into one visit."""
    ident = {c: v if v.flags.writeable else v.copy() for c, v in ident.items()}
    n = _merge_days(ident["cust"], ident["day"], ident["amount"], ident["items"])
    if n == ident["cust"].size:
        return ident
    out = {c: v[:n] for c, v in ident.items()}
    # sums of cents may carry float noise (0.1 + 0.2): rounded far below a cent
    out["amount"], out["items"] = np.round(out["amount"], 6), np.round(out["items"], 6)
    return out


def assemble(tx: pl.DataFrame, sales: Sales, quality: DataQuality, inputs: tuple[InputFile, ...],
             visits: str = "order", id_prefix: tuple[str, int] | None = None) -> Ledger:
    """Return the Ledger: customers keyed in sorted order of raw id, hashed, tx sorted.

    With ``visits="date"`` (an export without order column or times), each customer's rows
    of one day are summed into one visit.

    Work that does not need the customer keys (paging in memory for the sorted columns) or
    needs only them (birthdays) runs on a second thread beside the keying and the sort;
    each part's result is the same whichever finishes first.
    """
    n = tx.height
    with ThreadPoolExecutor(1) as helper:
        known = n - tx["cust_raw"].null_count()
        prefixed = tx["cust_raw"].dtype == pl.UInt64
        codes, lo, k, words, before, present = customer_codes(tx["cust_raw"], id_prefix)
        # the ids are keyed: their column goes (freed where the caller handed ``tx`` over)
        # before the memory for the sorted items and identified rows' keys is paged in,
        # beside the rest of the keying
        tx = tx.drop("cust_raw")
        spare = helper.submit(paged_in, n, known)
        if isinstance(present, np.ndarray) and prefixed:
            # prefix + fixed-width digits: ascending numbers are in text order
            by_id = np.arange(present.size)
            cust_hash = prefixed_hash(present, id_prefix)
        elif isinstance(present, np.ndarray):  # numeric ids: their text's order and hash from the numbers
            by_id = decimal_order(present)
            cust_hash = decimal_hash(present[by_id])
        else:
            parts = id_bytes(present)
            by_id = id_order(present, parts)
            cust_hash = _fnv(parts[0], parts[1][by_id], parts[2][by_id], FNV_OFFSET, FNV_PRIME)
            del parts
        n_customers = by_id.size
        # by index among the codes in use: the key; anonymous (code k, last) sorts after all
        rank = np.full(n_customers + 1, n_customers, dtype=np.int32)
        rank[by_id] = np.arange(n_customers, dtype=np.int32)
        del present
        cust = np.empty(n, dtype=np.int32)  # per row: the customer key, n_customers if anonymous
        in_halves(lambda rows: _key_rows(codes[rows.start:rows.stop], lo, words, before, rank,
                                         cust[rows.start:rows.stop]), range(n))
        del rank, words, before
        born = helper.submit(birthdays, tx, cust, n_customers)

        def outputs(known: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            items, keys = spare.result()
            born.result()  # the birthdays have read the rows' keys: the sorted days go over them
            return cust, items, keys if keys.size == known else np.empty(known, dtype=np.int32)

        packed = packed_sort(cust, n_customers, tx, codes.view(np.uint64), outputs)  # codes' memory
        del codes
        birthday = born.result()
    if packed is None:
        frame = tx.select("day", "amount", "items").with_columns(cust=cust).sort(
            ["cust", "day", "amount", "items"])
        packed = ({c: frame[c].to_numpy() for c in ("cust", "day", "amount", "items")},
                  {c: frame[c].to_numpy() for c in ("day", "amount", "items")})
        known = int(np.searchsorted(frame["cust"].to_numpy(), n_customers))
        packed = ({c: v[:known] for c, v in packed[0].items()}, {c: v[known:] for c, v in packed[1].items()})
        del frame
    if visits == "date":
        packed = (merge_days(packed[0]), packed[1])
    ledger_tx = pl.DataFrame(packed[0], schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64,
                                                "items": pl.Float64})
    anon = pl.DataFrame(packed[1], schema={"day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    del packed
    start, end = sales.window if sales.window else (None, None)
    first, last = tx["day"].min(), tx["day"].max()
    start_day = start.toordinal() - EPOCH_ORDINAL if start else int(first)
    end_day = end.toordinal() - EPOCH_ORDINAL if end else int(last)
    return Ledger(
        tx=ledger_tx, anon=anon, n_customers=n_customers, cust_hash=cust_hash,
        birthday_doy=birthday, start_day=start_day, end_day=end_day, quality=quality,
        inputs=inputs, visits=visits,
    )
