"""points scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme, Tier
from punchcard.schemes.points import PointsParams
from tests.schemes.replaying import run



def test_redeem_step_then_earn_on_what_was_paid():
    # 1 point per unit, 0.01 each, redeem 100s from 100: day 1: 150 → 150 points
    # day 2: bill 40, 100 points redeemed (1.00 off), 39 paid → floor(39) = 39 points → 89
    rep = run("points", PointsParams(1, 0.01, 100), [(0, 1, 150), (0, 2, 40)])
    assert rep.earned.tolist() == [150, 39]
    assert rep.redeemed.tolist() == [0, 100]
    assert np.allclose(rep.cost, [0, 1.0])
    assert rep.outstanding[0] == 89 and np.isclose(rep.liability[0], 0.89)
    assert rep.first_reward_day[0] == 2 and rep.rewards[0] == 1


def test_redemption_capped_at_the_bill():
    # point worth 1, steps of 10: balance 35 at a bill of 17 → only 10 points (10.00) fit
    rep = run("points", PointsParams(1, 1.0, 10, min_purchase=100), [(0, 1, 35), (0, 2, 17)])
    assert rep.earned.tolist() == [0, 0]  # below min_purchase 100: no points at all
    rep = run("points", PointsParams(1, 1.0, 10), [(0, 1, 35), (0, 2, 17)], r=0.5)
    # day 2: redeem 10 (× r = 5 expected, cost 5), paid 7 → 7 points; balance 25 + 7 = 32
    assert rep.redeemed.tolist() == [0, 5] and rep.cost.tolist() == [0, 5]
    assert rep.outstanding[0] == 32


def test_balance_lapses_exactly_after_expiry_months():
    p = PointsParams(1, 0.01, 1000, expiry_months=1)  # 1 month = 30.4375 → lapses after 30 quiet days
    alive = run("points", p, [(0, 0, 50), (0, 30, 10)], end=60)  # 30 days later: still there
    assert alive.expired[0] == 0 and alive.outstanding[0] == 60
    lapsed = run("points", p, [(0, 0, 50), (0, 31, 10)], end=61)  # 31 days: the 50 lapse on day 31
    assert lapsed.expired[0] == 50 and lapsed.daily_expired[31] == 50
    assert lapsed.outstanding[0] == 10
    # seen once: outstanding while the end is within 30 days, lapsed after
    assert run("points", p, [(0, 0, 50)], end=30).outstanding[0] == 50
    assert run("points", p, [(0, 0, 50)], end=31).expired[0] == 50


def test_a_return_earns_nothing_but_keeps_points_alive():
    p = PointsParams(1, 0.01, 1000, expiry_months=1)
    rep = run("points", p, [(0, 0, 50), (0, 25, -20), (0, 50, 10)], end=80)
    assert rep.earned.tolist() == [50, 0, 10] and rep.expired[0] == 0


def test_tier_multiplier_from_trailing_spend():
    tiers = (Tier("base", 0), Tier("gold", 100, multiplier=2))
    p = PointsParams(1, 0.01, 10_000, tiers=tiers, window_months=1)  # window 30 days
    # day 0: 100, nothing before → ×1 = 100; day 10: 100 spent in days -20..9 → gold ×2 → 100
    # day 40: days 10..39 hold only 50 → base → 10
    rep = run("points", p, [(0, 0, 100), (0, 10, 50), (0, 40, 10)])
    assert rep.earned.tolist() == [100, 100, 10]
