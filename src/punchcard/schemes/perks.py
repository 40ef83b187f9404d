"""Perks: non-monetary member benefits that cost money per member-year and per event.

(Its compiled scan writes through settle.py's helpers, tables stored one row per column.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import PerksParams
from punchcard.schemes.settle import Replay, ReplayContext, accrue, buffers, finish

DAYS_PER_YEAR = 365.25


@njit(cache=True, nogil=True)
def _scan(member, join, per_day, day0, end_day, cout, dout):
    for c in range(member.shape[0]):
        if member[c]:
            accrue(c, max(join[c], day0), end_day, per_day, day0, cout, dout)


def replay(params: PerksParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the perks' cost accrued over every member's days in the window."""
    per_year = params.cost_per_member_year + params.cost_per_event * params.events_per_year
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    _scan(np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
          float(per_year) / DAYS_PER_YEAR, int(ctx.start_day), int(ctx.end_day), cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
