"""Compiled radix sorts of 64-bit keys, for the model fit's sorts of a whole customer base.

``sort_keys`` is a least-significant-digit radix sort, 16 bits a pass: each pass is a stable
counting sort that carries the keys along, so its reads are sequential. A pass where every
key has the same digit is skipped. It is stable: equal keys keep their order. On a million
keys it takes a third to a fifth of numpy's time for ``np.unique(…, return_inverse=True)``
and ``np.argsort(kind="stable")``, which ``unique_inverse`` and ``float_order`` reproduce
exactly (bench/PROFILE.md, session 10).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Bits sorted per pass (65,536 counters: 512 KiB, within a core's cache).
DIGIT = 16


@njit(cache=True, nogil=True)
def sort_keys(key: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the uint64 ``key`` sorted on its low ``bits`` bits, and the stable order that sorts it."""
    n = key.shape[0]
    k, ix = key.copy(), np.arange(n)
    k2, ix2 = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.int64)
    low = np.uint64((1 << DIGIT) - 1)
    for p in range((bits + DIGIT - 1) // DIGIT):
        shift = np.uint64(DIGIT * p)
        start = np.zeros((1 << DIGIT) + 1, dtype=np.int64)
        for j in range(n):
            start[np.int64((k[j] >> shift) & low) + 1] += 1
        if n == 0 or start[np.int64((k[0] >> shift) & low) + 1] == n:
            continue  # one digit for all: this pass leaves the order as it is
        for d in range(1 << DIGIT):
            start[d + 1] += start[d]
        for j in range(n):
            d = np.int64((k[j] >> shift) & low)
            q = start[d]
            k2[q] = k[j]
            ix2[q] = ix[j]
            start[d] = q + 1
        k, k2 = k2, k
        ix, ix2 = ix2, ix
    return k, ix


def unique_inverse(key: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``np.unique(key, return_inverse=True)`` for int64 keys in [0, 2**bits)."""
    k, order = sort_keys(np.asarray(key, dtype=np.int64).view(np.uint64), bits)
    return _runs(k, order)


@njit(cache=True, nogil=True)
def _runs(k: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values of the sorted keys ``k`` and each original key's place among them."""
    n = k.shape[0]
    u = np.empty(n, dtype=np.int64)
    back = np.empty(n, dtype=np.int64)
    m = -1
    for j in range(n):
        if j == 0 or k[j] != k[j - 1]:
            m += 1
            u[m] = np.int64(k[j])
        back[order[j]] = m
    return u[:m + 1], back


def float_order(v: np.ndarray) -> np.ndarray:
    """Return ``np.argsort(v, kind="stable")`` for finite float64 values (−0.0 taken for 0.0, as
    numpy takes it): their bits made unsigned keys in the values' order, radix-sorted."""
    return sort_keys(_float_keys((np.asarray(v, dtype=np.float64) + 0.0).view(np.uint64)), 64)[1]


@njit(cache=True, nogil=True)
def _float_keys(bits: np.ndarray) -> np.ndarray:
    """Return unsigned keys in the order of the finite floats whose bits are ``bits``: a
    negative's bits flipped, a positive's sign bit set. (−0.0 + 0.0 is 0.0: the caller adds it.)"""
    sign = np.uint64(1) << np.uint64(63)
    out = np.empty(bits.shape[0], dtype=np.uint64)
    for i in range(bits.shape[0]):
        b = bits[i]
        out[i] = ~b if b & sign else b | sign
    return out
