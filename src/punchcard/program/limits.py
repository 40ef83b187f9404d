"""Limits on a program file, checked before it is composed: size, nesting and aliases.

A program file is a page of settings. These limits are far above any real one and stop
hostile ones fast: a YAML bomb of nested merge keys (``<<``) or aliases that would expand
to billions of nodes, or 100,000 nested brackets that would exhaust the parser's stack.
"""

from __future__ import annotations

import yaml

from punchcard.program.problems import Problem

MAX_BYTES = 1_000_000  # a real program file is a few kilobytes
MAX_DEPTH = 64  # the deepest real nesting is about 5 (schemes → tiers → item → key)
MAX_NODES = 100_000  # values after every alias and merge is expanded


def size_problem(text: str) -> Problem | None:
    """Return the problem of a program file larger than ``MAX_BYTES``, else None."""
    size = len(text.encode("utf-8"))
    if size <= MAX_BYTES:
        return None
    return Problem(1, 1, "", f"the file is {size:,} bytes; a program file may be at most "
                   f"{MAX_BYTES:,}", "keep only the program's settings in it (the sales data "
                   "belongs in the file that `sales.path` names)")


def nesting_problem(text: str) -> Problem | None:
    """Return the problem of nesting deeper than ``MAX_DEPTH``, found without recursion."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return Problem(mark.line + 1, mark.column + 1, "",
                                   f"the values are nested more than {MAX_DEPTH} levels deep",
                                   "a program file nests a few levels at most; remove the "
                                   "extra brackets or indentation")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # the composer reports the syntax error with its line
    return None


def expansion_problem(root: yaml.Node) -> Problem | None:
    """Return the problem of aliases and merges that expand beyond ``MAX_NODES`` values or
    ``MAX_DEPTH`` levels, or that refer to themselves; measured on the composed graph in
    linear time, without recursion."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            size[key] = min(MAX_NODES + 1, 1 + sum(size[id(c)] for c in kids))
            # levels of lists and mappings, as nesting_problem counts them (a scalar is none)
            height[key] = 0 if isinstance(node, yaml.ScalarNode) else 1 + max(
                (height[id(c)] for c in kids), default=0)
            entered.discard(key)
            continue
        if key in size:
            continue
        entered.add(key)
        stack.append((node, True))
        for child in kids:
            if id(child) in entered:
                mark = child.start_mark
                return Problem(mark.line + 1, mark.column + 1, "",
                               "an alias refers to the value that contains it",
                               "write the value out")
            if id(child) not in size:
                stack.append((child, False))
    if height[id(root)] > MAX_DEPTH:
        return Problem(1, 1, "", f"its aliases (`*name`) nest the values more than {MAX_DEPTH} "
                       "levels deep", "write the values out, or use fewer aliases")
    if size[id(root)] > MAX_NODES:
        return Problem(1, 1, "", f"its aliases (`*name`) and merges (`<<`) expand to more than "
                       f"{MAX_NODES:,} values", "write the keys out, or use fewer aliases")
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []
