"""The Markdown reference of every program-file key (docs/program-reference.md)."""

from __future__ import annotations

from punchcard.program.containers import _List, _Obj, _Range
from punchcard.program.declarations import PROGRAM, SCHEME_COMMON
from punchcard.program.kinds import kinds
from punchcard.program.value_types import _Type


_REFERENCE_INTRO = """\
# Program file reference

<!-- Generated from the key declarations (src/punchcard/program/declarations.py and each
     scheme kind's KIND in src/punchcard/schemes/); do not edit.
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


def reference_markdown() -> str:
    """Return the Markdown reference of every program-file key (docs/program-reference.md)."""
    out = [_REFERENCE_INTRO]
    seen: dict[int, str] = {}
    _doc_object(out, "Top level", PROGRAM, "", seen)
    out.append("## Schemes\n")
    out.append("Every item of `schemes` has the common keys below plus the keys of its `kind`.\n")
    _doc_object(out, "`schemes[]`: common keys", _Obj(SCHEME_COMMON), "schemes[]", seen, 3)
    for kind, spec in kinds().items():
        _doc_object(out, f"`kind: {kind}`", _Obj(spec.keys), "schemes[]", seen, 3, spec.doc)
    return "\n".join(out).rstrip() + "\n"


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
