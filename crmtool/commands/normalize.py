"""`crmtool normalize`: canonical values, match keys and quality flags for every record."""

from __future__ import annotations

import json

from crmtool import console
from crmtool.pipeline import normalize_stage
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet, Region
from crmtool.workspace import Workspace, journaled


def normalize(
    db: Db = DEFAULT_DB_PATH,
    region: Region = "RU",
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Normalize names, phones, e-mails, companies and requisites of every loaded record.

    Writes the `normalized`, `field_checks` and `field_stats` tables; `records`
    and `raw_records` are never changed. Bad values are flagged and kept.
    Re-running replaces only this stage's tables. See `crmtool profile` for
    the results.
    """
    console.set_quiet(quiet or as_json)
    with Workspace.open(db, create=False) as ws, journaled(ws, "normalize", {"region": region}) as counts:
        summary = normalize_stage(ws, region.upper())
        counts.update(summary.counts())
    if as_json:
        console.out.print_json(json.dumps(counts, ensure_ascii=False))
        return
    c = summary.counts()
    console.info(
        f"normalized {c['records_normalized']:,} records: "
        + ", ".join(f"{c.get('values_' + s, 0):,} {s}" for s in ("ok", "fixed", "suggested", "invalid", "missing"))
        + " (values); see `crmtool profile`"
    )
