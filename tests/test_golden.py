"""The committed site/ is the golden output of programs/: rebuilding reproduces it byte for byte.

After an intended change, refresh it with `punchcard build --force` and commit site/ with it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_site_is_rebuilt_byte_for_byte(tmp_path):
    programs = sorted((ROOT / "programs").glob("*.yaml"))
    assert programs, "programs/ holds no example program"
    out = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH",)}
    result = subprocess.run(
        [sys.executable, "-m", "punchcard.cli", "build", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stderr
    built, committed = _tree(out), _tree(ROOT / "site")
    assert sorted(built) == sorted(committed), "site/ has different files: rebuild and commit"
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"site/ is stale in {stale[:10]}: run `punchcard build --force` and commit"


def test_schema_json_is_current():
    from punchcard.program import program_json_schema
    import json

    expected = json.dumps(program_json_schema(), indent=2, ensure_ascii=False,
                          sort_keys=True) + "\n"
    assert (ROOT / "schema.json").read_text(encoding="utf-8") == expected, (
        "schema.json is stale: run `punchcard schema -o schema.json`")
