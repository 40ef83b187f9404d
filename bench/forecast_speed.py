"""Time ``forecast.run`` on the example programs and on a large synthetic ledger.

    .venv/bin/python bench/forecast_speed.py [--perf-csv /tmp/perf100k.csv] [--skip-examples]
        [--draws N] [--repeat 2] [--profile]

The large case is bench/perf.yaml (nine schemes, every kind) pointed at an export written
first, for example

    .venv/bin/punchcard sample-data --customers 100000 --days 731 --start 2024-01-01 \\
        --seed 1 --dialect iso --profile cafe --birthdays -o /tmp/perf100k.csv

Above ``forecast.max_customers`` (10,000) customers the forecast simulates a stratified
sample of 10,000, which is what a 3 M-customer export gets too, so this case times the
forecast of the benchmark build. Each program is run once to compile (numba caches), then
timed; ``prepare`` (model fits and checks) is timed apart from the simulation.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from punchcard.forecast import pipeline as forecast  # noqa: E402
from punchcard.ingest.read import read_ledger  # noqa: E402
from punchcard.program import load_program  # noqa: E402


def _time(program, ledger, draws: int | None, repeat: int) -> tuple[float, float, float, int]:
    """Return (best forecast.run wall s, its CPU s, best prepare wall s, customers simulated).

    CPU time (this process) is printed too: on a shared machine it is the steadier figure.
    """
    best_run = best_cpu = best_prep = float("inf")
    n_sim = 0
    for _ in range(repeat):
        t = time.perf_counter()
        forecast.prepare(program, ledger, 20270101)
        best_prep = min(best_prep, time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        out = forecast.run(program, ledger, seed=20270101, draws=draws)
        best_run = min(best_run, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
        n_sim = int(out.run["customers_simulated"])
    return best_run, best_cpu, best_prep, n_sim


def _case(path: Path, draws: int | None, repeat: int, profile: bool) -> None:
    program = load_program(path)
    ledger = read_ledger(program.sales, base=program.path.parent)
    forecast.run(program, ledger, seed=1, draws=3)  # compile / load the numba caches
    run_s, cpu_s, prep_s, n_sim = _time(program, ledger, draws, repeat)
    print(f"{path.stem:22s} {ledger.n_customers:>9,d} customers {n_sim:>7,d} simulated "
          f"{len(program.schemes)} schemes  forecast.run {run_s:6.2f} s (CPU {cpu_s:6.2f} s; "
          f"prepare {prep_s:5.2f} s, simulation {run_s - prep_s:6.2f} s)", flush=True)
    if profile:
        from pyinstrument import Profiler

        pr = Profiler()
        pr.start()
        forecast.run(program, ledger, seed=20270101, draws=draws)
        pr.stop()
        print(pr.output_text(unicode=False, color=False, show_all=False)[:5000])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perf-csv", type=Path, help="export for bench/perf.yaml (skipped when absent)")
    ap.add_argument("--skip-examples", action="store_true")
    ap.add_argument("--draws", type=int, default=None, help="Monte Carlo draws (default: the program's)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument profile of each run")
    args = ap.parse_args()
    if not args.skip_examples:
        for path in sorted((ROOT / "programs").glob("*.yaml")):
            _case(path, args.draws, args.repeat, args.profile)
    if args.perf_csv is not None and args.perf_csv.exists():
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "data").mkdir()
            (Path(tmp) / "data" / "perf.csv").symlink_to(args.perf_csv.resolve())
            shutil.copy(ROOT / "bench" / "perf.yaml", Path(tmp) / "perf.yaml")
            _case(Path(tmp) / "perf.yaml", args.draws, args.repeat, args.profile)


if __name__ == "__main__":
    main()
