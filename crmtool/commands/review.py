"""`crmtool review export|import`: people decide the pairs the matcher is unsure about."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crmtool import console
from crmtool.match.review import export_review, import_review
from crmtool.options import DEFAULT_DB_PATH, Db, Json
from crmtool.workspace import Workspace, journaled

app = typer.Typer(
    name="review",
    help="Review uncertain pairs: export them to a workbook, fill the verdicts, import them back.",
    no_args_is_help=True,
)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Workbook to write (.xlsx).", dir_okay=False)] = Path("review.xlsx"),
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many pairs, most likely first.")] = 1000,
    db: Db = DEFAULT_DB_PATH,
    as_json: Json = False,
) -> None:
    """Write the undecided review pairs side by side with their explanation and a verdict column."""
    with Workspace.open(db, create=False) as ws:
        n = export_review(ws, out, limit)
    if as_json:
        console.out.print_json(json.dumps({"pairs": n, "out": str(out)}))
    elif n:
        console.info(f"wrote {n:,} pairs to {out}: fill 'verdict' (same/да/1, different/нет/0), then `crmtool review import {out}`")
    else:
        console.info("nothing to review: run `crmtool match` first, or every review pair has a verdict")


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
