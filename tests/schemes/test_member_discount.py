"""member discount scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ledger import TxArrays
from punchcard.program import *  # noqa: F403
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


def test_discount_at_the_till_skips_returns():
    # 10 % of 50 and of 30 = 8; the return gets nothing; r = 0.8 → 6.4
    rep = run("member_discount", MemberDiscountParams(0.1), [(0, 1, 50), (0, 2, -20), (0, 3, 30)], r=0.8)
    assert np.allclose(rep.cost, [4.0, 0, 2.4])
    assert rep.earned.tolist() == [1, 0, 1]


def test_cashback_settles_at_the_next_purchase_capped_and_expiring():
    p = MemberDiscountParams(0.1, cashback=True, expiry_days=10)
    # day 0: 100 → credit 10; day 5: bill 4 takes 4 (capped), earns 0.4 (valid through 15)
    # day 20: the 0.4 expired on day 16; earns 5, valid through 30 = end → outstanding
    rep = run("member_discount", p, [(0, 0, 100), (0, 5, 4), (0, 20, 50)], end=30)
    assert np.allclose(rep.cost, [0, 4, 0])
    assert rep.expired[0] == 1 and rep.daily_expired[16] == 1
    assert rep.outstanding[0] == 1 and np.isclose(rep.liability[0], 5.0)
