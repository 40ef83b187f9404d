"""Forecast scenarios: the tornado (each assumption at its low and high) and the break-even visit lift.

The tornado averages the net impact over the first SCENARIO_DRAWS draws (common random
numbers) and is centred on the headline mean; the break-even solves the expected net
impact at the likely values (economics.break_even_job): searched on its first draws with
Brent's method, then settled on all of them by a Newton or secant step, every scheme
advanced in one batch per step (``break_even_all``).
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
BREAK_EVEN_XTOL = 5e-4  # the break-even is solved to 0.05 percentage points
#: The break-even's search runs on its first draws; all BREAK_EVEN_DRAWS then settle it (break_even_all)
BREAK_EVEN_SEARCH_DRAWS = 100
SEARCH_XTOL = 3e-3  # the search's tolerance (its draws' root is itself a few tenths of a point off)
SEARCH_STEPS = 12  # secant steps of the search at most (then its next lift is settled all the same)
SLOPE_STEP = 0.05  # the search's draws give the slope between the search's root and this far from it
NEWTON_OK = 0.01  # a Newton step on every draw at most this long is the root (else the secant goes on)
SECANT_STEPS = 6  # secant steps on every draw before Brent's method takes over
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


def _be_job(scheme: Scheme, draws: np.ndarray, lift: float) -> Job:
    """Return economics.break_even_job's job at this lift over the given draws (indices into the break-even's draws)."""
    v = break_even_job(scheme, 1, lift).values[0]
    return Job(scheme, np.asarray(draws, dtype=np.int64), [dict(v) for _ in range(len(draws))], expected=True)


def _brent_all(ask: Callable, known: list[dict[float, float]], todo: list[int], xtol: float) -> dict[int, float | None]:
    """Return Brent's root of each scheme in ``todo`` from its expected net impact ``known`` at the grid lifts.

    None where it has the same sign at both ends of BREAK_EVEN_BRACKET; else the first grid
    step that changes sign brackets the root. Every step asks ``ask`` for all the schemes'
    next lifts at once (one batch) and adds them to ``known``.
    """
    lo, hi = BREAK_EVEN_BRACKET
    roots: dict[int, float | None] = {}
    searches = {}
    for k in todo:
        kn = known[k]
        f_lo, f_hi = kn[lo], kn[hi]
        if f_lo == 0.0:
            roots[k] = lo
            continue
        if f_hi == 0.0:
            roots[k] = hi
            continue
        if np.sign(f_lo) == np.sign(f_hi):
            roots[k] = None
            continue
        grid = sorted(x for x in kn if lo <= x <= hi)
        a, b = lo, hi
        for x0, x1 in zip(grid, grid[1:]):  # narrow the bracket to the first grid step that changes sign
            if np.sign(kn[x0]) != np.sign(kn[x1]):
                a, b = x0, x1
                break
        searches[k] = brent(a, b, kn[a], kn[b], xtol, 1e-6, 100)
    asked = {}
    for k, gen in searches.items():
        try:
            asked[k] = next(gen)
        except StopIteration as done:
            roots[k] = float(done.value)
    while asked:
        got = ask([(k, x) for k, x in asked.items()])
        nxt = {}
        for (k, x), f in zip(asked.items(), got):
            known[k][x] = f
            try:
                nxt[k] = searches[k].send(f)
            except StopIteration as done:
                roots[k] = float(done.value)
        asked = nxt
    return roots


def _secant_search(ask: Callable, known: list[dict[float, float]], todo: list[int], xtol: float
                   ) -> dict[int, float | None]:
    """Return an estimate of each scheme's root in ``todo`` from its expected net impact ``known`` at the grid.

    None where it has the same sign at both ends of BREAK_EVEN_BRACKET. Otherwise the
    secant method through the two nearest lifts known, kept inside the bracket that the
    signs give (regula falsi when it would leave it), stops when a step is under ``xtol``
    and returns that step's end (not evaluated). Every round asks ``ask`` for all the
    schemes' next lifts at once and adds them to ``known``.
    """
    lo, hi = BREAK_EVEN_BRACKET
    roots: dict[int, float | None] = {}
    asked: dict[int, float] = {}

    def step(kn: dict[float, float]) -> tuple[float, float | None]:
        """Return (next lift, the lift it steps from or None on the first step) inside the sign change."""
        xs = sorted(kn)
        a = max(x for x in xs if np.sign(kn[x]) == np.sign(kn[lo]))  # the sign change lies in (a, b)
        b = min(x for x in xs if x > a)
        if np.sign(kn[b]) == np.sign(kn[a]):  # never: the grid's ends differ in sign
            raise AssertionError("no sign change")
        last = min(kn, key=lambda x: (abs(kn[x]), x))  # the lift whose net impact is nearest zero
        other = min((x for x in kn if x != last), key=lambda x: (abs(x - last), x))  # and its nearest
        fl, fo = kn[last], kn[other]
        x = last - fl * (last - other) / (fl - fo) if fl != fo else np.nan
        if not a < x < b:
            x = a - kn[a] * (b - a) / (kn[b] - kn[a])
        return float(x), last

    for k in todo:
        kn = known[k]
        f_lo, f_hi = kn[lo], kn[hi]
        if f_lo == 0.0 or f_hi == 0.0:
            roots[k] = lo if f_lo == 0.0 else hi
        elif np.sign(f_lo) == np.sign(f_hi):
            roots[k] = None
        elif 0.0 in kn.values():
            roots[k] = next(x for x, f in kn.items() if f == 0.0)
        else:
            asked[k] = step(kn)[0]
    for _ in range(SEARCH_STEPS):
        if not asked:
            break
        got = ask(list(asked.items()))
        nxt = {}
        for (k, x), f in zip(asked.items(), got):
            known[k][x] = f
            if f == 0.0:
                roots[k] = x
                continue
            x2, _ = step(known[k])
            if abs(x2 - x) < xtol:
                roots[k] = x2
            else:
                nxt[k] = x2
        asked = nxt
    for k, x in asked.items():  # out of steps: the next lift (settled on every draw all the same)
        roots[k] = x
    return roots


def break_even_all(program: Program, base: Base, schemes: list[Scheme], dr: Draws, n: int, replay: Callable
                   ) -> tuple[list[float | None], list[tuple[float, float]]]:
    """Return each scheme's break-even visit lift over the first n draws of ``dr``, and its expected
    net impact at the ends of BREAK_EVEN_BRACKET (the sign says which side a missing root lies).

    The lift where the expected net impact over all n draws is zero, to BREAK_EVEN_XTOL:

    1. **Search** on the first BREAK_EVEN_SEARCH_DRAWS draws (a sixth of the work per lift):
       the grid BREAK_EVEN_GRID, then the secant method until a step is under SEARCH_XTOL
       (``_secant_search``).
    2. **Settle** on all n draws (common random numbers: the first draws are the search's):
       the expected net impact F at the search's root x0 (only the other draws are
       simulated), and its slope s from the search's draws between x0 and x0 ± SLOPE_STEP.
       The Newton step x1 = x0 − F/s is the root when |x1 − x0| ≤ NEWTON_OK (its error is
       |x1 − x0| × the slope's relative error, measured at 0.5–1.2 %: docs/forecast.md);
       otherwise the secant method on all n draws goes on from x0 and x1 until a step is
       under BREAK_EVEN_XTOL.
    3. Where the search finds no sign change, the ends are taken over all n draws; if those
       differ in sign (a root near an end), or a secant leaves the bracket, Brent's method
       solves it on all n draws.

    Every step evaluates all the schemes' next lifts in one batch. With n no more than
    BREAK_EVEN_SEARCH_DRAWS, step 1 alone is the answer, to BREAK_EVEN_XTOL.
    """
    lo, hi = BREAK_EVEN_BRACKET
    m = min(n, BREAK_EVEN_SEARCH_DRAWS)
    head, rest, every = np.arange(m), np.arange(m, n), np.arange(n)

    def ask(asks: list[tuple[int, np.ndarray, float]]) -> list[float]:
        """Return the expected net impact of each (scheme, draws, lift), all in one batch."""
        outs = evaluate(base, dr, [_be_job(schemes[k], d, x) for k, d, x in asks], replay)
        return [mean_net(o.net(program, dr.base_total[d])) for (_, d, _), o in zip(asks, outs)]

    todo = list(range(len(schemes)))
    grid = ask([(k, head, x) for k in todo for x in BREAK_EVEN_GRID])
    known = [dict(zip(BREAK_EVEN_GRID, grid[k * len(BREAK_EVEN_GRID):(k + 1) * len(BREAK_EVEN_GRID)])) for k in todo]
    if m == n:  # the search's draws are all of them: Brent's method, to BREAK_EVEN_XTOL
        found = _brent_all(lambda a: ask([(k, head, x) for k, x in a]), known, todo, BREAK_EVEN_XTOL)
        return [found[k] for k in todo], [(kn[lo], kn[hi]) for kn in known]
    found = _secant_search(lambda a: ask([(k, head, x) for k, x in a]), known, todo, SEARCH_XTOL)
    # 2. settle on every draw: the rest of the draws at x0 (the search's draws are known there), a slope
    full: list[dict[float, float]] = [{} for _ in todo]

    def whole(k: int, x: float, f_rest: float) -> float:
        """Return the mean over all n draws from the search's mean and the rest's."""
        return (m * known[k][x] + (n - m) * f_rest) / n

    asks: list[tuple[int, np.ndarray, float]] = []
    for k in todo:
        x0 = found[k]
        if x0 is None:
            asks += [(k, rest, lo), (k, rest, hi)]
            continue
        if x0 not in known[k]:  # the search's last step is not evaluated
            asks.append((k, head, x0))
        asks.append((k, rest, x0))
        asks.append((k, head, x0 + SLOPE_STEP if x0 + SLOPE_STEP <= hi else x0 - SLOPE_STEP))
    got = ask(asks)
    for (k, d, x), f in zip(asks, got):
        if d is head:
            known[k][x] = f
    for (k, d, x), f in zip(asks, got):
        if d is rest:
            full[k][x] = whole(k, x, f)
    roots: list[float | None] = [None] * len(schemes)
    secants: dict[int, tuple[float, float, float]] = {}  # scheme: (x_prev, F(x_prev), x_next)
    hard: list[int] = []
    for k in todo:
        x0 = found[k]
        if x0 is None:
            f_lo, f_hi = full[k][lo], full[k][hi]
            if f_lo == 0.0 or f_hi == 0.0 or np.sign(f_lo) != np.sign(f_hi):
                hard.append(k)
            continue
        f0 = full[k][x0]
        xs = x0 + SLOPE_STEP if x0 + SLOPE_STEP <= hi else x0 - SLOPE_STEP
        slope = (known[k][xs] - known[k][x0]) / (xs - x0)
        if f0 == 0.0:
            roots[k] = x0
            continue
        x1 = x0 - f0 / slope if slope != 0.0 else np.nan
        if not lo <= x1 <= hi:
            hard.append(k)
        elif abs(x1 - x0) <= NEWTON_OK:
            roots[k] = float(x1)
        else:
            secants[k] = (x0, f0, float(x1))
    for _ in range(SECANT_STEPS):  # the secant method on every draw, all schemes' next lifts in one batch
        if not secants:
            break
        got = ask([(k, every, x) for k, (_, _, x) in secants.items()])
        nxt = {}
        for (k, (xp, fp, x)), f in zip(secants.items(), got):
            full[k][x] = f
            if f == 0.0:
                roots[k] = x
                continue
            x2 = x - f * (x - xp) / (f - fp) if f != fp else np.nan
            if not lo <= x2 <= hi:
                hard.append(k)
            elif abs(x2 - x) < BREAK_EVEN_XTOL:
                roots[k] = float(x2)
            else:
                nxt[k] = (x, f, float(x2))
        secants = nxt
    hard += list(secants)  # not settled in SECANT_STEPS: Brent's method decides
    if hard:
        ends = ask([(k, every, x) for k in hard for x in (lo, hi)])
        kn_full: list[dict[float, float]] = [{} for _ in todo]
        for j, k in enumerate(hard):
            kn_full[k] = {lo: ends[2 * j], hi: ends[2 * j + 1]}
            full[k].update(kn_full[k])
        solved = _brent_all(lambda a: ask([(k, every, x) for k, x in a]), kn_full, hard, BREAK_EVEN_XTOL)
        for k in hard:
            roots[k] = solved[k]
    out_ends = []
    for k in todo:
        f = full[k]
        out_ends.append((f[lo], f[hi]) if lo in f and hi in f else (known[k][lo], known[k][hi]))
    return roots, out_ends


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
