"""Data-quality profile of a workspace: what `crmtool profile` shows and `--json` prints.

Built from the normalize stage's tables only: `field_stats` for the counts,
`field_checks` for the top problems and their examples, `normalized` for the
records no one can reach (no valid phone, no valid e-mail). The stage is
re-run first when the loaded sources changed since it last ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crmtool.normalize.runner import FIELDS, SIGNATURE_KEY, normalize_workspace, signature
from crmtool.workspace import Workspace


def ensure_normalized(ws: Workspace, default_region: str = "RU") -> bool:
    """Normalize when the sources changed since the last time; True when it ran."""
    if ws.scalar("SELECT value FROM meta WHERE key = ?", [SIGNATURE_KEY]) == signature(ws, default_region):
        return False
    normalize_workspace(ws, default_region)
    return True


@dataclass
class FieldProfile:
    records: int
    filled: int = 0  # records with a value
    values: int = 0  # values checked (a record may hold several phones)
    ok: int = 0
    fixed: int = 0
    suggested: int = 0
    invalid: int = 0

    def as_dict(self) -> dict:
        pct = lambda n, d: round(100.0 * n / d, 1) if d else None  # noqa: E731
        return {
            "filled": self.filled, "values": self.values, "ok": self.ok, "fixed": self.fixed,
            "suggested": self.suggested, "invalid": self.invalid,
            "filled_pct": pct(self.filled, self.records),
            "valid_pct": pct(self.ok + self.fixed + self.suggested, self.values),
            "fixed_pct": pct(self.fixed, self.values),
            "suggested_pct": pct(self.suggested, self.values),
            "invalid_pct": pct(self.invalid, self.values),
        }


@dataclass
class SourceProfile:
    source_id: int | None  # None: all sources together
    name: str
    records: int
    no_channel: int  # records with neither a valid phone nor a valid e-mail
    fields: dict[str, FieldProfile] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "source_id": self.source_id, "name": self.name, "records": self.records,
            "no_contact_channel": self.no_channel,
            "fields": {f: p.as_dict() for f, p in self.fields.items()},
        }


@dataclass
class Problem:
    field: str
    status: str
    reason: str | None
    count: int
    examples: list[dict]

    def as_dict(self) -> dict:
        return {"field": self.field, "status": self.status, "reason": self.reason, "count": self.count, "examples": self.examples}


@dataclass
class Profile:
    sources: list[SourceProfile]
    total: SourceProfile
    problems: list[Problem]

    def as_dict(self) -> dict:
        return {
            "total": self.total.as_dict(),
            "sources": [s.as_dict() for s in self.sources],
            "problems": [p.as_dict() for p in self.problems],
        }


def build_profile(ws: Workspace, top: int = 10, examples: int = 3) -> Profile:
    sources = ws.fetch_dicts(
        """SELECT s.source_id, s.path AS name, count(n.record_id) AS records,
                  count(n.record_id) FILTER (WHERE len(n.phones) = 0 AND len(n.emails) = 0) AS no_channel
           FROM sources s LEFT JOIN normalized n USING (source_id)
           GROUP BY s.source_id, s.path ORDER BY s.source_id"""
    )
    stats = ws.fetch_dicts("SELECT source_id, field, status, sum(n) AS n FROM field_stats GROUP BY ALL")
    profiles = {s["source_id"]: SourceProfile(s["source_id"], s["name"], s["records"], s["no_channel"]) for s in sources}
    total = SourceProfile(None, "all sources", sum(s["records"] for s in sources), sum(s["no_channel"] for s in sources))
    for p in (*profiles.values(), total):
        p.fields = {f: FieldProfile(p.records) for f in FIELDS}
    for row in stats:
        for p in (profiles.get(row["source_id"]), total):
            if p is None or row["field"] not in p.fields:
                continue
            fp = p.fields[row["field"]]
            n = int(row["n"])
            if row["status"] == "missing":
                continue
            fp.values += n
            if row["status"] in ("ok", "fixed", "suggested", "invalid"):
                setattr(fp, row["status"], getattr(fp, row["status"]) + n)
    # filled = records with a value: records minus those counted missing (once per record and field).
    missing = ws.fetch_dicts("SELECT source_id, field, sum(n) AS n FROM field_stats WHERE status = 'missing' GROUP BY ALL")
    missing_by = {(m["source_id"], m["field"]): int(m["n"]) for m in missing}
    for p in profiles.values():
        for f, fp in p.fields.items():
            fp.filled = p.records - missing_by.get((p.source_id, f), 0)
    for f, fp in total.fields.items():
        fp.filled = sum(p.fields[f].filled for p in profiles.values())
    return Profile(list(profiles.values()), total, _problems(ws, top, examples))


def _problems(ws: Workspace, top: int, examples: int) -> list[Problem]:
    rows = ws.fetch_dicts(
        f"""WITH c AS (
                SELECT field, status, reason, original, value, suggestion, s.path AS file, r.source_row,
                       row_number() OVER (PARTITION BY field, status, reason ORDER BY c.record_id, c.position) AS k,
                       count(*) OVER (PARTITION BY field, status, reason) AS n
                FROM field_checks c JOIN records r USING (record_id) JOIN sources s ON s.source_id = r.source_id
            )
            SELECT field, status, reason, any_value(n) AS n,
                   list({{'file': file, 'row': source_row, 'original': original, 'value': value,
                         'suggestion': suggestion}} ORDER BY k) FILTER (WHERE k <= {int(examples)}) AS examples
            FROM c GROUP BY field, status, reason
            ORDER BY n DESC, field, status, reason LIMIT {int(top)}"""
    )
    return [
        Problem(r["field"], r["status"], r["reason"], int(r["n"]),
                [{k: v for k, v in e.items() if v is not None} for e in (r["examples"] or [])])
        for r in rows
    ]
