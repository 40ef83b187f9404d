"""punchcard: compare loyalty-programme schemes on a business's own sales history."""

import os

__version__ = "0.1.0"

# numpy asks the kernel for transparent huge pages for each large array (madvise); where the
# kernel then compacts memory to find them on the first touch (the usual `defrag=madvise`),
# a fresh column-sized array takes several times longer to page in (a 20M-row read spent
# about a third of its CPU time so). Set before numpy is imported; the variable, if given, wins.
# The backtest, whose many column-sized arrays fault page by page without them, turns them
# back on for itself (runtime.huge_pages).
HUGE_PAGES_GIVEN = "NUMPY_MADVISE_HUGEPAGE" in os.environ
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
