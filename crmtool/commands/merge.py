"""`crmtool merge`: golden contacts and companies from the clusters."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from crmtool import console
from crmtool.merge.stage import merge_stage
from crmtool.merge.survivorship import FAMILIES, MODES, RULES, Survivorship
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet
from crmtool.workspace import Workspace, journaled


def merge(
    rule: Annotated[str, typer.Option("--rule", help=f"Which value survives: {', '.join(RULES)}.")] = "priority",
    mode: Annotated[str, typer.Option(
        "--mode", help="merge: field by field, phones and e-mails united; replace: all from the best record; "
                       "skip: all from the first record.")] = "merge",
    priority: Annotated[str, typer.Option(
        "--priority", help=f"Source kinds, most trusted first, comma-separated ({', '.join(FAMILIES)}).")] = ",".join(FAMILIES),
    db: Db = DEFAULT_DB_PATH,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Build golden records: one contact per person and one company per company, the best value
    of every field, all phones and e-mails, each contact linked to its companies, and for every
    field the source rows it came from (`crmtool explain GOLDEN_ID`)."""
    console.set_quiet(quiet or as_json)
    rules = Survivorship(priority=tuple(p.strip().lower() for p in priority.split(",") if p.strip()),
                         rule=rule.lower(), mode=mode.lower())
    if rules.mode not in MODES:  # pragma: no cover - Survivorship refuses it first
        raise typer.Exit(2)
    args = {"rule": rules.rule, "mode": rules.mode, "priority": list(rules.priority)}
    with Workspace.open(db, create=False) as ws, journaled(ws, "merge", args) as counts:
        if not ws.scalar("SELECT count(*) FROM clusters"):
            from crmtool.errors import CrmError

            raise CrmError("no clusters to merge: run `crmtool match` first")
        summary = merge_stage(ws, rules)
        counts.update(summary.counts())
    if as_json:
        console.out.print_json(json.dumps(counts))
        return
    console.info(f"{summary.contacts:,} golden contacts ({summary.merged_contacts:,} from several records), "
                 f"{summary.companies:,} companies ({summary.merged_companies:,} merged), {summary.links:,} links")
