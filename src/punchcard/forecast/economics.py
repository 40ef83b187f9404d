"""The economics on top of the forecast: deadweight, buyer segments, break-even, where the spread comes from.

* **Deadweight** — the reward cost a scheme pays on purchases that would have happened
  anyway: the same members, draws and assumptions with every behavioural lift at zero
  (``zero_lifts``). Cost on extra purchases is the rest.
* **Segments** — light, medium and heavy buyers: terciles of historical purchase
  occasions per year among the identified customers (``segments_of``).
* **Break-even** — the visit lift at which the *expected* net impact is zero, the other
  assumptions at their likely values, solved with common random numbers over
  ``BREAK_EVEN_DRAWS`` draws in which every customer takes part weighted by their chance
  of joining (``break_even_job``): no noise from who joins or from the other assumptions.
* **New customers** — the part of the net impact that comes from the simulated arrivals
  (``from_new_customers``).
* **Spread** — the variance of net impact split into the owner's assumptions and chance
  (``variance_split``).

docs/method.md ("Deadweight", "Segments", "Break-even") and docs/forecast.md state the
definitions. The functions are importable on their own (the pilot planner reuses them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from punchcard.forecast.batch import Job, Outcomes
from punchcard.forecast.draws import likely_values, with_lift
from punchcard.program import Program, Scheme
from punchcard.forecast.worlds import N_SEGMENTS, NEW, SEGMENTS

#: The behavioural assumptions: the ones set to zero for the cost on purchases that happen anyway
#: (the new customers a scheme brings make only extra purchases: acquisition_lift is one of them)
LIFTS = ("visit_lift", "spend_lift", "retention_lift", "goal_gradient", "endowed_progress", "acquisition_lift")
#: Draws behind the break-even lift, independent of the main draws (measured on the shipped
#: examples: five seeds agree within ±0.5 percentage points; docs/forecast.md)
BREAK_EVEN_DRAWS = 600
#: Draws at the likely values behind the chance part of the spread and the tornado's centre
CHANCE_DRAWS = 50
#: Customers seen for less than this many weeks are counted over this span for their frequency
MIN_FREQUENCY_WEEKS = 26.0
WEEKS_PER_YEAR = 365.25 / 7.0


@dataclass(frozen=True)
class Segments:
    """Each customer's segment (0 light, 1 medium, 2 heavy) and the two cut points (occasions a year)."""

    segment: np.ndarray
    cuts: tuple[float, float]

    def as_dict(self) -> dict:
        """Return the definition for results.json: names and the cut points."""
        return {"names": list(SEGMENTS), "by": "purchase occasions per year",
                "light_up_to": self.cuts[0], "medium_up_to": self.cuts[1]}


def frequency(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return purchase occasions per year: (repeat occasions + 1) over the weeks seen (at least 26)."""
    return (np.asarray(x, dtype=np.float64) + 1.0) * WEEKS_PER_YEAR / np.maximum(T, MIN_FREQUENCY_WEEKS)


def segments_of(x: np.ndarray, T: np.ndarray) -> Segments:
    """Return the light/medium/heavy terciles of occasions per year among these customers.

    A customer at a cut point goes to the lower segment, so ties never split.
    """
    f = frequency(x, T)
    if len(f) == 0:
        return Segments(np.zeros(0, dtype=np.int8), (0.0, 0.0))
    q1, q2 = (float(v) for v in np.quantile(f, [1.0 / 3.0, 2.0 / 3.0]))
    seg = np.where(f <= q1, 0, np.where(f <= q2, 1, 2)).astype(np.int8)
    return Segments(seg, (q1, q2))


def zero_lifts(values: dict[str, float]) -> dict[str, float]:
    """Return the assumption values with every behavioural lift at zero (members buy as they would anyway)."""
    return {**values, **{k: 0.0 for k in values if k.split(":")[0] in LIFTS}}


def deadweight_job(job: Job) -> Job:
    """Return the job's twin with every lift at zero: the same members, draws, redemption and displacement."""
    return Job(job.scheme, job.draw, [zero_lifts(v) for v in job.values], job.expected)


def deadweight(main: Outcomes, anyway: Outcomes) -> dict:
    """Return the reward cost split: on purchases that happen anyway, on extra purchases, and the share.

    Per draw, the cost on purchases that happen anyway is the twin's (every lift at zero),
    at most the scheme's whole reward cost; the cost on extra purchases is the rest. The
    share is the baseline cost over the whole reward cost, both averaged over the draws
    (1.0 when the scheme changes nothing; None when it costs nothing).
    """
    on_base = np.minimum(anyway.reward_cost, main.reward_cost)
    total = float(np.mean(main.reward_cost))
    base = float(np.mean(on_base))
    return {"reward_cost_on_baseline": base, "reward_cost_on_extra": total - base,
            "deadweight_share": base / total if total > 0 else None}


def segment_rows(program: Program, main: Outcomes, anyway: Outcomes) -> list[dict]:
    """Return ``forecast.segments[]``: members, reward cost, deadweight share and extra margin per segment."""
    gm = program.business.gross_margin
    rows = []
    for k, name in enumerate(SEGMENTS[:N_SEGMENTS]):
        cost = main.seg_reward_cost[:, k]
        base = np.minimum(anyway.seg_reward_cost[:, k], cost)
        total = float(np.mean(cost))
        rows.append({"segment": name, "members": float(np.mean(main.seg_members[:, k])),
                     "reward_cost": total,
                     "deadweight_share": float(np.mean(base)) / total if total > 0 else None,
                     "incremental_margin": float(np.mean(gm * (main.seg_sim[:, k] - main.seg_base[:, k])))})
    return rows


def from_new_customers(program: Program, main: Outcomes) -> float | None:
    """Return the mean net impact from the simulated new customers (forecast/arrivals.py).

    Their incremental margin (the arrivals a scheme's acquisition lift brings count whole:
    they buy nothing without it) − their reward cost − their per-member fixed cost; the setup
    and monthly costs stay with today's customers. The rest of the net impact comes from
    today's customers. None without the per-group sums.
    """
    if main.seg_members is None or main.seg_members.shape[1] <= NEW:
        return None
    gm = program.business.gross_margin
    fc, h = program.business.fixed_costs, program.business.horizon_months
    net = (gm * (main.seg_sim[:, NEW] - main.seg_base[:, NEW]) - main.seg_reward_cost[:, NEW]
           - fc.per_member_year * main.seg_members[:, NEW] * h / 12.0)
    return float(np.mean(net))


def break_even_job(scheme: Scheme, n: int, lift: float) -> Job:
    """Return the job behind the break-even: n draws, every assumption at its likely value but the visit lift.

    Every customer takes part weighted by their chance of joining (``Job.expected``), so the
    evaluation is the expectation over who joins; the draws share their random numbers
    with every other lift evaluated (common random numbers).
    """
    v = with_lift(scheme.assumptions, likely_values(scheme.assumptions), "visit_lift", lift)
    return Job(scheme, np.arange(n, dtype=np.int64), [dict(v) for _ in range(n)], expected=True)


def likely_job(scheme: Scheme, n: int) -> Job:
    """Return every assumption at its likely value over the first n draws (members drawn as in the main run)."""
    v = likely_values(scheme.assumptions)
    return Job(scheme, np.arange(n, dtype=np.int64), [dict(v) for _ in range(n)])


def variance_split(net_main: np.ndarray, net_likely: np.ndarray) -> dict:
    """Return the shares of the spread of net impact due to the assumptions and to chance.

    Law of total variance: Var(net) = Var(E[net | assumptions]) + E[Var(net | assumptions)].
    The chance part is estimated by the variance over draws with every assumption at its
    likely value (who joins, when they buy), capped at the total; the rest is the
    assumptions' part. Both None when the net impact does not vary.
    """
    total = float(np.var(net_main, ddof=1)) if len(net_main) > 1 else 0.0
    chance = float(np.var(net_likely, ddof=1)) if len(net_likely) > 1 else 0.0
    if total <= 0.0:
        return {"assumptions": None, "chance": None}
    c = min(chance / total, 1.0)
    return {"assumptions": 1.0 - c, "chance": c}


def has_item_reward(scheme: Scheme) -> bool:
    """Return whether the scheme hands out free items (where ``displacement`` matters)."""
    p = scheme.params
    if scheme.kind == "stamp_card":
        return p.reward.type == "item"
    if scheme.kind in ("welcome_offer", "birthday"):
        return p.type == "item"
    if scheme.kind == "coupons":
        return p.value is not None and p.cost is not None
    return False

