"""Customer-hash shards: replay a scheme shard by shard and merge, with the same result as whole.

Every per-customer computation is independent across customers (SPEC "Scale"), so a
ledger split by ``cust_hash % k`` can be replayed one shard at a time — bounding the
replay's working memory by the largest shard — and merged: per-transaction and
per-customer outputs go back to their rows, per-day series add up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.registry import replay
from punchcard.schemes.settle import Replay, ReplayContext

#: Transactions per shard above which a build splits the replay (bounds its buffers).
#: A replay's buffers are 32 bytes per transaction (its per-transaction tables are handed
#: out as views, not copied), so 32M transactions keep them near 1 GB; below that a whole
#: replay is cheaper than splitting and scattering the shards' outputs back.
SHARD_TX = 32_000_000

_PER_CUSTOMER = ("member", "join_day", "birthday_doy", "cust_hash")
_PER_TX = ("earned", "redeemed", "cost", "discount")


def shard_count(n_tx: int, target: int = SHARD_TX) -> int:
    """Return how many shards keep each near ``target`` transactions (1 for small ledgers)."""
    return max(1, -(-n_tx // target))


def shard_of(cust_hash: np.ndarray, k: int) -> np.ndarray:
    """Return each customer's shard, 0..k-1, from the stable hash of their id."""
    return (np.asarray(cust_hash, dtype=np.uint64) % np.uint64(k)).astype(np.int64)


@dataclass(frozen=True)
class ShardPlan:
    """A ledger's split into customer-hash shards, worked out once and reused by every scheme.

    Shard s holds customers ``ids[s]`` (renumbered 0..len-1 in ``parts[s]``) and their
    transactions, rows ``rows[s]`` of the whole ledger (ascending, so each part stays sorted
    by (cust, day)); ``fields[s]`` are the per-customer context arrays of those customers.
    """

    k: int
    ids: list[np.ndarray]
    rows: list[np.ndarray]
    parts: list[TxArrays]
    fields: list[dict[str, np.ndarray]]
    source: tuple  # the arrays the plan was made from (checked by identity)


def _source(tx: TxArrays, ctx: ReplayContext) -> tuple:
    return (tx.cust, tx.day, tx.amount, tx.items) + tuple(getattr(ctx, f) for f in _PER_CUSTOMER)


def plan_shards(tx: TxArrays, ctx: ReplayContext, k: int) -> ShardPlan:
    """Return the split of ``tx`` (and ``ctx``'s per-customer arrays) into ``k`` hash shards."""
    shard = shard_of(ctx.cust_hash, k)
    local = np.empty(tx.n_customers, dtype=np.int64)
    ids = [np.flatnonzero(shard == s) for s in range(k)]
    for part_ids in ids:
        local[part_ids] = np.arange(len(part_ids))
    row_shard = shard[tx.cust]
    order = np.argsort(row_shard, kind="stable")  # rows grouped by shard, ascending within
    bounds = np.searchsorted(row_shard[order], np.arange(k + 1))
    rows, parts, fields = [], [], []
    for s in range(k):
        r = order[bounds[s]:bounds[s + 1]]
        rows.append(r)
        parts.append(TxArrays(cust=local[tx.cust[r]].astype(np.int32), day=tx.day[r],
                              amount=tx.amount[r], items=tx.items[r], n_customers=len(ids[s])))
        fields.append({f: np.asarray(getattr(ctx, f))[ids[s]] for f in _PER_CUSTOMER})
    return ShardPlan(k=k, ids=ids, rows=rows, parts=parts, fields=fields, source=_source(tx, ctx))


def replay_sharded(scheme: Scheme, tx: TxArrays, ctx: ReplayContext, k: int,
                   plan: ShardPlan | None = None, *, per_tx: bool = True) -> Replay:
    """Return ``replay(scheme, tx, ctx)`` computed over ``k`` customer-hash shards and merged.

    ``plan`` (from ``plan_shards`` over the same ``tx`` and per-customer context) saves
    splitting the ledger again for every scheme.
    """
    if k <= 1:
        return replay(scheme, tx, ctx, per_tx=per_tx)
    if plan is None:
        plan = plan_shards(tx, ctx, k)
    elif plan.k != k or any(a is not b for a, b in zip(plan.source, _source(tx, ctx))):
        raise ValueError("the shard plan was made for other transactions or customers")
    merged: dict[str, np.ndarray | None] | None = None
    for s in range(k):
        rep = replay(scheme, plan.parts[s], dataclasses.replace(ctx, **plan.fields[s]), per_tx=per_tx)
        if merged is None:
            merged = {}
            for f in dataclasses.fields(Replay):
                if f.name == "start_day":
                    continue
                value = getattr(rep, f.name)
                if f.name.startswith("daily_"):
                    merged[f.name] = np.zeros_like(value)
                elif f.name in _PER_TX:
                    merged[f.name] = None if value is None else np.zeros(len(tx.day), dtype=value.dtype)
                else:
                    merged[f.name] = np.zeros(tx.n_customers, dtype=value.dtype)
        for name, target in merged.items():
            value = getattr(rep, name)
            if target is None:
                continue  # per-transaction arrays left out (per_tx=False)
            if name.startswith("daily_"):
                target += value
            elif name in _PER_TX:
                target[plan.rows[s]] = value
            else:
                target[plan.ids[s]] = value
    assert merged is not None
    return Replay(start_day=ctx.start_day, **merged)
