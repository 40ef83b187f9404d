"""What many tests share: the repository's paths, the real data files, small programs and ledgers.

Programs and sales files are written in code (no downloads). Real public logs come from
``tests/data/`` (small, shipped with the repository; see its README for sources and
licences) or, for the larger ones, from a ``shared/data/real/`` folder beside the clone;
a test that needs a file that is in neither place is skipped with the reason.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DATA = ROOT / "tests" / "data"
SHARED_REAL = ROOT.parent / "shared" / "data" / "real"


def real_file(name: str) -> Path:
    """Return the path of a real public data file, or skip the test saying where it was looked for."""
    for folder in (DATA, SHARED_REAL):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is not in tests/data/ (too large to ship) nor in {SHARED_REAL}")


def epoch(d: date) -> int:
    """Return a date as days since 1970-01-01 (the ledger's day numbers)."""
    return (d - date(1970, 1, 1)).days


def make_ledger(tx: pl.DataFrame, start: int, end: int, n: int):
    """Build a Ledger straight from a (cust, day, amount, items) frame."""
    from punchcard.ingest import DataQuality, Ledger

    tx = tx.select(
        pl.col("cust").cast(pl.Int32), pl.col("day").cast(pl.Int32),
        pl.col("amount").cast(pl.Float64), pl.col("items").cast(pl.Float64),
    ).sort(["cust", "day", "amount"])
    anon = pl.DataFrame(schema={"day": pl.Int32, "amount": pl.Float64, "items": pl.Float64})
    cust_hash = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(12345)
    return Ledger(tx=tx, anon=anon, n_customers=n, cust_hash=cust_hash, birthday_doy=None,
                  start_day=start, end_day=end, quality=DataQuality(len(tx), len(tx)))


def cdnow_ledger(path: Path | None = None):
    """The CDNOW sample as a Ledger over 1997-01-01..1998-06-30, built by hand (no reading rules)."""
    df = pl.read_csv(path or real_file("cdnow_sample.csv"),
                     schema_overrides={"customer_id": pl.Utf8, "date": pl.Utf8})
    ids = df["customer_id"].unique().sort()
    df = df.with_columns(
        pl.col("date").str.strptime(pl.Date, "%Y%m%d").cast(pl.Int32).alias("day"),
        pl.col("customer_id").replace_strict(ids, pl.int_range(len(ids), eager=True)).alias("cust"),
        pl.col("cds").alias("items"),
    )
    return make_ledger(df, epoch(date(1997, 1, 1)), epoch(date(1998, 6, 30)), len(ids))

SECRET_IDS = [f"kunde-{i:04d}@example.no" for i in range(60)]


def write_sales(path: Path, *, customers: int = 60, days: int = 400, seed: int = 3) -> Path:
    """Write a plain ISO CSV of a small café: e-mail ids, a few returns and anonymous sales."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    lines = ["customer,date,amount,items"]
    for c in range(customers):
        ident = SECRET_IDS[c % len(SECRET_IDS)]
        first = rng.randrange(0, days // 2)
        visits = 1 + int(rng.expovariate(1 / 8))
        for _ in range(visits):
            d = start + timedelta(days=min(days - 1, first + rng.randrange(0, days - first)))
            amount = round(rng.uniform(30, 120), 2)
            lines.append(f"{ident},{d.isoformat()},{amount:.2f},{rng.randint(1, 3)}")
    for i in range(40):  # anonymous sales
        d = start + timedelta(days=rng.randrange(0, days))
        lines.append(f",{d.isoformat()},{rng.uniform(20, 60):.2f},1")
    lines.append(f"{SECRET_IDS[0]},2025-06-01,-45.00,1")  # a return
    lines.append(f"{SECRET_IDS[1]},2025-13-40,50.00,1")  # a bad date, rejected
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PROGRAM = """\
name: {name}
locale: {locale}
currency: NOK
sales:
  path: sales.csv
business:
  gross_margin: 0.68
  fixed_costs: {{setup: 1000, monthly: 100, per_member_year: 2}}
assumptions:
  enrollment: {{low: 0.3, likely: 0.4, high: 0.5}}
  visit_lift: {{low: 0.0, likely: 0.04, high: 0.08}}
  redemption_rate: 0.9
forecast:
  draws: {draws}
schemes:
  - id: tenth-free
    name: {scheme_name}
    kind: stamp_card
    stamps: 9
    reward: {{value: 49, cost: 14}}
    expiry_days: 365
  - id: points
    name: Points
    kind: points
    earn_per_unit: 1
    point_value: 0.1
    min_redeem: 100
  - id: discount
    name: Member discount
    kind: member_discount
    rate: 0.05
"""


def write_program(folder: Path, *, name: str = "Test café", scheme_name: str = "Tenth coffee free",
                  locale: str = "en-GB", draws: int = 20, stem: str = "cafe",
                  **sales_kw) -> Path:
    """Write ``folder/<stem>.yaml`` and its ``sales.csv``; return the program path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sales(folder / "sales.csv", **sales_kw)
    path = folder / f"{stem}.yaml"
    path.write_text(PROGRAM.format(name=name, scheme_name=scheme_name, locale=locale,
                                   draws=draws), encoding="utf-8")
    return path


# -- tiny programs for the forecast and the sentences --------------------------------------

def fake_replay(scheme, tx, ctx):
    """A stand-in for schemes.replay: 5 % of every member purchase, nothing for perks."""
    from types import SimpleNamespace

    rate = 0.0 if scheme.kind == "perks" else 0.05
    return SimpleNamespace(cost=rate * tx.amount, liability=np.zeros(tx.n_customers))


def program(*schemes, margin: float = 0.3, fixed=None, max_customers: int = 20000):
    """Return a one-business Program around the given schemes (no sales files)."""
    from punchcard.program import Business, FixedCosts, ForecastSettings, Program, Sales

    return Program(path=Path("p.yaml"), id="p", name="p", locale="en-US", currency="USD",
                   sales=Sales(paths=()), business=Business(gross_margin=margin, horizon_months=12,
                                                            fixed_costs=fixed or FixedCosts()),
                   schemes=schemes, forecast=ForecastSettings(max_customers=max_customers))


def scheme(kind: str = "member_discount", params=None, **assume):
    """Return a Scheme of a kind (a 5 % member discount by default) with fixed assumptions."""
    from punchcard.program import Assumptions, Range, Scheme, SegmentRange
    from punchcard.schemes.member_discount import MemberDiscountParams
    from punchcard.schemes.perks import PerksParams

    params = params or (MemberDiscountParams(rate=0.05) if kind == "member_discount" else PerksParams())
    a = Assumptions(**{k: v if isinstance(v, (Range, SegmentRange)) else Range.fixed(v) for k, v in assume.items()})
    return Scheme(id=kind, name=kind, kind=kind, params=params, assumptions=a)
