"""The settlement core, driven directly: hold, expire, settle, close."""

from __future__ import annotations

import numpy as np

from punchcard.schemes.settle import (
    C_EXPIRED, C_LIABILITY, C_OUTSTANDING, D_EXPIRED, D_HELD, T_COST, T_DISCOUNT, T_REDEEMED,
    buffers, close, expire, hold, new_wallet, settle, unit_cost,
)


def test_item_cost_defaults_to_value_times_one_minus_margin():
    assert unit_cost(49, None, 0.68) == 49 * (1 - 0.68)
    assert unit_cost(49, 14, 0.68) == 14


def test_settle_caps_discounts_at_the_bill_but_not_items():
    tout, cout, dout = buffers(1, 1, 10)
    w = new_wallet()
    # two discounts of 20 and one item (cost 7, worth 30), all valid through day 9
    w, n = hold(w, 0, 9.0, 2.0, 0.0, 20.0, 0.0, 20.0, 0.0, 0, 1, 0, 0.5, cout, dout)
    w, n = hold(w, n, 9.0, 1.0, 7.0, 30.0, 0.0, 7.0, 1.0, 0, 1, 0, 0.5, cout, dout)
    assert np.isclose(dout[1, D_HELD], 0.5 * (40 + 7))
    settle(w, n, 0, 25.0, 2, 0, 0.5, tout, dout)
    # discount min(40, 25) + item 7 = 32, × r 0.5; 3 rewards × 0.5 redeemed
    assert tout[0, T_COST] == 16.0 and tout[0, T_REDEEMED] == 1.5
    assert tout[0, T_DISCOUNT] == 0.5 * (25 + 30)
    assert np.isclose(dout[:, D_HELD].sum(), 0.0)


def test_a_reward_is_valid_through_its_last_day():
    tout, cout, dout = buffers(1, 1, 30)
    w = new_wallet()
    w, n = hold(w, 0, 15.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 0, 5, 0, 1.0, cout, dout)  # day 5 + 10
    assert expire(w, n, 15, 0, 0, 1.0, cout, dout) == 1  # day 15: still valid
    assert expire(w, n, 16, 0, 0, 1.0, cout, dout) == 0  # day 16: expired, counted on day 16
    assert cout[0, C_EXPIRED] == 1 and dout[16, D_EXPIRED] == 1


def test_close_keeps_rewards_valid_on_the_last_day_outstanding():
    tout, cout, dout = buffers(1, 2, 30)
    w = new_wallet()
    w, n = hold(w, 0, 20.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 0, 10, 0, 0.8, cout, dout)
    close(w, n, 20, 0, 0, 0.8, cout, dout)
    assert cout[0, C_OUTSTANDING] == 1 and np.isclose(cout[0, C_LIABILITY], 7 * 0.8)
    w, n = hold(w, 0, 19.0, 1.0, 7.0, 7.0, 0.0, 7.0, 1.0, 1, 9, 0, 0.8, cout, dout)
    close(w, n, 20, 1, 0, 0.8, cout, dout)
    assert cout[1, C_EXPIRED] == 1 and cout[1, C_OUTSTANDING] == 0


def test_wallet_grows_past_its_initial_size():
    tout, cout, dout = buffers(1, 1, 100)
    w = new_wallet()
    n = 0
    for d in range(20):
        w, n = hold(w, n, 99.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0, d, 0, 1.0, cout, dout)
    assert n == 20 and settle(w, n, 0, 100.0, 50, 0, 1.0, tout, dout) == 20
    assert tout[0, T_COST] == 20
