"""The one helper the scheme tests share: replay a scheme over a few hand-written rows."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes import ReplayContext, replay


def run(kind, params, rows, *, n=1, start=0, end=100, r=1.0, bdoy=None, ds=0):
    """Replay one scheme over rows (cust, day, amount); everyone joins at their first row."""
    rows = sorted(rows)
    cust = np.array([x[0] for x in rows], dtype=np.int32)
    day = np.array([x[1] for x in rows], dtype=np.int32)
    amount = np.array([x[2] for x in rows], dtype=np.float64)
    join = np.array([min([x[1] for x in rows if x[0] == c], default=end + 1) for c in range(n)],
                    dtype=np.int32)
    bd = np.full(n, -1, np.int16) if bdoy is None else np.array(bdoy, np.int16)
    ctx = ReplayContext(start, end, 0.5, r, join <= end, join, bd, np.arange(n, dtype=np.uint64), ds)
    tx = TxArrays(cust, day, amount, np.ones(len(rows)), n)
    return replay(Scheme("s", "s", kind, params), tx, ctx)
