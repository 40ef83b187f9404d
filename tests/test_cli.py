"""The CLI is thin wiring: every command has help with an example, and exit codes are 0/1/2."""

import subprocess
import sys

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
