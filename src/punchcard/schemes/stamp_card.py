"""Stamp card: a stamp per qualifying visit (or item, or unit of spend); a reward per full card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

import numpy as np
from numba import njit

from punchcard.messages import N_
from punchcard.program import DAYS, Key, Kind, MAX_COUNT, MIN_PURCHASE, Num, REWARD, Reward, Str
from punchcard.schemes.words import money, count_sentence
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, expire, expiry_day, finish, hold, Replay, ReplayContext, settle,
    unit_cost, wallet, Tables, tx_offsets, scan_inputs,
)

COUNTERS = {"visits": 0, "items": 1, "spend": 2}


@njit(cache=True, nogil=True)
def _scan(off, day, amount, items, member, join, counter, need, min_purchase,
          valid, cost, face, liab, item, r, day0, end_day, w, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        progress = 0.0  # stamps beyond the head start on the current card
        for i in range(off[c], off[c + 1]):
            d = day[i]
            a = amount[i]
            if d < join[c] or a <= 0.0:
                continue
            if n > 0:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
                    continue  # the free one earns no stamp
            if a < min_purchase:
                continue
            if counter == 0:
                progress += 1.0
            elif counter == 1:
                progress += items[i]
            else:
                progress += a
            k = np.floor(progress / need + 1e-9)
            if k > 0.0:
                progress = max(progress - k * need, 0.0)
                tout[T_EARNED, at(i, tout)] += k
                n = hold(w, n, d + valid, k, cost, face, 0.0, liab, item, c, d, day0, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: StampCardParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the stamp card replayed over `tx`: cards fill, rewards settle at the next visit."""
    reward = params.reward
    is_item = reward.type == "item"
    cost = unit_cost(reward.value, reward.cost, ctx.gross_margin) if is_item else 0.0
    liab = cost if is_item else float(reward.value)
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    off = tx_offsets(tx)
    _scan(off, tx.day, tx.amount, tx.items, *scan_inputs(ctx),
          COUNTERS[params.counter], float(params.stamps - params.head_start),
          float(params.min_purchase), expiry_day(params.expiry_days), cost, float(reward.value),
          liab, 1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
          int(ctx.end_day), wallet(off, 0, tables), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class StampCardParams:
    stamps: int
    reward: Reward
    counter: Literal["visits", "items", "spend"] = "visits"
    min_purchase: float = 0.0
    expiry_days: int | None = None
    head_start: int = 0


def _head_start_below_stamps(values: dict, nodes: dict, node: Any, path: str,
                             ctx: Any) -> None:
    head, stamps = values.get("head_start", 0), values["stamps"]
    if head >= stamps:
        ctx.report(nodes["head_start"], f"{path}.head_start",
                   f"head_start {head} must be less than stamps {stamps}",
                   f"lower `head_start` below {stamps}, e.g. `head_start: {min(2, stamps - 1)}`")


def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    reward = p.get("reward") or {}
    stamps = int(p.get("stamps", 0))
    item = reward.get("type", "item") == "item"
    values = {"stamps": fmt.number(stamps), "value": money(fmt, reward.get("value")),
              "threshold": money(fmt, stamps)}
    counter = p.get("counter", "visits")
    if counter == "items" and item:
        first = tr.ngettext("Buy %(stamps)s item, get the next one free (worth %(value)s).",
                            "Buy %(stamps)s items, get the next one free (worth %(value)s).", stamps)
    elif counter == "items":
        first = tr.ngettext("Buy %(stamps)s item, get %(value)s off the next purchase.",
                            "Buy %(stamps)s items, get %(value)s off the next purchase.", stamps)
    elif counter == "spend" and item:
        first = tr.gettext("Spend %(threshold)s in total, get a free item worth %(value)s.")
    elif counter == "spend":
        first = tr.gettext("Spend %(threshold)s in total, get %(value)s off the next purchase.")
    elif item:
        first = tr.gettext("Buy %(stamps)s, get the next one free (worth %(value)s).")
    else:
        first = tr.gettext("Buy %(stamps)s, get %(value)s off the next purchase.")
    out = [first % values]
    if p.get("min_purchase"):
        out.append(tr.gettext("Purchases under %(min)s do not count.") % {"min": money(fmt, p["min_purchase"])})
    if p.get("head_start"):
        n = int(p["head_start"])
        out.append(count_sentence(tr.ngettext("New cards start with %(n)s stamp already filled in.",
                                  "New cards start with %(n)s stamps already filled in.", n), n, fmt))
    if p.get("expiry_days") is None:
        out.append(tr.gettext("Rewards never expire."))
    else:
        n = int(p["expiry_days"])
        out.append(count_sentence(tr.ngettext("A reward must be used within %(n)s day.",
                                  "A reward must be used within %(n)s days.", n), n, fmt))
    return out


def card(p: StampCardParams) -> dict:
    """Return the card the forecast's goal-gradient state machine runs for (forecast.worlds)."""
    return {"stamps": p.stamps, "counter": p.counter, "min_purchase": p.min_purchase,
            "head_start": p.head_start}


KIND = Kind(
    name="stamp_card",
    order=10,
    doc="A stamp per qualifying purchase; a reward when the card is full.",
    params=StampCardParams,
    keys=(
        Key("stamps", Num(1, MAX_COUNT, integer=True, example=9), "Stamps needed for a reward."),
        Key("counter", Str(choices=("visits", "items", "spend")),
            "What earns stamps: each visit, each item, or each currency unit spent.",
            "visits"),
        MIN_PURCHASE,
        Key("reward", REWARD, "The reward for a full card."),
        Key("expiry_days", DAYS, "Days an earned reward stays valid (none = never expires).",
            None),
        Key("head_start", Num(0, MAX_COUNT, integer=True, example=2),
            "Stamps already on every new card (endowed progress).", 0),
    ),
    checks=(_head_start_below_stamps,),
    tunable=(("stamps", True, "Stamps needed for a reward."),
             ("reward.value", False, "Reward value (an explicit `reward.cost` scales with it)."),
             ("min_purchase", False, "Smallest bill that earns a stamp."),
             ("head_start", True, "Stamps already on every new card.")),
    replay=replay,
    label=N_("Stamp card"),
    summary=summary,
    settings={
        "stamps": (N_("Stamps for a reward"), "count"),
        "counter": (N_("A stamp for each"), "counter"),
        "reward": (N_("Reward"), "text"),
        "head_start": (N_("Stamps already on a new card"), "count"),
    },
    starter="""\
  - id: stamp-card
    name: Tenth visit free
    kind: stamp_card
    stamps: 9                 # buy nine …
    counter: visits           # visits | items | spend
    min_purchase: 0           # smallest bill that earns a stamp
    reward: {value: 10, type: item}   # TODO: what the free item is worth to the customer; add cost: to override value × (1 − gross_margin)
    expiry_days: 365
    head_start: 0             # stamps pre-filled on every new card
""",
    card=card,
)
