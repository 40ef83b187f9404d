"""Backtest: every scheme over a small hand-worked ledger."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from punchcard.schemes import backtest
from punchcard.ingest.ledger import DataQuality, Ledger
from punchcard.program import (
    Assumptions, Business, FixedCosts, Program, Range, Reward, Sales, Scheme,
)
from punchcard.schemes.perks import PerksParams
from punchcard.schemes.stamp_card import StampCardParams

SUMMARY_KEYS = {"members", "customers_rewarded", "rewards_earned", "rewards_redeemed",
                "rewards_expired", "rewards_outstanding", "reward_cost", "fixed_cost",
                "total_cost", "cost_share_of_revenue", "cost_per_member", "liability",
                "top20_cost_share", "rewarded_share", "rewarded_within_year_share",
                "median_days_to_first_reward", "customers_issued"}
MONTH_KEYS = {"month", "rewards_earned", "rewards_redeemed", "reward_cost", "fixed_cost", "cost",
              "liability"}


def ledger() -> Ledger:
    # window day 10 (1970-01-11) .. day 40 (1970-02-10), 31 days
    # cust 0: 50 (d10), 60 (d12), 70 (d20); cust 1: a return -5 (d11); anonymous 100 (d15)
    tx = pl.DataFrame({"cust": np.array([0, 0, 0, 1], np.int32),
                       "day": np.array([10, 12, 20, 11], np.int32),
                       "amount": [50.0, 60.0, 70.0, -5.0], "items": [1.0] * 4})
    anon = pl.DataFrame({"day": np.array([15], np.int32), "amount": [100.0], "items": [1.0]})
    return Ledger(tx=tx, anon=anon, n_customers=2, cust_hash=np.array([1, 2], np.uint64),
                  birthday_doy=None, start_day=10, end_day=40, quality=DataQuality(5, 5))


def program(*schemes: Scheme) -> Program:
    # fixed costs chosen to be 1 a day (monthly 30.4375) and 1 a member-day (365.25 a year)
    return Program(path=Path("p.yaml"), id="p", name="p", locale="en", currency="EUR",
                   sales=Sales(paths=()), business=Business(0.6, 12, FixedCosts(100, 30.4375, 365.25)),
                   schemes=schemes)


def test_stamp_card_backtest_by_hand():
    card = Scheme("card", "c", "stamp_card", StampCardParams(stamps=2, reward=Reward(10)),
                  assumptions=Assumptions(redemption_rate=Range(0.5, 1.0, 1.5),  # mean 1.0
                                          displacement=Range.fixed(0.0)))  # no free item replaces a paid one
    res = backtest.run(program(card), ledger())["card"]
    s = res.summary
    assert set(s) == SUMMARY_KEYS
    # cust 0: stamps on d10, d12 → reward (item 10 at margin 0.6 costs 4); d20 settles it
    assert s["members"] == 2 and s["customers_rewarded"] == 1 and s["customers_issued"] == 1
    assert s["rewards_earned"] == 1 and s["rewards_redeemed"] == 1.0
    assert s["rewards_expired"] == 0 and s["rewards_outstanding"] == 0
    assert np.isclose(s["reward_cost"], 4.0)
    # fixed: setup 100 + 31 days × 1 + member-days (31 for cust 0 + 30 for cust 1) × 1 = 192
    assert np.isclose(s["fixed_cost"], 192.0) and np.isclose(s["total_cost"], 196.0)
    # revenue: 50 + 60 + 70 - 5 + 100 anonymous = 275
    assert np.isclose(s["cost_share_of_revenue"], 196 / 275)
    assert np.isclose(s["cost_per_member"], 98.0)
    assert s["top20_cost_share"] == 1.0  # top 20 % (1 of 2, rounded up) is cust 0
    # the reward is first used on d20, 10 days after joining on d10
    assert s["rewarded_share"] == 0.5 and s["median_days_to_first_reward"] == 10.0
    m = res.monthly
    assert [x["month"] for x in m] == ["1970-01", "1970-02"] and set(m[0]) == MONTH_KEYS
    # January: days 10..30 = 21 days → 100 + 21 + member-days 21 + 20 = 162; February 10 + 20 = 30
    assert np.isclose(m[0]["fixed_cost"], 162.0) and np.isclose(m[1]["fixed_cost"], 30.0)
    assert np.isclose(m[0]["reward_cost"], 4.0) and np.isclose(m[0]["cost"], 166.0)
    d = res.distribution
    assert d["rewards_per_member"][0] == {"rewards": "0", "members": 1}
    assert d["rewards_per_member"][1] == {"rewards": "1", "members": 1}
    assert d["rewards_per_member"][-1]["rewards"] == "10+"
    assert d["cost_by_decile"][0] == {"decile": 1, "revenue": 180.0, "cost": 4.0}
    assert len(d["cost_by_decile"]) == 10
    assert d["days_to_first_reward"][0] == {"days": "0–30", "customers": 1}


def test_free_item_cost_follows_displacement():
    # the same card: one free item worth 10 that costs 4 is handed over on d20
    def cost(d: Range) -> tuple[float, float]:
        card = Scheme("card", "c", "stamp_card", StampCardParams(stamps=2, reward=Reward(10)),
                      assumptions=Assumptions(displacement=d))
        s = backtest.run(program(card), ledger())["card"]
        return s.summary["reward_cost"], s.monthly[0]["reward_cost"]

    assert np.allclose(cost(Range.fixed(0.0)), 4.0)  # displacement 0: today's cost of goods
    assert np.allclose(cost(Range.fixed(1.0)), 10.0)  # every free item replaces a paid one: the price
    # a range costs at its mean: (0.5 + 0.8 + 1.0) / 3 = 0.7667 → 4 + 0.7667 × 6 = 8.6
    assert np.allclose(cost(Range(0.5, 0.8, 1.0)), 8.6)


def test_customers_rewarded_counts_rewards_used_not_issued():
    # a stamp card of 2: cust 0 fills a card on d12 and uses it on d20; a card of 3 fills on d20
    # (stamps d10, d12, d20) and is never used: issued to one customer, used by none
    two = Scheme("two", "c", "stamp_card", StampCardParams(stamps=2, reward=Reward(10)))
    three = Scheme("three", "c", "stamp_card", StampCardParams(stamps=3, reward=Reward(10)))
    res = backtest.run(program(two, three), ledger())
    assert (res["two"].summary["customers_issued"], res["two"].summary["customers_rewarded"]) == (1, 1)
    assert (res["three"].summary["customers_issued"], res["three"].summary["customers_rewarded"]) == (1, 0)
    assert res["three"].summary["rewarded_share"] == 0.0


def test_used_probability_by_hand():
    # two chances at r = 0.5: 1 − 0.5² = 0.75; none: 0; r = 1 with one chance: 1
    assert np.allclose(backtest.used_probability(np.array([2.0, 0.0]), 0.5), [0.75, 0.0])
    assert np.allclose(backtest.used_probability(np.array([1.0, 0.0]), 1.0), [1.0, 0.0])


def test_all_schemes_from_one_ledger_and_plain_types():
    perks = Scheme("perks", "p", "perks", PerksParams(cost_per_member_year=365.25))
    card = Scheme("card", "c", "stamp_card", StampCardParams(stamps=2, reward=Reward(10)))
    res = backtest.run(program(card, perks), ledger())
    assert list(res) == ["card", "perks"]
    s = res["perks"].summary
    assert np.isclose(s["reward_cost"], 61.0) and s["customers_rewarded"] == 0
    assert s["median_days_to_first_reward"] is None
    assert np.isclose(sum(x["cost"] for x in res["perks"].monthly), s["total_cost"])
    for r in res.values():
        for v in r.summary.values():
            assert v is None or type(v) in (int, float)
            assert v is None or math.isfinite(v)
