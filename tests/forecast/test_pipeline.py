"""Forecast: common random numbers, determinism, break-even and skipping on thin data."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from punchcard.forecast import batch, economics, scenarios, worlds
from punchcard.forecast import draws as D
from punchcard.forecast import pipeline as F
from punchcard.program import (
    Assumptions, Business, FixedCosts, ForecastSettings, Program, Range, Reward, Sales, Scheme,
)
from punchcard.schemes.member_discount import MemberDiscountParams
from punchcard.schemes.perks import PerksParams
from punchcard.schemes.stamp_card import StampCardParams
from tests.helpers import cdnow_ledger, fake_replay, make_ledger, program, scheme


def test_zero_lift_zero_cost_scheme_matches_baseline(cdnow) -> None:
    s = scheme("perks", enrollment=1.0)
    out = F.run(program(s), cdnow, draws=30, replay=fake_replay)
    f = out.schemes["perks"]
    assert out.skipped_reason is None and f["members"] == pytest.approx(2357)
    assert abs(f["incremental_revenue"]) <= 3 * f["incremental_revenue_se"] + 1e-9 * f["baseline_revenue"]
    assert f["scheme_cost"] == 0.0
    # the simulated baseline agrees with the analytic BG/NBD × Gamma-Gamma expectation
    se_base = np.std([0.0]) + 0.05 * out.model["expected_revenue"]
    assert abs(f["baseline_revenue"] - out.model["expected_revenue"]) < se_base


def test_common_random_numbers_shrink_the_error(cdnow) -> None:
    s = scheme(enrollment=0.5, visit_lift=0.05)
    p = program(s)
    prep = F.prepare(p, cdnow, 7)
    assert not isinstance(prep, str)
    base, _ = prep
    n = 60
    crn = D.make_draws(base, 7, n)
    other = D.make_draws(base, 7, n, stream=1)  # independent numbers for the baseline
    v = D.likely_values(s.assumptions)
    outs = [batch.scheme_draw(base, s, v, crn.keys[d], crn.join_u[d], crn.base_rev[d], fake_replay)
            for d in range(n)]
    rev = np.array([o.revenue for o in outs])
    se_crn = np.std(rev - crn.base_total, ddof=1) / np.sqrt(n)
    se_ind = np.std(rev - other.base_total, ddof=1) / np.sqrt(n)
    print(f"\nincremental revenue {np.mean(rev - crn.base_total):.1f}: "
          f"SE with CRN {se_crn:.1f}, SE with independent runs {se_ind:.1f} ({se_ind / se_crn:.0f}×)")
    assert se_crn < 0.25 * se_ind


def test_same_seed_is_identical_and_other_seed_within_error(cdnow) -> None:
    s = scheme(enrollment=Range(0.3, 0.4, 0.5), visit_lift=Range(0.0, 0.04, 0.1), redemption_rate=0.9)
    p = program(s, fixed=FixedCosts(setup=100, monthly=10, per_member_year=0.5))
    a = F.run(p, cdnow, draws=40, replay=fake_replay)
    b = F.run(p, cdnow, draws=40, replay=fake_replay)
    dump = lambda o: json.dumps([o.model, o.schemes, o.run], sort_keys=True)  # noqa: E731
    assert dump(a) == dump(b)
    c = F.run(p, cdnow, seed=99, draws=40, replay=fake_replay)
    na, nc = a.schemes[s.id]["net_impact"], c.schemes[s.id]["net_impact"]
    assert na["mean"] != nc["mean"]
    assert abs(na["mean"] - nc["mean"]) < 4 * np.hypot(na["se"], nc["se"])
    assert a.model == c.model  # the fit does not depend on the seed
    f = a.schemes[s.id]
    assert f["net_impact"]["p10"] <= f["net_impact"]["p50"] <= f["net_impact"]["p90"]
    assert sum(h["count"] for h in f["histogram"]) == 40
    assert {t["assumption"] for t in f["tornado"]} == {"enrollment", "visit_lift"}
    assert f["fixed_cost"] == pytest.approx(100 + 120 + 0.5 * f["members"])


@pytest.mark.parametrize("search", [100, 10])
def test_break_even_visit_lift_zeroes_expected_net_impact(cdnow, monkeypatch, search) -> None:
    monkeypatch.setattr(F, "BREAK_EVEN_DRAWS", 30)  # its own 30 draws (stream 1), more than the 20 main ones
    # 100: the search's draws are all 30 (Brent's method alone); 10: searched on the first 10,
    # settled on all 30 by a Newton step (or the secant method): the same root either way
    monkeypatch.setattr(scenarios, "BREAK_EVEN_SEARCH_DRAWS", search)
    s = scheme(enrollment=0.4, visit_lift=Range(0.0, 0.02, 0.05))
    p = program(s, fixed=FixedCosts(setup=200))
    out = F.run(p, cdnow, draws=20, replay=fake_replay)
    lift = out.schemes[s.id]["break_even_visit_lift"]
    assert lift is not None and -0.5 < lift < 2.0
    base, _ = F.prepare(p, cdnow, 20270101)
    dr = D.make_draws(base, 20270101, 30, stream=1)

    def net(x: float) -> float:
        # the expectation the break-even solves: every assumption at its likely value but the
        # visit lift, every customer weighted by their chance of joining, over the same draws
        o = batch.evaluate(base, dr, [economics.break_even_job(s, 30, x)], fake_replay)[0]
        return float(np.mean(o.net(p, dr.base_total[:30])))

    scale = abs(net(0.0))
    print(f"\nbreak-even visit lift {lift:.4f}: net there {net(lift):.3f}, at 0 {net(0.0):.1f}")
    assert abs(net(lift)) < 5e-3 * scale  # brentq stops within 0.0005 of the root
    assert net(lift - 0.01) < 0 < net(lift + 0.01)


def test_break_even_is_none_when_nothing_pays(cdnow) -> None:
    s = scheme(enrollment=0.4)
    out = F.run(program(s, fixed=FixedCosts(setup=1e9)), cdnow, draws=5, replay=fake_replay)
    assert out.schemes[s.id]["break_even_visit_lift"] is None
    assert out.schemes[s.id]["probability_positive"] == 0.0


def _stamp(**kw) -> Scheme:
    params = StampCardParams(stamps=3, reward=Reward(value=10.0, cost=4.0), head_start=kw.pop("head_start", 0))
    return scheme("stamp_card", params, enrollment=1.0, **kw)


def test_behavioural_effects_add_purchases(cdnow) -> None:
    p = program(_stamp())
    base, _ = F.prepare(p, cdnow, 1)
    dr = D.make_draws(base, 1, 10)

    def inc(s: Scheme) -> float:
        return scenarios.expected_net(replace(p, business=replace(p.business, gross_margin=1.0)), base, s, dr,
                              lambda d: D.likely_values(s.assumptions), 10,
                              lambda sc, tx, ctx: SimpleNamespace(cost=0 * tx.amount,
                                                                  liability=np.zeros(tx.n_customers)))

    off = inc(_stamp())
    goal = inc(_stamp(goal_gradient=0.2))
    endowed = inc(_stamp(head_start=1, endowed_progress=0.3))
    print(f"\nincremental revenue: none {off:.1f}, goal gradient {goal:.1f}, endowed progress {endowed:.1f}")
    assert off == 0.0 and goal > 0 and endowed > 0


def test_stratified_sample_is_weighted(cdnow) -> None:
    s = scheme("perks", enrollment=1.0)
    full = F.run(program(s), cdnow, draws=20, replay=fake_replay)
    part = F.run(program(s, max_customers=800), cdnow, draws=20, replay=fake_replay)
    assert part.run["customers_simulated"] <= 800 and part.run["sample_weight"] > 1
    assert full.schemes["perks"]["members"] == pytest.approx(2357)  # everybody, exactly
    # a sampled base thins each draw's members at random (weights ÷ THIN): an unbiased estimate
    assert part.schemes["perks"]["members"] == pytest.approx(2357, rel=0.03)
    b_full, b_part = full.schemes["perks"]["baseline_revenue"], part.schemes["perks"]["baseline_revenue"]
    assert abs(b_part - b_full) < 0.1 * b_full


def test_thinning_applies_to_sampled_bases_only(cdnow) -> None:
    s = scheme("perks", enrollment=1.0)
    whole, _ = F.prepare(program(s), cdnow, 3)
    sampled, _ = F.prepare(program(s, max_customers=800), cdnow, 3)
    assert whole.thin == 1.0 and sampled.thin == F.THIN < 1.0
    # over many draws the thinned member count averages to the whole base
    out = F.run(program(s, max_customers=800), cdnow, draws=200, replay=fake_replay)
    assert out.schemes["perks"]["members"] == pytest.approx(2357, rel=0.01)


@pytest.mark.parametrize("rows", [
    [(0, 0, 5.0), (1, 3, 6.0), (2, 9, 7.0)],                      # a handful of customers
    [(c, c % 300, 10.0) for c in range(200)],                     # everybody bought once
    [(c % 40, c % 30, 10.0) for c in range(120)],                 # one month
    [],                                                           # nothing at all
])
def test_thin_data_is_skipped_with_a_sentence(rows) -> None:
    tx = pl.DataFrame({"cust": [r[0] for r in rows], "day": [r[1] for r in rows],
                       "amount": [r[2] for r in rows], "items": [1.0] * len(rows)},
                      schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    n = max([r[0] for r in rows], default=-1) + 1
    end = max([r[1] for r in rows], default=0)
    out = F.run(program(scheme()), make_ledger(tx, 0, end, n), draws=5, replay=fake_replay)
    assert out.model is None and out.schemes is None
    assert out.skipped_reason and out.skipped_reason.endswith(".")
    assert out.run["skipped_reason"] == out.skipped_reason


def test_real_scheme_engine(cdnow) -> None:
    s = _stamp(visit_lift=0.05)
    t = time.perf_counter()
    out = F.run(program(s), cdnow, draws=20)
    print(f"\nreal replay, 2,357 customers, 20 draws: {time.perf_counter() - t:.1f} s")
    f = out.schemes[s.id]
    assert f["reward_cost"] > 0 and f["incremental_revenue"] > 0


def test_batched_simulation_matches_one_draw_at_a_time(cdnow) -> None:
    from punchcard.forecast import simulate as S

    s = scheme(enrollment=0.5)
    base, _ = F.prepare(program(s), cdnow, 3)
    dr = D.make_draws(base, 3, 4)
    n = len(base.cust)
    mi, mb = np.tile(np.arange(n), 4), np.repeat(np.arange(4), n)
    vectors = np.array([worlds.world_vector(_stamp(), dict(D.likely_values(s.assumptions), visit_lift=x))
                       for x in (0.0, 0.1, -0.3, 1.0)])
    cols = (dr.lam[mb, mi], dr.p[mb, mi], dr.nu[mb, mi], base.items[mi])
    # the posterior draws make_draws keeps are those of each member's own key
    lam, p, nu = S.posterior(dr.keys[mb, mi], base.palive[mi], base.x[mi], base.T[mi], base.mean_value[mi], base.par)
    assert np.array_equal(lam, cols[0]) and np.array_equal(p, cols[1]) and np.array_equal(nu, cols[2])
    ref = []
    for d in range(4):
        sel = mb == d
        c, day, amt, items, rev = S.members(dr.keys[d], *(a[sel] for a in cols), base.par, base.horizon_weeks,
                                            vectors[d], base.start_day)
        order = np.lexsort((amt, day, c))
        ref.append((c[order] + d * n, day[order], amt[order], items[order], rev))
    want = [np.concatenate([r[k] for r in ref]) for k in range(5)]
    for capacity in (1, 10**6):  # too little room: blocks go on from where they stopped, with more
        for parallel in (True, False):  # on numba's threads, or on this thread alone
            got = S.members_batch(dr.keys[mb, mi], *cols, base.par, base.horizon_weeks, vectors, mb,
                                  base.start_day, capacity, parallel=parallel)
            for a, b in zip(got[:5], want):
                assert np.array_equal(a, b)


def test_brent_steps_are_scipys() -> None:
    from scipy.optimize import brentq

    for f in (lambda x: x**3 - 0.1, lambda x: np.floor(x * 1000) / 1000 - 0.0333):
        gen = scenarios.brent(-0.5, 2.0, f(-0.5), f(2.0), 5e-4, 1e-6, 100)
        try:
            x = next(gen)
            while True:
                x = gen.send(f(x))
        except StopIteration as done:
            assert done.value == brentq(f, -0.5, 2.0, xtol=5e-4, rtol=1e-6)


def test_the_fits_are_timed_as_a_stage_of_their_own(cdnow, capsys) -> None:
    # build -v prints "  <program>: fitting the purchase and spend models: 0.12 s" (bench/run.py's STAGE_RE)
    import re

    from punchcard.progress import Reporter

    prog = program(scheme())
    F.run(prog, cdnow, draws=2, replay=fake_replay, stage=Reporter(verbose=True, interactive=False).stage)
    err = capsys.readouterr().err
    stage_re = re.compile(r"^\s+(?:[\w.-]+: )?(.+?): ([0-9.]+) s$", re.M)
    assert [k for k, _ in stage_re.findall(err)] == ["fitting the purchase and spend models"]
    assert f"  {prog.id}: fitting the purchase and spend models: " in err


def test_the_kept_baseline_spends_give_the_same_bits(cdnow, monkeypatch) -> None:
    # The break-even's draws keep the baseline's gamma draws (Draws.memo) and the scheme worlds
    # read them instead of drawing them again. Every figure must be the same bits as drawing
    # them again: lifts up and down (a negative lift thins the baseline's purchases), members
    # living longer than in the baseline (retention lift: purchases past the kept ones are drawn
    # as before, and the kept ones' dropout uniforms, which the baseline proved too large to end
    # it, are not drawn), members dropping out sooner (a negative retention lift: every dropout
    # uniform is drawn), a spend lift and a stamp card's goal gradient (purchases accepted by chance).
    from punchcard.forecast import simulate as S

    plain = scheme(enrollment=0.4, visit_lift=0.1, retention_lift=0.5, spend_lift=0.05)
    card = _stamp(goal_gradient=0.3, visit_lift=0.05)
    sooner = scheme(enrollment=0.4, visit_lift=0.1, retention_lift=-0.4)
    p = program(plain, card)
    base, _ = F.prepare(p, cdnow, 3)
    dr = D.make_draws(base, 3, 6, stream=1, expected_only=True)
    spends, row, at = dr.memo
    # draws_baseline_memo returns draws_baseline's very numbers, plus the spends
    args = (np.array([11, 12], dtype=np.uint64), base.cust_hash, base.palive, base.x, base.T, base.mean_value,
            base.par, base.horizon_weeks, np.full(len(base.x), -1.0), np.full(len(base.x), -1.0))
    for a, b in zip(S.draws_baseline(*args), S.draws_baseline_memo(*args)[:7]):
        assert np.array_equal(a, b)
    # ... also when only the first draws' rooms fit in the memory it may take (the others are drawn again)
    full = S.draws_baseline_memo(*args)[7]
    first, room = int(full[2][0, -1]), int(full[1][1])  # draw 0's purchases, and the room of each draw
    assert full[1].tolist() == [0, room, 2 * room] and len(full[0]) == 2 * room and first <= room
    small = S.draws_baseline_memo(*args, max_bytes=16 * (2 * room - 1))
    assert np.array_equal(small[7][0][:first], full[0][:first]) and len(small[7][0]) == room
    assert np.array_equal(small[7][2][0], full[2][0]) and not small[7][2][1].any()
    for a, b in zip(S.draws_baseline(*args), small[:7]):
        assert np.array_equal(a, b)
    # ... and when a draw outgrows its room: its customers from the first that did not fit keep nothing
    monkeypatch.setattr(S, "MEMO_ROOM", 0.5)
    tight = S.draws_baseline_memo(*args)
    for a, b in zip(S.draws_baseline(*args), tight[:7]):
        assert np.array_equal(a, b)
    t_spends, t_row, t_at = tight[7]
    for d in range(2):
        kept_n = int(t_at[d, -1])
        assert 0 < kept_n < int(full[2][d, -1]) and kept_n <= t_row[d + 1] - t_row[d]
        stop = int(np.searchsorted(t_at[d], kept_n, side="left"))  # the customers before it keep theirs ...
        assert np.array_equal(t_at[d, :stop + 1], full[2][d, :stop + 1])
        assert np.array_equal(t_spends[t_row[d]:t_row[d] + kept_n], full[0][full[1][d]:full[1][d] + kept_n])
        assert np.all(t_at[d, stop:] == kept_n)  # ... the others none
    monkeypatch.undo()
    # the kept spends are the baseline's: each customer's revenue is its spends ÷ ν, added in order
    d, i = 2, int(np.argmax(at[2, 1:] - at[2, :-1]))
    z, t = spends[row[d] + at[d, i]:row[d] + at[d, i + 1]].T
    assert len(z) > 3 and dr.base_rev[d, i] == sum(z / dr.nu[d, i])
    assert np.all(np.diff(t) > 0) and 0 < t[0] and t[-1] < base.horizon_weeks  # the purchases' weeks, in order
    bare = replace(dr, memo=None)
    # the first 3 of the 6 draws kept, the others drawn again
    half = replace(dr, memo=(spends[:row[3]], np.minimum(row, row[3]), np.where(np.arange(6)[:, None] < 3, at, 0)))
    # each draw's customers kept up to the middle one, the others drawn again (a draw out of room)
    mid = at.shape[1] // 2
    cut_at = np.minimum(at, at[:, mid:mid + 1])
    some_kept = replace(dr, memo=(spends, row, cut_at))
    for s in (plain, card, sooner):
        for x in (-0.3, 0.0, 0.1, 1.0):
            job = economics.break_even_job(s, 6, x)
            kept, drawn, some, part = (batch.evaluate(base, draws, [job], fake_replay)[0]
                                       for draws in (dr, bare, half, some_kept))
            for name in ("revenue", "reward_cost", "liability", "members"):
                assert np.array_equal(getattr(kept, name), getattr(drawn, name)), (s.id, x, name)
                assert np.array_equal(getattr(some, name), getattr(drawn, name)), (s.id, x, name)
                assert np.array_equal(getattr(part, name), getattr(drawn, name)), (s.id, x, name)
    # ... and the scheme worlds do read them: doubled kept spends change the revenue
    doubled = replace(dr, memo=(spends * np.array([2.0, 1.0]), row, at))
    job = economics.break_even_job(plain, 6, 0.1)
    kept, changed = (batch.evaluate(base, draws, [job], fake_replay)[0] for draws in (dr, doubled))
    assert np.all(changed.revenue > kept.revenue)
    # (and their times: purchases moved past the horizon are not made)
    late = replace(dr, memo=(spends + np.array([0.0, 1e3]), row, at))
    assert np.all(batch.evaluate(base, late, [job], fake_replay)[0].revenue < kept.revenue)


def test_the_break_even_draws_are_made_after_the_hook_and_change_nothing(cdnow, monkeypatch) -> None:
    # build.py waits in before_break_even for the backtest beside the forecast: the hook runs once,
    # after the main draws and before the break-even's (stream 1), and the figures are the same
    events = []
    made = D.make_draws

    def spy(base, seed, draws, *, stream=0, expected_only=False):
        events.append(("draws", stream))
        return made(base, seed, draws, stream=stream, expected_only=expected_only)

    monkeypatch.setattr(F, "make_draws", spy)
    prog = program(scheme())
    plain = F.run(prog, cdnow, draws=20, replay=fake_replay)
    events.clear()
    hooked = F.run(prog, cdnow, draws=20, replay=fake_replay,
                   before_break_even=lambda: events.append(("hook",)))
    assert events == [("draws", 0), ("hook",), ("draws", 1)]
    assert json.dumps(plain.schemes, sort_keys=True) == json.dumps(hooked.schemes, sort_keys=True)


def test_gather_is_numpys_fancy_indexing(cdnow) -> None:
    # simulate.gather takes each member's draw of the keys, rates, arrival and kept spends in one
    # compiled pass: the very numbers of numpy's indexing, with and without t0 and the memo
    from punchcard.forecast import simulate as S

    base, _ = F.prepare(program(scheme(enrollment=0.5)), cdnow, 3)
    dr = D.make_draws(base, 3, 5, stream=1, expected_only=True)
    rng = np.random.default_rng(0)
    n = len(base.cust)
    dm, mi, mb = rng.integers(0, 5, 3000), rng.integers(0, n, 3000), np.sort(rng.integers(0, 7, 3000))
    seg = base.group
    spends, row, at = dr.memo
    t0 = np.where(rng.random((5, n)) < 0.3, rng.random((5, n)) * 50, -1.0)
    for with_t0, memo in ((None, None), (t0, dr.memo)):
        k, lam, p, nu, tt, items, world_of, got_memo = S.gather(dm, mi, mb, worlds.N_GROUPS, seg, base.items,
                                                                dr.keys, dr.lam, dr.p, dr.nu, with_t0, memo)
        assert np.array_equal(k, dr.keys[dm, mi]) and k.dtype == dr.keys.dtype
        for a, b in ((lam, dr.lam), (p, dr.p), (nu, dr.nu)):
            assert np.array_equal(a, b[dm, mi])
        assert np.array_equal(tt, np.full(len(mi), -1.0) if with_t0 is None else t0[dm, mi])
        assert np.array_equal(items, base.items[mi])
        assert np.array_equal(world_of, mb * worlds.N_GROUPS + seg[mi])
        if memo is None:
            assert got_memo is None
        else:
            assert got_memo[0] is spends
            assert np.array_equal(got_memo[1], row[dm] + at[dm, mi])
            assert np.array_equal(got_memo[2], at[dm, mi + 1] - at[dm, mi])


def test_evaluation_is_the_same_however_many_threads_simulate(cdnow, monkeypatch) -> None:
    # batches simulated by one thread on numba's threads, or by several threads a batch each
    # (finishing in any order), and cut small or large, give the same bits
    plain = scheme(enrollment=0.4, visit_lift=0.1)
    card = _stamp(goal_gradient=0.3, visit_lift=0.05)
    base, _ = F.prepare(program(plain, card), cdnow, 3)
    dr = D.make_draws(base, 3, 8, stream=1, expected_only=True)
    jobs = [economics.break_even_job(s, 8, x) for s in (plain, card) for x in (0.0, 0.2)]
    runs = []
    for simulators, members in ((1, batch.MAX_BATCH_MEMBERS), (3, batch.MAX_BATCH_MEMBERS), (3, 500), (2, 1)):
        monkeypatch.setattr(batch, "MAX_SIMULATORS", simulators)
        monkeypatch.setattr(batch, "MAX_BATCH_MEMBERS", members)
        monkeypatch.setattr(batch, "workers", lambda: 3)
        runs.append(batch.evaluate(base, dr, jobs, fake_replay))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            for name in ("revenue", "reward_cost", "liability", "members", "seg_base", "seg_sim"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_a_failing_batch_stops_the_evaluation_with_its_error(cdnow, monkeypatch) -> None:
    # one simulating thread's error reaches the caller (not a hang, not a half-filled result),
    # whichever thread hits it, and the other threads stop
    import threading

    s = scheme(enrollment=0.4, visit_lift=0.1)
    base, _ = F.prepare(program(s), cdnow, 3)
    dr = D.make_draws(base, 3, 8, stream=1, expected_only=True)
    jobs = [economics.break_even_job(s, 8, x) for x in (0.0, 0.2)]
    real = batch._Group.simulate
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("batch 3")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(batch, "MAX_BATCH_MEMBERS", 200)  # many batches
    monkeypatch.setattr(batch, "workers", lambda: 3)
    monkeypatch.setattr(batch._Group, "simulate", flaky)
    before = threading.active_count()
    with pytest.raises(MemoryError, match="batch 3"):
        batch.evaluate(base, dr, jobs, fake_replay)
    assert threading.active_count() == before  # every simulating thread has ended
