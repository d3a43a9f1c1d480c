"""`crmtool sources`: what has been loaded, and how each column was understood."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from crmtool import console
from crmtool.options import DEFAULT_DB_PATH, Db, Json
from crmtool.workspace import Workspace


def sources(
    db: Db = DEFAULT_DB_PATH,
    columns: Annotated[bool, typer.Option("--columns", "-c", help="Also show how each column was mapped.")] = False,
    as_json: Json = False,
) -> None:
    """List every loaded file: format, encoding, record counts and column mapping."""
    with Workspace.open(db, create=False) as ws:
        rows = ws.fetch_dicts(
            "SELECT source_id, path, format, encoding, rows, rejected, flagged, loaded_at, mapping, notes"
            " FROM sources ORDER BY source_id"
        )
    for row in rows:
        row["mapping"] = json.loads(row["mapping"]) if row["mapping"] else {"tables": []}
        row["notes"] = json.loads(row["notes"]) if row["notes"] else []
        row["loaded_at"] = row["loaded_at"].isoformat(timespec="seconds")
    if as_json:
        console.out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        console.info("no files loaded yet")
        return
    table = Table("id", "file", "format", "encoding", "records", "malformed", "flagged", "loaded at")
    for r in rows:
        table.add_row(
            str(r["source_id"]), r["path"], r["format"], r["encoding"] or "", str(r["rows"]),
            str(r["rejected"]), str(r["flagged"]), r["loaded_at"].replace("T", " "),
        )
    console.out.print(table)
    if columns:
        for r in rows:
            _print_mapping(r)


def _print_mapping(row: dict) -> None:
    for t in row["mapping"]["tables"]:
        title = f"{row['path']}" + (f" · {t['name']}" if t.get("name") else "")
        header = f" (header on line {t['header_line']})" if t.get("header_line") else ""
        table = Table("column", "field", title=f"{title}{header}: {t['rows']} records", title_justify="left")
        for column, target in t["columns"].items():
            style = "dim" if target.startswith("extra") else None
            table.add_row(column, target, style=style)
        console.out.print(table)
    for note in row["notes"]:
        console.out.print(f"  note: {note}", highlight=False)
