"""punchcard benchmark: one command, every figure measured in the same run.

    .venv/bin/python bench/run.py --sizes 20M --shapes cafe,accounts [--out bench/RESULTS.md]

For each shape and size (rows of the export: 10k, 1M, 20M, 100M, or a plain number) it
1. writes the export once into bench/data/perf-<key>.csv (<key> = <size>, or
   <size>-accounts; cached: reused when bench/data/perf-<key>.json records the same
   generator parameters and the file is intact):
   - shape `cafe`: `punchcard sample-data` (numeric customer ids, order ids, items,
     birthdays); the customer count is calibrated to the row target from the generator's
     rows per customer, measured once on a pilot of PILOT_CUSTOMERS customers
     (bench/data/calibration.json);
   - shape `accounts`: ../shared/bench/gen_sales.py (string ids such as C00000278, a
     unique order_id per row, seed 7, 730 days) with 0.15 customers per row of the size
     (20M → 3,000,000 customers → 20,490,799 rows);
2. writes bench/data/perf-<key>.yaml: bench/perf.yaml pointed at that export;
3. measures, each as a separate subprocess (wall time, and peak RSS from os.wait4), each
   with its input files read into the page cache just before (``warm``):
   - floor:    bench/floor.py — Polars scans the CSV and aggregates revenue, visits,
               first and last date per customer (the least work any tool must do);
   - build:    `punchcard build <program> --force -v --out bench/out/<key>` (-v only
               adds the per-stage timings to stderr; they are parsed into the table);
   - ingest:   bench/stages.py --stage ingest   (read_ledger alone);
   - backtest: bench/stages.py --stage backtest (read_ledger + backtest.run, timed apart);
   - drop:     the data-drop case: the export cut into monthly files
               (bench/data/perf-<key>-months/*.csv, a glob input); the last month is held
               back, the other months built once to fill a fresh parse cache (untimed),
               then the last month is added and the rebuild is timed ("drop"), against a
               build of all months with an empty cache ("cold");
   - pandas:   bench/pandas_peer.py — a competent analyst's vectorised pandas replay of
               one stamp card and one points scheme (sizes up to --skip-pandas-above, and
               only when the linear extrapolation from a smaller size stays under
               --pandas-budget); its totals are checked against punchcard's.
A step that fails or times out is reported as "failed: <stderr tail>"; the harness goes on.
Results are kept per size in <out>.json, so a later run of another size adds to the
same RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
PUNCHCARD = str(Path(PY).with_name("punchcard"))

# Generator parameters (those of the example command in bench/perf.yaml).
GEN = {"days": 731, "start": "2024-01-01", "seed": 1, "dialect": "iso", "profile": "cafe",
       "birthdays": True}
PILOT_CUSTOMERS = 65536
DEFAULT_STEPS = ("floor", "build", "ingest", "backtest", "drop", "pandas")
SHAPES = ("cafe", "accounts")
GEN_SALES = ROOT.parent / "shared" / "bench" / "gen_sales.py"
ACCOUNTS = {"generator": "gen_sales.py", "days": 730, "seed": 7, "customers_per_row": 0.15}
ACCOUNTS_SALES = """sales:
  path: {path}
  columns:
    customer: customer_id
    date: date
    amount: amount
    order: order_id
  format:
    delimiter: ","
    decimal: "."
    date_format: "%Y-%m-%d"
    encoding: utf-8
"""
FLOOR_ARGS = {"cafe": [], "accounts": ["--customer", "customer_id", "--order", "order_id"]}
TARGETS = {"time_x_floor": 5.0, "time_x_floor_aim": 3.0, "rss_x_floor": 3.0, "rss_mib_100m": 24 * 1024}


# --- sizes ------------------------------------------------------------------------------

def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 10k, 1M, 20M")
    mult = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# --- measuring a subprocess -------------------------------------------------------------

def measure(cmd: list[str], *, timeout: float | None = None, cwd: Path = ROOT,
            log: Path | None = None) -> dict:
    """Run `cmd` as a child; return wall seconds, peak RSS (MiB), rc, stdout and stderr tail."""
    out_f = open(log.with_suffix(".out"), "w+b") if log else subprocess.DEVNULL
    err_path = log.with_suffix(".err") if log else None
    err_f = open(err_path, "w+b") if err_path else subprocess.PIPE
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out_f if log else subprocess.PIPE,
                            stderr=err_f, start_new_session=True)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the step's own process group only
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    stdout = stderr = b""
    if not log:
        # small outputs only (no log file): read them before waiting
        stdout = proc.stdout.read()
        stderr = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timer:
        timer.cancel()
    if log:
        out_f.seek(0)
        stdout = out_f.read()
        out_f.close()
        err_f.seek(0)
        stderr = err_f.read()
        err_f.close()
    rc = proc.returncode
    res = {"cmd": shlex.join(cmd), "wall_s": round(wall, 3),
           "peak_rss_mib": round(ru.ru_maxrss / 1024, 1), "rc": rc,
           "user_s": round(ru.ru_utime, 2), "sys_s": round(ru.ru_stime, 2),
           "stdout": stdout.decode("utf-8", "replace"),
           "stderr_tail": stderr.decode("utf-8", "replace")[-1500:]}
    if timed_out.is_set():
        res["error"] = f"timed out after {timeout:.0f} s"
    elif rc != 0:
        tail = " ".join(res["stderr_tail"].strip().splitlines()[-3:])[-400:]
        why = f"killed by signal {-rc}" if rc < 0 else f"exit {rc}"
        res["error"] = f"{why}: {tail}"
    return res


def warm(paths: list[Path]) -> float:
    """Read the files through once (into the page cache) and return the seconds it took.

    Every timed step starts with its input in memory, the floor as much as the build: a
    file the kernel dropped from its cache since the last step (this machine reclaims idle
    page cache: kdamond) would otherwise charge a disk read to whichever step came first.
    """
    t0 = time.perf_counter()
    buf = bytearray(16 << 20)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
    return round(time.perf_counter() - t0, 3)


def last_json(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


# --- data -------------------------------------------------------------------------------

def gen_args(customers: int, out: Path) -> list[str]:
    args = [PUNCHCARD, "sample-data", "-o", str(out), "--customers", str(customers),
            "--days", str(GEN["days"]), "--start", GEN["start"], "--seed", str(GEN["seed"]),
            "--dialect", GEN["dialect"], "--profile", GEN["profile"]]
    return args + (["--birthdays"] if GEN["birthdays"] else [])


def count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1


def punchcard_version() -> str:
    from punchcard import __version__
    return __version__


def calibrate(data: Path) -> dict:
    """Return the generator's rows per customer (pilot of PILOT_CUSTOMERS, cached)."""
    path = data / "calibration.json"
    key = {**GEN, "pilot_customers": PILOT_CUSTOMERS}
    if path.exists():
        cal = json.loads(path.read_text())
        if cal.get("params") == key:
            return cal
    pilot = data / "pilot.csv"
    res = measure(gen_args(PILOT_CUSTOMERS, pilot))
    if res.get("error"):
        raise SystemExit(f"calibration failed: {res['error']}")
    rows = count_rows(pilot)
    pilot.unlink()
    cal = {"params": key, "rows": rows, "rows_per_customer": rows / PILOT_CUSTOMERS}
    path.write_text(json.dumps(cal, indent=2))
    return cal


def key_of(size: int, shape: str) -> str:
    """Return the name of a shape and size in file names and results (20M, 20M-accounts)."""
    return label(size) if shape == "cafe" else f"{label(size)}-{shape}"


def ensure_data(size: int, data: Path, cal: dict, timeout: float, shape: str = "cafe") -> dict:
    """Write (or reuse) the export for `size` rows; return its metadata."""
    name = f"perf-{key_of(size, shape)}"
    csv, meta_path = data / f"{name}.csv", data / f"{name}.json"
    if shape == "accounts":
        customers = max(1, round(size * ACCOUNTS["customers_per_row"]))
        params = {**ACCOUNTS, "customers": customers}
        cmd = [PY, str(GEN_SALES), str(csv), "--customers", str(customers),
               "--days", str(ACCOUNTS["days"]), "--seed", str(ACCOUNTS["seed"])]
    else:
        customers = max(1, round(size / cal["rows_per_customer"]))
        params = {**GEN, "customers": customers}
        cmd = gen_args(customers, csv)
    if csv.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params and meta.get("bytes") == csv.stat().st_size:
            meta["cached"] = True
            return meta
    res = measure(cmd, timeout=timeout)
    if res.get("error"):
        raise SystemExit(f"generating {key_of(size, shape)} failed: {res['error']}")
    m = (re.search(r"Wrote ([\d,]+) rows for ([\d,]+) customers", res["stderr_tail"])
         or re.search(r": ([\d,]+) rows, ([\d,]+) customers", res["stdout"]))
    rows = int(m.group(1).replace(",", "")) if m else count_rows(csv)
    meta = {"params": params, "rows": rows,
            "customers_seen": int(m.group(2).replace(",", "")) if m else None,
            "bytes": csv.stat().st_size, "generate_s": res["wall_s"],
            "generate_peak_rss_mib": res["peak_rss_mib"], "command": res["cmd"]}
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["cached"] = False
    return meta


def shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def write_program(size: int, data: Path, shape: str = "cafe", months: bool = False) -> Path:
    """Write bench/perf.yaml pointed at the export of `size` rows (or at its monthly files);
    return its path."""
    name = f"perf-{key_of(size, shape)}"
    where = f"{name}-months/*.csv" if months else f"{name}.csv"
    text = (BENCH / "perf.yaml").read_text(encoding="utf-8")
    if shape == "accounts":
        sales = ACCOUNTS_SALES.format(path=where)
        text, n = re.subn(r"(?ms)^sales:\n.*?(?=^business:)", lambda _: sales, text, count=1)
        new = text
    else:
        new, n = re.subn(r"(?m)^(\s*path:\s*).*$", rf"\g<1>{where}", text, count=1)
    if n != 1:
        raise SystemExit("bench/perf.yaml has no `sales.path:` line to point at the export")
    if months:
        name += "-drop"
    if not re.search(r"(?m)^id:", new):
        new = re.sub(r"(?m)^name:", f"id: {name.lower()}\nname:", new, count=1)
    path = data / f"{name}.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != new:
        path.write_text(new, encoding="utf-8")
    return path


# --- steps ------------------------------------------------------------------------------

STAGE_RE = re.compile(r"^\s+(?:[\w.-]+: )?(.+?): ([0-9.]+) s$", re.M)


def timed_build(program: Path, out: Path, args, log: Path, *extra: str) -> dict:
    """Measure `punchcard build --force -v` of a program; add its stages and results' figures."""
    r = measure([PUNCHCARD, "build", str(program), "--force", "-v", "--out", str(out), *extra],
                timeout=args.timeout, log=log)
    r["stages"] = {k: float(v) for k, v in STAGE_RE.findall(r["stderr_tail"])
                   if not k.startswith("/")}
    found = sorted(out.glob("*/results.json"))
    results_json = found[0] if found else out / program.stem / "results.json"
    if not r.get("error") and results_json.exists():
        rj = json.loads(results_json.read_text())
        r["rewards_earned"] = {s["id"]: s["backtest"]["rewards_earned"]
                               for s in rj.get("schemes", [])}
        r["forecast_shown"] = not any("No forecast is shown" in w for w in rj.get("warnings", []))
    return r


def ensure_months(csv: Path) -> Path:
    """Cut the export into one file per calendar month (its header on each); return the folder."""
    import polars as pl

    folder = csv.with_name(csv.stem + "-months")
    stamp = folder / "source.json"
    source = {"file": csv.name, "bytes": csv.stat().st_size, "mtime_ns": csv.stat().st_mtime_ns}
    if stamp.exists() and json.loads(stamp.read_text()) == source:
        return folder
    if folder.exists():
        for f in folder.glob("*.csv"):
            f.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.read_csv(csv, infer_schema=False).with_columns(pl.col("date").str.slice(0, 7).alias("__m"))
    for (month,), part in frame.group_by("__m", maintain_order=True):
        part.drop("__m").write_csv(folder / f"{month}.csv")
    stamp.write_text(json.dumps(source))
    return folder


def drop_case(size: int, shape: str, data: Path, args, logs: Path) -> dict:
    """Measure a rebuild after one new month (parse cache of the others) against a cold build.

    With ``--pairs`` above 1, the rebuild (from the same 23-month cache each time) and the cold
    build are measured that many times, one after the other, and the pair whose ratio is the
    median is reported (with every pair's times in ``pairs``)."""
    import shutil

    key = key_of(size, shape)
    # cut in a child process: a parent grown to hold the export would pass its peak memory
    # on to every later step's ru_maxrss (Linux keeps the high-water mark across exec)
    csv = data / f"perf-{key}.csv"
    subprocess.run([PY, str(BENCH / "run.py"), "--split-months", str(csv)], check=True, timeout=args.timeout)
    folder = csv.with_name(csv.stem + "-months")
    program = write_program(size, data, shape, months=True)
    held = folder / "held-back"
    held.mkdir(exist_ok=True)
    for f in held.glob("*.csv"):  # a month an interrupted run held back
        f.rename(folder / f.name)
    months = sorted(folder.glob("*.csv"))
    cache, cold_cache = data / f"cache-{key}", data / f"cache-{key}-cold"
    for c in (cache, cold_cache):
        shutil.rmtree(c, ignore_errors=True)
    out = BENCH / "out" / f"{key}-drop"
    last = months[-1]
    last.rename(held / last.name)
    try:
        prep = timed_build(program, out, args, logs / f"{key}-drop-prep", "--cache", str(cache))
    finally:
        (held / last.name).rename(last)
    if prep.get("error"):
        return {**prep, "error": f"filling the cache failed: {prep['error']}"}
    snapshot = data / f"cache-{key}-23"  # the cache as the 23 months left it, for every pair
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(cache, snapshot)
    pairs = []
    for k in range(max(1, args.pairs)):  # (rebuild, cold build) one after the other, as the floor and build
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(snapshot, cache)
        shutil.rmtree(cold_cache, ignore_errors=True)
        suffix = f"-{k + 1}" if args.pairs > 1 else ""
        warmed = warm(months)
        load = os.getloadavg()[0]
        drop = timed_build(program, out, args, logs / f"{key}-drop{suffix}", "--cache", str(cache))
        drop["loadavg_before"], drop["warm_s"] = round(load, 2), warmed
        warmed = warm(months)
        load = os.getloadavg()[0]
        cold = timed_build(program, out, args, logs / f"{key}-drop-cold{suffix}", "--cache", str(cold_cache))
        cold["loadavg_before"], cold["warm_s"] = round(load, 2), warmed
        pairs.append((drop, cold))
    for c in (cache, cold_cache, snapshot):
        shutil.rmtree(c, ignore_errors=True)
    drop, cold = median_pair(pairs, lambda d, c: d["wall_s"] / c["wall_s"])
    if len(pairs) > 1:
        drop["pairs"] = [[d.get("wall_s"), c.get("wall_s")] for d, c in pairs]
    drop["files"] = len(months)
    drop["cold"] = {k: cold.get(k) for k in ("wall_s", "peak_rss_mib", "stages", "error", "loadavg_before",
                                             "warm_s")}
    drop["prep_s"] = prep["wall_s"]
    if cold.get("error"):
        drop["error"] = f"the cold build failed: {cold['error']}"
    return drop


def run_steps(size: int, program: Path, csv: Path, steps: list[str], args, logs: Path,
              pandas_per_row: float | None, shape: str = "cafe") -> dict:
    lab = key_of(size, shape)
    res: dict = {}

    def one(step: str, log: Path) -> dict | None:
        """Measure one step (None: skipped, recorded in ``res``)."""
        warmed = warm([csv]) if step != "drop" else None  # (the drop case warms its monthly files)
        load = os.getloadavg()[0]
        if step == "floor":
            r = measure([PY, str(BENCH / "floor.py"), str(csv), *FLOOR_ARGS[shape]],
                        timeout=args.timeout, log=log)
            r["inner"] = last_json(r["stdout"]) if not r.get("error") else None
        elif step == "build":
            r = timed_build(program, BENCH / "out" / lab, args, log)
        elif step == "drop":
            r = drop_case(size, shape, csv.parent, args, logs)
        elif step in ("ingest", "backtest", "forecast"):
            r = measure([PY, str(BENCH / "stages.py"), str(program), "--stage", step],
                        timeout=args.timeout, log=log)
            r["inner"] = last_json(r["stdout"]) if not r.get("error") else None
        elif step == "pandas":
            if size > args.skip_pandas_above:
                res[step] = {"skipped": f"size above --skip-pandas-above {label(args.skip_pandas_above)}"}
                return None
            if pandas_per_row is not None and pandas_per_row * size > args.pandas_budget:
                res[step] = {"skipped": f"estimated {pandas_per_row * size / 60:.1f} min "
                                        f"(linear from a smaller size) exceeds the "
                                        f"{args.pandas_budget / 60:.0f} min budget"}
                return None
            r = measure([PY, str(BENCH / "pandas_peer.py"), str(csv), str(program)],
                        timeout=min(args.timeout, 1.5 * args.pandas_budget), log=log)
            r["inner"] = last_json(r["stdout"]) if not r.get("error") else None
        else:
            raise SystemExit(f"unknown step {step!r}")
        r.setdefault("loadavg_before", round(load, 2))
        if warmed is not None:
            r["warm_s"] = warmed
        r.pop("stdout", None)
        shown = r.get("error") or f"{r['wall_s']:.1f} s, {r['peak_rss_mib']:.0f} MiB"
        print(f"[{lab}] {step}: {shown}", file=sys.stderr, flush=True)
        return r

    paired = args.pairs > 1 and "floor" in steps and "build" in steps
    for step in steps:
        if paired and step == "build":
            continue  # measured with the floor
        if paired and step == "floor":
            res["floor"], res["build"] = floor_and_build(
                [(one("floor", logs / f"{lab}-floor-{k + 1}"), one("build", logs / f"{lab}-build-{k + 1}"))
                 for k in range(args.pairs)])
            continue
        r = one(step, logs / f"{lab}-{step}")
        if r is not None:
            res[step] = r
    return res


def median_pair(pairs: list[tuple[dict, dict]], ratio) -> tuple[dict, dict]:
    """Return the pair (of measured steps) whose ``ratio(first, second)`` is the median among the
    pairs without an error (the lower middle one of an even count; the first pair when all failed)."""
    good = sorted((p for p in pairs if not p[0].get("error") and not p[1].get("error")), key=lambda p: ratio(*p))
    return good[(len(good) - 1) // 2] if good else pairs[0]


def floor_and_build(pairs: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """Return the floor and build of the pair whose build/floor ratio is the median of the pairs measured
    one after the other (floor, build, floor, build, …), each with every pair's times (``pairs``).

    A shared machine's speed drifts by a third from one minute to the next (bench/PROFILE.md):
    a floor and a build taken side by side share the moment, and the median pair is neither
    the luckiest nor the unluckiest."""
    floor, build = median_pair(pairs, lambda f, b: b["wall_s"] / f["wall_s"])
    floor["pairs"] = build["pairs"] = [[f.get("wall_s"), b.get("wall_s")] for f, b in pairs]
    return floor, build


# --- report -----------------------------------------------------------------------------

def source_state() -> str:
    """Return the commit, whether src/ differs from it, and a hash of src/ (read-only git)."""
    import hashlib

    digest = hashlib.sha256()
    for f in sorted((ROOT / "src").rglob("*.py")):
        digest.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head, dirty = "?", ""
    state = f"commit {head or '?'}" + (" + uncommitted changes in src/" if dirty else "")
    return f"{state} (src/ sha256 {digest.hexdigest()[:12]})"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    import numba
    import numpy
    import pandas
    import polars
    return {"nproc": os.cpu_count(), "memory": mem, "cpu": cpu,
            "python": platform.python_version(), "polars": polars.__version__,
            "numba": numba.__version__, "numpy": numpy.__version__, "pandas": pandas.__version__,
            "punchcard": punchcard_version(), "platform": platform.platform()}


def _fmt_s(x: float | None) -> str:
    return "—" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}")


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.1f}×"


def size_table(lab: str, entry: dict) -> list[str]:
    steps, data = entry["steps"], entry["data"]
    floor = steps.get("floor", {})
    ft = None if floor.get("error") else floor.get("wall_s")
    fm = None if floor.get("error") else floor.get("peak_rss_mib")
    shape = entry.get("shape", "cafe")
    lines = [f"### {label(entry['rows_target'])} rows, {shape} shape",
             "",
             f"Export: `{data.get('path', f'bench/data/perf-{lab}.csv')}`, {data['rows']:,} rows, "
             f"{data['bytes'] / 2**20:,.0f} MiB, `--customers {data['params']['customers']:,}` "
             f"({data.get('customers_seen') or '?':,} customers identified in the file); "
             f"generated in {_fmt_s(data.get('generate_s'))} s"
             f"{' (cached from an earlier run)' if data.get('cached') else ''}. "
             f"Measured {entry['when']} on {entry.get('source', 'an unrecorded source tree')}.",
             "",
             "| step | wall s | peak RSS MiB | time × floor | memory × floor | notes |",
             "|---|---:|---:|---:|---:|---|"]
    for name in ("floor", "build", "ingest", "backtest", "forecast", "drop", "pandas"):
        r = steps.get(name)
        if r is None:
            continue
        if r.get("skipped"):
            lines.append(f"| {name} | — | — | — | — | skipped: {r['skipped']} |")
            continue
        if r.get("error"):
            err = r["error"].replace("|", "\\|").replace("\n", " ")[:300]
            lines.append(f"| {name} | {_fmt_s(r['wall_s'])} | {r['peak_rss_mib']:.0f} | — | — | "
                         f"**failed**: {err} |")
            continue
        notes = []
        if name in ("build", "drop") and r.get("stages"):
            notes.append(", ".join(f"{k.split(': ', 1)[-1]} {_fmt_s(v)} s"
                                   for k, v in r["stages"].items()))
        if name == "build" and "forecast_shown" in r:
            notes.append("forecast shown" if r["forecast_shown"] else "**no forecast shown** (the build "
                         "warned that the forecast was skipped)")
        if name == "drop":
            cold = r.get("cold") or {}
            notes.insert(0, f"rebuild after 1 new month of {r.get('files', '?')} monthly files, the "
                            f"others from the parse cache: **{r['wall_s'] / cold['wall_s']:.0%}** of a "
                            f"cold build of the same files ({_fmt_s(cold['wall_s'])} s, "
                            f"{cold.get('peak_rss_mib') or 0:,.0f} MiB, load avg before "
                            f"{cold.get('loadavg_before', '?')}, input read into the page cache "
                            f"before it in {_fmt_s(cold.get('warm_s'))} s: "
                            + ", ".join(f"{k.split(': ', 1)[-1]} {_fmt_s(v)} s"
                                        for k, v in (cold.get("stages") or {}).items()) + ")")
            if len(r.get("pairs") or []) > 1:
                notes.insert(1, f"the median of {len(r['pairs'])} (rebuild, cold build) pairs measured one after "
                                "the other (" + "; ".join(f"{_fmt_s(d)}, {_fmt_s(c)} s = {d / c:.0%}"
                                                          for d, c in r["pairs"] if d and c) + ")")
        inner = r.get("inner") or {}
        if name == "ingest" and inner:
            notes.append(f"read_ledger {_fmt_s(inner.get('ingest_s'))} s; "
                         f"{inner.get('transactions', 0):,} tx, {inner.get('customers', 0):,} customers")
        if name == "backtest" and inner:
            notes.append(f"read_ledger {_fmt_s(inner.get('ingest_s'))} s + backtest.run (9 schemes) "
                         f"{_fmt_s(inner.get('backtest_s'))} s")
        if name == "forecast" and inner:
            notes.append(f"forecast.run {_fmt_s(inner.get('forecast_s'))} s")
        if name == "pandas" and inner:
            notes.append(f"vectorised peer: read+orders {_fmt_s(inner.get('read_s'))} s, stamp card "
                         f"{_fmt_s(inner['stamp_card']['seconds'])} s, points "
                         f"{_fmt_s(inner['points']['seconds'])} s")
        if name == "floor":
            notes.append("Polars scan_csv → group_by(customer).agg(revenue, visits, first, last)")
        if name in ("floor", "build") and len(r.get("pairs") or []) > 1:
            notes.append(f"the median of {len(r['pairs'])} floor/build pairs measured one after the other "
                         "(floor s, build s: " + "; ".join(
                             f"{_fmt_s(f)}, {_fmt_s(b)} = {_ratio(b, f)}" for f, b in r["pairs"]) + ")")
        if r.get("note"):
            notes.append(r["note"])
        notes.append(f"load avg before {r.get('loadavg_before', '?')}")
        if r.get("warm_s") is not None:
            notes.append(f"input read into the page cache before it in {_fmt_s(r['warm_s'])} s")
        t_ratio = "1.0×" if name == "floor" else _ratio(r["wall_s"], ft)
        m_ratio = "1.0×" if name == "floor" else _ratio(r["peak_rss_mib"], fm)
        lines.append(f"| {name} | {_fmt_s(r['wall_s'])} | {r['peak_rss_mib']:,.0f} | {t_ratio} | "
                     f"{m_ratio} | {'; '.join(notes)} |")
    lines += [""] + verdict(lab, entry) + [""]
    return lines


def _ok(r: dict | None) -> bool:
    return bool(r) and not r.get("error") and not r.get("skipped")


def verdict(lab: str, entry: dict) -> list[str]:
    s = entry["steps"]
    floor, build, pandas, backtest = s.get("floor"), s.get("build"), s.get("pandas"), s.get("backtest")
    out = []
    if _ok(floor) and _ok(build):
        tx = build["wall_s"] / floor["wall_s"]
        mx = build["peak_rss_mib"] / floor["peak_rss_mib"]
        t_ok = "meets" if tx <= TARGETS["time_x_floor"] else "MISSES"
        aim = " and the 3× aim" if tx <= TARGETS["time_x_floor_aim"] else ""
        m_ok = "meets" if mx <= TARGETS["rss_x_floor"] else "MISSES"
        out.append(f"- punchcard build / floor: time **{tx:.1f}×** ({t_ok} the 5× target{aim}), "
                   f"peak memory **{mx:.1f}×** ({m_ok} the 3× target).")
        if entry["data"]["rows"] >= 15_000_000 and entry["data"]["rows"] < 50_000_000:
            gb = build["peak_rss_mib"] / 1024
            out.append(f"- peak memory of the build {gb:.2f} GiB "
                       f"({'within' if gb <= 2.5 else 'OVER'} the 2.5 GB target at 20M).")
        if entry["data"]["rows"] >= 50_000_000:
            gb = build["peak_rss_mib"] / 1024
            out.append(f"- peak memory of the build {gb:.1f} GiB "
                       f"({'within' if gb <= 24 else 'OVER'} the 24 GB target).")
    elif _ok(floor) and build and build.get("error"):
        out.append("- punchcard build failed, no ratio to the floor.")
    ingest = s.get("ingest")
    inner_floor = ((floor or {}).get("inner") or {}).get("seconds") if _ok(floor) else None
    reading = next((v for k, v in ((build or {}).get("stages") or {}).items() if k.endswith("reading sales")), None)
    if inner_floor and reading:
        ix = reading / inner_floor
        also = ""
        if _ok(ingest) and ingest.get("inner"):
            also = f"; read_ledger alone in bench/stages.py {ingest['inner']['ingest_s'] / inner_floor:.2f}×"
        out.append(f"- reading: the build's \"reading sales\" stage {_fmt_s(reading)} s / the floor's "
                   f"query {_fmt_s(inner_floor)} s (both timed in-process, imports excluded) = "
                   f"**{ix:.2f}×** ({'meets' if ix <= 1.5 else 'MISSES'} the 1.5× target{also}).")
    drop = s.get("drop")
    if _ok(drop) and (drop.get("cold") or {}).get("wall_s"):
        share = drop["wall_s"] / drop["cold"]["wall_s"]
        out.append(f"- data drop: the rebuild after one new month takes **{share:.0%}** of a cold build "
                   f"({'meets' if share <= 0.35 else 'MISSES'} the 35 % target).")
    if _ok(pandas):
        inner = pandas.get("inner") or {}
        pt = pandas["wall_s"]
        if _ok(build):
            out.append(f"- pandas replay of 2 schemes / punchcard build of 9 schemes (+ forecast, "
                       f"site): pandas takes **{pt / build['wall_s']:.1f}×** the build's time "
                       f"(punchcard/pandas = {build['wall_s'] / pt:.2f}).")
        if _ok(backtest) and backtest.get("inner"):
            bi = backtest["inner"]
            replay_p = inner["stamp_card"]["seconds"] + inner["points"]["seconds"]
            out.append(f"- like for like, replay only: pandas 2 schemes {_fmt_s(replay_p)} s vs "
                       f"punchcard backtest.run 9 schemes {_fmt_s(bi.get('backtest_s'))} s "
                       f"(punchcard/pandas = {bi.get('backtest_s', 0) / replay_p:.3f}); "
                       f"read: pandas {_fmt_s(inner.get('read_s'))} s vs read_ledger "
                       f"{_fmt_s(bi.get('ingest_s'))} s.")
        pe = inner.get("stamp_card", {}).get("rewards_earned")
        sid = inner.get("stamp_card", {}).get("id")
        be = ((build or {}).get("rewards_earned") or {}).get(sid)
        if be is None:
            be = (((backtest or {}).get("inner") or {}).get("rewards_earned") or {}).get(sid)
        if pe is not None and be is not None:
            out.append(f"- cross-check, stamp card `{sid}` rewards earned: pandas {pe:,} vs "
                       f"punchcard {be:,} ({'agree' if pe == be else 'DISAGREE'}).")
    return out


def _pilot(cal: dict) -> str:
    if cal.get("given"):
        return "given with --rows-per-customer"
    return f"pilot of {cal['params']['pilot_customers']:,} customers → {cal['rows']:,} rows"


def render(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = [
        "# punchcard benchmarks",
        "",
        "Written by `bench/run.py` — every figure of a size comes from one run of it; "
        "rerun to refresh. Each step is a separate subprocess: wall time from the parent, "
        "peak RSS from `os.wait4` (ru_maxrss of the child). The floor and the build are measured "
        "in pairs, one after the other (`--pairs`, 3 by default), and the pair whose build/floor "
        "ratio is the median is reported, with every pair's times in its notes.",
        "",
        "**The one command** (both export shapes, every step including the data-drop case "
        "and the pandas peer; the exports are generated once and cached in `bench/data/`):",
        "",
        "    .venv/bin/python bench/run.py --sizes 20M --shapes cafe,accounts",
        "",
        "Add `100M` to `--sizes` for the 100M targets (a 100M build needs about 7 GiB). On a "
        "shared machine compare only ratios taken in one run: the load average before each "
        "step is in its notes. Every step starts with its input read into the page cache "
        "(`warm`: this machine drops idle cached files, which would charge a disk read to "
        "whichever step came first).",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, `nproc` = {m['nproc']}",
        f"- memory: {m['memory']}",
        f"- Python {m['python']}, polars {m['polars']}, numba {m['numba']}, numpy {m['numpy']}, "
        f"pandas {m['pandas']}, punchcard {m['punchcard']}",
        f"- {m['platform']}",
        "- shared machine: other work may run at the same time; the load average before each "
        "step is in its notes.",
        "",
        "## Targets",
        "",
        "- the whole `punchcard build` of the nine-scheme program on 20M rows, on both shapes, "
        "within **5×** the floor's time (aim **3×**), with the forecast shown;",
        "- its peak memory within **3×** the floor's (and ≤ 2.5 GB at 20M);",
        "- reading alone within **1.5×** the floor;",
        "- a rebuild after one new monthly file (parse cache of the others) within **35 %** of a "
        "cold build;",
        "- the 100M build within **24 GB**.",
        "",
        "The **floor** is `bench/floor.py`: Polars `scan_csv(...).group_by(customer).agg(revenue, "
        "visits, first, last).collect()` — the least any tool must do with the export. The "
        "**pandas** peer is `bench/pandas_peer.py`: what a competent analyst writes — read_csv "
        "(ids as categoricals), one row per order by group-by, one sort, then ONE stamp card "
        "and ONE points scheme replayed vectorised (cumulative counts and sums per customer, "
        "every customer's next reward or redemption found at once with searchsorted; no "
        "Python loop per customer or per transaction); its totals are checked against "
        "punchcard's. punchcard replays nine schemes, fits the model, forecasts and renders "
        "a site.",
        "",
        "## Data",
        "",
        f"`punchcard sample-data` with {', '.join(f'--{k} {v}' for k, v in GEN.items() if k != 'birthdays')}"
        f"{' --birthdays' if GEN['birthdays'] else ''}. Customers are calibrated to the row "
        f"target: the generator writes **{results['calibration']['rows_per_customer']:.2f} rows "
        f"per customer** ({_pilot(results['calibration'])}), so 1M rows ≈ --customers "
        f"{round(1e6 / results['calibration']['rows_per_customer']):,}, 20M ≈ "
        f"{round(2e7 / results['calibration']['rows_per_customer']):,}, 100M ≈ "
        f"{round(1e8 / results['calibration']['rows_per_customer']):,}. This is the **cafe** "
        "shape (numeric customer ids).",
        "",
        "The **accounts** shape: `../shared/bench/gen_sales.py OUT.csv --customers N --days 730 "
        "--seed 7` — string customer ids (`C00000278`), a unique `order_id` per row, ISO "
        "dates, amounts with float noise (`4.640000000000001`); N = 0.15 × the size "
        "(20M → 3,000,000 customers, 20,490,799 rows).",
        "",
        "The **data-drop** case (step `drop`) cuts an export into its 24 monthly files (a glob "
        "input), builds 23 of them once to fill a fresh parse cache, then adds the last month "
        "and times the rebuild, against a build of all 24 files with an empty cache: in pairs "
        "(`--pairs`, each rebuild from the same 23-month cache), the median pair reported.",
        "",
        "## Results",
        "",
    ]
    order = sorted(results["sizes"], key=lambda k: (results["sizes"][k]["rows_target"],
                                                    results["sizes"][k].get("shape", "cafe")))
    lines += summary_table(results, order)
    for lab in order:
        entry = results["sizes"][lab]
        lines += [f"Command: `{entry['command']}`", ""] + size_table(lab, entry)
    lines += extrapolation(results, order, path)
    # sections written by other scripts or by hand (bench/cluster.py's Dask engine,
    # bench/fit_speed.py's purchase-model fits) are kept as they are
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    for tag in KEPT_SECTIONS:
        start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
        if start in old and end in old:
            lines += ["", old[old.index(start):old.index(end)] + end]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


#: The RESULTS.md sections between <!-- tag:start --> and <!-- tag:end --> that render keeps.
KEPT_SECTIONS = ("cluster", "fitting")


def summary_table(results: dict, order: list[str]) -> list[str]:
    """Return the one-line-per-size overview of the ratios the targets are about."""
    lines = ["| rows | shape | floor s | floor MiB | build s | build MiB | build/floor time | "
             "build/floor memory | drop / cold | pandas s (2 schemes) | punchcard/pandas time |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for lab in order:
        entry = results["sizes"][lab]
        st = entry["steps"]
        f, b, p, d = st.get("floor"), st.get("build"), st.get("pandas"), st.get("drop")
        cells = [label(entry["rows_target"]), entry.get("shape", "cafe"),
                 _fmt_s(f["wall_s"]) if _ok(f) else "—", f"{f['peak_rss_mib']:,.0f}" if _ok(f) else "—",
                 _fmt_s(b["wall_s"]) if _ok(b) else ("failed" if b else "—"),
                 f"{b['peak_rss_mib']:,.0f}" if _ok(b) else "—",
                 _ratio(b["wall_s"], f["wall_s"]) if _ok(b) and _ok(f) else "—",
                 _ratio(b["peak_rss_mib"], f["peak_rss_mib"]) if _ok(b) and _ok(f) else "—",
                 f"{d['wall_s'] / d['cold']['wall_s']:.0%}" if _ok(d) and (d.get("cold") or {}).get("wall_s") else "—",
                 _fmt_s(p["wall_s"]) if _ok(p) else ("skipped" if p and p.get("skipped") else "—"),
                 f"{b['wall_s'] / p['wall_s']:.2f}" if _ok(b) and _ok(p) else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + ["", "Targets: build/floor time ≤ 5× (aim 3×) at 20M, memory ≤ 3×, "
                        "100M build ≤ 24 GB. Details per size below.", ""]


def extrapolation(results: dict, order: list[str], path: Path | None = None) -> list[str]:
    """Return a note for 100M when this run did not measure it: where its own run is (a
    ``RESULTS-100M.md`` beside this file, from ``--sizes 100M --steps floor,build --out``
    that file), else a linear estimate from the largest size."""
    if "100M" in results["sizes"] or not order:
        return []
    own = None if path is None else path.with_name(f"{path.stem}-100M{path.suffix}")
    if own is not None and own.exists():
        return ["### 100M rows — in a run of its own", "",
                f"The 100M floor and build were measured in one run of their own: [{own.name}]({own.name}) "
                "(`bench/run.py --sizes 100M --steps floor,build --out " + f"bench/{own.name}`).", ""]
    big = results["sizes"][order[-1]]
    b = big["steps"].get("build")
    if not _ok(b):
        return []
    k = 1e8 / big["data"]["rows"]
    gib = b["peak_rss_mib"] * k / 1024
    return ["### 100M rows — not measured", "",
            f"Linear in rows from {order[-1]}, the build would take about {b['wall_s'] * k / 60:.0f} min "
            f"and peak at about **{gib:.0f} GiB** — {'over' if gib > 24 else 'within'} the 24 GB "
            f"target{' and over this machine' + chr(39) + 's memory, so it was not run (it would be OOM-killed on a shared machine)' if gib > 22 else ''}. "
            "Run `bench/run.py --sizes 100M --steps floor,build` once the 20M build meets its targets.", ""]


# --- main -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1M,20M", help="comma-separated row counts: 10k,1M,20M,100M")
    ap.add_argument("--shapes", default="cafe", help=f"comma-separated subset of {','.join(SHAPES)}")
    ap.add_argument("--skip-pandas-above", type=parse_size, default=parse_size("20M"))
    ap.add_argument("--pandas-budget", type=float, default=900.0,
                    help="skip pandas at a size whose linear estimate exceeds this (seconds)")
    ap.add_argument("--steps", default=",".join(DEFAULT_STEPS),
                    help=f"comma-separated subset of {','.join(DEFAULT_STEPS)},forecast")
    ap.add_argument("--pairs", type=int, default=3,
                    help="floor and build measured this many times, one after the other; the median pair is reported")
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--data", type=Path, default=BENCH / "data", help="where exports are cached")
    ap.add_argument("--timeout", type=float, default=2700.0, help="per step, seconds")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the untimed tiny build that fills numba's on-disk cache first")
    ap.add_argument("--rows-per-customer", type=float, default=None,
                    help="use this instead of calibrating on a pilot export (tests)")
    ap.add_argument("--render-only", action="store_true",
                    help="re-render <out> from <out>.json without measuring anything")
    ap.add_argument("--prepare-only", action="store_true", help="write data and programs, measure nothing")
    ap.add_argument("--split-months", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.split_months:  # (internal: the drop step cuts an export in a child process)
        ensure_months(args.split_months)
        return {}
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if set(shapes) - set(SHAPES):
        raise SystemExit(f"unknown shape(s) {sorted(set(shapes) - set(SHAPES))}; choose from {SHAPES}")
    command = ".venv/bin/python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])

    json_path = args.out.with_suffix(".json")
    if args.render_only:
        results = json.loads(json_path.read_text())
        render(results, args.out)
        print(f"re-rendered {args.out} from {json_path}", file=sys.stderr)
        return results

    data = args.data
    data.mkdir(parents=True, exist_ok=True)
    logs = data / "logs"
    logs.mkdir(exist_ok=True)
    if args.rows_per_customer:
        cal = {"params": {**GEN, "pilot_customers": None}, "rows": None,
               "rows_per_customer": args.rows_per_customer, "given": True}
    else:
        cal = calibrate(data)
    print(f"calibration: {cal['rows_per_customer']:.3f} rows per customer", file=sys.stderr)

    results = {"sizes": {}}
    if json_path.exists():
        try:
            results = json.loads(json_path.read_text())
        except ValueError:
            pass
    results["machine"] = machine()
    results["calibration"] = cal

    if "build" in steps and not args.no_warmup and not args.prepare_only:
        wsize = 2000
        meta = ensure_data(wsize, data, cal, args.timeout)
        prog = write_program(wsize, data)
        w = measure([PUNCHCARD, "build", str(prog), "--force", "-q", "--out",
                     str(BENCH / "out" / "warmup")], timeout=args.timeout)
        print(f"warm-up build ({meta['rows']:,} rows): "
              f"{w.get('error') or str(w['wall_s']) + ' s'}", file=sys.stderr)

    pandas_per_row = dict.fromkeys(shapes)
    for size, shape in [(size, shape) for size in sizes for shape in shapes]:
        lab = key_of(size, shape)
        meta = ensure_data(size, data, cal, args.timeout, shape)
        program = write_program(size, data, shape)
        csv = data / f"perf-{lab}.csv"
        meta["path"] = shown_path(csv)
        how = "cached" if meta["cached"] else f"generated in {meta['generate_s']:.0f} s"
        print(f"[{lab}] {meta['rows']:,} rows in {csv} ({how})", file=sys.stderr)
        if args.prepare_only:
            continue
        res = run_steps(size, program, csv, steps, args, logs, pandas_per_row[shape], shape)
        if _ok(res.get("pandas")):
            pandas_per_row[shape] = res["pandas"]["wall_s"] / meta["rows"]
        results["sizes"][lab] = {"rows_target": size, "shape": shape, "command": command, "data": meta,
                                 "source": source_state(),
                                 "steps": res,
                                 "when": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}
        json_path.write_text(json.dumps(results, indent=2))
        render(results, args.out)
    if not args.prepare_only:
        print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
