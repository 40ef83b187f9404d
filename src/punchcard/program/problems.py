"""What is wrong in a program file, and the wording helpers its messages share."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any


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
