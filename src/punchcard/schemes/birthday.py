"""Birthday: once a year a voucher on the member's birthday, settled at their next purchase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The scan inlines settle.py's helpers (numba caches per file): editing them means editing this file too.

from datetime import date

import numpy as np
from numba import njit

from punchcard.messages import N_
from punchcard.program import COST, DAYS, Key, Kind, POSITIVE, REWARD_TYPE
from punchcard.schemes.words import money, count_sentence
from punchcard.ingest import EPOCH_ORDINAL, TxArrays
from punchcard.schemes.settle import (
    buffers, close, expire, finish, hold, Replay, ReplayContext, settle, unit_cost, wallet, Tables,
    tx_offsets, scan_inputs,
)


def birthdays(birthday_doy: np.ndarray | None, cust_hash: np.ndarray) -> np.ndarray:
    """Return each customer's day of year: the known one, else a fixed one drawn from its hash."""
    h = np.asarray(cust_hash, dtype=np.uint64)
    with np.errstate(over="ignore"):  # splitmix64 finaliser: wrapping arithmetic is intended
        z = h + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    pseudo = (z % np.uint64(365)).astype(np.int64) + 1
    if birthday_doy is None:
        return pseudo
    known = np.asarray(birthday_doy, dtype=np.int64)
    return np.where(known >= 1, known, pseudo)


def _years(start_day: int, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the epoch day of 1 January and the length of every year the window touches."""
    y0 = date.fromordinal(start_day + EPOCH_ORDINAL).year
    y1 = date.fromordinal(end_day + EPOCH_ORDINAL).year
    first = [date(y, 1, 1).toordinal() - EPOCH_ORDINAL for y in range(y0, y1 + 2)]
    return np.array(first[:-1], dtype=np.int64), np.diff(np.array(first, dtype=np.int64))


@njit(cache=True, nogil=True)
def _scan(off, day, amount, member, join, doy, jan1, ylen, window, cost, face, liab, item,
          r, day0, end_day, w, tout, cout, dout):
    for c in range(off.shape[0] - 1):
        if not member[c]:
            continue
        first = max(join[c], day0)
        n = 0
        y = 0
        i = off[c]
        e = off[c + 1]
        while True:
            # the next birthday on or after the member's first day, within the window
            b = -1
            while y < jan1.shape[0]:
                b = jan1[y] + min(doy[c], ylen[y]) - 1
                y += 1
                if b >= first:
                    break
                b = -1
            if b < 0 or b > end_day:
                b = end_day + 1
            # transactions before that birthday settle the voucher held so far
            while i < e and day[i] < b:
                a = amount[i]
                if n > 0 and day[i] >= join[c] and a > 0.0:
                    n = expire(w, n, day[i], c, day0, r, cout, dout)
                    if n > 0:
                        settle(w, n, i, c, a, day[i], day0, r, tout, cout, dout)
                        n = 0
                i += 1
            if b > end_day:
                break
            n = hold(w, n, b + window, 1.0, cost, face, 0.0, liab, item, c, b, day0, r, cout, dout)
        close(w, n, end_day, c, day0, r, cout, dout)


def replay(params: BirthdayParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the birthday voucher replayed over `tx`."""
    is_item = params.type == "item"
    cost = unit_cost(params.value, params.cost, ctx.gross_margin) if is_item else 0.0
    liab = cost if is_item else float(params.value)
    jan1, ylen = _years(int(ctx.start_day), int(ctx.end_day))
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    _scan(tx_offsets(tx), tx.day, tx.amount, *scan_inputs(ctx),
          birthdays(ctx.birthday_doy, ctx.cust_hash), jan1, ylen, int(params.window_days),
          cost, float(params.value), liab, 1.0 if is_item else 0.0,
          float(ctx.redemption_rate), int(ctx.start_day), int(ctx.end_day), wallet(None, len(jan1), tables),
          tout, cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class BirthdayParams:
    value: float
    type: Literal["item", "discount"] = "discount"
    cost: float | None = None
    window_days: int = 30



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    values = {"value": money(fmt, p.get("value"))}
    if p.get("type", "discount") == "item":
        out = [tr.gettext("Members get a birthday treat worth %(value)s.") % values]
    else:
        out = [tr.gettext("Members get %(value)s off around their birthday.") % values]
    n = int(p.get("window_days", 30))
    out.append(count_sentence(tr.ngettext("The voucher must be used within %(n)s day of the birthday.",
                              "The voucher must be used within %(n)s days of the birthday.", n), n, fmt))
    return out


KIND = Kind(
    name="birthday",
    order=60,
    doc="A yearly birthday voucher.",
    params=BirthdayParams,
    keys=(
        Key("value", POSITIVE, "Voucher value."),
        Key("type", REWARD_TYPE, "`discount`: money off; `item`: a free product.",
            "discount"),
        COST,
        Key("window_days", DAYS, "Days after the birthday the voucher can be used.", 30),
    ),
    tunable=(("value", False, "Voucher value (an explicit `cost` scales with it)."),),
    replay=replay,
    label=N_("Birthday reward"),
    summary=summary,
    settings={
        "window_days": (N_("Usable for"), "days"),
    },
    starter="""\
  # - id: birthday
  #   name: Birthday treat
  #   kind: birthday
  #   value: 10
  #   type: item
  #   window_days: 30
""",
)
