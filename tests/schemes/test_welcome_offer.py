"""welcome offer scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.welcome_offer import WelcomeOfferParams
from tests.schemes.replaying import run



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
