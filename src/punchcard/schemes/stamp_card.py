"""Stamp card: a stamp per qualifying visit (or item, or unit of spend); a reward per full card."""

from __future__ import annotations

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import StampCardParams
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, expire, expiry_day, finish, hold, offsets, Replay,
    ReplayContext, settle, unit_cost, wallet,
)

COUNTERS = {"visits": 0, "items": 1, "spend": 2}


@njit(cache=True, nogil=True)
def _scan(off, day, amount, items, member, join, counter, need, min_purchase,
          valid, cost, face, liab, item, r, day0, end_day, w, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        progress = 0.0  # stamps beyond the head start on the current card
        for i in range(off[c], off[c + 1]):
            d = day[i]
            a = amount[i]
            if d < join[c] or a <= 0.0:
                continue
            if n > 0:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
                    continue  # the free one earns no stamp
            if a < min_purchase:
                continue
            if counter == 0:
                progress += 1.0
            elif counter == 1:
                progress += items[i]
            else:
                progress += a
            k = np.floor(progress / need + 1e-9)
            if k > 0.0:
                progress = max(progress - k * need, 0.0)
                tout[T_EARNED, at(i, tout)] += k
                n = hold(w, n, d + valid, k, cost, face, 0.0, liab, item, c, d, day0, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: StampCardParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the stamp card replayed over `tx`: cards fill, rewards settle at the next visit."""
    reward = params.reward
    is_item = reward.type == "item"
    cost = unit_cost(reward.value, reward.cost, ctx.gross_margin) if is_item else 0.0
    liab = cost if is_item else float(reward.value)
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    off = offsets(tx.cust, tx.n_customers)
    _scan(off, tx.day, tx.amount, tx.items,
          np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
          COUNTERS[params.counter], float(params.stamps - params.head_start),
          float(params.min_purchase), expiry_day(params.expiry_days), cost, float(reward.value),
          liab, 1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
          int(ctx.end_day), wallet(off), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
