"""Stamp card: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Reward, Scheme
from punchcard.schemes.stamp_card import StampCardParams
from punchcard.schemes import ReplayContext, replay


def run(params, rows, *, n=1, end=100, r=1.0, member=None):
    """Replay a stamp card over rows (cust, day, amount[, items]); everyone joins at their first row."""
    rows = sorted(rows)
    cust = np.array([x[0] for x in rows], dtype=np.int32)
    day = np.array([x[1] for x in rows], dtype=np.int32)
    amount = np.array([x[2] for x in rows], dtype=np.float64)
    items = np.array([x[3] if len(x) > 3 else 1 for x in rows], dtype=np.float64)
    join = np.array([min([x[1] for x in rows if x[0] == c], default=end + 1) for c in range(n)],
                    dtype=np.int32)
    ctx = ReplayContext(0, end, 0.5, r, np.ones(n, bool) if member is None else member, join,
                        np.full(n, -1, np.int16), np.arange(n, dtype=np.uint64), 0)
    return replay(Scheme("s", "s", "stamp_card", params), TxArrays(cust, day, amount, items, n), ctx)


def test_visits_with_min_purchase_and_free_tenth():
    # stamps 3, min 10, item worth 20 at margin 0.5 → costs 10
    # day 1: 15 → 1 stamp; day 2: 5 → below min; day 3: 12 → 2; day 4: 20 → 3 = reward
    # day 5: 8 settles it (cost 10) and earns no stamp; day 6: 10 → 1 stamp
    rep = run(StampCardParams(stamps=3, reward=Reward(20), min_purchase=10),
              [(0, 1, 15), (0, 2, 5), (0, 3, 12), (0, 4, 20), (0, 5, 8), (0, 6, 10)])
    assert rep.earned.tolist() == [0, 0, 0, 1, 0, 0]
    assert rep.redeemed.tolist() == [0, 0, 0, 0, 1, 0]
    assert rep.cost.tolist() == [0, 0, 0, 0, 10, 0]
    assert rep.discount[4] == 20  # the customer got an item worth 20
    assert rep.outstanding[0] == 0 and rep.expired[0] == 0
    assert rep.first_reward_day[0] == 4


def test_spend_reaching_two_multiples_at_once_discount_capped_at_bill():
    # spend card of 100: 250 → two rewards, 50 carried; next bill 30 settles both:
    # discount 2 × 20 = 40 capped at the bill 30; r = 0.5 → redeemed 1.0, cost 15
    rep = run(StampCardParams(stamps=100, counter="spend", reward=Reward(20, type="discount")),
              [(0, 1, 250), (0, 2, 30), (0, 3, 50)], r=0.5)
    assert rep.earned.tolist() == [2, 0, 1]
    assert rep.redeemed.tolist() == [0, 1.0, 0]
    assert rep.cost.tolist() == [0, 15, 0]
    # day 3: 50 carried + 50 = 100 → a third reward, outstanding at the end: liability 20 × 0.5
    assert rep.outstanding[0] == 1 and rep.liability[0] == 10


def test_two_item_rewards_cost_twice_the_unit_cost():
    # items card of 4: 9 items → 2 rewards (1 left); item worth 20 at margin 0.5 costs 10 each
    rep = run(StampCardParams(stamps=4, counter="items", reward=Reward(20)),
              [(0, 1, 30, 9), (0, 2, 3, 1)])
    assert rep.cost.tolist() == [0, 20]


def test_expiry_the_day_before_and_after_the_next_visit():
    params = StampCardParams(stamps=1, reward=Reward(20, cost=7), expiry_days=10)
    # earned day 5, valid through day 15: a visit on day 15 redeems it
    on_time = run(params, [(0, 5, 10), (0, 15, 10)], end=15)
    assert on_time.redeemed.tolist() == [0, 1] and on_time.cost.tolist() == [0, 7]
    # a visit on day 16 is too late: expired (event on day 16) and the visit earns a new stamp
    late = run(params, [(0, 5, 10), (0, 16, 10)], end=26)  # 2nd reward valid through 26
    assert late.redeemed.sum() == 0 and late.expired[0] == 1
    assert late.daily_expired[16] == 1
    assert late.earned.tolist() == [1, 1] and late.outstanding[0] == 1


def test_held_at_the_end_is_outstanding_until_its_last_day_passes():
    params = StampCardParams(stamps=1, reward=Reward(20, cost=7), expiry_days=10)
    held = run(params, [(0, 5, 10)], end=15, r=0.8)  # seen once; last valid day 15 = end
    assert held.outstanding[0] == 1 and held.expired[0] == 0
    assert np.isclose(held.liability[0], 7 * 0.8)
    gone = run(params, [(0, 5, 10)], end=16)
    assert gone.outstanding[0] == 0 and gone.expired[0] == 1 and gone.liability[0] == 0


def test_head_start_needs_fewer_stamps_per_card():
    # 5 stamps, 2 pre-stamped: visits 1-3 fill the card, 4 settles, 5-7 fill the next
    rep = run(StampCardParams(stamps=5, head_start=2, reward=Reward(20)),
              [(0, d, 10) for d in range(1, 8)])
    assert rep.earned.tolist() == [0, 0, 1, 0, 0, 0, 1]
    assert rep.redeemed.tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert rep.outstanding[0] == 1


def test_return_neither_earns_nor_settles_and_non_members_earn_nothing():
    # stamps 1: day 1 earns; day 2 return does nothing; day 3 settles
    rep = run(StampCardParams(stamps=1, reward=Reward(20)),
              [(0, 1, 10), (0, 2, -10), (0, 3, 10), (1, 1, 50)], n=2,
              member=np.array([True, False]))
    assert rep.earned.tolist() == [1, 0, 0, 0]
    assert rep.redeemed.tolist() == [0, 0, 1, 0]
    assert rep.cust_earned[1] == 0
