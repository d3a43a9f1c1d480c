"""`crmtool explain` and `crmtool unmerge`: why a golden record is what it is, and how to split it."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from crmtool import console
from crmtool.merge.explain import explain as explain_golden
from crmtool.merge.undo import unmerge as unmerge_golden
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet
from crmtool.workspace import Workspace, journaled

GoldenId = Annotated[str, typer.Argument(help="A golden id (CT-… for a contact, CO-… for a company).")]


def explain(golden_id: GoldenId, db: Db = DEFAULT_DB_PATH, as_json: Json = False) -> None:
    """Show a golden record: its source records, the pair evidence that joined them, where every
    field came from, its links and any human verdicts."""
    with Workspace.open(db, create=False) as ws:
        info = explain_golden(ws, golden_id.strip())
    if as_json:
        console.out.print_json(json.dumps(info, ensure_ascii=False, default=str))
        return
    out = console.out
    out.print(f"[bold]{info['golden_id']}[/] ({info['entity']}, {len(info['members'])} source records)")
    members = Table("file:row", "name", "company", "phones", "e-mails", "city", title="source records")
    for m in info["members"]:
        members.add_row(f"{m['file']}:{m['row']}", m["name"] or "", m["company"] or "", m["phones"] or "",
                        m["emails"] or "", m["city"] or "")
    out.print(members)
    if info["pairs"]:
        pairs = Table("a", "b", "probability", "decision", "reason", "rules", "levels", title="pair evidence")
        for p in info["pairs"]:
            pairs.add_row(p["a"], p["b"], f"{p['probability']}", p["decision"], p["reason"] or "",
                          ", ".join(p["rules"] or []), ", ".join(f"{k}: {v}" for k, v in p["levels"].items()))
        out.print(pairs)
    fields = Table("field", "value", "chosen", "from", title="field provenance")
    for row in info["provenance"]:
        fields.add_row(row["field"], str(row["value"]), "✓" if row["chosen"] else "", ", ".join(row["from"]))
    out.print(fields)
    if info["links"]:
        out.print("links: " + "; ".join(f"{link['golden_id']} {link['name'] or ''} ({', '.join(link['via'])})"
                                        for link in info["links"]))
    for v in info["verdicts"]:
        out.print(f"verdict: {v['a']} / {v['b']}: {v['verdict']} by {v['user']} at {v['decided_at']} ({v['source']})")


def unmerge(
    golden_id: GoldenId,
    records: Annotated[Optional[list[str]], typer.Option(
        "--record", "-r", help="Detach only this record (its id or FILE:ROW); repeat for several. "
                               "Without it the golden record is split into all its records.")] = None,
    db: Db = DEFAULT_DB_PATH,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Split a golden record back (or detach records from it). Stored as verdicts, so every later
    `match` and `run` keeps the records apart; nothing is deleted."""
    console.set_quiet(quiet or as_json)
    args = {"golden_id": golden_id, "records": records or []}
    with Workspace.open(db, create=False) as ws, journaled(ws, "unmerge", args) as counts:
        result = unmerge_golden(ws, golden_id.strip(), records)
        counts.update(verdicts=result["verdicts"], golden_records=len(result["now"]))
    if as_json:
        console.out.print_json(json.dumps(result, ensure_ascii=False))
        return
    console.info(f"{golden_id}: {result['records']} records are now in {len(result['now'])} golden records: "
                 f"{', '.join(result['now'])} ({result['verdicts']} verdicts stored)")
