"""Thin Click wiring over punchcard's importable core; nothing here computes.

Heavy modules are imported inside the commands so `punchcard --help` is instant.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from punchcard import __version__
from punchcard.errors import Interrupted, PunchcardError, interrupted, os_error
from punchcard.runtime import DEFAULT_SEED

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def write_file(path: Path, text: str) -> None:
    """Write a text file; a refusal (full disk, no permission) is a message naming the path."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise os_error(exc) from None


class PunchcardGroup(click.Group):
    """The command group: an interrupt becomes exit 130 and an operating-system error a message
    naming the path, whether run from the console script or from Click's test runner."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None
        except OSError as exc:
            if interrupted(exc):
                raise Interrupted() from None
            raise os_error(exc) from None
        except Exception as exc:
            if interrupted(exc):
                raise Interrupted() from None
            raise


@click.group(cls=PunchcardGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="punchcard")
def cli() -> None:
    """Compare loyalty-programme schemes on your own sales history.

    \b
    Example:
        punchcard build                 # programs/*.yaml -> site/
        punchcard validate programs/kaffebar-oslo.yaml
        punchcard init sales.csv -o programs/my-shop.yaml

    Exit codes: 0 success, 1 invalid input or failed build, 2 usage error, 130 interrupted.
    """


def _programs(paths: tuple[Path, ...]) -> list[Path]:
    from punchcard.build import default_programs

    if paths:
        return list(paths)
    found = default_programs()
    if not found:
        raise PunchcardError(
            "No program files given and no programs/*.yaml here. Pass PROGRAM.yaml, or "
            "write a starter with `punchcard init SALES.csv`."
        )
    return found


@cli.command(context_settings=CONTEXT, short_help="Build the decision site from program files.")
@click.argument("programs", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("site"), show_default=True, envvar="PUNCHCARD_OUT",
              help="Folder the site is written to (replaced atomically). [env: PUNCHCARD_OUT]")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              envvar="PUNCHCARD_SEED", help="Seed for every random draw. [env: PUNCHCARD_SEED]")
@click.option("--draws", type=click.IntRange(1, 100000), default=None, envvar="PUNCHCARD_DRAWS",
              help="Monte Carlo draws (default: the program's forecast.draws). "
                   "[env: PUNCHCARD_DRAWS]")
@click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, envvar="PUNCHCARD_TEMPLATES",
              help="Folder of templates overriding the packaged ones by name. "
                   "[env: PUNCHCARD_TEMPLATES]")
@click.option("--self-contained", is_flag=True,
              help="Also write one HTML file per program with everything inlined (for e-mail).")
@click.option("--force", is_flag=True, envvar="PUNCHCARD_FORCE",
              help="Rebuild programs whose inputs are unchanged since the last build. "
                   "[env: PUNCHCARD_FORCE]")
@click.option("--check", is_flag=True, envvar="PUNCHCARD_CHECK",
              help="Write nothing; exit 1 when the site is stale against its inputs. "
                   "[env: PUNCHCARD_CHECK]")
@click.option("--strict", is_flag=True, envvar="PUNCHCARD_STRICT",
              help="Fail (exit 1, nothing written) on any warning: rejected rows (beyond what "
                   "the program's `sales.accept` allows), no forecast, a model that did not "
                   "converge. [env: PUNCHCARD_STRICT]")
@click.option("--json", "as_json", is_flag=True, envvar="PUNCHCARD_JSON",
              help="Print a machine-readable summary of the build to standard output. "
                   "[env: PUNCHCARD_JSON]")
@click.option("-q", "--quiet", is_flag=True, envvar="PUNCHCARD_QUIET",
              help="Print nothing but errors (and --json). [env: PUNCHCARD_QUIET]")
@click.option("-v", "--verbose", is_flag=True, help="Print each stage with its timing.")
@click.option("--cache", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="PUNCHCARD_CACHE",
              help="Folder keeping the parsed columns of each file of a multi-file sales input, "
                   "so that a rebuild parses only new or changed files (default: "
                   ".punchcard-cache/ beside each program file; safe to delete). "
                   "[env: PUNCHCARD_CACHE]")
@click.option("--no-cache", is_flag=True, envvar="PUNCHCARD_NO_CACHE",
              help="Parse every sales file again and keep no parse cache.")
@click.option("--threads", type=click.IntRange(1, 1024), default=None, envvar="PUNCHCARD_THREADS",
              help="Threads for the compiled kernels, the schemes replayed side by side and the "
                   "backtest beside the forecast (default: every CPU this process may use; 1 runs "
                   "the stages one after the other). The figures do not depend on it. "
                   "[env: PUNCHCARD_THREADS]")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              envvar=["PUNCHCARD_SCHEDULER", "DASK_SCHEDULER_ADDRESS"],
              help="Run the heavy stages on the Dask cluster of this scheduler, e.g. "
                   "tcp://10.0.0.5:8786 (needs punchcard[dask]; docs/scale.md). The site is "
                   "the same as a local build's. [env: PUNCHCARD_SCHEDULER, DASK_SCHEDULER_ADDRESS]")
def build(programs: tuple[Path, ...], out: Path, seed: int, draws: int | None,
          templates: Path | None, self_contained: bool, force: bool, check: bool,
          strict: bool, as_json: bool, quiet: bool, verbose: bool, cache: Path | None,
          no_cache: bool, threads: int | None, scheduler: str | None) -> None:
    """Build the decision site for program files (default: programs/*.yaml) into --out.

    \b
    Examples:
        punchcard build
        punchcard build programs/kaffebar-oslo.yaml --out public
        punchcard build --check          # CI: is the committed site up to date?
        PUNCHCARD_STRICT=1 punchcard build --json > build.json
        punchcard build --scheduler tcp://scheduler:8786   # on a Dask cluster
    """
    from punchcard.build import BuildOptions, build as run_build, stale_programs, summary
    from punchcard.progress import Reporter

    if threads is not None:
        from punchcard.runtime import set_threads

        set_threads(threads)

    options = BuildOptions(out=out, seed=seed, draws=draws, templates=templates,
                           self_contained=self_contained, force=force, strict=strict,
                           cache=cache, use_cache=not no_cache, scheduler=scheduler or None)
    paths = _programs(programs)
    if check:
        reasons = stale_programs(paths, options)
        if as_json:
            click.echo(json.dumps({"ok": not reasons, "stale": reasons}, indent=2))
        if reasons:
            raise PunchcardError(f"{out}/ is stale:\n  " + "\n  ".join(reasons)
                                 + "\nRun `punchcard build` and commit the result.")
        if not quiet and not as_json:
            click.echo(f"{out}/ is up to date with {len(paths)} program(s).", err=True)
        return
    reporter = Reporter(quiet=quiet or as_json, verbose=verbose)
    builds = run_build(paths, options, reporter)
    if as_json:
        click.echo(json.dumps(summary(builds, out), indent=2, ensure_ascii=False))
        return
    for b in builds:
        for w in b.warnings:
            click.echo(f"warning: {b.path}: {w}", err=True)
    if not quiet:
        click.echo(f"Built {len(builds)} program(s) into {out}/ — open {out}/index.html",
                   err=True)


@cli.command(context_settings=CONTEXT, short_help="Search a scheme's parameters: the efficient versions.")
@click.argument("program", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--scheme", "schemes", multiple=True, metavar="ID",
              help="Tune only this scheme (repeatable; default: every scheme with a reward).")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path("site"), show_default=True, envvar="PUNCHCARD_OUT",
              help="Site whose tune pages are refreshed when it holds this program built from the same "
                   "inputs. [env: PUNCHCARD_OUT]")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              envvar="PUNCHCARD_SEED", help="Seed for every random draw. [env: PUNCHCARD_SEED]")
@click.option("--draws", type=click.IntRange(1, 100000), default=None, envvar="PUNCHCARD_DRAWS",
              help="Monte Carlo draws (default: the program's forecast.draws). [env: PUNCHCARD_DRAWS]")
@click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, envvar="PUNCHCARD_TEMPLATES",
              help="Folder of templates overriding the packaged ones by name. [env: PUNCHCARD_TEMPLATES]")
@click.option("-q", "--quiet", is_flag=True, envvar="PUNCHCARD_QUIET", help="Print nothing but errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print each stage with its timing.")
def tune(program: Path, schemes: tuple[str, ...], out: Path, seed: int, draws: int | None,
         templates: Path | None, quiet: bool, verbose: bool) -> None:
    """Search the parameters of a program's schemes: the efficient versions, and the best one.

    \b
    Examples:
        punchcard tune programs/kaffebar-oslo.yaml
        punchcard tune programs/kaffebar-oslo.yaml --scheme tiende-gratis

    Each scheme's `tune:` block (or its kind's defaults, docs/forecast.md §7) gives the values
    searched. The results go to PROGRAM.tune.json beside the program file, where
    `punchcard build` finds them, and to the tune pages of the site in --out.
    """
    from punchcard.build import BuildOptions, tune as run_tune
    from punchcard.progress import Reporter

    reporter = Reporter(quiet=quiet, verbose=verbose)
    options = BuildOptions(out=out, seed=seed, draws=draws, templates=templates)
    path, published = run_tune(program, list(schemes), options, reporter)
    if published:
        reporter.info(f"Tuned {program}: {path} and {out}/ updated")
    else:
        reporter.info(f"Tuned {program}: wrote {path}; run `punchcard build` to put it on the site")


@cli.command(context_settings=CONTEXT, short_help="Check program files and read their sales data.")
@click.argument("programs", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--no-data", is_flag=True, help="Check the program files only, not their sales data.")
def validate(programs: tuple[Path, ...], no_data: bool) -> None:
    """Check program files and read their sales files (as a build would) without writing anything.

    \b
    Examples:
        punchcard validate programs/kaffebar-oslo.yaml
        punchcard validate            # every programs/*.yaml
    """
    from punchcard import ingest
    from punchcard.program import load_program

    paths = _programs(programs)
    for path in paths:
        prog = load_program(path)
        summary = f"{len(prog.schemes)} scheme(s)"
        if not no_data:
            ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
            q = ledger.quality
            rejected = sum(q.rejected.values())
            summary += (f", {q.rows_used:,} of {q.rows_read:,} rows used"
                        f" ({rejected:,} rejected), {ledger.n_customers:,} customers")
        click.echo(f"{path}: ok — {summary}")


@cli.command(context_settings=CONTEXT, short_help="Print the JSON Schema of program files.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the schema to a file instead of standard output.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of program files, for editors' YAML autocompletion.

    \b
    Examples:
        punchcard schema > schema.json
        # then, first line of a program file:
        # yaml-language-server: $schema=../schema.json
    """
    from punchcard.program import program_json_schema

    text = json.dumps(program_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        write_file(out, text)


@cli.command(context_settings=CONTEXT, short_help="Write a starter program file from a sales export.")
@click.argument("sales", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Program file to write (default: programs/<sales file stem>.yaml).")
@click.option("--force", is_flag=True, help="Overwrite an existing program file.")
@click.option("--date-format", default=None, metavar="FORMAT",
              help="Date format when day/month order is ambiguous, e.g. %d/%m/%Y.")
def init(sales: Path, out: Path | None, force: bool, date_format: str | None) -> None:
    """Sniff a sales export and write a starter program file.

    \b
    Examples:
        punchcard init exports/sales-2026.csv
        punchcard init kassa.csv -o programs/kaffebar.yaml
        punchcard init sales.csv --date-format %d/%m/%Y   # when 01/02 could be either

    It prints each column it guessed (customer, date, amount, …) with its evidence and a
    confidence, counts the rows, and marks every guessed value and default assumption in
    the file with `# TODO: check`. It then reads the whole export with the new file, as a
    build would, and reports the rows used and rejected. It also writes schema.json (the
    JSON Schema editors use to autocomplete the file) beside the program, unless one is
    there. Exit 1 when the customer, date or amount column was not found (the file is
    written with the gap marked) or the export cannot be read with it.
    """
    from punchcard.program import load_program, program_json_schema
    from punchcard.starter import report, write_starter

    if out is None:
        stem = sales.name.split(".")[0]
        out = Path("programs") / f"{stem}.yaml"
    started = write_starter(sales, out, force=force, date_format=date_format)
    for line in report(started):
        click.echo(line)
    schema_file = out.parent / "schema.json"
    if not schema_file.exists():  # for editors' autocompletion (the file's first line)
        write_file(schema_file, json.dumps(program_json_schema(), indent=2, ensure_ascii=False,
                                           sort_keys=True) + "\n")
        click.echo(f"Wrote {schema_file} (the JSON Schema of program files, which the "
                   "program's first line points editors to; delete it if you do not need it).")
    missing = started.guessed.missing()
    if missing:
        raise PunchcardError(
            f"{sales}: no {' and no '.join(missing)} column found; wrote {out} with what was "
            f"found and the gap marked `# TODO: not found`. Fix: name the column under "
            f"`sales:` → `columns:` in {out} (columns: {', '.join(started.sample.header)}).")
    from punchcard import ingest

    prog = load_program(out)
    try:
        ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
    except PunchcardError as exc:
        raise PunchcardError(f"Wrote {out}, but reading the export with it failed: "
                             f"{exc.message}") from None
    q = ledger.quality
    rejected = ", ".join(f"{k} {v:,}" for k, v in q.rejected.items()) or "none"
    click.echo(f"Read the whole export with it: {q.rows_used:,} of {q.rows_read:,} rows used "
               f"(rejected: {rejected}), {len(ledger.tx):,} visits of {ledger.n_customers:,} "
               "customers.")
    click.echo(f"Wrote {out} ({len(prog.schemes)} scheme active; the other kinds are commented "
               f"out). Check every `# TODO: check`, then run `punchcard build {out}`.")


@cli.command("sample-data", context_settings=CONTEXT,
             short_help="Write a synthetic sales export (seeded, any size).")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="File to write (.csv or .csv.gz).")
@click.option("--customers", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--days", type=click.IntRange(1), default=365, show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2025-01-01",
              show_default=True, help="First day of the export.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--dialect", default="iso", show_default=True,
              help="Export dialect: iso, nb, sv, pl, pt-BR, en-US.")
@click.option("--profile", default="cafe", show_default=True,
              help="Kind of business: cafe, carwash, shoes, webshop, bookshop.")
@click.option("--anonymous-share", type=click.FloatRange(0, 1, max_open=True), default=0.15,
              show_default=True)
@click.option("--returns-share", type=click.FloatRange(0, 1, max_open=True), default=0.01,
              show_default=True)
@click.option("--birthdays", is_flag=True, help="Add a birthday column.")
@click.option("--order-lines", is_flag=True, help="Write line items sharing an order number.")
def sample_data(out: Path, customers: int, days: int, start, seed: int, dialect: str,
                profile: str, anonymous_share: float, returns_share: float, birthdays: bool,
                order_lines: bool) -> None:
    """Write a realistic synthetic sales export (seeded, any size, any dialect).

    \b
    Examples:
        punchcard sample-data -o sales.csv --customers 2000
        punchcard sample-data -o kaffe.csv.gz --dialect nb --profile cafe --birthdays
        punchcard sample-data -o big.csv --customers 3000000   # about 20 M rows
    """
    from punchcard import sample

    if dialect not in sample.DIALECTS:
        raise click.BadParameter(f"{dialect!r}; choose one of {', '.join(sample.DIALECTS)}",
                                 param_hint="--dialect")
    if profile not in sample.PROFILES:
        raise click.BadParameter(f"{profile!r}; choose one of {', '.join(sample.PROFILES)}",
                                 param_hint="--profile")
    from punchcard.progress import Reporter

    summary = sample.generate(
        out, customers=customers, days=days, start=start.date(), seed=seed, dialect=dialect,
        profile=profile, anonymous_share=anonymous_share, return_share=returns_share,
        birthdays=birthdays, order_lines=order_lines,
        progress=Reporter().counter("customers", customers),
    )
    click.echo(f"Wrote {summary.rows:,} rows for {summary.customers:,} customers to {out}",
               err=True)


@cli.command(context_settings=CONTEXT, short_help="Preview a built site on localhost.")
@click.argument("site", type=click.Path(path_type=Path, file_okay=False, exists=True),
                default=Path("site"))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True)
def serve(site: Path, port: int, bind: str) -> None:
    """Preview a built site on localhost (Ctrl-C stops it).

    \b
    Examples:
        punchcard serve
        punchcard serve public --port 8080
    """
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    try:
        httpd = http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as exc:
        raise PunchcardError(
            f"cannot serve on {bind}:{port} ({exc.strerror or exc}). Fix: choose another port "
            f"with --port (e.g. --port {port + 1 if 0 < port < 65535 else 8080}) or another --bind, "
            "or stop the program using this one."
        ) from None
    with httpd:
        host, real_port = httpd.server_address[:2]
        click.echo(f"Serving {site}/ at http://{host}:{real_port}/ — Ctrl-C to stop", err=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


def main() -> None:
    """Run the CLI; an unexpected exception is reported as a bug, with no traceback unless asked.

    SIGTERM (a CI job cancelled, a container stopped) is handled as Ctrl-C: the build's
    hidden folder is removed, the previous site stays, and the exit code is 130.
    """
    import signal

    def terminated(signum, frame):  # noqa: ANN001, ARG001 - the signal module's signature
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, terminated)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass
    try:
        cli.main(prog_name="punchcard", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - last line of defence for users
        if interrupted(exc):
            click.echo("Aborted.", err=True)
            sys.exit(130)
        if os.environ.get("PUNCHCARD_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"Error: internal error ({type(exc).__name__}: {exc}). This is a bug in punchcard; "
            "please report it with the command you ran (set PUNCHCARD_DEBUG=1 for details).",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


def run() -> None:
    """The ``punchcard`` command: ``main()``, then an exit without the interpreter's teardown.

    After the last line of a build, Python would free every module and object one by one
    (numba's compiled code, SciPy, Plotly, Babel, the arrays still referenced): 0.2–0.7 s
    on one core, measured on the shipped-size and 20M builds (bench/PROFILE.md), that
    nothing needs. The exit handlers still run (``atexit``: coverage, a Dask client's
    shutdown), the standard streams are flushed, and the exit code is ``main()``'s. While
    a thread of ours that is not a daemon still runs, the exit is the normal one, which
    waits for it. ``main()`` itself exits the normal way, for callers that catch its
    ``SystemExit`` (tests).
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):  # None or a message, as sys.exit treats them
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    _leave(code)


def _leave(code: int) -> None:
    """Exit with ``code`` after the exit handlers and a flush, skipping the interpreter's teardown."""
    import atexit
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)  # let the interpreter wait for it, as it always does
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`punchcard … | head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
