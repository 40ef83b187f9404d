"""Stage 7: write a site atomically — build beside the target, then swap it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from punchcard.errors import PunchcardError

MARKER = ".punchcard-site"
MARKER_TEXT = "This folder is a site built by punchcard; `punchcard build` may replace it.\n"


def is_punchcard_site(folder: Path) -> bool:
    """Return True when ``folder`` holds punchcard's marker file."""
    return (folder / MARKER).is_file()


def check_replaceable(out: Path) -> None:
    """Raise unless ``out`` is absent, empty, or a site punchcard built earlier."""
    if out.exists() and not out.is_dir():
        raise PunchcardError(
            f"{out}: exists and is not a folder. Choose another output with --out."
        )
    if out.is_dir() and any(out.iterdir()) and not is_punchcard_site(out):
        raise PunchcardError(
            f"{out}: is a non-empty folder that punchcard did not build (no {MARKER} "
            "file), so it will not be replaced. Choose an empty or new folder with --out."
        )


def atomic_site(out: Path, fill: Callable[[Path], None]) -> None:
    """Build the site with ``fill(tmp)`` in a folder beside ``out`` and swap it in when complete.

    On any failure the temporary folder is removed and ``out`` is left untouched.
    """
    out = out.resolve()
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        fill(tmp)
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        os.chmod(tmp, 0o755)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
