"""Stage 2, reading: sales exports → the `Ledger` every later stage reads.

The front door is `read_ledger(sales, base=...)`. Inside: ``dialect`` sniffs a file,
``sources`` opens and transcodes it, ``parse`` reads its cells into standard columns,
``rows`` classifies every row (used, or rejected for one reason), ``quality`` counts and
masks what was rejected, ``customers`` keys the customers and sorts the transactions,
and ``ledger`` holds the result. Raw customer identifiers end here. Beside them,
``columns`` guesses an unseen export's columns, currency and language for
`punchcard init` (``sniff_export``), each guess with its evidence. ``shards`` splits
customers by the hash of their id for every sum across them; ``partitions`` is the
stage cut in pieces for a Dask cluster (``cluster.py``).
"""

from punchcard.ingest.columns import ROLES as GUESSED_ROLES
from punchcard.ingest.columns import Guess, Guessed, Sample, count_rows, header_suggestion, sniff_export
from punchcard.ingest.dialect import DELIMITERS, EXCEL, Dialect, Sniffed, normalise_header, sniff
from punchcard.ingest.ledger import EPOCH_ORDINAL, DataQuality, InputFile, Ledger, TxArrays, arrays
from punchcard.ingest.read import epoch_day, read_ledger
from punchcard.ingest.shards import (
    MAX_SHARDS, SHARD_BYTES, input_bytes, ledger_shards, ordered_sum, shard_count, shard_of, shard_sums,
)

__all__ = ["DELIMITERS", "EXCEL", "EPOCH_ORDINAL", "GUESSED_ROLES", "DataQuality", "Dialect", "Guess", "Guessed",
           "InputFile", "Ledger", "Sample", "Sniffed", "TxArrays", "arrays", "count_rows", "epoch_day",
           "header_suggestion", "normalise_header", "read_ledger", "sniff", "sniff_export",
           # customer-hash shards: the unit of every sum across customers
           "MAX_SHARDS", "SHARD_BYTES", "input_bytes", "ledger_shards", "ordered_sum", "shard_count", "shard_of",
           "shard_sums"]
