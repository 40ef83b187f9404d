"""Stage 2 output: the ledger of transactions every later stage reads.

The ingest stage (``ingest.py``) builds it; raw customer identifiers never reach it —
customers are a compact integer key ``cust`` (0..n_customers-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from punchcard.runtime import sha256_file

EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class InputFile:
    """One sales file read: its label (as the program names it), rows read, and its SHA-256.

    The hash is taken when first asked for (``fingerprint.sha256_file`` remembers it per
    file version): reading does not wait for it, and a build hashes while a later stage
    leaves a core free.
    """

    path: str
    rows: int
    source: str = ""  # the file on disk ("" → ``path``)

    @property
    def sha256(self) -> str:
        source = self.source or self.path
        return sha256_file(source if "://" in source else Path(source))

    def record(self) -> dict:
        """Return the ``inputs[]`` entry of results.json."""
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows}


@dataclass(frozen=True)
class DataQuality:
    rows_read: int
    rows_used: int
    rejected: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)
    used_zero_amount: int = 0  # used rows with a zero amount: visits with no revenue


@dataclass(frozen=True)
class Ledger:
    """Identified transactions sorted by (cust, day, amount), plus anonymous ones and quality."""

    tx: pl.DataFrame  # cust Int32, day Int32 (epoch days), amount Float64, items Float64
    anon: pl.DataFrame  # day Int32, amount Float64, items Float64
    n_customers: int
    cust_hash: np.ndarray  # uint64 per cust, stable across versions
    birthday_doy: np.ndarray | None  # int16 per cust, 1..366, -1 unknown
    start_day: int
    end_day: int
    quality: DataQuality
    inputs: tuple[InputFile, ...] = ()
    # what one visit (transaction) is: the lines of one "order", or, without an order
    # column, a customer's lines at one date and "time", or on one "date"
    visits: str = "order"


@dataclass(frozen=True)
class TxArrays:
    """The ledger as contiguous numpy arrays for compiled per-customer scans."""

    cust: np.ndarray  # int32, sorted ascending
    day: np.ndarray  # int32, ascending within a customer
    amount: np.ndarray  # float64
    items: np.ndarray  # float64
    n_customers: int
    # int64, n_customers + 1: where each customer's rows start, when the caller worked it out
    # once for many replays (``backtest.base``, shard plans); None: each replay computes it
    off: np.ndarray | None = None


def arrays(ledger: Ledger) -> TxArrays:
    """Return the ledger's identified transactions as numpy arrays (sorted as in the ledger)."""
    tx = ledger.tx
    return TxArrays(
        cust=np.ascontiguousarray(tx["cust"].to_numpy(), dtype=np.int32),
        day=np.ascontiguousarray(tx["day"].to_numpy(), dtype=np.int32),
        amount=np.ascontiguousarray(tx["amount"].to_numpy(), dtype=np.float64),
        items=np.ascontiguousarray(tx["items"].to_numpy(), dtype=np.float64),
        n_customers=ledger.n_customers,
    )
