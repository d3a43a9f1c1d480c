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
from rich.text import Text
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

# Off a terminal (pipes, cron logs) rich would wrap tables at 80 columns; files
# and logs are better served by long lines.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 250)

_state = {"quiet": False, "log": None}


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = quiet


def is_quiet() -> bool:
    return _state["quiet"]


def set_log(path) -> None:
    """Also append every message (info, warnings, errors; --quiet or not) to this file, one
    timestamped line each: what cron keeps of a run."""
    _state["log"] = path


def _log(level: str, message: str) -> None:
    path = _state["log"]
    if path is None:
        return
    from datetime import datetime

    stamp = datetime.now().isoformat(timespec="seconds")
    lines = "".join(f"{stamp} {level} {line}\n" for line in str(message).splitlines() or [""])
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(lines)
    except OSError as exc:
        _state["log"] = None
        err.print(f"[yellow]warning:[/] cannot write the log {escape(str(path))}: {escape(exc.strerror or str(exc))}")


def info(message: str) -> None:
    """A progress message for people; silenced by --quiet (the --log file keeps it)."""
    if _state["log"] is not None:
        _log("INFO", Text.from_markup(message).plain)
    if not _state["quiet"]:
        err.print(message, highlight=False)


def warn(message: str) -> None:
    """A problem the user should see even with --quiet."""
    _log("WARNING", message)
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def error(message: str) -> None:
    # the message is text, not markup: "[merge] rule …" must not lose its brackets
    _log("ERROR", message)
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


class RateColumn(ProgressColumn):
    """Items per second, once rich has measured a speed."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


@contextlib.contextmanager
def progress_bar(bytes_mode: bool = True) -> Iterator[Progress | NullProgress]:
    """A byte-based progress bar on stderr, or a no-op off a terminal."""
    if _state["quiet"] or not sys.stderr.isatty():
        yield NullProgress()
        return
    columns = [TextColumn("{task.description}"), BarColumn()]
    columns += [DownloadColumn()] if bytes_mode else [TextColumn("{task.completed}/{task.total}"), RateColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        yield bar
