"""Stage 5: gather every stage's output into the plain ``results`` dict (= results.json)."""

from __future__ import annotations

import dataclasses
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from punchcard import __version__
from punchcard.program import Assumptions, Program, Range

SCHEMA_VERSION = 1


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-ready plain Python data (no numpy, NaN → None, dates → ISO)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        value = value.item()  # numpy scalar
    if isinstance(value, float):
        # 12 significant digits: far below any displayed precision, and immune to the
        # last-bit differences of parallel sums, so identical inputs give identical bytes.
        return float(f"{value:.12g}") if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    return str(value)


def assumptions_dict(a: Assumptions) -> dict:
    """Return assumptions as {name: {low, likely, high}} (flags and plain numbers as they are)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(a):
        v = getattr(a, f.name)
        out[f.name] = {"low": v.low, "likely": v.likely, "high": v.high} if isinstance(v, Range) else v
    return out


def program_block(program: Program) -> dict:
    """Return the ``program`` block: identity, locale, business settings and assumptions."""
    site = program.site
    logo = None
    if site.logo is not None:
        logo = site.logo.name
    return {
        "id": program.id,
        "name": program.name,
        "currency": program.currency,
        "locale": program.locale,
        "site": {"title": site.title, "logo": logo, "primary_color": site.primary_color,
                 "footer": site.footer},
        "gross_margin": program.business.gross_margin,
        "horizon_months": program.business.horizon_months,
        "fixed_costs": dataclasses.asdict(program.business.fixed_costs),
        "assumptions": assumptions_dict(program.assumptions),
    }


def rank_schemes(schemes: list[dict]) -> None:
    """Set ``rank`` on each scheme: by expected net impact, else by lowest backtest cost."""

    def key(s: dict) -> tuple:
        fc = s.get("forecast")
        if fc and fc.get("net_impact", {}).get("mean") is not None:
            return (0, -fc["net_impact"]["mean"], s["id"])
        return (1, s["backtest"]["total_cost"], s["id"])

    for i, s in enumerate(sorted(schemes, key=key), start=1):
        s["rank"] = i


def build_results(
    program: Program,
    ledger,
    backtests: dict,
    forecast,
    *,
    data: dict,
    customers: dict,
    seed: int,
    command: str,
    warnings: list[str],
) -> dict:
    """Return the results dict of docs/results.md for one program."""
    schemes = []
    for scheme in program.schemes:
        bt = backtests[scheme.id]
        fc = None
        if forecast is not None and forecast.schemes:
            fc = forecast.schemes.get(scheme.id)
        schemes.append({
            "id": scheme.id,
            "kind": scheme.kind,
            "name": scheme.name,
            "description": scheme.description,
            "params": dataclasses.asdict(scheme.params),
            "assumptions": assumptions_dict(scheme.assumptions),
            "backtest": {**bt.summary, "monthly": bt.monthly, "distribution": bt.distribution},
            "forecast": fc,
        })
    rank_schemes(schemes)
    run = dict(forecast.run) if forecast is not None and forecast.run else {}
    run.setdefault("seed", seed)
    run["skipped_reason"] = forecast.skipped_reason if forecast is not None else (
        "The forecast was not run.")
    return plain({
        "schema_version": SCHEMA_VERSION,
        "punchcard_version": __version__,
        "program": program_block(program),
        "inputs": [f.record() for f in ledger.inputs],
        "data": data,
        "customers": customers,
        "model": forecast.model if forecast is not None else None,
        "forecast": run,
        "schemes": schemes,
        "warnings": warnings,
        "reproducibility": {
            "punchcard_version": __version__,
            "seed": seed,
            "command": command,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "polars": pl.__version__,
        },
    })
