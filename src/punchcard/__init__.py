"""punchcard: compare loyalty-programme schemes on a business's own sales history."""

import os

__version__ = "0.1.0"

# numpy asks the kernel for transparent huge pages for each large array (madvise); where the
# kernel then compacts memory to find them on the first touch (the usual `defrag=madvise`),
# a fresh column-sized array takes several times longer to page in (a 20M-row read spent
# about a third of its CPU time so). The backtest, which keeps its tables for the whole run
# (schemes/settle.Tables), and the forecast beside it are faster without them too: in
# alternating 20M builds, 1.1 s (café) and 2.3 s (accounts) less with them off for the
# backtest as well (bench/PROFILE.md). Set before numpy is imported; the variable, if given, wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

# glibc's malloc arenas: at most a few, so that the threads' freed memory is reused instead of
# held per thread (runtime.limit_malloc_arenas says why; the variable MALLOC_ARENA_MAX, if given, wins).
from punchcard.runtime import limit_malloc_arenas  # noqa: E402

limit_malloc_arenas()
