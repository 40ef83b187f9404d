"""perks scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.perks import PerksParams
from tests.schemes.replaying import run



def test_perk_costs_accrue_per_member_day():
    # 365.25 a member-year + 2 events × 10 = 385.25 a year; joined day 0, window 0..364
    rep = run("perks", PerksParams(365.25, 10, 2), [(0, 0, 10)], end=364, r=0.3)
    assert np.isclose(rep.accrued[0], 365 * 385.25 / 365.25)
    assert rep.cost.sum() == 0 and rep.cust_earned.sum() == 0
