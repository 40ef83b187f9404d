"""Welcome offer: a voucher at a new customer's first purchase, settled at their next one."""

from __future__ import annotations

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import WelcomeOfferParams
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, data_start, expire, expiry_day, finish, hold, offsets,
    Replay, ReplayContext, settle, unit_cost, wallet,
)


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, new_from, min_purchase, valid, cost, face, liab, item,
          r, day0, end_day, w, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        s = off[c]
        e = off[c + 1]
        if not member[c] or s == e:
            continue
        d = day[s]
        if d < new_from or d < join[c] or amount[s] <= 0.0:
            continue  # an existing customer, not yet a member, or a first visit that is a return
        tout[T_EARNED, at(s, tout)] += 1.0
        n = hold(w, 0, d + valid, 1.0, cost, face, 0.0, liab, item, c, d, day0, r, cout, dout)
        for i in range(s + 1, e):
            a = amount[i]
            if a <= 0.0 or a < min_purchase:
                continue
            n = expire(w, n, day[i], c, day0, r, cout, dout)
            if n > 0:
                settle(w, n, i, c, a, day[i], day0, r, tout, cout, dout)
            n = 0
            break
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: WelcomeOfferParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the welcome offer replayed over `tx`."""
    is_item = params.type == "item"
    cost = unit_cost(params.value, params.cost, ctx.gross_margin) if is_item else 0.0
    liab = cost if is_item else float(params.value)
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    _scan(offsets(tx.cust, tx.n_customers), tx.day, tx.amount,
          np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
          data_start(ctx) + int(params.new_after_days), float(params.min_purchase),
          expiry_day(params.expiry_days), cost, float(params.value), liab,
          1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
          int(ctx.end_day), wallet(), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
