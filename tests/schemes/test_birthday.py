"""birthday scheme: figures worked out by hand in the comments."""

from __future__ import annotations

import numpy as np

from punchcard.ingest import TxArrays
from punchcard.program import Scheme
from punchcard.schemes.birthday import BirthdayParams
from tests.schemes.replaying import run



from punchcard.schemes.birthday import birthdays

Y2023 = 19358  # 2023-01-01 in epoch days; a birthday on day of year 10 is 2023-01-10 = Y2023 + 9


def test_voucher_on_the_birthday_settled_within_the_window():
    p = BirthdayParams(15, window_days=30)
    b = Y2023 + 9
    # cust 0 visits 30 days after (last valid day) → redeemed; cust 1 on day 31 → expired
    rep = run("birthday", p, [(0, Y2023, 20), (0, b + 30, 10), (1, Y2023, 20), (1, b + 31, 40)],
              n=2, start=Y2023, end=Y2023 + 300, bdoy=[10, 10])
    assert rep.cost.tolist() == [0, 10, 0, 0]  # 15 capped at the bill of 10
    assert rep.expired.tolist() == [0, 1]
    assert rep.daily_expired[b + 31 - Y2023] == 1


def test_once_a_year_and_only_after_joining():
    # window 2023-01-01 .. 2024-12-31; joins 2023-02-01 → the 2023-01-10 birthday is missed,
    # 2024-01-10 gets one (outstanding? no: valid 30 days, long gone by the end → expired)
    rep = run("birthday", BirthdayParams(15), [(0, Y2023 + 31, 20)], start=Y2023,
              end=Y2023 + 730, bdoy=[10])
    assert rep.cust_earned[0] == 1 and rep.expired[0] == 1


def test_unknown_birthday_is_a_fixed_pseudo_random_day():
    h = np.array([1, 2, 3, 2], dtype=np.uint64)
    days = birthdays(np.array([-1, -1, 45, -1], np.int16), h)
    assert days[2] == 45 and days[1] == days[3]
    assert np.all((days >= 1) & (days <= 365))
