"""Fixtures shared across the test packages: the hand-built CDNOW ledger.

Plain helpers (paths, real data files, small programs and ledgers) live in
``tests/helpers.py``; fixtures that several test modules request live here.
``-m "not slow"`` skips the fuzz, the real-data builds and the large runs while developing;
the README's test command runs everything.
"""

from __future__ import annotations

import pytest

from tests.helpers import cdnow_ledger


@pytest.fixture(scope="session")
def cdnow():
    """The CDNOW sample (Fader, Hardie & Lee 2005) as a Ledger built by hand, not by reading."""
    return cdnow_ledger()
