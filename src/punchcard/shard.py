"""Customer-hash shards: replay a scheme shard by shard and merge, with the same result as whole.

Every per-customer computation is independent across customers (SPEC "Scale"), so a
ledger split by ``cust_hash % k`` can be replayed one shard at a time — bounding the
replay's working memory by the largest shard — and merged: per-transaction and
per-customer outputs go back to their rows, per-day series add up.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from punchcard.ledger import TxArrays
from punchcard.program import Scheme
from punchcard.schemes import Replay, ReplayContext, replay

#: Transactions per shard above which a build splits the replay (bounds its buffers).
SHARD_TX = 4_000_000

_PER_CUSTOMER = ("member", "join_day", "birthday_doy", "cust_hash")


def shard_count(n_tx: int, target: int = SHARD_TX) -> int:
    """Return how many shards keep each near ``target`` transactions (1 for small ledgers)."""
    return max(1, -(-n_tx // target))


def shard_of(cust_hash: np.ndarray, k: int) -> np.ndarray:
    """Return each customer's shard, 0..k-1, from the stable hash of their id."""
    return (np.asarray(cust_hash, dtype=np.uint64) % np.uint64(k)).astype(np.int64)


def _subset(tx: TxArrays, ctx: ReplayContext, ids: np.ndarray) -> tuple[TxArrays, ReplayContext,
                                                                        np.ndarray]:
    """Return one shard's transactions (customers renumbered 0..len(ids)-1), context and rows."""
    local = np.full(tx.n_customers, -1, dtype=np.int64)
    local[ids] = np.arange(len(ids))
    rows = np.flatnonzero(local[tx.cust] >= 0)
    part = TxArrays(cust=local[tx.cust[rows]].astype(np.int32), day=tx.day[rows],
                    amount=tx.amount[rows], items=tx.items[rows], n_customers=len(ids))
    sub = dataclasses.replace(ctx, **{f: np.asarray(getattr(ctx, f))[ids] for f in _PER_CUSTOMER})
    return part, sub, rows


def replay_sharded(scheme: Scheme, tx: TxArrays, ctx: ReplayContext, k: int) -> Replay:
    """Return ``replay(scheme, tx, ctx)`` computed over ``k`` customer-hash shards and merged."""
    if k <= 1:
        return replay(scheme, tx, ctx)
    shard = shard_of(ctx.cust_hash, k)
    merged: dict[str, np.ndarray] | None = None
    for s in range(k):
        ids = np.flatnonzero(shard == s)
        part, sub, rows = _subset(tx, ctx, ids)
        rep = replay(scheme, part, sub)
        if merged is None:
            merged = {}
            for f in dataclasses.fields(Replay):
                value = getattr(rep, f.name)
                if f.name == "start_day":
                    continue
                if f.name.startswith("daily_"):
                    merged[f.name] = np.zeros_like(value)
                elif len(value) == len(part.day) and f.name in ("earned", "redeemed", "cost",
                                                                   "discount"):
                    merged[f.name] = np.zeros(len(tx.day), dtype=value.dtype)
                else:
                    merged[f.name] = np.zeros(tx.n_customers, dtype=value.dtype)
        for name, target in merged.items():
            value = getattr(rep, name)
            if name.startswith("daily_"):
                target += value
            elif name in ("earned", "redeemed", "cost", "discount"):
                target[rows] = value
            else:
                target[ids] = value
    assert merged is not None
    return Replay(start_day=ctx.start_day, **merged)
