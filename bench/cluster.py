"""punchcard on a Dask cluster against the local engine: same export, same machine, one run.

    .venv/bin/python bench/cluster.py --rows 5000000 [--workers 2] [--memory-limit 6GB] [--out bench/RESULTS.md]
                                      [--data bench/data]

Writes the export with `punchcard sample-data` (the generator parameters of bench/run.py,
16.41 rows per customer) into <data>/cluster-<rows>.csv (once: an existing export is
reused), points bench/perf.yaml at it, then measures, each as a subprocess of this one:

- local:   `punchcard build <program> --force -v` (wall time, peak RSS from os.wait4);
- cluster: the same with `--scheduler` on a `distributed.LocalCluster` of ``--workers``
           worker processes (one thread each, ``--memory-limit`` each), started here;
           the client's peak RSS from os.wait4, each worker's from its own getrusage;

and checks that the two sites are the same bytes. The results replace the section
between the cluster markers of bench/RESULTS.md (bench/run.py keeps that section).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ROWS_PER_CUSTOMER = 16.41  # bench/RESULTS.md: the generator's calibration
START, END = "<!-- cluster:start -->", "<!-- cluster:end -->"
# A LocalCluster sets these in the environment of the process that starts it (for its
# workers); the client's subprocess gets the environment a user's shell would give it.
DASK_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")


def run(cmd: list[str], env: dict | None = None) -> dict:
    """Return wall seconds, peak RSS (MiB, from os.wait4), return code and stderr of a subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": time.perf_counter() - start, "rss": usage.ru_maxrss / 1024, "rc": proc.returncode,
            "err": err}


def _peak() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stages(err: str) -> str:
    """Return the stage timings a -v build prints, joined."""
    found = re.findall(r"^\s+(.+?): ([0-9.]+) s$", err, flags=re.M)
    return "; ".join(f"{name} {sec} s" for name, sec in found)


def same_site(a: Path, b: Path) -> bool:
    """Return whether two folders hold the same files with the same bytes."""
    left = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    right = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return left == right and all(filecmp.cmp(a / p, b / p, shallow=False) for p in left)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--data", type=Path, default=BENCH / "data", help="folder of the export (≈40 bytes a row)")
    args = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    data = args.data
    data.mkdir(parents=True, exist_ok=True)
    export = data / f"cluster-{args.rows}.csv"
    customers = round(args.rows / ROWS_PER_CUSTOMER)
    punchcard = [sys.executable, "-m", "punchcard.cli"]
    if not export.exists():
        subprocess.run(punchcard + ["sample-data", "-o", str(export), "--customers", str(customers),
                                    "--days", "731", "--start", "2024-01-01", "--seed", "1", "--dialect", "iso",
                                    "--profile", "cafe", "--birthdays"], check=True)
    rows = sum(1 for _ in open(export, "rb")) - 1
    program = data / f"cluster{args.rows}.yaml"
    program.write_text((BENCH / "perf.yaml").read_text(encoding="utf-8")
                       .replace("  path: data/perf.csv", f"  path: {export.name}"), encoding="utf-8")
    out = BENCH / "out"
    env = {k: v for k, v in os.environ.items() if k not in DASK_ENV}
    load = {"local": os.getloadavg()[0]}
    local = run(punchcard + ["build", str(program), "--force", "-v", "--out", str(out / "cluster-local")], env)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=args.memory_limit, dashboard_address=None) as lc, Client(lc) as client:
        env = {k: v for k, v in os.environ.items() if k not in DASK_ENV}
        load["cluster"] = os.getloadavg()[0]
        remote = run(punchcard + ["build", str(program), "--force", "-v", "--out", str(out / "cluster-remote"),
                                  "--scheduler", lc.scheduler_address], env)
        workers = sorted(client.run(_peak).values(), reverse=True)
    same = local["rc"] == 0 and remote["rc"] == 0 and same_site(out / "cluster-local", out / "cluster-remote")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    lines = [
        START,
        "## Dask cluster (`build --scheduler`)",
        "",
        f"Written by `bench/cluster.py --rows {args.rows} --workers {args.workers} --memory-limit "
        f"{args.memory_limit}` — one run, {when}, commit {commit}, the development machine "
        f"(`nproc` = {os.cpu_count()}, shared with other engineers' jobs: the load average before each "
        "build is in the table). Export: "
        f"{rows:,} rows ({export.stat().st_size / 2**20:,.0f} MiB, one file, {customers:,} customers "
        "generated), bench/perf.yaml's nine schemes. The cluster is a `LocalCluster` of worker "
        "processes on the same machine, so it shares the local build's cores: this measures the "
        "engine's overhead, not a speed-up (docs/scale.md sizes real clusters).",
        "",
        "| engine | load average before | wall s | peak RSS MiB | stages |",
        "|---|---:|---:|---:|---|",
        f"| local | {load['local']:.1f} | {local['wall']:.1f} | {local['rss']:,.0f} | {stages(local['err'])} |",
        f"| cluster: client | {load['cluster']:.1f} | {remote['wall']:.1f} | {remote['rss']:,.0f} | "
        f"{stages(remote['err'])} |",
    ]
    lines += [f"| cluster: worker {i + 1} | | — | {w:,.0f} | |" for i, w in enumerate(workers)]
    notes = [line.strip() for line in remote["err"].splitlines()
             if re.search(r"read tasks|read whole|Dask scheduler|spill|memory", line)]
    lines += ["", *[f"- cluster build said: `{n}`" for n in notes[:6]]]
    lines += [f"- the two sites are {'byte-identical' if same else 'DIFFERENT (or a build failed)'}.",
              *([f"- local build failed: {local['err'][-300:]}"] if local["rc"] else []),
              *([f"- cluster build failed: {remote['err'][-300:]}"] if remote["rc"] else []), END]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if START in text:
        text = text[:text.index(START)] + text[text.index(END) + len(END):].lstrip("\n")
    args.out.write_text(text.rstrip() + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
