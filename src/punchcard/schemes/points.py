"""Points: points per unit paid, redeemed in steps as a discount, lapsing after a quiet spell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

import math

import numpy as np
from numba import njit

from punchcard.messages import N_
from punchcard.program import Key, Kind, MAX_COUNT, MIN_PURCHASE, Num, POSITIVE, Tier, TIERS, WINDOW_MONTHS
from punchcard.schemes.words import share, money, tier_list, window_sentence
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import (
    C_COST, C_EARNED, C_EXPIRED, C_LIABILITY, C_OUTSTANDING, D_COST, D_EARNED, D_EXPIRED, D_HELD,
    D_REDEEMED, T_COST, T_DISCOUNT, T_EARNED, T_REDEEMED, at, buffers, finish, mark_reward,
    mark_use, Replay, ReplayContext, Tables, tx_offsets, scan_inputs,
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
                    mark_use(c, d, cout)
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


def replay(params: PointsParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the points scheme replayed over `tx` (counts in points)."""
    tiers: tuple[Tier, ...] = params.tiers or (Tier("base", 0.0),)
    mins, _, mult, _ = tier_table(tiers)
    step = params.redeem_step or params.min_redeem
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    _scan(tx_offsets(tx), tx.day, tx.amount, *scan_inputs(ctx),
          float(params.earn_per_unit), float(params.point_value), float(params.min_redeem),
          float(step), lapse_days(params.expiry_months), float(params.min_purchase),
          params.tiers is not None, window_days(params.window_months), mins, mult,
          float(ctx.redemption_rate), int(ctx.start_day), int(ctx.end_day), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class PointsParams:
    earn_per_unit: float
    point_value: float
    min_redeem: int
    redeem_step: int | None = None
    expiry_months: int | None = None
    min_purchase: float = 0.0
    tiers: tuple[Tier, ...] | None = None
    window_months: int = 12



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    rate = p.get("earn_per_unit", 0) * p.get("point_value", 0)
    threshold = p.get("min_redeem", 0) * p.get("point_value", 0)
    out = [tr.gettext("Members collect points worth %(rate)s of what they spend and can use them as "
                      "a discount once they have %(threshold)s saved up.")
           % {"rate": share(fmt, rate), "threshold": money(fmt, threshold)}]
    if p.get("min_purchase"):
        out.append(tr.gettext("Purchases under %(min)s earn no points.") % {"min": money(fmt, p["min_purchase"])})
    if p.get("expiry_months"):
        months = int(p["expiry_months"])
        out.append(tr.ngettext("Points lapse after %(n)s month without a purchase.",
                               "Points lapse after %(n)s months without a purchase.",
                               months) % {"n": fmt.number(months)})
    if p.get("tiers"):
        out.append(tr.gettext("Higher tiers earn points faster: %(tiers)s.")
                   % {"tiers": tier_list(p["tiers"], fmt, tr, multiplier=True)})
        out.append(window_sentence(p, fmt, tr))
    return out


KIND = Kind(
    name="points",
    order=20,
    doc="Points per currency unit, redeemed as money off.",
    params=PointsParams,
    keys=(
        Key("earn_per_unit", Num(0, MAX_COUNT, min_exclusive=True, example=1),
            "Points earned per currency unit paid."),
        Key("point_value", POSITIVE, "Money off per point redeemed."),
        Key("min_redeem", Num(1, 1e9, integer=True, example=100),
            "Smallest balance that is redeemed."),
        Key("redeem_step", Num(1, 1e9, integer=True, example=100),
            "Points are redeemed in multiples of this.", None, "`min_redeem`"),
        Key("expiry_months", Num(1, 1200, integer=True, example=12),
            "Months without a purchase after which the balance lapses (none = never).", None),
        MIN_PURCHASE,
        Key("tiers", TIERS, "Optional tiers whose `multiplier` scales the points earned.",
            None),
        WINDOW_MONTHS,
    ),
    tunable=(("earn_per_unit", False, "Points earned per currency unit paid."),
             ("point_value", False, "Money off per point."),
             ("min_redeem", True, "Smallest balance that is redeemed.")),
    replay=replay,
    label=N_("Points"),
    summary=summary,
    settings={
        "earn_per_unit": (N_("Points per unit of money spent"), "number"),
        "point_value": (N_("Value of one point"), "money"),
        "min_redeem": (N_("Points needed before use"), "count"),
        "redeem_step": (N_("Points are used in steps of"), "step"),
        "expiry_months": (N_("Points lapse after inactivity of"), "months_or_never"),
    },
    starter="""\
  # - id: points
  #   name: Points on every purchase
  #   kind: points
  #   earn_per_unit: 1        # points per currency unit spent
  #   point_value: 0.01       # value of one point when redeemed
  #   min_redeem: 500
  #   redeem_step: 500
  #   expiry_months: 12
  #   min_purchase: 0
""",
)
