"""Stage 2, data quality: rejections counted per reason, masked example lines, and the errors.

Example lines show every personal column (customer id, birthday, names, contacts) as a
mask; the error for a mostly unreadable file names a line, a column and the fix.
"""

from __future__ import annotations

import re

import polars as pl

from punchcard.ingest.dialect import MASK, PERSONAL, WHITESPACE, normalise_header
from punchcard.errors import PunchcardError
from punchcard.ingest.ledger import DataQuality
from punchcard.ingest.rows import REASONS
from punchcard.ingest.sources import FILE_SHIFT, Source, scan

MAX_EXAMPLES = 5
REASON_ROLE = {"missing_date": "date", "bad_date": "date", "date_outlier": "date", "missing_amount": "amount",
               "bad_amount": "amount", "bad_items": "items", "zero_amount": "amount"}


# Shown cells are masked by pattern as well as by column: an e-mail address, or a run of
# digits as long as a phone, card or national id number, in any column the program did not
# map is personal whatever the column is called (docs/guarantees.md).
EMAIL = re.compile(r"[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+")
LONG_NUMBER = re.compile(r"\+?\d(?:[\d .()/-]{5,}\d)")
MAX_CELL = 40  # characters of one shown cell; the rest is cut with an ellipsis


def shown_cell(value: str | None, kept: bool) -> str:
    """Return a cell as an example line may show it: masked by pattern, at most MAX_CELL long.

    ``kept`` cells (date, amount, items, unit price, order: the cells a rejection is about)
    keep their digits; every cell loses e-mail addresses.
    """
    text = EMAIL.sub(MASK, value or "")
    if not kept:
        text = LONG_NUMBER.sub(lambda m: MASK if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def example_lines(sources: list[Source], picks: pl.DataFrame) -> dict[int, tuple[str, dict[str, str]]]:
    """Return pos -> (masked line text, raw values by header) for the picked rows."""
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for index, src in enumerate(sources):
        rows = picks.filter((pl.col("__pos") // (1 << FILE_SHIFT)) == index)["__pos"]
        if rows.len() == 0:
            continue
        wanted = (rows - (index << FILE_SHIFT)).cast(pl.UInt32).sort()
        found = scan(src, wanted).collect()  # reads the file only up to the last example
        hidden = {src.roles["customer"], src.roles.get("birthday")}
        kept = {src.roles.get(r) for r in ("date", "amount", "order", "items", "unit_price")} - {None}
        columns = [c for c in found.columns if c != "__row"]
        masked = {c for c in columns if (c in hidden or PERSONAL.search(normalise_header(c))) and c not in kept}
        sep = src.dialect.delimiter if src.dialect.delimiter != WHITESPACE else " "
        values = found.select(columns).cast(pl.String).to_dicts()
        # at most MAX_EXAMPLES rows per reason: a loop over a handful of example lines
        for row, cells in zip(found["__row"].to_list(), values):
            text = sep.join(MASK if c in masked else shown_cell(cells[c], c in kept) for c in columns)
            out[(index << FILE_SHIFT) + row] = (text, cells)
    return out


HINTS = {
    "missing_date": "every row needs a date; check that `columns: {date: …}` names the right column",
    "bad_date": "give the date format under `sales:` → `format:`, e.g. `date_format: \"%d.%m.%Y\"`",
    "missing_amount": "every row needs an amount; check that `columns: {amount: …}` names the right column",
    "bad_amount": "check the decimal mark under `sales:` → `format:`, e.g. `decimal: \",\"` or `thousands: \".\"`",
    "bad_items": "check that `columns: {items: …}` names a quantity column",
    "zero_amount": "check that `columns: {amount: …}` names the money column",
    "duplicate_line": "the file repeats the same lines; remove the repeated export",
    "outside_window": "widen or remove `sales.window`",
    "date_outlier": "correct the dates far from all the others, or choose the period with `sales.window`",
    "empty_line": "the file is mostly empty lines; check the export",
}


def too_many_rejected(quality: DataQuality, details: dict[str, tuple[str, str | None, str | None]]) -> PunchcardError:
    """Return the error for a file that is mostly unreadable: top reasons with an example line."""
    top = sorted(quality.rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    reason = top[0][0]
    ex = quality.examples[reason][0]
    column, value = details[reason][1], details[reason][2]
    where = f"{ex['file']}: line {ex['line']}"
    if column is not None:
        where += f", column {column!r}, value {shown_cell(value, True)!r}"
    counts = ", ".join(f"{k} {v:,}" for k, v in top)
    return PunchcardError(
        f"{where}: {quality.rows_read - quality.rows_used:,} of {quality.rows_read:,} rows cannot "
        f"be used ({counts}); e.g. `{ex['text']}`. Fix: {HINTS.get(reason, 'check the export')}."
    )


def check_sales(tx: pl.DataFrame, sources: list[Source]) -> None:
    """Raise when the transactions hold no sale, or returns outweigh sales: such an export is
    a returns report or a sign-flipped file, and every figure built on it would mislead."""
    amount = tx["amount"]  # the count and the sum settle it; the error's sums only when it is raised
    fig = {"n": tx.height, "sales": int((amount > 0).sum()), "total": float(amount.sum())}
    if fig["n"] and (fig["sales"] == 0 or fig["total"] <= 0):
        fig = sales_figures(tx)
    check_sales_figures(fig, sources)


def sales_figures(tx: pl.DataFrame) -> dict:
    """Return what ``check_sales`` judges: transactions, sales among them, and the sums of all
    amounts, of sales and of returns (addable across a cluster's partitions)."""
    amount = tx["amount"]
    return {"n": tx.height, "sales": int((amount > 0).sum()), "total": float(amount.sum()),
            "sold": float(amount.filter(amount > 0).sum()), "returned": float(amount.filter(amount < 0).sum())}


def check_sales_figures(fig: dict, sources: list[Source]) -> None:
    """Raise ``check_sales``' error from ``sales_figures`` (of all transactions)."""
    if fig["n"] == 0:
        return  # nothing used: the error for a mostly unreadable file says why
    label = ", ".join(s.label for s in sources)
    if fig["sales"] == 0:
        raise PunchcardError(
            f"{label}: every used row is a return (a negative amount) — there are no sales to "
            "analyse. Fix: export the sales themselves, or, if your system writes sales as "
            "negative numbers, flip the sign of the amount column."
        )
    if fig["total"] <= 0:
        raise PunchcardError(
            f"{label}: returns ({-fig['returned']:,.2f}) "
            f"outweigh sales ({fig['sold']:,.2f}), so revenue would be "
            "negative. Fix: export the whole sales history, not a returns report, or check the "
            "sign of the amount column."
        )


def accounting(counts: pl.DataFrame, picks: pl.DataFrame, lines: dict, sources: list[Source]):
    """Return the DataQuality and, per reason, (masked text, column, value) of its first example."""
    rejected = {r: int(n) for r, n in zip(counts["reason"].to_list(), counts["n"].to_list())
                if r is not None}
    rejected = {r: rejected[r] for r in REASONS if r in rejected}
    used = int(counts.filter(pl.col("reason").is_null())["n"].sum())
    examples: dict[str, list[dict]] = {}
    details: dict[str, tuple[str, str | None, str | None]] = {}
    picks = picks.sort(["reason", "__pos"])
    for reason, pos in zip(picks["reason"].to_list(), picks["__pos"].to_list()):
        src = sources[pos >> FILE_SHIFT]
        row = pos - ((pos >> FILE_SHIFT) << FILE_SHIFT)
        text, values = lines.get(pos, ("", {}))
        examples.setdefault(reason, []).append({"file": src.label, "line": row + 2, "text": text})
        if reason not in details:
            role = REASON_ROLE.get(reason)
            column = src.roles.get(role) or (src.roles.get("unit_price") if role == "amount" else None)
            details[reason] = (text, column, values.get(column) if column else None)
    examples = {r: examples[r] for r in REASONS if r in examples}
    return DataQuality(used + sum(rejected.values()), used, rejected, examples), details
