"""Replays into kept memory (``settle.Tables``): the same figures as into fresh arrays, however dirty."""

import dataclasses
import json

import numpy as np
import pytest

from punchcard.ingest.read import read_ledger
from punchcard.program import load_program
from punchcard.results.document import plain
from punchcard.schemes import backtest, replay
from punchcard.schemes.settle import Tables
from punchcard.schemes.shard import plan_shards, replay_sharded
from tests.helpers import ROOT

NAMES = ["kaffebar-oslo", "loja-sao-paulo", "obuwie-krakow"]


def _as_json(results: dict) -> str:
    return json.dumps(plain({k: [r.summary, r.monthly, r.distribution]
                             for k, r in results.items()}), sort_keys=True)


def _dirty(tables: Tables) -> None:
    """Fill every array kept in `tables` (and its shards') with garbage."""
    for t in (tables, tables.part()):
        for a in t._mem.values():
            a.fill(np.nan if a.dtype.kind == "f" else -7)


def _fresh(program, ledger) -> dict:
    """Every scheme replayed and summed into new arrays, one by one, unsharded."""
    b = backtest.base(ledger, 1)
    out = {}
    for scheme in program.schemes:
        rate = scheme.assumptions.redemption_rate.mean
        ctx = backtest.context(b, program.business.gross_margin, rate)
        rep = replay(scheme, dataclasses.replace(b.tx, off=None), ctx, per_tx=False)
        out[scheme.id] = backtest.result(scheme, rep, b, program.business.fixed_costs, rate)
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k", [1, 3])
def test_pooled_backtest_equals_fresh_replays(name, threads, k, monkeypatch):
    program = load_program(ROOT / "programs" / f"{name}.yaml")
    ledger = read_ledger(program.sales, base=program.path.parent)
    monkeypatch.setenv("PUNCHCARD_THREADS", str(threads))
    assert len(program.schemes) > threads  # so a thread's tables serve several schemes
    assert _as_json(backtest.run(program, ledger, shards=k)) == _as_json(_fresh(program, ledger))


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("per_tx", [True, False])
def test_a_replay_into_dirty_tables_equals_a_fresh_one(k, per_tx):
    program = load_program(ROOT / "programs" / "loja-sao-paulo.yaml")
    ledger = read_ledger(program.sales, base=program.path.parent)
    b = backtest.base(ledger, k)
    ctx = backtest.context(b, program.business.gross_margin, 0.8)
    plan = plan_shards(b.tx, ctx, k) if k > 1 else None
    tables = Tables()
    for scheme in program.schemes[::-1]:  # leave every kind's leftovers behind, then poison them
        replay_sharded(scheme, b.tx, ctx, k, plan, per_tx=per_tx, tables=tables)
    for scheme in program.schemes:
        fresh = replay_sharded(scheme, b.tx, ctx, k, plan, per_tx=per_tx)
        _dirty(tables)
        kept = replay_sharded(scheme, b.tx, ctx, k, plan, per_tx=per_tx, tables=tables)
        fixed = program.business.fixed_costs
        assert (backtest.result(scheme, kept, b, fixed, 0.8, tables=tables)
                == backtest.result(scheme, fresh, b, fixed, 0.8)), scheme.id
        for f in dataclasses.fields(fresh):
            a, c = getattr(fresh, f.name), getattr(kept, f.name)
            if a is None:
                assert c is None, f.name
            else:
                assert np.array_equal(np.asarray(a), np.asarray(c)), (scheme.id, f.name)


def test_offsets_that_do_not_fit_are_refused():
    program = load_program(ROOT / "programs" / "kaffebar-oslo.yaml")
    ledger = read_ledger(program.sales, base=program.path.parent)
    b = backtest.base(ledger, 1)
    ctx = backtest.context(b, 0.6, 0.8)
    with pytest.raises(ValueError, match="TxArrays.off"):
        replay(program.schemes[0], dataclasses.replace(b.tx, off=b.tx.off[:-1]), ctx)
