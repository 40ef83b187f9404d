"""coupons scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.coupons import CouponsParams
from tests.schemes.replaying import run



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
