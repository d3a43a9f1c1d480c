"""Interim grouping so `crmtool run` works end to end before real matching exists.

Contacts that share a valid E.164 phone or an e-mail match key are one
cluster; companies that share a valid ИНН or a name key (legal form and quotes
set aside) are one cluster; all from the `normalized` table. It chains freely (a switchboard
number joins everyone who gives it) — the matching stage replaces this with
blocking, scoring and safe clustering.
"""

from __future__ import annotations

import polars as pl

from crmtool.workspace import Workspace

CONTACT_HINTS = ("person", "person_at_company", "unknown")
COMPANY_HINTS = ("company", "person_at_company")

_CONTACT_KEYS = f"""
SELECT record_id, 'p:' || unnest(phones) AS key FROM normalized WHERE entity_hint IN {CONTACT_HINTS}
UNION ALL
SELECT record_id, 'e:' || unnest(email_keys) FROM normalized WHERE entity_hint IN {CONTACT_HINTS}
"""

_COMPANY_KEYS = f"""
SELECT record_id, 'i:' || inn AS key FROM normalized
WHERE entity_hint IN {COMPANY_HINTS} AND inn IS NOT NULL
UNION ALL
SELECT record_id, 'n:' || company_key FROM normalized
WHERE entity_hint IN {COMPANY_HINTS} AND company_key IS NOT NULL AND company_key <> ''
"""


def connected_components(nodes: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """Label every node with the smallest node id reachable through shared keys.

    `edges` has columns node, key. Min-label propagation over whole columns;
    converges in as many rounds as the longest chain of shared keys.
    """
    labels = pl.DataFrame({"node": nodes}).unique().with_columns(label=pl.col("node"))
    if edges.is_empty():
        return labels
    while True:
        per_key = edges.join(labels, on="node").group_by("key").agg(pl.col("label").min().alias("kl"))
        per_node = edges.join(per_key, on="key").group_by("node").agg(pl.col("kl").min().alias("nl"))
        updated = labels.join(per_node, on="node", how="left").with_columns(
            label=pl.min_horizontal("label", "nl")
        ).drop("nl")
        changed = updated.join(labels, on="node", suffix="_old").filter(pl.col("label") != pl.col("label_old")).height
        labels = updated
        if not changed:
            return labels


def group_exact(ws: Workspace, entities: tuple[str, ...] = ("contact", "company")) -> dict[str, int]:
    """Rebuild `clusters` for the given entities; returns cluster counts."""
    con = ws.con
    counts = {}
    with ws.transaction():
        con.execute(f"DELETE FROM clusters WHERE entity IN {tuple(entities) + ('',)}")
        for entity, hints, keys_sql, prefix in (
            ("contact", CONTACT_HINTS, _CONTACT_KEYS, "CT"),
            ("company", COMPANY_HINTS, _COMPANY_KEYS, "CO"),
        ):
            if entity not in entities:
                continue
            nodes = con.sql(f"SELECT record_id FROM records WHERE entity_hint IN {hints}").pl().get_column("record_id")
            edges = con.sql(keys_sql).pl().rename({"record_id": "node"})
            labels = connected_components(nodes.alias("node"), edges)
            write_clusters(ws, labels, entity, prefix, "exact")
            counts[f"{entity}_clusters"] = ws.scalar(
                "SELECT count(DISTINCT cluster_id) FROM clusters WHERE entity = ?", [entity]
            )
    return counts


def write_clusters(ws: Workspace, labels: pl.DataFrame, entity: str, prefix: str, rule: str) -> None:
    """Insert `clusters` rows for `labels` (node = record_id, label = any id shared by a cluster)."""
    with ws.registered("_labels", labels):
        ws.con.execute(INSERT_CLUSTERS, [entity, prefix, entity, rule])


# The cluster id is derived from its earliest member by (file content hash,
# source_row): the same inputs give the same ids whatever order they were
# loaded in, and a new file keeps the ids of the clusters it does not touch.
INSERT_CLUSTERS = """
INSERT INTO clusters
WITH members AS (
    SELECT l.node AS record_id, l.label, s.sha256 || ':' || r.source_row AS anchor
    FROM _labels l JOIN records r ON r.record_id = l.node JOIN sources s ON s.source_id = r.source_id
), anchors AS (
    SELECT label, min(anchor) AS anchor FROM members GROUP BY label
)
SELECT m.record_id, ?, ? || '-' || upper(substr(sha256(a.anchor || ':' || ?), 1, 16)), ?
FROM members m JOIN anchors a USING (label)
"""
