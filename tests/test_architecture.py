"""The tree shows the pipeline: imports follow the stage order, and docs/architecture.md is true.

Stages, in order: the shared base (``errors``, ``messages``, ``runtime``, ``progress``) →
``program`` → ``ingest`` → ``schemes`` → ``forecast`` → ``results`` → ``site`` → the
commands (``build``, ``cli``, ``starter``, ``sample``). A module may import its own package
and any earlier stage; never a later one. Across packages it uses public names only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import ROOT

SRC = ROOT / "src" / "punchcard"
ORDER = {
    "__init__": 0, "errors": 0, "messages": 0, "runtime": 0, "progress": 0,
    "program": 1, "ingest": 2, "schemes": 3, "forecast": 4, "results": 5, "site": 6,
    "build": 7, "cluster": 7, "cli": 8, "starter": 7, "sample": 7,
}


def modules() -> dict[str, Path]:
    """Return every module of the package by dotted name (``ingest.read``, ``cli``)."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        out[".".join(rel.parts)] = path
    return out


def stage(dotted: str) -> str:
    """Return the stage (package or top-level module) a dotted module name belongs to."""
    return dotted.split(".")[0]


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Return (imported punchcard module, names, line) for every import in a file, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("punchcard"):
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("punchcard"):
                    found.append((a.name, [], node.lineno))
    return found


def edges() -> list[tuple[str, str, list[str], int]]:
    """Return (importing module, imported module, names, line) across the package."""
    out = []
    for name, path in modules().items():
        for module, names, line in imports(path):
            target = module.removeprefix("punchcard").lstrip(".") or "__init__"
            if target == "__init__" and names:  # `from punchcard import x`: x is a module or a name
                for n in names:
                    out.append((name, n if n in ORDER else "__init__", [n], line))
                continue
            out.append((name, target, names, line))
    return out


def test_every_stage_is_known():
    assert {stage(m) for m in modules()} <= set(ORDER), "a new top-level module needs its place in ORDER"


def test_no_import_runs_against_the_stage_order():
    backwards = [f"{a} imports {b} (line {line})" for a, b, _, line in edges()
                 if ORDER[stage(b)] > ORDER[stage(a)]]
    assert backwards == []


def test_no_private_names_cross_a_package():
    leaks = [f"{a} imports {n} from {b} (line {line})" for a, b, names, line in edges()
             if stage(a) != stage(b) for n in names if n.startswith("_") and n != "__version__"]
    assert leaks == []


def test_the_forecast_modules_share_no_private_names():
    private = [f"{a} imports {n} from {b}" for a, b, names, _ in edges()
               if stage(a) == stage(b) == "forecast" for n in names if n.startswith("_")]
    assert private == []


def test_the_core_never_imports_the_site():
    core = ("program", "ingest", "schemes", "forecast", "results")
    assert [f"{a} → {b}" for a, b, _, _ in edges() if stage(a) in core and stage(b) == "site"] == []


# -- docs/architecture.md places every module ----------------------------------------------

DOC = ROOT / "docs" / "architecture.md"
NAMED = re.compile(r"`((?:[a-z0-9_]+/)*[a-z0-9_]+\.py)`")
SECTION = re.compile(r"^#+ .*?`([a-z_]+)/`")


def named_in_doc() -> set[str]:
    """Return the module files docs/architecture.md places (``ingest/read.py``, ``cli.py``).

    Under a heading that names a package (``## Stage 2 — `ingest/` …``) a bare ``read.py``
    means ``ingest/read.py``; elsewhere names are relative to ``src/punchcard/``.
    """
    found, package = set(), ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = SECTION.match(line)
            package = m.group(1) + "/" if m else ""
            continue
        for name in NAMED.findall(line):
            if name.startswith(("tests/", "bench/")):
                continue
            found.add(name if "/" in name else package + name)
    return found


def test_the_architecture_document_places_every_module():
    files = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    missing = sorted(f for f in files if f not in named_in_doc())
    assert missing == [], f"docs/architecture.md does not place: {missing}"


def test_the_architecture_document_names_no_module_that_does_not_exist():
    files = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    stale = sorted(f for f in named_in_doc() if f not in files)
    assert stale == [], f"docs/architecture.md names modules that do not exist: {stale}"
