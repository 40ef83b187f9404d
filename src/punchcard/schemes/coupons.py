"""Coupons: every `every_days`, active members get a coupon, settled at their next purchase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

from numba import njit

from punchcard.messages import N_
from punchcard.program import COST, DAYS, Key, Kind, MIN_PURCHASE, POSITIVE, SHARE
from punchcard.schemes.words import share, money, count_sentence
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import (
    buffers, close, data_start, expire, finish, hold, Replay, ReplayContext, settle, unit_cost,
    wallet, Tables, tx_offsets, scan_inputs,
)


@njit(cache=True)
def _next_issue(x, anchor, every):
    """Return the first issue day on or after day x."""
    if x <= anchor:
        return anchor
    return anchor + ((x - anchor + every - 1) // every) * every


@njit(cache=True)
def _issue(w, n, upto, nxt, last, last_bill, anchor, every, active, valid, cost, face, rate,
           item, c, day0, end_day, r, cout, dout):
    """Issue the coupons due on days nxt..upto to customer c; return (wallet size, next issue day)."""
    while nxt <= upto and nxt <= end_day:
        if last < 0 or last < nxt - active:
            return n, _next_issue(upto + 1, anchor, every)  # inactive until the next purchase
        liab = cost if item > 0.0 else face + rate * last_bill
        n = hold(w, n, nxt + valid, 1.0, cost, face, rate, liab, item, c, nxt, day0, r,
                    cout, dout)
        nxt += every
    return n, nxt


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, anchor, every, active, valid, min_purchase, cost,
          face, rate, item, r, day0, end_day, w, tout, cout, dout):
    first_issue = _next_issue(day0, anchor, every)
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        last = -1  # day of the member's last transaction
        last_bill = 0.0
        nxt = first_issue
        for i in range(off[c], off[c + 1]):
            d = day[i]
            if d < join[c]:
                continue
            n, nxt = _issue(w, n, d, nxt, last, last_bill, anchor, every, active, valid,
                               cost, face, rate, item, c, day0, end_day, r, cout, dout)
            a = amount[i]
            last = d
            if a <= 0.0:
                continue
            last_bill = a
            if n > 0 and a >= min_purchase:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
        n, nxt = _issue(w, n, end_day, nxt, last, last_bill, anchor, every, active, valid,
                           cost, face, rate, item, c, day0, end_day, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: CouponsParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the coupon mailing replayed over `tx`."""
    rate = float(params.rate or 0.0)
    face = float(params.value or 0.0)
    is_item = params.value is not None and params.cost is not None
    cost = unit_cost(face, params.cost, ctx.gross_margin) if is_item else 0.0
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    mailings = (int(ctx.end_day) - int(ctx.start_day)) // int(params.every_days) + 2
    if rate > 0.0 or face > 0.0:
        _scan(tx_offsets(tx), tx.day, tx.amount, *scan_inputs(ctx),
              data_start(ctx), int(params.every_days), int(params.active_days),
              int(params.valid_days), float(params.min_purchase), cost, face, rate,
              1.0 if is_item else 0.0, float(ctx.redemption_rate), int(ctx.start_day),
              int(ctx.end_day), wallet(None, mailings, tables),
              tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class CouponsParams:
    every_days: int
    active_days: int
    valid_days: int
    rate: float | None = None
    value: float | None = None
    cost: float | None = None
    min_purchase: float = 0.0


def _rate_or_value(values: dict, nodes: dict, node: Any, path: str, ctx: Any) -> None:
    given = [k for k in ("rate", "value") if values.get(k) is not None]
    if len(given) != 1:
        found = "both" if given else "neither"
        ctx.report(node, path, f"a coupon needs exactly one of `rate` and `value`, found {found}",
                   "give either `rate: 0.2` (a share of the bill) or `value: 30` (money off)")


def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    offer = share(fmt, p["rate"]) if p.get("rate") is not None else money(fmt, p.get("value"))
    every, active, valid = (int(p.get(k, 1)) for k in ("every_days", "active_days", "valid_days"))
    return [tr.ngettext("Every day, members who shopped recently get a coupon for %(offer)s off.",
                        "Every %(n)s days, members who shopped recently get a coupon for %(offer)s off.",
                        every) % {"n": fmt.number(every), "offer": offer},
            count_sentence(tr.ngettext("Only members who shopped in the last %(n)s day get one.",
                           "Only members who shopped in the last %(n)s days get one.", active), active, fmt),
            count_sentence(tr.ngettext("Each coupon is valid for %(n)s day.",
                           "Each coupon is valid for %(n)s days.", valid), valid, fmt)]


KIND = Kind(
    name="coupons",
    order=70,
    doc="Periodic coupons for recently active members; give `rate` or `value`.",
    params=CouponsParams,
    keys=(
        Key("every_days", DAYS, "Days between coupon rounds."),
        Key("active_days", DAYS, "Members with a purchase in this many days get a coupon."),
        Key("valid_days", DAYS, "Days a coupon stays valid."),
        Key("rate", SHARE, "Discount as a share of the bill (instead of `value`).", None),
        Key("value", POSITIVE, "Money off, capped at the bill (instead of `rate`).", None),
        COST,
        MIN_PURCHASE,
    ),
    checks=(_rate_or_value,), schema_extra=(("oneOf", [{"required": ["rate"]}, {"required": ["value"]}]),),
    tunable=(("rate", False, "Coupon discount as a share of the bill."),
             ("value", False, "Coupon money off (an explicit `cost` scales with it)."),
             ("every_days", True, "Days between coupon rounds.")),
    replay=replay,
    label=N_("Coupons"),
    summary=summary,
    settings={
        "every_days": (N_("A new coupon every"), "days"),
        "active_days": (N_("For members who shopped within"), "days"),
        "valid_days": (N_("Each coupon valid for"), "days"),
    },
    starter="""\
  # - id: coupons
  #   name: Monthly coupon
  #   kind: coupons
  #   every_days: 30
  #   active_days: 90
  #   valid_days: 14
  #   rate: 0.10              # or value: 5 (exactly one of rate / value)
""",
)
