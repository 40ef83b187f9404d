"""`punchcard init`: a starter program YAML written from a sniffed sales export."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from punchcard.ingest import DELIMITERS, EXCEL, GUESSED_ROLES as ROLES, Dialect, Guessed, Sample, sniff_export
from punchcard.errors import PunchcardError
from punchcard.program import kinds

# `punchcard init` writes schema.json beside the program for editors (yaml-language-server).
SCHEMA_LINE = "# yaml-language-server: $schema=schema.json"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", "whitespace": "space"}
# The locales the site is written in (an en-* locale: English with that region's formats).
SUPPORTED_LOCALES = ("en-GB", "en-US", "nb-NO", "sv-SE", "pl-PL", "pt-BR", "pt-PT")



def schemes_yaml() -> str:
    """Return the ``schemes:`` section: every kind's commented example, the first one live."""
    return "schemes:\n" + "\n".join(k.starter for k in kinds().values())


def q(text: str) -> str:
    """Return a string as a YAML double-quoted scalar."""
    return json.dumps(text, ensure_ascii=False)


TODO = "# TODO: check"
# The default business figures and assumptions a starter program is written with: every
# one is marked `# TODO: check` (a build on them says so at the top of its pages).
DEFAULTS = (
    ("business", "gross_margin", "0.6",
     "share of revenue kept after cost of goods; a default, not from your data"),
    ("business", "horizon_months", "12", "forecast horizon"),
    ("business", "fixed_costs", "{setup: 0, monthly: 0, per_member_year: 0}",
     "software, cards, staff time; a default of nothing"),
    ("assumptions", "enrollment", "{low: 0.25, likely: 0.4, high: 0.55}",
     "share of identified customers who join; a placeholder, not a measurement (docs/data.md)"),
    ("assumptions", "visit_lift", "{low: 0.0, likely: 0.04, high: 0.10}",
     "members' extra visits; a placeholder, the same for every scheme, so the ranking follows cost"),
    ("assumptions", "spend_lift", "0.0", "members' basket-size change; a default of none"),
    ("assumptions", "retention_lift", "0.0", "cut in members' drop-out; a default of none"),
    ("assumptions", "redemption_rate", "0.85", "share of earned rewards claimed; a placeholder"),
)


@dataclass(frozen=True)
class Starter:
    """What ``init`` found and wrote: the sample, the guesses, the dialect, the program file."""

    path: Path  # the program file written
    sample: Sample
    guessed: Guessed
    dialect: Dialect
    text: str


def marked(line: str, note: str, width: int = 44) -> str:
    """Return a YAML line with a `# TODO: check` comment (and why) after it."""
    return f"{line.ljust(width)} {TODO} — {note}"


def starter_yaml(sample: Sample, guessed: Guessed, dialect: Dialect, sales_ref: str) -> str:
    """Return the text of a starter program for a sniffed export; every guess marked TODO."""
    cur, loc = guessed.currency, guessed.locale
    lines = [
        SCHEMA_LINE,
        f"# Starter program written by `punchcard init` from {sample.path.name}.",
        f"# Every value marked `{TODO}` is a guess or a default: check it, then delete the",
        "# mark (a site built while marks remain says so at the top of its pages).",
        "# Uncomment the schemes you want to compare, then run `punchcard build` on this file.",
        marked(f"name: {q(sample.path.stem + ' — loyalty options')}", "the decision in one line"),
        marked(f"locale: {loc.value}", f"{loc.evidence} ({loc.confidence}); the site's "
               f"language and number formats: {', '.join(SUPPORTED_LOCALES)}"),
        marked(f"currency: {cur.value}", f"{cur.evidence} ({cur.confidence})"),
        "sales:",
        f"  path: {q(sales_ref)}",
        f"  # {sample.rows:,} rows (counted); columns: {', '.join(sample.header)}",
        "  columns:",
    ]
    for role in ROLES:
        g = guessed.roles.get(role)
        if g is not None:
            lines.append(marked(f"    {role}: {q(g.value)}", f"{g.evidence} ({g.confidence})"))
    for role in guessed.missing():
        lines.append(f"    # {role}: ???    # TODO: not found — name the {role} column here "
                     f"(one of: {', '.join(sample.header)})")
    if "order" not in guessed.roles:
        lines.append("    # order: ???    # no order column found: the lines of one customer "
                     + ("at one date and time" if guessed.timed else "on one date") + " are one visit")
    fmt = []
    if sample.kind == "csv":
        d = dialect
        if d.delimiter in DELIMITERS:
            fmt.append(marked(f"    delimiter: {q(d.delimiter)}", "sniffed"))
        fmt.append(marked(f"    decimal: {q(d.decimal)}", "sniffed from the numbers"))
        fmt.append(marked(f"    encoding: {d.encoding}", "sniffed"))
    if dialect.date_format and dialect.date_format != EXCEL:
        fmt.append(marked(f"    date_format: {q(dialect.date_format)}", "sniffed from the dates"))
    if fmt:
        lines += ["  format:"] + fmt
    section = None
    for part, key, value, note in DEFAULTS:
        if part != section:
            lines.append(f"{part}:")
            section = part
        lines.append(marked(f"  {key}: {value}", note))
    return "\n".join(lines) + "\n" + schemes_yaml()


def write_starter(sales_path: Path, out: Path, *, force: bool = False,
                  date_format: str | None = None) -> Starter:
    """Write a starter program for ``sales_path`` to ``out`` and return what was found and written.

    The file is written even when a required column was not found (marked TODO there);
    ``Starter.guessed.missing()`` tells the caller.
    """
    out = Path(out)
    if out.exists() and not force:
        raise PunchcardError(f"{out}: the file already exists. Fix: choose another name, "
                             "or pass `--force` to overwrite it.")
    sample, guessed, dialect = sniff_export(Path(sales_path), date_format=date_format)
    ref = Path(os.path.relpath(Path(sales_path).resolve(), out.resolve().parent)).as_posix()
    text = starter_yaml(sample, guessed, dialect, ref)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return Starter(out, sample, guessed, dialect, text)


def report(started: Starter) -> list[str]:
    """Return the lines ``init`` prints: the format found and each guess with its evidence."""
    s, d, g = started.sample, started.dialect, started.guessed
    fmt = (f"{d.encoding}, {DELIMITER_NAMES.get(d.delimiter, repr(d.delimiter))}-separated, "
           f"decimal {d.decimal!r}, dates {d.date_format or '?'}" if s.kind == "csv" else "parquet")
    lines = [f"{s.path.name}: {s.rows:,} rows (counted), {len(s.header)} columns ({fmt}).",
             "Guessed (confidence; evidence):"]
    width = max([len(r) for r in g.roles] + [8])
    for role in ROLES:
        if role in g.roles:
            x = g.roles[role]
            lines.append(f"  {role.ljust(width)}  {x.value!r} ({x.confidence}; {x.evidence})")
    for role in g.missing():
        lines.append(f"  {role.ljust(width)}  NOT FOUND")
    lines.append(f"  {'currency'.ljust(width)}  {g.currency.value} ({g.currency.confidence}; "
                 f"{g.currency.evidence})")
    lines.append(f"  {'locale'.ljust(width)}  {g.locale.value} ({g.locale.confidence}; "
                 f"{g.locale.evidence})")
    if "order" not in g.roles:
        lines.append("  No order column: the lines of one customer "
                     + ("at one date and time" if g.timed else "on one date") + " count as one visit.")
    lines += [f"  note: {n}" for n in g.notes]
    return lines
