"""Customer-hash shards: a backtest replayed shard by shard and merged equals the whole one."""

import json
from pathlib import Path

import numpy as np
import pytest

from punchcard.schemes import backtest
from punchcard.ingest.read import read_ledger
from punchcard.program import load_program
from punchcard.results.document import plain
from punchcard.schemes import replay
from punchcard.schemes.shard import plan_shards, replay_sharded
from tests.helpers import ROOT

ROOT = ROOT


def _as_json(results: dict) -> str:
    return json.dumps(plain({k: [r.summary, r.monthly, r.distribution]
                             for k, r in results.items()}), sort_keys=True)


@pytest.mark.parametrize("name", ["kaffebar-oslo", "loja-sao-paulo", "obuwie-krakow"])
@pytest.mark.parametrize("k", [2, 7])
def test_sharded_backtest_equals_whole(name, k):
    program = load_program(ROOT / "programs" / f"{name}.yaml")
    ledger = read_ledger(program.sales, base=program.path.parent)
    whole = backtest.run(program, ledger, shards=1)
    sharded = backtest.run(program, ledger, shards=k)
    assert _as_json(sharded) == _as_json(whole)


def test_a_shard_plan_is_reused_across_schemes_and_checked():
    program = load_program(ROOT / "programs" / "kaffebar-oslo.yaml")
    ledger = read_ledger(program.sales, base=program.path.parent)
    b = backtest.base(ledger)
    ctx = backtest.context(b, 0.6, 0.8)
    plan = plan_shards(b.tx, ctx, 3)
    assert sorted(np.concatenate(plan.ids).tolist()) == list(range(b.tx.n_customers))
    assert sorted(np.concatenate(plan.rows).tolist()) == list(range(len(b.tx.day)))
    for scheme in program.schemes:
        whole = replay(scheme, b.tx, ctx)
        split = replay_sharded(scheme, b.tx, ctx, 3, plan)
        for name in ("cost", "redeemed", "expired", "outstanding", "liability", "daily_cost"):
            assert np.allclose(getattr(split, name), getattr(whole, name), rtol=1e-12), name
    other = backtest.context(backtest.base(ledger), 0.6, 0.8)  # same figures, other arrays
    with pytest.raises(ValueError, match="shard plan"):
        replay_sharded(program.schemes[0], b.tx, other, 3, plan)
