"""Customer-hash shards: a backtest replayed shard by shard and merged equals the whole one."""

import json
from pathlib import Path

import numpy as np
import pytest

from punchcard import backtest
from punchcard.ingest import read_ledger
from punchcard.program import load_program
from punchcard.results import plain
from punchcard.shard import shard_count, shard_of

ROOT = Path(__file__).resolve().parent.parent


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


def test_shards_partition_customers_stably():
    hashes = np.array([0, 1, 2, 3, 2**64 - 1, 12345678901234567], dtype=np.uint64)
    shard = shard_of(hashes, 4)
    assert shard.tolist() == [0, 1, 2, 3, 3, 12345678901234567 % 4]
    assert shard_count(0) == 1 and shard_count(4_000_000) == 1 and shard_count(4_000_001) == 2
