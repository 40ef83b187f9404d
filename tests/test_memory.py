"""A build over an export larger than the memory it is allowed completes (streaming ingest).

The build runs in a memory cgroup whose limit is below the CSV's size on disk, so it can
only succeed if no stage loads the raw file into memory. Not timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import polars as pl
import pytest

CGROUP = Path("/sys/fs/cgroup/memory")  # cgroup v1 memory controller (as on CI's machines)
LIMIT = 1024 * 2**20
ROWS = 2_200_000

PROGRAM = """\
name: Larger than memory
currency: EUR
sales: {path: big.csv}
business: {gross_margin: 0.6}
forecast: {draws: 20, max_customers: 2000}
schemes:
  - {id: card, name: Card, kind: stamp_card, stamps: 9, reward: {value: 5}}
  - {id: points, name: Points, kind: points, earn_per_unit: 1, point_value: 0.01, min_redeem: 500}
"""


def _write_export(path: Path) -> None:
    """Write a till export whose free-text note column makes it wider than the memory limit."""
    rng = np.random.default_rng(8)
    cust = rng.integers(0, 60_000, ROWS)
    day = np.sort(rng.integers(0, 730, ROWS))
    frame = pl.DataFrame({
        "customer": cust,
        "date": np.datetime64("2024-01-01") + day.astype("timedelta64[D]"),
        "amount": np.round(rng.gamma(2.0, 20.0, ROWS), 2),
        "note": ["paid by card at till 3, receipt printed, bag offered, thanks!" * 9] * ROWS,
    }).with_columns(pl.format("K{}", pl.col("customer")).alias("customer"))
    frame.write_csv(path)


def _cgroup() -> Path | None:
    if not CGROUP.is_dir() or not os.access(CGROUP, os.W_OK):
        return None
    group = CGROUP / f"punchcard-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(LIMIT))
    except OSError:
        return None
    return group


@pytest.mark.slow
def test_build_over_a_file_larger_than_its_memory_limit(tmp_path):
    group = _cgroup()
    if group is None:
        pytest.skip("no writable memory cgroup here to set a limit in")
    try:
        csv = tmp_path / "big.csv"
        _write_export(csv)
        assert csv.stat().st_size > LIMIT
        (tmp_path / "p.yaml").write_text(PROGRAM, encoding="utf-8")
        tasks = group / "tasks"

        def enter() -> None:  # runs in the child before exec: join the limited group
            tasks.write_text(str(os.getpid()))

        env = {**os.environ, "POLARS_MAX_THREADS": "2"}
        result = subprocess.run(
            [sys.executable, "-m", "punchcard.cli", "build", "p.yaml", "--out", "site",
             "--quiet"],
            cwd=tmp_path, capture_output=True, text=True, preexec_fn=enter, env=env,
        )
        peak = int((group / "memory.max_usage_in_bytes").read_text())
        failcnt = int((group / "memory.failcnt").read_text())
        print(f"CSV {csv.stat().st_size / 2**20:.0f} MiB, limit {LIMIT / 2**20:.0f} MiB, "
              f"peak {peak / 2**20:.0f} MiB (page cache included), limit hits {failcnt}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert (tmp_path / "site" / "p" / "results.json").is_file()
    finally:
        try:
            group.rmdir()
        except OSError:
            pass


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc to read the memory held")
def test_give_back_memory_returns_the_heaps_free_pages() -> None:
    # blocks under glibc's mmap threshold live on the heap; freeing nine in ten leaves holes the
    # heap keeps (the tenth pins them) until malloc_trim hands their pages back
    from punchcard.runtime import _libc, give_back_memory

    if _libc() is None:
        pytest.skip("no C library with malloc_trim (not glibc)")
    blocks = [bytearray(b"x" * 100_000) for _ in range(2_000)]  # ~200 MB, written
    kept = blocks[::10]
    del blocks
    before = _rss_mib()
    give_back_memory()
    after = _rss_mib()
    assert len(kept) == 200
    assert before - after > 100, (before, after)


def test_threads_share_a_few_malloc_arenas() -> None:
    # glibc gives each new thread an arena of its own (up to 8 per core), each keeping the memory
    # its arrays freed; importing punchcard caps them (runtime.limit_malloc_arenas) unless the
    # user's MALLOC_ARENA_MAX says otherwise. malloc_stats() prints one "Arena N:" per arena.
    probe = """
import ctypes, ctypes.util, threading
import punchcard
from punchcard.runtime import malloc_arenas
import numpy as np
together = threading.Barrier(8)
def work():
    together.wait()  # all eight alive at once: none hands its arena on to the next
    for _ in range(20):
        a = np.ones(300_000)
        del a
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(malloc_arenas(), flush=True)
ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()
"""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    capped = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    if "Arena 0:" not in capped.stderr:
        pytest.skip("the C library is not glibc (no malloc_stats arenas)")
    assert capped.stderr.count("Arena ") <= int(capped.stdout.strip())
    free = subprocess.run([sys.executable, "-c", probe], env={**env, "MALLOC_ARENA_MAX": "16"},
                          capture_output=True, text=True, check=True)
    assert free.stderr.count("Arena ") > int(capped.stdout.strip())  # the user's setting wins
