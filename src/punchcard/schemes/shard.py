"""Customer-hash shards: replay a scheme shard by shard and merge, with the same result as whole.

Every per-customer computation is independent across customers (SPEC "Scale"), so a
ledger split by ``cust_hash % k`` (``ingest.shard_of``) can be replayed one shard at a
time — bounding the replay's working memory by the largest shard — and merged:
per-transaction and per-customer outputs go back to their rows, per-day series are the
shards' added in shard order (``ReplayMerge``), as a build on a cluster adds them
(``cluster.py``; why: ``ingest/shards.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays, shard_of
from punchcard.program import Scheme
from punchcard.schemes.registry import replay
from punchcard.schemes.settle import Replay, ReplayContext, Tables, offsets

_PER_CUSTOMER = ("member", "join_day", "birthday_doy", "cust_hash")
_PER_TX = ("earned", "redeemed", "cost", "discount")


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


@njit(cache=True, nogil=True)
def _split_rows(cust, day, amount, items, shard, local, starts, o_cust, o_day, o_amount, o_items, o_rows):
    """Write every row into its shard's block (blocks begin at ``starts``), in row order: one pass."""
    nxt = starts.copy()
    for i in range(cust.shape[0]):
        c = cust[i]
        j = nxt[shard[c]]
        nxt[shard[c]] = j + 1
        o_cust[j] = local[c]
        o_day[j] = day[i]
        o_amount[j] = amount[i]
        o_items[j] = items[i]
        o_rows[j] = i


def plan_shards(tx: TxArrays, ctx: ReplayContext, k: int) -> ShardPlan:
    """Return the split of ``tx`` (and ``ctx``'s per-customer arrays) into ``k`` hash shards."""
    shard = shard_of(ctx.cust_hash, k)
    local = np.empty(tx.n_customers, dtype=np.int32)
    ids = [np.flatnonzero(shard == s) for s in range(k)]
    for part_ids in ids:
        local[part_ids] = np.arange(len(part_ids))
    # rows per shard: each customer's rows are consecutive (the ledger is sorted by customer)
    per_customer = np.diff(offsets(tx.cust, tx.n_customers))
    sizes = np.bincount(shard, weights=per_customer, minlength=k).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    n = len(tx.cust)
    out = (np.empty(n, dtype=np.int32), np.empty(n, dtype=tx.day.dtype), np.empty(n, dtype=np.float64),
           np.empty(n, dtype=np.float64), np.empty(n, dtype=np.int64))
    _split_rows(tx.cust, tx.day, tx.amount, tx.items, shard, local, starts, *out)
    rows, parts, fields = [], [], []
    for s in range(k):
        block = slice(starts[s], starts[s] + sizes[s])
        rows.append(out[4][block])
        part_cust = out[0][block]
        parts.append(TxArrays(cust=part_cust, day=out[1][block], amount=out[2][block],
                              items=out[3][block], n_customers=len(ids[s]),
                              off=offsets(part_cust, len(ids[s]))))
        fields.append({f: np.asarray(getattr(ctx, f))[ids[s]] for f in _PER_CUSTOMER})
    return ShardPlan(k=k, ids=ids, rows=rows, parts=parts, fields=fields, source=_source(tx, ctx))


def replay_sharded(scheme: Scheme, tx: TxArrays, ctx: ReplayContext, k: int,
                   plan: ShardPlan | None = None, *, per_tx: bool = True, check: bool = True,
                   tables: Tables | None = None) -> Replay:
    """Return ``replay(scheme, tx, ctx)`` computed over ``k`` customer-hash shards and merged.

    ``plan`` (from ``plan_shards`` over the same ``tx`` and per-customer context) saves
    splitting the ledger again for every scheme. ``check`` and ``tables`` as ``replay``'s:
    the merged result views ``tables``' memory; each shard replays into ``tables.part()``
    and is copied out before the next.
    """
    if k <= 1:
        return replay(scheme, tx, ctx, per_tx=per_tx, check=check, tables=tables)
    if plan is None:
        plan = plan_shards(tx, ctx, k)
    elif plan.k != k or any(a is not b for a, b in zip(plan.source, _source(tx, ctx))):
        raise ValueError("the shard plan was made for other transactions or customers")
    merged = ReplayMerge(tx.n_customers, len(tx.day), ctx.start_day, tables)
    part = None if tables is None else tables.part()
    for s in range(k):
        rep = replay(scheme, plan.parts[s], dataclasses.replace(ctx, **plan.fields[s]), per_tx=per_tx,
                     check=check, tables=part)
        merged.add(rep, plan.ids[s], plan.rows[s])
    return merged.result()


class ReplayMerge:
    """Replays of customer-hash shards merged into the whole ledger's: per-customer and
    per-transaction outputs scattered back to their places, per-day series added up.

    The merged arrays are zeroed in ``tables``' memory when given (see ``settle.Tables``),
    else allocated.
    """

    def __init__(self, n_customers: int, n_tx: int, start_day: int, tables: Tables | None = None) -> None:
        self.n_customers, self.n_tx, self.start_day = n_customers, n_tx, start_day
        self.tables = tables
        self.merged: dict[str, np.ndarray | None] | None = None

    def _zeros(self, name: str, n: int, dtype) -> np.ndarray:
        if self.tables is None:
            return np.zeros(n, dtype=dtype)
        out = self.tables.array("merged." + name, n, dtype)
        out.fill(0)
        return out

    def add(self, rep: Replay, ids: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Merge one shard's replay: its customers are the whole ledger's ``ids`` (its rows ``rows``)."""
        if self.merged is None:
            self.merged = {}
            for f in dataclasses.fields(Replay):
                if f.name == "start_day":
                    continue
                value = getattr(rep, f.name)
                if f.name.startswith("daily_"):
                    self.merged[f.name] = value.copy()  # the first shard's series, then the others added
                elif f.name in _PER_TX:
                    self.merged[f.name] = None if value is None else self._zeros(f.name, self.n_tx, value.dtype)
                else:
                    self.merged[f.name] = self._zeros(f.name, self.n_customers, value.dtype)
            self._scatter(rep, ids, rows, add=False)
        else:
            self._scatter(rep, ids, rows, add=True)

    def _scatter(self, rep: Replay, ids: np.ndarray, rows: np.ndarray | None, add: bool) -> None:
        for name, target in self.merged.items():
            value = getattr(rep, name)
            if target is None:
                continue  # per-transaction arrays left out (per_tx=False)
            if name.startswith("daily_"):
                if add:
                    target += value
            elif name in _PER_TX:
                target[rows] = value
            else:
                target[ids] = value

    def result(self) -> Replay:
        """Return the merged replay (after every shard was added)."""
        assert self.merged is not None
        return Replay(start_day=self.start_day, **self.merged)

