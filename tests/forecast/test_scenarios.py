"""Scenarios: the break-even's adaptive settle (how many draws it needs for its precision)."""

from __future__ import annotations

import numpy as np
import pytest

from punchcard.forecast import batch, economics, scenarios
from punchcard.forecast import draws as D
from punchcard.forecast import pipeline as F
from punchcard.program import FixedCosts, Range
from tests.helpers import fake_replay, program, scheme


def test_root_se_is_the_delta_method_and_the_blocks_grow_to_n() -> None:
    net = np.array([1.0, -1.0] * 50)  # 100 draws: mean 0, sd (ddof=1) √(100/99) = 1.00504
    # steep slope 1000 per unit lift: SE = 1.00504 / √100 / 1000 = 1.005e-4 (0.01 points) ≤ 1.5e-3: stop early
    assert scenarios.root_se(net, 1000.0) == pytest.approx(1.00504e-4, rel=1e-4)
    assert scenarios.root_se(net, -1000.0) == scenarios.root_se(net, 1000.0)
    assert scenarios._settled(net, 1000.0, 600)
    # flat slope 50: SE = 1.00504 / 10 / 50 = 2.01e-3 (0.2 points) > 1.5e-3: more draws
    assert scenarios.root_se(net, 50.0) == pytest.approx(2.01008e-3, rel=1e-4)
    assert not scenarios._settled(net, 50.0, 600)
    # ... until all n are in, whatever the error (never more than n)
    assert scenarios._settled(net, 50.0, 100)
    assert scenarios.root_se(net, 0.0) == float("inf") and not scenarios._settled(net, 0.0, 600)
    # the next block: as many draws as the error says are needed (SE ∝ 1/√k) × 1.15, in steps of 50.
    # slope 50: SE 2.01e-3 on 100 draws; 100 × (2.01/1.5)² × 1.15 = 206.5 → 250
    assert scenarios._next_block(net, 50.0, 600) == 250
    # slope 20: SE 5.03e-3; 100 × (5.03/1.5)² × 1.15 = 1293 → all 600; with 150 in all, 150
    assert scenarios._next_block(net, 20.0, 600) == 600 and scenarios._next_block(net, 20.0, 150) == 150
    # nearly settled (slope 66: SE 1.523e-3 → 106.6 draws): still at least one step more (150)
    assert scenarios._next_block(net, 66.0, 600) == 150
    # no slope: all of them
    assert scenarios._next_block(net, 0.0, 600) == 600
    assert scenarios._first_block(25, 600) == 100 and scenarios._first_block(150, 600) == 150
    assert scenarios._first_block(25, 60) == 60


@pytest.mark.parametrize("se, used", [(1.0, 10), (0.0, 60)])
def test_settle_stops_when_precise_enough_else_runs_to_n(cdnow, monkeypatch, se, used) -> None:
    # 60 break-even draws, searched on the first 10, settled on at least 10, in steps of 10 draws;
    # SETTLE_SE 1.0 (100 points): the search's 10 draws already settle it; 0: it runs to all 60
    monkeypatch.setattr(scenarios, "BREAK_EVEN_SEARCH_DRAWS", 10)
    monkeypatch.setattr(scenarios, "SETTLE_FIRST", 10)
    monkeypatch.setattr(scenarios, "SETTLE_STEP", 10)
    monkeypatch.setattr(scenarios, "SETTLE_SE", se)
    s = scheme(enrollment=0.4, visit_lift=Range(0.0, 0.02, 0.05))
    p = program(s, fixed=FixedCosts(setup=200))
    base, _ = F.prepare(p, cdnow, 20270101)
    dr = D.make_draws(base, 20270101, 60, stream=1)
    got: list[int] = []
    roots, _ = scenarios.break_even_all(p, base, [s], dr, 60, fake_replay, draws_used=got)
    assert got == [used]
    lift = roots[0]
    assert lift is not None and -0.5 < lift < 2.0

    def net(x: float, k: int) -> np.ndarray:
        o = batch.evaluate(base, dr, [economics.break_even_job(s, k, x)], fake_replay)[0]
        return np.asarray(o.net(p, dr.base_total[:k]))

    at = net(lift, 60)
    scale = abs(float(np.mean(net(0.0, 60))))
    # the root zeroes the expected net impact over the draws it used (the first `used` of the 60)
    assert abs(float(np.mean(at[:used]))) < 5e-3 * scale
    # and it is within a few of its standard errors of the root over all 60
    slope = (float(np.mean(net(lift + 0.05, 60))) - float(np.mean(at))) / 0.05
    full_root = lift - float(np.mean(at)) / slope
    print(f"\nsettled on {used} draws: {lift:.4f}; over all 60: {full_root:.4f}; "
          f"SE at {used}: {scenarios.root_se(at[:used], slope):.4f}")
    assert abs(full_root - lift) < 4 * scenarios.root_se(at[:used], slope) + 5e-4
