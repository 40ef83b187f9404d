"""Reading a program file: every problem in it reported at once, else a ``Program``."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from punchcard.errors import PunchcardError
from punchcard.program.converters import SLUG, _locale, _slugify
from punchcard.program.declarations import PROGRAM
from punchcard.program.limits import expansion_problem, nesting_problem, size_problem
from punchcard.program.types import Assumptions, ForecastSettings, Program, Response, Scheme, SiteSettings
from punchcard.program.problems import INVALID, Problem, _report, _show
from punchcard.program.yaml_marks import _Ctx, _find


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
    early = size_problem(text) or nesting_problem(text)
    if early is not None:
        raise PunchcardError(_report(path, [early]))
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
    return _assemble(path, draft, unchecked_keys(text))


TODO_MARK = "# TODO: check"  # what `punchcard init` writes after every guess and default


def unchecked_keys(text: str) -> tuple[str, ...]:
    """Return ``business.<key>`` / ``assumptions.<key>`` for each such key whose line still
    carries the ``# TODO: check`` mark, in file order."""
    out, section = [], None
    for line in text.splitlines():
        top = re.match(r"([A-Za-z_]\w*)\s*:", line)
        if top:
            section = top.group(1)
            continue
        key = re.match(r"\s+([A-Za-z_]\w*)\s*:", line)
        if key and section in ("business", "assumptions") and TODO_MARK in line:
            out.append(f"{section}.{key.group(1)}")
    return tuple(out)


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
    if root is not None:
        bomb = expansion_problem(root)
        if bomb is not None:
            ctx.problems.append(bomb)
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


def _assemble(path: Path, draft: dict, unchecked: tuple[str, ...] = ()) -> Program:
    program_id = draft.get("id", path.stem)
    defaults = Assumptions(**draft.get("assumptions", {}))
    schemes = tuple(
        Scheme(id=s["id"], name=s.get("name") or s["id"], kind=s["kind"], params=s["params"],
               assumptions=replace(defaults, **s.get("assumptions", {})),
               description=s.get("description"), tune=s.get("tune"))
        for s in draft["schemes"])
    return Program(
        path=path, id=program_id, name=draft.get("name") or program_id,
        locale=draft.get("locale", _locale("en-GB")), currency=draft["currency"],
        sales=draft["sales"], business=draft["business"], schemes=schemes,
        assumptions=defaults, forecast=draft.get("forecast") or ForecastSettings(),
        site=draft.get("site") or SiteSettings(), unchecked=unchecked,
        response=draft.get("response") or Response())
