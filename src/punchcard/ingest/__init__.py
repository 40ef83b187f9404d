"""Stage 2, reading: sales exports → the `Ledger` every later stage reads.

The front door is `read_ledger(sales, base=...)`. Inside: ``dialect`` sniffs a file,
``sources`` opens and transcodes it, ``parse`` reads its cells into standard columns,
``rows`` classifies every row (used, or rejected for one reason), ``quality`` counts and
masks what was rejected, ``customers`` keys the customers and sorts the transactions,
and ``ledger`` holds the result. Raw customer identifiers end here.
"""

from punchcard.ingest.dialect import DELIMITERS, EXCEL, Dialect, Sniffed, normalise_header, sniff
from punchcard.ingest.ledger import EPOCH_ORDINAL, DataQuality, InputFile, Ledger, TxArrays, arrays
from punchcard.ingest.read import epoch_day, read_ledger

__all__ = ["DELIMITERS", "EXCEL", "EPOCH_ORDINAL", "DataQuality", "Dialect", "InputFile", "Ledger", "Sniffed", "TxArrays",
           "arrays", "epoch_day", "normalise_header", "read_ledger", "sniff"]
