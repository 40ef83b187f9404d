"""What several stages share: the default seed, the length of a month, threads, malloc arenas,
giving memory back, file hashes."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

#: The seed of every random draw when none is given (`build --seed`), so two builds match.
DEFAULT_SEED = 20270101

#: Days per month: 365.25 / 12, the calendar's mean month (SPEC §4: monthly fixed costs,
#: points lapsing after ``expiry_months``, tier windows, the forecast horizon).
DAYS_PER_MONTH = 30.4375

_CHUNK = 1 << 20


@functools.cache
def _libc():
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - no C library by that name
        return None


#: glibc's ``mallopt`` parameter for the most malloc arenas (malloc.h)
_M_ARENA_MAX = -8


def limit_malloc_arenas() -> bool:
    """Let glibc's malloc keep at most ``malloc_arenas()`` arenas (``mallopt(M_ARENA_MAX)``); return
    whether it was set (not where the user's MALLOC_ARENA_MAX is, or the C library is not glibc).

    glibc gives each new thread an arena of its own, up to 8 per core, and an arena keeps the
    memory its arrays freed: with the forecast's simulation on several threads beside the
    accounting, the café 20M data drop's cold build (24 monthly files) peaked at 2,165–2,291 MiB,
    and at 1,805–2,022 MiB with two arenas, in the same time (bench/PROFILE.md, session 6). Called once, when punchcard is
    imported, before any of its threads start; it changes no figure.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, malloc_arenas()))


def malloc_arenas() -> int:
    """Return the malloc arenas punchcard asks for: one per thread that allocates at once, 2 to 4."""
    return max(2, min(4, workers()))


def give_back_memory() -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    numpy's arrays under glibc's mmap threshold (which rises to 32 MiB as large arrays are
    freed) live on the heap, and freed heap memory stays in the process. After the model
    fit, on the 20M accounts-shaped export, that was ~230 MB the rest of the forecast never
    reused while the backtest beside it needed its own (bench/PROFILE.md). It takes a few
    milliseconds and changes no figure.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def workers() -> int:
    """Return how many threads may work at once: the CPUs this process may use (PUNCHCARD_THREADS caps it)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    cap = os.environ.get("PUNCHCARD_THREADS", "")
    return max(1, min(n, int(cap))) if cap.isdigit() and int(cap) > 0 else max(1, n)


def set_threads(n: int) -> None:
    """Use at most n threads: for the schemes replayed side by side and for the compiled kernels."""
    import numba

    os.environ["PUNCHCARD_THREADS"] = str(int(n))
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


#: SHA-256 of sales files given by URL, taken by a cluster's workers as they read them.
REMOTE: dict[str, str] = {}


def sha256_file(path: Path | str) -> str:
    """Return the hex SHA-256 of a file, streamed in 1 MiB chunks (once per file version).

    A build hashes each sales file for its fingerprint and again for ``results.json``;
    the second time is answered from memory while the file's inode, size and mtime are
    unchanged. A URL's hash is the one its reading took (``REMOTE``), "unknown" before
    (so a program reading URLs is rebuilt, never reused, until it has been read).
    """
    if isinstance(path, str) and "://" in path:
        return REMOTE.get(path, "unknown")
    stat = os.stat(path)
    return _sha256(os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, inode: int, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
