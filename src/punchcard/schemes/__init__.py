"""Stage 3, the scheme engine: every scheme kind replayed over transactions, and the backtest.

One module per kind (``stamp_card.py`` …) declares the kind once, as its ``KIND``: its
program-file keys, its compiled scan (all settling through ``settle``), its words;
`registry` lists them; `replay` runs one scheme over history or simulated
purchases; `run_backtest` replays every scheme of a program over the real history
(``backtest``), shard by customer hash when large (``shard``).
"""

from punchcard.schemes.registry import registry, replay
from punchcard.schemes.settle import Replay, ReplayContext
from punchcard.schemes.backtest import run as run_backtest  # noqa: E402 - after the names it uses

__all__ = ["registry", "Replay", "ReplayContext", "replay", "run_backtest"]
