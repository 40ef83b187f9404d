"""Progress on a terminal, silence in CI: one reporter handed through the pipeline."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click

T = TypeVar("T")


class Reporter:
    """Shows a bar per long step on a TTY; prints timed stage lines when verbose; else nothing."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False,
                 interactive: bool | None = None) -> None:
        if interactive is None:
            interactive = sys.stderr.isatty() and not os.environ.get("CI")
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.bars = interactive and not quiet

    def info(self, message: str) -> None:
        """Print a line unless quiet (to stderr, so --json output stays clean)."""
        if not self.quiet:
            click.echo(message, err=True)

    def step(self, message: str) -> None:
        """Print a step of a long stage on a terminal or when verbose."""
        if self.bars or self.verbose:
            click.echo(f"    {message}…", err=True)

    def debug(self, message: str) -> None:
        """Print a line only when verbose."""
        if self.verbose:
            click.echo(message, err=True)

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Time a stage; verbose mode prints how long it took."""
        start = time.perf_counter()
        if self.bars and not self.verbose:
            click.echo(f"  {label}…", err=True)
        yield
        self.debug(f"  {label}: {time.perf_counter() - start:.2f} s")

    def iterate(self, items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
        """Yield ``items``, drawing a progress bar on a terminal."""
        if not self.bars:
            yield from items
            return
        with click.progressbar(items, label=f"  {label}", length=length, file=sys.stderr,
                               show_pos=True) as bar:
            yield from bar


    def counter(self, label: str, total: int):
        """Return a ``progress(done, total)`` callback drawing a bar on a terminal, else None."""
        if not self.bars:
            return None
        bar = click.progressbar(length=total, label=f"  {label}", file=sys.stderr,
                                show_pos=True)
        state = {"done": 0}

        def update(done: int, _total: int) -> None:
            bar.update(done - state["done"])
            state["done"] = done
            if done >= total:
                bar.render_finish()

        return update


QUIET = Reporter(quiet=True, interactive=False)
