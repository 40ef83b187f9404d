"""Content hashes: of input files, and of everything a program's build depends on."""

from __future__ import annotations

import hashlib
from pathlib import Path

from punchcard import __version__
from punchcard.runtime import sha256_file

def _tree_digest(folder: Path | None, digest) -> None:
    if folder is None or not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(sha256_file(path).encode())


def build_fingerprint(program, *, seed: int, draws: int | None,
                      templates: Path | None) -> str:
    """Return a hash of a program's inputs: program file, sales files, version, seed, templates.

    The packaged code and templates count through the version only, so a developer who
    changes them rebuilds with ``--force``.
    """
    digest = hashlib.sha256()
    digest.update(f"punchcard {__version__}\nseed {seed}\ndraws {draws}\n".encode())
    digest.update(sha256_file(program.path).encode())
    for path in program.sales.paths:
        digest.update(sha256_file(path).encode())
    if program.site.logo is not None:
        digest.update(sha256_file(program.site.logo).encode())
    _tree_digest(templates, digest)  # a user's template overrides are inputs too
    return digest.hexdigest()
