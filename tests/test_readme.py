"""The README's first screen holds the two set-up commands, and CI runs the same test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands), "each set-up command is one line"
    assert "punchcard build" in commands[0]
    assert "pytest" in commands[1]


def test_setup_section_is_on_the_first_screen():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    last = max(i for i, line in enumerate(readme) if "pytest" in line and "pip install" in line)
    assert last < 40, "the two set-up commands must fit on the first screen"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert _setup_commands()[1] in commands
