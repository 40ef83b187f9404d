"""Customer-hash shards: which shard a customer is in, how many shards, and sums in a fixed order."""

import numpy as np

from punchcard.ingest import MAX_SHARDS, SHARD_BYTES, ordered_sum, shard_count, shard_of, shard_sums


def test_shards_partition_customers_stably():
    hashes = np.array([0, 1, 2, 3, 2**64 - 1, 12345678901234567], dtype=np.uint64)
    shard = shard_of(hashes, 4)
    assert shard.tolist() == [0, 1, 2, 3, 3, 12345678901234567 % 4]
    # a power of two near one shard per SHARD_BYTES of sales files, at most MAX_SHARDS
    assert shard_count(0) == 1 and shard_count(SHARD_BYTES) == 1 and shard_count(SHARD_BYTES + 1) == 2
    assert shard_count(10, target=4) == 4  # 10 / 4 → 3 shards, rounded up to 4
    assert shard_count(100 * SHARD_BYTES) == 128 and shard_count(10**15) == MAX_SHARDS


def test_shard_sums_add_in_row_order_and_shards_in_shard_order():
    values = np.array([0.1, 1e16, 0.3, -0.5, 1.0, 1.0, -1e16])
    cust = np.array([0, 1, 0, 2, 1, 1, 1])
    cust_shard = np.array([0, 1, 2])  # customer c is in shard c
    sums = shard_sums(values, cust, cust_shard, 3)
    # shard 1 in row order: ((1e16 + 1) + 1) - 1e16 = 0.0 (each 1 is lost next to 1e16,
    # whose neighbours are 2 apart); 1 + 1 first would give 2.0: the order is the result
    assert sums.tolist() == [0.1 + 0.3, 0.0, -0.5]
    assert shard_sums(values, cust, cust_shard, 3, negative=True).tolist() == [0.0, -1e16, -0.5]
    assert ordered_sum(sums) == ((0.1 + 0.3) + 0.0) - 0.5
    assert str(ordered_sum([-0.0, -0.0])) == "-0.0"  # not 0 + …, which would make it 0.0
