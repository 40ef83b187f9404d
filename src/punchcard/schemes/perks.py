"""Perks: non-monetary member benefits that cost money per member-year and per event.

(Its compiled scan writes through settle.py's helpers, tables stored one row per column.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from numba import njit

from punchcard.messages import N_
from punchcard.program import Key, Kind, MONEY, Num
from punchcard.schemes.words import money
from punchcard.ingest import TxArrays
from punchcard.schemes.settle import Replay, ReplayContext, Tables, accrue, buffers, finish, scan_inputs

DAYS_PER_YEAR = 365.25


@njit(cache=True, nogil=True)
def _scan(member, join, per_day, day0, end_day, cout, dout):
    for c in range(member.shape[0]):
        if member[c]:
            accrue(c, max(join[c], day0), end_day, per_day, day0, cout, dout)


def replay(params: PerksParams, tx: TxArrays, ctx: ReplayContext, per_tx: bool = True,
           tables: Tables | None = None) -> Replay:
    """Return the perks' cost accrued over every member's days in the window."""
    per_year = params.cost_per_member_year + params.cost_per_event * params.events_per_year
    tout, cout, dout = buffers(len(tx.day), tx.n_customers, ctx.end_day - ctx.start_day + 1, per_tx, tables)
    _scan(*scan_inputs(ctx),
          float(per_year) / DAYS_PER_YEAR, int(ctx.start_day), int(ctx.end_day), cout, dout)
    return finish(ctx.start_day, tout, cout, dout, per_tx, tables)


# -- the declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class PerksParams:
    cost_per_member_year: float = 0.0
    cost_per_event: float = 0.0
    events_per_year: float = 0.0



def summary(p: dict, fmt: Any, tr: Any) -> list[str]:
    """Return the scheme as configured, in sentences."""
    out = [tr.gettext("No rewards: members get perks such as early access to sales and member events.")]
    if p.get("cost_per_member_year"):
        out.append(tr.gettext("The perks cost %(cost)s per member a year.")
                   % {"cost": money(fmt, p["cost_per_member_year"])})
    if p.get("events_per_year") and p.get("cost_per_event"):
        events = float(p["events_per_year"])
        out.append(tr.gettext("Member events: %(events)s a year at %(cost)s each.")
                   % {"events": fmt.number(events, 0 if events.is_integer() else 1),
                      "cost": money(fmt, p["cost_per_event"])})
    return out


KIND = Kind(
    name="perks",
    order=80,
    doc="Non-monetary benefits: their costs only; benefits come through the lifts.",
    params=PerksParams,
    keys=(
        Key("cost_per_member_year", MONEY, "Cost per member per year.", 0.0),
        Key("cost_per_event", MONEY, "Cost per member of one member event (drinks, a gift).", 0.0),
        Key("events_per_year", Num(0, 366, example=4),
            "Member events per year; each costs `cost_per_event` per member.", 0.0),
    ),
    replay=replay,
    label=N_("Perks"),
    summary=summary,
    settings={
        "cost_per_member_year": (N_("Cost per member a year"), "money"),
        "cost_per_event": (N_("Cost per member per event"), "money"),
        "events_per_year": (N_("Events a year"), "number"),
    },
    starter="""\
  # - id: perks
  #   name: Member evenings
  #   kind: perks
  #   cost_per_member_year: 2
  #   cost_per_event: 2.5       # per member per event (drinks, a gift)
  #   events_per_year: 4

""",
    gives_rewards=False,
)
