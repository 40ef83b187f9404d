"""Stage 5: gather every stage's output into the plain ``results`` dict (= results.json)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from punchcard import __version__
from punchcard.messages import Message, message_dict, rejection_label
from punchcard.results.changes import compare
from punchcard.results.forecast_check import holdout_warning
from punchcard.results.decision import decide
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
    if site.logo is not None:  # relative to the program's folder, which holds it
        logo = Path(os.path.relpath(site.logo, program.path.parent)).as_posix()
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
        "unchecked": list(program.unchecked),
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


def unaccepted(rejected: dict[str, int], rows_read: int,
               accept: dict[str, tuple[str, float | None]]) -> dict[str, int]:
    """Return the rejected rows per reason that ``sales.accept`` does not allow.

    A reason is accepted whole when its count is within the allowance: ``any``; a share of
    the rows read (14 of 10,000 rows is within ``0.5%``); or a number of rows.
    """
    out = {}
    for reason, n in rejected.items():
        kind, limit = accept.get(reason, (None, None))
        ok = (kind == "any" or (kind == "share" and n <= limit * rows_read)
              or (kind == "rows" and n <= limit))
        if n and not ok:
            out[reason] = n
    return out


def build_warnings(data: dict, fc, accept: dict | None = None) -> list[Message]:
    """Return the warnings a build raises: rejected rows (beyond what ``sales.accept``
    allows), a skipped or unconverged forecast.

    Each warning is a `Message`: the English sentence results.json keeps in
    ``warnings``, plus the ``{"msgid", "params"}`` form kept in ``warnings_detail`` so that
    the site can show it in the program's language.
    """
    warnings = []
    rejected = data.get("rows_rejected", {})
    some_accepted = bool(accept) and bool(rejected)
    rejected = unaccepted(rejected, data["rows_read"], accept or {}) if accept else rejected
    total = sum(rejected.values())
    if total:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(rejected.items()))
        params = {"rejected": total, "rows": data["rows_read"],
                  "reasons": [Message("%(reason)s: %(n)s",
                                      {"reason": Message(rejection_label(k), english=k), "n": v},
                                      english=f"{k}: {v:,}") for k, v in sorted(rejected.items())]}
        if some_accepted:
            warnings.append(Message(
                "%(rejected)s of %(rows)s rows were rejected beyond what `sales.accept` allows "
                "(%(reasons)s).", params,
                english=f"{total:,} of {data['rows_read']:,} rows were rejected beyond what "
                        f"`sales.accept` allows ({reasons})."))
        else:
            warnings.append(Message(
                "%(rejected)s of %(rows)s rows were rejected (%(reasons)s).", params,
                english=f"{total:,} of {data['rows_read']:,} rows were rejected ({reasons})."))
    if fc is None or fc.skipped_reason:
        reason = fc.skipped_reason if fc else Message("not run")
        warnings.append(Message("No forecast is shown: %(reason)s", {"reason": reason},
                                english=f"No forecast is shown: {reason}"))
    elif fc.model and not fc.model.get("converged", True):
        warnings.append(Message("The customer model did not converge; treat the forecast with care."))
    if fc is not None and fc.model:
        missed = holdout_warning(fc.model)
        if missed is not None:
            warnings.append(missed)
    return warnings


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
    fingerprint: str,
    previous: dict | None = None,
) -> dict:
    """Return the results dict of docs/results.md for one program: results.json, and all of it.

    ``previous`` is the program's results.json from the last build into the same site, if
    any: ``changes`` compares against it when the inputs changed (and keeps its ``changes``
    when they did not). The dict comes back as JSON would read it (sorted keys, plain
    types), so a later build that reuses results.json renders the same bytes.
    """
    warnings = build_warnings(data, forecast, program.sales.accept)
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
    pilot = None
    if forecast is not None and forecast.pilots and schemes:
        best = min(schemes, key=lambda s: s["rank"])
        if best["id"] in forecast.pilots:
            pilot = {"scheme": best["id"], **forecast.pilots[best["id"]]}
    run = dict(forecast.run) if forecast is not None and forecast.run else {}
    run.setdefault("seed", seed)
    run["skipped_reason"] = forecast.skipped_reason if forecast is not None else (
        "The forecast was not run.")
    doc = plain({
        "schema_version": SCHEMA_VERSION,
        "punchcard_version": __version__,
        "program": program_block(program),
        "inputs": [f.record() for f in ledger.inputs],
        "data": data,
        "customers": customers,
        "model": forecast.model if forecast is not None else None,
        "forecast": run,
        "schemes": schemes,
        "pilot": pilot,
        "decision": decide(schemes, program.currency),
        "warnings": warnings,
        "warnings_detail": [message_dict(w) or {"msgid": str(w), "params": {}} for w in warnings],
        "reproducibility": {
            "punchcard_version": __version__,
            "seed": seed,
            "command": command,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "polars": pl.__version__,
            "fingerprint": fingerprint,
        },
    })
    if previous is None:
        doc["changes"] = None
    elif previous.get("reproducibility", {}).get("fingerprint") != fingerprint:
        doc["changes"] = compare(previous, doc)
    else:
        doc["changes"] = previous.get("changes")  # same inputs: keep the last data drop's diff
    return json.loads(json.dumps(doc, sort_keys=True, ensure_ascii=False))
