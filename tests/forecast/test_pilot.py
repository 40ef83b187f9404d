"""Pilot planner: the count moments, the sample size and its power, checked against simulated pilots."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.random import PCG64, Generator

from punchcard.forecast import pilot as P
from punchcard.forecast.draws import make_draws
from punchcard.forecast.pipeline import prepare
from tests.helpers import program, scheme


def _simulate_counts(rng: Generator, lam: np.ndarray, p: np.ndarray, weeks: float) -> np.ndarray:
    """Return purchase occasions in ``weeks``: Poisson(λ·weeks) purchases, stopped by drop-out after each."""
    n = rng.poisson(lam * weeks)
    k = rng.geometric(np.clip(p, 1e-12, 1.0))  # the purchase after which the customer drops out
    return np.minimum(n, k)


def test_count_moments_match_hand_worked_cases() -> None:
    # p → 0: a Poisson count, mean m and second moment m + m²; λ = 2/week for 3 weeks: m = 6, 6 + 36 = 42
    m1, m2 = P.count_moments(np.array([2.0]), np.array([0.0]), 3.0)
    assert m1[0] == pytest.approx(6.0) and m2[0] == pytest.approx(42.0)
    # p = 1: at most one purchase, Y = 1{N ≥ 1}: E[Y] = E[Y²] = 1 − e^−m = 1 − e^−1 for m = 1
    m1, m2 = P.count_moments(np.array([0.5]), np.array([1.0]), 2.0)
    assert m1[0] == pytest.approx(1 - math.exp(-1)) and m2[0] == pytest.approx(1 - math.exp(-1))
    # a customer no longer active (λ = 0) buys nothing
    m1, m2 = P.count_moments(np.array([0.0]), np.array([0.3]), 52.0)
    assert m1[0] == 0.0 and m2[0] == 0.0


def test_count_moments_match_simulated_counts() -> None:
    rng = Generator(PCG64(5))
    for lam, p, w in ((0.3, 0.05, 26.0), (2.5, 0.01, 52.0), (0.05, 0.4, 8.0), (1.0, 1e-7, 13.0)):
        y = _simulate_counts(rng, np.full(400_000, lam), np.full(400_000, p), w).astype(float)
        m1, m2 = P.count_moments(np.array([lam]), np.array([p]), w)
        se1 = y.std() / math.sqrt(len(y))
        se2 = (y * y).std() / math.sqrt(len(y))
        assert abs(m1[0] - y.mean()) < 4 * se1 + 1e-12, (lam, p, w)
        assert abs(m2[0] - (y * y).mean()) < 4 * se2 + 1e-12, (lam, p, w)


@pytest.fixture(scope="module")
def posterior(cdnow):
    """The CDNOW sample's posterior draws of (λ, p), as the forecast makes them."""
    prog = program(scheme(enrollment=0.5, visit_lift=0.3))
    base, block = prepare(prog, cdnow, 20270101)
    dr = make_draws(base, 20270101, P.MAX_DRAWS)
    return dr.lam, dr.p, base.weight, int(block["customers"])


def _simulated_power(lam, p, weight, weeks, lift, n, pilots, seed) -> float:
    """Return the share of simulated pilots (n customers per arm) whose two-sided z-test rejects at 5 %."""
    rng = Generator(PCG64(seed))
    cells = lam.size
    prob = np.broadcast_to(weight, lam.shape).ravel() / np.sum(np.broadcast_to(weight, lam.shape))
    flat_l, flat_p = lam.ravel(), p.ravel()
    z = 1.959963984540054
    hits = 0
    for _ in range(pilots):
        pick = rng.choice(cells, size=2 * n, p=prob)  # random customers, each at a random posterior draw
        yc = _simulate_counts(rng, flat_l[pick[:n]], flat_p[pick[:n]], weeks)
        yt = _simulate_counts(rng, flat_l[pick[n:]] * (1 + lift), flat_p[pick[n:]], weeks)
        se = math.sqrt(yc.var(ddof=1) / n + yt.var(ddof=1) / n)
        hits += abs(yt.mean() - yc.mean()) / se > z
    return hits / pilots


@pytest.mark.slow
@pytest.mark.parametrize("weeks, lift, scale", [(26, 0.3, 1.0), (13, 0.5, 0.5)])
def test_analytic_power_matches_simulated_pilots(posterior, weeks, lift, scale) -> None:
    lam, p, weight, _ = posterior
    mc, vc = P.arm_moments(lam, p, weight, weeks)
    mt, vt = P.arm_moments(lam, p, weight, weeks, lift)
    n = int(math.ceil(scale * P.customers_needed(mc, vc, mt, vt)))  # 80 % power at scale 1, about 51 % at ½
    analytic = P.power_of(n, mc, vc, mt, vt)
    simulated = _simulated_power(lam, p, weight, weeks, lift, n, 2000, seed=weeks)
    print(f"\n{weeks} weeks, lift {lift:.0%}, {n} per arm: analytic power {analytic:.3f}, "
          f"simulated {simulated:.3f} (2,000 pilots)")
    if scale == 1.0:
        assert analytic == pytest.approx(P.POWER, abs=1e-3)
    assert abs(simulated - analytic) <= 0.03


def test_plan_chooses_the_shortest_pilot_that_fits(posterior) -> None:
    lam, p, weight, customers = posterior
    plans = P.plans(lam, p, weight, {"big": 2.0, "small": 0.04, "none": 0.0}, customers)
    big, small, none = plans["big"], plans["small"], plans["none"]
    # a tripling of visits is visible within the shortest pilot with CDNOW's 2,357 customers
    assert big["feasible"] and big["weeks"] == P.PILOT_WEEKS[0]
    assert big["customers_per_arm"] <= customers // 2
    # a 4 % lift is not: every length needs more customers than the shop has
    assert not small["feasible"]
    assert all(r["customers_per_arm"] > customers // 2 for r in small["customers_needed"])
    assert small["customers_per_arm"] == min(r["customers_per_arm"] for r in small["customers_needed"])
    # no lift cannot be detected at all
    assert none["customers_per_arm"] is None and not none["feasible"]
    # the smallest detectable lift with every customer: exactly 80 % power there
    for row in big["min_detectable_lift"]:
        mc, vc = P.arm_moments(lam[:P.MAX_DRAWS], p[:P.MAX_DRAWS], weight, row["weeks"])
        mt, vt = P.arm_moments(lam[:P.MAX_DRAWS], p[:P.MAX_DRAWS], weight, row["weeks"], row["lift"])
        assert P.power_of(customers // 2, mc, vc, mt, vt) == pytest.approx(P.POWER, abs=0.002)
    # purchase counts of a CD shop's customers vary a lot: coefficient of variation above 1
    assert big["coefficient_of_variation"] > 1.0


def test_compiled_mixture_matches_the_closed_form(posterior) -> None:
    lam, p, weight, _ = posterior
    m1, m2 = P.count_moments(lam[:5] * 1.1, p[:5], 13.0)
    w = np.broadcast_to(weight, m1.shape)
    mean = float(np.sum(w * m1) / np.sum(w))
    var = float(np.sum(w * m2) / np.sum(w)) - mean ** 2
    got = P.arm_moments(lam[:5], p[:5], weight, 13.0, 0.1)
    assert got[0] == pytest.approx(mean, rel=1e-12) and got[1] == pytest.approx(var, rel=1e-9)


def test_the_normal_functions_are_scipy_stats_own() -> None:
    # pilot.py calls scipy.special's ndtr / ndtri instead of importing scipy.stats (0.6 s of
    # every build's start): the same bits as scipy.stats.norm's cdf and ppf
    import numpy as np
    from scipy.special import ndtr, ndtri
    from scipy.stats import norm

    q = np.linspace(1e-9, 1 - 1e-9, 10_001)
    x = np.linspace(-12.0, 12.0, 10_001)
    assert np.array_equal(norm.ppf(q), ndtri(q))
    assert np.array_equal(norm.cdf(x), ndtr(x))


def test_schemes_with_the_same_lift_share_one_pass_and_the_same_plan(posterior, monkeypatch) -> None:
    # plans() works out each (weeks, lift)'s moments once: three schemes assumed to lift visits
    # by 4 % cost one pass per pilot length, and each gets exactly the plan it gets alone
    lam, p, weight, customers = posterior
    alone = P.plans(lam, p, weight, {"a": 0.04}, customers)["a"]
    calls: list[tuple[float, float]] = []
    real = P.arm_moments

    def counted(lam_, p_, weight_, weeks, lift=0.0):
        calls.append((weeks, lift))
        return real(lam_, p_, weight_, weeks, lift)

    monkeypatch.setattr(P, "arm_moments", counted)
    together = P.plans(lam, p, weight, {"a": 0.04, "b": 0.04, "c": 0.04}, customers)
    assert together["a"] == together["b"] == together["c"] == alone
    assert len(calls) == len(set(calls))  # no (weeks, lift) twice
    assert sum(1 for w, lift in calls if lift == 0.04) == len(P.PILOT_WEEKS)
