"""Profile one `punchcard build` of the benchmark program with pyinstrument and record
the top lines in bench/PROFILE.md under a labelled section (before/after a fix).

Usage:
    .venv/bin/python bench/profile.py [--size 1M] [--label before|after] [--lines 60]
    .venv/bin/python bench/profile.py --program bench/data/perf-1M.yaml --label after

The program (bench/data/perf-<size>.yaml) and its data are written by bench/run.py;
when missing, this runs `bench/run.py --sizes <size> --prepare-only` first. The build runs
in this process (`--force -v`, into bench/out/profile-<size>) under the sampling profiler;
the section shows the call tree (top lines) and the flat self-time list. A section with
the same label is replaced; the others are kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def _section(label: str, body: str) -> str:
    return f"<!-- profile:{label} -->\n## {label}\n\n{body.rstrip()}\n<!-- /profile:{label} -->\n"


def record(md: Path, label: str, body: str) -> None:
    """Write `body` as the `label` section of `md`, replacing an older one of that label."""
    text = md.read_text(encoding="utf-8") if md.exists() else (
        "# punchcard build profile\n\nWritten by `bench/profile.py` (pyinstrument, sampling). "
        "Sections are labelled so a fix can be recorded as before/after.\n\n")
    new = _section(label, body)
    pattern = re.compile(rf"<!-- profile:{re.escape(label)} -->.*?<!-- /profile:{re.escape(label)} -->\n",
                         re.S)
    text = pattern.sub(lambda _: new, text) if pattern.search(text) else text.rstrip() + "\n\n" + new
    md.write_text(text, encoding="utf-8")


def _source_state() -> str:
    sys.path.insert(0, str(BENCH))
    try:
        from run import source_state
    finally:
        sys.path.remove(str(BENCH))
    return source_state()


def _strip_banner(text: str) -> list[str]:
    """Return pyinstrument's report lines without its ASCII-art header."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if ln.startswith("Profile at "):
            return lines[i + 1:]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description="Profile a build of the benchmark program.")
    ap.add_argument("--size", default="1M", help="benchmark size whose program to build (1M)")
    ap.add_argument("--program", type=Path, default=None, help="program file (overrides --size)")
    ap.add_argument("--label", default="before", help="section label in PROFILE.md")
    ap.add_argument("--lines", type=int, default=60, help="call-tree lines to keep")
    ap.add_argument("--flat", type=int, default=25, help="flat self-time lines to keep")
    ap.add_argument("--interval", type=float, default=0.005, help="sampling interval, seconds")
    ap.add_argument("--out", type=Path, default=BENCH / "PROFILE.md")
    ap.add_argument("--draws", type=int, default=None, help="pass --draws to the build")
    args = ap.parse_args()

    program = args.program or BENCH / "data" / f"perf-{args.size}.yaml"
    if not program.exists():
        if args.program is not None:
            sys.exit(f"{program}: not found")
        subprocess.run([sys.executable, str(BENCH / "run.py"), "--sizes", args.size,
                        "--prepare-only"], check=True)
    out_dir = BENCH / "out" / f"profile-{program.stem}"

    from pyinstrument import Profiler

    from punchcard.cli import cli

    argv = ["build", str(program), "--force", "-v", "--out", str(out_dir)]
    if args.draws is not None:
        argv += ["--draws", str(args.draws)]
    profiler = Profiler(interval=args.interval)
    t0 = time.perf_counter()
    profiler.start()
    try:
        cli.main(argv, prog_name="punchcard", standalone_mode=False)
    finally:
        profiler.stop()
    wall = time.perf_counter() - t0

    tree = profiler.output_text(unicode=True, color=False, show_all=False)
    flat = profiler.output_text(unicode=True, color=False, flat=True)
    tree_lines = _strip_banner(tree)[: args.lines]
    flat_lines = _strip_banner(flat)[: args.flat]
    session = profiler.last_session
    import polars
    import numba
    body = "\n".join([
        f"- recorded: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, polars "
        f"{polars.__version__}, numba {numba.__version__}",
        f"- command: `.venv/bin/python bench/profile.py {' '.join(sys.argv[1:])}` "
        f"(in-process `punchcard {' '.join(argv)}`)",
        f"- source: {_source_state()}",
        f"- wall time under the profiler: {wall:.1f} s (CPU time {session.cpu_time:.1f} s; "
        "time spent inside numba-compiled functions shows as the caller's [self])",
        "",
        "### Call tree (top lines)",
        "",
        "```",
        *tree_lines,
        "```",
        "",
        "### Flat: self time by function",
        "",
        "```",
        *flat_lines,
        "```",
    ])
    record(args.out, args.label, body)
    print(f"profile ({wall:.1f} s) written to {args.out} [{args.label}]", file=sys.stderr)


if __name__ == "__main__":
    main()
