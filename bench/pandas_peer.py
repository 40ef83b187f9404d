"""The pandas peer: ONE stamp card and ONE points scheme replayed the way a competent analyst
would write it in pandas — vectorised, with no Python loop per customer or per transaction.

Usage: python bench/pandas_peer.py SALES.csv PROGRAM.yaml [--stamp ID] [--points ID]

* read: `read_csv` of the columns the program names (`sales.columns`), customer ids as a
  categorical, one row per (customer, order) by a `groupby().agg()`, one sort;
* stamp card: the cumulative count of qualifying visits per customer; every customer's
  next reward is found at once (`searchsorted` on the cumulative count), and whether the
  visit after it redeems it (within `expiry_days`) or lets it expire; one vectorised step
  per reward cycle, for all customers together;
* points: a customer's history is cut where the balance lapses (a gap longer than
  `expiry_months`); inside each run the balance is the cumulative sum of points earned,
  and every run's next redemption (the first visit that starts with `min_redeem` points) is
  found at once, the same way; one vectorised step per redemption round.

The rules are those of SPEC §4 for these two kinds, as in `bench/pandas_replay.py` (the
per-customer `groupby().apply` it replaced as the comparison): returns (amount ≤ 0) earn
and settle nothing; a held stamp reward settles at the customer's next purchase within
`expiry_days`, and that purchase earns no stamp; points are redeemed in `redeem_step`s
(capped at the bill) once the balance reaches `min_redeem`, earned on the amount paid
after the redemption, and the whole balance lapses after `expiry_months` (× 30.4375 days,
rounded down) without a transaction. Zero-amount transactions are dropped (as punchcard
rejects zero-amount lines). Prints one JSON line with the totals and the seconds per step;
`tests/test_bench.py` checks the totals against punchcard's backtest.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
import yaml

# the program's reading, shared with the loop version (run as `python bench/X.py`: bench/ is on the path)
from pandas_replay import pick, redemption_rate

DAYS_PER_MONTH = 30.4375
NEVER = 2**40


def load_transactions(path: str, program: dict) -> tuple[pd.DataFrame, int, int]:
    """Return identified transactions (one row per order) sorted by customer, day, amount,
    and the first and last day of the data (anonymous sales included)."""
    sales = program["sales"]
    cols = {"customer": "customer", "date": "date", "amount": "amount", **(sales.get("columns") or {})}
    fmt = (sales.get("format") or {}).get("date_format", "%Y-%m-%d")
    names = {cols[r]: r for r in ("customer", "date", "amount", "order", "items") if r in cols}
    df = pd.read_csv(path, usecols=list(names), dtype={cols["customer"]: "category", cols["date"]: "str"},
                     sep=(sales.get("format") or {}).get("delimiter", ",")).rename(columns=names)
    df["day"] = (pd.to_datetime(df["date"], format=fmt) - pd.Timestamp("1970-01-01")).dt.days
    start, end = int(df["day"].min()), int(df["day"].max())
    df = df[df["customer"].notna()]
    if "items" not in df:
        df["items"] = 1.0
    if "order" in df and not df["order"].is_unique:  # one line per order already: nothing to sum
        df = (df.groupby(["customer", "order"], observed=True, sort=False, as_index=False)
                .agg(day=("day", "min"), amount=("amount", "sum"), items=("items", "sum")))
    tx = df[df["amount"] != 0]  # zero-amount lines are rejected, as punchcard does
    tx = tx.assign(cust=tx["customer"].cat.codes.to_numpy()).sort_values(["cust", "day", "amount"])
    return tx[["cust", "day", "amount"]].reset_index(drop=True), start, end


def customer_bounds(cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each customer's first row and one past their last row (rows sorted by customer)."""
    first = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    return first, np.r_[first[1:], cust.size]


def stamp_card(tx: pd.DataFrame, need: int, min_purchase: float, expiry: int, end: int) -> dict:
    """Replay a stamp card for every customer at once, one reward cycle per step."""
    paid = tx[tx["amount"] > 0]
    day, amount = paid["day"].to_numpy(np.int64), paid["amount"].to_numpy()
    first, stop = customer_bounds(paid["cust"].to_numpy())
    stamped = np.r_[0, np.cumsum(amount >= min_purchase)]  # qualifying visits before each row
    k = first.size
    earned = np.zeros(k, np.int64)
    redeemed = np.zeros(k, np.int64)
    expired = np.zeros(k, np.int64)
    outstanding = np.zeros(k, np.int64)
    who = np.arange(k)
    at = first.copy()  # where each customer's current card starts
    while who.size:
        # the visit that fills the card: the need-th qualifying visit from `at` on
        fill = np.searchsorted(stamped, stamped[at] + need) - 1
        done = fill >= stop[who]
        who, at, fill = who[~done], at[~done], fill[~done]
        earned[who] += 1
        after = fill + 1
        has_next = after < stop[who]
        nxt = np.minimum(after, day.size - 1)
        live = has_next & (day[nxt] <= day[fill] + expiry)
        redeemed[who] += live
        expired[who] += has_next & ~live
        last = ~has_next
        kept = day[fill[last]] + expiry >= end
        outstanding[who[last]] += kept
        expired[who[last]] += ~kept
        # a redeeming visit earns no stamp: the next card starts after it
        at = np.where(live, after + 1, after)[has_next]
        who = who[has_next]
    return {"members": int(tx["cust"].nunique()), "earned": earned, "redeemed": redeemed,
            "expired": expired, "outstanding": outstanding}


def points(tx: pd.DataFrame, earn: float, pv: float, min_redeem: float, step: float, gap: int,
           min_purchase: float, end: int) -> dict:
    """Replay a points balance for every customer at once, one redemption round per step."""
    cust, day, amount = tx["cust"].to_numpy(), tx["day"].to_numpy(np.int64), tx["amount"].to_numpy()
    n = cust.size
    # runs of visits without a lapse: a new customer, or a gap longer than `gap` days
    new_run = np.r_[True, (cust[1:] != cust[:-1]) | (day[1:] - day[:-1] > gap)]
    run_first = np.flatnonzero(new_run)
    run_stop = np.r_[run_first[1:], n]
    last_of_customer = np.r_[cust[run_stop[:-1]] != cust[run_first[:-1]], True] if n else np.zeros(0, bool)
    paid = amount > 0
    plain = np.where(paid & (amount >= min_purchase), np.floor(earn * amount + 1e-9), 0.0)
    cum = np.r_[0.0, np.cumsum(plain)]  # points earned without redeeming, before each row
    bal = np.zeros(run_first.size)  # balance at `at`, before its row
    earned_total = float(plain.sum())
    redeemed_total = 0.0
    final = np.zeros(run_first.size)
    who = np.arange(run_first.size)
    at = run_first.copy()
    while who.size:
        # the first row from `at` on that starts with at least min_redeem points
        t = np.searchsorted(cum, cum[at] + (min_redeem - bal[who]), side="left")
        t = np.maximum(t, at)
        done = t >= run_stop[who]
        final[who[done]] = bal[who[done]] + cum[run_stop[who[done]]] - cum[at[done]]
        who, at, t = who[~done], at[~done], t[~done]
        start_bal = bal[who] + cum[t] - cum[at]
        a = amount[t]
        can = a > 0  # a return neither redeems nor earns
        used = np.where(can, np.minimum(np.floor(start_bal / step),
                                        np.floor(a / (step * pv) + 1e-9)) * step, 0.0)
        earned_here = np.where(can & (a >= min_purchase), np.floor(earn * (a - used * pv) + 1e-9), 0.0)
        earned_total += float((earned_here - plain[t]).sum())
        redeemed_total += float(used.sum())
        bal[who] = start_bal - used + earned_here
        at = t + 1
    last_day = day[run_stop - 1]
    lapses = ~last_of_customer | (last_day + gap < end)
    return {"earned": earned_total, "redeemed": redeemed_total,
            "lapsed": float(final[lapses].sum()), "outstanding": float(final[~lapses].sum())}


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

    out: dict = {"peer": "vectorised"}
    t = time.perf_counter()
    tx, start, end = load_transactions(args.sales, program)
    out["read_s"] = time.perf_counter() - t
    out["transactions"] = int(len(tx))
    out["customers"] = int(tx["cust"].nunique())

    s = pick(program, "stamp_card", args.stamp)
    t = time.perf_counter()
    reward = s["reward"]
    cost = reward.get("cost", reward["value"] * (1 - margin))
    expiry = int(s["expiry_days"]) if s.get("expiry_days") is not None else NEVER
    need = int(s["stamps"]) - int(s.get("head_start", 0))
    res = stamp_card(tx, need, float(s.get("min_purchase", 0)), expiry, end)
    r = redemption_rate(program, s)
    out["stamp_card"] = {
        "id": s["id"], "seconds": time.perf_counter() - t,
        "members": res["members"], "customers_rewarded": int((res["earned"] > 0).sum()),
        "rewards_earned": int(res["earned"].sum()),
        "rewards_redeemed": float(r * res["redeemed"].sum()),
        "rewards_expired": int(res["expired"].sum()),
        "rewards_outstanding": int(res["outstanding"].sum()),
        "reward_cost": float(r * res["redeemed"].sum() * cost),
    }

    p = pick(program, "points", args.points)
    t = time.perf_counter()
    pv = float(p["point_value"])
    gap = (int(math.floor(p["expiry_months"] * DAYS_PER_MONTH))
           if p.get("expiry_months") is not None else NEVER)
    step = float(p.get("redeem_step") or p["min_redeem"])
    res = points(tx, float(p["earn_per_unit"]), pv, float(p["min_redeem"]), step, gap,
                 float(p.get("min_purchase", 0)), end)
    r = redemption_rate(program, p)
    out["points"] = {
        "id": p["id"], "seconds": time.perf_counter() - t,
        "points_earned": res["earned"],
        "points_redeemed": float(r * res["redeemed"]),
        "points_lapsed": res["lapsed"],
        "points_outstanding": res["outstanding"],
        "reward_cost": float(r * res["redeemed"] * pv),
    }
    out["start_day"], out["end_day"] = start, end
    print(json.dumps(out))


if __name__ == "__main__":
    main()
