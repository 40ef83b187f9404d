"""Keys, and the value types made of keys or items: mappings, lists and ranges."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from punchcard.program.types import SEGMENT_NAMES, Range, SegmentRange
from punchcard.program.problems import (
    INVALID, REQUIRED, _a, _leaf, _num, _Shape, _show, _suggest,
)
from punchcard.program.value_types import _is_number, Num, _Type
from punchcard.program.yaml_marks import _commented_out, _Ctx, _find, _is_null


@dataclass(frozen=True)
class Key:
    """One program-file key: its type, default and one-line description."""

    name: str
    type: _Type
    doc: str
    default: Any = REQUIRED
    default_doc: str | None = None  # a computed default, in words ("the file's stem")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.default_doc is None

    def default_text(self) -> str:
        """Return the default as the reference docs show it."""
        if self.default_doc is not None:
            return self.default_doc
        if self.default is REQUIRED:
            return "**required**"
        if isinstance(self.type, _Obj) and self.default is not None:
            return "see its table"
        if self.default is None:
            return "none"
        return f"`{json.dumps(self.default, ensure_ascii=False)}`"


Check = Callable[[dict, dict, yaml.Node, str, _Ctx], None]


@dataclass(frozen=True)
class _Obj(_Type):
    """A mapping with declared keys; ``build`` turns the valid values present into the result."""

    keys: tuple[Key, ...]
    build: Callable[[dict], Any] = dict
    checks: tuple[Check, ...] = ()
    what: str = "mapping"
    schema_extra: tuple[tuple[str, Any], ...] = ()

    def label(self) -> str:
        return self.what

    def by_name(self) -> dict[str, Key]:
        return {k.name: k for k in self.keys}

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        keys = self.by_name()
        pairs: list = []
        if isinstance(node, yaml.MappingNode):
            try:
                ctx.loader.flatten_mapping(node)
            except yaml.YAMLError as exc:
                return ctx.report(node, path, f"cannot merge this mapping ({exc})",
                                  "write the keys out instead of using `<<`")
            pairs = node.value
        elif not (isinstance(node, yaml.ScalarNode) and ctx.scalar(node, path) is None):
            return ctx.report(node, path, f"expected {_a(self.what)}, found "
                              f"{_show(ctx.scalar(node, path))}",
                              f"indent the keys of `{_leaf(path)}` under it, e.g. "
                              f"`{_leaf(path)}:` then `  {self.keys[0].name}: …` on the next line")
        values: dict[str, Any] = {}
        nodes: dict[str, yaml.Node] = {}
        for knode, vnode in pairs:
            name = ctx.scalar(knode, path)
            here = f"{path}.{name}" if path else str(name)
            if not isinstance(name, str):
                ctx.report(knode, here, f"keys must be text, found {_show(name)}",
                           "put the key in quotes or rename it")
                continue
            if name in nodes:
                ctx.report(knode, here, f"`{name}` is given twice (first on line "
                           f"{nodes[name].start_mark.line + 1})", "remove one of them")
                continue
            nodes[name] = vnode
            key = keys.get(name)
            if key is None:
                self.unknown(knode, here, name, ctx)
                continue
            if key.default is None and _is_null(vnode, ctx):
                if _commented_out(vnode):
                    ctx.report(vnode, here, "the value is empty: YAML reads ` #` and what follows "
                               "as a comment", f"put the value in quotes, e.g. `{name}: \"#…\"`")
                values[name] = None
                continue
            values[name] = key.type.load(vnode, here, ctx)
        missing = [k for k in self.keys if k.required and k.name not in nodes]
        for key in missing:
            here = f"{path}.{key.name}" if path else key.name
            example = f"{key.name}: {key.type.example}" if key.type.example is not None else key.name
            ctx.report(node, here, f"`{key.name}` is missing ({key.doc.rstrip('.').lower()})",
                       f"add `{example}` ({key.type.label()})")
        if missing or any(v is INVALID for v in values.values()):
            return INVALID
        before = len(ctx.problems)
        for check in self.checks:
            check(values, nodes, node, path, ctx)
        return INVALID if len(ctx.problems) > before else self.build(values)

    def unknown(self, knode: yaml.Node, here: str, name: str, ctx: _Ctx) -> None:
        """Report an unknown key with the closest valid one, or all of them."""
        valid = [k.name for k in self.keys]
        close = _suggest(name, valid)
        fix = f"did you mean `{close}`?" if close else "remove or rename it."
        ctx.report(knode, here, f"unknown key `{name}`",
                   f"{fix} Valid keys here: {', '.join(valid)}")

    def schema(self) -> dict:
        s: dict = {
            "type": "object" if any(k.required for k in self.keys) else ["object", "null"],
            "properties": {k.name: _key_schema(k) for k in self.keys},
            "additionalProperties": False,
        }
        required = [k.name for k in self.keys if k.required]
        if required:
            s["required"] = required
        s.update(dict(self.schema_extra))
        return s


def _key_schema(key: Key) -> dict:
    s = dict(key.type.schema())
    if key.default is None:
        if isinstance(s.get("type"), str):
            s["type"] = [s["type"], "null"]
        elif "anyOf" in s:
            s["anyOf"] = s["anyOf"] + [{"type": "null"}]
    s["description"] = key.doc
    if key.default is not REQUIRED:
        s["default"] = key.default
    return s


@dataclass(frozen=True)
class _List(_Type):
    """A list of ``item``; ``unique`` names a key that must differ between items."""

    item: _Type
    min_items: int = 1
    unique: str | None = None
    what: str = "list"
    max_items: int | None = None
    max_hint: str = ""

    def label(self) -> str:
        return self.what

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode) or len(node.value) < self.min_items:
            found = _Shape("an empty list") if isinstance(node, yaml.SequenceNode) \
                else ctx.scalar(node, path)
            return ctx.report(node, path, f"expected {_a(self.what)} with at least "
                              f"{self.min_items} item, found {_show(found)}",
                              f"write each item on its own line starting with `- ` under "
                              f"`{_leaf(path)}:`")
        if self.max_items is not None and len(node.value) > self.max_items:
            return ctx.report(node, path, f"{len(node.value):,} items; a {self.what} has at most "
                              f"{self.max_items}", self.max_hint or "remove some")
        items = [self.item.load(n, f"{path}[{i}]", ctx) for i, n in enumerate(node.value)]
        if self.unique:
            self.check_unique(node, path, ctx)
        if any(v is INVALID for v in items):
            return INVALID
        return tuple(items)

    def check_unique(self, node: yaml.SequenceNode, path: str, ctx: _Ctx) -> None:
        """Report an item whose ``unique`` key repeats an earlier item's."""
        seen: dict[Any, int] = {}
        for i, item in enumerate(node.value):
            vnode = _find(item, self.unique)
            if vnode is None or not isinstance(vnode, yaml.ScalarNode):
                continue
            if vnode.value in seen:
                ctx.report(vnode, f"{path}[{i}].{self.unique}",
                           f"{self.unique} {_show(vnode.value)} is already used by "
                           f"{path}[{seen[vnode.value]}]",
                           f"give each item of `{_leaf(path)}` its own `{self.unique}`")
            else:
                seen[vnode.value] = i

    def schema(self) -> dict:
        s = {"type": "array", "items": self.item.schema(), "minItems": self.min_items}
        if self.max_items is not None:
            s["maxItems"] = self.max_items
        return s


@dataclass(frozen=True)
class _Range(_Type):
    """A number, or a triangular range ``{low, likely, high}``, each within ``bounds``."""

    bounds: Num = Num()
    example: Any = None

    def label(self) -> str:
        return f"range of {self.bounds.label()}s".replace("numbers from", "numbers, from")

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            v = ctx.scalar(node, path)
            if v is INVALID:
                return v
            if not self.bounds.accepts(v):
                hint = "remove the quotes" if isinstance(v, str) and _is_number(v) else ""
                return self.wrong(node, path, ctx, v, hint)
            return Range.fixed(v)
        parts = _Obj(tuple(Key(k, self.bounds, "") for k in ("low", "likely", "high")),
                     build=dict).load(node, path, ctx)
        if parts is INVALID:
            return parts
        low, likely, high = parts["low"], parts["likely"], parts["high"]
        if not low <= likely <= high:
            return ctx.report(
                node, path,
                f"a range needs low ≤ likely ≤ high, found low {_num(low)}, likely {_num(likely)}, "
                f"high {_num(high)}",
                f"reorder the three values, e.g. `{_leaf(path)}: "
                f"{{low: {_num(min(parts.values()))}, likely: {_num(sorted(parts.values())[1])}, "
                f"high: {_num(max(parts.values()))}}}`")
        return Range(float(low), float(likely), float(high))

    def wrong(self, node, path, ctx, found, hint=""):
        name = _leaf(path)
        return ctx.report(
            node, path, f"expected a {self.bounds.label()}, or a range {{low, likely, high}} of "
            f"them, found {_show(found)}",
            f"write one number or three, e.g. `{name}: 0.1` or `{name}: "
            "{low: 0.05, likely: 0.1, high: 0.2}`, each a " + self.bounds.label()
            + (f"; {hint}" if hint else ""))

    def schema(self) -> dict:
        number = self.bounds.schema()
        triangle = {
            "type": "object",
            "description": "A triangular range: low ≤ likely ≤ high.",
            "properties": {k: dict(number) for k in ("low", "likely", "high")},
            "required": ["low", "likely", "high"],
            "additionalProperties": False,
        }
        return {"anyOf": [number, triangle]}


@dataclass(frozen=True)
class _SegRange(_Range):
    """A ``_Range``, or one per buyer segment: ``{light: …, medium: …, heavy: …}`` (each a number or range)."""

    def label(self) -> str:
        return super().label() + ", or one per segment {light, medium, heavy}"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if isinstance(node, yaml.MappingNode):
            names = [ctx.scalar(k, path) for k, _v in node.value]
            if any(n in SEGMENT_NAMES for n in names):
                one = _Range(self.bounds, self.example)
                parts = _Obj(tuple(Key(k, one, "") for k in SEGMENT_NAMES), build=dict).load(node, path, ctx)
                if parts is INVALID:
                    return parts
                return SegmentRange(parts["light"], parts["medium"], parts["heavy"])
        return super().load(node, path, ctx)

    def schema(self) -> dict:
        plain = super().schema()
        per_segment = {
            "type": "object",
            "description": "One value or range per buyer segment (terciles of purchase frequency).",
            "properties": {k: plain for k in SEGMENT_NAMES},
            "required": list(SEGMENT_NAMES),
            "additionalProperties": False,
        }
        return {"anyOf": plain["anyOf"] + [per_segment]}
