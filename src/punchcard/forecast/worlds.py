"""What the simulated worlds are made of: the customers simulated, a scheme's world, a draw's cost.

``Base`` holds the customers the forecast simulates (possibly a weighted sample) and the
fitted model; ``world_vector`` turns a scheme and its assumption values into the vector the
compiled kernels read; ``replay_context`` builds the replay context of simulated members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from punchcard.forecast import simulate as S
from punchcard.program import Program, Scheme, kinds
from punchcard.schemes import ReplayContext

COUNTERS = {"visits": S.COUNTER_VISITS, "items": S.COUNTER_ITEMS, "spend": S.COUNTER_SPEND}
#: Buyer segments by historical purchase frequency: light, medium, heavy (economics.segments_of)
SEGMENTS = ("light", "medium", "heavy")
N_SEGMENTS = len(SEGMENTS)
#: The groups every figure is summed over: the three segments of today's customers and the
#: simulated new customers (forecast/arrivals.py), who take the plain lifts
NEW = N_SEGMENTS
N_GROUPS = N_SEGMENTS + 1


@dataclass(frozen=True)
class Base:
    """The simulated customers (possibly a weighted sample) and everything the kernels read."""

    cust: np.ndarray  # ledger customer key
    weight: np.ndarray  # customers each simulated one stands for
    palive: np.ndarray
    x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray
    items: np.ndarray  # items per simulated purchase
    cust_hash: np.ndarray
    birthday_doy: np.ndarray
    par: np.ndarray  # r, alpha, a, b, p, q, v
    horizon_weeks: float
    start_day: int
    end_day: int
    data_start_day: int
    gross_margin: float
    horizon_months: int
    # Share of the members each draw simulates (Poisson thinning, weights ÷ share): below 1
    # only when the customers are already a weighted sample of a large base (draws.THIN)
    thin: float = 1.0
    # segment per simulated customer: 0 light, 1 medium, 2 heavy (None: all light)
    segment: np.ndarray | None = None
    # simulated new customers (forecast/arrivals.py): each one's arrival window in weeks
    # (arr_lo = −1: a customer of today); ``extra``: an arrival only a scheme's
    # acquisition_lift brings (absent from the baseline, weighted by the lift)
    arr_lo: np.ndarray | None = None
    arr_hi: np.ndarray | None = None
    extra: np.ndarray | None = None

    @property
    def is_new(self) -> np.ndarray:
        """Return whether each simulated customer is a new one (arrives over the horizon)."""
        return np.zeros(len(self.cust), dtype=bool) if self.arr_lo is None else self.arr_lo >= 0.0

    @property
    def is_extra(self) -> np.ndarray:
        """Return whether each simulated customer is an arrival only the acquisition lift brings."""
        return np.zeros(len(self.cust), dtype=bool) if self.extra is None else self.extra

    @property
    def group(self) -> np.ndarray:
        """Return each simulated customer's group: segment 0–2, or NEW."""
        seg = (np.zeros(len(self.cust), dtype=np.int64) if self.segment is None
               else np.asarray(self.segment, dtype=np.int64))
        return np.where(self.is_new, NEW, seg)


@dataclass(frozen=True)
class DrawOutcome:
    """One draw of one scheme: weighted totals over the simulated customers."""

    revenue: float
    reward_cost: float
    liability: float
    members: float


def world_vector(scheme: Scheme, v: dict[str, float], segment: int | None = None) -> np.ndarray:
    """Return the kernel's world vector: multipliers and, for a card, the goal-gradient state machine's settings.

    With ``segment`` (0 light, 1 medium, 2 heavy) the lifts are that segment's
    (``visit_lift:light`` …, see draws.draw_values); without, when absent, or for the new
    customers (NEW), the plain ones.
    """
    a = scheme.assumptions

    def lift(name: str) -> float:
        if segment is None or segment >= N_SEGMENTS:
            return v[name]
        return v.get(f"{name}:{SEGMENTS[segment]}", v[name])

    visit, spend, retention = lift("visit_lift"), lift("spend_lift"), lift("retention_lift")
    kind = kinds()[scheme.kind]
    card = kind.card(scheme.params) if kind.card is not None else None
    if card is not None and visit == spend == retention == v["goal_gradient"] == v["endowed_progress"] == 0.0:
        card = None  # a card that changes no behaviour: the card's state cannot move any purchase
    if card is None:
        return np.array([1.0 + visit, 1.0 + spend, 1.0 - retention,
                         0.0, 1.0 if a.post_reward_reset else 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    return np.array([
        1.0 + visit, 1.0 + spend, 1.0 - retention,
        min(max(v["goal_gradient"], 0.0), 0.95),
        1.0 if a.post_reward_reset else 0.0, 1.0,
        float(card["stamps"]), float(COUNTERS[card["counter"]]),
        float(card["min_purchase"]), float(card["head_start"]),
        max(v["endowed_progress"], 0.0),
    ])


#: Days before the horizon a kind for new customers only counts newness from: far enough that
#: every simulated new customer's first purchase counts as new (today's customers never join it)
NEW_ANCHOR_DAYS = 100_000


def anchor_day(base: Base, scheme: Scheme) -> int:
    """Return the day newness is counted from. Only the simulated new customers can join a kind
    for new customers only (batch._Group), and each of them is new at their first purchase."""
    return base.start_day - NEW_ANCHOR_DAYS if kinds()[scheme.kind].new_customers_only else base.data_start_day


def replay_context(base: Base, scheme: Scheme, idx: np.ndarray, redemption: float) -> ReplayContext:
    """Return the replay context of simulated customers ``idx``: all members from the horizon's start."""
    return ReplayContext(
        start_day=base.start_day, end_day=base.end_day, gross_margin=base.gross_margin,
        redemption_rate=redemption, member=np.ones(len(idx), dtype=bool),
        join_day=np.full(len(idx), base.start_day, dtype=np.int32),
        birthday_doy=base.birthday_doy[idx], cust_hash=base.cust_hash[idx],
        data_start_day=anchor_day(base, scheme),
    )


def fixed_cost(program: Program, members: Any) -> Any:
    """Return setup + monthly × horizon + per_member_year × members × horizon years."""
    fc, h = program.business.fixed_costs, program.business.horizon_months
    return fc.setup + fc.monthly * h + fc.per_member_year * members * h / 12.0


def net_impact(program: Program, out: DrawOutcome, base_total: float) -> float:
    """Return incremental margin − reward cost − fixed cost for one draw."""
    gm = program.business.gross_margin
    return gm * (out.revenue - base_total) - out.reward_cost - fixed_cost(program, out.members)
