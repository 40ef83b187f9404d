"""The CLI is thin wiring: every command has help with an example, and exit codes are 0/1/2."""

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
