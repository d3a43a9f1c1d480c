"""The `crmtool` command: registers the subcommands and maps errors to exit codes.

Exit codes: 0 success, 1 checks failed or findings above a threshold,
2 usage or input error, 3 internal error (a bug: please report it;
CRMTOOL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from typing import Annotated, Iterable

import duckdb
import typer

from crmtool import __version__, console
from crmtool.errors import EXIT_INPUT, CrmError

EXIT_INTERNAL = 3

# Subcommands in the order `crmtool --help` lists them: name → (module, attribute). A command's
# module is imported only when the command runs, or when the whole list is needed (`crmtool
# --help`, a mistyped command, `from crmtool.cli import app`): importing every module up front
# (`check` alone pulls in the matcher and numpy) cost about 0.3 s per call, paid by every stage
# of a scripted migration.
COMMANDS: dict[str, tuple[str, str]] = {
    "load": ("crmtool.commands.load", "load"),
    "sources": ("crmtool.commands.sources", "sources"),
    "normalize": ("crmtool.commands.normalize", "normalize"),
    "profile": ("crmtool.commands.profile", "profile"),
    "match": ("crmtool.commands.match", "match"),
    "review": ("crmtool.commands.review", "app"),  # a group of subcommands
    "merge": ("crmtool.commands.merge", "merge"),
    "export": ("crmtool.commands.export", "export"),
    "push": ("crmtool.commands.push", "push"),
    "explain": ("crmtool.commands.undo", "explain"),
    "unmerge": ("crmtool.commands.undo", "unmerge"),
    "run": ("crmtool.commands.run", "run"),
    "check": ("crmtool.commands.check", "check"),
    "report": ("crmtool.commands.report", "report"),
    "init": ("crmtool.commands.init", "init"),
    "log": ("crmtool.commands.log", "log"),
}


def _version(value: bool) -> None:
    if value:
        console.out.print(f"crmtool {__version__}")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Move a scattered client base (Excel, Outlook, Google, vCard, 1C) into a CRM without duplicates.

    Stages share one workspace file (--db): load → normalize (profile) → match → (merge) → export.
    """


def build_app(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """The `crmtool` command with the named subcommands (all of them by default)."""
    built = typer.Typer(
        name="crmtool",
        help="Move a scattered client base (Excel, Outlook, Google, vCard, 1C) into a CRM without duplicates.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
    )
    built.callback()(_main)
    for name in names:
        module, attribute = COMMANDS[name]
        command = getattr(importlib.import_module(module), attribute)
        if isinstance(command, typer.Typer):
            for sub in command.registered_commands:
                sub.short_help = sub.short_help or _short_help(sub.callback)
            built.add_typer(command, name=name)
        else:
            built.command(short_help=_short_help(command))(command)
    return built


def _short_help(command) -> str | None:
    """The first paragraph of a command's docstring on one line: the command list would keep the
    docstring's line breaks ("where every" / "field came from") while the command's own --help
    rewraps them."""
    doc = inspect.getdoc(command) or ""
    first = doc.split("\n\n", 1)[0]
    return " ".join(first.split()) or None


def __getattr__(name: str):
    """`app`: the whole command, built on first use (tests and tools import it)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def current_memory_limit() -> str:
    from crmtool.workspace import duckdb_memory

    return duckdb_memory()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exits (argv None) or returns the exit code (tests)."""
    args = sys.argv[1:] if argv is None else argv
    console.set_quiet(False)  # each invocation starts loud (in-process callers run several)
    try:
        # only the subcommand asked for is imported; anything else gets the whole command. A caller
        # that took `app` (and perhaps added to it) gets that one.
        command = globals().get("app") or build_app([args[0]] if args and args[0] in COMMANDS else COMMANDS)
        command(args=argv, prog_name="crmtool")  # Typer exits: usage errors → 2, typer.Exit → its code
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_INPUT)
    except KeyboardInterrupt:
        console.error("interrupted")
        code = 130
    except CrmError as exc:
        console.error(str(exc))
        code = exc.exit_code
    except (MemoryError, duckdb.OutOfMemoryException) as exc:  # a resource limit, not a bug
        console.error(f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                      f"the workspace database may use at most {current_memory_limit()} "
                      "(raise it with CRMTOOL_DUCKDB_MEMORY=8GB, or free memory)")
        code = EXIT_INTERNAL
    except Exception as exc:  # a bug: one readable line, the traceback on request
        if os.environ.get("CRMTOOL_DEBUG"):
            traceback.print_exc()
        console.error(f"internal error: {type(exc).__name__}: {exc} (set CRMTOOL_DEBUG=1 for details)")
        code = EXIT_INTERNAL
    if argv is None:
        sys.exit(code)
    return code
