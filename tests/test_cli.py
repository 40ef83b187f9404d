"""The CLI is thin wiring: every command has help with an example, and exit codes are 0/1/2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from punchcard import cli


@pytest.mark.parametrize("name", sorted(cli.cli.commands))
def test_commands_have_help_with_example(name):
    command = cli.cli.commands[name]
    assert command.help, f"{name} is missing its help"
    assert "Example" in command.help, f"{name}'s help has no example"
    result = CliRunner().invoke(cli.cli, [name, "-h"])
    assert result.exit_code == 0
    assert f"punchcard {name}" in result.output


def test_spec_commands_exist():
    assert {"build", "validate", "init", "sample-data", "schema", "serve"} <= set(cli.cli.commands)


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "punchcard.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_usage_error_exits_2():
    result = _run("build", "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_bad_input_exits_1_without_traceback(tmp_path):
    result = _run("validate", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "missing.yaml" in result.stderr


def test_no_programs_here_is_an_error_with_a_fix(tmp_path):
    result = _run("build", cwd=tmp_path)
    assert result.returncode == 1
    assert "punchcard init" in result.stderr


def test_environment_variables_reach_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUNCHCARD_SEED", "not-a-number")
    result = CliRunner().invoke(cli.cli, ["build", "x.yaml"])
    assert result.exit_code == 2
    assert "seed" in result.output.lower()


def test_threads_do_not_change_the_figures(tmp_path: Path) -> None:
    # one thread and two give identical figures (replays side by side, kernels on every thread)
    import json as _json
    import os

    import numba

    from punchcard.cli import cli

    prog = Path(__file__).resolve().parents[1] / "programs" / "kaffebar-oslo.yaml"
    outs = []
    try:
        for n in (1, 2):
            out = tmp_path / f"t{n}"
            res = CliRunner().invoke(cli, ["build", str(prog), "--out", str(out), "-q", "--threads", str(n)],
                                     catch_exceptions=False)
            assert res.exit_code == 0, res.output
            outs.append(_json.loads((out / "kaffebar-oslo" / "results.json").read_text()))
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        os.environ.pop("PUNCHCARD_THREADS", None)
    assert outs[0]["schemes"] == outs[1]["schemes"] and outs[0]["model"] == outs[1]["model"]
    # the pilot plan: inline with one thread, on a thread of its own beside the simulation with two
    assert outs[0]["pilot"] == outs[1]["pilot"] and outs[0]["decision"] == outs[1]["decision"]


# --- help (issue 17, item 8) and init on unseen exports (items 2, 4) ----------------------


def test_command_summaries_are_not_cut():
    result = CliRunner().invoke(cli.cli, ["-h"], terminal_width=80)
    commands = result.output.split("Commands:")[1]
    assert "..." not in commands
    for name in cli.cli.commands:
        assert f"  {name} " in commands


def test_build_help_names_every_environment_variable():
    text = CliRunner().invoke(cli.cli, ["build", "-h"]).output
    for var in ("OUT", "SEED", "DRAWS", "TEMPLATES", "FORCE", "CHECK", "STRICT", "JSON", "QUIET",
                "THREADS"):
        assert f"PUNCHCARD_{var}" in text, var


def test_init_help_says_what_it_checks():
    text = " ".join(CliRunner().invoke(cli.cli, ["init", "-h"]).output.split())
    assert "then validate it" not in text
    assert "reads the whole export" in text and "schema.json" in text


def test_init_on_a_german_export(tmp_path):
    from tests.exports import german_line_items

    truth = german_line_items(tmp_path / "rechnungen.csv")
    out = tmp_path / "programs" / "rechnungen.yaml"
    result = CliRunner().invoke(cli.cli, ["init", str(tmp_path / "rechnungen.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert 'customer: "Kundennummer"' in text and 'decimal: ","' in text
    assert "currency: EUR" in text
    # every guess and every default carries the mark
    for key in ("locale:", "currency:", "customer:", "date:", "amount:", "gross_margin:",
                "enrollment:", "visit_lift:", "redemption_rate:"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(key))
        assert "# TODO: check" in line, line
    # the report: counted rows, each guess with evidence and confidence, the whole file read
    assert f"{truth['lines']:,} rows (counted)" in result.output
    assert "'Kundennummer' (high; header is 'kundennummer' (German)" in result.output
    assert f"{truth['lines']:,} of {truth['lines']:,} rows used" in result.output
    assert f"{truth['invoices']:,} visits of {truth['customers']:,} customers" in result.output
    assert "schema.json (the JSON Schema" in result.output


def test_init_exits_1_with_what_it_found(tmp_path):
    sales = tmp_path / "s.csv"
    sales.write_text("Ref,Kundennummer,Notiz\nA1,17,hallo\nA2,18,ja\n", encoding="utf-8")
    out = tmp_path / "p.yaml"
    result = CliRunner().invoke(cli.cli, ["init", str(sales), "-o", str(out)])
    assert result.exit_code == 1
    assert "'Kundennummer' (" in result.output  # what it found is reported
    assert "date      NOT FOUND" in result.output and "amount    NOT FOUND" in result.output
    assert "no date and no amount column found" in result.output
    assert "# date: ???" in out.read_text(encoding="utf-8")  # written, with the gap marked


def _run_command(code: str, *args: str, cwd=None):
    """Run ``code`` (which ends by calling ``punchcard.cli.run``, the ``punchcard`` command) with ``args``.

    Its standard streams are buffered (no PYTHONUNBUFFERED), as a CI job's pipes are: what run()
    does not flush is lost."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, env=env)


def test_the_command_runs_exit_handlers_and_keeps_its_exit_code(tmp_path):
    # run() leaves with os._exit (no teardown): what atexit holds still runs, output arrives whole
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stdout.write('HANDLER RAN\\n'))  # left in the buffer\n"
            "from punchcard.cli import run\nrun()\n")
    ok = _run_command(code, "schema")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.rstrip().endswith("HANDLER RAN")
    assert '"$schema"' in ok.stdout  # the whole schema, flushed before the exit
    bad = _run_command(code, "validate", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 1
    assert "missing.yaml" in bad.stderr and "HANDLER RAN" in bad.stdout
    usage = _run_command(code, "build", "--no-such-option")
    assert usage.returncode == 2 and "HANDLER RAN" in usage.stdout


def test_the_command_waits_for_a_running_thread_that_is_not_a_daemon():
    # a thread still at work (not a daemon) gets the normal exit, which waits for it
    code = ("import threading, time\n"
            "def late():\n    time.sleep(0.5)\n    print('THREAD FINISHED', flush=True)\n"
            "threading.Thread(target=late).start()\n"
            "from punchcard.cli import run\nrun()\n")
    result = _run_command(code, "--version")
    assert result.returncode == 0, result.stderr
    assert "THREAD FINISHED" in result.stdout


def test_the_command_is_run_not_main():
    # the console script skips the teardown (cli.run); main() still raises SystemExit for callers
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))
    assert pyproject["project"]["scripts"]["punchcard"] == "punchcard.cli:run"
    with pytest.raises(SystemExit) as exc:
        sys.argv, saved = ["punchcard", "--version"], sys.argv
        try:
            cli.main()
        finally:
            sys.argv = saved
    assert exc.value.code == 0
