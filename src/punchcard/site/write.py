"""Stage 7: write a site atomically — build beside the target, then swap it in.

What survives a kill at any moment (docs/guarantees.md): the site is built in a hidden
folder ``.<out>.tmp-*`` beside ``--out`` and swapped in with one atomic step — Linux's
``renameat2(RENAME_EXCHANGE)`` where the file system offers it; elsewhere two renames, of
which an interrupted pair is repaired by the next build (``recover``). A build holds a
lock on the folder that holds ``--out``, so builds queue instead of racing, and each build
first sweeps the hidden folders that a killed build left behind.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from punchcard.errors import PunchcardError

MARKER = ".punchcard-site"
MARKER_TEXT = "This folder is a site built by punchcard; `punchcard build` may replace it.\n"
LOCK_WAIT_S = 600.0  # how long a build queues behind another one writing the same --out
_RENAME_EXCHANGE = 2  # linux/fs.h


def is_punchcard_site(folder: Path) -> bool:
    """Return True when ``folder`` holds punchcard's marker file."""
    return (folder / MARKER).is_file()


def real_out(out: Path) -> Path:
    """Return ``out`` with symbolic links followed; raise for a dangling link or a loop."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        target = os.readlink(out)
        raise PunchcardError(
            f"{out}: is a symbolic link to {target}, which does not exist. Fix: create "
            f"{target}, remove the link, or choose another output with --out."
        )
    try:
        return out.resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # a link that leads to itself (ELOOP)
        raise PunchcardError(
            f"{out}: cannot be followed ({getattr(exc, 'strerror', None) or 'a loop of symbolic links'}). "
            "Fix: remove the link, or choose another output with --out."
        ) from None


def check_replaceable(out: Path) -> None:
    """Raise unless ``out`` is absent, empty, or a site punchcard built earlier."""
    out = real_out(out)
    if out.exists() and not out.is_dir():
        raise PunchcardError(
            f"{out}: exists and is not a folder. Choose another output with --out."
        )
    if out.is_dir() and any(out.iterdir()) and not is_punchcard_site(out):
        raise PunchcardError(
            f"{out}: is a non-empty folder that punchcard did not build (no {MARKER} "
            "file), so it will not be replaced. Choose an empty or new folder with --out."
        )


def leftovers(out: Path) -> list[Path]:
    """Return the hidden folders beside ``out`` that an interrupted build left (tmp and old)."""
    out = real_out(out)
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir()
                  if p.name.startswith((f".{out.name}.tmp-", f".{out.name}.old-")) and p.is_dir()
                  and not p.is_symlink())


def recover(out: Path) -> None:
    """Repair what a killed build left beside ``out``: restore a site caught between two
    renames, then remove every stale hidden folder. Call with the lock held."""
    out = real_out(out)
    stale = leftovers(out)
    if not out.exists():
        olds = [p for p in stale if p.name.startswith(f".{out.name}.old-") and is_punchcard_site(p)]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            os.replace(newest, out)
            stale.remove(newest)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def locked(out: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the lock of ``out`` for the block: an advisory lock (flock) on the folder that
    holds it, so nothing is left on disk; a build already holding it is waited for, up to
    ``wait_s`` seconds (default ``LOCK_WAIT_S``)."""
    out = real_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, out) from None
    try:
        fd = os.open(out.parent, os.O_RDONLY)
    except OSError as exc:
        raise os_error(exc, out) from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock, builds must not overlap
            yield
            return
        deadline = time.monotonic() + (LOCK_WAIT_S if wait_s is None else wait_s)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PunchcardError(
                        f"{out}: another punchcard build is writing this folder (it holds the "
                        f"lock on {out.parent}). Fix: wait for it to finish, or build into another --out."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock (a killed process releases it too)


def os_error(exc: OSError, out: Path) -> PunchcardError:
    """Return the user-facing error for a failed write of the site at ``out``."""
    where = exc.filename or out
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        fix = f"free some space on the disk that holds {out.parent}, or build into another --out"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {out.parent} writable, or build into another --out"
    elif exc.errno == errno.ENAMETOOLONG:
        fix = "use a shorter program id or --out path"
    else:
        fix = "check the folder, or build into another --out"
    return PunchcardError(f"{where}: cannot write the site ({exc.strerror or exc}); nothing "
                          f"was changed in {out}. Fix: {fix}.")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); return False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(tmp: Path, out: Path) -> None:
    """Put the folder ``tmp`` at ``out`` and remove what was there, atomically where possible."""
    if not out.exists():
        os.replace(tmp, out)  # one rename: atomic
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old site
        return
    # Fallback: two renames. A kill between them leaves out missing and the old site in
    # .<out>.old-*; the next build's recover() puts it back before anything else.
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def atomic_site(out: Path, fill: Callable[[Path], None]) -> None:
    """Build the site with ``fill(tmp)`` in a folder beside ``out`` and swap it in when complete.

    On any failure (an interrupt included) the temporary folder is removed and ``out`` is
    left untouched. Takes the lock of ``out`` unless the caller holds it (``build`` does).
    """
    out = real_out(out)
    check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise os_error(exc, out) from None
    try:
        fill(tmp)
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        os.chmod(tmp, 0o755)
        swap_in(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(exc, out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
