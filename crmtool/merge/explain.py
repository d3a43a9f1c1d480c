"""`explain`: everything behind one golden record — its source records, the pair
evidence that joined them, where every field value came from, and its links."""

from __future__ import annotations

from crmtool.match.features import LEVELS
from crmtool.merge.undo import members_of
from crmtool.workspace import Workspace

_MEMBERS = """
SELECT r.record_id, s.name AS file, r.source_row AS row,
       nullif(concat_ws(' ', n.last_name, n.first_name, n.middle_name), '') AS name, n.company,
       array_to_string(n.phones, '; ') AS phones, array_to_string(n.emails, '; ') AS emails, r.city
FROM records r JOIN sources s USING (source_id) JOIN normalized n USING (record_id)
WHERE list_contains(?, r.record_id)
ORDER BY s.source_id, r.source_row
"""
_PAIRS = """
SELECT record_a, record_b, rules, surname, first_name, middle_name, gender, phone, email, company, city,
       round(match_probability, 4) AS probability, decision, reason
FROM pairs WHERE list_contains(?, record_a) AND list_contains(?, record_b)
ORDER BY match_probability DESC
"""
_PROVENANCE = """
SELECT field, value, chosen, record_ids FROM provenance WHERE golden_id = ?
ORDER BY field, NOT chosen, value
"""
_VERDICTS = """
SELECT record_a, record_b, verdict, "user", decided_at, source FROM decisions
WHERE (list_contains(?, record_a) OR list_contains(?, record_b)) AND entity = ?
ORDER BY decided_at
"""


def _single(golden: dict, record_id: int) -> list[dict]:
    """A one-record golden record's provenance: every value is that record's (not stored)."""
    rows = []
    for field, value in golden.items():
        if field in ("golden_id", "records", "sources") or value is None:
            continue
        if field in ("phones", "emails"):
            for item in value:
                text = item["value"] + (f" #{item['ext']}" if item.get("ext") else "")
                rows.append({"field": field, "value": text, "chosen": True, "record_ids": [record_id]})
        else:
            rows.append({"field": field, "value": str(value), "chosen": True, "record_ids": [record_id]})
    return sorted(rows, key=lambda r: (r["field"], r["value"]))


def explain(ws: Workspace, golden_id: str) -> dict:
    entity, ids = members_of(ws, golden_id)
    table = "contacts" if entity == "contact" else "companies"
    golden = ws.fetch_dicts(f"SELECT * FROM {table} WHERE golden_id = ?", [golden_id])
    members = ws.fetch_dicts(_MEMBERS, [ids])
    where = {m["record_id"]: f"{m['file']}:{m['row']}" for m in members}
    pairs = ws.fetch_dicts(_PAIRS, [ids, ids])
    for p in pairs:
        p["a"], p["b"] = where.get(p.pop("record_a")), where.get(p.pop("record_b"))
        p["levels"] = {c: LEVELS[c][p[c]] for c in LEVELS if p.get(c) is not None and p[c] >= 0}
        for c in LEVELS:
            p.pop(c, None)
    provenance = ws.fetch_dicts(_PROVENANCE, [golden_id]) if len(ids) > 1 else _single(golden[0] if golden else {}, ids[0])
    for row in provenance:
        row["from"] = [where.get(r, str(r)) for r in row.pop("record_ids")]
    if entity == "contact":
        links = ws.fetch_dicts("SELECT l.company_id AS golden_id, c.name, l.via FROM contact_company l "
                               "LEFT JOIN companies c ON c.golden_id = l.company_id WHERE l.contact_id = ?", [golden_id])
    else:
        links = ws.fetch_dicts("SELECT l.contact_id AS golden_id, concat_ws(' ', c.last_name, c.first_name) AS name, l.via "
                               "FROM contact_company l LEFT JOIN contacts c ON c.golden_id = l.contact_id "
                               "WHERE l.company_id = ?", [golden_id])
    verdicts = ws.fetch_dicts(_VERDICTS, [ids, ids, entity])
    for v in verdicts:
        v["a"], v["b"] = where.get(v.pop("record_a"), "?"), where.get(v.pop("record_b"), "?")
    return {"golden_id": golden_id, "entity": entity, "golden": golden[0] if golden else None,
            "members": members, "pairs": pairs, "provenance": provenance, "links": links, "verdicts": verdicts}
