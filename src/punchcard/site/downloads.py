"""The downloads of a program's site: results.json and results.csv (docs/results.md)."""

from __future__ import annotations

import csv
import io
import json

from punchcard.site.tables import figure_columns, lookup
from punchcard.site.fmt import Formatter


def results_json(res: dict) -> str:
    """Return results.json exactly as docs/results.md specifies (sorted keys, 2-space indent)."""
    return json.dumps(res, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads these as a formula


def csv_text(value: str) -> str:
    """Return a text cell safe to open in a spreadsheet: one that a spreadsheet would read as
    a formula (``=HYPERLINK(…)``, ``+1``, ``@SUM``) is prefixed with ``'`` (OWASP, "CSV
    Injection"); numbers are written by the formatter and never pass through here."""
    return "'" + value if value.startswith(FORMULA_START) else value


def results_csv(res: dict, fmt: Formatter) -> str:
    """Return results.csv: one row per scheme with every backtest and forecast figure."""
    columns = ["id", "name", "kind", "rank"] + [key for key, _kind in figure_columns(res["schemes"])]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=fmt.csv_delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for s in sorted(res["schemes"], key=lambda s: (s["rank"], s["id"])):
        row = [csv_text(s["id"]), csv_text(s["name"]), csv_text(s["kind"]), str(s["rank"])]
        for key in columns[4:]:
            value = lookup(s, key)
            row.append(fmt.csv_number(value) if isinstance(value, (int, float)) else "" if value is None
                       else csv_text(str(value)))
        writer.writerow(row)
    return buf.getvalue()
