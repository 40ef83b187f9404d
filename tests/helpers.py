"""Small programs written in code for end-to-end tests (no downloads, no shipped data)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

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
