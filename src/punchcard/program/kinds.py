"""The scheme kinds: one `Kind` per module in ``punchcard/schemes/``, found there at run time.

A kind is declared once, in its own module (``schemes/stamp_card.py`` …), which holds
everything about it: its keys in the program file and the frozen dataclass they load
into, its compiled replay, and its words (its name, the summary sentence, the labels of
its settings) and the commented example `punchcard init` writes. That module's ``KIND``
is the whole declaration; adding a kind means adding one such module.

The program stage needs the kinds to validate a file, but must not import the scheme
engine that comes after it; so the kinds are found the way plug-ins are: `kinds()`
imports every module of the ``punchcard.schemes`` package that defines ``KIND``, once,
when a program is first loaded. That discovery is the one place the program stage
reaches the schemes package, and only by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from punchcard.program.containers import Check, Key

SCHEMES_PACKAGE = "punchcard.schemes"
_SCHEMES_DIR = Path(__file__).resolve().parent.parent / "schemes"


@dataclass(frozen=True)
class Kind:
    """Everything about one scheme kind, declared in its own module in ``schemes/``.

    The program stage reads ``name`` … ``schema_extra``; the scheme engine ``replay``;
    the forecast ``card`` and ``new_customers_only``; the site ``label``, ``summary``,
    ``settings`` and ``gives_rewards``; `punchcard init` ``starter``.
    """

    name: str  # the `kind:` value
    order: int  # position in the schema, the reference and `init`'s starter (smaller first)
    doc: str  # one line, for the reference and the JSON Schema
    params: type  # frozen dataclass the kind's keys load into
    keys: tuple[Key, ...]
    replay: Callable[..., Any]  # (params, tx, ctx, per_tx[, tables]) -> schemes.Replay
    label: str  # the kind's name on the site (an English msgid)
    summary: Callable[..., list[str]]  # (params dict, fmt, translations) -> sentences
    starter: str  # commented YAML example for `punchcard init` (indented list item)
    checks: tuple[Check, ...] = ()
    schema_extra: tuple[tuple[str, Any], ...] = ()
    settings: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (label msgid, format)
    gives_rewards: bool = True  # False: costs only (perks); the verdict says so
    new_customers_only: bool = False  # only customers first seen in the window can earn it
    # a card the forecast's goal-gradient state machine runs for: params -> {stamps, counter,
    # min_purchase, head_start} (forecast.worlds); None: members' behaviour follows the lifts only
    card: Callable[[Any], dict] | None = None
    # the parameters `punchcard tune` may search: (path in the scheme, whole numbers only, what it is);
    # the `tune:` key of the program file is built from them (forecast/tune.py has the defaults)
    tunable: tuple[tuple[str, bool, str], ...] = ()


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    """Return every scheme kind by name, in their declared order (found in ``punchcard.schemes``)."""
    found: list[Kind] = []
    for info in pkgutil.iter_modules([str(_SCHEMES_DIR)]):
        module = importlib.import_module(f"{SCHEMES_PACKAGE}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, Kind):
            found.append(kind)
    found.sort(key=lambda k: (k.order, k.name))
    return {k.name: k for k in found}


def kind(name: str) -> Kind:
    """Return the kind called ``name`` (KeyError when there is none)."""
    return kinds()[name]
