"""Member discount: rate × amount off every member purchase, or as cashback for the next one."""

from __future__ import annotations

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import MemberDiscountParams
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, expire, expiry_day, finish, hold, immediate, offsets, Replay,
    ReplayContext, settle, wallet,
)


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, rate, cashback, valid, r, day0, end_day, w,
          tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        for i in range(off[c], off[c + 1]):
            d = day[i]
            a = amount[i]
            if d < join[c] or a <= 0.0:
                continue
            if not cashback:
                immediate(i, c, d, day0, r, rate * a, tout, cout, dout)
                continue
            if n > 0:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
            credit = rate * a
            tout[T_EARNED, at(i, tout)] += 1.0
            n = hold(w, n, d + valid, 1.0, 0.0, credit, 0.0, credit, 0.0, c, d, day0, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: MemberDiscountParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the member discount replayed over `tx` (cashback settles at the next purchase)."""
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    if params.rate > 0.0:
        off = offsets(tx.cust, tx.n_customers)
        _scan(off, tx.day, tx.amount,
              np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
              float(params.rate), bool(params.cashback), expiry_day(params.expiry_days),
              float(ctx.redemption_rate), int(ctx.start_day), int(ctx.end_day), wallet(off),
              tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
