"""The settlement core, driven directly: hold, expire, settle, close."""

from __future__ import annotations

import numpy as np
import pytest

from punchcard.schemes.settle import (
    C_COST, C_EXPIRED, C_LIABILITY, C_OUTSTANDING, D_EXPIRED, D_HELD, T_COST, T_DISCOUNT, T_REDEEMED,
    buffers, close, expire, hold, new_wallet, offsets, settle, unit_cost, wallet,
)


def test_item_cost_defaults_to_value_times_one_minus_margin():
    assert unit_cost(49, None, 0.68) == 49 * (1 - 0.68)
    assert unit_cost(49, 14, 0.68) == 14


def test_settle_caps_discounts_at_the_bill_but_not_items():
    tout, cout, dout = buffers(1, 1, 10)
    w = new_wallet()
    # two discounts of 20 and one item (cost 7, worth 30), all valid through day 9
    n = hold(w, 0, 9.0, 2.0, 0.0, 20.0, 0.0, 20.0, 0.0, 0, 1, 0, 0.5, cout, dout)
    n = hold(w, n, 9.0, 1.0, 7.0, 30.0, 0.0, 7.0, 1.0, 0, 1, 0, 0.5, cout, dout)
    assert np.isclose(dout[D_HELD, 1], 0.5 * (40 + 7))
    settle(w, n, 0, 0, 25.0, 2, 0, 0.5, tout, cout, dout)
    # discount min(40, 25) + item 7 = 32, × r 0.5; 3 rewards × 0.5 redeemed
    assert tout[T_COST, 0] == 16.0 and tout[T_REDEEMED, 0] == 1.5
    assert cout[C_COST, 0] == 16.0  # the customer's cost too
    assert tout[T_DISCOUNT, 0] == 0.5 * (25 + 30)
    assert np.isclose(dout[D_HELD].sum(), 0.0)


def test_a_reward_is_valid_through_its_last_day():
    tout, cout, dout = buffers(1, 1, 30)
    w = new_wallet()
    n = hold(w, 0, 15.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 0, 5, 0, 1.0, cout, dout)  # day 5 + 10
    assert expire(w, n, 15, 0, 0, 1.0, cout, dout) == 1  # day 15: still valid
    assert expire(w, n, 16, 0, 0, 1.0, cout, dout) == 0  # day 16: expired, counted on day 16
    assert cout[C_EXPIRED, 0] == 1 and dout[D_EXPIRED, 16] == 1


def test_close_keeps_rewards_valid_on_the_last_day_outstanding():
    tout, cout, dout = buffers(1, 2, 30)
    w = new_wallet()
    n = hold(w, 0, 20.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 0, 10, 0, 0.8, cout, dout)
    close(w, n, 20, 0, 0, 0.8, cout, dout)
    assert cout[C_OUTSTANDING, 0] == 1 and np.isclose(cout[C_LIABILITY, 0], 7 * 0.8)
    n = hold(w, 0, 19.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 1, 9, 0, 0.8, cout, dout)
    close(w, n, 20, 1, 0, 0.8, cout, dout)
    assert cout[C_EXPIRED, 1] == 1 and cout[C_OUTSTANDING, 1] == 0


def test_wallet_has_room_for_a_customer_s_every_transaction_plus_extra():
    off = offsets(np.array([0, 0, 2, 2, 2, 2], dtype=np.int32), 4)
    assert off.tolist() == [0, 2, 2, 6, 6]
    w = wallet(off, extra=20)
    assert w.shape[1] >= 4 + 20
    tout, cout, dout = buffers(1, 1, 100)
    n = 0
    for d in range(24):
        n = hold(w, n, 99.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0, d, 0, 1.0, cout, dout)
    assert n == 24 and settle(w, n, 0, 0, 100.0, 50, 0, 1.0, tout, cout, dout) == 24
    assert tout[T_COST, 0] == 24


def test_a_full_wallet_raises_instead_of_writing_past_its_end():
    tout, cout, dout = buffers(1, 1, 100)
    w = new_wallet()
    n = 0
    with pytest.raises(ValueError, match="wallet full"):
        for d in range(w.shape[1] + 1):
            n = hold(w, n, 99.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0, d, 0, 1.0, cout, dout)


def test_replay_rejects_unsorted_out_of_window_or_out_of_range_rows():
    from punchcard.ingest.ledger import TxArrays
    from punchcard.program import Scheme
    from punchcard.schemes.member_discount import MemberDiscountParams
    from punchcard.schemes import ReplayContext, replay

    scheme = Scheme("s", "s", "member_discount", MemberDiscountParams(rate=0.1))
    ctx = ReplayContext(0, 10, 0.5, 1.0, np.ones(2, bool), np.zeros(2, np.int32),
                        np.full(2, -1, np.int16), np.arange(2, dtype=np.uint64), 0)

    def tx(cust, day):
        n = len(cust)
        return TxArrays(np.array(cust, np.int32), np.array(day, np.int32), np.ones(n), np.ones(n), 2)

    assert np.isclose(replay(scheme, tx([0, 0, 1], [1, 1, 0]), ctx).cost.sum(), 0.3)
    for cust, day, match in (([0, 0], [2, 1], "sorted"), ([1, 0], [0, 1], "sorted"),
                             ([0, 1], [1, 11], "outside"), ([0, 2], [1, 1], "n_customers")):
        with pytest.raises(ValueError, match=match):
            replay(scheme, tx(cust, day), ctx)
