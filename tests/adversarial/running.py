"""Helpers of the adversarial suite: run the CLI, and check that a failure is a message
(naming the input and the fix), never a traceback or an "internal error"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

import punchcard
from punchcard import cli
from tests.helpers import write_program

SRC = Path(punchcard.__file__).resolve().parents[1]
BAD = ("internal error", "Traceback", "Exception ignored")


def invoke(*args: str, env: dict | None = None) -> Result:
    """Run ``punchcard ARGS`` in this process (CliRunner) and return the result."""
    return CliRunner().invoke(cli.cli, [str(a) for a in args], env=env)


def clean(result: Result | subprocess.CompletedProcess) -> str:
    """Return the command's output after asserting it holds no traceback and no internal error."""
    if isinstance(result, subprocess.CompletedProcess):
        text = (result.stdout or "") + (result.stderr or "")
    else:
        text = result.output
        exc = result.exception
        assert exc is None or isinstance(exc, SystemExit), f"unexpected {exc!r}\n{text}"
    for bad in BAD:
        assert bad not in text, text
    return text


def fails(result, *fragments: str, code: int = 1) -> str:
    """Assert the command failed with ``code`` and a message holding every fragment; return it."""
    text = clean(result)
    got = result.exit_code if isinstance(result, Result) else result.returncode
    assert got == code, f"exit {got}, expected {code}:\n{text}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    return text


def succeeds(result) -> str:
    """Assert the command exited 0 with clean output; return the output."""
    text = clean(result)
    got = result.exit_code if isinstance(result, Result) else result.returncode
    assert got == 0, text
    return text


def subprocess_env(**extra: str) -> dict:
    """Return the environment for a punchcard subprocess running this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHCARD_")}
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env["CI"] = "1"
    env.update(extra)
    return env


def start(*args: str, cwd: Path | None = None, **extra: str) -> subprocess.Popen:
    """Start ``punchcard ARGS`` as a child process (text pipes)."""
    return subprocess.Popen([sys.executable, "-c", "from punchcard.cli import main; main()",
                             *[str(a) for a in args]], cwd=cwd, env=subprocess_env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(*args: str, timeout: float = 60, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
    """Run ``punchcard ARGS`` as a child process with a bounded time."""
    return subprocess.run([sys.executable, "-c", "from punchcard.cli import main; main()",
                           *[str(a) for a in args]], cwd=cwd, env=subprocess_env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def edit(path: Path, old: str, new: str) -> Path:
    """Replace ``old`` (which must be there) by ``new`` in a text file."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def write_forecast_program(folder: Path, *, draws: int = 400, customers: int = 800) -> Path:
    """A program on realistic synthetic sales (the forecast runs: about 7 s at 400 draws)."""
    from datetime import date

    from punchcard import sample

    program = write_program(folder, draws=draws)
    sample.generate(folder / "sales.csv", customers=customers, days=500, start=date(2025, 1, 1),
                    seed=1, dialect="iso", profile="cafe", anonymous_share=0.15, return_share=0.01,
                    birthdays=False, order_lines=False)
    return program
