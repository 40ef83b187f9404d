"""The batched evaluation's bookkeeping: world vectors and simulation keys, worked out once per set of values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from punchcard.forecast import batch as B
from punchcard.forecast.draws import RANGED, draw_values, likely_values
from punchcard.forecast.worlds import N_GROUPS, world_vector
from punchcard.program import Range, Reward
from punchcard.schemes.stamp_card import StampCardParams
from tests.helpers import scheme


def _card():
    s = scheme("stamp_card", StampCardParams(stamps=4, reward=Reward(10.0, 4.0)), enrollment=0.5,
               visit_lift=Range(0.0, 0.05, 0.2), goal_gradient=Range(0.0, 0.1, 0.3))
    return replace(s, assumptions=replace(s.assumptions, frequency_bias=0.5))  # a number, not a range


def _one_by_one(job: B.Job) -> tuple[np.ndarray, np.ndarray]:
    """The worlds and spec written out row by row: every entry's values, every group."""
    bias = job.scheme.assumptions.frequency_bias
    worlds = np.array([world_vector(job.scheme, v, g) for v in job.values for g in range(N_GROUPS)])
    spec = np.array([np.append(B._sim_world(w), bias) for w in worlds])
    return worlds, spec


def test_worlds_and_key_are_those_worked_out_row_by_row() -> None:
    # a main job (values of its own on every draw) and a break-even-like one (one set of values
    # repeated, as copies): the memo gives the rows the formula gives, in the same order
    s = _card()
    u = np.random.default_rng(3).random((6, len(RANGED)))
    jobs = [B.Job(s, np.arange(6), [draw_values(s.assumptions, u[d]) for d in range(6)]),
            B.Job(s, np.arange(6), [dict(likely_values(s.assumptions)) for _ in range(6)], expected=True)]
    w = B._Worlds()
    for job in jobs:
        worlds, spec = _one_by_one(job)
        assert np.array_equal(w.worlds(job), worlds) and w.worlds(job).shape == (6 * N_GROUPS, worlds.shape[1])
        assert w.spec(job).tobytes() == spec.tobytes()
        assert B._sim_key(job, w) == B._sim_key(job)  # with or without a shared memo
    # the repeated set is worked out once (3 groups), the six distinct ones six times
    assert len(w._memo) == 6 + 1


def test_a_signed_zero_is_not_taken_for_zero() -> None:
    # keyed by the values' bits: −0.0 and 0.0 compare equal but are two keys, so each job gets
    # exactly the vectors its own values give (and the simulation key its own bytes)
    s = _card()
    v = likely_values(s.assumptions)
    pos, neg = dict(v, endowed_progress=0.0), dict(v, endowed_progress=-0.0)
    w = B._Worlds()
    a, b = B.Job(s, np.arange(1), [pos]), B.Job(s, np.arange(1), [neg])
    assert w.worlds(a).tobytes() == _one_by_one(a)[0].tobytes()
    assert w.worlds(b).tobytes() == _one_by_one(b)[0].tobytes()
    assert len(w._memo) == 2


def test_the_fused_sums_are_bincounts_of_the_products_to_the_bit() -> None:
    # _member_sums and _active_sums add each cell's terms in the members' order, as np.bincount
    # does with the products for weights: the same floating-point sums, bit for bit (weights of
    # very different sizes, zeros and cells that nobody falls in included)
    rng = np.random.default_rng(17)
    m, n_cells = 20_000, 36
    cell = rng.integers(0, n_cells - 3, m)  # the last cells stay empty
    w = rng.lognormal(0.0, 3.0, m) * (rng.random(m) < 0.8)
    base_rev = rng.gamma(0.7, 40.0, (5, 900))
    dm, mi = rng.integers(0, 5, m), rng.integers(0, 900, m)
    rev = rng.gamma(0.7, 40.0, m)

    def bc(weights: np.ndarray, c: np.ndarray = cell) -> np.ndarray:
        return np.bincount(c, weights=weights, minlength=n_cells)

    got = B._member_sums(cell, n_cells, w, base_rev, dm, mi, rev)
    want = (bc(w * base_rev[dm, mi]), bc(w * rev), bc(w))
    assert all(np.array_equal(g.view(np.int64), h.view(np.int64)) for g, h in zip(got, want))
    active = rng.random(m) < 0.6
    k = int(active.sum())
    cost, gap, liab, accrued = (rng.normal(0.0, 10.0, k) for _ in range(4))
    wa, ca = w[active], cell[active]
    for with_accrued in (True, False):
        got = B._active_sums(cell, n_cells, w, active, cost, gap, liab, accrued, with_accrued)
        want = [bc(wa * v, ca) for v in (cost, gap, liab)] + [bc(wa * accrued, ca) if with_accrued
                                                              else np.zeros(n_cells)]
        assert all(np.array_equal(g.view(np.int64), h.view(np.int64)) for g, h in zip(got, want))
