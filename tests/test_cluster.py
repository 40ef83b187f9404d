"""`punchcard build --scheduler`: the same site, byte for byte, built on a Dask cluster.

A `distributed.LocalCluster` of two worker processes stands in for a real cluster: the
tasks, their arguments and results cross process boundaries exactly as they would cross
machines (the workers read the same files, which a real cluster needs a shared file
system or URLs for).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchcard import cli
from tests.helpers import ROOT, SECRET_IDS, real_file, write_program, write_sales

distributed = pytest.importorskip("distributed")



@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc:
        with distributed.Client(lc) as client:
            # on a busy machine the worker processes may register after the cluster is up;
            # a build that finds none refuses (as it should), so the tests wait for both
            client.wait_for_workers(2, timeout=300)
            yield lc.scheduler_address, client


@pytest.fixture
def small_shards(monkeypatch):
    """Shards of 4 KiB of sales files, so that the small test exports make several."""
    from punchcard.ingest import shards

    monkeypatch.setattr(shards, "SHARD_BYTES", 4096)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _build(args: list[str], scheduler: str | None = None) -> object:
    extra = ["--scheduler", scheduler] if scheduler else []
    return CliRunner().invoke(cli.cli, ["build", "--quiet", "--force", *args, *extra],
                              catch_exceptions=False)


def _same_site(local: Path, remote: Path) -> None:
    a, b = _tree(local), _tree(remote)
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    lines = [f"{name}: {x!r} ≠ {y!r}" for name in differ if name.endswith(".json")
             for x, y in zip(a[name].decode().splitlines(), b[name].decode().splitlines()) if x != y]
    assert not differ, f"the cluster's site differs in {differ[:5]}: {lines[:5]}"


@pytest.mark.slow
def test_example_programs_build_to_the_committed_site(cluster, tmp_path, monkeypatch):
    # site/ is what a local build of programs/ makes (tests/test_golden.py); the five
    # examples cover line-item orders, birthdays, returns, anonymous sales and windows.
    monkeypatch.chdir(ROOT)
    result = _build(["--out", str(tmp_path / "site")], cluster[0])
    assert result.exit_code == 0, result.output
    _same_site(ROOT / "site", tmp_path / "site")


def _messy_program(folder: Path) -> Path:
    """Two overlapping exports without order numbers: repeated lines, a bad date, a date typed a
    century off (an outlier among both files' dates), returns, anonymous sales."""
    path = write_program(folder, draws=30)
    first = write_sales(folder / "sales.csv", customers=80, seed=5).read_text().splitlines()
    # the second drop repeats the last 50 lines of the first (duplicates from another
    # file) and adds its own, with a blank customer id and an amount that cannot be read
    second = [first[0]] + first[-50:] + [f"{SECRET_IDS[7]},2025-09-01,12.50,1",
                                         ",2025-09-02,8.00,1", f"{SECRET_IDS[3]},2025-09-03,abc,1",
                                         f"{SECRET_IDS[5]},2099-03-01,20.00,1"]
    (folder / "sales-2.csv").write_text("\n".join(second) + "\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace(
        "  path: sales.csv\n", "  path: [sales.csv, sales-2.csv]\n  window: {start: 2025-02-01}\n")
    path.write_text(text, encoding="utf-8")
    return path


def test_overlapping_messy_exports_build_the_same_site(cluster, tmp_path, small_shards):
    program = _messy_program(tmp_path / "in")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = _build([str(program), "--out", str(remote)], cluster[0])
    assert result.exit_code == 0, result.output
    _same_site(local, remote)
    data = json.loads((remote / "cafe" / "results.json").read_text())["data"]
    # 50 repeated lines: the last of them has a bad date (rejected as such in both files,
    # the first reason that applies), the other 49 are duplicates
    assert data["rows_rejected"]["duplicate_line"] == 49
    assert data["rows_rejected"]["date_outlier"] == 1
    assert data["rows_rejected"]["bad_date"] == 2 and data["rows_rejected"]["bad_amount"] == 1
    assert data["rows_rejected"]["outside_window"] > 0


def test_messy_exports_in_byte_ranges_build_the_same_site(cluster, tmp_path, monkeypatch, small_shards):
    # the same two drops, each read in ranges of 4 KiB: the duplicates of the first drop's
    # lines in the second, the outlier date among both, the first examples of each reason
    # (the whole file's line numbers) all come out as a local build gives them
    monkeypatch.setenv("PUNCHCARD_RANGE_BYTES", "4096")
    program = _messy_program(tmp_path / "in")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(remote),
                                          "--scheduler", cluster[0]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    size = (tmp_path / "in" / "sales.csv").stat().st_size
    assert size > 4 * 4096 and re.search(r"cafe: 2 sales files in (\d+) read tasks", result.output), result.output
    _same_site(local, remote)
    data = json.loads((remote / "cafe" / "results.json").read_text())["data"]
    assert data["rows_rejected"]["duplicate_line"] == 49


CDNOW = """\
name: CDNOW (real data)
currency: USD
sales:
  path: {path}
  columns: {{customer: customer_id, date: date, amount: amount, items: cds}}
  format: {{date_format: "%Y%m%d"}}
business: {{gross_margin: 0.3}}
forecast: {{draws: 40}}
schemes:
  - {{id: tenth-cd, name: Tenth CD free, kind: stamp_card, counter: items, stamps: 9,
     reward: {{value: 15}}, expiry_days: 365}}
  - {{id: points, name: Points, kind: points, earn_per_unit: 1, point_value: 0.01,
     min_redeem: 500, expiry_months: 12}}
"""


@pytest.mark.slow
def test_real_cdnow_builds_the_same_site(cluster, tmp_path, monkeypatch):
    # ids with leading zeros (text, not numbers), repeated lines, zero amounts; 2.5 MB of
    # CSV in shards of 128 KiB: 32 shards
    from punchcard.ingest import shards

    monkeypatch.setattr(shards, "SHARD_BYTES", 128 << 10)
    program = tmp_path / "cdnow.yaml"
    program.write_text(CDNOW.format(path=real_file("cdnow_master.csv").as_posix()), encoding="utf-8")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = _build([str(program), "--out", str(remote)], cluster[0])
    assert result.exit_code == 0, result.output
    _same_site(local, remote)


@pytest.mark.slow
def test_a_generated_million_row_export_builds_the_same_site(cluster, tmp_path, monkeypatch):
    # 60,930 customers over 731 days: about a million rows (bench/RESULTS.md, 16.4 rows
    # each), 37 MiB of CSV in shards of 8 MiB: 8 shards, in two customer partitions
    from punchcard.ingest import shards

    monkeypatch.setattr(shards, "SHARD_BYTES", 8 << 20)
    data = tmp_path / "perf-1M.csv"
    made = CliRunner().invoke(cli.cli, ["sample-data", "-o", str(data), "--customers", "60930",
                                        "--days", "731", "--start", "2024-01-01", "--seed", "1",
                                        "--dialect", "iso", "--profile", "cafe", "--birthdays"])
    assert made.exit_code == 0, made.output
    text = (ROOT / "bench" / "perf.yaml").read_text(encoding="utf-8")
    program = tmp_path / "perf.yaml"
    program.write_text(text.replace("  path: data/perf.csv", f"  path: {data.as_posix()}"), encoding="utf-8")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local), "--draws", "40"]).exit_code == 0
    result = _build([str(program), "--out", str(remote), "--draws", "40"], cluster[0])
    assert result.exit_code == 0, result.output
    _same_site(local, remote)


def _sample_export(path: Path, customers: int) -> Path:
    made = CliRunner().invoke(cli.cli, ["sample-data", "-o", str(path), "--customers", str(customers),
                                        "--days", "365", "--start", "2024-01-01", "--seed", "2",
                                        "--dialect", "iso", "--profile", "cafe", "--birthdays"])
    assert made.exit_code == 0, made.output
    return path


@pytest.mark.slow
def test_one_file_in_byte_ranges_builds_the_same_site(cluster, tmp_path, monkeypatch):
    # 3,000 customers of a café (line-item orders, birthdays): about 50,000 rows, 2 MB of
    # CSV, read in ranges of 128 KiB (16 read tasks), in shards of 512 KiB (4 shards);
    # the rows a range holds count from the rows before it in the file
    from punchcard.ingest import shards

    monkeypatch.setattr(shards, "SHARD_BYTES", 512 << 10)
    monkeypatch.setenv("PUNCHCARD_RANGE_BYTES", str(128 << 10))
    data = _sample_export(tmp_path / "in" / "big.csv", 3000)
    text = (ROOT / "bench" / "perf.yaml").read_text(encoding="utf-8")
    program = tmp_path / "in" / "perf.yaml"
    program.write_text(text.replace("  path: data/perf.csv", "  path: big.csv"), encoding="utf-8")
    ranges = -(-(data.stat().st_size - len(data.read_bytes().split(b"\n", 1)[0]) - 1) // (128 << 10))
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local), "--draws", "20"]).exit_code == 0
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(remote), "--draws", "20",
                                          "--scheduler", cluster[0]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"1 sales file in {ranges} read tasks (byte ranges of 131,072 bytes)" in result.output
    assert ranges >= 10
    _same_site(local, remote)


def test_a_quoted_line_break_reads_the_file_whole_with_the_same_site(cluster, tmp_path, monkeypatch,
                                                                     small_shards):
    # a note over two lines in the middle of the export: its range cannot be cut, so the
    # file is read whole, in one task, and says so
    monkeypatch.setenv("PUNCHCARD_RANGE_BYTES", "4096")
    program = write_program(tmp_path / "in", customers=200)
    sales = tmp_path / "in" / "sales.csv"
    rows = sales.read_text(encoding="utf-8").splitlines()
    rows = [rows[0] + ",note"] + [r + ",ok" for r in rows[1:]]
    middle = len(rows) // 2
    rows[middle] = rows[middle][:-3] + ',"first line\nsecond line"'
    sales.write_text("\n".join(rows) + "\n", encoding="utf-8")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(remote),
                                          "--scheduler", cluster[0]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sales.csv: read whole, in one task: its byte ranges cannot be read apart" in result.output
    _same_site(local, remote)


def _fail_partitions() -> None:
    from punchcard.schemes import backtest

    def broken(ledger, shards=None):
        raise ValueError("disk full on this worker")

    backtest._real_base = getattr(backtest, "_real_base", backtest.base)
    backtest.base = broken


def _mend_partitions() -> None:
    from punchcard.schemes import backtest

    backtest.base = getattr(backtest, "_real_base", backtest.base)


def test_a_failing_partition_fails_the_build_and_writes_nothing(cluster, tmp_path, small_shards):
    address, client = cluster
    program = write_program(tmp_path / "in")
    out = tmp_path / "site"
    client.run(_fail_partitions)
    try:
        result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out),
                                              "--scheduler", address])
    finally:
        client.run(_mend_partitions)
    assert result.exit_code == 1
    assert re.search(r"cafe: a partition \([12] of 2\) failed on the Dask cluster: "
                     r"ValueError: disk full on this worker", result.output), result.output
    assert "Nothing was written" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_failing_partition_leaves_the_previous_site_as_it_was(cluster, tmp_path, small_shards):
    # a site built before, then sales that changed: the build fails in the first
    # partition to fail, with its error (one line, whichever partition it was), and the
    # previous site's files keep their bytes and times
    address, client = cluster
    program = write_program(tmp_path / "in")
    out = tmp_path / "site"
    assert _build([str(program), "--out", str(out)], address).exit_code == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    write_sales(tmp_path / "in" / "sales.csv", customers=90, seed=11)
    client.run(_fail_partitions)
    try:
        result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--force",
                                              "--scheduler", address])
    finally:
        client.run(_mend_partitions)
    assert result.exit_code == 1
    assert len(re.findall(r"failed on the Dask cluster", result.output)) == 1, result.output
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


def _die_once(marker: str) -> None:
    import importlib

    describe = importlib.import_module("punchcard.results.describe")  # the module, not the function
    real = describe.per_customer

    def dying(ledger):
        if not os.path.exists(marker):
            Path(marker).write_text("died")
            os._exit(1)  # the worker process is lost mid-build
        return real(ledger)

    describe.per_customer = dying


def test_a_worker_lost_mid_build_is_retried(cluster, tmp_path, small_shards):
    address, client = cluster
    program = write_program(tmp_path / "in")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    marker = str(tmp_path / "died")
    client.run(_die_once, marker)
    result = _build([str(program), "--out", str(remote)], address)
    assert os.path.exists(marker), "no worker died: the test did not test anything"
    assert result.exit_code == 0, result.output
    _same_site(local, remote)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the lost worker


def test_a_file_the_workers_cannot_see_is_named_with_the_fix(tmp_path):
    from punchcard import __version__
    from punchcard.cluster import read_task
    from punchcard.errors import PunchcardError
    from punchcard.program import load_program
    import polars as pl

    prog = load_program(write_program(tmp_path))
    with pytest.raises(PunchcardError, match=r"gone\.csv: the Dask worker .* cannot see this sales file.*"
                                             r"file system all workers mount"):
        read_task(str(tmp_path / "gone.csv"), 0, 1, prog.sales, tmp_path, 2, (__version__, pl.__version__))
    with pytest.raises(PunchcardError, match="runs punchcard .* Fix: install the same versions"):
        read_task(str(tmp_path / "sales.csv"), 0, 1, prog.sales, tmp_path, 2, ("0.0.0", pl.__version__))


def test_an_unreachable_scheduler_is_an_input_error(tmp_path):
    program = write_program(tmp_path / "in")
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    result = subprocess.run([sys.executable, "-m", "punchcard.cli", "build", str(program), "--out",
                             str(tmp_path / "site"), "--scheduler", "tcp://127.0.0.1:9"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists()


def test_the_scheduler_comes_from_the_environment(tmp_path):
    program = write_program(tmp_path / "in")
    env = dict(os.environ, DASK_SCHEDULER_ADDRESS="tcp://127.0.0.1:9",
               DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    env.pop("PUNCHCARD_SCHEDULER", None)
    result = subprocess.run([sys.executable, "-m", "punchcard.cli", "build", str(program), "--out",
                             str(tmp_path / "site")], capture_output=True, text=True, env=env, timeout=120)
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.stderr
    env["PUNCHCARD_SCHEDULER"] = "tcp://127.0.0.1:7"  # punchcard's own variable wins
    result = subprocess.run([sys.executable, "-m", "punchcard.cli", "build", str(program), "--out",
                             str(tmp_path / "site")], capture_output=True, text=True, env=env, timeout=120)
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:7'" in result.stderr


def test_without_the_extra_the_error_says_what_to_install(monkeypatch):
    from punchcard.cluster import Engine
    from punchcard.errors import PunchcardError
    from punchcard.progress import QUIET

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(PunchcardError, match=r"pip install 'punchcard\[dask\]'"):
        Engine("tcp://127.0.0.1:9", QUIET)


def test_a_local_build_never_imports_dask(tmp_path):
    program = write_program(tmp_path / "in")
    code = ("import sys\nfrom punchcard import cli\n"
            "try:\n    cli.main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "print('LOADED', loaded)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PUNCHCARD_SCHEDULER", "DASK_SCHEDULER_ADDRESS")}
    result = subprocess.run([sys.executable, "-c", code, "build", str(program), "--out",
                             str(tmp_path / "site"), "--quiet"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_sales_files_by_url_are_fetched_by_the_workers(cluster, tmp_path):
    # file:// goes through fsspec like s3:// or gs:// (whose filesystems need credentials)
    program = write_program(tmp_path / "in")
    url = (tmp_path / "in" / "sales.csv").as_uri()
    by_url = tmp_path / "in" / "by-url.yaml"
    by_url.write_text(program.read_text(encoding="utf-8").replace("  path: sales.csv\n", f"  path: {url}\n")
                      .replace("name: Test café", "id: cafe\nname: Test café"), encoding="utf-8")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = _build([str(by_url), "--out", str(remote)], cluster[0])
    assert result.exit_code == 0, result.output
    mine, theirs = (json.loads((site / "cafe" / "results.json").read_text()) for site in (local, remote))
    assert theirs["inputs"] == [{**mine["inputs"][0], "path": url}]  # the same rows and SHA-256
    assert [e["file"] for e in theirs["data"]["rejected_examples"]["bad_date"]] == [url]
    mine["data"]["rejected_examples"] = theirs["data"]["rejected_examples"]  # they name the file
    for block in ("data", "customers", "model", "schemes"):
        assert theirs[block] == mine[block], block
    # a local build says how to read it
    result = CliRunner().invoke(cli.cli, ["build", str(by_url), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "sales files given by URL are read by the workers of a Dask cluster" in result.output


def test_a_url_that_cannot_be_read_names_it(cluster, tmp_path):
    program = write_program(tmp_path / "in")
    url = (tmp_path / "in" / "missing.csv").as_uri()
    program.write_text(program.read_text(encoding="utf-8").replace("  path: sales.csv\n", f"  path: {url}\n"),
                       encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(tmp_path / "site"),
                                          "--scheduler", cluster[0]])
    assert result.exit_code == 1
    assert f"{url}: cannot be read (FileNotFoundError" in result.output
    assert "Fix: check the URL, and the workers' credentials for it." in result.output


def test_a_glob_of_urls_reads_every_match_in_order(cluster, tmp_path):
    # file:///…/drop-*.csv lists the two drops on a worker (sorted, as a local glob is); the
    # same figures as a local build of the two files by path
    program = _messy_program(tmp_path / "in")
    folder = tmp_path / "in"
    (folder / "sales.csv").rename(folder / "drop-1.csv")
    (folder / "sales-2.csv").rename(folder / "drop-2.csv")
    text = program.read_text(encoding="utf-8")
    program.write_text(text.replace("[sales.csv, sales-2.csv]", "drop-*.csv"), encoding="utf-8")
    by_url = folder / "by-url.yaml"
    by_url.write_text(text.replace("[sales.csv, sales-2.csv]", (folder / "drop-*.csv").as_uri().replace("%2A", "*"))
                      .replace("name: Test café", "id: cafe\nname: Test café"), encoding="utf-8")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _build([str(program), "--out", str(local)]).exit_code == 0
    result = _build([str(by_url), "--out", str(remote)], cluster[0])
    assert result.exit_code == 0, result.output
    mine, theirs = (json.loads((site / "cafe" / "results.json").read_text()) for site in (local, remote))
    assert [i["path"] for i in theirs["inputs"]] == [(folder / f"drop-{n}.csv").as_uri() for n in (1, 2)]
    assert [i["rows"] for i in theirs["inputs"]] == [i["rows"] for i in mine["inputs"]]
    mine["data"]["rejected_examples"] = theirs["data"]["rejected_examples"]  # they name the file
    for block in ("data", "customers", "model", "schemes"):
        assert theirs[block] == mine[block], block
    # a pattern nothing matches names itself
    by_url.write_text(by_url.read_text(encoding="utf-8").replace("drop-*", "nothing-*"), encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["build", str(by_url), "--out", str(tmp_path / "none"),
                                          "--scheduler", cluster[0]])
    assert result.exit_code == 1
    assert "nothing-*.csv: no file matches this pattern" in result.output
    assert not (tmp_path / "none").exists()


def _hide(name: str) -> None:
    """Make the files called ``name`` invisible to this worker's punchcard, as on a machine
    that does not mount the folder (a LocalCluster's workers share this machine's disks)."""
    from punchcard import cluster as c

    real = c.Path

    class Hidden(type(real())):
        def exists(self, *args, **kwargs):
            return self.name != name and super().exists(*args, **kwargs)

    c.Path = Hidden


def _unhide() -> None:
    from pathlib import Path as real

    from punchcard import cluster as c

    c.Path = real


def test_a_local_file_the_workers_cannot_see_fails_the_build_with_the_fix(cluster, tmp_path):
    address, client = cluster
    program = write_program(tmp_path / "in")
    out = tmp_path / "site"
    client.run(_hide, "sales.csv")
    try:
        result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--scheduler", address])
    finally:
        client.run(_unhide)
    assert result.exit_code == 1
    assert re.search(r"sales\.csv: the Dask worker tcp://\S+ cannot see this sales file\. Every worker reads "
                     r"sales files itself", result.output), result.output
    assert "Fix: put the files on a file system all workers mount at the same path" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_terminal_shows_the_tasks_finished_as_the_scheduler_reports_them(cluster, tmp_path):
    # on a terminal (a pseudo-terminal here) each batch of tasks draws a bar of the tasks
    # finished: the sales file's 4 KiB byte ranges (about 30 KB of CSV: 8 tasks) and the
    # two row partitions (at least one per worker)
    import pty

    program = write_program(tmp_path / "in")
    size = (tmp_path / "in" / "sales.csv").stat().st_size
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PUNCHCARD_SCHEDULER", "DASK_SCHEDULER_ADDRESS")}
    env.update(PUNCHCARD_RANGE_BYTES="4096", COLUMNS="100")
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "punchcard.cli", "build", str(program), "--out",
                             str(tmp_path / "site"), "--scheduler", cluster[0]],
                            stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            block = os.read(main, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not block:
            break
        chunks.append(block)
    os.close(main)
    assert proc.wait(timeout=300) == 0
    text = b"".join(chunks).decode("utf-8", "replace")
    match = re.search(r"cafe: 1 sales file in (\d+) read tasks", text)
    assert match and int(match.group(1)) >= size // 4096 >= 4, text[-2000:]
    n = int(match.group(1))
    assert re.search(rf"cafe: files and byte ranges read\s+\[#+\]\s+{n}/{n}", text), text[-2000:]
    assert re.search(r"cafe: row partitions\s+\[#+\]\s+2/2", text), text[-2000:]
