"""Points: points per unit paid, redeemed in steps as a discount, lapsing after a quiet spell."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from punchcard.ingest import TxArrays
from punchcard.program import PointsParams, Tier
from punchcard.schemes.settle import (
    C_COST, C_EARNED, C_EXPIRED, C_LIABILITY, C_OUTSTANDING, D_COST, D_EARNED, D_EXPIRED,
    D_HELD, D_REDEEMED, T_COST, T_DISCOUNT, T_EARNED, T_REDEEMED, at, buffers, finish,
    mark_reward, offsets, Replay, ReplayContext,
)
from punchcard.runtime import DAYS_PER_MONTH
from punchcard.schemes.tiers import tier_of, tier_table, window_days, window_spend

NO_LAPSE = 2**40


def lapse_days(expiry_months: int | None) -> int:
    """Return the longest gap in whole days a balance survives (months × 30.4375, rounded down)."""
    if expiry_months is None:
        return NO_LAPSE
    return int(math.floor(expiry_months * DAYS_PER_MONTH))


@njit(cache=True)
def _lapse(c, balance, last, gap, pv, r, day0, cout, dout):
    """Record customer c's whole balance as lapsed on the day after its last valid day."""
    k = last + gap + 1 - day0
    cout[C_EXPIRED, c] += balance
    dout[D_EXPIRED, k] += balance
    dout[D_HELD, k] -= r * balance * pv


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, earn, pv, min_redeem, step, gap, min_purchase,
          use_tiers, wd, mins, mult, r, day0, end_day, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        s = off[c]
        e = off[c + 1]
        balance = 0.0
        last = -1
        lo = s
        hi = s
        spend = 0.0
        for i in range(s, e):
            d = day[i]
            a = amount[i]
            if d < join[c]:
                continue
            if balance > 0.0 and d > last + gap:
                _lapse(c, balance, last, gap, pv, r, day0, cout, dout)
                balance = 0.0
            last = d
            if a <= 0.0:
                continue
            k = d - day0
            used = 0.0
            if balance >= min_redeem:
                fit = np.floor(a / (step * pv) + 1e-9) if pv > 0.0 else np.inf
                used = min(np.floor(balance / step), fit) * step
                if used > 0.0:
                    balance -= used
                    tout[T_REDEEMED, at(i, tout)] += r * used
                    tout[T_COST, at(i, tout)] += r * used * pv
                    cout[C_COST, c] += r * used * pv
                    tout[T_DISCOUNT, at(i, tout)] += r * used * pv
                    dout[D_REDEEMED, k] += r * used
                    dout[D_COST, k] += r * used * pv
                    dout[D_HELD, k] -= r * used * pv
                    mark_reward(c, d, 1.0, cout)
            if a < min_purchase:
                continue
            m = 1.0
            if use_tiers:
                lo, hi, spend = window_spend(day, amount, join[c], lo, hi, spend, d, wd, e)
                t = tier_of(spend, mins)
                m = mult[t] if t >= 0 else 1.0
            pts = np.floor(earn * (a - used * pv) * m + 1e-9)
            if pts > 0.0:
                balance += pts
                tout[T_EARNED, at(i, tout)] += pts
                cout[C_EARNED, c] += pts
                dout[D_EARNED, k] += pts
                dout[D_HELD, k] += r * pts * pv
        if balance > 0.0:
            if last + gap < end_day:
                _lapse(c, balance, last, gap, pv, r, day0, cout, dout)
            else:
                cout[C_OUTSTANDING, c] += balance
                cout[C_LIABILITY, c] += r * balance * pv


def replay(params: PointsParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True) -> Replay:
    """Return the points scheme replayed over `tx` (counts in points)."""
    tiers: tuple[Tier, ...] = params.tiers or (Tier("base", 0.0),)
    mins, _, mult, _ = tier_table(tiers)
    step = params.redeem_step or params.min_redeem
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx)
    _scan(offsets(tx.cust, tx.n_customers), tx.day, tx.amount,
          np.asarray(ctx.member, dtype=np.bool_), np.asarray(ctx.join_day, dtype=np.int64),
          float(params.earn_per_unit), float(params.point_value), float(params.min_redeem),
          float(step), lapse_days(params.expiry_months), float(params.min_purchase),
          params.tiers is not None, window_days(params.window_months), mins, mult,
          float(ctx.redemption_rate), int(ctx.start_day), int(ctx.end_day), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx)
