"""Run one pipeline stage of a program in isolation, timed from inside the process.

Usage: python bench/stages.py PROGRAM.yaml --stage ingest|backtest|forecast

`ingest` reads the ledger only; `backtest` reads it and replays every scheme;
`forecast` reads it and runs the forecast only. Prints one JSON line with the seconds
of each step and the process's peak RSS after it (MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("program", type=Path)
    ap.add_argument("--stage", choices=("ingest", "backtest", "forecast"), default="ingest")
    ap.add_argument("--seed", type=int, default=20270101)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from punchcard.ingest import read as ingest
    from punchcard.program import load_program

    prog = load_program(args.program)
    out: dict = {"import_s": time.perf_counter() - t0}
    t = time.perf_counter()
    ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
    out.update(ingest_s=time.perf_counter() - t, ingest_peak_mib=_rss_mib(),
               rows_read=ledger.quality.rows_read, rows_used=ledger.quality.rows_used,
               transactions=int(ledger.tx.height), customers=int(ledger.n_customers))
    if args.stage == "backtest":
        from punchcard.schemes import backtest

        t = time.perf_counter()
        res = backtest.run(prog, ledger)
        out.update(backtest_s=time.perf_counter() - t, backtest_peak_mib=_rss_mib(),
                   rewards_earned={k: v.summary["rewards_earned"] for k, v in res.items()})
    elif args.stage == "forecast":
        from punchcard.forecast import pipeline as forecast

        t = time.perf_counter()
        forecast.run(prog, ledger, seed=args.seed)
        out.update(forecast_s=time.perf_counter() - t, forecast_peak_mib=_rss_mib())
    out["total_s"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
