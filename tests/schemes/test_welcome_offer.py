"""welcome offer scheme: figures worked out by hand in the comments."""

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


P = WelcomeOfferParams(10, expiry_days=60, new_after_days=90)


def test_only_new_customers_get_it_and_it_settles_at_the_second_visit():
    # data start 0: cust 0 first seen day 10 (old); cust 1 first seen day 100 (new)
    # cust 1's second visit (day 120, bill 8) takes the 10 off, capped at 8
    rep = run("welcome_offer", P, [(0, 10, 30), (0, 20, 30), (1, 100, 30), (1, 120, 8)], n=2, end=200)
    assert rep.cust_earned.tolist() == [0, 1]
    assert rep.cost.tolist() == [0, 0, 0, 8]


def test_min_purchase_and_expiry():
    p = WelcomeOfferParams(10, min_purchase=20, expiry_days=60, new_after_days=90)
    # day 120 bill 8 is below 20; day 170 is after day 160 (100 + 60): expired
    rep = run("welcome_offer", p, [(0, 100, 30), (0, 120, 8), (0, 170, 25)], end=200)
    assert rep.cost.sum() == 0 and rep.expired[0] == 1 and rep.daily_expired[161] == 1


def test_seen_once_outstanding_or_expired():
    assert run("welcome_offer", P, [(0, 200, 30)], end=260).outstanding[0] == 1
    assert run("welcome_offer", P, [(0, 200, 30)], end=261).expired[0] == 1
