"""New customers: the weekly rate of first purchases, its slots over the horizon, their simulation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from punchcard.forecast import arrivals as A
from punchcard.forecast import draws as D
from punchcard.forecast import pipeline as F
from punchcard.forecast import simulate as S
from tests.helpers import fake_replay, program, scheme

WEEKS = 365.25 / 7.0


def _steady(per_week: int, weeks: int, start: int = 1000) -> np.ndarray:
    """Return first days: ``per_week`` customers first seen in each of ``weeks`` weeks from ``start``."""
    return start + 7 * np.repeat(np.arange(weeks), per_week) + np.tile(np.arange(per_week) % 7, weeks)


def test_no_arrivals_when_nobody_is_new_after_the_burn_in() -> None:
    # 100 weeks of data, every customer first seen in its first 10 weeks (a cohort, like CDNOW):
    # the burn-in is 26 weeks, so no first purchase is fitted and nobody arrives
    af = A.fit(_steady(5, 10), 1000, 1000 + 7 * 100 - 1)
    assert af.burn_in_weeks == 26 and af.first_purchases == 0
    assert A.expected_arrivals(af, 52.0) == 0.0
    lo, hi, w = A.slots(af, 52.0, 1000)
    assert len(lo) == len(hi) == len(w) == 0


def test_cdnow_has_no_new_customers(cdnow) -> None:
    # CDNOW is one cohort (first purchases in the first 12 weeks of 78): no arrivals simulated
    base, block = F.prepare(program(scheme(enrollment=0.5)), cdnow, 1)
    assert block["new_customers"]["expected"] == 0.0
    assert not base.is_new.any()


def test_steady_rate_gives_rate_times_weeks() -> None:
    # 10 first purchases every week for 104 weeks (728 days): after the 26-week burn-in, 78
    # weeks of 10 (a trend fit, < 104 weeks) → 10 a week; over 52 weeks: 520 arrivals in 520
    # slots of one customer each, slot i within week i // 10
    af = A.fit(_steady(10, 104), 1000, 1000 + 728 - 1)
    assert af.terms == "trend" and af.weeks_fitted == 78 and af.first_purchases == 780
    assert af.rate(np.array([af.t_end]))[0] == pytest.approx(10.0, rel=1e-6)
    assert A.expected_arrivals(af, 52.0) == pytest.approx(520.0, rel=1e-6)
    lo, hi, w = A.slots(af, 52.0, 10_000)
    assert len(lo) == 520 and w == pytest.approx(np.ones(520))
    assert lo[0] == 0.0 and hi[-1] == pytest.approx(52.0) and np.all(hi - lo == pytest.approx(0.1))
    # capped at 100 slots: each stands for 5.2 customers
    lo, hi, w = A.slots(af, 52.0, 100)
    assert len(lo) == 100 and w == pytest.approx(np.full(100, 5.2))


def test_trend_and_season_are_fitted_from_two_years() -> None:
    # 160 weeks; first purchases grow from 5 to about 20 a week with an annual swing:
    # 134 weeks after the burn-in, so trend + season; the season peaks where the data do
    rng = np.random.default_rng(3)
    t = np.arange(160)
    mu = 5.0 * np.exp(0.45 * t / WEEKS) * (1.0 + 0.4 * np.cos(2 * np.pi * t / WEEKS))
    counts = rng.poisson(mu)
    first = 2000 + 7 * np.repeat(t, counts)
    af = A.fit(first, 2000, 2000 + 7 * 160 - 1)
    assert af.terms == "trend+season"
    assert af.coef[1] == pytest.approx(0.45, abs=0.1)  # the trend per year
    assert af.coef[2] > 0.2  # the first cosine: the peak at the turn of each year of data


def test_arrival_count_in_the_simulation(cdnow) -> None:
    # the CDNOW customers and 300 constructed arrivals, one per slot (a tenth of a week each,
    # over the first 30 weeks of a 52.18-week horizon): every draw, each new customer makes
    # their first purchase in their slot and the baseline revenue counts them
    base, _ = F.prepare(program(scheme(enrollment=0.5)), cdnow, 1)
    n = len(base.cust)
    k = 300
    lo = np.arange(k) * 0.1
    cols = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    grow = lambda a, v: np.concatenate([a, np.full(k, v, dtype=a.dtype)])  # noqa: E731
    cols.update(cust=grow(base.cust, -1), weight=grow(base.weight, 1.0), palive=grow(base.palive, 1.0),
                x=grow(base.x, 0.0), T=grow(base.T, 0.0), mean_value=grow(base.mean_value, 0.0),
                items=grow(base.items, 1.0), birthday_doy=grow(base.birthday_doy, -1),
                segment=grow(base.segment, 0), cust_hash=np.concatenate([base.cust_hash, np.arange(k, dtype=np.uint64)]),
                arr_lo=np.concatenate([np.full(n, -1.0), lo]), arr_hi=np.concatenate([np.full(n, -1.0), lo + 0.1]),
                extra=np.zeros(n + k, dtype=bool))
    withnew = dataclasses.replace(base, **cols)
    dr = D.make_draws(withnew, 5, 4)
    old = D.make_draws(base, 5, 4)
    t0 = dr.t0[:, n:]
    assert np.all((t0 >= lo) & (t0 < lo + 0.1)) and np.all(dr.t0[:, :n] == -1.0)
    # today's customers are simulated as before (their keys do not depend on the others)
    assert np.array_equal(dr.base_rev[:, :n], old.base_rev)
    assert np.all(dr.base_rev[:, n:] > 0.0)  # every arrival buys at least once
    # in the scheme world with no lift, the same purchases: the first one at the arrival day
    world = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    c, day, amt, items, rev = S.members(dr.keys[0, n:], dr.lam[0, n:], dr.p[0, n:], dr.nu[0, n:], np.ones(k),
                                        base.par, base.horizon_weeks, world, base.start_day, t0[0])
    assert rev == pytest.approx(dr.base_rev[0, n:])
    first_day = base.start_day + np.floor(t0[0] * 7.0).astype(np.int64)
    assert np.array_equal(day[np.searchsorted(c, np.arange(k))], first_day)


def test_extra_arrivals_weigh_by_the_acquisition_lift(cdnow) -> None:
    # a scheme that changes nothing but brings new customers: the extra margin is theirs alone,
    # and twice the lift brings twice the extra margin
    base, _ = F.prepare(program(scheme(enrollment=0.5)), cdnow, 1)
    n = len(base.cust)
    k = 50
    cols = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    grow = lambda a, v: np.concatenate([a, np.full(2 * k, v, dtype=a.dtype)])  # noqa: E731
    lo = np.tile(np.arange(k) * 0.5, 2)
    cols.update(cust=grow(base.cust, -1), weight=grow(base.weight, 1.0), palive=grow(base.palive, 1.0),
                x=grow(base.x, 0.0), T=grow(base.T, 0.0), mean_value=grow(base.mean_value, 0.0),
                items=grow(base.items, 1.0), birthday_doy=grow(base.birthday_doy, -1),
                segment=grow(base.segment, 0),
                cust_hash=np.concatenate([base.cust_hash, np.arange(2 * k, dtype=np.uint64) + 7]),
                arr_lo=np.concatenate([np.full(n, -1.0), lo]), arr_hi=np.concatenate([np.full(n, -1.0), lo + 0.5]),
                extra=np.concatenate([np.zeros(n + k, dtype=bool), np.ones(k, dtype=bool)]))
    withnew = dataclasses.replace(base, **cols)
    dr = D.make_draws(withnew, 5, 3)
    assert np.all(dr.base_rev[:, n + k:] == 0.0)  # absent without the scheme
    from punchcard.forecast.batch import Job, evaluate

    out = []
    for acq in (0.0, 0.2, 0.4):
        s = scheme(enrollment=0.5, acquisition_lift=acq)
        v = D.likely_values(s.assumptions)
        o = evaluate(withnew, dr, [Job(s, np.arange(3), [v] * 3)], fake_replay)[0]
        out.append(o.revenue - dr.base_total)
    assert np.allclose(out[0], 0.0, atol=1e-6)
    assert np.all(out[1] > 0) and np.allclose(out[2], 2 * out[1])


def test_enrollment_per_segment_joins_only_that_segment(cdnow) -> None:
    from punchcard.program import Range, SegmentRange

    s = scheme(enrollment=SegmentRange(Range.fixed(0.9), Range.fixed(0.0), Range.fixed(0.0)), visit_lift=0.1)
    f = F.run(program(s), cdnow, draws=5, replay=fake_replay).schemes[s.id]
    light, medium, heavy = f["segments"]
    # 90 % of the light third of 2,357 customers (about 707) join; nobody else
    assert light["members"] == pytest.approx(0.9 * 2357 / 3, rel=0.1)
    assert medium["members"] == 0.0 and heavy["members"] == 0.0


def test_welcome_offer_costs_something_on_the_sao_paulo_example(tmp_path) -> None:
    from punchcard.cli import cli

    out = tmp_path / "site"
    r = CliRunner().invoke(cli, ["build", "programs/loja-sao-paulo.yaml", "--out", str(out), "--draws", "20"])
    assert r.exit_code == 0, r.output
    res = json.loads((out / "loja-sao-paulo" / "results.json").read_text())
    assert res["model"]["new_customers"]["expected"] > 100  # hundreds of first purchases a year
    by_id = {s["id"]: s["forecast"] for s in res["schemes"]}
    welcome = by_id["cupom-boas-vindas"]
    assert welcome["reward_cost"] > 0.0  # it was 0 with today's customers only
    # only new customers can take a welcome offer: its members are all new, their net all of its
    # net but the setup and monthly costs
    assert all(g["members"] == 0.0 for g in welcome["segments"])
    for f in by_id.values():
        assert f["from_new_customers"] is not None


def test_arrivals_from_a_constructed_ledger() -> None:
    import polars as pl

    from tests.helpers import make_ledger

    # 104 weeks (728 days) from day 20000; 8 customers first seen every week (one a day, the
    # eighth on the week's first day again), each coming back every 10–40 days. After the
    # 26-week burn-in 78 weeks of 8 are fitted (a trend, flat): 8 a week, so over the 12-month
    # horizon (52.18 weeks) 8 × 52.18 = 417.4 new customers, in 418 slots of 0.9986 each
    rng = np.random.default_rng(7)
    start, days, weeks = 20000, 728, 104
    first = start + 7 * np.repeat(np.arange(weeks), 8) + np.tile(np.array([0, 1, 2, 3, 4, 5, 6, 0]), weeks)
    n = len(first)
    gaps = rng.integers(10, 41, size=(n, 80))
    day = first[:, None] + np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(gaps, axis=1)], axis=1)
    cust = np.repeat(np.arange(n), day.shape[1])
    day = day.ravel()
    keep = day < start + days
    tx = pl.DataFrame({"cust": cust[keep], "day": day[keep], "amount": rng.gamma(4.0, 2.5, int(keep.sum())),
                       "items": np.ones(int(keep.sum()))})
    ledger = make_ledger(tx, start, start + days - 1, n)
    prep = F.prepare(program(scheme(enrollment=0.5)), ledger, 1)
    assert not isinstance(prep, str), prep
    base, block = prep
    new = block["new_customers"]
    assert new["burn_in_weeks"] == 26 and new["weeks_fitted"] == 78 and new["first_purchases_fitted"] == 624
    assert new["weekly_rate"] == pytest.approx(8.0, rel=1e-6)
    assert new["expected"] == pytest.approx(8.0 * 12 * 30.4375 / 7.0, rel=1e-6)
    assert int(base.is_new.sum()) == 418 and base.weight[base.is_new].sum() == pytest.approx(new["expected"])
    assert not base.is_extra.any()  # no scheme with an acquisition lift: no extra arrivals
