"""What the client report shows, as small aggregates computed by DuckDB over whole tables.

Every function returns one small dict or list (one per chart): a million records
give the same few kilobytes as seventy. Data quality comes from the profile
(`crmtool profile`), example merges from `explain`, their personal data masked
as role exports mask it. Each part looks only at the tables its stage writes,
so a workspace that was loaded and normalized but not matched still gets its
sources and quality parts.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from crmtool.export.masking import email_mask, phone_mask, text_mask
from crmtool.match.review import QUESTIONS, undecided_count
from crmtool.merge.explain import explain
from crmtool.normalize.profile import build_profile
from crmtool.normalize.runner import FIELDS, SIGNATURE_KEY, signature
from crmtool.workspace import Workspace

MAX_SOURCES = 25  # more files than this: the rest are one "other files" row
TOP_PAIRS = 10
TOP_SHARED = 10
TOP_PROBLEMS = 8
EXAMPLES = 5
EXAMPLE_MEMBERS = 6  # rows shown per example merge
EXAMPLE_PAIRS = 4  # pair explanations shown per example merge
SIZE_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, None))
PROBABILITY_BANDS = 10


def collect(ws: Workspace) -> dict[str, Any]:
    """Everything the report draws; parts whose stage has not run are empty."""
    stages = stage_status(ws)
    data: dict[str, Any] = {"stages": stages, "workspace": Path(ws.path).name,
                            "generated": datetime.now().strftime("%Y-%m-%d %H:%M")}
    data["sources"] = records_per_source(ws) if stages["loaded"] else []
    data["quality"] = quality(ws) if stages["normalized"] else None
    data["channels"] = channel_outcomes(ws) if stages["normalized"] else {}
    data["duplicates"] = duplicates(ws) if stages["matched"] else None
    data["review"] = review_backlog(ws) if stages["matched"] else None
    data["shared"] = shared_values(ws) if stages["matched"] else {"phone": None, "email": None}
    data["examples"] = example_merges(ws) if stages["merged"] else []
    data["totals"] = totals(ws, stages, data["review"])
    return data


def stage_status(ws: Workspace) -> dict[str, bool]:
    """Which stages have left their tables, and whether the check is older than the files."""
    row = ws.one("""SELECT (SELECT count(*) FROM sources) > 0,
                           EXISTS (SELECT 1 FROM normalized),
                           EXISTS (SELECT 1 FROM clusters WHERE entity = 'contact'),
                           EXISTS (SELECT 1 FROM contacts) OR EXISTS (SELECT 1 FROM companies)""")
    stored = ws.scalar("SELECT value FROM meta WHERE key = ?", [SIGNATURE_KEY])
    # the signature is "REGION|hashes": the region the check ran with is the one to compare under
    stale = bool(row[1]) and stored is not None and stored != signature(ws, stored.partition("|")[0])
    return {"loaded": bool(row[0]), "normalized": bool(row[1]), "matched": bool(row[2]),
            "merged": bool(row[3]), "stale": stale}


def totals(ws: Workspace, stages: dict[str, bool], review: dict | None) -> dict[str, int | None]:
    records = ws.scalar("SELECT count(*) FROM records")
    out = {"records": records, "sources": ws.scalar("SELECT count(*) FROM sources"),
           "contacts": None, "companies": None, "merged_records": None,
           "review_pending": review["pending"] if review else None}
    if stages["merged"]:
        contacts, companies, in_contacts = ws.one(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM companies), "
            "(SELECT coalesce(sum(records), 0) FROM contacts)")
        out.update(contacts=contacts, companies=companies, merged_records=int(in_contacts) - contacts)
    return out


def _source_labels(ws: Workspace) -> dict[int, str]:
    """A source's file name; its path where two sources share a name."""
    rows = ws.fetch_dicts("SELECT source_id, CASE WHEN count(*) OVER (PARTITION BY name) > 1 THEN path "
                          "ELSE name END AS label FROM sources")
    return {r["source_id"]: r["label"] for r in rows}


def records_per_source(ws: Workspace) -> list[dict]:
    """Records per source file, split by what they describe; the largest MAX_SOURCES files, then the rest."""
    labels = _source_labels(ws)
    rows = ws.fetch_dicts("""SELECT source_id, entity_hint, count(*) AS n FROM records GROUP BY ALL""")
    by_source: dict[int, dict] = {sid: {"source_id": sid, "label": label, "records": 0, "kinds": {}}
                                  for sid, label in labels.items()}
    for r in rows:
        s = by_source[r["source_id"]]
        s["kinds"][r["entity_hint"]] = s["kinds"].get(r["entity_hint"], 0) + r["n"]
        s["records"] += r["n"]
    ordered = sorted(by_source.values(), key=lambda s: (-s["records"], s["source_id"]))
    return _capped(ordered)


def _capped(ordered: list[dict]) -> list[dict]:
    if len(ordered) <= MAX_SOURCES:
        return ordered
    rest = ordered[MAX_SOURCES - 1:]
    other = {"source_id": None, "label": None, "others": len(rest), "records": sum(s["records"] for s in rest),
             "kinds": {}}
    for s in rest:
        for k, n in s["kinds"].items():
            other["kinds"][k] = other["kinds"].get(k, 0) + n
    return ordered[:MAX_SOURCES - 1] + [other]


def quality(ws: Workspace) -> dict:
    """Filled and valid shares per source and field, records no one can reach, the top problems:
    `crmtool profile`'s numbers (without its examples: they are personal data)."""
    profile = build_profile(ws, top=TOP_PROBLEMS, examples=0)
    labels = _source_labels(ws)

    def one(p) -> dict:
        return {"source_id": p.source_id, "label": labels.get(p.source_id) if p.source_id is not None else None,
                "records": p.records, "no_channel": p.no_channel,
                "fields": {f: {k: fp.as_dict()[k] for k in ("filled", "filled_pct", "valid_pct", "values")}
                           for f, fp in p.fields.items()}}

    sources = sorted((one(p) for p in profile.sources), key=lambda s: (-s["records"], s["source_id"]))
    if len(sources) > MAX_SOURCES:
        sources = sources[:MAX_SOURCES - 1]  # the "all files" row below still counts every file
    return {"fields": list(FIELDS), "sources": sources, "total": one(profile.total),
            "problems": [{"field": p.field, "status": p.status, "reason": p.reason, "count": p.count}
                         for p in profile.problems]}


def channel_outcomes(ws: Workspace) -> dict[str, dict]:
    """Phones and e-mails by what became of them: right as they were, reformatted, fixed,
    a fix suggested, invalid; with the most frequent reasons behind each."""
    rows = ws.fetch_dicts(
        """SELECT field,
                  CASE WHEN status = 'ok' AND reason IS NULL THEN 'as_is' WHEN status = 'ok' THEN 'tidied'
                       ELSE status END AS outcome,
                  reason, sum(n)::BIGINT AS n
           FROM field_stats WHERE field IN ('phone', 'email') AND status <> 'missing'
           GROUP BY ALL ORDER BY field, n DESC, reason""")
    out: dict[str, dict] = {}
    for field in ("phone", "email"):
        mine = [r for r in rows if r["field"] == field]
        outcomes = {o: sum(r["n"] for r in mine if r["outcome"] == o)
                    for o in ("as_is", "tidied", "fixed", "suggested", "invalid")}
        reasons = [{"outcome": r["outcome"], "reason": r["reason"], "n": r["n"]}
                   for r in mine if r["outcome"] != "as_is" and r["reason"] is not None]
        out[field] = {"values": sum(outcomes.values()), "outcomes": outcomes, "reasons": reasons[:8]}
    return out


def duplicates(ws: Workspace) -> dict:
    """Cluster sizes in buckets per entity, and the source pairs whose records were merged."""
    cases = " ".join(f"WHEN n BETWEEN {lo} AND {hi if hi is not None else 2**31 - 1} THEN {i}"
                     for i, (lo, hi) in enumerate(SIZE_BUCKETS))
    sizes = ws.fetch_dicts(
        f"""SELECT entity, CASE {cases} END AS bucket, count(*) AS clusters, sum(n)::BIGINT AS records
            FROM (SELECT entity, cluster_id, count(*) AS n FROM clusters GROUP BY ALL)
            GROUP BY ALL ORDER BY entity, bucket""")
    buckets = {}
    for entity in ("contact", "company"):
        counts = {r["bucket"]: r for r in sizes if r["entity"] == entity}
        buckets[entity] = [{"low": lo, "high": hi, "clusters": counts.get(i, {}).get("clusters", 0),
                            "records": counts.get(i, {}).get("records", 0)}
                           for i, (lo, hi) in enumerate(SIZE_BUCKETS)]
    # per cluster and source, how many records; a pair of sources counts the clusters holding both,
    # a source with itself the clusters holding two or more of its records (duplicates inside a file)
    pairs = ws.fetch_dicts(
        f"""WITH cs AS (SELECT c.cluster_id, r.source_id, count(*) AS n
                        FROM clusters c JOIN records r USING (record_id) WHERE c.entity = 'contact' GROUP BY ALL),
                 p AS (SELECT a.source_id AS a, b.source_id AS b, count(*) AS clusters
                       FROM cs a JOIN cs b ON a.cluster_id = b.cluster_id AND a.source_id <= b.source_id
                       WHERE a.source_id < b.source_id OR a.n > 1 GROUP BY ALL)
            SELECT a, b, clusters, count(*) OVER () AS pairs, sum(clusters) OVER () AS all_clusters
            FROM p ORDER BY clusters DESC, a, b LIMIT {TOP_PAIRS}""")
    labels = _source_labels(ws)
    shown = [{"a": labels.get(p["a"]), "b": labels.get(p["b"]), "same": p["a"] == p["b"], "clusters": p["clusters"]}
             for p in pairs]
    rest = (int(pairs[0]["all_clusters"]) - sum(p["clusters"] for p in pairs)) if pairs else 0
    return {"sizes": buckets, "source_pairs": shown, "other_pairs": (pairs[0]["pairs"] - len(pairs)) if pairs else 0,
            "other_pair_clusters": rest}


def review_backlog(ws: Workspace) -> dict:
    """Questions left for a person (two contacts a review pair links): how many wait, by the
    probability band of the strongest pair, and the verdicts given."""
    bands = ws.fetch_dicts(
        f"""WITH {QUESTIONS}
            SELECT least(floor(match_probability * {PROBABILITY_BANDS}), {PROBABILITY_BANDS - 1})::INTEGER AS band,
                   count(*) AS n
            FROM questions GROUP BY ALL ORDER BY band""")
    verdicts = dict(ws.con.execute("SELECT verdict, count(*) FROM decisions GROUP BY ALL").fetchall())
    by_band = {r["band"]: r["n"] for r in bands}
    shown = range(min(by_band), max(by_band) + 1) if by_band else range(0)  # no gaps between the first and last
    return {"pending": undecided_count(ws),
            "bands": [{"low": i / PROBABILITY_BANDS, "high": (i + 1) / PROBABILITY_BANDS, "n": by_band.get(i, 0)}
                      for i in shown],
            "same": verdicts.get("same", 0), "different": verdicts.get("different", 0)}


def shared_values(ws: Workspace) -> dict[str, dict]:
    """The phones and e-mails held by the most different contacts, masked; with how many such values."""
    out = {}
    for kind, column, mask in (("phone", "n.phones", phone_mask), ("email", "n.emails", email_mask)):
        rows = ws.fetch_dicts(
            # values are normalized (E.164, lower-case e-mails): equal values are the same number or address
            f"""WITH v AS (SELECT c.cluster_id, unnest({column}) AS value
                           FROM normalized n JOIN clusters c ON c.record_id = n.record_id AND c.entity = 'contact'),
                     g AS (SELECT value, count(DISTINCT cluster_id) AS contacts, count(*) AS records
                           FROM v GROUP BY value HAVING count(DISTINCT cluster_id) > 1)
                SELECT value, contacts, records, count(*) OVER () AS shared FROM g
                ORDER BY contacts DESC, records DESC, value LIMIT {TOP_SHARED}""")
        frame = pl.DataFrame({"value": [r["value"] for r in rows]}, schema={"value": pl.String})
        masked = frame.select(mask(pl.col("value")).alias("m"))["m"].to_list()
        out[kind] = {"shared": rows[0]["shared"] if rows else 0,
                     "top": [{"value": m, "contacts": r["contacts"], "records": r["records"]}
                             for m, r in zip(masked, rows)]}
    return out


def example_merges(ws: Workspace, n: int = EXAMPLES) -> list[dict]:
    """A few golden contacts, each explained (`crmtool explain`) and masked. Drawn from the most
    files, of a usual size (a group of more than five records is rare, and no typical example);
    among equals the golden id, a hash, picks as good as at random and the same every time."""
    ids = [r[0] for r in ws.con.execute(
        # a record id holds its source in the high 32 bits (crmtool.workspace.record_id): no join needed
        f"""SELECT cluster_id FROM clusters
            WHERE entity = 'contact' GROUP BY cluster_id HAVING count(*) > 1
            ORDER BY count(DISTINCT record_id >> 32) DESC, count(*) > 5, count(*) DESC, cluster_id
            LIMIT {int(n)}""").fetchall()]
    have = {r[0] for r in ws.con.execute("SELECT golden_id FROM contacts WHERE list_contains(?, golden_id)",
                                         [ids]).fetchall()} if ids else set()
    return [_masked_example(ws, explain(ws, golden_id)) for golden_id in ids if golden_id in have]


def _masked_example(ws: Workspace, e: dict) -> dict:
    members = e["members"][:EXAMPLE_MEMBERS]
    # a sole proprietor's "company" is a person's name: masked like one
    person_firms = {r[0] for r in ws.con.execute(
        "SELECT record_id FROM normalized WHERE company_is_person AND list_contains(?, record_id)",
        [[m["record_id"] for m in members]]).fetchall()}
    person_links = {r[0] for r in ws.con.execute(
        "SELECT golden_id FROM companies WHERE is_person AND list_contains(?, golden_id)",
        [[link["golden_id"] for link in e["links"]]]).fetchall()}
    frame = pl.DataFrame(
        {"name": [m["name"] or None for m in members], "phones": [m["phones"] or None for m in members],
         "emails": [m["emails"] or None for m in members],
         "company": [m["company"] or None for m in members],
         "person_firm": [m["record_id"] in person_firms for m in members]},
        schema={"name": pl.String, "phones": pl.String, "emails": pl.String, "company": pl.String,
                "person_firm": pl.Boolean})
    # names word by word (`И*** И*** И***`), every phone and e-mail of a record on its own
    masked = frame.select(
        _words(pl.col("name")).alias("name"),
        pl.col("phones").str.split("; ").list.eval(phone_mask(pl.element())).list.join("; ").alias("phones"),
        pl.col("emails").str.split("; ").list.eval(email_mask(pl.element())).list.join("; ").alias("emails"),
        pl.when(pl.col("person_firm")).then(_words(pl.col("company"))).otherwise(pl.col("company")).alias("company"),
    ).to_dicts()
    shown = [{"where": f"{m['file']}:{m['row']}", **k} for m, k in zip(members, masked)]
    links = pl.DataFrame({"name": [link["name"] for link in e["links"]],
                          "person": [link["golden_id"] in person_links for link in e["links"]]},
                         schema={"name": pl.String, "person": pl.Boolean})
    companies = links.select(pl.when(pl.col("person")).then(_words(pl.col("name"))).otherwise(pl.col("name"))
                             .alias("name")).drop_nulls()["name"].to_list()
    pairs = [{"a": p["a"], "b": p["b"], "probability": p["probability"], "decision": p["decision"],
              "levels": p["levels"]} for p in _joining_pairs(e["pairs"])]
    files = len({m["file"] for m in e["members"]})
    return {"golden_id": e["golden_id"], "records": len(e["members"]), "files": files, "members": shown,
            "more": len(e["members"]) - len(shown), "pairs": pairs,
            "companies": companies,
            "verdicts": [{"a": v["a"], "b": v["b"], "verdict": v["verdict"]} for v in e["verdicts"]]}


def _joining_pairs(pairs: list[dict]) -> list[dict]:
    """Up to EXAMPLE_PAIRS pairs, most likely first, each bringing in a record not yet joined:
    how the records came together rather than the same two records told three times."""
    joined: set[str] = set()
    chosen = []
    for p in pairs:  # explain() lists them most likely first
        if len(chosen) == EXAMPLE_PAIRS:
            break
        if p["a"] in joined and p["b"] in joined:
            continue
        chosen.append(p)
        joined.update((p["a"], p["b"]))
    return chosen


def _words(text: pl.Expr) -> pl.Expr:
    """Mask every word on its own: `Иванов Иван` → `И*** И***`."""
    return text.str.split(" ").list.eval(text_mask(pl.element())).list.join(" ")
