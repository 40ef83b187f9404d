"""What changed since the last data drop: compare a program's new results with the previous ones."""

from __future__ import annotations

from typing import Any


def _delta(old: Any, new: Any) -> dict | None:
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        if old is None and new is None:
            return None
        return {"old": old, "new": new, "change": None, "relative": None}
    change = new - old
    relative = change / abs(old) if old else None
    return {"old": old, "new": new, "change": change, "relative": relative}


DATA_FIGURES = ("revenue", "customers", "transactions", "rows_read", "last_date")
SCHEME_FIGURES = (
    ("backtest", "total_cost"),
    ("backtest", "cost_share_of_revenue"),
    ("backtest", "customers_rewarded"),
    ("backtest", "rewarded_share"),
    ("forecast", "net_impact.mean"),
    ("forecast", "probability_positive"),
)


def _get(d: dict | None, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def compare(previous: dict, current: dict) -> dict:
    """Return the ``changes`` block: data figures, each scheme's key figures and rank moves."""
    data = {}
    for key in DATA_FIGURES:
        old, new = previous.get("data", {}).get(key), current.get("data", {}).get(key)
        if old != new:
            data[key] = _delta(old, new)
    old_schemes = {s["id"]: s for s in previous.get("schemes", [])}
    schemes = []
    for s in current.get("schemes", []):
        before = old_schemes.get(s["id"])
        entry: dict[str, Any] = {"id": s["id"], "name": s["name"], "new": before is None,
                                 "rank": {"old": before.get("rank") if before else None,
                                          "new": s.get("rank")},
                                 "figures": {}}
        if before is not None:
            for block, key in SCHEME_FIGURES:
                old, new = _get(before.get(block), key), _get(s.get(block), key)
                if old != new:
                    entry["figures"][f"{block}.{key}"] = _delta(old, new)
        entry["rank_changed"] = before is not None and before.get("rank") != s.get("rank")
        schemes.append(entry)
    removed = sorted(set(old_schemes) - {s["id"] for s in current.get("schemes", [])})
    return {
        "previous_last_date": previous.get("data", {}).get("last_date"),
        "previous_fingerprint": previous.get("reproducibility", {}).get("fingerprint"),
        "data": data,
        "schemes": schemes,
        "removed_schemes": removed,
        "ranking_changed": any(e["rank_changed"] for e in schemes) or bool(removed),
    }
