"""Whether a forecast passed its holdout check, read from a results.json ``model`` block.

Light on purpose (no model code): the build's warnings (and so ``--strict``) and the
site's verdicts both ask. The check itself is forecast/holdout.py's.
"""

from __future__ import annotations

from punchcard.messages import Message

#: Above this share of error either way the forecast is flagged (verdicts, build warning, --strict).
FORECAST_ERROR_LIMIT = 0.15


def forecast_off_by(model: dict | None) -> float | None:
    """Return the holdout error of a results.json ``model`` block when it exceeds the limit either way."""
    hold = ((model or {}).get("checks") or {}).get("holdout") or {}
    err = hold.get("error")
    return float(err) if err is not None and abs(err) > FORECAST_ERROR_LIMIT else None


def holdout_warning(model: dict | None):
    """Return the build warning (a Message) for a forecast that failed its holdout check, else None."""

    err = forecast_off_by(model)
    if err is None:
        return None
    hold = model["checks"]["holdout"]
    params = {"error": round(100.0 * abs(err), 1), "end": hold["calibration_end"],
              "weeks": round(float(hold["holdout_weeks"]), 1), "predicted": round(float(hold["predicted"])),
              "actual": round(float(hold["actual"]))}
    if err > 0:
        return Message("The forecast failed its holdout check: fitted on the sales up to %(end)s, the model "
                       "predicted %(predicted)s purchase occasions for the next %(weeks)s weeks and the same "
                       "customers made %(actual)s, %(error)s %% too many. Every figure that rests on the "
                       "forecast may be off by as much.", params)
    return Message("The forecast failed its holdout check: fitted on the sales up to %(end)s, the model "
                   "predicted %(predicted)s purchase occasions for the next %(weeks)s weeks and the same "
                   "customers made %(actual)s, %(error)s %% too few. Every figure that rests on the "
                   "forecast may be off by as much.", params)
