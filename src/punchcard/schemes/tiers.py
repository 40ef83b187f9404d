"""Tiers: trailing-window spend sets each purchase's tier, its discount and the member's perks.

(Its compiled scan writes through settle.py's helpers, tables stored one row per column.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

import math

import numpy as np
from numba import njit

from punchcard.messages import N_
from punchcard.program import Key, Kind, Tier, TIERS, WINDOW_MONTHS
from punchcard.schemes.words import money, tier_list, window_sentence
from punchcard.ingest import TxArrays
from punchcard.runtime import DAYS_PER_MONTH
from punchcard.schemes.settle import (
    accrue, buffers, finish, immediate, Replay, ReplayContext, Tables, tx_offsets, scan_inputs,
)

DAYS_PER_YEAR = 365.25


def window_days(window_months: int) -> int:
    """Return how many days before a purchase its tier looks back (months × 30.4375, whole days)."""
    return int(math.floor(window_months * DAYS_PER_MONTH))


def tier_table(tiers: tuple[Tier, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return min_spend, discount, multiplier and perk cost per year as arrays sorted by min_spend."""
    order = sorted(tiers, key=lambda t: t.min_spend)
    return (np.array([t.min_spend for t in order], dtype=np.float64),
            np.array([t.discount for t in order], dtype=np.float64),
            np.array([t.multiplier for t in order], dtype=np.float64),
            np.array([t.perk_cost_year for t in order], dtype=np.float64))


@njit(cache=True, inline="always")
def tier_of(spend, mins):
    """Return the index of the highest tier whose min_spend the spend reaches, or -1."""
    t = -1
    for k in range(mins.shape[0]):
        if spend >= mins[k] - 1e-9:
            t = k
    return t


@njit(cache=True, inline="always")
def window_spend(day, amount, join, lo, hi, spend, d, wd, e):
    """Move the trailing window to end before day d; return (lo, hi, spend over days d-wd..d-1)."""
    while hi < e and day[hi] < d:
        if day[hi] >= join:
            spend += amount[hi]
        hi += 1
    while lo < hi and day[lo] < d - wd:
        if day[lo] >= join:
            spend -= amount[lo]
        lo += 1
    return lo, hi, spend


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, wd, mins, disc, perk, r, day0, end_day,
          tout, cout, dout):
    has_perks = False
    for k in range(perk.shape[0]):
        has_perks |= perk[k] != 0.0
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        s = off[c]
        e = off[c + 1]
        lo = s
        hi = s
        spend = 0.0
        for i in range(s, e):
            d = day[i]
            a = amount[i]
            if d < join[c] or a <= 0.0:
                continue
            lo, hi, spend = window_spend(day, amount, join[c], lo, hi, spend, d, wd, e)
            t = tier_of(spend, mins)
            if t >= 0 and disc[t] > 0.0:
                immediate(i, c, d, day0, r, disc[t] * a, tout, cout, dout)
        # perks: the tier held on each member day, piece by piece between window changes;
        # consecutive pieces in the same tier accrue as one run
        if not has_perks:
            continue
        cur = max(join[c], day0)
        lo = s
        hi = s
        spend = 0.0
        run_start = cur
        run_tier = -2
        while cur <= end_day:
            lo, hi, spend = window_spend(day, amount, join[c], lo, hi, spend, cur, wd, e)
            nxt = end_day + 1
            if hi < e:
                nxt = min(nxt, day[hi] + 1)
            if lo < hi:
                nxt = min(nxt, day[lo] + wd + 1)
            t = tier_of(spend, mins)
            if t != run_tier:
                if run_tier >= 0:
                    accrue(c, run_start, cur - 1, perk[run_tier] / 365.25, day0, cout, dout)
                run_start = cur
                run_tier = t
            cur = nxt
        if run_tier >= 0:
            accrue(c, run_start, end_day, perk[run_tier] / 365.25, day0, cout, dout)


def replay(params: TiersParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the tiers scheme replayed over `tx`: discounts at the till, perks over time."""
    mins, disc, _, perk = tier_table(params.tiers)
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    _scan(tx_offsets(tx), tx.day, tx.amount, *scan_inputs(ctx),
          window_days(params.window_months), mins, disc, perk, float(ctx.redemption_rate),
          int(ctx.start_day), int(ctx.end_day), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class TiersParams:
    tiers: tuple[Tier, ...]
    window_months: int = 12



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    tiers = p.get("tiers") or []
    out = [tr.gettext("The more members spend, the bigger their discount: %(tiers)s.")
           % {"tiers": tier_list(tiers, fmt, tr, multiplier=False)}, window_sentence(p, fmt, tr)]
    perk = max((t.get("perk_cost_year", 0) for t in tiers), default=0)
    if perk:
        out.append(tr.gettext("Tier perks cost up to %(cost)s per member a year.") % {"cost": money(fmt, perk)})
    return out


KIND = Kind(
    name="tiers",
    order=30,
    doc="Status tiers by trailing spend, each with a discount and perks.",
    params=TiersParams,
    keys=(
        Key("tiers", TIERS, "The tiers (sorted by `min_spend` when read)."),
        WINDOW_MONTHS,
    ),
    tunable=(("min_spend_scale", False, "Factor applied to every tier's `min_spend` (the thresholds)."),
             ("discount_scale", False, "Factor applied to every tier's `discount`.")),
    replay=replay,
    label=N_("Tiers"),
    summary=summary,
    settings={},
    starter="""\
  # - id: tiers
  #   name: Silver and gold
  #   kind: tiers
  #   window_months: 12
  #   tiers:
  #     - {name: Silver, min_spend: 1000, discount: 0.05, multiplier: 1, perk_cost_year: 0}
  #     - {name: Gold, min_spend: 5000, discount: 0.10, multiplier: 1, perk_cost_year: 20}
""",
)
