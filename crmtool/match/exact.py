"""Cluster plumbing shared by contacts and companies: entity hints, connected
components over shared keys, and writing `clusters` rows with stable ids.
"""

from __future__ import annotations

import polars as pl

from crmtool.workspace import Workspace

CONTACT_HINTS = ("person", "person_at_company", "unknown")
COMPANY_HINTS = ("company", "person_at_company")

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


def write_clusters(ws: Workspace, labels: pl.DataFrame, entity: str, prefix: str, rule: str) -> None:
    """Replace the entity's `clusters` rows by `labels` (node = record_id, label = any id
    shared by a cluster), keeping the ids clusters had before (see INSERT_CLUSTERS)."""
    con = ws.con
    con.execute("CREATE OR REPLACE TEMP TABLE _old_clusters AS SELECT record_id, cluster_id FROM clusters WHERE entity = ?",
                [entity])
    con.execute("DELETE FROM clusters WHERE entity = ?", [entity])
    with ws.registered("_labels", labels):
        con.execute(INSERT_CLUSTERS, {"entity": entity, "prefix": prefix, "rule": rule})
    con.execute("DROP TABLE _old_clusters")


# A cluster keeps the id it had on the previous run: the id its earliest member
# (by file content hash and row) had, unless another cluster holds that old id's
# own earliest member (an old cluster split in two: the part with its first record
# keeps the id). A cluster with no old id gets one derived from its earliest member.
# So the same inputs give the same ids whatever order they were loaded in, a
# golden record that gains records keeps its id (the CRM knows it by that id), and
# a new file keeps the ids of the clusters it does not touch.
INSERT_CLUSTERS = """
INSERT INTO clusters
WITH members AS (
    SELECT l.node AS record_id, l.label, s.sha256 || ':' || lpad(r.source_row::VARCHAR, 10, '0') AS anchor,
           o.cluster_id AS old_id
    FROM _labels l JOIN records r ON r.record_id = l.node JOIN sources s ON s.source_id = r.source_id
    LEFT JOIN _old_clusters o ON o.record_id = l.node
), old_anchor AS (
    -- each old id's earliest member still present, and the new cluster it is in now
    SELECT old_id, arg_min(label, anchor) AS holder FROM members WHERE old_id IS NOT NULL GROUP BY old_id
), anchors AS (
    SELECT m.label, min(m.anchor) AS anchor,
           arg_min(m.old_id, m.anchor) FILTER (WHERE m.old_id IS NOT NULL AND oa.holder = m.label) AS kept
    FROM members m LEFT JOIN old_anchor oa ON oa.old_id = m.old_id
    GROUP BY m.label
)
SELECT m.record_id, $entity,
       coalesce(a.kept, $prefix || '-' || upper(substr(sha256(a.anchor || ':' || $entity), 1, 16))),
       $rule
FROM members m JOIN anchors a USING (label)
"""
