"""tiers scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme, Tier
from punchcard.schemes.tiers import TiersParams
from tests.schemes.replaying import run



TIERS = TiersParams(tiers=(Tier("base", 0), Tier("silver", 100, discount=0.05, perk_cost_year=36.525)),
                    window_months=1)  # window 30 days; silver perks cost 0.1 a day


def test_tier_crossed_mid_window_discount_and_perk_days():
    # day 0: 120, nothing before → base, no discount; day 5: 120 in days -25..4 → silver: 5 % of 40 = 2
    # day 40: days 10..39 hold nothing → base
    # silver on days 1..30 (day-0 spend counts from day 1, drops out on day 31) = 30 days × 0.1 = 3
    rep = run("tiers", TIERS, [(0, 0, 120), (0, 5, 40), (0, 40, 50)], end=49, r=0.5)
    assert np.allclose(rep.cost, [0, 1.0, 0])  # 2 × r
    assert rep.earned.tolist() == [0, 1, 0] and np.isclose(rep.redeemed.sum(), 0.5)
    assert np.isclose(rep.accrued[0], 3.0)  # perks are not scaled by the redemption rate
    assert np.isclose(rep.daily_cost[1:31].sum(), 3.0 + 1.0)  # perks + the day-5 discount and rep.daily_cost[31:].sum() == 0


def test_return_lowers_spend_and_gets_no_discount():
    # day 0: 120, day 1: return -30 → day 2 sees 90 < 100 → base
    rep = run("tiers", TIERS, [(0, 0, 120), (0, 1, -30), (0, 2, 40)], end=10)
    assert rep.cost.sum() == 0
    # silver on day 1 (120), base on day 2 (90), silver again days 3..10 (130): 9 days × 0.1
    assert np.isclose(rep.accrued[0], 0.9)
