"""Reading YAML nodes while keeping their line and column, so problems point at the right place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from punchcard.program.problems import INVALID, Problem, _Shape


@dataclass
class _Ctx:
    file: Path
    base: Path
    loader: yaml.SafeLoader
    problems: list[Problem] = field(default_factory=list)

    def report(self, node: yaml.Node | None, path: str, message: str, fix: str) -> Any:
        """Record a problem at ``node`` (1-based line/column) and return INVALID."""
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(line, col, path, message, fix))
        return INVALID

    def scalar(self, node: yaml.Node, path: str) -> Any:
        """Return a scalar node's value as YAML types it (a _Shape for mappings and lists)."""
        if isinstance(node, yaml.MappingNode):
            return _Shape("a mapping")
        if isinstance(node, yaml.SequenceNode):
            return _Shape("a list")
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            return self.report(node, path, f"cannot read this value ({exc})",
                               "write a plain number, text, date or true/false")
        except (ValueError, OverflowError) as exc:  # e.g. 2025-02-30: shaped like a date, not one
            if node.tag.endswith(":timestamp"):
                return self.report(node, path, f"{node.value} is not a day of the calendar ({exc})",
                                   "write a real date as YYYY-MM-DD, e.g. `2025-02-28`")
            return self.report(node, path, f"cannot read {node.value[:60]!r} ({exc})",
                               "write a plain number, text, date or true/false")


def _is_null(node: yaml.Node, ctx: _Ctx) -> bool:
    return isinstance(node, yaml.ScalarNode) and ctx.scalar(node, "") is None


def _commented_out(node: yaml.Node) -> bool:
    mark = node.start_mark
    if node.value != "" or not isinstance(mark.buffer, str):
        return False
    return mark.buffer[mark.pointer:].split("\n", 1)[0].lstrip(" ").startswith("#")


def _find(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value == key:
                return vnode
    return None
