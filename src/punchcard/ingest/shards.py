"""Customer-hash shards of a ledger: the unit every sum across customers is taken over.

Every per-customer computation is independent across customers (SPEC "Scale"); a sum
across customers in floating point depends on the order of its terms. So that a build
on a cluster (``cluster.py``) gives the same bits as one here, every such sum (revenue,
returns, the monthly table, the replays' per-day series) is taken per shard
(``cust_hash % k``, ``shard_of``), in ledger order (``shard_sums``), and the shards'
sums are added in shard order (``ordered_sum``). The number of shards (``shard_count``)
follows from the size of the sales files alone, so both engines agree on it before
reading a row; small inputs are one shard, summed as a whole.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

#: Bytes of sales files per shard: 1 GiB of CSV is about 25M rows. Splitting a ledger into
#: shards costs a local build time (12M rows in two shards: backtest 5.2 s against 2.5 s,
#: once, under load), so exports up to 1 GiB stay one shard; a cluster may use up to 64
#: customer partitions for 1B rows (40 GB), 512 for 10B.
SHARD_BYTES = 1 << 30
#: At most this many shards (10B rows of CSV, about 400 GB: shards of about 2.4M rows).
MAX_SHARDS = 4096


def shard_count(input_bytes: int, target: int | None = None) -> int:
    """Return the shards of sales files of ``input_bytes`` bytes: a power of two near one per
    ``target`` bytes (default ``SHARD_BYTES``; 1 for small inputs)."""
    need = max(1, -(-int(input_bytes) // (target or SHARD_BYTES)))
    return min(MAX_SHARDS, 1 << (need - 1).bit_length())


def input_bytes(paths) -> int:
    """Return the total size of the sales files (0 for a file that cannot be seen here)."""
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except (OSError, TypeError, ValueError):
            pass
    return total


def ledger_shards(ledger) -> int:
    """Return the shards of a ledger's sums, from the size of the sales files it was read from."""
    return shard_count(input_bytes(f.source or f.path for f in ledger.inputs))


def ordered_sum(values) -> float:
    """Return the shards' sums added in shard order (the first one as it is: -0.0 stays -0.0)."""
    values = list(values)
    if not values:
        return 0.0
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


@njit(cache=True, nogil=True)
def _shard_sums(values, cust, cust_shard, k, negative):
    out = np.zeros(k)
    for i in range(values.shape[0]):
        v = values[i]
        if negative and not v < 0.0:
            continue
        out[cust_shard[cust[i]]] += v
    return out


def shard_sums(values: np.ndarray, cust: np.ndarray, cust_shard: np.ndarray, k: int, *,
               negative: bool = False) -> np.ndarray:
    """Return the sum of ``values`` per shard (row i belongs to customer ``cust[i]``, in shard
    ``cust_shard[cust[i]]``), each shard's added in row order; ``negative``: only values below 0.

    One shard is summed by numpy (pairwise), as a whole ledger always was.
    """
    if k == 1:
        v = values[values < 0] if negative else values
        return np.array([np.add.reduce(v, dtype=np.float64) if len(v) else 0.0])
    return _shard_sums(values, cust, cust_shard, k, negative)


def shard_of(cust_hash: np.ndarray, k: int) -> np.ndarray:
    """Return each customer's shard, 0..k-1, from the stable hash of their id."""
    return (np.asarray(cust_hash, dtype=np.uint64) % np.uint64(k)).astype(np.int64)
