"""The pilot planner: how large and how long a randomised test must be to see a scheme's visit lift.

The design is the standard one: customers are assigned at random to a member arm (every
one of them enrolled) or a held-out control arm, and the pilot compares the mean number of
purchase occasions per customer in the two arms over the pilot's weeks with a two-sided
two-sample z-test. The spread of that count comes from the fitted customer model
(docs/forecast.md, "Planning a pilot"): for each customer's posterior draw of purchase
rate λ (per week) and drop-out probability p — the draws the forecast already made — the
count over ``w`` weeks is Y = min(N, K) with N ~ Poisson(λw) and K ~ Geometric(p), whose
first two moments have closed forms; mixing them over customers and draws gives the
population's mean and variance, heterogeneity and drop-out included. A visit lift δ
multiplies λ by 1 + δ, as in the forecast.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
from numba import njit
from scipy.optimize import brentq
# the standard normal's cdf and its inverse, the functions scipy.stats.norm calls (the same bits)
# without importing scipy.stats: 0.6 s of every build's start
from scipy.special import ndtr, ndtri

ALPHA = 0.05
POWER = 0.80
#: Pilot lengths the site reports (two months, a quarter, half a year, a year).
PILOT_WEEKS = (8, 13, 26, 52)
#: Pilot lengths whose smallest detectable lift the site reports with all customers.
MDE_WEEKS = PILOT_WEEKS
#: Posterior draws mixed into the moments (the forecast's first draws; 20 × up to 10,000 customers).
MAX_DRAWS = 20
#: Largest visit lift the minimum-detectable-lift search considers (+500 %).
MAX_LIFT = 5.0
DESIGN = "randomised members vs held-out control, two-sample z-test on purchase occasions per customer"


def count_moments(lam: np.ndarray, p: np.ndarray, weeks: float) -> tuple[np.ndarray, np.ndarray]:
    """Return E[Y] and E[Y²] of purchase occasions in ``weeks`` for rate λ per week and drop-out p.

    With m = λ·weeks, q = 1 − p and G = E[q^N] = exp(−m·p): P(Y ≥ k) = P(N ≥ k)·q^(k−1), so
    E[Y] = (1 − G)/p and E[Y²] = 2(1 − G − m·p·q·G)/p² − (1 − G)/p (p → 0 gives the Poisson
    moments m and m + m², used below p = 1e-6).
    """
    m = np.asarray(lam, dtype=np.float64) * weeks
    p = np.asarray(p, dtype=np.float64)
    small = p < 1e-6
    ps = np.where(small, 1.0, p)
    one_minus_g = -np.expm1(-m * ps)
    g = 1.0 - one_minus_g
    m1 = np.where(small, m, one_minus_g / ps)
    m2 = np.where(small, m + m * m, 2.0 * (one_minus_g - m * ps * (1.0 - ps) * g) / (ps * ps) - one_minus_g / ps)
    return m1, m2


@njit(cache=True, nogil=True)
def _mixed_moments(lam, p, weight, weeks, mult):
    """Return (Σw, Σw·E[Y], Σw·E[Y²]) over (draw, customer) cells, added in a fixed order (count_moments per cell)."""
    nd, n = lam.shape
    sw = 0.0
    s1 = 0.0
    s2 = 0.0
    for d in range(nd):
        for i in range(n):
            w = weight[i]
            m = lam[d, i] * mult * weeks
            q = p[d, i]
            if m <= 0.0:
                sw += w
                continue
            if q < 1e-6:
                e1 = m
                e2 = m + m * m
            else:
                omg = -np.expm1(-m * q)
                e1 = omg / q
                e2 = 2.0 * (omg - m * q * (1.0 - q) * (1.0 - omg)) / (q * q) - omg / q
            sw += w
            s1 += w * e1
            s2 += w * e2
    return sw, s1, s2


def arm_moments(lam: np.ndarray, p: np.ndarray, weight: np.ndarray, weeks: float, lift: float = 0.0
                ) -> tuple[float, float]:
    """Return the mean and variance of one random customer's purchase occasions at visit lift ``lift``.

    ``lam`` and ``p`` are (draws, customers) posterior draws, ``weight`` the customers each
    simulated one stands for.
    """
    sw, s1, s2 = _mixed_moments(np.ascontiguousarray(lam, dtype=np.float64), np.ascontiguousarray(p, dtype=np.float64),
                                np.ascontiguousarray(weight, dtype=np.float64), float(weeks), 1.0 + lift)
    mean = s1 / sw
    return mean, max(s2 / sw - mean * mean, 0.0)


def _z(alpha: float, power: float) -> tuple[float, float]:
    return float(ndtri(1.0 - alpha / 2.0)), float(ndtri(power))


def power_of(n: float, mean_c: float, var_c: float, mean_t: float, var_t: float, alpha: float = ALPHA) -> float:
    """Return the chance that a two-sided z-test on n customers per arm finds the difference in means."""
    if n <= 0:
        return 0.0
    se = math.sqrt((var_c + var_t) / n)
    if se == 0.0:
        return 1.0 if mean_t != mean_c else 0.0
    z = float(ndtri(1.0 - alpha / 2.0))
    d = abs(mean_t - mean_c) / se
    return float(ndtr(d - z) + ndtr(-d - z))


def customers_needed(mean_c: float, var_c: float, mean_t: float, var_t: float,
                     alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Return the customers per arm that give ``power`` (None when the arms do not differ)."""
    diff = abs(mean_t - mean_c)
    if diff <= 0.0:
        return None
    za, zb = _z(alpha, power)
    return (za + zb) ** 2 * (var_c + var_t) / diff ** 2


def min_detectable_lift(lam: np.ndarray, p: np.ndarray, weight: np.ndarray, weeks: float, n_per_arm: float,
                        alpha: float = ALPHA, power: float = POWER,
                        moments: Callable[[float, float], tuple[float, float]] | None = None) -> float | None:
    """Return the smallest visit lift that n customers per arm detect with ``power`` (None above MAX_LIFT).

    ``moments(weeks, lift)``: ``arm_moments`` of these draws, when the caller keeps them (``plans``)."""
    moments = moments or (lambda w, lift: arm_moments(lam, p, weight, w, lift))
    mc, vc = moments(weeks, 0.0)

    def gap(lift: float) -> float:
        mt, vt = moments(weeks, lift)
        need = customers_needed(mc, vc, mt, vt, alpha, power)
        return math.inf if need is None else need - n_per_arm

    if gap(MAX_LIFT) > 0:
        return None
    return float(brentq(gap, 1e-6, MAX_LIFT, xtol=1e-4, rtol=1e-6))  # no lift needs infinitely many


def plans(lam: np.ndarray, p: np.ndarray, weight: np.ndarray, lifts: dict[str, float], customers: int,
          alpha: float = ALPHA, power: float = POWER) -> dict[str, dict]:
    """Return the ``pilot`` block of results.json for each scheme id, assumed to lift visits by ``lifts[id]``.

    ``customers`` is the shop's identified customers; with all of them the arms hold half
    each. ``weeks``/``customers_per_arm`` are the shortest pilot in PILOT_WEEKS whose arms
    fit in that base (else the one that needs the fewest customers, with ``feasible`` false). The smallest detectable
    lifts do not depend on the scheme and are worked out once.
    """
    lam = np.ascontiguousarray(np.asarray(lam)[:MAX_DRAWS], dtype=np.float64)
    p = np.ascontiguousarray(np.asarray(p)[:MAX_DRAWS], dtype=np.float64)
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    available = customers // 2

    @functools.lru_cache(maxsize=None)
    def moments(weeks: float, lift: float) -> tuple[float, float]:
        # one pass over the draws per (weeks, lift): schemes assumed to lift visits alike share it
        return arm_moments(lam, p, weight, weeks, lift)

    control = {w: moments(w, 0.0) for w in PILOT_WEEKS}
    mdl = [{"weeks": w, "lift": min_detectable_lift(lam, p, weight, w, available, alpha, power, moments)}
           for w in MDE_WEEKS]
    out = {}
    for sid, lift in lifts.items():
        needed = []
        for w in PILOT_WEEKS:
            mc, vc = control[w]
            mt, vt = moments(w, lift)
            n = customers_needed(mc, vc, mt, vt, alpha, power)
            needed.append({"weeks": w, "customers_per_arm": None if n is None else int(math.ceil(n))})
        fits = [r for r in needed if r["customers_per_arm"] is not None and r["customers_per_arm"] <= available]
        # the shortest pilot that fits; when none does, the one that needs the fewest customers
        usable = [r for r in needed if r["customers_per_arm"] is not None] or needed[-1:]
        chosen = fits[0] if fits else min(usable, key=lambda r: (r["customers_per_arm"] or 0, r["weeks"]))
        mc, vc = control[chosen["weeks"]]
        out[sid] = {"design": DESIGN, "alpha": alpha, "power": power, "assumed_lift": lift,
                    "customers_per_arm": chosen["customers_per_arm"], "weeks": chosen["weeks"],
                    "feasible": bool(fits), "customers_available": int(customers),
                    "mean_purchases": mc, "coefficient_of_variation": math.sqrt(vc) / mc if mc > 0 else None,
                    "customers_needed": needed, "min_detectable_lift": mdl}
    return out
