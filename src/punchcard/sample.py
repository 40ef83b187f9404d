"""Synthetic sales exports: seeded, any size, in the dialects real tills and web shops write.

The process is the buy-till-you-die story the forecast assumes. Each customer has a
purchase rate λ drawn from a gamma distribution and a drop-out probability p drawn from
a beta distribution (BG/NBD); after every purchase they leave for good with probability
p. Some customers are already active when the period starts, the rest arrive during it
with a first purchase. Purchases follow a Poisson process whose intensity varies by
weekday and month (thinning). A customer's basket level is a gamma multiplier
(Gamma-Gamma); each purchase has one or more lines, each line a quantity and a unit
price rounded to a believable price point. A share of sales is anonymous (no card
shown), a few lines are returned later (negative amounts).

Customers are generated in fixed blocks of ``BLOCK`` customers, each with its own random
stream derived from the seed, and written block after block, each block sorted by time.
Batching blocks for writing (``chunk_customers``) changes memory use, never the output.
"""

from __future__ import annotations

import gzip
import io
import os
import queue
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Callable, Literal

import numpy as np
import polars as pl

from punchcard.errors import PunchcardError

BLOCK = 4096  # customers per random stream: part of the output's definition, never change
GZIP_LEVEL = 3  # fast enough to keep pace with generation; part of the output's bytes
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Dialect:
    """How one locale's exports look: separators, dates, encoding, headers, price level."""

    name: str
    description: str
    delimiter: str
    decimal: str
    thousands: str | None
    date_format: str
    encoding: Literal["utf-8", "utf-8-sig", "cp1252"]
    headers: tuple[str, str, str, str, str, str]  # customer, date, amount, items, order, birthday
    currency: str
    price_factor: float  # local currency per euro of the profiles' base prices
    amount_prefix: str = ""
    line_terminator: str = "\n"
    first_names: tuple[str, ...] = ("alex", "sam", "kim", "chris", "jamie", "robin", "lee", "max")
    last_names: tuple[str, ...] = ("smith", "jones", "brown", "taylor", "walker", "wright", "hall")


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            "iso", "comma-separated, decimal point, yyyy-mm-dd, UTF-8", ",", ".", None,
            "%Y-%m-%d", "utf-8", ("customer", "date", "amount", "items", "order", "birthday"),
            "EUR", 1.0,
        ),
        Dialect(
            "nb", "Norwegian: ';', decimal comma, '1 234,50', dd.mm.yyyy, cp1252, CRLF", ";", ",",
            " ", "%d.%m.%Y", "cp1252",
            ("Kundenummer", "Dato", "Beløp", "Antall", "Kvitteringsnr", "Fødselsdato"),
            "NOK", 11.5, line_terminator="\r\n",
            first_names=("ola", "kari", "nora", "emil", "ingrid", "jonas", "sofie", "lars"),
            last_names=("hansen", "johansen", "olsen", "larsen", "andersen", "pedersen", "nilsen"),
        ),
        Dialect(
            "sv", "Swedish: ';', decimal comma, no-break-space thousands, yyyy-mm-dd, UTF-8", ";",
            ",", "\u00a0", "%Y-%m-%d", "utf-8",
            ("Kundnr", "Datum", "Belopp", "Antal", "Kvittonr", "Födelsedag"),
            "SEK", 11.3,
            first_names=("erik", "anna", "lars", "maria", "karl", "elsa", "johan", "maja"),
            last_names=("andersson", "johansson", "karlsson", "nilsson", "eriksson", "larsson"),
        ),
        Dialect(
            "pl", "Polish: ';', decimal comma, dd.mm.yyyy, UTF-8", ";", ",", None, "%d.%m.%Y",
            "utf-8", ("Klient", "Data", "Kwota", "Ilość", "Paragon", "Data urodzenia"),
            "PLN", 4.3,
            first_names=("anna", "piotr", "katarzyna", "tomasz", "magdalena", "jakub", "ewa"),
            last_names=("nowak", "kowalski", "wisniewska", "wojcik", "kaminski", "lewandowska"),
        ),
        Dialect(
            "pt-BR", "Brazilian: ';', 'R$ 1.234,56', dd/mm/yyyy, UTF-8 with BOM, CRLF", ";", ",",
            ".", "%d/%m/%Y", "utf-8-sig",
            ("Cliente", "Data", "Valor", "Quantidade", "Pedido", "Data de nascimento"),
            "BRL", 6.0, amount_prefix="R$ ", line_terminator="\r\n",
            first_names=("ana", "joao", "maria", "pedro", "juliana", "lucas", "beatriz", "rafael"),
            last_names=("silva", "santos", "oliveira", "souza", "lima", "pereira", "costa"),
        ),
        Dialect(
            "en-US", "US: ',', '1,234.56' (quoted), mm/dd/yyyy, UTF-8", ",", ".", ",", "%m/%d/%Y",
            "utf-8", ("Customer ID", "Date", "Amount", "Quantity", "Order", "Birthday"),
            "USD", 1.1,
            first_names=("james", "mary", "john", "linda", "michael", "emily", "david", "sarah"),
            last_names=("smith", "johnson", "williams", "brown", "garcia", "miller", "davis"),
        ),
    )
}


@dataclass(frozen=True)
class Profile:
    """A kind of business: visit rhythm, drop-out, baskets and price points (base prices in EUR)."""

    name: str
    description: str
    visits_per_year: float  # mean purchase rate of an active customer
    rate_shape: float  # gamma shape r of the purchase rate: small = very uneven customers
    dropout: tuple[float, float]  # beta (a, b) of the drop-out probability after a purchase
    established: float  # share of customers already active when the period starts
    spend_shape: float  # gamma shape of a customer's basket multiplier (mean 1)
    lines_extra: float  # mean extra lines per purchase (lines = 1 + Poisson)
    qty_extra: float  # mean extra units per line (quantity = 1 + Poisson)
    price_mean: float  # mean unit price in euros (gamma), unless a menu is given
    price_shape: float
    ending: Literal["whole", "9", "99", "90"]  # price points: 45 | 149 | 299.99 | 79.90
    weekday: tuple[float, ...]  # Monday … Sunday
    month: tuple[float, ...]  # January … December
    id_style: Literal["number", "plate", "email"]
    order_base: int  # first receipt / order number
    menu: tuple[float, ...] = ()  # fixed main prices in euros (car-wash programmes)
    menu_weights: tuple[float, ...] = ()
    addons: tuple[float, ...] = ()  # extra-line prices in euros for menu profiles
    birthday_known: float = 0.7  # share of members whose birthday is on file


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "cafe", "café: frequent visits, small baskets (coffee, bun, lunch)", 40.0, 0.55,
            (1.2, 18.0), 0.5, 6.0, 0.55, 0.08, 4.6, 4.0, "whole",
            (1.0, 1.0, 1.0, 1.05, 1.1, 1.25, 0.85),
            (0.9, 0.9, 0.95, 1.0, 1.05, 1.0, 0.75, 0.95, 1.05, 1.05, 1.05, 1.1),
            "number", 100001,
        ),
        Profile(
            "carwash", "car wash: roughly monthly, fixed programme prices, busy in winter", 11.0,
            1.2, (1.5, 30.0), 0.6, 20.0, 0.12, 0.0, 0.0, 1.0, "9",
            (0.8, 0.8, 0.85, 0.9, 1.1, 1.5, 1.25),
            (1.3, 1.25, 1.2, 1.15, 1.0, 0.85, 0.7, 0.85, 0.9, 0.95, 1.05, 1.2),
            "plate", 20001, menu=(13.0, 17.5, 22.0, 29.0), menu_weights=(0.3, 0.35, 0.25, 0.1),
            addons=(4.4, 7.0),
        ),
        Profile(
            "shoes", "shoe shop: rare visits, big baskets, items are pairs", 2.2, 1.2, (1.5, 6.0),
            0.5, 8.0, 0.2, 0.08, 85.0, 3.0, "99",
            (0.9, 0.9, 0.9, 1.0, 1.15, 1.6, 0.1),
            (0.8, 0.75, 1.0, 1.15, 1.05, 0.95, 0.9, 1.0, 1.15, 1.05, 1.1, 1.3),
            "number", 300001,
        ),
        Profile(
            "webshop", "web shop: orders of several lines, e-mail customer ids, Black Friday peak",
            3.5, 0.6, (1.0, 4.0), 0.35, 4.0, 1.4, 0.25, 22.0, 1.8, "90",
            (1.15, 1.05, 1.0, 0.95, 0.9, 0.85, 1.1),
            (0.9, 0.8, 0.9, 0.9, 1.0, 0.9, 0.85, 0.9, 0.95, 1.0, 1.6, 1.4),
            "email", 500001,
        ),
        Profile(
            "bookshop", "bookshop: a visit every month or two, a book or two, Christmas peak", 7.0,
            0.8, (1.2, 10.0), 0.55, 7.0, 0.45, 0.03, 13.0, 3.0, "99",
            (0.85, 0.85, 0.9, 0.95, 1.1, 1.6, 0.75),
            (0.85, 0.8, 0.9, 0.95, 0.9, 0.9, 1.0, 1.0, 1.05, 1.0, 1.15, 1.8),
            "number", 700001,
        ),
    )
}


@dataclass(frozen=True)
class SampleSummary:
    """What ``generate`` wrote: data rows, distinct identified customers, net revenue."""

    path: Path
    rows: int
    customers: int
    revenue: float


@dataclass(frozen=True)
class _Settings:
    days: int
    start: date
    seed: int
    dialect: Dialect
    profile: Profile
    anonymous_share: float
    return_share: float
    birthdays: bool
    order_lines: bool


def generate(
    out: Path,
    *,
    customers: int,
    days: int = 365,
    start: date = date(2025, 1, 1),
    seed: int = 1,
    dialect: str = "iso",
    profile: str = "cafe",
    anonymous_share: float = 0.15,
    return_share: float = 0.01,
    birthdays: bool = False,
    order_lines: bool = False,
    chunk_customers: int = 65536,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write a synthetic sales export to ``out`` (.csv or .csv.gz) and return what it holds.

    ``customers`` is the size of the customer population; those who buy nothing in the
    period, or only anonymously, are not in the file, so the summary counts fewer.
    ``progress(done, total)`` is called after each batch of customers.
    """
    out = Path(out)
    settings = _settings(out, customers, days, start, seed, dialect, profile,
                         anonymous_share, return_share, birthdays, order_lines)
    blocks_per_batch = max(1, -(-chunk_customers // BLOCK))
    n_blocks = -(-customers // BLOCK)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    rows = n_customers = 0
    cents = 0
    next_order = settings.profile.order_base
    try:
        with _open(part, gzipped=out.name.endswith(".gz")) as fh, _Writer(fh) as writer:
            if settings.dialect.encoding == "utf-8-sig":
                writer.put(b"\xef\xbb\xbf")
            for first in range(0, n_blocks, blocks_per_batch):
                frames = []
                for b in range(first, min(first + blocks_per_batch, n_blocks)):
                    lo, hi = b * BLOCK, min((b + 1) * BLOCK, customers)
                    frame, seen = _block(settings, b, lo, hi)
                    frames.append(frame)
                    n_customers += seen
                batch = pl.concat(frames)
                new_tx = batch["tx"].diff().fill_null(1) != 0
                batch = batch.with_columns(order=next_order - 1 + new_tx.cum_sum().cast(pl.Int64))
                next_order += int(new_tx.sum())
                rows += batch.height
                cents += int(batch["cents"].sum())
                writer.put(_render(batch, settings, header=first == 0))
                if progress is not None:
                    progress(min((first + blocks_per_batch) * BLOCK, customers), customers)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return SampleSummary(out, rows, n_customers, round(cents / 100, 2))


def _settings(out: Path, customers: int, days: int, start: date, seed: int, dialect: str,
              profile: str, anonymous_share: float, return_share: float, birthdays: bool,
              order_lines: bool) -> _Settings:
    """Check the arguments and return them resolved, or raise a PunchcardError with the fix."""
    if not (out.name.endswith(".csv") or out.name.endswith(".csv.gz")):
        raise PunchcardError(f"sample-data: output {str(out)!r} must end in .csv or .csv.gz; "
                             "pass for example -o data/sales.csv.gz")
    if dialect not in DIALECTS:
        raise PunchcardError(f"sample-data: unknown dialect {dialect!r}; "
                             f"use one of {', '.join(DIALECTS)}")
    if profile not in PROFILES:
        raise PunchcardError(f"sample-data: unknown profile {profile!r}; "
                             f"use one of {', '.join(PROFILES)}")
    if customers < 1 or days < 1:
        raise PunchcardError(f"sample-data: customers ({customers}) and days ({days}) must be "
                             "at least 1; pass for example --customers 1000 --days 365")
    for flag, share in (("--anonymous-share", anonymous_share), ("--returns-share", return_share)):
        if not 0.0 <= share < 1.0:
            raise PunchcardError(f"sample-data: {flag} {share} is not a share; "
                                 "give a number from 0 up to (not including) 1, e.g. 0.15")
    return _Settings(days, start, seed, DIALECTS[dialect], PROFILES[profile], anonymous_share,
                     return_share, birthdays, order_lines)


def _open(path: Path, *, gzipped: bool) -> BinaryIO:
    """Open ``path`` for binary writing; gzip with no name or time stamp, so bytes repeat."""
    if not gzipped:
        return open(path, "wb")
    raw = open(path, "wb")
    return _ClosingGzip(raw)


class _ClosingGzip(gzip.GzipFile):
    """A GzipFile that also closes the file object it writes to."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=raw, mtime=0)
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _Writer:
    """Writes byte chunks on a background thread (compression overlaps generation), in order."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_Writer":
        self._thread.start()
        return self

    def put(self, data: bytes) -> None:
        """Queue ``data`` for writing; re-raise a failure of the writing thread."""
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._fh.write(data)
                except BaseException as exc:  # handed to the generating thread
                    self._error = exc

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error


def _intensity(s: _Settings) -> np.ndarray:
    """Return the relative purchase intensity of each day of the period (weekday × month)."""
    p = s.profile
    week = np.asarray(p.weekday) / np.mean(p.weekday)
    month = np.asarray(p.month) / np.mean(p.month)
    first = np.datetime64(s.start, "D")
    dates = first + np.arange(s.days)
    dow = (dates.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday
    mon = dates.astype("datetime64[M]").astype(np.int64) % 12
    return week[dow] * month[mon]


def _block(s: _Settings, block: int, lo: int, hi: int) -> tuple[pl.DataFrame, int]:
    """Return the rows of customers ``lo``…``hi - 1`` sorted by time, and how many bought."""
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(block,)))
    n = hi - lo
    tx_cust, tx_t, level = _purchases(rng, s, n)
    anon = rng.random(tx_cust.size) < s.anonymous_share
    line_start, n_lines, qty, line_cents = _lines(rng, s, tx_cust, level)
    ret, ret_line, ret_t = _returns(rng, s, tx_t, line_start, n_lines)
    n_tx = tx_cust.size
    if s.order_lines:
        row_tx, row_cents, row_qty = np.repeat(np.arange(n_tx), n_lines), line_cents, qty
    else:
        row_tx = np.arange(n_tx)
        row_cents = np.add.reduceat(line_cents, line_start) if n_tx else line_cents
        row_qty = np.add.reduceat(qty, line_start) if n_tx else qty
    key = np.concatenate([row_tx, n_tx + np.arange(ret.size)])  # one per transaction
    t = np.concatenate([tx_t[row_tx], ret_t])
    sort = np.argsort(t, kind="stable")
    row_cust = np.concatenate([tx_cust[row_tx], tx_cust[ret]])[sort]
    row_anon = np.concatenate([anon[row_tx], anon[ret]])[sort]
    customer = _customer_ids(s, lo, hi).gather(row_cust)
    frame = pl.DataFrame({
        "customer": pl.select(
            pl.when(pl.Series(row_anon)).then(None).otherwise(customer)).to_series(),
        "day": (np.floor(t[sort]).astype(np.int64) + (s.start - _EPOCH).days).astype(np.int32),
        "cents": np.concatenate([row_cents, -line_cents[ret_line]])[sort].astype(np.int64),
        "items": np.concatenate([row_qty, -qty[ret_line]])[sort].astype(np.int64),
        "tx": (key[sort] + lo * 1_000_000_000).astype(np.int64),
    })
    if s.birthdays:  # drawn last, so the sales do not depend on the flag
        birthday = _birthdays(rng, s, n).gather(row_cust)
        frame = frame.with_columns(birthday=pl.select(
            pl.when(pl.Series(row_anon)).then(None).otherwise(birthday)).to_series())
    seen = int(np.count_nonzero(np.bincount(row_cust[~row_anon], minlength=n)))
    return frame, seen


def _purchases(rng: np.random.Generator, s: _Settings,
               n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each purchase's customer and time (days into the period), and each basket level."""
    p, days = s.profile, s.days
    lam = rng.gamma(p.rate_shape, p.visits_per_year / p.rate_shape / 365.25, n)
    drop = rng.beta(*p.dropout, n)
    level = rng.gamma(p.spend_shape, 1.0 / p.spend_shape, n)
    established = rng.random(n) < p.established
    inten = _intensity(s)
    arrival_day = rng.choice(days, size=n, p=inten / inten.sum())
    begin = np.where(established, 0.0, arrival_day + rng.random(n))
    life = rng.geometric(drop)  # purchases up to and including the one after which they leave
    allowed = life - (~established)  # repeat purchases left after a newcomer's first one
    # repeat purchases: Poisson with intensity λ·I(t) on (begin, end), cut at the drop-out
    cum = np.concatenate([[0.0], np.cumsum(inten)])  # integrated intensity at whole days
    grid = np.arange(days + 1, dtype=float)
    c_begin = np.interp(begin, grid, cum)
    n_cand = rng.poisson(lam * (cum[-1] - c_begin))
    m = np.minimum(n_cand, allowed)
    c_cust = np.repeat(np.arange(n), m)
    u = _first_uniforms(rng, n_cand, m, c_cust)  # the m smallest of n_cand uniforms, in order
    c_t = np.interp(c_begin[c_cust] + u * (cum[-1] - c_begin)[c_cust], cum, grid)
    newcomer = np.flatnonzero(~established)
    return (np.concatenate([newcomer, c_cust]), np.concatenate([begin[newcomer], c_t]), level)


def _lines(rng: np.random.Generator, s: _Settings, tx_cust: np.ndarray,
           level: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return each purchase's first line and line count, and each line's quantity and cents."""
    p = s.profile
    n_lines = 1 + rng.poisson(p.lines_extra, tx_cust.size)
    line_cust = np.repeat(tx_cust, n_lines)
    line_start = np.cumsum(n_lines) - n_lines
    qty = 1 + rng.poisson(p.qty_extra, line_cust.size)
    is_first = np.zeros(line_cust.size, bool)
    is_first[line_start] = True
    unit = _unit_cents(rng, s, level[line_cust], is_first, line_cust, level.size)
    return line_start, n_lines, qty, unit * qty


def _returns(rng: np.random.Generator, s: _Settings, tx_t: np.ndarray, line_start: np.ndarray,
             n_lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the purchases of which one line comes back, that line, and when (in the period)."""
    ret = np.flatnonzero(rng.random(tx_t.size) < s.return_share)
    ret_line = line_start[ret] + (rng.random(ret.size) * n_lines[ret]).astype(np.int64)
    ret_t = np.floor(tx_t[ret]) + rng.geometric(1 / 7, ret.size) + rng.random(ret.size)
    inside = ret_t < s.days
    return ret[inside], ret_line[inside], ret_t[inside]


def _first_uniforms(rng: np.random.Generator, n: np.ndarray, m: np.ndarray,
                    cust: np.ndarray) -> np.ndarray:
    """Return, per customer, the ``m`` smallest of ``n`` uniform draws in order (Rényi)."""
    start = np.cumsum(m) - m
    j = np.arange(cust.size) - start[cust]
    step = np.log1p(-rng.random(cust.size)) / (n[cust] - j)
    total = np.cumsum(step)
    offset = np.repeat(total[start[m > 0]] - step[start[m > 0]], m[m > 0])
    return -np.expm1(total - offset)


def _unit_cents(rng: np.random.Generator, s: _Settings, level: np.ndarray, is_first: np.ndarray,
                cust: np.ndarray, n: int) -> np.ndarray:
    """Return each line's unit price in cents: a gamma draw or a menu price, at a price point."""
    p, f = s.profile, s.dialect.price_factor
    if p.menu:
        weights = np.asarray(p.menu_weights) / np.sum(p.menu_weights)
        favourite = rng.choice(len(p.menu), size=n, p=weights)
        other = rng.choice(len(p.menu), size=is_first.size, p=weights)
        pick = np.where(rng.random(is_first.size) < 0.75, favourite[cust], other)
        addon = rng.integers(0, len(p.addons), is_first.size)
        euros = np.where(is_first, np.asarray(p.menu)[pick], np.asarray(p.addons)[addon])
    else:
        euros = rng.gamma(p.price_shape, p.price_mean / p.price_shape, is_first.size) * level
    return _price_point(euros * f * 100.0, p.ending)


def _price_point(cents: np.ndarray, ending: str) -> np.ndarray:
    """Round raw prices (cents) to two significant digits and a shop-like ending."""
    x = np.maximum(cents, 100.0)
    step = 10.0 ** (np.floor(np.log10(x)) - 1)
    step = np.maximum(step, 10.0 if ending == "whole" else 100.0)
    r = (np.round(x / step) * step).astype(np.int64)
    if ending == "99":
        r -= 1
    elif ending == "90":
        r -= 10
    elif ending == "9":
        r -= (step // 10).astype(np.int64)
    return r


def _perm(i: np.ndarray, size: int) -> np.ndarray:
    """Return a bijection of 0…size-1 that looks random (multiplier coprime to 2, 3, 5)."""
    return (i.astype(np.int64) * 7919 + 104729) % size


def _customer_ids(s: _Settings, lo: int, hi: int) -> pl.Series:
    """Return the customer ids of customers ``lo``…``hi - 1`` in the profile's style."""
    i = np.arange(lo, hi)
    style = s.profile.id_style
    if style == "plate" and hi <= 23**3 * 1000:
        letters = pl.Series(list("ABCDEFGHJKLMNOPRSTUWXYZ"))
        j = _perm(i, 23**3 * 1000)
        k = j // 1000
        parts = [letters.gather(k // 529), letters.gather(k // 23 % 23), letters.gather(k % 23),
                 pl.Series(j % 1000).cast(pl.String).str.zfill(3)]
        return pl.select(pl.concat_str(parts)).to_series()
    digits = max(6, len(str(hi)) + 1)
    number = 10 ** (digits - 1) + _perm(i, 9 * 10 ** (digits - 1))
    if style != "email":
        return pl.Series(number).cast(pl.String)
    d = s.dialect
    first = pl.Series(d.first_names).gather((i * 31) % len(d.first_names))
    last = pl.Series(d.last_names).gather((i * 17 // 3) % len(d.last_names))
    domain = pl.Series(["example.com", "example.net", "example.org"]).gather(number % 3)
    return pl.select(pl.concat_str([first, pl.lit("."), last, pl.Series(number % 100000)
                                    .cast(pl.String), pl.lit("@"), domain])).to_series()


def _birthdays(rng: np.random.Generator, s: _Settings, n: int) -> pl.Series:
    """Return a birth date per customer (adults, most 20–60), null where not on file."""
    age_days = ((18 + rng.gamma(2.5, 8.0, n)).clip(18, 90) * 365.25).astype(np.int64)
    born = (s.start - _EPOCH).days - age_days
    known = rng.random(n) < s.profile.birthday_known
    dates = pl.Series(born.astype(np.int32)).cast(pl.Date)
    return pl.select(pl.when(pl.Series(known)).then(dates).otherwise(None)).to_series()


def _render(batch: pl.DataFrame, s: _Settings, *, header: bool) -> bytes:
    """Return the CSV bytes of a batch of rows in the dialect (header only when asked)."""
    d = s.dialect
    cols = [
        pl.col("customer").alias(d.headers[0]),
        pl.col("day").cast(pl.Date).dt.to_string(d.date_format).alias(d.headers[1]),
        _money(pl.col("cents"), d).alias(d.headers[2]),
        pl.col("items").cast(pl.String).alias(d.headers[3]),
        pl.col("order").cast(pl.String).alias(d.headers[4]),
    ]
    if s.birthdays:
        cols.append(pl.col("birthday").dt.to_string(d.date_format).alias(d.headers[5]))
    buf = io.BytesIO()
    batch.select(cols).write_csv(buf, include_header=header, separator=d.delimiter,
                                 line_terminator=d.line_terminator, quote_style="necessary")
    data = buf.getvalue()
    return data.decode("utf-8").encode("cp1252") if d.encoding == "cp1252" else data


def _money(cents: pl.Expr, d: Dialect) -> pl.Expr:
    """Return an expression that writes integer cents as the dialect's amount text."""
    a = cents.abs()
    whole = a // 100
    frac = (a % 100).cast(pl.String).str.zfill(2)
    if d.thousands is None:
        int_part = whole.cast(pl.String)
    else:
        sep = pl.lit(d.thousands)

        def group(k: int) -> pl.Expr:
            return (whole // 10**k % 1000).cast(pl.String).str.zfill(3)

        int_part = (
            pl.when(whole >= 1_000_000_000).then(pl.concat_str([
                (whole // 1_000_000_000).cast(pl.String), sep, group(6), sep, group(3), sep,
                group(0)]))
            .when(whole >= 1_000_000).then(pl.concat_str([
                (whole // 1_000_000).cast(pl.String), sep, group(3), sep, group(0)]))
            .when(whole >= 1000).then(pl.concat_str([
                (whole // 1000).cast(pl.String), sep, group(0)]))
            .otherwise(whole.cast(pl.String))
        )
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, pl.lit(d.amount_prefix), int_part, pl.lit(d.decimal), frac])
