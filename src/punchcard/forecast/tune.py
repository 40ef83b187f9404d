"""`punchcard tune`: search a scheme's parameters for the versions that pay most easily (docs/forecast.md §7).

Every variant of a scheme (its `tune:` ranges, or the kind's defaults) is replayed on the
real history (the backtest) and forecast with the build's own machinery on one set of draws
— the same customers, the same random numbers and the same members for every variant
(common random numbers), so the differences between variants are not noise. The variants
go through one batched evaluation (``batch.evaluate``): variants whose purchases do not
depend on their parameters share one compiled simulation and differ only in their replays.

Per variant: cost share of revenue, customers rewarded within a year, generosity as the
customer sees it (reward value ÷ the spend needed to earn it), deadweight share, break-even
visit lift, net impact and its chance of paying. The answer is the efficient frontier of
generosity against break-even lift, and — only with ``response.generosity_elasticity`` —
the variant with the best expected net impact.

"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.random import PCG64, Generator

from punchcard import __version__
from punchcard.errors import PunchcardError
from punchcard.program import Program, Range, Scheme, kinds
from punchcard.program.types import TuneRange

#: Values a range without a step is searched at (whole-number parameters: every whole number).
DEFAULT_STEPS = 5
#: Most variants one scheme may have (the product of its ranges' lengths).
MAX_VARIANTS = 400
#: Draws behind each variant's deadweight share (zero-lift world against the assumed one).
DEADWEIGHT_DRAWS = 20
#: Significant digits generosity is rounded to when variants are grouped "at each generosity".
GENEROSITY_DIGITS = 3
TUNE_SCHEMA_VERSION = 1


# --- the variants ---------------------------------------------------------------------------


def _whole(kind: str) -> dict[str, bool]:
    return {name: whole for name, whole, _ in kinds()[kind].tunable}


def default_ranges(scheme: Scheme) -> dict[str, TuneRange]:
    """Return the ranges searched for a scheme without a `tune:` block (docs/forecast.md §7 lists them)."""
    p = scheme.params
    k = scheme.kind
    if k == "stamp_card":
        v = p.reward.value
        return {"stamps": TuneRange(max(2, p.stamps - 4, p.head_start + 1), p.stamps + 5, 1),
                "reward.value": TuneRange(0.6 * v, 1.4 * v, 0.2 * v)}
    if k == "points":
        return {"earn_per_unit": TuneRange(0.5 * p.earn_per_unit, 2.0 * p.earn_per_unit, 0.25 * p.earn_per_unit),
                "min_redeem": TuneRange(max(1, round(0.5 * p.min_redeem)), round(1.5 * p.min_redeem),
                                        max(1, round(0.5 * p.min_redeem)))}
    if k == "tiers":
        return {"min_spend_scale": TuneRange(0.5, 1.5, 0.25), "discount_scale": TuneRange(0.5, 1.5, 0.25)}
    if k == "member_discount":
        return {"rate": TuneRange(0.02, 0.15, 0.01)}
    if k == "coupons":
        name = "rate" if p.rate is not None else "value"
        x = getattr(p, name)
        return {name: TuneRange(0.5 * x, 1.5 * x, 0.25 * x)}
    if k in ("welcome_offer", "birthday"):
        return {"value": TuneRange(0.5 * p.value, 2.0 * p.value, 0.25 * p.value)}
    raise PunchcardError(f"Scheme {scheme.id!r} is a `{k}` scheme: it has no reward to tune. "
                         "Tune another scheme with `--scheme ID`.")


def grid(r: TuneRange, whole: bool) -> list[float]:
    """Return the values a range is searched at: min, min + step, … up to max (both ends included)."""
    step = r.step if r.step is not None else (1 if whole else (r.max - r.min) / (DEFAULT_STEPS - 1))
    if step <= 0 or r.max == r.min:
        return [r.min]
    n = int(math.floor((r.max - r.min) / step + 1e-9)) + 1
    vals = [r.min + i * step for i in range(n)]
    if r.max - vals[-1] > 1e-9 * max(1.0, abs(r.max)):
        vals.append(r.max)
    if whole:
        return sorted({int(round(v)) for v in vals})
    return [float(f"{v:.10g}") for v in vals]


def _scaled_cost(cost: float | None, old: float, new: float) -> float | None:
    return None if cost is None or old == 0 else cost * new / old


def apply(scheme: Scheme, settings: dict[str, float]) -> Scheme | None:
    """Return the scheme with ``settings`` (parameter path → value), or None when they do not fit together."""
    p = scheme.params
    for path, value in settings.items():
        if path == "reward.value":
            r = p.reward
            p = dataclasses.replace(p, reward=dataclasses.replace(r, value=value,
                                                                  cost=_scaled_cost(r.cost, r.value, value)))
        elif path == "min_spend_scale":
            p = dataclasses.replace(p, tiers=tuple(dataclasses.replace(t, min_spend=t.min_spend * value)
                                                   for t in p.tiers))
        elif path == "discount_scale":
            p = dataclasses.replace(p, tiers=tuple(dataclasses.replace(t, discount=min(1.0, t.discount * value))
                                                   for t in p.tiers))
        elif path == "value" and getattr(p, "cost", None) is not None:
            p = dataclasses.replace(p, value=value, cost=_scaled_cost(p.cost, p.value, value))
        else:
            p = dataclasses.replace(p, **{path: value})
    if scheme.kind == "stamp_card" and (p.stamps < 1 or p.head_start >= p.stamps):
        return None
    if scheme.kind in ("member_discount", "coupons") and (getattr(p, "rate", None) or 0.0) > 1.0:
        return None
    return dataclasses.replace(scheme, params=p)


def variant_id(settings: dict[str, float]) -> str:
    """Return a variant's readable id, e.g. ``stamps=8,reward.value=40``."""
    return ",".join(f"{k}={v:g}" for k, v in settings.items())


def variants(scheme: Scheme) -> tuple[dict[str, list[float]], list[tuple[dict[str, float], Scheme]]]:
    """Return the searched values per parameter and every valid variant (the configured one included)."""
    ranges = scheme.tune or default_ranges(scheme)
    whole = _whole(scheme.kind)
    values = {path: grid(r, whole.get(path, False)) for path, r in ranges.items()}
    current = {path: _current(scheme, path) for path in values}
    for path, v in current.items():  # the scheme as configured is always one of the variants
        if v not in values[path]:
            values[path] = sorted(values[path] + [v])
    total = math.prod(len(v) for v in values.values())
    if total > MAX_VARIANTS:
        sizes = " × ".join(f"{len(v)} ({k})" for k, v in values.items())
        raise PunchcardError(
            f"Scheme {scheme.id!r}: the `tune:` ranges give {total:,} variants ({sizes}); at most "
            f"{MAX_VARIANTS} are searched. Give a larger step, e.g. `[min, max, step]`, or a narrower range.")
    out = []
    for combo in itertools.product(*values.values()):
        settings = dict(zip(values, combo))
        v = apply(scheme, settings)
        if v is not None:
            out.append((settings, dataclasses.replace(v, id=f"{scheme.id}@{variant_id(settings)}")))
    return values, out


def _current(scheme: Scheme, path: str) -> float:
    p = scheme.params
    if path == "reward.value":
        return p.reward.value
    if path in ("min_spend_scale", "discount_scale"):
        return 1.0
    return getattr(p, path)


# --- generosity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bills:
    """What customers spend, for generosity: the bills of identified purchases and totals."""

    amounts: np.ndarray  # positive bills of identified customers
    item_price: float  # revenue per item
    annual_spend: float  # spend per identified customer per year
    _means: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def mean_bill(self, at_least: float = 0.0) -> float:
        """Return the mean of the bills of at least ``at_least`` (the bills that qualify; NaN when none)."""
        if at_least not in self._means:
            q = self.amounts[self.amounts >= at_least] if at_least > 0 else self.amounts
            self._means[at_least] = float(np.mean(q)) if len(q) else float("nan")
        return self._means[at_least]


def bills(ledger) -> Bills:
    """Return the spend figures generosity is measured against, from the identified purchases."""
    amount = ledger.tx["amount"].to_numpy()
    items = ledger.tx["items"].to_numpy()
    pos = amount > 0
    a = amount[pos]
    total = float(np.sum(a))
    n_items = float(np.sum(items[pos]))
    years = max((int(ledger.end_day) - int(ledger.start_day) + 1) / 365.25, 1 / 365.25)
    return Bills(amounts=a, item_price=total / n_items if n_items > 0 else float("nan"),
                 annual_spend=total / max(ledger.n_customers, 1) / years)


def generosity(scheme: Scheme, b: Bills) -> float:
    """Return the reward value ÷ the spend needed to earn it, as the customer sees it (docs/forecast.md §7)."""
    p, k = scheme.params, scheme.kind
    if k == "stamp_card":
        needed = p.stamps - p.head_start
        per_stamp = {"visits": b.mean_bill(p.min_purchase), "items": b.item_price, "spend": 1.0}[p.counter]
        return p.reward.value / (needed * per_stamp)
    if k == "points":
        return p.earn_per_unit * p.point_value
    if k == "tiers":
        return max(t.discount for t in p.tiers)
    if k == "member_discount":
        return p.rate
    if k == "coupons":
        return p.rate if p.rate is not None else p.value / b.mean_bill(p.min_purchase)
    if k == "welcome_offer":
        return p.value / b.mean_bill(p.min_purchase)
    if k == "birthday":
        return p.value / b.annual_spend
    return 0.0


# --- the forecast of every variant -----------------------------------------------------------


def _elasticity_uniforms(seed: int, draws: int) -> np.ndarray:
    """Return one uniform per draw for the elasticity (its own stream: the other draws are unchanged)."""
    return Generator(PCG64([seed, 16])).random(draws)


def _lift_scale(g: float, g0: float, eps: float) -> float:
    return (g / g0) ** eps if g0 > 0 and g > 0 else 1.0


def forecast_variants(program: Program, base, dr, schemes: list[Scheme], gen: dict[str, float], g0: float,
                      replay: Callable, elasticity: Range | None, seed: int,
                      progress: Callable[[int, int], None] | None = None, dr_be=None) -> dict[str, dict]:
    """Return each variant's forecast figures: summary, deadweight share and break-even visit lift.

    One batched evaluation holds every variant's main draws and its zero-lift deadweight
    draws; the break-even (scenarios.break_even_all) then solves every variant's together.
    """
    from punchcard.forecast.batch import Job, evaluate
    from punchcard.forecast.draws import draw_values, triangular
    from punchcard.forecast.pipeline import scheme_summary
    from punchcard.forecast.economics import BREAK_EVEN_DRAWS
    from punchcard.forecast.scenarios import break_even_all

    draws = len(dr.base_total)
    # the break-even as the build solves it: the expectation at the likely values, on its own draws
    dr_be = dr if dr_be is None else dr_be
    n_be, n_dw = min(len(dr_be.base_total), BREAK_EVEN_DRAWS), min(draws, DEADWEIGHT_DRAWS)
    eps = None
    if elasticity is not None:
        eps = [triangular(elasticity, float(u)) for u in _elasticity_uniforms(seed, draws)]
    jobs: list[Job] = []
    plan = []
    for s in schemes:
        vals = [draw_values(s.assumptions, dr.u[d]) for d in range(draws)]
        if eps is not None:
            for d, v in enumerate(vals):
                v["visit_lift"] *= _lift_scale(gen[s.id], g0, eps[d])
        main = len(jobs)
        jobs.append(Job(s, np.arange(draws, dtype=np.int64), vals))
        still = [{**v, "visit_lift": 0.0, "spend_lift": 0.0, "retention_lift": 0.0, "goal_gradient": 0.0,
                  "endowed_progress": 0.0} for v in vals[:n_dw]]
        zero = len(jobs)
        jobs.append(Job(s, np.arange(n_dw, dtype=np.int64), still))
        plan.append((s, main, zero))
    outs = evaluate(base, dr, jobs, replay, progress)
    # the expected net impact at the bracket's ends says which side a missing root lies
    roots, ends = break_even_all(program, base, [p[0] for p in plan], dr_be, n_be, replay)
    result = {}
    for (s, main, zero), root, (f_lo, f_hi) in zip(plan, roots, ends):
        summ = scheme_summary(program, dr, outs[main])
        total = float(np.mean(outs[main].reward_cost[:n_dw]))
        on_base = float(np.mean(outs[zero].reward_cost))
        summ["deadweight_share"] = min(on_base / total, 1.0) if total > 0 else None
        summ["break_even_visit_lift"] = root
        # without a root in [−50 %, +200 %]: pays at any lift, or at none
        summ["break_even_beyond"] = None if root is not None else ("below" if f_lo > 0 else "above")
        summ["assumed_visit_lift"] = (float(np.mean([v["visit_lift"] for v in jobs[main].values])))
        for k in ("histogram", "tornado"):
            summ.pop(k, None)
        result[s.id] = summ
    return result


def _bar(counter: Callable[[str, int], Callable | None] | None, label: str) -> Callable[[int, int], None] | None:
    """Return a (done, total) callback that makes its progress bar when first told the total."""
    if counter is None:
        return None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = counter(label, total)
        if state["bar"] is not None:
            state["bar"](done, total)

    return update


# --- the answer -------------------------------------------------------------------------------


def _be_key(row: dict) -> float:
    """Return a break-even lift for comparing: −inf when it pays at any lift, +inf when at none."""
    be = row["break_even_visit_lift"]
    if be is not None:
        return be
    return -math.inf if row.get("break_even_beyond") == "below" else math.inf


def frontier(rows: list[dict]) -> list[str]:
    """Return the ids of the efficient variants, by generosity: none other is both at least as generous
    and needs at most the same lift to pay (better in one). Variants that never pay are left out."""
    pts = [(r["generosity"], _be_key(r), r["id"]) for r in rows
           if _be_key(r) < math.inf and math.isfinite(r["generosity"])]  # no bill qualifies: no generosity
    out = []
    for g, b, i in pts:
        if not any((g2 >= g and b2 <= b) and (g2 > g or b2 < b) for g2, b2, _ in pts):
            out.append((g, b, i))
    return [i for _, _, i in sorted(out)]


def _round_sig(x: float, digits: int = GENEROSITY_DIGITS) -> float:
    return float(f"{x:.{digits}g}") if x and math.isfinite(x) else x


def lowest_at_each_generosity(rows: list[dict]) -> list[str]:
    """Return, for each generosity (to 3 significant digits), the variant with the lowest break-even lift."""
    best: dict[float, dict] = {}
    for r in rows:
        g = _round_sig(r["generosity"])
        if g not in best or (_be_key(r), r["id"]) < (_be_key(best[g]), best[g]["id"]):
            best[g] = r
    return [best[g]["id"] for g in sorted(best)]


def tune_scheme(program: Program, scheme: Scheme, backtests: dict, forecasts: dict | None,
                settings: dict[str, dict], gen: dict[str, float], values: dict[str, list[float]],
                current_id: str) -> dict:
    """Return one scheme's block of tune.json: every variant, the frontier and (with an elasticity) the best."""
    rows = []
    for vid, st in settings.items():
        bt = backtests[vid].summary
        fc = (forecasts or {}).get(vid) or {}
        rows.append({
            "id": vid.split("@", 1)[1], "settings": st, "current": vid == current_id,
            "generosity": gen[vid],
            "cost_share_of_revenue": bt["cost_share_of_revenue"],
            "rewarded_within_year_share": bt["rewarded_within_year_share"],
            "deadweight_share": fc.get("deadweight_share"),
            "break_even_visit_lift": fc.get("break_even_visit_lift"),
            "break_even_beyond": fc.get("break_even_beyond"),
            "assumed_visit_lift": fc.get("assumed_visit_lift"),
            "net_impact": fc.get("net_impact"),
            "probability_positive": fc.get("probability_positive"),
        })
    rows.sort(key=lambda r: (not math.isfinite(r["generosity"]), r["generosity"] if math.isfinite(r["generosity"])
                             else 0.0, r["id"]))
    forecasted = forecasts is not None
    front = frontier(rows) if forecasted else []
    lowest = lowest_at_each_generosity(rows) if forecasted else []
    best = None
    if forecasted and program.response.generosity_elasticity is not None:
        best = max(rows, key=lambda r: (r["net_impact"]["mean"], r["id"]))["id"]
    for r in rows:
        r["on_frontier"] = r["id"] in front
        r["lowest_at_generosity"] = r["id"] in lowest
    return {"id": scheme.id, "name": scheme.name, "kind": scheme.kind, "tuned_by": "program" if scheme.tune else
            "defaults", "parameters": [{"path": k, "values": v} for k, v in values.items()],
            "current": current_id.split("@", 1)[1], "variants": rows, "frontier": front,
            "lowest_at_each_generosity": lowest, "best": best}


def run(program: Program, ledger, *, scheme_ids: list[str] | None = None, seed: int, draws: int | None = None,
        fingerprint: str | None = None, progress: Callable[[str], None] | None = None,
        iterate: Callable | None = None, counter: Callable[[str, int], Callable | None] | None = None) -> dict:
    """Return tune.json for the program: every tuned scheme's variants, frontier and best variant.

    ``progress(message)`` is told when each phase starts; ``iterate(items, label)`` wraps the
    backtest's loop over the variants and ``counter(label, total)`` makes a ``(done, total)``
    callback for the forecast's batches (progress bars on a terminal).
    """
    from punchcard.forecast.draws import make_draws
    from punchcard.forecast.pipeline import default_replay, prepare
    from punchcard.schemes import backtest

    note = progress or (lambda _m: None)
    by_id = {s.id: s for s in program.schemes}
    unknown = [i for i in scheme_ids or [] if i not in by_id]
    if unknown:
        raise PunchcardError(f"{program.path}: no scheme with id {unknown[0]!r}. "
                             f"Use one of: {', '.join(by_id)}.")
    chosen = [by_id[i] for i in scheme_ids] if scheme_ids else [s for s in program.schemes if kinds()[s.kind].tunable]
    if not chosen:
        raise PunchcardError(f"{program.path}: none of its schemes has a reward to tune; "
                             "add a stamp card, points, tiers, discount, coupon, welcome or birthday scheme.")
    b = bills(ledger)
    n_draws = int(draws if draws is not None else program.forecast.draws)
    note("fitting the customer model")
    prep = prepare(program, ledger, seed)
    skipped = prep if isinstance(prep, str) else None
    if skipped is None:
        base, _block = prep
        dr = make_draws(base, seed, n_draws)
        # the break-even's own draws, as the build makes them (pipeline.run)
        from punchcard.forecast.economics import BREAK_EVEN_DRAWS
        dr_be = make_draws(base, seed, BREAK_EVEN_DRAWS, stream=1, expected_only=True) if BREAK_EVEN_DRAWS > n_draws else None
        replay = default_replay()
    blocks = []
    for scheme in chosen:
        values, vs = variants(scheme)
        current = f"{scheme.id}@{variant_id({k: _current(scheme, k) for k in values})}"
        settings = {v.id: st for st, v in vs}
        gen = {v.id: generosity(v, b) for _, v in vs}
        schemes = [v for _, v in vs]
        note(f"{scheme.id}: backtest of {len(schemes)} variants")
        bar = None if iterate is None else (lambda items, sid=scheme.id: iterate(items, f"{sid}: backtest"))
        bts = backtest.run(dataclasses.replace(program, schemes=tuple(schemes)), ledger, progress=bar)
        fcs = None
        if skipped is None:
            note(f"{scheme.id}: forecast of {len(schemes)} variants × {n_draws} draws, with break-even lifts")
            fcs = forecast_variants(program, base, dr, schemes, gen, gen[current], replay,
                                    program.response.generosity_elasticity, seed,
                                    _bar(counter, f"{scheme.id}: forecast"), dr_be=dr_be)
        blocks.append(tune_scheme(program, scheme, bts, fcs, settings, gen, values, current))
    el = program.response.generosity_elasticity
    return {"schema_version": TUNE_SCHEMA_VERSION, "punchcard_version": __version__,
            "program": {"id": program.id, "name": program.name, "currency": program.currency,
                        "locale": program.locale},
            "fingerprint": fingerprint, "seed": seed, "draws": n_draws,
            "generosity_elasticity": None if el is None else {"low": el.low, "likely": el.likely, "high": el.high},
            "forecast_skipped": str(skipped) if skipped is not None else None,
            "schemes": blocks}
