"""`crmtool load`: read files and folders into the workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crmtool import console
from crmtool.errors import EXIT_INPUT, EXIT_OK
from crmtool.options import DEFAULT_DB_PATH, Db, Encoding, Json, Mapping, Quiet
from crmtool.pipeline import LoadSummary, load_paths
from crmtool.sources.base import ReadOptions
from crmtool.sources.loader import FileOutcome
from crmtool.sources.mapping_file import load_mapping
from crmtool.workspace import Workspace, journaled


def load(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).", show_default=False)],
    db: Db = DEFAULT_DB_PATH,
    mapping: Mapping = None,
    encoding: Encoding = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Load files again even if already loaded (e.g. after fixing --mapping).")
    ] = False,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Load Excel, CSV (Outlook, Google, 1C, any), vCard and 1C CommerceML files.

    The format is recognised from the content. Every record is kept with its file
    and row; a file already loaded (same content) is skipped. A file that cannot
    be read is reported and left out entirely, the others still load. Exit code
    2 if any file failed.
    """
    console.set_quiet(quiet or as_json)
    mapping_file = load_mapping(mapping) if mapping else None
    options = ReadOptions(encoding=encoding)
    with Workspace.open(db) as ws, journaled(ws, "load", {"paths": [str(p) for p in paths]}) as counts:
        summary = load_paths(
            ws, paths, mapping=mapping_file, options=options, replace=replace, run_id=counts["run_id"],
            on_outcome=print_outcome,
        )
        counts.update(summary.counts())
    report_load(summary, as_json)
    raise typer.Exit(EXIT_INPUT if summary.failed else EXIT_OK)


def print_outcome(outcome: FileOutcome) -> None:
    """One line per file as it finishes; failures go to stderr even with --quiet."""
    if outcome.status == "failed":
        console.error(outcome.message)
        return
    if outcome.status == "skipped":
        console.info(f"[dim]skipped[/] {outcome.path}: {outcome.message}")
        return
    what = outcome.format + (f", {outcome.encoding}" if outcome.encoding else "")
    flagged = f", {outcome.flagged} flagged" if outcome.flagged else ""
    rejected = f" ({outcome.rejected} malformed, kept)" if outcome.rejected else ""
    console.info(f"[green]loaded[/] {outcome.path}: {outcome.rows} records ({what}){flagged}{rejected}")
    for note in outcome.notes:
        console.info(f"       [dim]{note}[/]")


def report_load(summary: LoadSummary, as_json: bool) -> None:
    counts = summary.counts()
    if as_json:
        console.out.print_json(json.dumps({**counts, "files": [o.as_dict() for o in summary.outcomes]}, ensure_ascii=False))
        return
    if summary.ignored:
        console.info(f"[dim]ignored {len(summary.ignored)} file(s) of unknown type in folders: "
                     f"{', '.join(Path(p).name for p in summary.ignored[:5])}{'…' if len(summary.ignored) > 5 else ''}[/]")
    console.info(
        f"{len(summary.outcomes)} file(s): {counts['files_loaded']} loaded ({counts['records_loaded']} records, "
        f"{counts['records_flagged']} flagged), {counts['files_skipped']} already loaded, {counts['files_failed']} failed"
    )
