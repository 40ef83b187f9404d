"""The write stage: atomic swap, the marker file, and refusing to replace foreign folders."""

from pathlib import Path

import pytest

from punchcard.errors import PunchcardError
from punchcard.site.write import MARKER, atomic_site


def _fill(text: str):
    def fill(tmp: Path) -> None:
        (tmp / "index.html").write_text(text, encoding="utf-8")
    return fill


def test_new_site_gets_marker_and_content(tmp_path):
    out = tmp_path / "site"
    atomic_site(out, _fill("one"))
    assert (out / "index.html").read_text() == "one"
    assert (out / MARKER).is_file()
    # nothing left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_rebuild_replaces_own_site(tmp_path):
    out = tmp_path / "site"
    atomic_site(out, _fill("one"))
    (out / "stale.html").write_text("old page")
    atomic_site(out, _fill("two"))
    assert (out / "index.html").read_text() == "two"
    assert not (out / "stale.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_failed_build_leaves_previous_site_untouched(tmp_path):
    out = tmp_path / "site"
    atomic_site(out, _fill("good"))

    def broken(tmp: Path) -> None:
        (tmp / "index.html").write_text("half")
        raise PunchcardError("boom")

    with pytest.raises(PunchcardError):
        atomic_site(out, broken)
    assert (out / "index.html").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_refuses_foreign_non_empty_folder(tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(PunchcardError, match="did not build"):
        atomic_site(out, _fill("x"))
    assert (out / "thesis.tex").read_text() == "precious"


def test_empty_folder_is_fine(tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    atomic_site(out, _fill("x"))
    assert (out / "index.html").read_text() == "x"


def test_the_site_package_imports_its_rendering_side_only_when_asked():
    # a build takes the lock and recovers a killed build's leftovers before reading, and
    # imports the rendering side (Plotly, Babel: half a second) beside the read
    import subprocess
    import sys

    code = ("import sys, punchcard.site as s; before = 'punchcard.site.render' in sys.modules; "
            "from punchcard.site import render_site, has_site_text; from punchcard.site.render import render_site as r; "
            "print(before, render_site is r, callable(has_site_text))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]
