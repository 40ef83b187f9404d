"""Forecast scenarios: the tornado (each assumption at its low and high) and the break-even visit lift.

The tornado averages the net impact over the first SCENARIO_DRAWS draws (common random
numbers) and is centred on the headline mean; the break-even solves the expected net
impact at the likely values (economics.break_even_job): searched on its first draws with
the secant method, then settled on as many draws as its precision needs (blocks of draws
until the root's standard error is at most SETTLE_SE, at most all of them) by a Newton or
secant step, every scheme advanced in one batch per step (``break_even_all``).
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
BREAK_EVEN_SEARCH_DRAWS = 25
SEARCH_XTOL = 3e-3  # the search's tolerance (its draws' root is itself a few tenths of a point off)
SEARCH_STEPS = 12  # secant steps of the search at most (then its next lift is settled all the same)
SLOPE_STEP = 0.05  # the search's draws give the slope between the search's root and this far from it
NEWTON_OK = 0.01  # a Newton step on every draw at most this long is the root (else the secant goes on)
#: The settle judges its precision on at least SETTLE_FIRST draws (the first of the same n), then
#: adds as many as the draws so far say it needs (× SETTLE_MARGIN, in steps of SETTLE_STEP), at most n
SETTLE_FIRST = 100
SETTLE_STEP = 50
SETTLE_MARGIN = 1.15
#: ... and stops once the root's standard error (root_se) is at most this: five seeds then
#: span 2.33 × 0.15 ≈ 0.35 points on average, and all lie within ±0.5 points of their
#: midpoint (a range ≤ 1 point, 6.7 σ) with probability 0.99997 (docs/forecast.md)
SETTLE_SE = 1.5e-3
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


def break_even_all(program: Program, base: Base, schemes: list[Scheme], dr: Draws, n: int, replay: Callable,
                   draws_used: list[int] | None = None) -> tuple[list[float | None], list[tuple[float, float]]]:
    """Return each scheme's break-even visit lift over the first n draws of ``dr``, and its expected
    net impact at the ends of BREAK_EVEN_BRACKET (the sign says which side a missing root lies).

    The lift where the expected net impact over all n draws is zero, to BREAK_EVEN_XTOL:

    1. **Search** on the first BREAK_EVEN_SEARCH_DRAWS draws (a twenty-fourth of the work per lift):
       the grid BREAK_EVEN_GRID, then the secant method until a step is under SEARCH_XTOL
       (``_secant_search``).
    2. **Settle** on the first K ≤ n draws (common random numbers: the first draws are the
       search's), K chosen adaptively: the per-draw net impact at x0, the lift the search
       evaluated nearest the root (``on_head``: no new work), over the search's draws, then
       over blocks of further draws (first to SETTLE_FIRST, then as many as the error so far
       says it needs: ``_next_block``; the
       first K of the same stream, so a larger n only adds draws), until the root's standard
       error (``root_se``: sd of the per-draw net impacts / √K / |s|) is at most SETTLE_SE,
       or K = n. The slope s comes from the search's draws between x0 and x0 ± SLOPE_STEP.
       The Newton step x1 = x0 − F/s (F the mean over the K draws) is the root when
       |x1 − x0| ≤ NEWTON_OK (its error is |x1 − x0| × the slope's relative error, measured
       at 0.5–1.2 %: docs/forecast.md); otherwise the secant method on the K draws goes on
       from x0 and x1 until a step is under BREAK_EVEN_XTOL. ``draws_used``, when given,
       receives each scheme's K (n where there is no search root).
    3. Where the search finds no sign change, the ends are taken over all n draws; if those
       differ in sign (a root near an end), or a secant leaves the bracket, Brent's method
       solves it (on the K draws; all n for a root near an end).

    Every step evaluates all the schemes' next lifts in one batch. With n no more than
    BREAK_EVEN_SEARCH_DRAWS, step 1 alone is the answer, to BREAK_EVEN_XTOL.
    """
    lo, hi = BREAK_EVEN_BRACKET
    m = min(n, BREAK_EVEN_SEARCH_DRAWS)
    head, rest = np.arange(m), np.arange(m, n)

    def ask_draws(asks: list[tuple[int, np.ndarray, float]]) -> list[np.ndarray]:
        """Return the per-draw net impact of each (scheme, draws, lift), all in one batch."""
        outs = evaluate(base, dr, [_be_job(schemes[k], d, x) for k, d, x in asks], replay)
        return [np.asarray(o.net(program, dr.base_total[d]), dtype=np.float64) for (_, d, _), o in zip(asks, outs)]

    def ask(asks: list[tuple[int, np.ndarray, float]]) -> list[float]:
        """Return the expected net impact of each (scheme, draws, lift), all in one batch."""
        return [mean_net(v) for v in ask_draws(asks)]

    todo = list(range(len(schemes)))
    on_head: list[dict[float, np.ndarray]] = [{} for _ in todo]  # the search's per-draw net impacts

    def ask_head(a: list[tuple[int, float]]) -> list[float]:
        """Return ask's means on the search's draws, keeping each draw's net impact in on_head."""
        got = ask_draws([(k, head, x) for k, x in a])
        for (k, x), v in zip(a, got):
            on_head[k][x] = v
        return [mean_net(v) for v in got]

    grid = ask_head([(k, x) for k in todo for x in BREAK_EVEN_GRID])
    known = [dict(zip(BREAK_EVEN_GRID, grid[k * len(BREAK_EVEN_GRID):(k + 1) * len(BREAK_EVEN_GRID)])) for k in todo]
    if m == n:  # the search's draws are all of them: Brent's method, to BREAK_EVEN_XTOL
        found = _brent_all(lambda a: ask([(k, head, x) for k, x in a]), known, todo, BREAK_EVEN_XTOL)
        return [found[k] for k in todo], [(kn[lo], kn[hi]) for kn in known]
    found = _secant_search(ask_head, known, todo, SEARCH_XTOL)
    # 2. settle from x0, the search's evaluated lift nearest the root (its per-draw net impacts are
    # known): a slope there, then blocks of further draws at x0 until the root's standard error is at
    # most SETTLE_SE (or all n draws are in)
    for k in todo:
        if found[k] is not None:
            found[k] = min(on_head[k], key=lambda x: (abs(known[k][x]), x))
    full: list[dict[float, float]] = [{} for _ in todo]
    at_x0 = {k: on_head[k][found[k]] for k in todo if found[k] is not None}  # per-draw net at x0, first len()
    # one batch: the slope's lift on the search's draws, the settle's first block at x0 (the
    # search's draws are fewer than a block) and, where the search found no sign change, the
    # ends over the other draws
    asks: list[tuple[int, np.ndarray, float]] = []
    kinds: list[str] = []
    first = _first_block(m, n)
    for k in todo:
        x0 = found[k]
        if x0 is None:
            asks += [(k, rest, lo), (k, rest, hi)]
            kinds += ["ends", "ends"]
            continue
        if _slope_lift(x0) not in known[k]:
            asks.append((k, head, _slope_lift(x0)))
            kinds.append("slope")
        if first > m:
            asks.append((k, np.arange(m, first), x0))
            kinds.append("block")
    got = ask_draws(asks)
    for (k, d, x), kind, v in zip(asks, kinds, got):
        if kind == "slope":
            known[k][x] = mean_net(v)
        elif kind == "block":
            at_x0[k] = np.concatenate([at_x0[k], v])
        else:  # no sign change in the search: the ends over all n draws
            full[k][x] = (m * known[k][x] + (n - m) * mean_net(v)) / n
    slopes = {k: (known[k][_slope_lift(found[k])] - known[k][found[k]]) / (_slope_lift(found[k]) - found[k])
              for k in at_x0}
    used: dict[int, int] = {k: n for k in todo}
    going = []
    for k in at_x0:
        if _settled(at_x0[k], slopes[k], n):
            used[k] = len(at_x0[k])
        else:
            going.append(k)
    while going:
        asks = [(k, np.arange(len(at_x0[k]), _next_block(at_x0[k], slopes[k], n)), found[k]) for k in going]
        got = ask_draws(asks)
        going = []
        for (k, _, _), v in zip(asks, got):
            at_x0[k] = np.concatenate([at_x0[k], v])
            if _settled(at_x0[k], slopes[k], n):
                used[k] = len(at_x0[k])
            else:
                going.append(k)
    if draws_used is not None:
        draws_used[:] = [used[k] for k in todo]
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
        f0 = mean_net(at_x0[k])
        full[k][x0] = f0
        slope = slopes[k]
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
    for _ in range(SECANT_STEPS):  # the secant method on the settle's draws, all schemes' next lifts in one batch
        if not secants:
            break
        got = ask([(k, np.arange(used[k]), x) for k, (_, _, x) in secants.items()])
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
        ends = ask([(k, np.arange(used[k]), x) for k in hard for x in (lo, hi)])
        kn_full: list[dict[float, float]] = [{} for _ in todo]
        for j, k in enumerate(hard):
            kn_full[k] = {lo: ends[2 * j], hi: ends[2 * j + 1]}
            full[k].update(kn_full[k])
        solved = _brent_all(lambda a: ask([(k, np.arange(used[k]), x) for k, x in a]), kn_full, hard,
                            BREAK_EVEN_XTOL)
        for k in hard:
            roots[k] = solved[k]
    out_ends = []
    for k in todo:
        f = full[k]
        out_ends.append((f[lo], f[hi]) if lo in f and hi in f else (known[k][lo], known[k][hi]))
    return roots, out_ends


def _slope_lift(x0: float) -> float:
    """Return the lift SLOPE_STEP from x0 (above it, below where that leaves the bracket)."""
    return x0 + SLOPE_STEP if x0 + SLOPE_STEP <= BREAK_EVEN_BRACKET[1] else x0 - SLOPE_STEP


def _first_block(m: int, n: int) -> int:
    """Return how many draws the settle starts with: the search's m, or SETTLE_FIRST when that is more (at most n).

    The draws' standard deviation behind ``root_se`` is not judged on fewer than
    SETTLE_FIRST draws (on 25 it is itself about 14 % off).
    """
    return min(n, max(m, SETTLE_FIRST))


def _next_block(net: np.ndarray, slope: float, n: int) -> int:
    """Return how many draws the settle has after its next block (the first of the n draws).

    The standard error falls as 1/√draws, so k draws with error ``root_se`` need
    k × (root_se / SETTLE_SE)² draws: that × SETTLE_MARGIN (the error of the error), rounded
    up to SETTLE_STEP, at least one step more than k and at most n.
    """
    k = len(net)
    se = root_se(net, slope)
    want = k * (se / SETTLE_SE) ** 2 * SETTLE_MARGIN if np.isfinite(se) and SETTLE_SE > 0.0 else float(n)
    steps = int(np.ceil(min(want, float(n)) / SETTLE_STEP))
    return int(min(n, max(steps * SETTLE_STEP, k + SETTLE_STEP)))


def root_se(net: np.ndarray, slope: float) -> float:
    """Return the root's standard error by the delta method: sd of the per-draw net impacts / √k / |slope|.

    The per-draw net impacts at the settled lift are independent (each draw is its own
    customer randomness); the root x0 − F/s moves by the error of their mean F over |s|.
    """
    k = len(net)
    if k < 2 or slope == 0.0 or not np.isfinite(slope):
        return float("inf")
    return float(np.std(net, ddof=1) / np.sqrt(k) / abs(slope))


def _settled(net: np.ndarray, slope: float, n: int) -> bool:
    """Return whether the settle can stop at these draws: all n are in, or root_se is at most SETTLE_SE."""
    return len(net) >= n or root_se(net, slope) <= SETTLE_SE


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
