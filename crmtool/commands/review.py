"""`crmtool review [export|import]`: people decide the pairs the matcher is unsure about,
one by one in the terminal or in a workbook."""

from __future__ import annotations

import json
import os
import select
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.errors import EXIT_INPUT
from crmtool.match.review import export_review, import_review, undecided_count
from crmtool.match.review_session import ReviewSession
from crmtool.options import DEFAULT_DB_PATH, Db, Json
from crmtool.workspace import Workspace, journaled

EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="review",
    help="Review uncertain pairs: one by one in the terminal (`crmtool review`: s = same, d = different, "
    "Enter = skip, u = undo, q = quit; each answer is saved at once), or in a workbook "
    "(`review export`, fill the verdicts, `review import`). `crmtool match` applies the verdicts.",
)


@app.callback(invoke_without_command=True)
def review(
    ctx: typer.Context,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many pairs in this session, most likely first.")] = None,
    answers_from_stdin: Annotated[bool, typer.Option(
        "--answers-from-stdin", help="Read the answers from piped stdin, one a line (scripts, tests); without it a non-terminal stdin is refused.",
    )] = False,
    db: Db = DEFAULT_DB_PATH,
    as_json: Json = False,
) -> None:
    """Without a subcommand: the terminal review session (the group's help says the keys)."""
    if ctx.invoked_subcommand is not None:
        return
    interactive = sys.stdin.isatty()
    if not interactive and not answers_from_stdin:
        console.error("`crmtool review` asks questions, but stdin is not a terminal: use `crmtool review export` "
                      "and `crmtool review import` for a workbook, or --answers-from-stdin to read answers from the pipe")
        raise typer.Exit(EXIT_INPUT)
    source = "terminal" if interactive else "stdin"
    with Workspace.open(db, create=False) as ws, journaled(ws, "review", {"limit": limit, "input": source}) as counts:
        session = ReviewSession(ws, read=terminal_line if interactive else input, out=console.err, limit=limit, source=source, echo=not interactive)
        counts.update(session.run().counts())
    if as_json:
        console.out.print_json(json.dumps(counts))
    if counts["interrupted"]:
        raise typer.Exit(EXIT_INTERRUPTED)


def terminal_line() -> str:
    """One line typed at the terminal. Once polars is loaded, Ctrl-C no longer breaks a
    blocking read (input() raises KeyboardInterrupt only after Enter), so wait in short
    selects: Python acts on the signal between them. A terminal in line mode hands over
    one line per read."""
    if os.name == "nt":  # no select on a console; Windows delivers Ctrl-C to input() itself
        return input()
    fd, data = sys.stdin.fileno(), b""
    while not data.endswith(b"\n"):
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # Ctrl-D
            if data:
                break
            raise EOFError
        data += chunk
    return data.decode(sys.stdin.encoding or "utf-8", errors="replace").rstrip("\r\n")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Workbook to write (.xlsx).", dir_okay=False)] = Path("review.xlsx"),
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many questions, most likely first.")] = 1000,
    db: Db = DEFAULT_DB_PATH,
    as_json: Json = False,
) -> None:
    """Write the undecided questions, most likely first: for each two contacts that review pairs link,
    the strongest pair side by side with its explanation, the number of links and a verdict column."""
    with Workspace.open(db, create=False) as ws:
        n = export_review(ws, out, limit)
        undecided = undecided_count(ws)
    if as_json:
        console.out.print_json(json.dumps({"pairs": n, "undecided": undecided, "out": str(out)}))
    elif n:
        of = f" of {undecided:,} undecided (the most likely first)" if undecided > n else ""
        console.info(f"wrote {n:,} question{'s' if n != 1 else ''}{of} to {out}, one per two contacts: "
                     f"fill 'verdict' (same/да/1, different/нет/0), then `crmtool review import {out}`")
    else:
        console.info("nothing to review: run `crmtool match` first, or every review pair has a verdict "
                     "or is already joined by other links")


@app.command("import")
def import_(
    workbook: Annotated[Path, typer.Argument(help="A workbook made by `crmtool review export`, verdicts filled.", exists=True, dir_okay=False)],
    db: Db = DEFAULT_DB_PATH,
    as_json: Json = False,
) -> None:
    """Store the verdicts; later `match` and `run` obey them ("same" merges, "different" separates)."""
    with Workspace.open(db, create=False) as ws, journaled(ws, "review import", {"workbook": str(workbook)}) as counts:
        counts.update(import_review(ws, workbook))
    if as_json:
        console.out.print_json(json.dumps(counts))
    else:
        console.info(f"stored {counts['verdicts']:,} verdicts ({counts['same']:,} same, {counts['different']:,} different) "
                     f"of {counts['rows']:,} rows; run `crmtool match` to apply them")
