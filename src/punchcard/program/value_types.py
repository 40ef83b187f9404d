"""Scalar value types: each validates a YAML node, names itself and gives its JSON Schema."""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import yaml

from punchcard.program.converters import SLUG, _Bad, _slugify
from punchcard.program.types import is_url
from punchcard.program.problems import INVALID, _a, _leaf, _num, _Shape, _show, _suggest
from punchcard.program.yaml_marks import _Ctx


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
class Num(_Type):
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    integer: bool = False
    example: Any = None

    def label(self) -> str:
        noun = "whole number" if self.integer else "number"
        if self.min is not None and self.max is not None:
            high = f"{self.max:,.0f}" if float(self.max).is_integer() and self.max >= 10_000 else _num(self.max)
            return f"{noun} from {_num(self.min)} to {high}"
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


@dataclass(frozen=True)
class Str(_Type):
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
class Allowance(_Type):
    """How many rejected rows of one reason a build accepts: ``any``, a share of the rows
    read written as a percentage (``0.1%``), or a number of rows. Loads as
    ``("any", None)``, ``("share", 0.001)`` or ``("rows", 14)``."""

    example: Any = "any"

    def label(self) -> str:
        return "allowance (`any`, a percentage such as `0.1%`, or a whole number of rows)"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID:
            return v
        if v == "any":
            return ("any", None)
        if isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*%\s*", v):
            share = float(v.strip().rstrip("%")) / 100
            if share <= 1:
                return ("share", share)
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            return ("rows", int(v))
        hint = ("a share is written as a percentage, e.g. `0.1%`"
                if isinstance(v, float) else "")
        return self.wrong(node, path, ctx, v, hint)

    def schema(self) -> dict:
        return {"anyOf": [{"const": "any"},
                          {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"},
                          {"type": "integer", "minimum": 0}]}


@dataclass(frozen=True)
class Bool(_Type):
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


IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF",
                    b"GIF89a": "GIF"}
MAX_IMAGE_BYTES = 5_000_000


def image_problem(path: Path, folder: Path) -> tuple[str, str] | None:
    """Return (problem, fix) unless ``path`` is an image file that may be published: a regular
    file inside ``folder`` (after following links), at most MAX_IMAGE_BYTES, whose first
    bytes are those of a PNG, JPEG, GIF, WebP or script-free SVG image."""
    real, inside = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    if inside not in real.parents:
        return (f"{path} is outside the program's folder {inside}"
                + (f" (a link to {real})" if real != Path(os.path.abspath(path)) else ""),
                "copy the image into the program's folder and give its path relative to it: "
                "the site publishes this file, so it must be one you chose to publish")
    if not real.is_file():
        return f"{path} is not a regular file", "give the path of an image file"
    size = real.stat().st_size
    if size > MAX_IMAGE_BYTES:
        return (f"{path} is {size:,} bytes; a logo may be at most {MAX_IMAGE_BYTES:,}",
                "use a smaller image")
    with open(real, "rb") as f:
        head = f.read(4096)
    if any(head.startswith(sig) for sig in IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t").lower()
    if text.startswith(("<svg", "<?xml")) and "<svg" in text:
        body = real.read_text(encoding="utf-8", errors="replace").lower()
        if "<script" in body or re.search(r"\son[a-z]+\s*=", body) or "javascript:" in body:
            return f"{path} is an SVG image with a script in it", "use an SVG without scripts, or a PNG"
        return None
    return (f"{path} is not a PNG, JPEG, GIF, WebP or SVG image (by its first bytes)",
            "give the path of an image file")


@dataclass(frozen=True)
class _Image(_File):
    """A path to an image inside the program's folder: it is published with the site."""

    def label(self) -> str:
        return "image file path"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        v = ctx.scalar(node, path)
        if v is INVALID:
            return v
        if not isinstance(v, str) or not v:
            return self.wrong(node, path, ctx, v)
        resolved = _resolve(ctx.base, v)
        if not resolved.exists() and not resolved.is_symlink():
            return ctx.report(node, path, f"file not found: {resolved}",
                              f"correct the path (it is read relative to {ctx.base.resolve()}) "
                              "or create the file")
        problem = image_problem(resolved, ctx.base)
        if problem is not None:
            return ctx.report(node, path, *problem)
        return resolved


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
            if is_url(v):  # read by a Dask cluster's workers, through fsspec (docs/scale.md)
                found.append(v)
                continue
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
        return tuple(declared), tuple(sorted(set(found), key=str))

    def schema(self) -> dict:
        text = {"type": "string", "minLength": 1}
        return {"anyOf": [text, {"type": "array", "items": text, "minItems": 1}]}
