"""Compiled Monte Carlo of future purchases, one customer at a time, with common random numbers.

Every random number is a counter-based draw keyed by (draw key, customer hash, stream,
index), so a customer's future is the same whichever shard or order it is simulated in,
and the baseline and scheme worlds read the very same numbers. A member's scheme world is
the baseline stream of purchases (thinned only where the rate multiplier is below one)
merged with an *extra* stream that carries the lift: lifts change only the extra events.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

GOLD = np.uint64(0x9E3779B97F4A7C15)
MUL1 = np.uint64(0xBF58476D1CE4E5B9)
MUL2 = np.uint64(0x94D049BB133111EB)
MUL3 = np.uint64(0xD1B54A32D192ED03)
S30 = np.uint64(30)
S27 = np.uint64(27)
S31 = np.uint64(31)
S11 = np.uint64(11)
INV53 = 1.0 / 9007199254740992.0

# stream ids
ST_ALIVE, ST_LAMBDA, ST_P1, ST_P2, ST_NU = 1, 2, 3, 4, 5
ST_GAP, ST_THIN, ST_SPEND, ST_DROP = 10, 11, 12, 13
ST_XGAP, ST_XTHIN, ST_XSPEND, ST_XDROP = 20, 21, 22, 23
ST_JOIN = 30
ST_ARRIVE, ST_FIRST = 40, 41  # a new customer's arrival time and first purchase's spend

# stamp counters
COUNTER_VISITS, COUNTER_ITEMS, COUNTER_SPEND = 0, 1, 2


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> S30)) * MUL1
    z = (z ^ (z >> S27)) * MUL2
    return z ^ (z >> S31)


@njit(cache=True, inline="always")
def _state(base: np.uint64, stream: int, idx: int) -> np.uint64:
    s = _mix(base + np.uint64(stream) * GOLD)
    return _mix(s ^ (np.uint64(idx) * MUL3))


@njit(cache=True, inline="always")
def _next(state: np.uint64):
    state = state + GOLD
    return state, (np.float64(_mix(state) >> S11) + 0.5) * INV53


@njit(cache=True, inline="always")
def _stream(base: np.uint64, stream: int) -> np.uint64:
    """Return the per-(customer, stream) half of ``_state``, to hoist out of loops over the index."""
    return _mix(base + np.uint64(stream) * GOLD)


@njit(cache=True, inline="always")
def _at(sbase: np.uint64, idx: int) -> np.uint64:
    """Return ``_state(base, stream, idx)`` from ``sbase = _stream(base, stream)``."""
    return _mix(sbase ^ (np.uint64(idx) * MUL3))


@njit(cache=True, inline="always")
def _u(sbase: np.uint64, idx: int) -> float:
    """Return ``_uniform(base, stream, idx)`` from ``sbase = _stream(base, stream)``."""
    _, u = _next(_at(sbase, idx))
    return u


@njit(cache=True)
def _uniform(base: np.uint64, stream: int, idx: int) -> float:
    _, u = _next(_state(base, stream, idx))
    return u


@njit(cache=True)
def _gamma(shape: float, state: np.uint64):
    """Marsaglia–Tsang gamma(shape, 1) draw from a splitmix64 state; returns (value, state)."""
    boost = 1.0
    if shape < 1.0:
        state, u = _next(state)
        boost = u ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        state, u1 = _next(state)
        state, u2 = _next(state)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        state, u = _next(state)
        z2 = z * z
        # Marsaglia & Tsang's squeeze: inside the acceptance region, so it accepts only what the
        # log test accepts (the same draws, two logarithms fewer almost every time)
        if u < 1.0 - 0.0331 * z2 * z2 or np.log(u) < 0.5 * z2 + d - d * v + d * np.log(v):
            return d * v * boost, state


@njit(cache=True)
def customer_base(draw_key: np.uint64, cust_hash: np.ndarray) -> np.ndarray:
    """Return each customer's random-number base key for one draw."""
    out = np.empty(len(cust_hash), dtype=np.uint64)
    for i in range(len(cust_hash)):
        out[i] = _mix(draw_key ^ _mix(cust_hash[i] + GOLD))
    return out


@njit(cache=True)
def join_uniforms(base: np.ndarray) -> np.ndarray:
    """Return each customer's uniform for the enrollment decision."""
    out = np.empty(len(base))
    for i in range(len(base)):
        out[i] = _uniform(base[i], ST_JOIN, 0)
    return out


@njit(cache=True)
def _posterior(base, palive, x, T, mv, par):
    """Draw (alive, λ, p, ν) for one customer from the purchase model's and Gamma-Gamma's posteriors.

    ``par[7]`` names the purchase model (purchase_models.sim_par; absent: BG/NBD). 1: a
    BG/NBD-like dropout after each purchase with p ~ Beta(a, b + x) (the MBG/NBD passes
    b + 1). 0: the NBD, no dropout. 2: the Pareto/NBD, (r, α, s, β): given alive, λ and
    the dropout rate μ ~ Gamma(s, β + T) compete, so the next event comes at rate λ + μ
    and is a purchase with probability λ / (λ + μ) — drawn here for the first event, and
    after each purchase as a dropout with p = μ / (λ + μ).
    """
    r, alpha, a, b, gp, gq, gv = par[0], par[1], par[2], par[3], par[4], par[5], par[6]
    code = par[7] if par.shape[0] > 7 else 1.0
    if _uniform(base, ST_ALIVE, 0) >= palive:
        return False, 0.0, 1.0, 1.0
    lam, _ = _gamma(r + x, _state(base, ST_LAMBDA, 0))
    lam /= alpha + T
    if code == 0.0:
        p = 0.0
    elif code == 2.0:
        mu, _ = _gamma(a, _state(base, ST_P1, 0))
        mu /= b + T
        p = mu / (lam + mu) if lam + mu > 0.0 else 1.0
        if _uniform(base, ST_P2, 0) < p:
            return False, 0.0, 1.0, 1.0  # the first event is the dropout
        lam += mu
    else:
        g1, _ = _gamma(a, _state(base, ST_P1, 0))
        g2, _ = _gamma(b + x, _state(base, ST_P2, 0))
        p = g1 / (g1 + g2) if g1 + g2 > 0.0 else 0.0
    nu, _ = _gamma(gq + gp * x, _state(base, ST_NU, 0))
    nu /= gv + x * mv
    return True, lam, p, nu


@njit(cache=True)
def _first_spend(base, par, nu):
    """Return a new customer's first purchase: a Gamma-Gamma spend on its own stream."""
    z, _ = _gamma(par[4], _state(base, ST_FIRST, 0))
    return z / nu


@njit(cache=True)
def _baseline_one(base, lam, p, nu, par, horizon, t0=-1.0):
    """Return (revenue, purchases) of one customer without a scheme, given their posterior draw.

    ``t0 >= 0``: a new customer who arrives at week t0 with a first purchase and then buys
    as the model says (no dropout before their first repeat purchase, as in the BG/NBD).
    """
    rev = 0.0
    n = 0
    t = 0.0
    if t0 >= 0.0:
        if t0 >= horizon:
            return 0.0, 0
        rev += _first_spend(base, par, nu)
        n += 1
        t = t0
    if lam <= 0.0:
        return rev, n
    k = 0
    g_gap, g_spend, g_drop = _stream(base, ST_GAP), _stream(base, ST_SPEND), _stream(base, ST_DROP)
    while True:
        t += -np.log(_u(g_gap, k)) / lam
        if t >= horizon:
            break
        z, _ = _gamma(par[4], _at(g_spend, k))
        rev += z / nu
        n += 1
        if _u(g_drop, k) < p:
            break
        k += 1
    return rev, n


@njit(cache=True)
def _baseline_count(base, lam, p, horizon, t0=-1.0):
    """Return how many repeat purchases ``_baseline_one`` makes (its gaps and dropouts alone, no spends).

    A new customer's first purchase is not counted: its spend has a stream of its own."""
    if t0 >= horizon or lam <= 0.0:
        return 0
    t = t0 if t0 >= 0.0 else 0.0
    k = 0
    g_gap, g_drop = _stream(base, ST_GAP), _stream(base, ST_DROP)
    while True:
        t += -np.log(_u(g_gap, k)) / lam
        if t >= horizon:
            return k
        if _u(g_drop, k) < p:
            return k + 1
        k += 1


@njit(cache=True)
def _baseline_kept(base, lam, p, nu, par, horizon, t0, out, pos, end):
    """Return ``_baseline_one``'s revenue (the same bits: the same draws, added up in the same order)
    and how many repeat purchases it wrote to ``out[pos:end]``: each one's gamma draw and time
    (weeks), columns 0 and 1; −1 where they do not all fit (then none is kept, and the rows
    from ``pos`` on are free again)."""
    rev = 0.0
    t = 0.0
    if t0 >= 0.0:
        if t0 >= horizon:
            return 0.0, 0
        rev += _first_spend(base, par, nu)
        t = t0
    if lam <= 0.0:
        return rev, 0
    k = 0
    g_gap, g_spend, g_drop = _stream(base, ST_GAP), _stream(base, ST_SPEND), _stream(base, ST_DROP)
    while True:
        t += -np.log(_u(g_gap, k)) / lam
        if t >= horizon:
            break
        z, _ = _gamma(par[4], _at(g_spend, k))
        if pos + k < end:
            out[pos + k, 0] = z
            out[pos + k, 1] = t
        rev += z / nu
        if _u(g_drop, k) < p:
            k += 1
            break
        k += 1
    return rev, (k if pos + k <= end else -1)


@njit(cache=True)
def arrival_time(base, lo, hi):
    """Return a new customer's arrival week, uniform in [lo, hi) (−1: not a new customer)."""
    if lo < 0.0:
        return -1.0
    return lo + _uniform(base, ST_ARRIVE, 0) * (hi - lo)


@njit(cache=True)
def _posterior_rates(base, palive, x, T, mv, par):
    """Return (λ, p, ν) of one customer's posterior draw; λ = 0 for a customer who is no longer active."""
    alive, lam, p, nu = _posterior(base, palive, x, T, mv, par)
    if not alive:
        return 0.0, 1.0, 1.0
    return lam, p, nu


@njit(cache=True)
def posterior(base, palive, x, T, mv, par):
    """Return each customer's posterior (λ, p, ν) for base keys ``base`` (λ = 0: no longer active)."""
    n = len(base)
    lam = np.empty(n)
    p = np.empty(n)
    nu = np.empty(n)
    for i in range(n):
        lam[i], p[i], nu[i] = _posterior_rates(base[i], palive[i], x[i], T[i], mv[i], par)
    return lam, p, nu


@njit(cache=True)
def arrival_times(base, lo, hi):
    """Return each customer's arrival week for base keys ``base`` (−1: a customer of today)."""
    out = np.empty(len(base))
    for i in range(len(base)):
        out[i] = arrival_time(base[i], lo[i], hi[i])
    return out


@njit(cache=True, parallel=True)
def draws_baseline(draw_keys, cust_hash, palive, x, T, mv, par, horizon, arr_lo, arr_hi, cut=np.inf):
    """Return every (draw, customer)'s random-number base key, enrollment uniform, baseline revenue,
    posterior draw (λ, p, ν) and arrival week (−1: a customer of today), which the scheme worlds
    of that draw reuse. ``arr_lo``/``arr_hi`` bound each new customer's arrival (−1: not new).

    ``cut``: a customer whose enrollment uniform is at least ``cut`` is not simulated in that
    draw (revenue 0, λ 0): the break-even's draws, whose jobs take exactly the customers
    below the thinning share (batch._Group), pass ``Base.thin`` and halve their work."""
    nd = len(draw_keys)
    n = len(cust_hash)
    keys = np.empty((nd, n), dtype=np.uint64)
    join = np.empty((nd, n))
    rev = np.empty((nd, n))
    lam = np.empty((nd, n))
    pp = np.empty((nd, n))
    nu = np.empty((nd, n))
    t0 = np.empty((nd, n))
    for d in prange(nd):  # every (draw, customer) is independent: threads give the same numbers
        for i in range(n):
            k, join[d, i], t0[d, i], lam[d, i], pp[d, i], nu[d, i], on = _draw_inputs(
                draw_keys[d], cust_hash[i], palive[i], x[i], T[i], mv[i], par, arr_lo[i], arr_hi[i], cut)
            keys[d, i] = k
            rev[d, i] = _baseline_one(k, lam[d, i], pp[d, i], nu[d, i], par, horizon, t0[d, i])[0] if on else 0.0
    return keys, join, rev, lam, pp, nu, t0


@njit(cache=True, inline="always")
def _draw_inputs(draw_key, cust_hash, palive, x, T, mv, par, lo, hi, cut):
    """Return one (draw, customer)'s base key, enrollment uniform, arrival week, posterior draw (λ, p, ν)
    and whether it is simulated (its enrollment uniform below ``cut``; else λ 0)."""
    k = _mix(draw_key ^ _mix(cust_hash + GOLD))
    join = _uniform(k, ST_JOIN, 0)
    t0 = arrival_time(k, lo, hi)
    if join >= cut:
        return k, join, t0, 0.0, 1.0, 1.0, False
    lam, p, nu = _posterior_rates(k, palive, x, T, mv, par)
    return k, join, t0, lam, p, nu, True


@njit(cache=True, parallel=True)
def _draws_purchases(draw_keys, cust_hash, palive, x, T, mv, par, horizon, arr_lo, arr_hi, cut):
    """Return how many repeat purchases each draw's baseline makes (their gaps and dropouts alone)."""
    out = np.zeros(len(draw_keys), dtype=np.int64)
    for d in prange(len(draw_keys)):
        for i in range(len(cust_hash)):
            k, _, t0, lam, p, _, on = _draw_inputs(draw_keys[d], cust_hash[i], palive[i], x[i], T[i], mv[i], par,
                                                   arr_lo[i], arr_hi[i], cut)
            if on:
                out[d] += _baseline_count(k, lam, p, horizon, t0)
    return out


@njit(cache=True, parallel=True)
def _draws_kept(draw_keys, cust_hash, palive, x, T, mv, par, horizon, arr_lo, arr_hi, cut, memo, room, kept):
    """``draws_baseline``'s numbers (the same bits), the first ``kept`` draws' purchases written as they
    are drawn: draw d's from ``memo`` row d × ``room`` on, ``at[d, i]`` rows into it for customer i.
    A draw whose purchases outgrow its room keeps no more from the customer that did not fit."""
    nd = len(draw_keys)
    n = len(cust_hash)
    keys = np.empty((nd, n), dtype=np.uint64)
    join = np.empty((nd, n))
    rev = np.empty((nd, n))
    lam = np.empty((nd, n))
    pp = np.empty((nd, n))
    nu = np.empty((nd, n))
    t0 = np.empty((nd, n))
    at = np.zeros((nd, n + 1), dtype=np.int32)
    for d in prange(nd):  # every (draw, customer) is independent: threads give the same numbers
        start = d * room
        end = start + room if d < kept else start
        pos = start
        for i in range(n):
            k, join[d, i], t0[d, i], lam[d, i], pp[d, i], nu[d, i], on = _draw_inputs(
                draw_keys[d], cust_hash[i], palive[i], x[i], T[i], mv[i], par, arr_lo[i], arr_hi[i], cut)
            keys[d, i] = k
            if on:
                r, m = _baseline_kept(k, lam[d, i], pp[d, i], nu[d, i], par, horizon, t0[d, i], memo, pos, end)
                rev[d, i] = r
                if m < 0:
                    end = pos  # out of room: the rest of this draw is drawn again where it is needed
                else:
                    pos += m
            else:
                rev[d, i] = 0.0
            at[d, i + 1] = pos - start
    return keys, join, rev, lam, pp, nu, t0, at


#: The most ``draws_baseline_memo`` keeps: the first draws whose rooms fit (the break-even's
#: search and first settle blocks, which it replays most often); the later ones are drawn again.
#: The nine-scheme benchmark's 600 break-even draws buy 18.9M times (288 MiB, in rooms of 1.15
#: times the most of the first eight draws: about 340 MiB): all are kept, which took ~1 CPU-s off
#: its build against 192 MiB (bench/PROFILE.md); the build's peak is its read's
MEMO_BYTES = 384 * 2**20
#: Each draw's room in the memo: this times the most purchases among the first MEMO_PILOT draws
#: (the benchmark's 600 draws buy 31,446 times on average, sd 2.8 %, at most 33,860: rooms of 37,222)
MEMO_ROOM = 1.15
MEMO_PILOT = 8


def draws_baseline_memo(draw_keys, cust_hash, palive, x, T, mv, par, horizon, arr_lo, arr_hi, cut=np.inf,
                        max_bytes=None):
    """Return what ``draws_baseline`` returns (the same bits), plus the baseline's spends kept for the scheme
    worlds: (memo, row, at), draw d's customer i's gamma draws and purchase times being the rows
    ``memo[row[d] + at[d, i]:row[d] + at[d, i + 1]]`` (columns 0 and 1; 16 bytes a purchase).

    A scheme world buys the baseline's purchases (and extra ones): its k-th baseline purchase comes at
    the same time and spends the same gamma draw, which ``members_batch`` then reads here instead of
    drawing them again (the simulation's most expensive numbers). One pass writes them as they are
    drawn, each draw into a room of its own: ``MEMO_ROOM`` times the most purchases among the first
    ``MEMO_PILOT`` draws (counted first: their gaps and dropouts alone). Only the first draws whose
    rooms fit in ``max_bytes`` (MEMO_BYTES) keep theirs; the others' counts are 0, as are those of
    a draw's customers from the first that outgrew its room (nothing kept: drawn again).
    """
    pilot = _draws_purchases(draw_keys[:MEMO_PILOT], cust_hash, palive, x, T, mv, par, horizon, arr_lo, arr_hi, cut)
    room = int(MEMO_ROOM * int(pilot.max(initial=0))) + 64
    kept = min(len(draw_keys), ((MEMO_BYTES if max_bytes is None else max_bytes) // 16) // room)
    memo = np.empty((kept * room, 2))
    keys, join, rev, lam, pp, nu, t0, at = _draws_kept(draw_keys, cust_hash, palive, x, T, mv, par, horizon,
                                                        arr_lo, arr_hi, cut, memo, room, kept)
    row = np.minimum(np.arange(len(draw_keys) + 1, dtype=np.int64), kept) * room
    return keys, join, rev, lam, pp, nu, t0, (memo, row, at)


@njit(cache=True)
def _member_one(base, lam, p, nu, items, par, horizon, world, fill, off, o_day, o_amt, o_items, start_day,
                t0, memo, mpos, mlen):
    """Simulate one member's scheme world from their posterior draw (λ, p, ν); writes transactions
    when ``fill`` and returns (revenue, count). ``t0 >= 0``: a new customer's arrival week, with
    the first purchase there (as in the baseline world, unlifted: the visit that brings them).
    ``memo[mpos:mpos + mlen]``: the gamma draws and times of its first ``mlen`` baseline purchases
    (``draws_baseline_memo``), read instead of drawn again (the same numbers). Each row written
    goes into place by (day, amount), stably: an insertion sort as the rows come (they come by
    time, so it moves only a day's rows of larger amounts)."""
    vm, sm, dm, gg, reset, stamp, stamps, counter, min_purchase, head_start, endow = (
        world[0], world[1], world[2], world[3], world[4] > 0.5, world[5] > 0.5, world[6],
        int(world[7]), world[8], world[9], world[10],
    )
    pend = t0 >= 0.0  # a new customer's first purchase, still to come
    if lam <= 0.0 and not pend:
        return 0.0, 0
    # The baseline's k-th purchase, when it is not the last it made (k < mlen − 1), was not followed
    # by a dropout: its dropout uniform was at least p. With dm ≤ 1 the scheme world's p × dm is no
    # larger, so that uniform cannot end this world there either: it is not drawn (the same outcome).
    no_drop = mlen - 1 if dm <= 1.0 else 0
    p = min(1.0, p * dm)
    # the largest rate multiplier this member can reach bounds the extra stream
    mmax = vm
    if stamp:
        mmax = vm / (1.0 - gg) * (1.0 + endow if head_start > 0 else 1.0)
    xrate = lam * (mmax - 1.0) if mmax > 1.0 else 0.0
    held = head_start if stamp else 0.0
    rewarded = False
    maxed = False
    rev = 0.0
    n = 0
    g_gap, g_thin, g_spend, g_drop = (_stream(base, ST_GAP), _stream(base, ST_THIN), _stream(base, ST_SPEND),
                                      _stream(base, ST_DROP))
    x_gap, x_thin, x_spend, x_drop = (_stream(base, ST_XGAP), _stream(base, ST_XTHIN), _stream(base, ST_XSPEND),
                                      _stream(base, ST_XDROP))
    t_start = t0 if pend else 0.0
    if mlen > 0:
        tb = memo[mpos, 1]
    else:
        tb = t_start - np.log(_u(g_gap, 0)) / lam if lam > 0.0 else np.inf
    kb = 0
    tx = t_start - np.log(_u(x_gap, 0)) / xrate if xrate > 0.0 else np.inf
    kx = 0
    while True:
        first = pend
        k = 0
        is_base = True
        s_drop = g_drop
        if first:  # a new customer's first purchase: always made, never followed by a dropout
            pend = False
            t = t0
            if t >= horizon:
                break
            amount = _first_spend(base, par, nu)
        else:
            is_base = tb <= tx
            t = tb if is_base else tx
            if t >= horizon:
                break
            mult = vm
            if stamp:
                prog = 1.0 if maxed else min(held / stamps, 1.0)
                mult = vm / (1.0 - gg * prog)
                if head_start > 0 and not rewarded:
                    mult *= 1.0 + endow
            if is_base:
                k = kb
                accept = mult >= 1.0 or _u(g_thin, k) < mult
                s_spend, s_drop = g_spend, g_drop
                kb += 1
                if kb < mlen:
                    tb = memo[mpos + kb, 1]
                else:
                    tb += -np.log(_u(g_gap, kb)) / lam
            else:
                k = kx
                # (at the largest multiplier every extra purchase is made: a uniform is below 1)
                accept = mult > 1.0 and (mult >= mmax or _u(x_thin, k) < (mult - 1.0) / (mmax - 1.0))
                s_spend, s_drop = x_spend, x_drop
                kx += 1
                tx += -np.log(_u(x_gap, kx)) / xrate
            if not accept:
                continue
            if is_base and k < mlen:
                z = memo[mpos + k, 0]
            else:
                z, _ = _gamma(par[4], _at(s_spend, k))
            amount = z / nu * sm
        if fill:
            if off + n >= o_day.shape[0]:
                return rev, -1  # out of room: the caller grows the buffers and asks again
            day = start_day + int(np.floor(t * 7.0))
            j = off + n
            while j > off and (o_day[j - 1] > day or (o_day[j - 1] == day and o_amt[j - 1] > amount)):
                o_day[j] = o_day[j - 1]
                o_amt[j] = o_amt[j - 1]
                j -= 1
            o_day[j] = day
            o_amt[j] = amount
            o_items[off + n] = items
        rev += amount
        n += 1
        if stamp and amount >= min_purchase:
            if counter == COUNTER_VISITS:
                held += 1.0
            elif counter == COUNTER_ITEMS:
                held += items
            else:
                held += amount
            if held >= stamps:
                rewarded = True
                if reset:
                    held = head_start + (held % stamps)
                else:
                    maxed = True
        if not first and not (is_base and k < no_drop) and _u(s_drop, k) < p:
            break
    return rev, n


def members(base, lam, p, nu, items, par, horizon, world, start_day, t0=None):
    """Return the members' scheme-world transactions (cust index, day, amount, items; each member's
    rows by day and amount) and revenue per member.

    ``t0``: each member's arrival week (−1 or None: a customer of today)."""
    t0 = np.full(len(base), -1.0) if t0 is None else np.asarray(t0, dtype=np.float64)
    return _members(base, lam, p, nu, items, par, horizon, world, start_day, t0)


@njit(cache=True)
def _members(base, lam, p, nu, items, par, horizon, world, start_day, t0):
    m = len(base)
    rev = np.zeros(m)
    cnt = np.zeros(m, dtype=np.int64)
    dummy_i = np.zeros(0, dtype=np.int32)
    dummy_f = np.zeros(0)
    dummy_m = np.zeros((0, 2))
    for i in range(m):
        rev[i], cnt[i] = _member_one(
            base[i], lam[i], p[i], nu[i], items[i], par, horizon, world,
            False, 0, dummy_i, dummy_f, dummy_f, start_day, t0[i], dummy_m, 0, 0,
        )
    off = np.zeros(m + 1, dtype=np.int64)
    for i in range(m):
        off[i + 1] = off[i] + cnt[i]
    total = off[m]
    o_cust = np.empty(total, dtype=np.int32)
    o_day = np.empty(total, dtype=np.int32)
    o_amt = np.empty(total)
    o_items = np.empty(total)
    for i in range(m):
        _member_one(
            base[i], lam[i], p[i], nu[i], items[i], par, horizon, world,
            True, off[i], o_day, o_amt, o_items, start_day, t0[i], dummy_m, 0, 0,
        )
        for j in range(off[i], off[i + 1]):
            o_cust[j] = i
    return o_cust, o_day, o_amt, o_items, rev


@njit(cache=True, nogil=True)
def _fill_block(b, base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
                mstart, cstart, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, memo, mpos, mlen):
    """Simulate block b's members from ``stop[b]`` on, writing rows from ``wpos[b]`` on (at most to
    ``cstart[b + 1]``); it stops when it runs out of room, ``stop[b]`` then being the first member it
    did not finish and ``wpos[b]`` where that member's rows go (so that it can go on from there)."""
    pos = wpos[b]
    lim = cstart[b + 1]
    dd = o_day[:lim]
    aa = o_amt[:lim]
    ii = o_items[:lim]
    i = stop[b]
    while i < mstart[b + 1]:
        r, c = _member_one(base[i], lam[i], p[i], nu[i], items[i], par, horizon,
                           worlds[world_of[i]], True, pos, dd, aa, ii, start_day, t0[i],
                           memo, mpos[i], mlen[i])
        if c < 0:
            break
        rev[i] = r
        cnt[i] = c
        pos += c
        i += 1
    stop[b] = i
    wpos[b] = pos


@njit(cache=True, parallel=True, nogil=True)
def _fill_blocks(base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
                 mstart, cstart, todo, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, memo, mpos, mlen):
    """Simulate the blocks still to do, side by side on numba's threads."""
    for b in prange(len(mstart) - 1):
        if todo[b]:
            _fill_block(b, base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
                        mstart, cstart, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, memo, mpos, mlen)


@njit(cache=True, nogil=True)
def _fill_blocks_here(base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
                      mstart, cstart, todo, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, memo, mpos, mlen):
    """Simulate the blocks still to do one after the other, on the calling thread (no numba threads:
    several Python threads may run it at once)."""
    for b in range(len(mstart) - 1):
        if todo[b]:
            _fill_block(b, base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
                        mstart, cstart, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, memo, mpos, mlen)


@njit(cache=True, nogil=True)
def _gather(dm, mi, mb, n_groups, seg, items, keys, lam, p, nu, t0, row, at):
    """Return member i's (draw dm[i], customer mi[i]) key, λ, p, ν, arrival week, items, world and
    baseline memo rows (start, count), in one pass without the GIL (``t0``/``at`` empty: none)."""
    m = len(mi)
    k = np.empty(m, dtype=np.uint64)
    lm = np.empty(m)
    pp = np.empty(m)
    nn = np.empty(m)
    tt = np.empty(m)
    it = np.empty(m)
    wo = np.empty(m, dtype=np.int64)
    mpos = np.zeros(m, dtype=np.int64)
    mlen = np.zeros(m, dtype=np.int64)
    with_t0 = t0.shape[0] > 0
    with_memo = at.shape[0] > 0
    for i in range(m):
        d = dm[i]
        c = mi[i]
        k[i] = keys[d, c]
        lm[i] = lam[d, c]
        pp[i] = p[d, c]
        nn[i] = nu[d, c]
        tt[i] = t0[d, c] if with_t0 else -1.0
        it[i] = items[c]
        wo[i] = mb[i] * n_groups + seg[c]
        if with_memo:
            a = at[d, c]
            mpos[i] = row[d] + a
            mlen[i] = at[d, c + 1] - a
    return k, lm, pp, nn, tt, it, wo, mpos, mlen


def gather(dm, mi, mb, n_groups, seg, items, keys, lam, p, nu, t0=None, memo=None):
    """Return what ``members_batch`` takes for members (draw ``dm[i]``, customer ``mi[i]``, entry ``mb[i]``):
    (keys, λ, p, ν, t0, items, world_of, memo) — ``keys[dm, mi]`` and so on, the same numbers as
    numpy's fancy indexing, gathered in one compiled pass; world_of = mb × n_groups + seg[mi];
    memo (the draws' ``(spends, row, at)``) becomes (spends, start, count) per member."""
    none2 = np.zeros((0, 0))
    row, at = (np.zeros(1, dtype=np.int64), np.zeros((0, 0), dtype=np.int64)) if memo is None else memo[1:]
    k, lm, pp, nn, tt, it, wo, mpos, mlen = _gather(
        np.asarray(dm, dtype=np.int64), np.asarray(mi, dtype=np.int64), np.asarray(mb, dtype=np.int64),
        int(n_groups), np.asarray(seg, dtype=np.int64), np.asarray(items, dtype=np.float64), keys, lam, p, nu,
        none2 if t0 is None else t0, row, at)
    return k, lm, pp, nn, tt, it, wo, None if memo is None else (memo[0], mpos, mlen)


def members_batch(base, lam, p, nu, items, par, horizon, worlds, world_of, start_day, capacity, t0=None,
                  memo=None, parallel=True, cust=True):
    """Simulate many members (of many draws) at once; member i lives in ``worlds[world_of[i]]``.

    ``lam``, ``p``, ``nu`` are each member's posterior draw for its draw (``posterior``, or
    ``Draws.lam`` … which ``draws_baseline`` keeps), so the gamma draws behind them are made
    once per (draw, customer), not once per world.

    Returns the transactions (member index, day, amount, items) sorted by (member, day,
    amount), each member's revenue and the row offsets (m + 1 entries). ``capacity`` is a
    guess at the number of transactions (a block that outgrows its share goes on from its first
    unfinished member with more room). Every member's numbers depend only on its own base key,
    so the batch gives what one call per draw gives, whatever the number of threads.

    ``memo``: (spends, start, count) per member — the baseline's gamma draws kept by
    ``draws_baseline_memo`` — which are read instead of drawn again; the result is the same.
    ``parallel=False`` simulates on the calling thread alone (without the GIL), so that several
    threads can each simulate a batch (numba's threads take one parallel call at a time).
    ``cust=False`` leaves the member index of each row out (None): the offsets say it.
    """
    m = len(base)
    if m == 0:
        return (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0), np.zeros(0), np.zeros(0),
                np.zeros(1, dtype=np.int64))
    world_of = np.asarray(world_of, dtype=np.int64)
    t0 = np.full(m, -1.0) if t0 is None else np.asarray(t0, dtype=np.float64)
    if memo is None:
        memo = (np.zeros((0, 2)), np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64))
    spends, mpos, mlen = memo[0], np.asarray(memo[1], dtype=np.int64), np.asarray(memo[2], dtype=np.int64)
    nb = min(m, 8 * numba.get_num_threads()) if parallel else 1
    fill = _fill_blocks if parallel else _fill_blocks_here
    mstart = (np.arange(nb + 1, dtype=np.int64) * m) // nb
    size = np.diff(mstart)
    caps = (size * (max(capacity, 1) / max(m, 1))).astype(np.int64) + 64
    rev = np.zeros(m)
    cnt = np.zeros(m, dtype=np.int64)
    todo = np.ones(nb, dtype=np.bool_)
    cstart = np.concatenate(([0], np.cumsum(caps)))
    stop = mstart[:-1].copy()  # each block's next member
    wpos = cstart[:-1].copy()  # and where its rows go
    o_day = np.empty(cstart[-1], dtype=np.int32)
    o_amt = np.empty(cstart[-1])
    o_items = np.empty(cstart[-1])
    while True:
        fill(base, lam, p, nu, items, par, horizon, worlds, world_of, start_day,
             mstart, cstart, todo, o_day, o_amt, o_items, rev, cnt, stop, wpos, t0, spends, mpos, mlen)
        failed = todo & (stop < mstart[1:])
        if not failed.any():
            break
        # the blocks that ran out of room get twice as much and go on from their first member not
        # finished: every block's rows so far move to the larger buffers
        used = wpos - cstart[:-1]
        caps = np.where(failed, 2 * caps + 64, caps)
        new_start = np.concatenate(([0], np.cumsum(caps)))
        n_day, n_amt, n_items = (np.empty(new_start[-1], dtype=np.int32), np.empty(new_start[-1]),
                                 np.empty(new_start[-1]))
        for b in range(nb):
            src, dst, k = cstart[b], new_start[b], used[b]
            n_day[dst:dst + k] = o_day[src:src + k]
            n_amt[dst:dst + k] = o_amt[src:src + k]
            n_items[dst:dst + k] = o_items[src:src + k]
        o_day, o_amt, o_items, cstart, todo = n_day, n_amt, n_items, new_start, failed
        wpos = cstart[:-1] + used
    off = np.concatenate(([0], np.cumsum(cnt)))
    total = int(off[-1])
    if nb == 1:  # one block: its rows are already in place
        r_day, r_amt, r_items = o_day[:total], o_amt[:total], o_items[:total]
    else:
        r_day = np.empty(total, dtype=np.int32)
        r_amt = np.empty(total)
        r_items = np.empty(total)
        for b in range(nb):
            dst, end, src = off[mstart[b]], off[mstart[b + 1]], cstart[b]
            r_day[dst:end] = o_day[src:src + end - dst]
            r_amt[dst:end] = o_amt[src:src + end - dst]
            r_items[dst:end] = o_items[src:src + end - dst]
    o_cust = np.repeat(np.arange(m, dtype=np.int32), cnt) if cust else None
    return o_cust, r_day, r_amt, r_items, rev, off
