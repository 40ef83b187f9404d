"""Locate packaged files (templates, docs) in an installed wheel or a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # src/punchcard (this file is in site/)
_REPO = _PKG.parent.parent  # src/punchcard -> repo root in a checkout


def resource(name: str) -> Path:
    """Return the path of a packaged resource such as ``templates`` or ``docs/method.md``."""
    for base in (_PKG, _REPO):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"punchcard resource {name!r} is missing from the installation")


def templates_dir() -> Path:
    """Return the folder holding the packaged Jinja2 templates."""
    return resource("templates")


def method_doc() -> Path:
    """Return the path of docs/method.md (the accounting rules shown on the method page)."""
    return resource("docs/method.md")
