"""End to end: build, determinism, atomic failure, incremental builds, --check/--strict/--json."""

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchcard import cli
from punchcard.errors import PunchcardError
from tests.helpers import real_file, write_program, write_sales


def _build(*args):
    return CliRunner().invoke(cli.cli, ["build", *args], catch_exceptions=False)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_writes_every_page(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    result = _build(str(program), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    for page in ["index.html", "assets/plotly.min.js", ".nojekyll", ".punchcard-site",
                 "cafe/index.html", "cafe/customers.html", "cafe/method.html",
                 "cafe/results.json", "cafe/results.csv",
                 "cafe/schemes/tenth-free.html", "cafe/schemes/points.html",
                 "cafe/schemes/discount.html"]:
        assert (out / page).is_file(), page
    results = json.loads((out / "cafe" / "results.json").read_text())
    assert results["schema_version"] == 1
    assert [s["id"] for s in results["schemes"]] == ["tenth-free", "points", "discount"]
    assert sorted(s["rank"] for s in results["schemes"]) == [1, 2, 3]
    assert results["data"]["rows_rejected"] == {"bad_date": 1}


def test_two_builds_are_byte_identical(tmp_path):
    program = write_program(tmp_path / "programs")
    _build(str(program), "--out", str(tmp_path / "a"), "--quiet")
    _build(str(program), "--out", str(tmp_path / "b"), "--quiet")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_failed_build_leaves_previous_site(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    _build(str(program), "--out", str(out), "--quiet")
    before = _tree(out)
    program.write_text(program.read_text().replace("stamps: 9", "stamps: -9"))
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out)])
    assert result.exit_code == 1
    assert "stamps" in result.output
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programs", "site"]


def test_unchanged_program_is_not_rebuilt_unless_forced(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    _build(str(program), "--out", str(out), "--quiet")
    first = _tree(out)
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--json"])
    summary = json.loads(result.stdout)
    assert summary["programs"][0]["reused"] is True
    assert _tree(out) == first
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--json",
                                          "--force"])
    assert json.loads(result.stdout)["programs"][0]["reused"] is False
    assert _tree(out) == first


def test_check_reports_stale_site(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--check"])
    assert result.exit_code == 1
    assert "not built yet" in result.output
    _build(str(program), "--out", str(out), "--quiet")
    assert CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out),
                                        "--check"]).exit_code == 0
    write_sales(program.parent / "sales.csv", seed=4)  # a new data drop
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--check"])
    assert result.exit_code == 1
    assert "stale" in result.output and "cafe.yaml" in result.output


def test_strict_fails_on_warnings_and_writes_nothing(tmp_path):
    program = write_program(tmp_path / "programs")  # has one row with a bad date
    out = tmp_path / "site"
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--strict"])
    assert result.exit_code == 1
    assert "rejected" in result.output
    assert not out.exists()


def test_json_summary_and_changes_since_last_drop(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    _build(str(program), "--out", str(out), "--quiet")
    old = json.loads((out / "cafe" / "results.json").read_text())
    assert old["changes"] is None
    write_sales(program.parent / "sales.csv", seed=9, customers=70)
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    entry = summary["programs"][0]
    assert entry["reused"] is False
    changes = entry["changes"]
    assert changes["data"]["revenue"]["old"] == old["data"]["revenue"]
    assert changes["data"]["revenue"]["new"] == entry["revenue"]
    assert {s["id"] for s in changes["schemes"]} == {"tenth-free", "points", "discount"}
    new = json.loads((out / "cafe" / "results.json").read_text())
    assert new["changes"] == changes
    page = (out / "cafe" / "index.html").read_text()
    assert 'id="changes"' in page


def test_copy_of_site_rebuilds_identically(tmp_path):
    """Forcing a rebuild over an existing site with the same inputs changes nothing."""
    program = write_program(tmp_path / "programs")
    out = tmp_path / "site"
    _build(str(program), "--out", str(out), "--quiet")
    shutil.copytree(out, tmp_path / "copy")
    _build(str(program), "--out", str(tmp_path / "copy"), "--quiet", "--force")
    assert _tree(out) == _tree(tmp_path / "copy")


def _accepting(program: Path, accept: str) -> Path:
    text = program.read_text(encoding="utf-8").replace("  path: sales.csv\n",
                                                       f"  path: sales.csv\n  accept: {accept}\n")
    program.write_text(text, encoding="utf-8")
    return program


CDNOW_PROGRAM = """\
name: CDNOW sample
currency: USD
sales:
  path: {path}
  format: {{zero_amount: reject}}
  accept: {accept}
business: {{gross_margin: 0.3}}
forecast: {{draws: 20}}
schemes:
  - {{id: stamps, kind: stamp_card, stamps: 5, reward: {{value: 10}}}}
"""


@pytest.mark.slow
def test_strict_passes_on_accepted_rejections(tmp_path):
    # The CDNOW sample (a real export) has 8 lines of amount 0.00, rejected here by
    # `format.zero_amount: reject` (by default they are visits with no revenue):
    # --strict fails on them unless the program accepts them.
    def build(accept: str):
        program = tmp_path / "cdnow.yaml"
        program.write_text(CDNOW_PROGRAM.format(path=real_file("cdnow_sample.csv"), accept=accept),
                           encoding="utf-8")
        out = tmp_path / "site"
        return CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--strict",
                                            "--quiet", "--force"]), out

    result, out = build("{bad_date: 0}")
    assert result.exit_code == 1 and "zero_amount: 8" in result.output
    assert "beyond what `sales.accept` allows" in result.output
    result, out = build("{zero_amount: any, duplicate_line: 1%}")
    assert result.exit_code == 0, result.output
    res = json.loads((out / "cdnow" / "results.json").read_text())
    assert res["data"]["rows_rejected"]["zero_amount"] == 8  # still counted and shown
    assert res["warnings"] == []
    # No order column: a customer's lines of one date are one visit (SPEC §3), and the data
    # page says so. CDNOW's sample has no anonymous sales, so the visits are its distinct
    # (customer, date) pairs: over the lines with an amount (zero-amount lines rejected), or
    # over all lines where zero-amount lines are kept as visits without revenue.
    import csv

    with open(real_file("cdnow_sample.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    paid = {(r["customer_id"], r["date"]) for r in rows if float(r["amount"]) != 0}
    every = {(r["customer_id"], r["date"]) for r in rows}
    assert res["data"]["visits"] == "date"
    assert res["data"]["transactions"] in (len(paid), len(every))
    assert len(paid) < len(rows) - 8  # several lines on one day: fewer visits than lines
    page = (out / "cdnow" / "customers.html").read_text(encoding="utf-8")
    assert (f"the lines of one customer on one date are one visit: "
            f"{res['data']['transactions']:,} visits in all") in page


def test_strict_fails_beyond_the_accepted_share(tmp_path):
    # one bad date in a few hundred rows is more than 0.01 % of them (and more than 0 rows)
    for accept in ("{bad_date: 0.01%}", "{bad_date: 0}", "{zero_amount: any}"):
        program = _accepting(write_program(tmp_path / accept[1:5]), accept)
        out = tmp_path / f"site-{accept[1:5]}"
        result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--strict"])
        assert result.exit_code == 1, accept
        assert "bad_date: 1" in result.output
        assert not out.exists()


def test_accept_share_and_count_limits():
    from punchcard.results.document import unaccepted

    # 14 zero-amount lines in 10,000 rows: 0.14 %; within 0.2 % and 14 rows, not 0.1 % or 13
    rejected = {"zero_amount": 14, "bad_date": 2}
    assert unaccepted(rejected, 10_000, {"zero_amount": ("share", 0.002)}) == {"bad_date": 2}
    assert unaccepted(rejected, 10_000, {"zero_amount": ("share", 0.001)}) == rejected
    assert unaccepted(rejected, 10_000, {"zero_amount": ("rows", 14), "bad_date": ("any", None)}) == {}
    assert unaccepted(rejected, 10_000, {"zero_amount": ("rows", 13)}) == rejected


def test_a_locale_without_site_text_warns(tmp_path):
    # de-DE: German numbers and dates with English words (docs/translating.md): said, not silent
    program = write_program(tmp_path / "programs", locale="de-DE")
    result = _build(str(program), "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert "no text in the language of locale de-DE" in result.output
    assert "Languages with site text: en, nb, pl, pt_BR, pt_PT, sv" in result.output
    from punchcard.build import locale_warning

    assert locale_warning("nb-NO") is None and locale_warning("en-US") is None
    assert locale_warning("de-DE") is not None
    override = tmp_path / "theme" / "locales"
    override.mkdir(parents=True)
    (override / "de.po").write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
    assert locale_warning("de-DE", tmp_path / "theme") is None  # the consultant's own words


def test_numpy_does_not_ask_for_huge_pages_unless_the_user_says_so() -> None:
    # the kernel's compaction to find transparent huge pages slowed reading, the backtest and
    # the forecast (bench/PROFILE.md): punchcard/__init__.py turns numpy's madvise off before
    # numpy is imported, unless NUMPY_MADVISE_HUGEPAGE is set; nothing turns it back on
    import subprocess
    import sys

    probe = ("import punchcard, numpy; from numpy._core import multiarray; "
             "print(multiarray._get_madvise_hugepage())")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    out = subprocess.run([sys.executable, "-c", probe], env={**env, "NUMPY_MADVISE_HUGEPAGE": "1"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # the user's setting wins


def test_a_build_leaves_huge_pages_off(tmp_path, monkeypatch) -> None:
    # no stage turns numpy's huge pages back on (they were on for the backtest until 19's last stop)
    from numpy._core import multiarray

    seen = []
    real = multiarray._set_madvise_hugepage
    monkeypatch.setattr(multiarray, "_set_madvise_hugepage", lambda flag: seen.append(flag) or real(flag))
    program = write_program(tmp_path / "programs")
    _build(str(program), "--out", str(tmp_path / "site"), "--quiet", "--no-cache")
    assert seen == []


# --- describing and the backtest beside the forecast (issue 19) ---------------------------------------------

def _stages(monkeypatch, n_workers: int, backtest, run_forecast):
    """Return _history_and_forecast's backtests and forecast, the two stages replaced by the given functions."""
    from types import SimpleNamespace

    import punchcard.build as build
    from punchcard import forecast, results, schemes

    monkeypatch.setattr(build, "workers", lambda: n_workers)
    monkeypatch.setattr(schemes, "run_backtest", lambda prog, ledger, progress=None, threads=None: backtest())
    monkeypatch.setattr(forecast, "run", lambda prog, ledger, before_break_even=None, **kw:
                        run_forecast(before_break_even or (lambda: None)))
    monkeypatch.setattr(results, "data_summary", lambda ledger: "data")
    monkeypatch.setattr(results, "describe", lambda ledger: "customers")
    prog = SimpleNamespace(id="p", schemes=[1, 2])
    data, customers, backtests, fc = build._history_and_forecast(prog, None, build.BuildOptions(), build.QUIET)
    assert (data, customers) == ("data", "customers")
    return backtests, fc


def test_the_backtest_runs_beside_the_forecast(monkeypatch) -> None:
    # the backtest waits for the forecast to have started: in sequence it would time out
    import threading

    # and the forecast's break-even (its largest arrays) waits for the backtest to be done
    started, seen = threading.Event(), []

    def backtest():
        seen.append(started.wait(20))
        seen.append("backtest done")
        return {"bt": threading.current_thread().name}

    def run_forecast(before_break_even):
        started.set()
        before_break_even()
        seen.append("break-even")
        return "fc"

    backtests, fc = _stages(monkeypatch, 2, backtest, run_forecast)
    assert seen == [True, "backtest done", "break-even"] and fc == "fc"
    assert backtests["bt"] != threading.current_thread().name


def test_one_thread_runs_the_backtest_then_the_forecast(monkeypatch) -> None:
    order = []
    backtests, fc = _stages(monkeypatch, 1, lambda: order.append("backtest") or {"bt": 1},
                            lambda hook: order.append("forecast") or "fc")
    assert order == ["backtest", "forecast"] and backtests == {"bt": 1} and fc == "fc"


def test_the_forecast_error_wins_and_a_backtest_error_surfaces(monkeypatch) -> None:
    def failing(message):
        def fail(*_hook):
            raise PunchcardError(message)
        return fail

    with pytest.raises(PunchcardError, match="forecast failed"):
        _stages(monkeypatch, 2, failing("backtest failed"), failing("forecast failed"))
    with pytest.raises(PunchcardError, match="backtest failed"):
        _stages(monkeypatch, 2, failing("backtest failed"), lambda hook: "fc")


def test_the_stages_beside_the_forecast_launch_no_parallel_kernels() -> None:
    # numba's default "workqueue" threading layer aborts when two threads launch parallel
    # kernels at once; only the forecast's simulation has them, so the history's stages
    # (ingest helpers, describing, the backtest) may run beside it on any machine
    src = Path(__file__).resolve().parents[1] / "src" / "punchcard"
    for package in ("ingest", "results", "schemes"):
        for module in sorted((src / package).glob("*.py")):
            assert "parallel=True" not in module.read_text(encoding="utf-8"), module
