"""Stage 5, results: every stage's output gathered into the plain results document (results.json).

The front door is `build_results(...)`, the one place that shapes results.json
(``document``); ``describe`` summarises the ledger (the ``data`` and ``customers``
blocks), ``changes`` compares a build with the previous one, ``fingerprint`` hashes
everything a program's build depends on, and ``forecast_check`` says whether the forecast
passed its holdout check (the build's warning; the site's verdicts ask too).
"""

from punchcard.results.changes import compare
from punchcard.results.describe import data_summary, describe
from punchcard.results.document import SCHEMA_VERSION, build_results
from punchcard.results.fingerprint import build_fingerprint
from punchcard.results.forecast_check import FORECAST_ERROR_LIMIT, forecast_off_by

__all__ = ["FORECAST_ERROR_LIMIT", "SCHEMA_VERSION", "build_fingerprint", "build_results", "compare",
           "data_summary", "describe", "forecast_off_by"]
