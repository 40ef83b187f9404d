"""Welcome offer: a voucher at a new customer's first purchase, settled at their next one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

from numba import njit

from punchcard.messages import N_
from punchcard.program import COST, DAYS, Key, Kind, MAX_DAYS, MIN_PURCHASE, Num, POSITIVE, REWARD_TYPE
from punchcard.schemes.words import money, count_sentence
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, data_start, expire, expiry_day, finish, hold, Replay,
    ReplayContext, settle, unit_cost, wallet, Tables, tx_offsets, scan_inputs,
)


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, new_from, min_purchase, valid, cost, face, liab, item,
          r, day0, end_day, w, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        s = off[c]
        e = off[c + 1]
        if not member[c] or s == e:
            continue
        d = day[s]
        if d < new_from or d < join[c] or amount[s] <= 0.0:
            continue  # an existing customer, not yet a member, or a first visit that is a return
        tout[T_EARNED, at(s, tout)] += 1.0
        n = hold(w, 0, d + valid, 1.0, cost, face, 0.0, liab, item, c, d, day0, r, cout, dout)
        for i in range(s + 1, e):
            a = amount[i]
            if a <= 0.0 or a < min_purchase:
                continue
            n = expire(w, n, day[i], c, day0, r, cout, dout)
            if n > 0:
                settle(w, n, i, c, a, day[i], day0, r, tout, cout, dout)
            n = 0
            break
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: WelcomeOfferParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the welcome offer replayed over `tx`."""
    is_item = params.type == "item"
    cost = unit_cost(params.value, params.cost, ctx.gross_margin) if is_item else 0.0
    liab = cost if is_item else float(params.value)
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    _scan(tx_offsets(tx), tx.day, tx.amount, *scan_inputs(ctx),
          data_start(ctx) + int(params.new_after_days), float(params.min_purchase),
          expiry_day(params.expiry_days), cost, float(params.value), liab,
          1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
          int(ctx.end_day), wallet(None, 0, tables), tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class WelcomeOfferParams:
    value: float
    type: Literal["item", "discount"] = "discount"
    cost: float | None = None
    min_purchase: float = 0.0
    expiry_days: int | None = 60
    new_after_days: int = 90



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    values = {"value": money(fmt, p.get("value")), "min": money(fmt, p.get("min_purchase"))}
    if p.get("type", "discount") == "item":
        out = [tr.gettext("New customers get a free item worth %(value)s on their second visit.") % values]
    else:
        out = [tr.gettext("New customers get %(value)s off their second purchase.") % values]
    if p.get("min_purchase"):
        out.append(tr.gettext("Only a first purchase of at least %(min)s qualifies.") % values)
    if p.get("expiry_days") is not None:
        n = int(p["expiry_days"])
        out.append(count_sentence(tr.ngettext("The voucher must be used within %(n)s day.",
                                  "The voucher must be used within %(n)s days.", n), n, fmt))
    return out


KIND = Kind(
    name="welcome_offer",
    order=50,
    doc="A voucher for new customers, used at their second purchase.",
    params=WelcomeOfferParams,
    keys=(
        Key("value", POSITIVE, "Voucher value."),
        Key("type", REWARD_TYPE, "`discount`: money off; `item`: a free product.",
            "discount"),
        COST,
        MIN_PURCHASE,
        Key("expiry_days", DAYS, "Days the voucher stays valid (none = never).", 60),
        Key("new_after_days", Num(0, MAX_DAYS, integer=True, example=90),
            "A customer is new if first seen at least this many days after the data starts.",
            90),
    ),
    tunable=(("value", False, "Voucher value (an explicit `cost` scales with it)."),),
    replay=replay,
    label=N_("Welcome offer"),
    summary=summary,
    settings={
        "new_after_days": (N_("New when first seen at least this long after the data start"), "days"),
    },
    starter="""\
  # - id: welcome
  #   name: Welcome voucher
  #   kind: welcome_offer
  #   value: 10
  #   type: discount          # discount | item
  #   min_purchase: 0
  #   expiry_days: 60
  #   new_after_days: 90
""",
    new_customers_only=True,
)
