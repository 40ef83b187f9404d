"""The notebook baseline: what an analyst writes in pandas to replay ONE stamp card and
ONE points scheme over a sales export — read_csv, one row per order, sort, then a
per-customer groupby-apply of a plain Python function. Deliberately straightforward
(no numba, no vectorised tricks): it is the bar punchcard has to clear.

Usage: python bench/pandas_replay.py SALES.csv PROGRAM.yaml [--stamp ID] [--points ID]

The scheme parameters are read from the program file (the first stamp_card and the
first points scheme unless ids are given). Prints one JSON line with the totals and the
seconds per step. Rules follow SPEC §4 for these two kinds: returns (amount ≤ 0) earn and
settle nothing; a held stamp reward settles at the customer's next purchase within
`expiry_days` and that purchase earns no stamp; points are redeemed in `redeem_step`s
(capped at the bill) once the balance reaches `min_redeem`, earned on the amount paid
after the redemption, and the whole balance lapses after `expiry_months` (× 30.4375 days,
rounded down) without a transaction.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
import yaml

DAYS_PER_MONTH = 30.4375


def mean_of(value) -> float:
    """Return a number, or the mean of a {low, likely, high} range."""
    if isinstance(value, dict):
        return (value["low"] + value["likely"] + value["high"]) / 3
    return float(value)


def load_transactions(path: str) -> tuple[pd.DataFrame, int, int]:
    """Return identified transactions (one row per order) sorted by customer, day, amount,
    and the first and last day of the data (anonymous sales included)."""
    df = pd.read_csv(path, dtype={"customer": "string", "order": "string"})
    df["day"] = (pd.to_datetime(df["date"], format="%Y-%m-%d")
                 - pd.Timestamp("1970-01-01")).dt.days
    start, end = int(df["day"].min()), int(df["day"].max())
    df = df[df["customer"].notna()]
    tx = (df.groupby(["customer", "order"], as_index=False)
            .agg(day=("day", "min"), amount=("amount", "sum"), items=("items", "sum")))
    tx = tx[tx["amount"] != 0]  # zero-amount lines are rejected, as punchcard does
    tx = tx.sort_values(["customer", "day", "amount"], kind="stable")
    return tx, start, end


def stamp_card(g: pd.DataFrame, need: int, min_purchase: float, expiry: float,
               end: int) -> pd.Series:
    """Replay one customer's card: a stamp per qualifying visit, a reward per full card."""
    held: list[float] = []  # last valid day of each reward held
    stamps = 0
    earned = redeemed = expired = 0
    for day, amount in zip(g["day"], g["amount"]):
        if amount <= 0:
            continue
        if held:
            live = [e for e in held if e >= day]
            expired += len(held) - len(live)
            held = []
            if live:
                redeemed += len(live)
                continue  # the free one earns no stamp
        if amount < min_purchase:
            continue
        stamps += 1
        if stamps >= need:
            stamps -= need
            earned += 1
            held.append(day + expiry)
    outstanding = sum(1 for e in held if e >= end)
    expired += len(held) - outstanding
    return pd.Series({"earned": earned, "redeemable": redeemed, "expired": expired,
                      "outstanding": outstanding})


def points(g: pd.DataFrame, earn: float, pv: float, min_redeem: float, step: float,
           gap: int, min_purchase: float, end: int) -> pd.Series:
    """Replay one customer's points balance: earn, redeem in steps, lapse when quiet."""
    balance = 0.0
    last = None
    earned = redeemed = lapsed = 0.0
    for day, amount in zip(g["day"], g["amount"]):
        if balance > 0 and day > last + gap:
            lapsed += balance
            balance = 0.0
        last = day
        if amount <= 0:
            continue
        used = 0.0
        if balance >= min_redeem:
            used = min(math.floor(balance / step), math.floor(amount / (step * pv) + 1e-9)) * step
            balance -= used
            redeemed += used
        if amount < min_purchase:
            continue
        pts = math.floor(earn * (amount - used * pv) + 1e-9)
        balance += pts
        earned += pts
    outstanding = 0.0
    if balance > 0:
        if last + gap < end:
            lapsed += balance
        else:
            outstanding = balance
    return pd.Series({"earned": earned, "redeemable": redeemed, "expired": lapsed,
                      "outstanding": outstanding})


def pick(program: dict, kind: str, wanted: str | None) -> dict:
    for s in program["schemes"]:
        if (wanted is None and s["kind"] == kind) or s["id"] == wanted:
            return s
    raise SystemExit(f"no {kind} scheme {wanted or ''} in the program")


def redemption_rate(program: dict, scheme: dict) -> float:
    a = {**program.get("assumptions", {}), **scheme.get("assumptions", {})}
    return mean_of(a.get("redemption_rate", 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sales")
    ap.add_argument("program")
    ap.add_argument("--stamp", default=None, help="stamp_card scheme id (default: the first)")
    ap.add_argument("--points", default=None, help="points scheme id (default: the first)")
    args = ap.parse_args()
    with open(args.program, encoding="utf-8") as fh:
        program = yaml.safe_load(fh)
    margin = float(program["business"]["gross_margin"])

    out: dict = {}
    t = time.perf_counter()
    tx, start, end = load_transactions(args.sales)
    out["read_s"] = time.perf_counter() - t
    out["transactions"] = int(len(tx))
    out["customers"] = int(tx["customer"].nunique())
    cols = tx[["customer", "day", "amount"]]

    s = pick(program, "stamp_card", args.stamp)
    t = time.perf_counter()
    reward = s["reward"]
    cost = reward.get("cost", reward["value"] * (1 - margin))
    expiry = float(s["expiry_days"]) if s.get("expiry_days") is not None else 2.0**40
    need = int(s["stamps"]) - int(s.get("head_start", 0))
    res = cols.groupby("customer", sort=False)[["day", "amount"]].apply(
        stamp_card, need, float(s.get("min_purchase", 0)), expiry, end)
    r = redemption_rate(program, s)
    out["stamp_card"] = {
        "id": s["id"], "seconds": time.perf_counter() - t,
        "members": int(len(res)), "customers_rewarded": int((res["earned"] > 0).sum()),
        "rewards_earned": int(res["earned"].sum()),
        "rewards_redeemed": float(r * res["redeemable"].sum()),
        "rewards_expired": int(res["expired"].sum()),
        "rewards_outstanding": int(res["outstanding"].sum()),
        "reward_cost": float(r * res["redeemable"].sum() * cost),
    }

    p = pick(program, "points", args.points)
    t = time.perf_counter()
    pv = float(p["point_value"])
    gap = (int(math.floor(p["expiry_months"] * DAYS_PER_MONTH))
           if p.get("expiry_months") is not None else 2**40)
    step = float(p.get("redeem_step") or p["min_redeem"])
    res = cols.groupby("customer", sort=False)[["day", "amount"]].apply(
        points, float(p["earn_per_unit"]), pv, float(p["min_redeem"]), step, gap,
        float(p.get("min_purchase", 0)), end)
    r = redemption_rate(program, p)
    out["points"] = {
        "id": p["id"], "seconds": time.perf_counter() - t,
        "points_earned": float(res["earned"].sum()),
        "points_redeemed": float(r * res["redeemable"].sum()),
        "points_lapsed": float(res["expired"].sum()),
        "points_outstanding": float(res["outstanding"].sum()),
        "reward_cost": float(r * res["redeemable"].sum() * pv),
    }
    out["start_day"], out["end_day"] = start, end
    print(json.dumps(out))


if __name__ == "__main__":
    main()
