"""The one error type users see: a message that names the input and ends with the fix."""

from __future__ import annotations

import click


class PunchcardError(click.ClickException):
    """Bad input or a failed build: printed as ``Error: …`` with exit code 1, no traceback."""

    exit_code = 1
