"""Time the scheme engine alone: every kind of bench/perf.yaml over synthetic transactions,
and ``backtest.run`` over the benchmark exports, all after JIT warm-up.

Usage:
    .venv/bin/python bench/engine_speed.py [--sizes 1M,17M] [--repeat 3]
        [--backtest bench/data/perf-1M.yaml ...] [--ledger-cache /tmp/punchcard-ledgers]

The synthetic transactions mimic the benchmark export (about 16 transactions per customer
over a 731-day window, 2 % returns). Every figure is the minimum of ``--repeat`` runs, so a
machine busy with other work inflates it least. ``--backtest`` programs are ingested once
(not timed); with ``--ledger-cache`` the ledger is pickled there the first time and read
back later, so a large export is only ingested once.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SIZES = {"1M": 1_000_000, "17M": 17_000_000}
TX_PER_CUSTOMER = 16
DAYS = 731
DAY0 = 19723  # 2024-01-01


def synthetic(n_tx: int, seed: int = 1):
    """Return (TxArrays, ReplayContext) for ``n_tx`` synthetic transactions sorted by (cust, day)."""
    from punchcard.ingest.ledger import TxArrays
    from punchcard.schemes import ReplayContext

    rng = np.random.default_rng(seed)
    n_cust = max(1, n_tx // TX_PER_CUSTOMER)
    cust = rng.integers(0, n_cust, n_tx).astype(np.int32)
    day = (DAY0 + rng.integers(0, DAYS, n_tx)).astype(np.int32)
    amount = np.round(rng.gamma(2.0, 4.0, n_tx) + 1.0, 2)
    amount[rng.random(n_tx) < 0.02] *= -1.0
    items = rng.integers(1, 5, n_tx).astype(np.float64)
    order = np.lexsort((amount, day, cust))
    tx = TxArrays(cust=np.ascontiguousarray(cust[order]), day=np.ascontiguousarray(day[order]),
                  amount=np.ascontiguousarray(amount[order]),
                  items=np.ascontiguousarray(items[order]), n_customers=n_cust)
    counts = np.bincount(tx.cust, minlength=n_cust)
    member = counts > 0
    join = np.full(n_cust, DAY0 + DAYS, dtype=np.int32)
    first = np.searchsorted(tx.cust, np.arange(n_cust))
    join[member] = tx.day[first[member]]
    bd = np.where(rng.random(n_cust) < 0.5, -1, rng.integers(1, 367, n_cust)).astype(np.int16)
    ctx = ReplayContext(start_day=DAY0, end_day=DAY0 + DAYS - 1, gross_margin=0.65,
                        redemption_rate=0.85, member=member, join_day=join, birthday_doy=bd,
                        cust_hash=rng.integers(0, 2**63, n_cust).astype(np.uint64),
                        data_start_day=DAY0)
    return tx, ctx


CLOCK = time.perf_counter


def best_of(fn, repeat: int) -> float:
    """Return the fastest of ``repeat`` timings of ``fn()`` (wall clock, or CPU with --cpu)."""
    best = float("inf")
    for _ in range(repeat):
        t = CLOCK()
        fn()
        best = min(best, CLOCK() - t)
    return best


def time_kinds(schemes, sizes: list[str], repeat: int) -> dict:
    """Return {size: {scheme id: seconds}} for every scheme over synthetic transactions."""
    from punchcard.schemes import replay

    small, small_ctx = synthetic(20_000)
    for s in schemes:  # JIT warm-up (or cache load)
        replay(s, small, small_ctx)
    out: dict[str, dict[str, float]] = {}
    for size in sizes:
        tx, ctx = synthetic(SIZES[size])
        row = {}
        for s in schemes:
            row[s.id] = best_of(lambda: replay(s, tx, ctx), repeat)
            print(f"  {size:>4} {s.id:<18} {s.kind:<16} {row[s.id]:8.3f} s "
                  f"({row[s.id] / len(tx.day) * 1e9:6.1f} ns/tx)", flush=True)
        row["all"] = sum(row.values())
        print(f"  {size:>4} {'all':<35} {row['all']:8.3f} s", flush=True)
        out[size] = row
        del tx, ctx
    return out


def load_ledger(program_path: Path, cache: Path | None):
    """Return (program, ledger), reading a pickled ledger from ``cache`` when there is one."""
    from punchcard.ingest.read import read_ledger
    from punchcard.program import load_program

    prog = load_program(program_path)
    pkl = cache / (program_path.stem + ".ledger.pkl") if cache else None
    if pkl is not None and pkl.exists():
        with pkl.open("rb") as f:
            return prog, pickle.load(f)
    t = time.perf_counter()
    ledger = read_ledger(prog.sales, base=prog.path.parent)
    print(f"  ingest {program_path.name}: {time.perf_counter() - t:.1f} s (not counted)", flush=True)
    if pkl is not None:
        pkl.parent.mkdir(parents=True, exist_ok=True)
        with pkl.open("wb") as f:
            pickle.dump(ledger, f, protocol=5)
    return prog, ledger


def time_backtest(programs: list[Path], repeat: int, cache: Path | None) -> dict:
    """Return {program: seconds} of ``backtest.run`` (after a warm-up run)."""
    from punchcard.schemes import backtest

    out = {}
    for path in programs:
        prog, ledger = load_ledger(path, cache)
        backtest.run(prog, ledger)  # warm-up
        out[path.name] = best_of(lambda: backtest.run(prog, ledger), repeat)
        print(f"  backtest.run {path.name} ({ledger.tx.height:,} tx, {len(prog.schemes)} schemes): "
              f"{out[path.name]:.3f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,17M", help="synthetic sizes (1M, 17M); '' for none")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backtest", type=Path, nargs="*",
                    default=[ROOT / "bench" / "data" / "perf-1M.yaml"])
    ap.add_argument("--ledger-cache", type=Path, default=None)
    ap.add_argument("--cpu", action="store_true",
                    help="time this process's CPU time, not wall clock (steadier on a busy machine)")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter

    from punchcard.program import load_program

    # the schemes of bench/perf.yaml (its copy next to the data, whose sales file exists)
    schemes = load_program(ROOT / "bench" / "data" / "perf-1M.yaml").schemes
    sizes = [s for s in args.sizes.split(",") if s]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{'CPU' if args.cpu else 'wall-clock'} seconds, best of {args.repeat}", flush=True)
    time_kinds(schemes, sizes, args.repeat)
    time_backtest([p for p in args.backtest if p.exists()], args.repeat, args.ledger_cache)


if __name__ == "__main__":
    main()
