"""An installed (non-editable) punchcard carries its templates, catalogs and docs."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_templates_catalogs_and_docs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if result.returncode != 0 and "hatchling" in result.stderr:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
             str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("punchcard-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*")
                           if p.is_file()):
        assert f"punchcard/{template}" in names, template
    for doc in ("docs/method.md", "docs/forecast.md", "docs/i18n/method.nb.md"):
        assert f"punchcard/{doc}" in names, doc
    for lang in ("nb", "sv", "pl", "pt_BR", "pt_PT"):
        assert f"punchcard/locales/{lang}/LC_MESSAGES/messages.po" in names, lang
    assert "punchcard/cli.py" in names
