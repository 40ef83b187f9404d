"""The pipeline: program → ledger → backtest → forecast → results → render → write."""

from __future__ import annotations

import contextlib
import json
import shlex
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from punchcard.errors import PunchcardError
from punchcard.progress import QUIET, Reporter
from punchcard.runtime import DEFAULT_SEED, workers



@dataclass(frozen=True)
class BuildOptions:
    """Everything `punchcard build` can be told, with the defaults a CI job gets."""

    out: Path = Path("site")
    seed: int = DEFAULT_SEED
    draws: int | None = None
    templates: Path | None = None
    self_contained: bool = False
    force: bool = False
    strict: bool = False
    # parse cache of multi-file sales inputs: None = `.punchcard-cache/` beside each program
    cache: Path | None = None
    use_cache: bool = True
    scheduler: str | None = None  # a Dask scheduler's address: the heavy stages run on its cluster


@dataclass
class ProgramBuild:
    """One program's results, whether they were reused, and what the build noticed."""

    path: Path
    results: dict
    reused: bool = False
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


def locale_warning(locale: str, templates: Path | None = None):
    """Return the warning for a locale whose language has no site text (a Message), or None.

    Such a site is not refused: its words fall back to English and its numbers and dates
    follow the locale (docs/translating.md), unless a ``locales/<lang>.po`` in the
    ``--templates`` folder translates it.
    """
    from punchcard.messages import Message
    from punchcard.site import available_languages, has_site_text

    if has_site_text(locale, templates):
        return None
    shipped = "en, " + ", ".join(available_languages())
    return Message(
        "The site has no text in the language of locale %(locale)s: its words are English, its "
        "numbers and dates follow %(locale)s. Languages with site text: %(shipped)s.",
        {"locale": locale, "shipped": shipped},
        english=f"The site has no text in the language of locale {locale}: its words are English, "
                f"its numbers and dates follow {locale}. Languages with site text: {shipped}.")


def _import_later_stages() -> None:
    """Import the stages after reading (an import error surfaces in the main thread)."""
    try:
        from punchcard import forecast, results, schemes  # noqa: F401
        from punchcard.site import render  # noqa: F401
    except Exception:  # noqa: BLE001 - the main thread's own import reports it
        pass


def _hash_inputs(ledger) -> None:
    """Hash every input file once (remembered by ``runtime.sha256_file``); errors surface later."""
    for f in ledger.inputs:
        try:
            f.sha256  # noqa: B018 - computed for its cache
        except OSError:
            pass


def parse_cache(prog, options: BuildOptions):
    """Return the program's parse cache (``cache.py``), or None when turned off."""
    if not options.use_cache:
        return None
    from punchcard.ingest.cache import DEFAULT_FOLDER, cache_for

    return cache_for(options.cache or prog.path.parent / DEFAULT_FOLDER, prog.id, options.out)


def analyse(prog, options: BuildOptions, reporter: Reporter = QUIET, *,
            fingerprint: str | None = None, previous: dict | None = None, engine=None) -> dict:
    """Run every stage up to the results dict (results.json) for one loaded program.

    ``fingerprint`` is the program's build fingerprint when the caller already took it;
    otherwise it is taken at the end, from the hashes taken beside the stages.
    ``previous`` is the program's last results.json in the same site, for ``changes``.
    ``engine`` (a ``cluster.Engine``) runs the stages that grow with the rows on a Dask
    cluster instead of here; the results are the same.
    """
    if engine is not None:
        ledger, data, customers, backtests, fc = engine.analyse(prog, options, reporter)
    else:
        ledger, data, customers, backtests, fc = _analyse_here(prog, options, reporter)
    from punchcard import results

    doc = results.build_results(
        prog, ledger, backtests, fc,
        data=data, customers=customers, seed=options.seed,
        command=command_line(prog.path, options),
        fingerprint=fingerprint or _fingerprint(prog, options), previous=previous,
    )
    warning = locale_warning(prog.locale, options.templates)
    if warning is not None:  # the site's words are the site's business, not the results'
        from punchcard.messages import message_dict

        doc["warnings"].append(str(warning))
        doc["warnings_detail"].append(json.loads(json.dumps(message_dict(warning))))
    return doc


def _analyse_here(prog, options: BuildOptions, reporter: Reporter) -> tuple:
    """Return (ledger, data, customers, backtests, forecast) of one program, worked out in this process."""
    from punchcard import ingest

    # The later stages' imports (numba, scipy: about a second) load while Polars reads.
    later = threading.Thread(target=_import_later_stages, name="punchcard-import", daemon=True)
    later.start()
    with reporter.stage(f"{prog.id}: reading sales"):
        ledger = ingest.read_ledger(prog.sales, base=prog.path.parent, cache=parse_cache(prog, options))
    later.join()
    # The sales files' hashes (results.json inputs, the fingerprint) are taken beside the
    # single-threaded stages that follow; results ask for them, and wait, only at the end.
    hashing = threading.Thread(target=_hash_inputs, args=(ledger,), name="punchcard-hash", daemon=True)
    hashing.start()
    with reporter.stage(f"{prog.id}: describing, backtest and forecast"):
        data, customers, backtests, fc = _history_and_forecast(prog, ledger, options, reporter)
    hashing.join()
    return ledger, data, customers, backtests, fc


def _history_and_forecast(prog, ledger, options: BuildOptions, reporter: Reporter) -> tuple:
    """Return (data summary, customers, backtests, forecast): the history's stages beside the forecast.

    Describing the customers and the backtest read only the ledger, and so does the
    forecast; none keeps every core busy on its own (the forecast's fit is mostly one core,
    the backtest's replays spend much of their time in the kernel paging in fresh memory),
    so a build with more than one thread runs the first two, on one thread, beside the
    forecast's fit and main draws, and they finish sooner than one after the other
    (docs/architecture.md, bench/PROFILE.md). The forecast waits for them before it makes
    the break-even's draws, its largest arrays, so that the two stages' memory does not add
    up. Each stage is deterministic on its own, so the figures are the same as in
    sequence, which is what a build limited to one thread (``--threads 1``) does. The
    forecast's error wins over the others'. Only the forecast launches parallel compiled
    kernels (numba's default threading layer allows one thread at a time to do so):
    tests/test_build.py checks that the stages beside it have none.
    """
    from punchcard import forecast, results, schemes

    def history(progress=None, threads=None) -> tuple:
        with reporter.stage(f"{prog.id}: describing customers"):
            data = results.data_summary(ledger)
            customers = results.describe(ledger)
        with reporter.stage(f"{prog.id}: backtest of {len(prog.schemes)} schemes"):
            return data, customers, schemes.run_backtest(prog, ledger, progress=progress, threads=threads)

    def run_forecast(before_break_even=None):
        with reporter.stage(f"{prog.id}: forecast"):
            return forecast.run(prog, ledger, seed=options.seed, draws=options.draws,
                                progress=reporter.step, stage=reporter.stage,
                                before_break_even=before_break_even)

    if workers() <= 1:
        return *history(lambda kinds: reporter.iterate(kinds, f"{prog.id}: backtest",
                                                        length=len(kinds))), run_forecast()
    with ThreadPoolExecutor(1, thread_name_prefix="punchcard-history") as side:
        # one thread (no progress bar: the forecast's steps show): the forecast keeps the
        # other cores busy, and a second thread's tables would add to the forecast's memory
        running = side.submit(history, None, 1)
        try:
            fc = run_forecast(lambda: wait([running]))
        except BaseException:
            running.cancel()
            wait([running])
            raise
        return *running.result(), fc


def previous_results(out: Path) -> dict[str, dict]:
    """Return the results.json of each program in an existing punchcard site, by program id."""
    from punchcard.site import is_punchcard_site

    found: dict[str, dict] = {}
    if not out.is_dir() or not is_punchcard_site(out):
        return found
    for path in sorted(out.glob("*/results.json")):
        try:
            res = json.loads(path.read_text(encoding="utf-8"))
            found[res["program"]["id"]] = res
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable previous result only means "no previous build"
    return found


def _fingerprint(prog, options: BuildOptions) -> str:
    from punchcard.results import build_fingerprint

    return build_fingerprint(prog, seed=options.seed, draws=options.draws, templates=options.templates)


def _load(paths: list[Path], options: BuildOptions, *, fingerprints: bool = True) -> list[tuple]:
    """Return (path, program, fingerprint or None) per program file; ids must be distinct."""
    from punchcard.program import load_program

    loaded = []
    for path in paths:
        prog = load_program(path)
        loaded.append((path, prog, _fingerprint(prog, options) if fingerprints else None))
    ids = [prog.id for _, prog, _ in loaded]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PunchcardError(
            f"Two program files share the id {dupes[0]!r}; each program needs its own site "
            "folder. Give one of them a different `id:`."
        )
    return loaded


def stale_programs(paths: list[Path], options: BuildOptions) -> list[str]:
    """Return why the site at ``options.out`` is stale against its inputs (empty when current)."""
    loaded = _load(paths, options)
    previous = previous_results(options.out)
    reasons = []
    for path, prog, fp in loaded:
        prev = previous.get(prog.id)
        if prev is None:
            reasons.append(f"{path}: not built yet into {options.out}/")
        elif prev.get("reproducibility", {}).get("fingerprint") != fp:
            reasons.append(f"{path}: its program file, sales data, seed or punchcard version "
                           "changed since the last build")
    for extra in sorted(set(previous) - {prog.id for _, prog, _ in loaded}):
        reasons.append(f"{options.out}/{extra}/: built from a program that is no longer given")
    return reasons


def _analyse_all(loaded: list[tuple], options: BuildOptions, previous: dict[str, dict],
                 reporter: Reporter, engine) -> list[ProgramBuild]:
    """Return each program's build: its previous results when unchanged, else analysed afresh."""
    builds = []
    for path, prog, _ in loaded:
        prev = previous.get(prog.id)
        prev_fp = (prev or {}).get("reproducibility", {}).get("fingerprint")
        # The fingerprint hashes the sales files. Only a possible reuse needs it before the
        # build; otherwise it is taken afterwards, from the hashes the build took beside its stages.
        fp = _fingerprint(prog, options) if prev is not None and not options.force else None
        if fp is not None and prev_fp == fp:
            reporter.info(f"{path}: unchanged since the last build (use --force to rebuild)")
            builds.append(ProgramBuild(path, prev, reused=True,
                                       warnings=list(prev.get("warnings", []))))
            continue
        reporter.info(f"{path}: building")
        res = analyse(prog, options, reporter, fingerprint=fp, previous=prev, engine=engine)
        builds.append(ProgramBuild(path, res, warnings=list(res["warnings"])))
    return builds


def build(paths: list[Path], options: BuildOptions,
          reporter: Reporter = QUIET) -> list[ProgramBuild]:
    """Build the given program files into one site at ``options.out``; return what was built.

    An unchanged program (same fingerprint as in the existing site) reuses its previous
    results unless ``options.force``. A failed or strict-mode build writes nothing.
    """
    from punchcard import site

    if not paths:
        raise PunchcardError(
            "No program files to build. Pass PROGRAM.yaml files, or run from a folder "
            "with programs/*.yaml (`punchcard init SALES.csv` writes a starter)."
        )
    site.check_replaceable(options.out)
    loaded = _load(paths, options, fingerprints=False)  # every program checked before any work
    # Builds into one --out queue on its lock; the first thing under it is repairing what a
    # killed build may have left (docs/guarantees.md).
    with site.locked(options.out):
        site.recover(options.out)
        return _build_locked(loaded, options, reporter)


def _build_locked(loaded: list[tuple], options: BuildOptions, reporter: Reporter) -> list[ProgramBuild]:
    from punchcard import site

    previous = previous_results(options.out)
    with contextlib.ExitStack() as stack:
        engine = None
        if options.scheduler:
            from punchcard.cluster import Engine  # Dask is imported only here (the optional extra)

            engine = stack.enter_context(Engine(options.scheduler, reporter))
        builds = _analyse_all(loaded, options, previous, reporter, engine)

    if options.strict:
        problems = [f"{b.path}: {w}" for b in builds for w in b.warnings]
        if problems:
            raise PunchcardError(
                "--strict: the build raised warnings, so nothing was written:\n  "
                + "\n  ".join(problems)
                + "\nFix the inputs (or drop --strict to publish with the warnings shown)."
            )

    tunes = {}
    for b in builds:
        tune, why = current_tune(b.path, b.results["reproducibility"].get("fingerprint"))
        if tune is not None:
            tunes[b.results["program"]["id"]] = tune
        elif why:
            reporter.info(f"{b.path}: {why}")

    def fill(tmp: Path) -> None:
        with reporter.stage("rendering the site"):
            site.render_site([b.results for b in builds], tmp,
                               templates=options.templates,
                               self_contained=options.self_contained,
                               sources={b.results["program"]["id"]: b.path.resolve().parent
                                        for b in builds}, tunes=tunes)

    site.atomic_site(options.out, fill)
    return builds


def tune_path(path: Path) -> Path:
    """Return where `punchcard tune` keeps a program's results: beside the program file, ``<stem>.tune.json``."""
    return path.with_name(path.stem + ".tune.json")


def current_tune(path: Path, fingerprint: str | None) -> tuple[dict | None, str | None]:
    """Return a program's tune results when they were made from the same inputs as the build, else why not.

    (None, None) when there are none; (None, reason) when they are unreadable or stale.
    """
    tp = tune_path(path)
    if not tp.is_file():
        return None, None
    try:
        tune = json.loads(tp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{tp.name} is unreadable ({exc}); run `punchcard tune {path}` again"
    if not isinstance(tune, dict) or tune.get("fingerprint") != fingerprint:
        return None, (f"{tp.name} was made from other inputs (program, sales data, seed or draws) and is "
                      f"not shown; run `punchcard tune {path}` again")
    return tune, None


def tune(path: Path, scheme_ids: list[str], options: BuildOptions, reporter: Reporter = QUIET) -> tuple[Path, bool]:
    """Tune a program's schemes; write ``<stem>.tune.json`` beside it and, when ``options.out`` holds this
    program built from the same inputs, its tune pages. Return the tune file and whether the site was updated.
    """
    import tempfile

    from punchcard import ingest
    from punchcard.forecast import tune as tuning
    from punchcard.program import load_program
    from punchcard.results.document import plain
    from punchcard.site.render import Site

    prog = load_program(path)
    fp = _fingerprint(prog, options)
    with reporter.stage(f"{prog.id}: reading sales"):
        ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
    with reporter.stage(f"{prog.id}: tuning"):
        result = plain(tuning.run(prog, ledger, scheme_ids=scheme_ids, seed=options.seed, draws=options.draws,
                                  fingerprint=fp, progress=reporter.step,
                                  iterate=lambda items, label: reporter.iterate(items, label, length=len(items)),
                                  counter=reporter.counter))
    out_file = tune_path(path)
    text = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tmp_file = out_file.with_name(out_file.name + ".tmp")
    tmp_file.write_text(text, encoding="utf-8")
    tmp_file.replace(out_file)
    prev = previous_results(options.out).get(prog.id)
    if prev is None or prev.get("reproducibility", {}).get("fingerprint") != fp:
        return out_file, False
    result = json.loads(text)
    with tempfile.TemporaryDirectory(dir=options.out) as tmp:  # render beside the site, then move in
        Site(prev, options.templates, None, path.resolve().parent, result).write_pages(Path(tmp))
        src = Path(tmp) / prog.id
        for f in sorted(p for p in src.rglob("*") if p.is_file()):
            dest = options.out / prog.id / f.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            f.replace(dest)
    return out_file, True


def summary(builds: list[ProgramBuild], out: Path) -> dict:
    """Return the machine-readable build summary printed by ``build --json``."""
    programs = []
    for b in builds:
        r = b.results
        programs.append({
            "id": r["program"]["id"],
            "name": r["program"]["name"],
            "path": b.path.as_posix(),
            "page": f"{out.as_posix()}/{r['program']['id']}/index.html",
            "reused": b.reused,
            "revenue": r["data"]["revenue"],
            "customers": r["data"]["customers"],
            "schemes": [{
                "id": s["id"], "kind": s["kind"], "rank": s["rank"],
                "total_cost": s["backtest"]["total_cost"],
                "cost_share_of_revenue": s["backtest"]["cost_share_of_revenue"],
                "customers_rewarded": s["backtest"]["customers_rewarded"],
                "net_impact_mean": ((s.get("forecast") or {}).get("net_impact") or {}).get("mean"),
                "probability_positive": (s.get("forecast") or {}).get("probability_positive"),
            } for s in sorted(r["schemes"], key=lambda s: s["rank"])],
            "changes": r.get("changes"),
            "warnings": b.warnings,
        })
    return {"ok": True, "out": out.as_posix(), "programs": programs,
            "warnings": [w for p in programs for w in p["warnings"]]}


def default_programs(folder: Path = Path("programs")) -> list[Path]:
    """Return the program files `punchcard build` builds when given none."""
    from punchcard.program import find_programs

    if not folder.is_dir():
        return []
    return find_programs(folder)
