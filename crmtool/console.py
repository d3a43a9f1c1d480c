"""Where output goes: results to stdout, messages and progress to stderr.

Progress bars appear only on an interactive terminal, so cron logs and CI
output stay readable.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

# Off a terminal (pipes, cron logs) rich would wrap tables at 80 columns; files
# and logs are better served by long lines.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 250)

_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = quiet


def is_quiet() -> bool:
    return _state["quiet"]


def info(message: str) -> None:
    """A progress message for people; silenced by --quiet."""
    if not _state["quiet"]:
        err.print(message, highlight=False)


def warn(message: str) -> None:
    """A problem the user should see even with --quiet."""
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def error(message: str) -> None:
    # the message is text, not markup: "[merge] rule …" must not lose its brackets
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, markup=True)


class NullProgress:
    """Stands in for a rich Progress when no bar should be drawn."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass

    def advance(self, *args, **kwargs) -> None:
        pass

    def remove_task(self, *args, **kwargs) -> None:
        pass


@contextlib.contextmanager
def progress_bar(bytes_mode: bool = True) -> Iterator[Progress | NullProgress]:
    """A byte-based progress bar on stderr, or a no-op off a terminal."""
    if _state["quiet"] or not sys.stderr.isatty():
        yield NullProgress()
        return
    columns = [TextColumn("{task.description}"), BarColumn()]
    columns += [DownloadColumn()] if bytes_mode else [TextColumn("{task.completed}/{task.total}")]
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        yield bar
