"""Fixtures of the adversarial suite (its helpers are in ``running.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_program


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A small valid program (60 customers) in tmp_path/programs."""
    return write_program(tmp_path / "programs")
