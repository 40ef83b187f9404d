"""`punchcard init`: a starter program YAML written from a sniffed sales export."""

from __future__ import annotations

import json
import os
from pathlib import Path

from punchcard.ingest import DELIMITERS, EXCEL, Sniffed, normalise_header, sniff
from punchcard.errors import PunchcardError
from punchcard.program import kinds

# `punchcard init` writes schema.json beside the program for editors (yaml-language-server).
SCHEMA_LINE = "# yaml-language-server: $schema=schema.json"
# Header words that give away the export's language → (locale, currency) guess.
LANGUAGE_HINTS = (
    ({"kundenummer", "kundenr", "dato", "belop", "kvitteringsnr", "antall", "fodselsdato"}, "nb-NO", "NOK"),
    ({"kundid", "kundnr", "datum", "belopp", "kvittonr", "antal", "fodelsedatum"}, "sv-SE", "SEK"),
    ({"klient", "kwota", "paragon", "ilosc", "dataurodzenia", "idklienta"}, "pl-PL", "PLN"),
    ({"cliente", "valor", "pedido", "quantidade", "datadenascimento"}, "pt-BR", "BRL"),
)



def schemes_yaml() -> str:
    """Return the ``schemes:`` section: every kind's commented example, the first one live."""
    return "schemes:\n" + "\n".join(k.starter for k in kinds().values())


def q(text: str) -> str:
    """Return a string as a YAML double-quoted scalar."""
    return json.dumps(text, ensure_ascii=False)


def guess_locale(header: tuple[str, ...]) -> tuple[str, str]:
    """Return a (locale, currency) guess from the header's language, en-US/USD by default."""
    norm = {normalise_header(h) for h in header}
    for words, locale, currency in LANGUAGE_HINTS:
        if norm & words:
            return locale, currency
    return "en-US", "USD"


def starter_yaml(found: Sniffed, sales_ref: str) -> str:
    """Return the text of a starter program for a sniffed export."""
    locale, currency = guess_locale(found.header)
    d = found.dialect
    lines = [
        SCHEMA_LINE,
        f"# Starter program written by `punchcard init` from {found.path.name}.",
        "# Replace every TODO, uncomment the schemes you want to compare, then run",
        "# `punchcard build` on this file.",
        f"name: {q(found.path.stem + ' — loyalty options')}   # TODO: the decision in one line",
        f"locale: {locale}             # TODO: report language and number formats",
        f"currency: {currency}",
        "sales:",
        f"  path: {q(sales_ref)}",
        f"  # about {found.rows_estimate:,} rows; columns found: {', '.join(found.header)}",
        "  columns:",
    ]
    lines += [f"    {role}: {q(col)}" for role, col in found.roles.items()]
    fmt = []
    if found.kind == "csv":
        if d.delimiter in DELIMITERS:
            fmt.append(f"    delimiter: {q(d.delimiter)}")
        fmt.append(f"    decimal: {q(d.decimal)}")
        if d.thousands:
            fmt.append(f"    thousands: {q(d.thousands)}")
        fmt.append(f"    encoding: {d.encoding}")
    if d.date_format and d.date_format != EXCEL:
        fmt.append(f"    date_format: {q(d.date_format)}")
    if fmt:
        lines += ["  format:"] + fmt
    lines += [
        "business:",
        "  gross_margin: 0.6          # TODO: share of revenue kept after cost of goods",
        "  horizon_months: 12",
        "  fixed_costs: {setup: 0, monthly: 0, per_member_year: 0}   # TODO: software, cards, staff time",
        "assumptions:",
        "  enrollment: {low: 0.25, likely: 0.4, high: 0.55}   # share of identified customers who join",
        "  visit_lift: {low: 0.0, likely: 0.04, high: 0.10}   # members' visit-rate change",
        "  spend_lift: 0.0",
        "  retention_lift: 0.0",
        "  redemption_rate: 0.85",
    ]
    return "\n".join(lines) + "\n" + schemes_yaml()


def write_starter(sales_path: Path, out: Path, *, force: bool = False,
                  date_format: str | None = None) -> Path:
    """Write a starter program for ``sales_path`` to ``out`` and return ``out``."""
    out = Path(out)
    if out.exists() and not force:
        raise PunchcardError(f"{out}: the file already exists. Fix: choose another name, "
                             "or pass `--force` to overwrite it.")
    found = sniff(Path(sales_path), date_format=date_format)
    ref = Path(os.path.relpath(Path(sales_path).resolve(), out.resolve().parent)).as_posix()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(starter_yaml(found, ref), encoding="utf-8")
    return out
