"""Stage 4b: Monte Carlo forecast of each scheme against a no-scheme baseline (SPEC §5).

Fits BG/NBD + Gamma-Gamma to the identified customers, simulates ``horizon_months`` of
their purchases with common random numbers in both worlds (``simulate.py``), replays the
scheme world through the scheme's own accounting (``schemes.replay``) and summarises the
per-draw net impact. docs/forecast.md explains every step and assumption.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.random import PCG64, Generator
from scipy.optimize import brentq

from punchcard import model as M
from punchcard import simulate as S
from punchcard.ledger import Ledger, TxArrays
from punchcard.program import Assumptions, Program, Range, Scheme
from punchcard.i18n import Message, message_dict, nmessage

DAYS_PER_MONTH = 30.4375
RANGED = ("enrollment", "visit_lift", "spend_lift", "retention_lift", "redemption_rate",
          "goal_gradient", "endowed_progress")
BREAK_EVEN_BRACKET = (-0.5, 2.0)
SCENARIO_DRAWS = 20  # draws behind each tornado bar and each break-even evaluation
MIN_CUSTOMERS = 20
MIN_REPEAT = 10
MIN_DAYS = 28
STRATA_EDGES = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
COUNTERS = {"visits": S.COUNTER_VISITS, "items": S.COUNTER_ITEMS, "spend": S.COUNTER_SPEND}


@dataclass(frozen=True)
class ForecastOutput:
    """The forecast blocks of results.json: model (with checks), per-scheme forecasts, run settings."""

    model: dict | None
    schemes: dict[str, dict] | None
    run: dict
    skipped_reason: str | None


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


@dataclass(frozen=True)
class DrawOutcome:
    """One draw of one scheme: weighted totals over the simulated customers."""

    revenue: float
    reward_cost: float
    liability: float
    members: float


# --- assumptions ------------------------------------------------------------------------


def triangular(rng: Range, u: float) -> float:
    """Return the triangular (low, likely, high) quantile at probability u."""
    lo, mode, hi = rng.low, rng.likely, rng.high
    if hi <= lo:
        return float(lo)
    fc = (mode - lo) / (hi - lo)
    if u < fc:
        return float(lo + np.sqrt(u * (hi - lo) * (mode - lo)))
    return float(hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode)))


def draw_values(a: Assumptions, u: np.ndarray) -> dict[str, float]:
    """Return one Monte Carlo draw of the ranged assumptions from uniforms u (one per RANGED name)."""
    return {name: triangular(getattr(a, name), float(u[j])) for j, name in enumerate(RANGED)}


def likely_values(a: Assumptions) -> dict[str, float]:
    """Return every ranged assumption at its likely value."""
    return {name: float(getattr(a, name).likely) for name in RANGED}


def join_probability(weight: np.ndarray, x: np.ndarray, share: float, bias: float) -> np.ndarray:
    """Return each customer's chance of joining so the weighted share is ``share``, tilted by (x+1)^bias."""
    share = min(max(share, 0.0), 1.0)
    if share >= 1.0 or bias == 0.0:
        return np.full(len(x), share)
    tilt = (x + 1.0) ** bias
    total = float(np.sum(weight))
    lo, hi = 0.0, 1.0 / max(float(np.min(tilt)), 1e-300)
    for _ in range(60):  # bisection on the scale c of min(1, c·tilt)
        c = 0.5 * (lo + hi)
        if float(np.sum(weight * np.minimum(1.0, c * tilt))) < share * total:
            lo = c
        else:
            hi = c
    return np.minimum(1.0, 0.5 * (lo + hi) * tilt)


# --- preparation ------------------------------------------------------------------------


def _skip(program: Program, seed: int, draws: int, reason: str) -> ForecastOutput:
    return ForecastOutput(model=None, schemes=None, run=_run_block(program, seed, draws, 0, 1.0, reason),
                          skipped_reason=reason)


def _run_block(program: Program, seed: int, draws: int, n_sim: int, weight: float, reason: str | None) -> dict:
    return {"draws": draws, "seed": seed, "horizon_months": program.business.horizon_months,
            "customers_simulated": n_sim, "sample_weight": weight, "skipped_reason": reason,
            "skipped": message_dict(reason)}  # the reason as {"msgid", "params"}, for translation


def _hash_uniform(cust_hash: np.ndarray, seed: int) -> np.ndarray:
    """Return a fixed uniform per customer (for the stratified sample), keyed by hash and seed."""
    return S.join_uniforms(S.customer_base(np.uint64(seed & 0xFFFFFFFFFFFFFFFF), cust_hash))


def sample_customers(x: np.ndarray, value: np.ndarray, cust_hash: np.ndarray, max_n: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Return (indices, weights) of a stratified sample by repeat count, allocated ∝ √(n·value) per stratum."""
    n = len(x)
    if n <= max_n:
        return np.arange(n), np.ones(n)
    stratum = np.searchsorted(STRATA_EDGES, x, side="right") - 1
    sizes = np.bincount(stratum, minlength=len(STRATA_EDGES)).astype(np.float64)
    worth = np.sqrt(sizes * np.bincount(stratum, weights=value, minlength=len(STRATA_EDGES)) + 1e-12)
    alloc = np.zeros(len(sizes))
    left, open_ = float(max_n), sizes > 0
    while left > 0.5 and np.any(open_):  # water-filling over at most six strata
        share = np.where(open_, worth, 0.0)
        want = alloc + left * share / share.sum()
        capped = want >= sizes
        alloc = np.where(open_ & capped, sizes, np.where(open_, want, alloc))
        left = max_n - float(alloc.sum())
        open_ = open_ & ~capped
        if not np.any(capped & (share > 0)):
            break
    k = np.maximum(np.minimum(np.floor(alloc), sizes), np.minimum(sizes, 1.0)).astype(np.int64)
    u = _hash_uniform(cust_hash, seed)
    order = np.lexsort((np.arange(n), u, stratum))
    rank = np.empty(n, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes.astype(np.int64))[:-1]))
    rank[order] = np.arange(n) - starts[stratum[order]]
    keep = np.sort(np.flatnonzero(rank < k[stratum]))
    weight = (sizes / np.maximum(k, 1))[stratum[keep]]
    return keep, weight


def _model_block(fit: M.BGNBDFit, gg: M.GammaGammaFit, rfm: M.RFM, horizon_weeks: float,
                 exp_tx: np.ndarray, exp_rev: np.ndarray, checks: dict | None) -> dict:
    return {
        "bgnbd": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "loglik": fit.loglik},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v, "loglik": gg.loglik},
        "horizon_weeks": horizon_weeks,
        "expected_transactions": float(np.sum(exp_tx)),
        "expected_revenue": float(np.sum(exp_rev)),
        "converged": bool(fit.converged and gg.converged),
        "customers": int(len(rfm.x)),
        "repeat_customers": int(np.sum(rfm.x > 0)),
        "checks": checks,
    }


def prepare(program: Program, ledger: Ledger, seed: int) -> tuple[Base, dict] | str:
    """Return the simulation inputs and the model block, or a plain sentence saying why not."""
    days = int(ledger.end_day) - int(ledger.start_day) + 1
    if days < MIN_DAYS:
        return nmessage("The sales history covers %(n)s day; the forecast needs at least %(min_days)s.",
                        "The sales history covers %(n)s days; the forecast needs at least %(min_days)s.",
                        {"n": days, "min_days": MIN_DAYS},
                        english=f"The sales history covers {days} days; the forecast needs at least {MIN_DAYS}.")
    rfm = M.rfm(ledger)
    n_rep = int(np.sum(rfm.x > 0))
    if len(rfm.x) < MIN_CUSTOMERS or n_rep < MIN_REPEAT:
        return Message("Only %(customers)s identified customers and %(repeat)s repeat customers; the forecast "
                       "needs at least %(min_customers)s customers and %(min_repeat)s who came back.",
                       {"customers": len(rfm.x), "repeat": n_rep, "min_customers": MIN_CUSTOMERS,
                        "min_repeat": MIN_REPEAT})
    fit = M.fit_bgnbd(rfm.x, rfm.t_x, rfm.T)
    if not fit.converged:
        return Message("The purchase model (BG/NBD) could not be fitted to these data (%(detail)s).",
                       {"detail": str(fit.message)})
    gg = M.fit_gamma_gamma(rfm.x, rfm.mean_value)
    if not gg.converged or gg.q <= 1.0:
        return Message("The spend model (Gamma-Gamma) could not be fitted to these data.")
    horizon_weeks = program.business.horizon_months * DAYS_PER_MONTH / 7.0
    exp_tx = M.expected_transactions(fit, horizon_weeks, rfm.x, rfm.t_x, rfm.T)
    exp_rev = exp_tx * M.expected_spend(gg, rfm.x, rfm.mean_value)
    if not (np.all(np.isfinite(exp_tx)) and np.all(np.isfinite(exp_rev))):
        return "The purchase model gives no finite forecast for these data."
    checks = M.holdout_checks(ledger)
    block = _model_block(fit, gg, rfm, horizon_weeks, exp_tx, exp_rev, checks)
    cust_hash = np.asarray(ledger.cust_hash, dtype=np.uint64)[rfm.cust]
    keep, weight = sample_customers(rfm.x, exp_rev, cust_hash, program.forecast.max_customers, seed)
    items = _items_per_occasion(ledger)[rfm.cust]
    bday = (np.full(ledger.n_customers, -1, dtype=np.int16) if ledger.birthday_doy is None
            else np.asarray(ledger.birthday_doy, dtype=np.int16))
    start = int(ledger.end_day) + 1
    base = Base(
        cust=rfm.cust[keep], weight=weight, palive=M.p_alive(fit, rfm.x, rfm.t_x, rfm.T)[keep],
        x=rfm.x[keep], T=rfm.T[keep], mean_value=rfm.mean_value[keep], items=items[keep],
        cust_hash=cust_hash[keep], birthday_doy=bday[rfm.cust[keep]],
        par=np.array([fit.r, fit.alpha, fit.a, fit.b, gg.p, gg.q, gg.v]),
        horizon_weeks=horizon_weeks, start_day=start,
        end_day=start + int(np.ceil(horizon_weeks * 7.0)) - 1, data_start_day=int(ledger.start_day),
        gross_margin=program.business.gross_margin, horizon_months=program.business.horizon_months,
    )
    return base, block


def _items_per_occasion(ledger: Ledger) -> np.ndarray:
    """Return each customer's mean items per purchase occasion (1 when unknown)."""
    occ = M.occasions(ledger)
    tx = ledger.tx.filter(ledger.tx["amount"] >= 0)
    items = np.bincount(tx["cust"].to_numpy(), weights=tx["items"].to_numpy(), minlength=ledger.n_customers)
    n = np.bincount(occ["cust"].to_numpy(), minlength=ledger.n_customers)
    return np.where(n > 0, items / np.maximum(n, 1), 1.0)


# --- one draw -----------------------------------------------------------------------------


def _world(scheme: Scheme, v: dict[str, float]) -> np.ndarray:
    """Return the kernel's world vector: multipliers and the stamp-card state machine settings."""
    a = scheme.assumptions
    stamp = scheme.kind == "stamp_card"
    p = scheme.params
    return np.array([
        1.0 + v["visit_lift"], 1.0 + v["spend_lift"], 1.0 - v["retention_lift"],
        min(max(v["goal_gradient"], 0.0), 0.95) if stamp else 0.0,
        1.0 if a.post_reward_reset else 0.0, 1.0 if stamp else 0.0,
        float(p.stamps) if stamp else 1.0, float(COUNTERS[p.counter]) if stamp else 0.0,
        float(p.min_purchase) if stamp else 0.0, float(p.head_start) if stamp else 0.0,
        max(v["endowed_progress"], 0.0) if stamp else 0.0,
    ])


def _context(ctx_type: Any, base: Base, scheme: Scheme, idx: np.ndarray, redemption: float) -> Any:
    # only today's customers are simulated, none of them new: anchor welcome newness at the horizon end
    anchor = base.end_day if scheme.kind == "welcome_offer" else base.data_start_day
    fields = dict(
        start_day=base.start_day, end_day=base.end_day, gross_margin=base.gross_margin,
        redemption_rate=redemption, member=np.ones(len(idx), dtype=bool),
        join_day=np.full(len(idx), base.start_day, dtype=np.int32),
        birthday_doy=base.birthday_doy[idx], cust_hash=base.cust_hash[idx],
        data_start_day=anchor,
    )
    names = {f.name for f in dataclasses.fields(ctx_type)}
    return ctx_type(**{k: v for k, v in fields.items() if k in names})


@dataclass(frozen=True)
class _LocalContext:
    start_day: int
    end_day: int
    gross_margin: float
    redemption_rate: float
    member: np.ndarray
    join_day: np.ndarray
    birthday_doy: np.ndarray
    cust_hash: np.ndarray
    data_start_day: int


def scheme_draw(base: Base, scheme: Scheme, v: dict[str, float], keys: np.ndarray, join_u: np.ndarray,
                base_rev: np.ndarray, replay: Callable, ctx_type: Any) -> DrawOutcome:
    """Return one draw of the scheme world: revenue, reward cost and liability (weighted)."""
    pi = join_probability(base.weight, base.x, v["enrollment"], scheme.assumptions.frequency_bias)
    idx = np.flatnonzero(join_u < pi)
    w = base.weight[idx]
    total = float(np.sum(base.weight * base_rev))
    if len(idx) == 0:
        return DrawOutcome(total, 0.0, 0.0, 0.0)
    c, day, amt, items, rev_m = S.members(
        keys[idx], base.palive[idx], base.x[idx], base.T[idx], base.mean_value[idx], base.items[idx],
        base.par, base.horizon_weeks, _world(scheme, v), base.start_day,
    )
    order = np.lexsort((amt, day, c))
    tx = TxArrays(cust=c[order], day=day[order], amount=amt[order], items=items[order], n_customers=len(idx))
    rep = replay(scheme, tx, _context(ctx_type, base, scheme, idx, v["redemption_rate"]))
    revenue = total - float(np.sum(w * base_rev[idx])) + float(np.sum(w * rev_m))
    reward_cost = float(np.sum(w[tx.cust] * np.asarray(rep.cost, dtype=np.float64)))
    accrued = getattr(rep, "accrued", None)  # per-member costs over membership time (perks)
    if accrued is not None:
        reward_cost += float(np.sum(w * np.asarray(accrued, dtype=np.float64)))
    liability = float(np.sum(w * np.asarray(rep.liability, dtype=np.float64)))
    return DrawOutcome(revenue, reward_cost, liability, float(np.sum(w)))


def fixed_cost(program: Program, members: float) -> float:
    """Return setup + monthly × horizon + per_member_year × members × horizon years."""
    fc, h = program.business.fixed_costs, program.business.horizon_months
    return fc.setup + fc.monthly * h + fc.per_member_year * members * h / 12.0


def net_impact(program: Program, out: DrawOutcome, base_total: float) -> float:
    """Return incremental margin − reward cost − fixed cost for one draw."""
    gm = program.business.gross_margin
    return gm * (out.revenue - base_total) - out.reward_cost - fixed_cost(program, out.members)


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Per-draw random inputs shared by every scheme: keys, enrollment uniforms, baseline revenue."""

    keys: list[np.ndarray]
    join_u: list[np.ndarray]
    base_rev: list[np.ndarray]
    base_total: np.ndarray
    u: np.ndarray  # (draws, len(RANGED)) uniforms for the ranged assumptions


def make_draws(base: Base, seed: int, draws: int, *, stream: int = 0) -> Draws:
    """Return the per-draw random inputs and the baseline world (stream ≠ 0 gives independent numbers)."""
    rng = Generator(PCG64([seed, stream]) if stream else PCG64(seed))
    dkeys = rng.integers(0, np.iinfo(np.uint64).max, size=draws, dtype=np.uint64, endpoint=True)
    u = rng.random((draws, len(RANGED)))
    keys, join_u, base_rev, totals = [], [], [], np.empty(draws)
    for d in range(draws):
        k = S.customer_base(dkeys[d], base.cust_hash)
        rev, _ = S.baseline(k, base.palive, base.x, base.T, base.mean_value, base.par, base.horizon_weeks)
        keys.append(k)
        join_u.append(S.join_uniforms(k))
        base_rev.append(rev)
        totals[d] = float(np.sum(base.weight * rev))
    return Draws(keys, join_u, base_rev, totals, u)


def expected_net(program: Program, base: Base, scheme: Scheme, dr: Draws, values: Callable[[int], dict],
                 n: int, replay: Callable, ctx_type: Any) -> float:
    """Return the mean net impact over the first n draws with per-draw assumption values."""
    tot = 0.0
    for d in range(n):
        out = scheme_draw(base, scheme, values(d), dr.keys[d], dr.join_u[d], dr.base_rev[d], replay, ctx_type)
        tot += net_impact(program, out, float(dr.base_total[d]))
    return tot / n


def break_even(program: Program, base: Base, scheme: Scheme, dr: Draws, n: int, replay: Callable,
               ctx_type: Any) -> float | None:
    """Return the visit lift in [−0.5, 2] at which expected net impact is zero (brentq, CRN), or None."""
    a = scheme.assumptions

    def f(lift: float) -> float:
        def values(d: int) -> dict:
            v = draw_values(a, dr.u[d])
            v["visit_lift"] = lift
            return v
        return expected_net(program, base, scheme, dr, values, n, replay, ctx_type)

    lo, hi = BREAK_EVEN_BRACKET
    f_lo, f_hi = f(lo), f(hi)
    if f_lo == 0.0:
        return lo
    if f_hi == 0.0:
        return hi
    if np.sign(f_lo) == np.sign(f_hi):
        return None
    return float(brentq(f, lo, hi, xtol=5e-4, rtol=1e-6, maxiter=100))


def tornado(program: Program, base: Base, scheme: Scheme, dr: Draws, n: int, replay: Callable,
            ctx_type: Any) -> list[dict]:
    """Return net impact with each ranged assumption at its low and high, others at likely."""
    a = scheme.assumptions
    rows = []
    for name in RANGED:
        rng = getattr(a, name)
        if rng.is_fixed:
            continue
        at = {}
        for end in ("low", "high"):
            v = likely_values(a)
            v[name] = getattr(rng, end)
            at[end] = expected_net(program, base, scheme, dr, lambda d, v=v: v, n, replay, ctx_type)
        rows.append({"assumption": name, "low": rng.low, "high": rng.high,
                     "at_low": at["low"], "at_high": at["high"]})
    rows.sort(key=lambda r: (-abs(r["at_high"] - r["at_low"]), r["assumption"]))
    return rows


def _histogram(values: np.ndarray, bins: int = 20) -> list[dict]:
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        return [{"x0": lo, "x1": hi, "count": int(len(values))}]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return [{"x0": float(edges[i]), "x1": float(edges[i + 1]), "count": int(counts[i])} for i in range(bins)]


def scheme_forecast(program: Program, base: Base, scheme: Scheme, dr: Draws, replay: Callable,
                    ctx_type: Any, *, scenarios: bool = True) -> dict:
    """Return the ``schemes[].forecast`` block of one scheme."""
    draws = len(dr.base_total)
    outs = [scheme_draw(base, scheme, draw_values(scheme.assumptions, dr.u[d]), dr.keys[d], dr.join_u[d],
                        dr.base_rev[d], replay, ctx_type) for d in range(draws)]
    rev = np.array([o.revenue for o in outs])
    reward = np.array([o.reward_cost for o in outs])
    members = np.array([o.members for o in outs])
    fixed = np.array([fixed_cost(program, m) for m in members])
    inc_rev = rev - dr.base_total
    net = program.business.gross_margin * inc_rev - reward - fixed
    se = (lambda a: float(np.std(a, ddof=1) / np.sqrt(draws)) if draws > 1 else 0.0)
    q10, q50, q90 = (float(v) for v in np.quantile(net, [0.1, 0.5, 0.9]))
    n_sc = min(draws, SCENARIO_DRAWS)
    return {
        "horizon_months": program.business.horizon_months, "draws": draws,
        "net_impact": {"mean": float(np.mean(net)), "p10": q10, "p50": q50, "p90": q90, "se": se(net)},
        "incremental_revenue": float(np.mean(inc_rev)), "incremental_revenue_se": se(inc_rev),
        "incremental_margin": float(np.mean(program.business.gross_margin * inc_rev)),
        "scheme_cost": float(np.mean(reward + fixed)), "reward_cost": float(np.mean(reward)),
        "fixed_cost": float(np.mean(fixed)), "members": float(np.mean(members)),
        "liability": float(np.mean([o.liability for o in outs])),
        "baseline_revenue": float(np.mean(dr.base_total)),
        "probability_positive": float(np.mean(net > 0)),
        "break_even_visit_lift": (break_even(program, base, scheme, dr, n_sc, replay, ctx_type)
                                  if scenarios else None),
        "histogram": _histogram(net),
        "tornado": tornado(program, base, scheme, dr, n_sc, replay, ctx_type) if scenarios else [],
    }


def _default_replay() -> tuple[Callable, Any]:
    from punchcard import schemes

    return schemes.replay, getattr(schemes, "ReplayContext", _LocalContext)


def run(program: Program, ledger: Ledger, *, seed: int = 20270101, draws: int | None = None,
        replay: Callable | None = None) -> ForecastOutput:
    """Return the fitted model, each scheme's simulated forecast and the run settings (or why it was skipped)."""
    n_draws = int(draws if draws is not None else program.forecast.draws)
    prep = prepare(program, ledger, seed)
    if isinstance(prep, str):
        return _skip(program, seed, n_draws, prep)
    base, block = prep
    if replay is None:
        replay, ctx_type = _default_replay()
    else:
        ctx_type = _LocalContext
    dr = make_draws(base, seed, n_draws)
    schemes = {s.id: scheme_forecast(program, base, s, dr, replay, ctx_type) for s in program.schemes}
    mean_w = float(np.sum(base.weight) / len(base.weight))
    return ForecastOutput(model=block, schemes=schemes,
                          run=_run_block(program, seed, n_draws, int(len(base.cust)), mean_w, None),
                          skipped_reason=None)
