"""The decision: which scheme to run, or none — "do nothing" is the baseline every scheme must beat.

Doing nothing has a net impact of exactly zero (no scheme cost, no extra margin), so a
scheme is recommended only when its expected net impact over the forecast is above zero;
the best of those (highest expected net impact) is the recommendation. Without a
forecast nothing is shown to pay, and the answer is "none". docs/method.md states the rule.
"""

from __future__ import annotations

NONE = "none"


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}"


def _expected(s: dict) -> float | None:
    fc = s.get("forecast") or {}
    return (fc.get("net_impact") or {}).get("mean")


def best_scheme(schemes: list[dict]) -> dict | None:
    """Return the forecast scheme with the highest expected net impact (ties: lower id), or None."""
    scored = [s for s in schemes if _expected(s) is not None]
    if not scored:
        return None
    return min(scored, key=lambda s: (-float(_expected(s)), s["id"]))


def decide(schemes: list[dict], currency: str) -> dict:
    """Return ``{recommendation: scheme id | "none", reason}`` (reason: one plain English sentence)."""
    best = best_scheme(schemes)
    if best is None:
        return {"recommendation": NONE,
                "reason": "No forecast was made, so no scheme can be shown to pay for itself; doing nothing "
                          "costs nothing."}
    fc = best["forecast"]
    mean = float(fc["net_impact"]["mean"])
    chance = float(fc.get("probability_positive") or 0.0)
    if mean > 0:
        return {"recommendation": best["id"],
                "reason": f"{best['name']} has the highest expected net impact ({_money(mean, currency)} over "
                          f"{fc.get('horizon_months', 12)} months), above doing nothing (0), and comes out "
                          f"ahead in {chance:.0%} of the simulated futures under the ranges you gave."}
    be = fc.get("break_even_visit_lift")
    if be is None:
        need = "no visit lift up to +200 % would make it pay"
    else:
        need = (f"it would pay for itself if members visited {be:+.1%} more often, the other assumptions at "
                "their likely values")
    return {"recommendation": NONE,
            "reason": f"None of these schemes pays for itself under your assumptions: the best, {best['name']}, "
                      f"has an expected net impact of {_money(mean, currency)}; {need}."}
