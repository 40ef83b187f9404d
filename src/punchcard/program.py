"""Stage 1: program files (YAML) → a typed, validated ``Program``.

The dataclasses below are the contract every later stage reads. The loader and
validation (file/line/column/key messages, "did you mean", JSON Schema) are built from
one declaration of the keys.
"""

from __future__ import annotations

import codecs
import difflib
import glob
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Literal

import babel
import babel.numbers
import yaml

from punchcard.errors import PunchcardError


@dataclass(frozen=True)
class Range:
    """A number or a triangular range {low, likely, high}; a fixed number has all three equal."""

    low: float
    likely: float
    high: float

    @classmethod
    def fixed(cls, x: float) -> "Range":
        """Return the range that is exactly ``x``."""
        return cls(float(x), float(x), float(x))

    @property
    def is_fixed(self) -> bool:
        return self.low == self.likely == self.high

    @property
    def mean(self) -> float:
        """Mean of the triangular distribution."""
        return (self.low + self.likely + self.high) / 3.0


@dataclass(frozen=True)
class SalesFormat:
    delimiter: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    date_format: str | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class Sales:
    paths: tuple[Path, ...]
    columns: dict[str, str] = field(default_factory=dict)
    format: SalesFormat = SalesFormat()
    window: tuple[date | None, date | None] | None = None
    cancel_prefix: str | None = None
    declared: tuple[str, ...] = ()  # the paths as written in the program file


@dataclass(frozen=True)
class FixedCosts:
    setup: float = 0.0
    monthly: float = 0.0
    per_member_year: float = 0.0


@dataclass(frozen=True)
class Business:
    gross_margin: float
    horizon_months: int = 12
    fixed_costs: FixedCosts = FixedCosts()


@dataclass(frozen=True)
class Assumptions:
    enrollment: Range = Range.fixed(0.4)
    visit_lift: Range = Range.fixed(0.0)
    spend_lift: Range = Range.fixed(0.0)
    retention_lift: Range = Range.fixed(0.0)
    redemption_rate: Range = Range.fixed(1.0)
    frequency_bias: float = 0.0
    goal_gradient: Range = Range.fixed(0.0)
    post_reward_reset: bool = True
    endowed_progress: Range = Range.fixed(0.0)


@dataclass(frozen=True)
class ForecastSettings:
    draws: int = 200
    max_customers: int = 20000


@dataclass(frozen=True)
class SiteSettings:
    title: str | None = None
    logo: Path | None = None
    primary_color: str | None = None
    footer: str | None = None


# --- scheme kinds -------------------------------------------------------------------


@dataclass(frozen=True)
class Reward:
    value: float
    cost: float | None = None
    type: Literal["item", "discount"] = "item"


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: float
    discount: float = 0.0
    multiplier: float = 1.0
    perk_cost_year: float = 0.0


@dataclass(frozen=True)
class StampCardParams:
    stamps: int
    reward: Reward
    counter: Literal["visits", "items", "spend"] = "visits"
    min_purchase: float = 0.0
    expiry_days: int | None = None
    head_start: int = 0


@dataclass(frozen=True)
class PointsParams:
    earn_per_unit: float
    point_value: float
    min_redeem: int
    redeem_step: int | None = None
    expiry_months: int | None = None
    min_purchase: float = 0.0
    tiers: tuple[Tier, ...] | None = None
    window_months: int = 12


@dataclass(frozen=True)
class TiersParams:
    tiers: tuple[Tier, ...]
    window_months: int = 12


@dataclass(frozen=True)
class MemberDiscountParams:
    rate: float
    cashback: bool = False
    expiry_days: int | None = None


@dataclass(frozen=True)
class WelcomeOfferParams:
    value: float
    type: Literal["item", "discount"] = "discount"
    cost: float | None = None
    min_purchase: float = 0.0
    expiry_days: int | None = 60
    new_after_days: int = 90


@dataclass(frozen=True)
class BirthdayParams:
    value: float
    type: Literal["item", "discount"] = "discount"
    cost: float | None = None
    window_days: int = 30


@dataclass(frozen=True)
class CouponsParams:
    every_days: int
    active_days: int
    valid_days: int
    rate: float | None = None
    value: float | None = None
    cost: float | None = None
    min_purchase: float = 0.0


@dataclass(frozen=True)
class PerksParams:
    cost_per_member_year: float = 0.0
    cost_per_event: float = 0.0
    events_per_year: float = 0.0


SchemeParams = (
    StampCardParams | PointsParams | TiersParams | MemberDiscountParams
    | WelcomeOfferParams | BirthdayParams | CouponsParams | PerksParams
)

KIND_PARAMS: dict[str, type] = {
    "stamp_card": StampCardParams,
    "points": PointsParams,
    "tiers": TiersParams,
    "member_discount": MemberDiscountParams,
    "welcome_offer": WelcomeOfferParams,
    "birthday": BirthdayParams,
    "coupons": CouponsParams,
    "perks": PerksParams,
}


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    kind: str
    params: SchemeParams
    assumptions: Assumptions = Assumptions()
    description: str | None = None


@dataclass(frozen=True)
class Program:
    path: Path
    id: str
    name: str
    locale: str
    currency: str
    sales: Sales
    business: Business
    schemes: tuple[Scheme, ...]
    assumptions: Assumptions = Assumptions()
    forecast: ForecastSettings = ForecastSettings()
    site: SiteSettings = SiteSettings()



# --- public API -----------------------------------------------------------------------


def find_programs(folder: Path) -> list[Path]:
    """Return the program files (``*.yaml`` and ``*.yml``) directly in ``folder``, sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_program(path: Path) -> Program:
    """Read, validate and return the program file at ``path``; every problem in it is reported at once."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise PunchcardError(
            f"{path}: cannot read the program file ({exc.strerror or exc}). "
            "Fix: check the path, or run `punchcard init SALES.csv` to write a starter program."
        ) from None
    except UnicodeDecodeError as exc:
        raise PunchcardError(
            f"{path}: byte {exc.start} is not UTF-8 text. Fix: save the program file as UTF-8."
        ) from None
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise PunchcardError(_report(path, [Problem(
            line, column, "", f"character {exc.character!r} cannot appear in YAML",
            "delete it, or save the file as plain UTF-8 text")])) from None
    ctx = _Ctx(file=path, base=path.parent, loader=loader)
    try:
        draft = _load_root(ctx)
    finally:
        loader.dispose()
    if ctx.problems or draft is INVALID:
        raise PunchcardError(_report(path, ctx.problems))
    return _assemble(path, draft)


def program_json_schema() -> dict:
    """Return the JSON Schema (draft 2020-12) of program files, built from the key declarations."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://punchcard.dev/schema/program.json",
        "title": "punchcard program file",
        "description": "One business, one sales history, several candidate loyalty schemes.",
    }
    schema.update(PROGRAM.schema())
    return schema


def reference_markdown() -> str:
    """Return the Markdown reference of every program-file key (docs/program-reference.md)."""
    out = [_REFERENCE_INTRO]
    seen: dict[int, str] = {}
    _doc_object(out, "Top level", PROGRAM, "", seen)
    out.append("## Schemes\n")
    out.append("Every item of `schemes` has the common keys below plus the keys of its `kind`.\n")
    _doc_object(out, "`schemes[]`: common keys", _Obj(SCHEME_COMMON), "schemes[]", seen, 3)
    for kind, spec in KINDS.items():
        _doc_object(out, f"`kind: {kind}`", _Obj(spec.keys), "schemes[]", seen, 3, spec.doc)
    return "\n".join(out).rstrip() + "\n"


# --- problems -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a program file, with where it is and how to fix it."""

    line: int
    column: int
    path: str
    message: str
    fix: str

    def render(self, file: Path) -> str:
        """Return the one-line form ``file:line:col: key.path: message. Fix: …``."""
        where = f"{file}:{self.line}:{self.column}: " + (f"{self.path}: " if self.path else "")
        return f"{where}{self.message}. Fix: {self.fix}"


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()  # a value that failed validation (its problem is already recorded)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


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


@dataclass(frozen=True)
class _Shape:
    text: str


def _report(file: Path, problems: list[Problem]) -> str:
    problems = sorted(problems, key=lambda p: (p.line, p.column))
    n = len(problems)
    head = f"{file}: {n} problem{'s' if n != 1 else ''}"
    return "\n".join([head] + ["  " + p.render(file) for p in problems])


def _show(value: Any) -> str:
    if isinstance(value, _Shape):
        return value.text
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "…"
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return repr(value)


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _leaf(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _suggest(word: str, options: list[str]) -> str | None:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


# --- value types: each validates a YAML node, describes itself and gives its schema ---


class _Type:
    """A value type: ``load`` checks a YAML node, ``label`` names it, ``schema`` gives JSON Schema."""

    example: Any = None

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        raise NotImplementedError

    def label(self) -> str:
        raise NotImplementedError

    def schema(self) -> dict:
        raise NotImplementedError

    def wrong(self, node: yaml.Node, path: str, ctx: _Ctx, found: Any, hint: str = "") -> Any:
        """Record "expected <label>, found <value>" with a fix naming the key."""
        name = _leaf(path)
        fix = f"set `{name}` to {_a(self.label())}"
        if self.example is not None:
            fix += f", e.g. `{name}: {self.example}`"
        return ctx.report(node, path, f"expected {_a(self.label())}, found {_show(found)}",
                          fix + (f"; {hint}" if hint else ""))


@dataclass(frozen=True)
class _Num(_Type):
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    integer: bool = False
    example: Any = None

    def label(self) -> str:
        noun = "whole number" if self.integer else "number"
        if self.min is not None and self.max is not None:
            return f"{noun} from {_num(self.min)} to {_num(self.max)}"
        if self.min is not None:
            return f"{noun} {'>' if self.min_exclusive else '≥'} {_num(self.min)}"
        if self.max is not None:
            return f"{noun} ≤ {_num(self.max)}"
        return noun

    def accepts(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        if self.integer and not float(v).is_integer():
            return False
        if self.min is not None and (v <= self.min if self.min_exclusive else v < self.min):
            return False
        return self.max is None or v <= self.max

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID:
            return v
        if not self.accepts(v):
            hint = "remove the quotes" if isinstance(v, str) and _is_number(v) else ""
            return self.wrong(node, path, ctx, v, hint)
        return int(v) if self.integer else float(v)

    def schema(self) -> dict:
        s: dict = {"type": "integer" if self.integer else "number"}
        if self.min is not None:
            s["exclusiveMinimum" if self.min_exclusive else "minimum"] = self.min
        if self.max is not None:
            s["maximum"] = self.max
        return s


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Bad(Exception):
    """Raised by a text converter: (message, fix)."""


@dataclass(frozen=True)
class _Str(_Type):
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    what: str = "text"
    convert: Callable[[str], str] | None = None
    hint: str = ""
    example: Any = None

    def label(self) -> str:
        if self.choices:
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        return self.what

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID:
            return v
        if not isinstance(v, str) or not v:
            hint = self.hint or ("put it in quotes" if isinstance(v, (int, float, date)) else "")
            return self.wrong(node, path, ctx, v, hint)
        if self.choices and v not in self.choices:
            close = _suggest(v, list(self.choices))
            fix = f"did you mean `{close}`? " if close else ""
            return ctx.report(node, path, f"{_show(v)} is not a valid `{_leaf(path)}`",
                              fix + "valid values: " + ", ".join(self.choices))
        if self.pattern and not re.fullmatch(self.pattern, v):
            if self.pattern == SLUG:
                return self.wrong(node, path, ctx, v,
                                  self.hint + f", e.g. `{_leaf(path)}: {_slugify(v)}`")
            return self.wrong(node, path, ctx, v, self.hint)
        if self.convert:
            try:
                return self.convert(v)
            except _Bad as bad:
                message, fix = bad.args
                return ctx.report(node, path, f"{_show(v)}: {message}", fix)
        return v

    def schema(self) -> dict:
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        s: dict = {"type": "string", "minLength": 1}
        if self.pattern:
            s["pattern"] = f"^(?:{self.pattern})$"
        return s


@dataclass(frozen=True)
class _Bool(_Type):
    example: Any = "true"

    def label(self) -> str:
        return "true or false"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID or isinstance(v, bool):
            return v
        return self.wrong(node, path, ctx, v)

    def schema(self) -> dict:
        return {"type": "boolean"}

    def wrong(self, node, path, ctx, found, hint=""):
        name = _leaf(path)
        return ctx.report(node, path, f"expected true or false, found {_show(found)}",
                          f"write `{name}: true` or `{name}: false`")


@dataclass(frozen=True)
class _Date(_Type):
    example: Any = "2026-01-31"

    def label(self) -> str:
        return "date (YYYY-MM-DD)"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID or (isinstance(v, date) and not isinstance(v, datetime)):
            return v
        if isinstance(v, str):
            try:
                return date.fromisoformat(v)
            except ValueError:
                pass
        return self.wrong(node, path, ctx, v)

    def schema(self) -> dict:
        return {"type": "string", "format": "date"}


@dataclass(frozen=True)
class _Range(_Type):
    """A number, or a triangular range ``{low, likely, high}``, each within ``bounds``."""

    bounds: _Num = _Num()
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
class _File(_Type):
    """A path to an existing file, relative to the program file."""

    def label(self) -> str:
        return "file path"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID:
            return v
        if not isinstance(v, str) or not v:
            return self.wrong(node, path, ctx, v)
        resolved = _resolve(ctx.base, v)
        if not resolved.is_file():
            return ctx.report(node, path, f"file not found: {resolved}",
                              f"correct the path (it is read relative to {ctx.base.resolve()}) "
                              "or create the file")
        return resolved

    def schema(self) -> dict:
        return {"type": "string", "minLength": 1}


def _resolve(base: Path, written: str) -> Path:
    return Path(os.path.abspath(base / os.path.expanduser(written)))


@dataclass(frozen=True)
class _SalesPaths(_Type):
    """A file, a list of files or a glob; returns ``(declared, resolved paths)``."""

    def label(self) -> str:
        return "file path, glob or list of them"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if isinstance(node, yaml.SequenceNode):
            if not node.value:
                return self.wrong(node, path, ctx, _Shape("an empty list"))
            entries = [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        else:
            entries = [(node, path)]
        declared: list[str] = []
        found: list[Path] = []
        for item, where in entries:
            v = ctx.scalar(item, where)
            if v is INVALID:
                continue
            if not isinstance(v, str) or not v:
                self.wrong(item, where, ctx, v)
                continue
            declared.append(v)
            resolved = _resolve(ctx.base, v)
            if glob.has_magic(v):
                matches = [Path(m) for m in glob.glob(str(resolved), recursive=True)]
                matches = [m for m in matches if m.is_file()]
                if not matches:
                    ctx.report(item, where, f"no file matches {resolved}",
                               "correct the pattern (it is read relative to the program file's "
                               f"folder {ctx.base.resolve()})")
                found.extend(matches)
            elif resolved.is_file():
                found.append(resolved)
            else:
                ctx.report(item, where, f"sales file not found: {resolved}",
                           "correct `path` (it is read relative to the program file's folder "
                           f"{ctx.base.resolve()}), or create the file, e.g. with "
                           "`punchcard sample-data`")
        if len(declared) != len(entries) or len(found) == 0:
            return INVALID
        return tuple(declared), tuple(sorted(set(found)))

    def schema(self) -> dict:
        text = {"type": "string", "minLength": 1}
        return {"anyOf": [text, {"type": "array", "items": text, "minItems": 1}]}


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


def _is_null(node: yaml.Node, ctx: _Ctx) -> bool:
    return isinstance(node, yaml.ScalarNode) and ctx.scalar(node, "") is None


def _commented_out(node: yaml.Node) -> bool:
    mark = node.start_mark
    if node.value != "" or not isinstance(mark.buffer, str):
        return False
    return mark.buffer[mark.pointer:].split("\n", 1)[0].lstrip(" ").startswith("#")


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
        return {"type": "array", "items": self.item.schema(), "minItems": self.min_items}


def _find(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value == key:
                return vnode
    return None


# --- text converters ------------------------------------------------------------------


def _locale(text: str) -> str:
    try:
        loc = babel.Locale.parse(text.replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise _Bad("not a locale Babel knows",
                   "use a language tag such as `en-GB`, `nb-NO`, `de-DE` or `pt-BR`") from None
    return str(loc).replace("_", "-")


def _currency(text: str) -> str:
    codes = sorted(babel.numbers.list_currencies())
    if text in codes:
        return text
    close = text.upper() if text.upper() in codes else _suggest(text.upper(), codes)
    hint = f"did you mean `{close}`? " if close else ""
    raise _Bad("not an ISO 4217 currency code", f"{hint}write the three capital letters, e.g. "
               "`currency: EUR`, `NOK`, `GBP` or `USD`")


def _encoding(text: str) -> str:
    try:
        codecs.lookup(text)
    except LookupError:
        raise _Bad("not a text encoding Python knows",
                   "use one such as `utf-8`, `utf-8-sig`, `cp1252` or `latin-1`") from None
    return text


def _slug_hint(what: str) -> str:
    return (f"a {what} becomes a file or folder name, so use lower-case letters, digits, "
            "`-` and `_` only, starting with a letter or digit")


SLUG = r"[a-z0-9][a-z0-9_-]*"
_SHARE = _Num(0, 1, example=0.25)
_MONEY = _Num(0, example=0)
_POSITIVE = _Num(0, min_exclusive=True, example=10)
_DAYS = _Num(1, integer=True, example=30)


# --- the declaration of every key -----------------------------------------------------

ASSUMPTION_KEYS = (
    Key("enrollment", _Range(_Num(0, 1)),
        "Share of identified customers who join the scheme.", 0.4),
    Key("visit_lift", _Range(_Num(-1)),
        "Relative change in members' visit rate (0.05 = 5 % more visits).", 0.0),
    Key("spend_lift", _Range(_Num(-1)),
        "Relative change in members' basket size.", 0.0),
    Key("retention_lift", _Range(_Num(-1, 1)),
        "Relative cut in members' probability of dropping out.", 0.0),
    Key("redemption_rate", _Range(_Num(0, 1)),
        "Share of earned rewards that are actually claimed.", 1.0),
    Key("frequency_bias", _Num(0, example=1),
        "How strongly enrollment favours frequent customers (0 = every customer as likely to join).",
        0.0),
    Key("goal_gradient", _Range(_Num(0, 0.9)),
        "Largest cut in the time between purchases as a stamp card nears its reward "
        "(0 = off; Kivetz et al. 2006 found about 0.2).", 0.0),
    Key("post_reward_reset", _Bool(),
        "Whether the purchase pace falls back to normal once a reward is earned.", True),
    Key("endowed_progress", _Range(_Num(0)),
        "Relative lift in card completion from a `head_start` (0 = off).", 0.0),
)
ASSUMPTIONS = _Obj(ASSUMPTION_KEYS, what="mapping of assumptions")

ROLES = ("customer", "date", "amount", "unit_price", "order", "items", "product", "store",
         "birthday")
_ROLE_DOCS = {
    "customer": "Customer id; empty cells are anonymous sales.",
    "date": "Date or date-time of the sale.",
    "amount": "Money paid on the row (negative for a return).",
    "unit_price": "Price per item, for line-item exports without an amount.",
    "order": "Receipt or order number: rows sharing it are one transaction.",
    "items": "Number of items on the row.",
    "product": "Product name or code.",
    "store": "Store or till.",
    "birthday": "Customer's birthday (for `birthday` schemes).",
}
_HEADER = _Str(what="column header", example='"Kundenummer"')


def _window_order(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    start, end = values.get("start"), values.get("end")
    if start and end and start > end:
        ctx.report(nodes["end"], f"{path}.end", f"the window ends ({end}) before it starts ({start})",
                   "swap `start` and `end`")


SALES = _Obj((
    Key("path", _SalesPaths(),
        "Sales export: a file, a list of files or a glob, relative to this file "
        "(.csv, .csv.gz or .parquet)."),
    Key("columns", _Obj(tuple(Key(r, _HEADER, _ROLE_DOCS[r], None) for r in ROLES),
                        build=lambda d: {k: v for k, v in d.items() if v is not None},
                        what="mapping of roles to headers"),
        "Export header for each role; roles left out are detected.", {}),
    Key("format", _Obj((
        Key("delimiter", _Str(pattern=r"(?s:.)", what="single character", example='";"'),
            "Field separator.", None),
        Key("decimal", _Str(choices=(".", ",")), "Decimal mark.", None),
        Key("thousands", _Str(pattern=r"(?s:.)", what="single character", example='" "'),
            "Thousands separator.", None),
        Key("date_format", _Str(pattern=r".*%.*", what="strftime pattern", example='"%d.%m.%Y"'),
            "Date format, e.g. `%d.%m.%Y`; needed when day and month order is ambiguous.", None),
        Key("encoding", _Str(convert=_encoding, what="text encoding", example="cp1252"),
            "Text encoding, e.g. `utf-8` or `cp1252`.", None),
    ), build=lambda d: SalesFormat(**d), what="mapping of format settings"),
        "How the export is written; anything left out is sniffed.", {}),
    Key("window", _Obj((
        Key("start", _Date(), "First day analysed.", None),
        Key("end", _Date(), "Last day analysed.", None),
    ), build=lambda d: (d.get("start"), d.get("end")), checks=(_window_order,),
        what="mapping with start and end"),
        "Only analyse this period; rows outside it count as rejected.", None),
    Key("cancel_prefix", _Str(example='"C"'),
        "Order numbers starting with this text are cancellations (returns).", None),
), build=lambda d: Sales(paths=d["path"][1], declared=d["path"][0],
                         **{k: v for k, v in d.items() if k != "path" and v is not None}))

BUSINESS = _Obj((
    Key("gross_margin", _Num(0, 1, example=0.65),
        "Share of revenue kept after the cost of goods sold."),
    Key("horizon_months", _Num(1, 60, integer=True, example=12), "Forecast horizon in months.", 12),
    Key("fixed_costs", _Obj((
        Key("setup", _MONEY, "One-off cost of launching the scheme.", 0.0),
        Key("monthly", _MONEY, "Running cost per month (software, staff time).", 0.0),
        Key("per_member_year", _MONEY, "Cost per member per year (cards, app seats).", 0.0),
    ), build=lambda d: FixedCosts(**d), what="mapping of costs"),
        "Costs added to every scheme, in the program's currency.", {}),
), build=lambda d: Business(**d))

FORECAST = _Obj((
    Key("draws", _Num(1, 100000, integer=True, example=200),
        "Monte Carlo draws of the ranged assumptions.", 200),
    Key("max_customers", _Num(1, integer=True, example=20000),
        "Customers simulated at most; a larger base is sampled and weighted.", 20000),
), build=lambda d: ForecastSettings(**d))

SITE = _Obj((
    Key("title", _Str(example='"Loyalty options"'), "Site title (default: the program's name).",
        None),
    Key("logo", _File(), "Logo image, relative to this file.", None),
    Key("primary_color", _Str(pattern=r"#(?:[0-9a-fA-F]{3}){1,2}", what="colour like #1f6feb",
                              example='"#1f6feb"',
                              hint="quote it: YAML reads an unquoted `#` as a comment"),
        "Accent colour, `#rgb` or `#rrggbb`.", None),
    Key("footer", _Str(example='"Prepared for …"'), "Text at the foot of every page.", None),
), build=lambda d: SiteSettings(**d))

_REWARD_TYPE = _Str(choices=("discount", "item"))
_COST = Key("cost", _MONEY, "What one redeemed reward costs the business "
            "(default: value × (1 − gross_margin)).", None)

REWARD = _Obj((
    Key("value", _POSITIVE, "What the reward is worth to the customer."),
    _COST,
    Key("type", _Str(choices=("item", "discount")),
        "`item`: a free product; `discount`: money off, capped at the bill.", "item"),
), build=lambda d: Reward(**d), what="mapping with value, cost and type")

TIER = _Obj((
    Key("name", _Str(example="Gold"), "Tier name shown in the report."),
    Key("min_spend", _MONEY, "Spend in the trailing window needed to reach the tier."),
    Key("discount", _SHARE, "Discount on every transaction in the tier (0.05 = 5 %).", 0.0),
    Key("multiplier", _Num(0, example=1.5), "Points multiplier in the tier.", 1.0),
    Key("perk_cost_year", _MONEY, "Cost of the tier's perks per member per year.", 0.0),
), build=lambda d: Tier(**d), what="tier")
TIERS = _List(TIER, unique="name", what="list of tiers")
_WINDOW_MONTHS = Key("window_months", _Num(1, integer=True, example=12),
                     "Trailing months of spend that decide a member's tier.", 12)
_MIN_PURCHASE = Key("min_purchase", _MONEY, "Smallest bill that qualifies.", 0.0)


@dataclass(frozen=True)
class KindSpec:
    """A scheme kind: what it is, its keys, and checks across them."""

    doc: str
    keys: tuple[Key, ...]
    checks: tuple[Check, ...] = ()
    schema_extra: tuple[tuple[str, Any], ...] = ()


def _head_start_below_stamps(values: dict, nodes: dict, node: yaml.Node, path: str,
                             ctx: _Ctx) -> None:
    head, stamps = values.get("head_start", 0), values["stamps"]
    if head >= stamps:
        ctx.report(nodes["head_start"], f"{path}.head_start",
                   f"head_start {head} must be less than stamps {stamps}",
                   f"lower `head_start` below {stamps}, e.g. `head_start: {min(2, stamps - 1)}`")


def _rate_or_value(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    given = [k for k in ("rate", "value") if values.get(k) is not None]
    if len(given) != 1:
        found = "both" if given else "neither"
        ctx.report(node, path, f"a coupon needs exactly one of `rate` and `value`, found {found}",
                   "give either `rate: 0.2` (a share of the bill) or `value: 30` (money off)")


KINDS: dict[str, KindSpec] = {
    "stamp_card": KindSpec(
        "A stamp per qualifying purchase; a reward when the card is full.", (
            Key("stamps", _Num(1, integer=True, example=9), "Stamps needed for a reward."),
            Key("counter", _Str(choices=("visits", "items", "spend")),
                "What earns stamps: each visit, each item, or each currency unit spent.",
                "visits"),
            _MIN_PURCHASE,
            Key("reward", REWARD, "The reward for a full card."),
            Key("expiry_days", _DAYS, "Days an earned reward stays valid (none = never expires).",
                None),
            Key("head_start", _Num(0, integer=True, example=2),
                "Stamps already on every new card (endowed progress).", 0),
        ), checks=(_head_start_below_stamps,)),
    "points": KindSpec(
        "Points per currency unit, redeemed as money off.", (
            Key("earn_per_unit", _POSITIVE, "Points earned per currency unit paid."),
            Key("point_value", _POSITIVE, "Money off per point redeemed."),
            Key("min_redeem", _Num(1, integer=True, example=100),
                "Smallest balance that is redeemed."),
            Key("redeem_step", _Num(1, integer=True, example=100),
                "Points are redeemed in multiples of this.", None, "`min_redeem`"),
            Key("expiry_months", _Num(1, integer=True, example=12),
                "Months without a purchase after which the balance lapses (none = never).", None),
            _MIN_PURCHASE,
            Key("tiers", TIERS, "Optional tiers whose `multiplier` scales the points earned.",
                None),
            _WINDOW_MONTHS,
        )),
    "tiers": KindSpec(
        "Status tiers by trailing spend, each with a discount and perks.", (
            Key("tiers", TIERS, "The tiers (sorted by `min_spend` when read)."),
            _WINDOW_MONTHS,
        )),
    "member_discount": KindSpec(
        "A flat discount on every member purchase.", (
            Key("rate", _SHARE, "Discount as a share of the bill (0.1 = 10 %)."),
            Key("cashback", _Bool(),
                "Pay the discount as credit at the next purchase instead of at once.", False),
            Key("expiry_days", _DAYS, "Days cashback credit stays valid (none = never).", None),
        )),
    "welcome_offer": KindSpec(
        "A voucher for new customers, used at their second purchase.", (
            Key("value", _POSITIVE, "Voucher value."),
            Key("type", _REWARD_TYPE, "`discount`: money off; `item`: a free product.",
                "discount"),
            _COST,
            _MIN_PURCHASE,
            Key("expiry_days", _DAYS, "Days the voucher stays valid (none = never).", 60),
            Key("new_after_days", _Num(0, integer=True, example=90),
                "A customer is new if first seen at least this many days after the data starts.",
                90),
        )),
    "birthday": KindSpec(
        "A yearly birthday voucher.", (
            Key("value", _POSITIVE, "Voucher value."),
            Key("type", _REWARD_TYPE, "`discount`: money off; `item`: a free product.",
                "discount"),
            _COST,
            Key("window_days", _DAYS, "Days after the birthday the voucher can be used.", 30),
        )),
    "coupons": KindSpec(
        "Periodic coupons for recently active members; give `rate` or `value`.", (
            Key("every_days", _DAYS, "Days between coupon rounds."),
            Key("active_days", _DAYS, "Members with a purchase in this many days get a coupon."),
            Key("valid_days", _DAYS, "Days a coupon stays valid."),
            Key("rate", _SHARE, "Discount as a share of the bill (instead of `value`).", None),
            Key("value", _POSITIVE, "Money off, capped at the bill (instead of `rate`).", None),
            _COST,
            _MIN_PURCHASE,
        ), checks=(_rate_or_value,),
        schema_extra=(("oneOf", [{"required": ["rate"]}, {"required": ["value"]}]),)),
    "perks": KindSpec(
        "Non-monetary benefits: their costs only; benefits come through the lifts.", (
            Key("cost_per_member_year", _MONEY, "Cost per member per year.", 0.0),
            Key("cost_per_event", _MONEY, "Cost of one member event.", 0.0),
            Key("events_per_year", _MONEY, "Member events per year.", 0.0),
        )),
}

_KIND = _Str(choices=tuple(KINDS))
_ID = _Str(pattern=SLUG, what="slug", hint=_slug_hint("scheme id"))
SCHEME_COMMON = (
    Key("id", _ID, "Short name used in file names and links (a slug)."),
    Key("name", _Str(example='"Tenth coffee free"'), "Name shown in the report.",
        default_doc="the id"),
    Key("kind", _KIND, "Scheme kind; decides the other keys."),
    Key("description", _Str(example='"…"'), "A sentence or two shown with the scheme.", None),
    Key("assumptions", ASSUMPTIONS, "Overrides of the program's assumptions for this scheme.", {}),
)
_COMMON_NAMES = frozenset(k.name for k in SCHEME_COMMON)


def _scheme_builder(kind: str) -> Callable[[dict], dict]:
    def build(values: dict) -> dict:
        params = {k: v for k, v in values.items() if k not in _COMMON_NAMES}
        if params.get("tiers"):
            params["tiers"] = tuple(sorted(params["tiers"], key=lambda t: t.min_spend))
        common = {k: v for k, v in values.items() if k in _COMMON_NAMES}
        return {**common, "kind": kind, "params": KIND_PARAMS[kind](**params)}
    return build


@dataclass(frozen=True)
class _SchemeType(_Type):
    """A scheme mapping: its `kind` decides which keys are valid."""

    def objects(self) -> dict[str, _Obj]:
        return {kind: _Obj(SCHEME_COMMON + spec.keys, build=_scheme_builder(kind),
                           checks=spec.checks, schema_extra=spec.schema_extra)
                for kind, spec in KINDS.items()}

    def label(self) -> str:
        return "scheme"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return ctx.report(node, path, f"expected a scheme (a mapping with id, kind, …), "
                              f"found {_show(ctx.scalar(node, path))}",
                              "write the scheme's keys indented under `- `")
        kind_node = _find(node, "kind")
        if kind_node is None:
            return ctx.report(node, f"{path}.kind", "`kind` is missing",
                              "add `kind:` with one of " + ", ".join(KINDS))
        kind = _KIND.load(kind_node, f"{path}.kind", ctx)
        if kind is INVALID:
            return kind
        return self.objects()[kind].load(node, path, ctx)

    def schema(self) -> dict:
        common = _Obj(SCHEME_COMMON).schema()
        branches = [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                     "then": {**obj.schema(), "description": KINDS[kind].doc}}
                    for kind, obj in self.objects().items()]
        return {"type": "object", "properties": common["properties"],
                "required": common["required"], "allOf": branches}


_PROGRAM_ID = _Str(pattern=SLUG, what="slug", hint=_slug_hint("program id"))
PROGRAM = _Obj((
    Key("id", _PROGRAM_ID, "Short name of the program: its folder in the site (a slug).",
        default_doc="the file's stem"),
    Key("name", _Str(example='"Kaffebar — loyalty options 2027"'), "Title of the report.",
        default_doc="the id"),
    Key("locale", _Str(convert=_locale, what="locale", example="nb-NO"),
        "Report language and number, date and currency formats (e.g. `nb-NO`, `pt-BR`).",
        "en-GB"),
    Key("currency", _Str(convert=_currency, what="ISO 4217 currency code", example="NOK"),
        "Currency of the sales export (ISO 4217, e.g. `NOK`)."),
    Key("sales", SALES, "The sales export and how to read it."),
    Key("business", BUSINESS, "Margin, forecast horizon and fixed costs."),
    Key("assumptions", ASSUMPTIONS, "Behavioural assumptions for every scheme; "
        "a scheme's own `assumptions` override them.", {}),
    Key("forecast", FORECAST, "Monte Carlo settings.", {}),
    Key("site", SITE, "Branding of the generated site.", {}),
    Key("schemes", _List(_SchemeType(), unique="id", what="list of schemes"),
        "The candidate schemes to compare."),
))


# --- assembling the Program -----------------------------------------------------------


def _load_root(ctx: _Ctx) -> Any:
    try:
        root = ctx.loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        ctx.problems.append(Problem(
            mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "",
            f"YAML syntax error: {exc.problem or exc.context}{context}",
            "correct the YAML here: check the indentation, and put text containing `: ` or "
            "` #`, or starting with `*`, `&`, `!`, `%`, `@` or a backquote, in quotes"))
        return INVALID
    except yaml.YAMLError as exc:
        ctx.problems.append(Problem(1, 1, "", f"YAML error: {exc}", "correct the YAML"))
        return INVALID
    if root is None:
        ctx.problems.append(Problem(1, 1, "", "the file is empty",
                                    "start from `punchcard init SALES.csv`"))
        return INVALID
    if not isinstance(root, yaml.MappingNode):
        ctx.report(root, "", "expected a mapping of keys (name, currency, sales, …) at the top",
                   "start from `punchcard init SALES.csv`")
        return INVALID
    if _find(root, "id") is None and not re.fullmatch(SLUG, ctx.file.stem):
        ctx.report(root, "id", f"the file name {_show(ctx.file.stem)} cannot be the program id",
                   f"add `id: {_slugify(ctx.file.stem)}` at the top (the id becomes a folder: "
                   "lower-case letters, digits, `-` and `_`), or rename the file")
    return PROGRAM.load(root, "", ctx)


def _assemble(path: Path, draft: dict) -> Program:
    program_id = draft.get("id", path.stem)
    defaults = Assumptions(**draft.get("assumptions", {}))
    schemes = tuple(
        Scheme(id=s["id"], name=s.get("name") or s["id"], kind=s["kind"], params=s["params"],
               assumptions=replace(defaults, **s.get("assumptions", {})),
               description=s.get("description"))
        for s in draft["schemes"])
    return Program(
        path=path, id=program_id, name=draft.get("name") or program_id,
        locale=draft.get("locale", _locale("en-GB")), currency=draft["currency"],
        sales=draft["sales"], business=draft["business"], schemes=schemes,
        assumptions=defaults, forecast=draft.get("forecast") or ForecastSettings(),
        site=draft.get("site") or SiteSettings())


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug or "my-program"


# --- reference docs -------------------------------------------------------------------

_REFERENCE_INTRO = """\
# Program file reference

<!-- Generated from the key declarations in src/punchcard/program.py; do not edit.
     Regenerate: python -m punchcard.program > docs/program-reference.md -->

A program file is YAML: one business, one sales history, several candidate schemes.
Paths are relative to the program file. Unknown keys are errors, and `punchcard validate`
reports every problem with its file, line, column and key path.

**Ranges.** A key typed *range* takes one number or a triangular range
`{low: 0.02, likely: 0.05, high: 0.10}` with low ≤ likely ≤ high; ranges drive the
Monte Carlo forecast.

**Editor support.** `punchcard schema > program.schema.json` writes the JSON Schema of this
format; with the YAML extension (yaml-language-server) start a program file with
`# yaml-language-server: $schema=program.schema.json` for completion and checking.
"""


def _doc_object(out: list[str], title: str, obj: _Obj, path: str, seen: dict[int, str],
                level: int = 2, intro: str = "") -> None:
    out.append(f"{'#' * level} {title}\n")
    if intro:
        out.append(intro + "\n")
    out.append("| key | type | default | description |")
    out.append("|---|---|---|---|")
    nested: list[tuple[str, _Obj]] = []
    for key in obj.keys:
        here = f"{path}.{key.name}" if path else key.name
        inner = key.type.item if isinstance(key.type, _List) else key.type
        kind = _doc_type(key.type)
        if isinstance(inner, _Obj):
            if id(inner) not in seen:
                seen[id(inner)] = here + ("[]" if isinstance(key.type, _List) else "")
                nested.append((seen[id(inner)], inner))
            kind += f" (see `{seen[id(inner)]}`)"
        out.append(f"| `{key.name}` | {kind} | {key.default_text()} | {key.doc} |")
    out.append("")
    for sub, inner in nested:
        _doc_object(out, f"`{sub}`", inner, sub, seen, level)


def _doc_type(t: _Type) -> str:
    if isinstance(t, _Range):
        bounds = t.bounds.label().removeprefix("number").strip()
        return f"range {bounds}".strip()
    return t.label()


if __name__ == "__main__":
    print(reference_markdown(), end="")
