"""Stage 3, the scheme engine: every scheme kind replayed over transactions, and the backtest.

``registry`` maps each kind to its module (one module per kind: its compiled scan, all
settling through ``settle``); `replay` runs one scheme over history or simulated
purchases; `run_backtest` replays every scheme of a program over the real history
(``backtest``), shard by customer hash when large (``shard``).
"""

from punchcard.schemes.registry import KINDS, replay
from punchcard.schemes.settle import Replay, ReplayContext
from punchcard.schemes.backtest import run as run_backtest  # noqa: E402 - after the names it uses

__all__ = ["KINDS", "Replay", "ReplayContext", "replay", "run_backtest"]
