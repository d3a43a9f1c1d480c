"""Cluster plumbing shared by contacts and companies: entity hints, connected
components over shared keys, and writing `clusters` rows with stable ids.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csgraph

from crmtool.workspace import Workspace

CONTACT_HINTS = ("person", "person_at_company", "unknown")
COMPANY_HINTS = ("company", "person_at_company")

def connected_components(nodes: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """Label every node with the smallest node id reachable through shared keys.

    `edges` has columns node, key: nodes sharing a key are connected. Keys become vertices of
    their own (a node–key graph), so a key held by k nodes costs k edges, not k².
    """
    index = _index(nodes)
    if edges.is_empty():
        return index.select("node", label=pl.col("node"))
    linked = edges.join(index, on="node").with_columns(
        k=pl.col("key").rank("dense").cast(pl.Int64) - 1 + index.height)
    return _components(index, linked["i"].to_numpy(), linked["k"].to_numpy(), index.height + linked.height)


def pair_components(nodes: pl.Series, pairs: pl.DataFrame) -> pl.DataFrame:
    """Label every node with the smallest node id reachable through `pairs` (record_a, record_b);
    pairs naming a node outside `nodes` are ignored."""
    index = _index(nodes)
    linked = (pairs.select("record_a", "record_b")
              .join(index.rename({"node": "record_a", "i": "ia"}), on="record_a")
              .join(index.rename({"node": "record_b", "i": "ib"}), on="record_b"))
    return _components(index, linked["ia"].to_numpy(), linked["ib"].to_numpy(), index.height)


def _index(nodes: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"node": nodes}).unique().with_row_index("i").with_columns(pl.col("i").cast(pl.Int64))


def _components(index: pl.DataFrame, a: np.ndarray, b: np.ndarray, vertices: int) -> pl.DataFrame:
    """Components of the undirected graph over vertices 0..vertices-1 with edges a–b (scipy's
    union of a sparse graph: linear, in C), reported for the first index.height vertices."""
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(vertices, vertices)).tocsr()
    _, component = csgraph.connected_components(graph, directed=True, connection="weak")
    return index.with_columns(component=pl.Series(component[: index.height])).select(
        "node", label=pl.col("node").min().over("component"))


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
