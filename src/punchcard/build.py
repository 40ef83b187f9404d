"""The pipeline: program → ledger → backtest → forecast → results → render → write."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from punchcard.errors import PunchcardError

DEFAULT_SEED = 20270101


@dataclass(frozen=True)
class BuildOptions:
    """Everything `punchcard build` can be told, with the defaults a CI job gets."""

    out: Path = Path("site")
    seed: int = DEFAULT_SEED
    draws: int | None = None
    templates: Path | None = None
    self_contained: bool = False


@dataclass
class ProgramBuild:
    """One program's results and what the build noticed on the way."""

    path: Path
    results: dict
    warnings: list[str] = field(default_factory=list)


def command_line(path: Path, options: BuildOptions) -> str:
    """Return the command that reproduces a program's build, with paths relative to the cwd."""
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = path.name
    parts = ["punchcard", "build", shown]
    if options.seed != DEFAULT_SEED:
        parts += ["--seed", str(options.seed)]
    if options.draws is not None:
        parts += ["--draws", str(options.draws)]
    return shlex.join(parts)


def analyse(path: Path, options: BuildOptions) -> ProgramBuild:
    """Run every stage up to the results dict for one program file."""
    from punchcard import backtest, describe, forecast, ingest, program, results

    prog = program.load_program(path)
    ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
    data = describe.data_summary(ledger)
    customers = describe.describe(ledger)
    backtests = backtest.run(prog, ledger)
    fc = forecast.run(prog, ledger, seed=options.seed, draws=options.draws)
    warnings = build_warnings(data, fc)
    res = results.build_results(
        prog, ledger, backtests, fc,
        data=data, customers=customers, seed=options.seed,
        command=command_line(path, options), warnings=warnings,
    )
    return ProgramBuild(path=path, results=res, warnings=warnings)


def build_warnings(data: dict, fc) -> list[str]:
    """Return the warnings a build raises: rejected rows, a skipped or unconverged forecast."""
    warnings = []
    rejected = data.get("rows_rejected", {})
    total = sum(rejected.values())
    if total:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
        warnings.append(f"{total} of {data['rows_read']} rows were rejected ({reasons}).")
    if fc is None or fc.skipped_reason:
        warnings.append(f"No forecast: {fc.skipped_reason if fc else 'not run'}")
    elif fc.model and not fc.model.get("converged", True):
        warnings.append("The customer model did not converge; treat the forecast with care.")
    return warnings


def build(paths: list[Path], options: BuildOptions) -> list[ProgramBuild]:
    """Build the given program files into one site at ``options.out``; return what was built."""
    from punchcard import render, write

    if not paths:
        raise PunchcardError(
            "No program files to build. Pass PROGRAM.yaml files, or run from a folder "
            "with programs/*.yaml (`punchcard init SALES.csv` writes a starter)."
        )
    write.check_replaceable(options.out)
    builds = [analyse(p, options) for p in paths]
    ids = [b.results["program"]["id"] for b in builds]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PunchcardError(
            f"Two program files share the id {dupes[0]!r}; each program needs its own site "
            "folder. Give one of them a different `id:`."
        )

    def fill(tmp: Path) -> None:
        render.render_site(
            [b.results for b in builds], tmp,
            templates=options.templates, self_contained=options.self_contained,
        )

    write.atomic_site(options.out, fill)
    return builds


def default_programs(folder: Path = Path("programs")) -> list[Path]:
    """Return the program files `punchcard build` builds when given none."""
    from punchcard.program import find_programs

    if not folder.is_dir():
        return []
    return find_programs(folder)


def source_date_epoch() -> int | None:
    """Return SOURCE_DATE_EPOCH when set (the only time a timestamp may enter the output)."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return int(value) if value and value.isdigit() else None
