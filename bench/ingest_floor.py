"""Ingest against the floor, in one process: `read_ledger` and `floor.floor` alternately.

Usage: python bench/ingest_floor.py PROGRAM.yaml [--reps 3] [--describe]

Both read the same CSV (the program's sales file) in turns, so a busy machine slows both
alike; prints each run's seconds, then the best of each and their ratio (the issue's
target: read_ledger within 2× of the floor). Reading does not hash the file (a build
hashes it beside later stages); the hash is taken once first all the same, so that the
page cache holds the file for both. With ``--describe`` it also times
``describe.data_summary`` + ``describe.describe`` on the ledger.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floor import floor  # noqa: E402

from punchcard.results import describe  # noqa: E402

from punchcard.ingest import read as ingest
from punchcard.runtime import sha256_file  # noqa: E402
from punchcard.program import load_program  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("program", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--describe", action="store_true")
    args = ap.parse_args()
    prog = load_program(args.program)
    csv = str(prog.sales.paths[0])
    sha256_file(prog.sales.paths[0])  # as in a build, whose fingerprint hashed the file already
    ingest_s, floor_s, describe_s = [], [], []
    for rep in range(args.reps):
        t = time.perf_counter()
        ledger = ingest.read_ledger(prog.sales, base=prog.path.parent)
        ingest_s.append(time.perf_counter() - t)
        if args.describe:
            t = time.perf_counter()
            describe.data_summary(ledger)
            describe.describe(ledger)
            describe_s.append(time.perf_counter() - t)
        del ledger
        gc.collect()
        t = time.perf_counter()
        out = floor(csv)
        floor_s.append(time.perf_counter() - t)
        del out
        gc.collect()
        print(f"rep {rep + 1}: read_ledger {ingest_s[-1]:.2f} s, floor {floor_s[-1]:.2f} s"
              + (f", describe {describe_s[-1]:.2f} s" if describe_s else ""), flush=True)
    best_i, best_f = min(ingest_s), min(floor_s)
    print(f"best: read_ledger {best_i:.2f} s, floor {best_f:.2f} s, ratio {best_i / best_f:.2f}×"
          + (f", describe {min(describe_s):.2f} s" if describe_s else ""))


if __name__ == "__main__":
    main()
