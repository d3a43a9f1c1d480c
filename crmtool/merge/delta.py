"""What a run changed in the golden records: new, changed, merged into another, split off.

Taken around the merge stage: `snapshot` before (a hash of every golden row and which
cluster each record was in), `compare` after. A nightly run hands the CRM team only
the delta; a run with nothing new gives an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from crmtool.workspace import Workspace

_ROWS = """
SELECT 'contact' AS entity, golden_id, hash(c) AS row_hash FROM contacts c
UNION ALL
SELECT 'company', golden_id, hash(c) FROM companies c
"""
_MEMBERS = "SELECT entity, record_id, cluster_id FROM clusters"
SCHEMA = {"entity": pl.String, "golden_id": pl.String, "change": pl.String, "other_id": pl.String}


@dataclass(frozen=True)
class Snapshot:
    rows: pl.DataFrame      # entity, golden_id, row_hash
    members: pl.DataFrame   # entity, record_id, cluster_id


def snapshot(ws: Workspace) -> Snapshot:
    return Snapshot(ws.con.sql(_ROWS).pl(), ws.con.sql(_MEMBERS).pl())


def compare(ws: Workspace, before: Snapshot) -> pl.DataFrame:
    """One row per golden record that changed: entity, golden_id, change, other_id.

    change: `new` (a golden id that was not there), `changed` (its values differ),
    `merged` (an old golden id that is gone, its records now in `other_id` — the one most of
    them went to), `split`
    (records of `other_id` now form this new golden record)."""
    after = snapshot(ws)
    old_ids = before.rows.select("entity", "golden_id")
    joined = after.rows.join(before.rows, on=["entity", "golden_id"], how="left", suffix="_old")
    new = joined.filter(pl.col("row_hash_old").is_null()).select("entity", "golden_id")
    changed = joined.filter(pl.col("row_hash_old").is_not_null() & (pl.col("row_hash") != pl.col("row_hash_old")))
    moves = before.members.join(after.members, on=["entity", "record_id"], suffix="_new").filter(
        pl.col("cluster_id") != pl.col("cluster_id_new"))
    gone = old_ids.join(after.rows.select("entity", "golden_id"), on=["entity", "golden_id"], how="anti")
    merged = gone.join(
        moves.group_by("entity", "cluster_id").agg(pl.col("cluster_id_new").mode().first().alias("other_id")),
        left_on=["entity", "golden_id"], right_on=["entity", "cluster_id"], how="inner")
    split_from = moves.join(gone, left_on=["entity", "cluster_id"], right_on=["entity", "golden_id"], how="anti") \
        .group_by("entity", "cluster_id_new").agg(pl.col("cluster_id").first().alias("other_id")) \
        .rename({"cluster_id_new": "golden_id"})
    new_split = new.join(split_from, on=["entity", "golden_id"], how="left")
    frames = [
        new_split.with_columns(change=pl.when(pl.col("other_id").is_null()).then(pl.lit("new")).otherwise(pl.lit("split"))),
        changed.select("entity", "golden_id").with_columns(change=pl.lit("changed"), other_id=pl.lit(None, pl.String)),
        merged.with_columns(change=pl.lit("merged")),
    ]
    return pl.concat([f.select(list(SCHEMA)).cast(SCHEMA) for f in frames]).sort("entity", "change", "golden_id")


def counts(delta: pl.DataFrame) -> dict[str, int]:
    """{"contact_new": 3, "company_changed": 1, …} for the run's summary and journal."""
    return {f"{e}_{c}": n for e, c, n in delta.group_by("entity", "change").len().iter_rows()}
