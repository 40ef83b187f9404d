"""Sales exports of three different shapes, written in code (seeded), for `init` and ingest tests.

Made up for punchcard's tests (no public file copied): the header vocabulary is what
such exports typically use, the values are random but seeded.

* ``german_line_items``: a German till's line items in cp1252 — invoice number, date,
  customer number, article number, description, quantity, unit price and line amount in
  German, decimal comma, the currency in the headers;
* ``grocery``: a grocery export with no order column where ``AMOUNT`` holds quantities and
  the money is the line total in ``SALES_PRICE``; dates written ``11/1/2000``; a customer
  buys several lines on one day;
* ``english_gbp``: an English export with timestamps, ``£`` amounts and a ``Currency``
  column; no order column, so the lines of one customer at one timestamp are one visit.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

ARTIKEL = [("10023", "Brötchen", 0.45), ("10311", "Käsebrot", 3.20), ("20100", "Kaffee groß", 2.90),
           ("20117", "Müsli-Becher", 4.50), ("30001", "Apfelschorle 0,5 l", 1.95)]


def german_line_items(path: Path, *, invoices: int = 400, seed: int = 7) -> dict:
    """Write the German export; return its true figures (lines, invoices, customers, total)."""
    rng = random.Random(seed)
    lines = ["Rechnungsnummer;Rechnungsdatum;Kundennummer;Artikelnummer;Bezeichnung;Menge;"
             "Einzelpreis (EUR);Betrag (EUR)"]
    customers = [f"K{4000 + i}" for i in range(60)]
    day = date(2025, 1, 2)
    total, seen = 0.0, set()
    for n in range(invoices):
        day += timedelta(days=rng.random() < 0.15)
        cust = rng.choice(customers)
        seen.add(cust)
        for art, name, price in rng.sample(ARTIKEL, rng.randint(1, 3)):
            qty = rng.choice([1, 1, 1, 2, 3])
            amount = round(qty * price, 2)
            total += amount
            money = f"{price:.2f};{amount:.2f}".replace(".", ",")
            lines.append(f"RE-{2025000 + n};{day:%d.%m.%Y};{cust};{art};{name};{qty};{money}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return {"lines": len(lines) - 1, "invoices": invoices, "customers": len(seen),
            "total": round(total, 2)}


def grocery(path: Path, *, customers: int = 80, days: int = 60, seed: int = 11) -> dict:
    """Write the grocery export; return its true figures (lines, customer-days, revenue)."""
    rng = random.Random(seed)
    items = [(f"{4710000 + 37 * i}", round(rng.uniform(0.5, 30), 2)) for i in range(120)]
    lines = ["TRANS_DT,CARD_NO,AGE_BAND,AREA,SUBCLASS,ITEM_CODE,AMOUNT,COST,SALES_PRICE"]
    rows, visits, revenue = [], set(), 0.0
    start = date(2000, 11, 1)
    for c in range(customers):
        card = f"{1000000 + 991 * c:08d}"
        band, area = rng.choice("ABCDEFGHIJ"), rng.choice(["105", "106", "110", "114", "115"])
        for _ in range(rng.randint(1, 6)):  # shopping days
            d = start + timedelta(days=rng.randrange(days))
            visits.add((card, d))
            for _ in range(rng.randint(1, 8)):  # lines bought that day
                code, unit = rng.choice(items)
                qty = rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 6])
                price = round(qty * unit, 2)
                revenue += price
                rows.append((d, f"{d.month}/{d.day}/{d.year},{card},{band},{area},"
                             f"{110000 + int(code) % 997},{code},{qty},{price * 0.8:.2f},{price:g}"))
    rows.sort(key=lambda r: r[0])
    lines += [r[1] for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"lines": len(rows), "visits": len(visits), "customers": customers,
            "revenue": round(revenue, 2)}


def english_gbp(path: Path, *, customers: int = 50, seed: int = 5) -> dict:
    """Write the English GBP export; return its true figures (lines, visits, revenue)."""
    rng = random.Random(seed)
    menu = [("Flat white", 3.40), ("Croissant", 2.60), ("Tea", 2.10), ("Sandwich", 5.95)]
    rows, visits, revenue = [], 0, 0.0
    for c in range(customers):
        email = f"guest{c:03d}@example.co.uk"
        for _ in range(rng.randint(1, 9)):
            ts = datetime(2025, 3, 1, 7) + timedelta(days=rng.randrange(120),
                                                     minutes=rng.randrange(600))
            visits += 1
            for product, price in rng.sample(menu, rng.randint(1, 3)):
                revenue += price
                rows.append((ts, f"{ts:%Y-%m-%d %H:%M},{email},{product},1,£{price:.2f},GBP"))
    rows.sort(key=lambda r: r[0])
    lines = ["Timestamp,Customer Email,Product,Quantity,Line Total,Currency"] + [r[1] for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"lines": len(rows), "visits": visits, "customers": customers, "revenue": round(revenue, 2)}
