"""The `crmtool` command: registers the subcommands and maps errors to exit codes.

Exit codes: 0 success, 1 checks failed or findings above a threshold,
2 usage or input error, 3 internal error (a bug: please report it;
CRMTOOL_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import duckdb
import typer

from crmtool import __version__, console
from crmtool.commands.check import check
from crmtool.commands.load import load
from crmtool.commands.match import match
from crmtool.commands.merge import merge
from crmtool.commands.export import export
from crmtool.commands.init import init
from crmtool.commands.log import log
from crmtool.commands.undo import explain, unmerge
from crmtool.commands.normalize import normalize
from crmtool.commands.profile import profile
from crmtool.commands.push import push
from crmtool.commands.report import report
from crmtool.commands.review import app as review_app
from crmtool.commands.run import run
from crmtool.commands.sources import sources
from crmtool.errors import EXIT_INPUT, CrmError

EXIT_INTERNAL = 3

app = typer.Typer(
    name="crmtool",
    help="Move a scattered client base (Excel, Outlook, Google, vCard, 1C) into a CRM without duplicates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        console.out.print(f"crmtool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Move a scattered client base (Excel, Outlook, Google, vCard, 1C) into a CRM without duplicates.

    Stages share one workspace file (--db): load → normalize (profile) → match → (merge) → export.
    """


app.command()(load)
app.command()(sources)
app.command()(normalize)
app.command()(profile)
app.command()(match)
app.add_typer(review_app, name="review")
app.command()(merge)
app.command()(export)
app.command()(push)
app.command()(explain)
app.command()(unmerge)
app.command()(run)
app.command()(check)
app.command()(report)
app.command()(init)
app.command()(log)


def current_memory_limit() -> str:
    from crmtool.workspace import duckdb_memory

    return duckdb_memory()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exits (argv None) or returns the exit code (tests)."""
    try:
        app(args=argv, prog_name="crmtool")  # Typer exits: usage errors → 2, typer.Exit → its code
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
