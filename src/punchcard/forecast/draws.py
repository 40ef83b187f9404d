"""The random inputs of the Monte Carlo draws: assumption values, who joins, the customer sample.

Each ranged assumption is drawn from its triangular (low, likely, high) distribution;
``make_draws`` gives every draw its customers' random-number keys, enrollment uniforms
and baseline-world revenue, shared by every scheme (common random numbers).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.random import PCG64, Generator

from punchcard.forecast import simulate as S
from punchcard.program import Assumptions, Range, SegmentRange
from punchcard.program.types import SEGMENT_NAMES
from punchcard.forecast.worlds import Base

#: The lifts that may differ by buyer segment (light, medium, heavy)
SEGMENTED = ("visit_lift", "spend_lift", "retention_lift")
RANGED = ("enrollment", "visit_lift", "spend_lift", "retention_lift", "redemption_rate",
          "goal_gradient", "endowed_progress", "displacement", "acquisition_lift")
STRATA_EDGES = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
#: Share of the members each draw simulates when the customers are a sample of a larger
#: base (docs/forecast.md): every draw thins its members at random, so the sampling noise
#: shows in the Monte Carlo standard error instead of hiding in one fixed sample.
THIN = 0.5


def triangular(rng: Range, u: float) -> float:
    """Return the triangular (low, likely, high) quantile at probability u."""
    lo, mode, hi = rng.low, rng.likely, rng.high
    if hi <= lo:
        return float(lo)
    fc = (mode - lo) / (hi - lo)
    if u < fc:
        return float(lo + np.sqrt(u * (hi - lo) * (mode - lo)))
    return float(hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode)))


def _values(a: Assumptions, value_of: Callable[[Range, int], float]) -> dict[str, float]:
    """Return every ranged assumption's value, and each segmented lift's value per segment.

    ``value_of(range, j)`` gives a Range's value (j: the assumption's place in RANGED). A
    lift given per segment takes each segment's own value (the plain key holds their
    average); a plain lift is split by ``segment_split``. Keys: ``visit_lift``,
    ``visit_lift:light`` …
    """
    v: dict[str, float] = {}
    for j, name in enumerate(RANGED):
        rng = getattr(a, name)
        if isinstance(rng, SegmentRange):
            per = [value_of(r, j) for r in rng.parts]
            v[name] = sum(per) / len(per)
        else:
            v[name] = value_of(rng, j)
            per = [v[name] * w for w in a.segment_split] if name in SEGMENTED else []
        for seg, x in zip(SEGMENT_NAMES, per):
            v[f"{name}:{seg}"] = float(x)
    return v


def draw_values(a: Assumptions, u: np.ndarray) -> dict[str, float]:
    """Return one Monte Carlo draw of the ranged assumptions from uniforms u (one per RANGED name).

    A lift given per segment draws its three segments with the same uniform.
    """
    return _values(a, lambda rng, j: triangular(rng, float(u[j])))


def likely_values(a: Assumptions) -> dict[str, float]:
    """Return every ranged assumption at its likely value."""
    return _values(a, lambda rng, j: float(rng.likely))


def end_values(a: Assumptions, name: str, end: str) -> dict[str, float]:
    """Return the likely values with assumption ``name`` at its ``low`` or ``high`` end (every segment)."""
    return {**likely_values(a), **_values_of(a, name, lambda r: float(getattr(r, end)))}


def _values_of(a: Assumptions, name: str, value_of: Callable[[Range], float]) -> dict[str, float]:
    rng = getattr(a, name)
    if isinstance(rng, SegmentRange):
        per = [value_of(r) for r in rng.parts]
        out = {name: sum(per) / len(per)}
    else:
        out = {name: value_of(rng)}
        per = [out[name] * w for w in a.segment_split] if name in SEGMENTED else []
    out.update({f"{name}:{seg}": float(x) for seg, x in zip(SEGMENT_NAMES, per)})
    return out


def with_lift(a: Assumptions, v: dict[str, float], name: str, x: float) -> dict[str, float]:
    """Return values v with lift ``name`` at average x, split over the segments as its likely values are."""
    rng = getattr(a, name)
    out = dict(v)
    out[name] = float(x)
    if name not in SEGMENTED:
        return out
    if isinstance(rng, SegmentRange) and abs(rng.likely) > 0.0:
        shares = [r.likely / rng.likely for r in rng.parts]
    elif isinstance(rng, SegmentRange):
        shares = [1.0, 1.0, 1.0]
    else:
        shares = list(a.segment_split)
    out.update({f"{name}:{seg}": float(x) * w for seg, w in zip(SEGMENT_NAMES, shares)})
    return out


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
    picked = []
    for s_ in range(len(sizes)):  # each stratum's k customers with the smallest uniforms
        members = np.flatnonzero(stratum == s_)
        if k[s_] >= len(members):
            picked.append(members)
        elif k[s_] > 0:
            picked.append(members[np.argpartition(u[members], k[s_] - 1)[:k[s_]]])
    keep = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    weight = (sizes / np.maximum(k, 1))[stratum[keep]]
    return keep, weight


@dataclass(frozen=True)
class Draws:
    """Per-draw random inputs shared by every scheme: keys, enrollment uniforms, baseline revenue."""

    keys: np.ndarray  # (draws, customers) random-number base keys
    join_u: np.ndarray  # (draws, customers) enrollment uniforms
    base_rev: np.ndarray  # (draws, customers) baseline revenue
    base_total: np.ndarray  # (draws,) weighted baseline revenue
    u: np.ndarray  # (draws, len(RANGED)) uniforms for the ranged assumptions
    lam: np.ndarray  # (draws, customers) posterior purchase rate (0: no longer active)
    p: np.ndarray  # (draws, customers) posterior drop-out probability per purchase
    nu: np.ndarray  # (draws, customers) posterior spend scale
    t0: np.ndarray | None = None  # (draws, customers) a new customer's arrival week (−1: a customer of today)
    # the baseline's gamma draws (simulate.draws_baseline_memo: spends, row, at) that the scheme
    # worlds read instead of drawing again; None: drawn again
    memo: tuple | None = dataclasses.field(default=None, compare=False, repr=False)
    idle: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)  # see batch._idle_outcome


def make_draws(base: Base, seed: int, draws: int, *, stream: int = 0, expected_only: bool = False) -> Draws:
    """Return the per-draw random inputs and the baseline world (stream ≠ 0 gives independent numbers).

    ``expected_only``: the draws serve only ``Job.expected`` jobs (the break-even), which
    simulate the customers under the thinning share ``Base.thin`` alone; the others are left
    out of the baseline too (revenue 0), so ``base_total`` counts the same customers as
    the jobs (it cancels from their net impact: batch.Outcomes.net). Their baseline spends
    and times are kept (``Draws.memo``, 16 bytes a purchase, for as many of the first draws
    as fit in simulate.MEMO_BYTES: 384 MiB), since the break-even replays them at many lifts.
    """
    rng = Generator(PCG64([seed, stream]) if stream else PCG64(seed))
    dkeys = rng.integers(0, np.iinfo(np.uint64).max, size=draws, dtype=np.uint64, endpoint=True)
    u = rng.random((draws, len(RANGED) - 1))
    # the acquisition lift's uniforms come after the others', so adding it left their values as they were
    u = np.column_stack([u, rng.random(draws)])
    n = len(base.cust)
    lo = np.full(n, -1.0) if base.arr_lo is None else np.asarray(base.arr_lo, dtype=np.float64)
    hi = np.full(n, -1.0) if base.arr_hi is None else np.asarray(base.arr_hi, dtype=np.float64)
    args = (dkeys, base.cust_hash, base.palive, base.x, base.T, base.mean_value, base.par, base.horizon_weeks, lo, hi,
            float(base.thin) if expected_only and base.thin < 1.0 else np.inf)
    memo = None
    if expected_only:  # the break-even evaluates every scheme at many lifts on these draws: keep their spends
        keys, join_u, base_rev, lam, p, nu, t0, memo = S.draws_baseline_memo(*args)
    else:
        keys, join_u, base_rev, lam, p, nu, t0 = S.draws_baseline(*args)
    base_rev[:, base.is_extra] = 0.0  # arrivals only a scheme brings buy nothing without it
    totals = np.array([float(np.sum(base.weight * base_rev[d])) for d in range(draws)])
    return Draws(keys, join_u, base_rev, totals, u, lam, p, nu, t0, memo)
