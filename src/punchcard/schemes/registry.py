"""The registry of scheme kinds, and `replay`: any kind over a set of transactions (history or simulated).

``replay(scheme, tx, ctx)`` runs one kind's compiled per-customer scan over arrays sorted
by (cust, day); every kind but points settles its rewards through ``settle.py``.
"""

from __future__ import annotations

from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import Kind, Scheme, kinds
from punchcard.schemes.settle import Replay, ReplayContext, Tables


def registry() -> dict[str, Kind]:
    """Return every scheme kind by name: each module of this package that declares a ``KIND``."""
    return kinds()


def check_input(tx: TxArrays, ctx: ReplayContext) -> None:
    """Raise ValueError when the transactions or the context break the replay's contract."""
    n = tx.n_customers
    for name in ("member", "join_day", "birthday_doy", "cust_hash"):
        if len(getattr(ctx, name)) != n:
            raise ValueError(f"ReplayContext.{name} has {len(getattr(ctx, name))} entries, "
                             f"expected one per customer ({n})")
    if ctx.end_day < ctx.start_day:
        raise ValueError("ReplayContext.end_day is before start_day")
    off = getattr(tx, "off", None)
    if off is not None and (len(off) != n + 1 or (len(off) and int(off[-1]) != len(tx.cust))):
        raise ValueError("TxArrays.off does not fit these transactions (one start per customer, and their end)")
    if len(tx.day):
        problem = _scan_order(tx.cust, tx.day, n, ctx.start_day, ctx.end_day)
        if problem == 1:
            raise ValueError("transactions fall outside [start_day, end_day]; filter them first")
        if problem == 2:
            raise ValueError("TxArrays.cust must lie in 0..n_customers-1")
        if problem == 3:
            raise ValueError("transactions must be sorted by (cust, day)")


@njit(cache=True, nogil=True)
def _scan_order(cust, day, n, start_day, end_day):
    """Return 0 if every row is in the window, its cust in 0..n-1 and rows sorted by (cust, day);
    else 1, 2 or 3 for the first rule broken (window, cust range, order), checked in one pass."""
    window = False
    rng = False
    order = False
    pc = -1
    pd = 0
    for i in range(cust.shape[0]):
        c = cust[i]
        d = day[i]
        window |= (d < start_day) | (d > end_day)
        rng |= (c < 0) | (c >= n)
        order |= (c < pc) | ((c == pc) & (d < pd))
        pc = c
        pd = d
    if window:
        return 1
    if rng:
        return 2
    if order:
        return 3
    return 0


def replay(scheme: Scheme, tx: TxArrays, ctx: ReplayContext, *, per_tx: bool = True,
           check: bool = True, tables: Tables | None = None) -> Replay:
    """Return `scheme` replayed over `tx`: per-transaction, per-customer and per-day results.

    ``per_tx=False`` leaves the per-transaction arrays out (None): the per-customer and
    per-day figures are the same, for less memory and time. ``check=False`` skips the
    pass that checks the input's order and ranges, for callers that built it sorted.
    ``tables``: memory kept from an earlier replay to write into (``settle.Tables``; the
    result views it, so it is reused only once the result is no longer read).
    """
    known = kinds()
    if scheme.kind not in known:
        raise ValueError(f"unknown scheme kind {scheme.kind!r}; expected one of {sorted(known)}")
    if check:
        check_input(tx, ctx)
    if tables is None:
        return known[scheme.kind].replay(scheme.params, tx, ctx, per_tx)
    return known[scheme.kind].replay(scheme.params, tx, ctx, per_tx, tables)
