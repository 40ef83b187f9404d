"""Property tests: conservation of rewards, caps, zero cost, row order and sharding."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from punchcard.ingest import TxArrays
from punchcard.program import Reward, Scheme, Tier
from punchcard.schemes.birthday import BirthdayParams
from punchcard.schemes.coupons import CouponsParams
from punchcard.schemes.member_discount import MemberDiscountParams
from punchcard.schemes.perks import PerksParams
from punchcard.schemes.points import PointsParams
from punchcard.schemes.stamp_card import StampCardParams
from punchcard.schemes.tiers import TiersParams
from punchcard.schemes.welcome_offer import WelcomeOfferParams
from punchcard.schemes import ReplayContext, replay

END = 400
AMOUNTS = st.sampled_from([-30.0, -5.0, 3.0, 9.99, 12.5, 20.0, 35.0, 49.0, 120.0, 400.0])


def _schemes(value: float, rate: float) -> list[Scheme]:
    """Return one scheme of every kind (value/rate scale what each reward is worth)."""
    tiers = (Tier("base", 0.0, rate * 0.05, 1.0, 0.0), Tier("gold", 150.0, rate * 0.1, 2.0, value))
    params = [
        StampCardParams(stamps=3, reward=Reward(value, None, "item"), min_purchase=10, expiry_days=30),
        StampCardParams(stamps=50, reward=Reward(value, None, "discount"), counter="spend",
                        head_start=10, expiry_days=20),
        StampCardParams(stamps=4, reward=Reward(value), counter="items"),
        PointsParams(earn_per_unit=1.0, point_value=rate * 0.05, min_redeem=100, redeem_step=50,
                     expiry_months=2),
        PointsParams(earn_per_unit=2.0, point_value=rate * 0.01, min_redeem=60, tiers=tiers,
                     window_months=1),
        TiersParams(tiers=tiers, window_months=2),
        MemberDiscountParams(rate=rate * 0.1),
        MemberDiscountParams(rate=rate * 0.2, cashback=True, expiry_days=25),
        WelcomeOfferParams(value=value, min_purchase=10, expiry_days=40, new_after_days=30),
        WelcomeOfferParams(value=value, type="item", expiry_days=None, new_after_days=0),
        BirthdayParams(value=value, window_days=20),
        CouponsParams(every_days=14, active_days=30, valid_days=21, rate=rate * 0.2),
        CouponsParams(every_days=7, active_days=60, valid_days=30, value=value, min_purchase=10),
        PerksParams(cost_per_member_year=value, cost_per_event=value, events_per_year=2),
    ]
    kinds = {StampCardParams: "stamp_card", PointsParams: "points", TiersParams: "tiers",
             MemberDiscountParams: "member_discount", WelcomeOfferParams: "welcome_offer",
             BirthdayParams: "birthday", CouponsParams: "coupons", PerksParams: "perks"}
    return [Scheme(f"s{k}", "s", kinds[type(p)], p) for k, p in enumerate(params)]


SCHEMES = _schemes(10.0, 1.0)


@st.composite
def ledgers(draw):
    """Return (rows as cust, day, amount, items arrays sorted, n_customers)."""
    n = draw(st.integers(1, 6))
    k = draw(st.integers(0, 40))
    cust = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)), dtype=np.int32)
    day = np.array(draw(st.lists(st.integers(0, END), min_size=k, max_size=k)), dtype=np.int32)
    amount = np.array(draw(st.lists(AMOUNTS, min_size=k, max_size=k)), dtype=np.float64)
    items = np.array(draw(st.lists(st.integers(1, 5), min_size=k, max_size=k)), dtype=np.float64)
    return _sorted(cust, day, amount, items, n)


def _sorted(cust, day, amount, items, n) -> TxArrays:
    order = np.lexsort((items, amount, day, cust))
    return TxArrays(cust[order], day[order], amount[order], items[order], n)


def _ctx(tx: TxArrays, r: float, hashes: np.ndarray | None = None) -> ReplayContext:
    n = tx.n_customers
    member = np.bincount(tx.cust, minlength=n) > 0
    join = np.full(n, END + 1, dtype=np.int32)
    first = np.searchsorted(tx.cust, np.arange(n))
    join[member] = tx.day[first[member]]
    bd = np.where(np.arange(n) % 2 == 0, -1, 1 + (np.arange(n) * 37) % 366).astype(np.int16)
    h = np.arange(n, dtype=np.uint64) * np.uint64(7919) if hashes is None else hashes
    return ReplayContext(0, END, 0.6, r, member, join, bd, h, data_start_day=0)


def _totals(rep) -> dict[str, float]:
    return {"earned": rep.cust_earned.sum(), "redeemed": rep.redeemed.sum(),
            "expired": rep.expired.sum(), "outstanding": rep.outstanding.sum(),
            "cost": rep.cost.sum() + rep.accrued.sum(), "liability": rep.liability.sum()}


@settings(max_examples=60, deadline=None)
@given(ledgers(), st.floats(0.05, 1.0))
def test_rewards_are_conserved_and_daily_series_add_up(tx, r):
    for scheme in SCHEMES:
        rep = replay(scheme, tx, _ctx(tx, r))
        t = _totals(rep)
        # every reward earned is redeemed (÷ r), expired or outstanding
        assert np.isclose(t["earned"], t["redeemed"] / r + t["expired"] + t["outstanding"]), scheme
        assert np.isclose(rep.daily_earned.sum(), t["earned"])
        assert np.isclose(rep.daily_redeemed.sum(), t["redeemed"])
        assert np.isclose(rep.daily_expired.sum(), t["expired"])
        assert np.isclose(rep.daily_cost.sum(), t["cost"])
        assert np.isclose(rep.daily_liability[-1], t["liability"], atol=1e-9)
        assert np.all(rep.daily_liability >= -1e-9)


@settings(max_examples=60, deadline=None)
@given(ledgers(), st.floats(0.05, 1.0))
def test_costs_stay_within_the_rules(tx, r):
    positive = tx.amount > 0
    for scheme in SCHEMES:
        rep = replay(scheme, tx, _ctx(tx, r))
        assert np.all(rep.cost >= 0) and np.all(rep.accrued >= 0)
        assert np.all(rep.cost[~positive] == 0), "returns never settle"
        assert np.all(rep.earned[~positive] == 0), "returns never earn"
        p = scheme.params
        is_item = getattr(p, "type", None) == "item" or (
            isinstance(p, StampCardParams) and p.reward.type == "item")
        if not is_item:
            # a discount never exceeds the bill (× r)
            assert np.all(rep.cost <= r * np.maximum(tx.amount, 0) + 1e-9), scheme


@settings(max_examples=40, deadline=None)
@given(ledgers())
def test_nothing_redeemed_or_nothing_worth_costs_nothing(tx):
    for scheme in SCHEMES:
        rep = replay(scheme, tx, _ctx(tx, 0.0))
        assert rep.cost.sum() == 0 and rep.liability.sum() == 0, scheme
    for scheme in _schemes(0.0, 0.0):
        rep = replay(scheme, tx, _ctx(tx, 1.0))
        assert rep.cost.sum() == 0 and rep.accrued.sum() == 0 and rep.liability.sum() == 0, scheme


@settings(max_examples=40, deadline=None)
@given(ledgers(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(tx, rnd):
    perm = np.array(rnd.sample(range(len(tx.day)), len(tx.day)), dtype=np.int64)
    shuffled = _sorted(tx.cust[perm], tx.day[perm], tx.amount[perm], tx.items[perm], tx.n_customers)
    for scheme in SCHEMES:
        a = replay(scheme, tx, _ctx(tx, 0.9))
        b = replay(scheme, shuffled, _ctx(shuffled, 0.9))
        for name in ("earned", "redeemed", "cost", "cust_earned", "expired", "outstanding",
                     "liability", "accrued", "daily_cost", "daily_liability"):
            assert np.allclose(getattr(a, name), getattr(b, name)), (scheme, name)


@settings(max_examples=40, deadline=None)
@given(ledgers(), st.integers(2, 4))
def test_sharded_replay_equals_whole(tx, k):
    n = tx.n_customers
    hashes = np.arange(n, dtype=np.uint64) * np.uint64(7919)
    whole_ctx = _ctx(tx, 0.85, hashes)
    shard = np.arange(n) % k
    for scheme in SCHEMES:
        whole = replay(scheme, tx, whole_ctx)
        per_cust = {name: np.zeros(n) for name in ("cust_earned", "expired", "outstanding",
                                                   "liability", "accrued")}
        per_tx = np.zeros(len(tx.day))
        daily = np.zeros_like(whole.daily_cost)
        for s in range(k):
            ids = np.flatnonzero(shard == s)
            new_id = np.full(n, -1)
            new_id[ids] = np.arange(len(ids))
            rows = np.flatnonzero(shard[tx.cust] == s)
            sub = TxArrays(new_id[tx.cust[rows]].astype(np.int32), tx.day[rows], tx.amount[rows],
                           tx.items[rows], len(ids))
            ctx = ReplayContext(0, END, 0.6, 0.85, whole_ctx.member[ids], whole_ctx.join_day[ids],
                                whole_ctx.birthday_doy[ids], hashes[ids], data_start_day=0)
            part = replay(scheme, sub, ctx)
            for name, arr in per_cust.items():
                arr[ids] = getattr(part, name)
            per_tx[rows] = part.cost
            daily += part.daily_cost
        for name, arr in per_cust.items():
            assert np.allclose(arr, getattr(whole, name)), (scheme, name)
        assert np.allclose(per_tx, whole.cost)
        assert np.allclose(daily, whole.daily_cost)


@settings(max_examples=40, deadline=None)
@given(ledgers(), st.floats(0.05, 1.0))
def test_without_per_transaction_tables_the_figures_are_the_same(tx, r):
    # the backtest and the forecast replay with per_tx=False: nothing per customer or per day may move
    import dataclasses

    for scheme in SCHEMES:
        full = replay(scheme, tx, _ctx(tx, r))
        lean = replay(scheme, tx, _ctx(tx, r), per_tx=False)
        assert lean.cost is None and lean.earned is None
        # the per-customer cost is the per-transaction cost summed over each customer's rows
        assert np.allclose(full.cust_cost, np.bincount(tx.cust, weights=full.cost, minlength=tx.n_customers))
        for f in dataclasses.fields(full):
            a, b = getattr(full, f.name), getattr(lean, f.name)
            if f.name in ("earned", "redeemed", "cost", "discount"):
                continue
            assert np.array_equal(a, b), (scheme.kind, f.name)
