"""Member discount: rate × amount off every member purchase, or as cashback for the next one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

from numba import njit

from punchcard.messages import N_
from punchcard.program import Bool, DAYS, Key, Kind, SHARE
from punchcard.schemes.words import share, count_sentence
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import (
    T_EARNED, at, buffers, close, expire, expiry_day, finish, hold, immediate, Replay,
    ReplayContext, settle, wallet, Tables, tx_offsets, scan_inputs,
)


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, rate, cashback, valid, r, day0, end_day, w,
          tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        n = 0
        for i in range(off[c], off[c + 1]):
            d = day[i]
            a = amount[i]
            if d < join[c] or a <= 0.0:
                continue
            if not cashback:
                immediate(i, c, d, day0, r, rate * a, tout, cout, dout)
                continue
            if n > 0:
                n = expire(w, n, d, c, day0, r, cout, dout)
                if n > 0:
                    settle(w, n, i, c, a, d, day0, r, tout, cout, dout)
                    n = 0
            credit = rate * a
            tout[T_EARNED, at(i, tout)] += 1.0
            n = hold(w, n, d + valid, 1.0, 0.0, credit, 0.0, credit, 0.0, c, d, day0, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: MemberDiscountParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the member discount replayed over `tx` (cashback settles at the next purchase)."""
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    if params.rate > 0.0:
        off = tx_offsets(tx)
        _scan(off, tx.day, tx.amount, *scan_inputs(ctx),
              float(params.rate), bool(params.cashback), expiry_day(params.expiry_days),
              float(ctx.redemption_rate), int(ctx.start_day), int(ctx.end_day), wallet(off, 0, tables),
              tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberDiscountParams:
    rate: float
    cashback: bool = False
    expiry_days: int | None = None



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    values = {"rate": share(fmt, p.get("rate", 0))}
    if not p.get("cashback"):
        return [tr.gettext("Members get %(rate)s off every purchase.") % values]
    out = [tr.gettext("Members get %(rate)s of every purchase back as credit for their next visit.") % values]
    if p.get("expiry_days") is not None:
        n = int(p["expiry_days"])
        out.append(count_sentence(tr.ngettext("Credit must be used within %(n)s day.",
                                  "Credit must be used within %(n)s days.", n), n, fmt))
    return out


KIND = Kind(
    name="member_discount",
    order=40,
    doc="A flat discount on every member purchase.",
    params=MemberDiscountParams,
    keys=(
        Key("rate", SHARE, "Discount as a share of the bill (0.1 = 10 %)."),
        Key("cashback", Bool(),
            "Pay the discount as credit at the next purchase instead of at once.", False),
        Key("expiry_days", DAYS, "Days cashback credit stays valid (none = never).", None),
    ),
    tunable=(("rate", False, "Discount as a share of the bill."),),
    replay=replay,
    label=N_("Member discount"),
    summary=summary,
    settings={
        "cashback": (N_("Paid back as credit for the next visit"), "bool"),
    },
    starter="""\
  # - id: member-discount
  #   name: Five per cent off for members
  #   kind: member_discount
  #   rate: 0.05
  #   cashback: false         # true: credit settled at the next visit instead
""",
)
