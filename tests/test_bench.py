"""The benchmark harness runs end to end at a tiny size, and its pandas baseline agrees
with punchcard's backtest (untimed: no figure here depends on the machine)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from punchcard.ingest import read_ledger
from punchcard.program import load_program
from punchcard.schemes import run_backtest
from tests.helpers import ROOT

BENCH = ROOT / "bench"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "RESULTS.md"
    cmd = [sys.executable, str(BENCH / "run.py"), "--sizes", "2k", "--steps", "floor,pandas",
           "--out", str(out), "--data", str(tmp / "data"), "--rows-per-customer", "16.4",
           "--no-warmup", "--timeout", "600"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.with_suffix(".json").read_text()), tmp


def test_harness_runs_end_to_end(harness: tuple[dict, Path]) -> None:
    results, tmp = harness
    entry = results["sizes"]["2k"]
    assert entry["data"]["rows"] > 500
    assert (tmp / "data" / "perf-2k.csv").exists()
    program = (tmp / "data" / "perf-2k.yaml").read_text(encoding="utf-8")
    assert "path: perf-2k.csv" in program
    for step in ("floor", "pandas"):
        r = entry["steps"][step]
        assert not r.get("error"), r
        assert r["wall_s"] > 0 and r["peak_rss_mib"] > 0
    assert entry["steps"]["pandas"]["inner"]["stamp_card"]["rewards_earned"] > 0  # 2k rows earn some
    md = (tmp / "RESULTS.md").read_text(encoding="utf-8")
    assert "### 2k rows" in md and "| floor |" in md and "| pandas |" in md
    assert "nproc" in md


def test_cached_export_is_reused(harness: tuple[dict, Path]) -> None:
    _, tmp = harness
    spec = importlib.util.spec_from_file_location("punchcard_bench_run", BENCH / "run.py")
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    cal = {"rows_per_customer": 16.4}
    meta = bench_run.ensure_data(2000, tmp / "data", cal, 600)
    assert meta["cached"] is True


def test_pandas_replay_agrees_with_backtest(harness: tuple[dict, Path]) -> None:
    results, tmp = harness
    inner = results["sizes"]["2k"]["steps"]["pandas"]["inner"]
    prog = load_program(tmp / "data" / "perf-2k.yaml")
    ledger = read_ledger(prog.sales, base=prog.path.parent)
    bt = run_backtest(prog, ledger)
    stamp = inner["stamp_card"]
    ours = bt[stamp["id"]].summary
    assert stamp["rewards_earned"] == ours["rewards_earned"]
    assert stamp["rewards_expired"] == ours["rewards_expired"]
    assert stamp["rewards_outstanding"] == ours["rewards_outstanding"]
    assert stamp["rewards_redeemed"] == pytest.approx(ours["rewards_redeemed"], rel=1e-9)
    assert stamp["customers_rewarded"] == ours["customers_rewarded"]
    pts = inner["points"]
    ours = bt[pts["id"]].summary
    assert pts["points_earned"] == pytest.approx(ours["rewards_earned"], abs=1)
    assert pts["points_redeemed"] == pytest.approx(ours["rewards_redeemed"], rel=1e-9)
