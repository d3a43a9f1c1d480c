"""`crmtool match`: find duplicate contacts in the workspace and explain every decision."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from crmtool import console
from crmtool.errors import CrmError
from crmtool.match.stage import LOWER, UPPER, pairs_line
from crmtool.pipeline import match_stage
from crmtool.normalize.profile import ensure_normalized
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet, Region
from crmtool.workspace import Workspace, journaled


def match(
    db: Db = DEFAULT_DB_PATH,
    upper: Annotated[float, typer.Option("--upper", min=0.0, max=1.0, help="Match probability at or above which a pair is merged.")] = UPPER,
    lower: Annotated[float, typer.Option("--lower", min=0.0, max=1.0, help="Below this a pair is a non-match; between the two, review.")] = LOWER,
    region: Region = "RU",
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Match duplicate contacts: blocking, learned fuzzy scoring, clustering without chaining.

    Every candidate pair lands in the `pairs` table with the blocking rules that
    found it, its comparison levels, weight, probability and decision
    (auto | review | reject) and the reason. Normalizes first if needed.
    """
    if lower > upper:
        raise CrmError(f"--lower ({lower}) must not be above --upper ({upper})")
    console.set_quiet(quiet or as_json)
    with Workspace.open(db, create=False) as ws, journaled(ws, "match", {"upper": upper, "lower": lower}) as counts:
        ensure_normalized(ws, region.upper())
        summary = match_stage(ws, upper, lower)
        counts.update(summary.counts())
    if as_json:
        console.out.print_json(json.dumps({**counts, "model": summary.model.as_dict()}, ensure_ascii=False))
        return
    c = summary.counts()
    console.info(f"{pairs_line(c)} → {c['contact_clusters']:,} contacts, {c['company_clusters']:,} companies")
