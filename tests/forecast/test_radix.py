"""The compiled radix sorts: numpy's answers, exactly."""

from __future__ import annotations

import numpy as np

from punchcard.forecast import radix as R


def test_sort_keys_is_a_stable_sort_on_the_bits_asked_for() -> None:
    rng = np.random.default_rng(41)
    for bits, n in [(1, 50), (16, 5_000), (17, 5_000), (40, 20_000), (64, 20_000), (64, 0), (64, 1)]:
        keys = rng.integers(0, 2 ** min(bits, 63), n, dtype=np.uint64) if n else np.zeros(0, dtype=np.uint64)
        if bits == 64 and n:
            keys |= np.uint64(1) << np.uint64(63)  # the top bit in use too
        keys[: n // 3] = keys[n // 2:n // 2 + n // 3]  # repeated keys: stability shows
        got, order = R.sort_keys(keys, bits)
        assert np.array_equal(order, np.argsort(keys, kind="stable"))
        assert np.array_equal(got, keys[order])
    # only the low bits are looked at: keys equal there keep their order
    keys = np.array([5 + (1 << 20), 3, 5, 3 + (1 << 21)], dtype=np.uint64)
    assert list(R.sort_keys(keys, 16)[1]) == [1, 3, 0, 2]


def test_unique_inverse_is_numpys_unique() -> None:
    rng = np.random.default_rng(43)
    for bits, n in [(1, 10), (11, 3_000), (31, 100_000), (40, 10_000), (62, 10_000), (5, 1)]:
        keys = rng.integers(0, 2 ** bits, n)
        keys[: n // 3] = keys[n // 2:n // 2 + n // 3]  # repeated values
        u, back = R.unique_inverse(keys, bits)
        want_u, want_back = np.unique(keys, return_inverse=True)
        assert np.array_equal(u, want_u) and np.array_equal(back, want_back)


def test_float_order_is_numpys_stable_argsort() -> None:
    # every exponent, subnormals and signed zeros (numpy takes −0.0 for 0.0): the keys are the bits
    rng = np.random.default_rng(47)
    for v in [rng.normal(size=50_000), -rng.random(3_000), np.round(rng.random(20_000), 2),
              np.concatenate([rng.normal(size=1_000) * 1e-300, rng.normal(size=1_000) * 1e300, [0.0, -0.0] * 50]),
              np.array([5e-324, -5e-324, 0.0, -0.0, 1e-310, -1e-310]), np.array([]), np.array([7.0]),
              rng.gamma(0.5, 2.0, 200_000) * rng.integers(0, 2, 200_000)]:
        assert np.array_equal(R.float_order(v), np.argsort(v, kind="stable"))
