"""New customers: the shop's historical rate of first purchases, extrapolated over the horizon.

The weekly count of first purchases among identified customers is fitted with a Poisson
log-linear regression (McCullagh & Nelder 1989, ch. 6) on a linear trend and, with at
least two years of weeks to fit, two annual Fourier harmonics (the seasonal terms of
Harvey 1989; two years so that the season cannot stand in for the trend). The history
is left-censored: in its first weeks every returning customer is "new" because the data
start there, so the weeks before ``burn_in_weeks`` are left out of the fit (docs/forecast.md,
"New customers"). The fitted weekly rate, extrapolated over the horizon and kept within
half and twice the last fitted year's rate, gives the expected arrivals; ``slots`` places
that many simulated new customers at the quantiles of the rate (a stratified sample of the
arrival process: each one arrives uniformly within its own stratum, drawn per draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Weeks at the start of the history left out of the fit (at most a third of the history):
#: a customer of the data's start who buys every 8 weeks is first seen within 26 weeks with
#: probability 1 − e^(−26/8) ≈ 96 % (docs/forecast.md)
BURN_IN_WEEKS = 26
#: Weeks of fit needed for a trend (a quarter) and for the annual season (two years)
TREND_WEEKS = 13
SEASON_WEEKS = 104
HARMONICS = 2
WEEKS_PER_YEAR = 365.25 / 7.0
#: The extrapolated rate stays within these multiples of the last fitted year's mean rate
RATE_BOUNDS = (0.5, 2.0)


@dataclass(frozen=True)
class ArrivalFit:
    """The fitted weekly rate of new customers and what the fit used."""

    coef: np.ndarray  # intercept, trend per year, then cos/sin pairs
    terms: str  # "level" | "trend" | "trend+season"
    burn_in_weeks: int
    weeks_fitted: int
    first_purchases: int  # in the weeks fitted
    t_end: float  # weeks from the data start to the horizon's start
    bounds: tuple[float, float]  # weekly rate limits over the horizon

    def rate(self, t: np.ndarray) -> np.ndarray:
        """Return the weekly rate of new customers at weeks ``t`` from the data start (bounded)."""
        if self.first_purchases == 0:
            return np.zeros(len(t))
        r = np.exp(_design(np.asarray(t, dtype=np.float64), self.terms) @ self.coef)
        return np.clip(r, *self.bounds)

    def as_dict(self, horizon_weeks: float) -> dict:
        """Return the fit for results.json's model block: the weekly rate now and the arrivals expected."""
        return {"terms": self.terms, "burn_in_weeks": self.burn_in_weeks, "weeks_fitted": self.weeks_fitted,
                "first_purchases_fitted": self.first_purchases,
                "weekly_rate": float(self.rate(np.array([self.t_end]))[0]),
                "expected": float(expected_arrivals(self, horizon_weeks))}


def _design(t: np.ndarray, terms: str) -> np.ndarray:
    cols = [np.ones(len(t))]
    if terms != "level":
        cols.append(t / WEEKS_PER_YEAR)
    if terms == "trend+season":
        for k in range(1, HARMONICS + 1):
            w = 2.0 * np.pi * k * t / WEEKS_PER_YEAR
            cols += [np.cos(w), np.sin(w)]
    return np.column_stack(cols)


def _poisson_fit(X: np.ndarray, y: np.ndarray, expo: np.ndarray) -> np.ndarray:
    """Return the Poisson log-linear regression's coefficients (Newton's method / IRLS)."""
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(y.sum(), 1e-9) / expo.sum())
    for _ in range(100):
        mu = expo * np.exp(X @ beta)
        grad = X.T @ (y - mu)
        hess = (X * mu[:, None]).T @ X + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(hess, grad)
        while np.max(np.abs(step)) > 5.0:  # damped: a wild first step cannot overflow
            step /= 2.0
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def fit(first_day: np.ndarray, data_start: int, data_end: int) -> ArrivalFit:
    """Return the weekly rate of first purchases from each identified customer's first day.

    Weeks run from ``data_start``; the last, partial week counts with its share of a week
    (the exposure). Weeks before the burn-in (``BURN_IN_WEEKS``, at most a third of the
    history) are left out: there, first purchases are mostly today's customers seen for
    the first time. No first purchase after the burn-in: no arrivals.
    """
    days = int(data_end) - int(data_start) + 1
    n_weeks = int(np.ceil(days / 7.0))
    counts = np.bincount((np.asarray(first_day, dtype=np.int64) - int(data_start)) // 7, minlength=n_weeks)[:n_weeks]
    expo = np.minimum(days - 7.0 * np.arange(n_weeks), 7.0) / 7.0
    burn = min(BURN_IN_WEEKS, n_weeks // 3)
    y, e = counts[burn:].astype(np.float64), expo[burn:]
    t = np.arange(burn, n_weeks) + 0.5 * e
    n_fit = len(y)
    terms = "trend+season" if n_fit >= SEASON_WEEKS else ("trend" if n_fit >= TREND_WEEKS else "level")
    t_end = days / 7.0
    total = int(y.sum())
    if total == 0:
        return ArrivalFit(np.zeros(1), "level", burn, n_fit, 0, t_end, (0.0, 0.0))
    coef = _poisson_fit(_design(t, terms), y, e)
    last = slice(max(0, n_fit - int(round(WEEKS_PER_YEAR))), n_fit)
    mean_rate = float(y[last].sum() / e[last].sum())
    return ArrivalFit(coef, terms, burn, n_fit, total, t_end, (RATE_BOUNDS[0] * mean_rate, RATE_BOUNDS[1] * mean_rate))


def expected_arrivals(af: ArrivalFit, horizon_weeks: float) -> float:
    """Return the expected new customers over the horizon (the weekly rate summed week by week)."""
    edges, rate = _grid(af, horizon_weeks)
    return float(np.sum(rate * np.diff(edges)))


def _grid(af: ArrivalFit, horizon_weeks: float) -> tuple[np.ndarray, np.ndarray]:
    """Return week edges over the horizon (weeks from its start) and the rate within each week."""
    n = int(np.ceil(horizon_weeks))
    edges = np.minimum(np.arange(n + 1, dtype=np.float64), horizon_weeks)
    rate = af.rate(af.t_end + 0.5 * (edges[:-1] + edges[1:]))
    return edges, rate


def slots(af: ArrivalFit, horizon_weeks: float, max_n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (lo, hi, weight): each simulated new customer's arrival window (weeks from the horizon's
    start) and the customers it stands for.

    ``k`` = the expected arrivals rounded up (at most ``max_n``) slots split the cumulative
    rate into equal parts; slot i arrives within the weeks where the cumulative rate runs
    from i/k to (i+1)/k of the total, each standing for total/k customers. Without
    arrivals: none.
    """
    edges, rate = _grid(af, horizon_weeks)
    cum = np.concatenate(([0.0], np.cumsum(rate * np.diff(edges))))
    total = float(cum[-1])
    if total <= 0.0 or max_n <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    k = int(min(max(np.ceil(total - 1e-9), 1), max_n))
    q = np.linspace(0.0, total, k + 1)
    at = np.interp(q, cum, edges)  # the cumulative rate is piecewise linear in time
    return at[:-1], at[1:], np.full(k, total / k)
