#!/usr/bin/env python3
"""Time the purchase-model fits (holdout.select) on the 3M-customer / ~20.5M-row shape.

Builds the occasions of /work/shared/bench/gen_sales.py's process (seed 7, two years)
directly in numpy — no CSV, no ingest — summarises them with btyd's compiled pass and
times ``holdout.select`` (every candidate on the whole history and on its calibration
period, the chosen one refitted) and the Gamma-Gamma fit, wall and CPU (process) time.
Usage: fit_speed.py [--customers N] [--days D] [--profile] [--repeat K]
"""
import argparse
import os
import sys

sys.path = [q for q in sys.path if os.path.abspath(q or ".") != os.path.dirname(os.path.abspath(__file__))]
import cProfile  # noqa: E402  (bench/profile.py would shadow the standard profile module)
import pstats
import time

import numpy as np
from threadpoolctl import threadpool_limits

from punchcard.forecast import btyd as M
from punchcard.forecast import holdout as H

p = argparse.ArgumentParser()
p.add_argument("--customers", type=int, default=3_000_000)
p.add_argument("--days", type=int, default=730)
p.add_argument("--seed", type=int, default=7)
p.add_argument("--profile", action="store_true")
p.add_argument("--repeat", type=int, default=1)
p.add_argument("--pareto", action="store_true", help="also time the Pareto/NBD fits select may skip")
p.add_argument("--no-skip", action="store_true", help="fit the Pareto/NBD even where select would skip it")
a = p.parse_args()

t0 = time.perf_counter()
rng = np.random.default_rng(a.seed)
n = a.customers
lam = rng.gamma(0.9, 1 / 25.0, n)
drop = rng.beta(0.8, 6.0, n)
start = rng.integers(0, a.days, n)
rng.gamma(6.0, 1 / 0.05, n)  # spend scale (kept for the same random stream as gen_sales.py)
max_rep = rng.geometric(np.clip(drop, 1e-6, 1)) - 1
span = a.days - start
reps = np.minimum(max_rep, rng.poisson(lam * span))
counts = reps + 1
cust = np.repeat(np.arange(n), counts)
total = int(counts.sum())
offs = np.repeat(np.cumsum(counts) - counts, counts)
first = (np.arange(total) - offs) == 0
u = rng.random(total)
day = np.where(first, start[cust], start[cust] + (u * span[cust]).astype(np.int64))
amount = np.round(rng.gamma(2.0, 20.0, total), 2) + 1.0
key = np.sort(cust.astype(np.int64) * (a.days + 1) + day)  # sorted by (customer, day)
day0 = 19723  # 2024-01-01
c = (key // (a.days + 1)).astype(np.int32)
d = (key % (a.days + 1) + day0).astype(np.int32)
end = day0 + a.days - 1
cal_end = end - a.days // 3
out = M._summarise(c, d, amount, np.ones(total), n, day0, end, cal_end)
summary = M.Summary(*out[:-1], day0=day0, end_day=end, cal_end=cal_end)
rfm = M.rfm_of(summary)
print(f"{total:,} rows, {len(rfm.x):,} customers, {int(np.sum(rfm.x > 0)):,} repeat; "
      f"built in {time.perf_counter() - t0:.1f} s")

if a.no_skip:
    H.no_visible_dropout = lambda f: False
# pipeline.prepare fits the spend model with BLAS on one thread where it does so (this branch on)
import contextlib  # noqa: E402
from punchcard.forecast import pipeline as PL  # noqa: E402
limit = ((lambda: threadpool_limits(limits=1, user_api="blas")) if hasattr(PL, "threadpool_limits")
         else contextlib.nullcontext)
H.select(summary, rfm, "auto", day0)  # warm-up: numba caches, scipy imports
for _ in range(a.repeat):
    load = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    if a.profile:
        prof = cProfile.Profile()
        sel = prof.runcall(H.select, summary, rfm, "auto", day0)
    else:
        sel = H.select(summary, rfm, "auto", day0)
    w1, c1 = time.perf_counter(), time.process_time()
    with limit():
        gg = M.fit_gamma_gamma(rfm.x, rfm.mean_value)
    w2, c2 = time.perf_counter(), time.process_time()
    print(f"select: wall {w1 - w0:.2f} s, cpu {c1 - c0:.2f} s; gamma-gamma: wall {w2 - w1:.2f} s, "
          f"cpu {c2 - c1:.2f} s; load avg before {load:.2f}")
for cand in sel.candidates:
    print(f"  {cand['name']:11s} ll={cand['loglik']} conv={cand['converged']} "
          f"hold={cand['holdout_error']} {cand['message']}")
print("chosen:", sel.chosen.name, sel.chosen.params)
if a.pareto:  # what the Pareto/NBD's two candidate fits cost when select does not skip them
    from punchcard.forecast import purchase_models as P
    cal = M.rfm_of(summary, calibration=True)
    with threadpool_limits(limits=1, user_api="blas"):
        for label, r in (("whole", rfm), ("calibration", cal)):
            tab = P.sample_tab(r.x, r.t_x, r.T, P.PARETO_MAX_CUSTOMERS, whole=False)[0]
            w0, c0 = time.perf_counter(), time.process_time()
            f = P.fit("pareto_nbd", tab)
            print(f"pareto_nbd {label}: wall {time.perf_counter() - w0:.2f} s, cpu {time.process_time() - c0:.2f} s;"
                  f" {f.params} ll={f.loglik:.6f} {f.converged} {f.message}")
if a.profile:
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
