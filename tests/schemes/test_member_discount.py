"""member discount scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.member_discount import MemberDiscountParams
from tests.schemes.replaying import run



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
