"""Coupons: every `every_days`, active members get a coupon, settled at their next purchase."""

from __future__ import annotations

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import CouponsParams
from punchcard.schemes.settle import (
    buffers, close, data_start, expire, finish, hold, offsets, Replay, ReplayContext,
    settle, unit_cost, wallet,
)


@njit(cache=True)
def _next_issue(x, anchor, every):
    """Return the first issue day on or after day x."""
    if x <= anchor:
        return anchor
    return anchor + ((x - anchor + every - 1) // every) * every


@njit(cache=True)
def _issue(w, n, upto, nxt, last, last_bill, anchor, every, active, valid, cost, face, rate,
           item, c, day0, end_day, r, cout, dout):
    """Issue the coupons due on days nxt..upto to customer c; return (wallet size, next issue day)."""
    while nxt <= upto and nxt <= end_day:
        if last < 0 or last < nxt - active:
            return n, _next_issue(upto + 1, anchor, every)  # inactive until the next purchase
        liab = cost if item > 0.0 else face + rate * last_bill
        n = hold(w, n, nxt + valid, 1.0, cost, face, rate, liab, item, c, nxt, day0, r,
                    cout, dout)
        nxt += every
    return n, nxt


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, anchor, every, active, valid, min_purchase, cost,
          face, rate, item, r, day0, end_day, w, tout, cout, dout):
    first_issue = _next_issue(day0, anchor, every)
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        last = -1  # day of the member's last transaction
        last_bill = 0.0
        nxt = first_issue
        for i in range(off[c], off[c + 1]):
            d = day[i]
            if d < join[c]:
                continue
            n, nxt = _issue(w, n, d, nxt, last, last_bill, anchor, every, active, valid,
                               cost, face, rate, item, c, day0, end_day, r, cout, dout)
            a = amount[i]
            last = d
            if a <= 0.0:
                continue
            last_bill = a
            if n > 0 and a >= min_purchase:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
        n, nxt = _issue(w, n, end_day, nxt, last, last_bill, anchor, every, active, valid,
                           cost, face, rate, item, c, day0, end_day, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: CouponsParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the coupon mailing replayed over `tx`."""
    rate = float(params.rate or 0.0)
    face = float(params.value or 0.0)
    is_item = params.value is not None and params.cost is not None
    cost = unit_cost(face, params.cost, ctx.gross_margin) if is_item else 0.0
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    if rate > 0.0 or face > 0.0:
        _scan(offsets(tx.cust, tx.n_customers), tx.day, tx.amount,
              np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
              data_start(ctx), int(params.every_days), int(params.active_days),
              int(params.valid_days), float(params.min_purchase), cost, face, rate,
              1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
              int(ctx.end_day), wallet(None, (int(ctx.end_day) - int(ctx.start_day)) // int(params.every_days) + 2),
              tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
