"""Stage 5, results: every stage's output gathered into the plain results document (results.json).

The front door is `build_results(...)`, the one place that shapes results.json
(``document``); ``describe`` summarises the ledger (the ``data`` and ``customers``
blocks), ``changes`` compares a build with the previous one, and ``fingerprint`` hashes
everything a program's build depends on.
"""

from punchcard.results.changes import compare
from punchcard.results.describe import data_summary, describe
from punchcard.results.document import SCHEMA_VERSION, build_results
from punchcard.results.fingerprint import build_fingerprint

__all__ = ["SCHEMA_VERSION", "build_fingerprint", "build_results", "compare", "data_summary", "describe"]
