"""coupons scheme: figures worked out by hand in the comments."""

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


def test_issued_to_active_members_and_settled_within_validity():
    p = CouponsParams(every_days=10, active_days=15, valid_days=5, value=5)
    # issue days 0, 10, 20, 30, 40 (from data start 0):
    # day 0: no visit yet; day 10: visit on day 3 is within 15 days → coupon, valid through 15;
    # visit day 12 (bill 30) takes 5 off; day 20: visit 12 within 15 → coupon valid through 25,
    # never used → expired on day 26; day 30: last visit 12 is 18 days ago → none
    rep = run("coupons", p, [(0, 3, 20), (0, 12, 30)], end=40)
    assert rep.cust_earned[0] == 2 and rep.cost.tolist() == [0, 5]
    assert rep.expired[0] == 1 and rep.daily_expired[26] == 1
    assert rep.daily_earned[10] == 1 and rep.daily_earned[20] == 1


def test_rate_coupon_takes_a_share_of_the_bill():
    p = CouponsParams(every_days=10, active_days=15, valid_days=5, rate=0.2)
    rep = run("coupons", p, [(0, 3, 20), (0, 12, 30)], end=40, r=0.5)
    assert np.allclose(rep.cost, [0, 3.0])  # 20 % of 30 × r 0.5
