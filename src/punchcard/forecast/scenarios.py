"""Forecast scenarios: the tornado (each assumption at its low and high) and the break-even visit lift.

The tornado averages the net impact over the first SCENARIO_DRAWS draws (common random
numbers) and is centred on the headline mean; the break-even solves the expected net
impact at the likely values (economics.break_even_job) with Brent's method, advanced for
every scheme in one batch per step.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from punchcard.forecast.batch import Job, evaluate
from punchcard.forecast.draws import RANGED, Draws, end_values
from punchcard.forecast.economics import break_even_job, has_item_reward
from punchcard.program import Program, Scheme
from punchcard.forecast.worlds import Base

BREAK_EVEN_BRACKET = (-0.5, 2.0)
BREAK_EVEN_GRID = (-0.5, 0.0, 2.0)  # lifts evaluated together before Brent refines
SCENARIO_DRAWS = 10  # draws behind each tornado bar (common random numbers; centred on the headline)


def mean_net(values: np.ndarray) -> float:
    tot = 0.0
    for x in values:
        tot += float(x)
    return tot / len(values)


def expected_net(program: Program, base: Base, scheme: Scheme, dr: Draws, values: Callable[[int], dict],
                 n: int, replay: Callable) -> float:
    """Return the mean net impact over the first n draws with per-draw assumption values."""
    job = Job(scheme, np.arange(n, dtype=np.int64), [values(d) for d in range(n)])
    return mean_net(evaluate(base, dr, [job], replay)[0].net(program, dr.base_total[:n]))


def tornado_jobs(scheme: Scheme, n: int) -> list[tuple[str, str, Job]]:
    """Return (assumption, end, job) for each ranged assumption at its low and at its high."""
    out = []
    for name in tornado_names(scheme):
        for end in ("low", "high"):
            v = end_values(scheme.assumptions, name, end)
            out.append((name, end, Job(scheme, np.arange(n, dtype=np.int64), [v] * n)))
    return out


def tornado_names(scheme: Scheme) -> list[str]:
    """Return the ranged assumptions that can move this scheme's net impact (displacement: free items only)."""
    a = scheme.assumptions
    return [name for name in RANGED if not getattr(a, name).is_fixed
            and (name != "displacement" or has_item_reward(scheme))]


def brent(xa: float, xb: float, fa: float, fb: float, xtol: float, rtol: float, maxiter: int):
    """Brent's method as a generator: yields the next lift to evaluate, is sent f there, returns the root.

    The steps are those of scipy.optimize.brentq (its C code, Brent 1973), written so that
    the searches of several schemes can advance together, one batched evaluation per step.
    """
    xpre, xcur, fpre, fcur = xa, xb, fa, fb
    xblk = fblk = spre = scur = 0.0
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and np.signbit(fpre) != np.signbit(fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre, scur = scur, stry  # good short step
            else:
                spre = scur = sbis  # bisect
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = yield xcur
    return xcur


def break_even_all(program: Program, base: Base, schemes: list[Scheme], dr: Draws, n: int, replay: Callable, known: list[dict[float, float]]) -> list[float | None]:
    """Return each scheme's break-even visit lift, from its expected net impact ``known`` at the grid lifts.

    None where the expected net impact has the same sign at both ends of BREAK_EVEN_BRACKET.
    Otherwise the first grid step that changes sign brackets the root, and Brent's method
    solves it to 0.0005; every step evaluates all the schemes' next lifts in one batch.
    """
    lo, hi = BREAK_EVEN_BRACKET
    roots: list[float | None] = [None] * len(schemes)
    searches = {}
    for k, kn in enumerate(known):
        f_lo, f_hi = kn[lo], kn[hi]
        if f_lo == 0.0:
            roots[k] = lo
            continue
        if f_hi == 0.0:
            roots[k] = hi
            continue
        if np.sign(f_lo) == np.sign(f_hi):
            continue
        grid = sorted(x for x in kn if lo <= x <= hi)
        a, b = lo, hi
        for x0, x1 in zip(grid, grid[1:]):  # narrow the bracket to the first grid step that changes sign
            if np.sign(kn[x0]) != np.sign(kn[x1]):
                a, b = x0, x1
                break
        searches[k] = brent(a, b, kn[a], kn[b], 5e-4, 1e-6, 100)
    asked = {}
    for k, gen in searches.items():
        try:
            asked[k] = next(gen)
        except StopIteration as done:
            roots[k] = float(done.value)
    while asked:
        jobs = [break_even_job(schemes[k], n, x) for k, x in asked.items()]
        outs = evaluate(base, dr, jobs, replay)
        nxt = {}
        for (k, x), o in zip(asked.items(), outs):
            f = mean_net(o.net(program, dr.base_total[:n]))
            known[k][x] = f
            try:
                nxt[k] = searches[k].send(f)
            except StopIteration as done:
                roots[k] = float(done.value)
        asked = nxt
    return roots


def tornado_rows(scheme: Scheme, at: dict[tuple[str, str], float], shift: float = 0.0) -> list[dict]:
    """Return the tornado bars, each end moved by ``shift`` (the headline mean − the bars' centre)."""
    a = scheme.assumptions
    rows = []
    for name in tornado_names(scheme):
        rng = getattr(a, name)
        rows.append({"assumption": name, "low": rng.low, "high": rng.high,
                     "at_low": at[(name, "low")] + shift, "at_high": at[(name, "high")] + shift})
    rows.sort(key=lambda r: (-abs(r["at_high"] - r["at_low"]), r["assumption"]))
    return rows
