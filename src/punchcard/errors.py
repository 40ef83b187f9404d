"""The one error type users see: a message that names the input and ends with the fix.

Beside it: ``Interrupted`` (Ctrl-C or SIGTERM anywhere: ``Aborted.``, exit 130) and
``os_error``, which turns a refusal of the operating system (disk full, permission denied,
name too long, port in use) into such a message (docs/guarantees.md).
"""

from __future__ import annotations

import errno

import click


class PunchcardError(click.ClickException):
    """Bad input or a failed build: printed as ``Error: …`` with exit code 1, no traceback."""

    exit_code = 1


class Interrupted(click.ClickException):
    """Ctrl-C (or SIGINT) anywhere: ``Aborted.`` and exit code 130, nothing half-written."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("Aborted.")

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo("Aborted.", err=True)


def interrupted(exc: BaseException) -> bool:
    """Return True when ``exc`` is, or was caused by, a KeyboardInterrupt (numba and Polars
    re-raise an interrupt inside their kernels as SystemError or their own errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def os_error(exc: OSError) -> PunchcardError:
    """Return the message for a file the operating system refused: the path, why, and the fix."""
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some disk space (or write somewhere else) and run the command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "check the file's permissions, or write somewhere else"
    elif exc.errno == errno.ENAMETOOLONG:
        fix = "use a shorter path or id"
    elif exc.errno == errno.EADDRINUSE:
        fix = "choose another --port, or stop the program using this one"
    else:
        fix = "check the path and run the command again"
    return PunchcardError(f"{where}{exc.strerror or exc}. Fix: {fix}.")
