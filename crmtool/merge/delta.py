"""What a run changed in the golden records: new, changed, merged into another, split off.

Taken around the merge stage: `snapshot` before (a hash of every golden row and which
cluster each record was in), `compare` after. A nightly run hands the CRM team only
the delta; a run with nothing new gives an empty one.

The snapshot stays in the workspace connection as two temp tables and the comparison
runs in DuckDB: only the delta itself becomes a frame (copying every golden row's hash
and every record's cluster into polars, twice, cost more than the comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

import polars as pl

from crmtool.workspace import Workspace

_ROWS = """
SELECT 'contact' AS entity, golden_id, hash(c) AS row_hash FROM contacts c
UNION ALL
SELECT 'company', golden_id, hash(c) FROM companies c
"""
_MEMBERS = "SELECT entity, record_id, cluster_id FROM clusters"
SCHEMA = {"entity": pl.String, "golden_id": pl.String, "change": pl.String, "other_id": pl.String}
_NAMES = count(1)


@dataclass(frozen=True)
class Snapshot:
    rows: str      # temp table: entity, golden_id, row_hash
    members: str   # temp table: entity, record_id, cluster_id


def snapshot(ws: Workspace) -> Snapshot:
    """The golden rows' hashes and the clusters as they are now, kept for one `compare`."""
    n = next(_NAMES)
    taken = Snapshot(f"_snapshot_rows_{n}", f"_snapshot_members_{n}")
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {taken.rows} AS {_ROWS}")
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {taken.members} AS {_MEMBERS}")
    return taken


def compare(ws: Workspace, before: Snapshot) -> pl.DataFrame:
    """One row per golden record that changed: entity, golden_id, change, other_id; the
    snapshot's tables are dropped afterwards.

    change: `new` (a golden id that was not there), `changed` (its values differ),
    `merged` (an old golden id that is gone, its records now in `other_id` — the one most of
    them went to, the smallest id among equals), `split` (records of `other_id` — the
    smallest id when several — now form this new golden record)."""
    query = f"""
        WITH after AS ({_ROWS}),
        joined AS (
            SELECT a.entity, a.golden_id, a.row_hash, b.row_hash AS row_hash_old
            FROM after a LEFT JOIN {before.rows} b USING (entity, golden_id)
        ),
        gone AS (
            SELECT entity, golden_id FROM {before.rows}
            ANTI JOIN after USING (entity, golden_id)
        ),
        moves AS (
            SELECT b.entity, b.cluster_id AS old_id, a.cluster_id AS new_id
            FROM {before.members} b JOIN clusters a ON a.entity = b.entity AND a.record_id = b.record_id
            WHERE a.cluster_id <> b.cluster_id
        ),
        went AS (
            SELECT m.entity, m.old_id, m.new_id, count(*) AS n
            FROM moves m SEMI JOIN gone g ON g.entity = m.entity AND g.golden_id = m.old_id
            GROUP BY ALL
        ),
        merged AS (
            SELECT entity, old_id AS golden_id, 'merged' AS change,
                   first(new_id ORDER BY n DESC, new_id) AS other_id
            FROM went GROUP BY entity, old_id
        ),
        split_from AS (
            SELECT m.entity, m.new_id AS golden_id, min(m.old_id) AS other_id
            FROM moves m ANTI JOIN gone g ON g.entity = m.entity AND g.golden_id = m.old_id
            GROUP BY m.entity, m.new_id
        )
        SELECT j.entity, j.golden_id, CASE WHEN s.other_id IS NULL THEN 'new' ELSE 'split' END AS change,
               s.other_id
        FROM joined j LEFT JOIN split_from s USING (entity, golden_id)
        WHERE j.row_hash_old IS NULL
        UNION ALL
        SELECT entity, golden_id, 'changed', NULL FROM joined
        WHERE row_hash_old IS NOT NULL AND row_hash <> row_hash_old
        UNION ALL
        SELECT entity, golden_id, change, other_id FROM merged
        ORDER BY entity, change, golden_id
    """
    try:
        return ws.con.sql(query).pl().cast(SCHEMA)
    finally:
        ws.con.execute(f"DROP TABLE IF EXISTS {before.rows}")
        ws.con.execute(f"DROP TABLE IF EXISTS {before.members}")


def counts(delta: pl.DataFrame) -> dict[str, int]:
    """{"contact_new": 3, "company_changed": 1, …} for the run's summary and journal."""
    return {f"{e}_{c}": n for e, c, n in delta.group_by("entity", "change").len().iter_rows()}
