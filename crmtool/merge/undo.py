"""`unmerge`: split a golden record back into its source records, for good.

The split is stored as "different" verdicts in `decisions` (source
`unmerge <golden id>`), which every later `match` and `run` obeys, so the
next run keeps the records apart. Nothing is deleted: the records, their
pairs and the other verdicts stay; clusters are rebuilt from the stored pairs
and the golden records merged again.
"""

from __future__ import annotations

from itertools import combinations

from crmtool.errors import CrmError
from crmtool.match.companies import cluster_companies
from crmtool.match.review import DIFFERENT, record_verdicts
from crmtool.match.stage import recluster_contacts
from crmtool.merge.stage import merge_workspace
from crmtool.workspace import Workspace


def members_of(ws: Workspace, golden_id: str) -> tuple[str, list[int]]:
    """(entity, record ids) of a golden record; an error naming the id when unknown."""
    rows = ws.fetch_dicts("SELECT entity, record_id FROM clusters WHERE cluster_id = ? ORDER BY record_id", [golden_id])
    if not rows:
        raise CrmError(f"no golden record {golden_id!r} in this workspace (ids look like CT-… or CO-…)")
    return rows[0]["entity"], [r["record_id"] for r in rows]


def resolve_record(ws: Workspace, spec: str) -> int:
    """A record given as its id, or as FILE:ROW (the file's name or the end of its path)."""
    if spec.isdigit():
        record_id = int(spec)
        if ws.scalar("SELECT count(*) FROM records WHERE record_id = ?", [record_id]):
            return record_id
        raise CrmError(f"no record {spec} in this workspace")
    file, sep, row = spec.rpartition(":")
    if not sep or not row.isdigit() or not file:
        raise CrmError(f"record {spec!r}: give a record id or FILE:ROW (e.g. clients.xlsx:12)")
    hits = ws.fetch_dicts(
        "SELECT r.record_id FROM records r JOIN sources s USING (source_id) "
        "WHERE (s.name = ? OR s.path = ? OR s.path LIKE ?) AND r.source_row = ?",
        [file, file, f"%/{file}", int(row)])
    if len(hits) != 1:
        raise CrmError(f"record {spec!r}: {'no' if not hits else 'several'} such source row(s)")
    return hits[0]["record_id"]


def unmerge(ws: Workspace, golden_id: str, records: list[str] | None = None) -> dict:
    """Split `golden_id` whole, or detach the given records from it; returns what changed."""
    entity, members = members_of(ws, golden_id)
    if len(members) < 2:
        raise CrmError(f"{golden_id} holds one source record: nothing to split")
    if records:
        detach = [resolve_record(ws, r) for r in records]
        strangers = [r for r in detach if r not in members]
        if strangers:
            raise CrmError(f"record(s) {', '.join(map(str, strangers))} are not in {golden_id}")
        stay = [m for m in members if m not in detach]
        if not stay:
            raise CrmError(f"detaching every record of {golden_id} is splitting it whole: leave out --record")
        pairs = [(a, b) for a in detach for b in stay] + list(combinations(detach, 2))
    else:
        pairs = list(combinations(members, 2))
    stored = record_verdicts(ws, [(a, b, DIFFERENT) for a, b in pairs], f"unmerge {golden_id}", entity)
    if entity == "contact":
        recluster_contacts(ws)
    else:
        cluster_companies(ws)
    merge_workspace(ws)
    now = ws.fetch_dicts(
        "SELECT DISTINCT cluster_id FROM clusters WHERE entity = ? AND list_contains(?, record_id) ORDER BY 1",
        [entity, members])
    return {"golden_id": golden_id, "entity": entity, "records": len(members), "verdicts": stored,
            "now": [r["cluster_id"] for r in now]}
