"""merge.delta: what a run changed in the golden records."""

from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLES

from crmtool.cli import main
from crmtool.merge.delta import compare, counts, snapshot
from crmtool.merge.stage import merge_workspace
from crmtool.workspace import Workspace


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("delta")
    shutil.copytree(SAMPLES, root / "samples")
    db = root / "ws.duckdb"
    assert main(["run", str(root / "samples"), "--db", str(db), "--out", str(root / "out"), "--quiet",
                 "--no-report"]) == 0
    return db


@pytest.fixture
def ws(built, tmp_path):
    shutil.copy(built, tmp_path / "ws.duckdb")
    with Workspace.open(tmp_path / "ws.duckdb", create=False) as workspace:
        yield workspace


def two_clusters(ws) -> tuple[str, str]:
    """The contact clusters with the most members: the first has several records."""
    rows = ws.con.execute("SELECT cluster_id FROM clusters WHERE entity = 'contact' GROUP BY 1 "
                          "ORDER BY count(*) DESC, 1 LIMIT 2").fetchall()
    return rows[0][0], rows[1][0]


def test_nothing_changed_gives_an_empty_delta(ws):
    before = snapshot(ws)
    merge_workspace(ws)
    assert compare(ws, before).is_empty()


def test_two_golden_records_joined_show_as_merged_into_the_one_that_stays(ws):
    keep, gone = two_clusters(ws)
    before = snapshot(ws)
    ws.con.execute("UPDATE clusters SET cluster_id = ? WHERE cluster_id = ?", [keep, gone])
    merge_workspace(ws)
    rows = {(r["golden_id"], r["change"], r["other_id"]) for r in compare(ws, before).iter_rows(named=True)}
    assert rows == {(keep, "changed", None), (gone, "merged", keep)}


def test_records_taken_out_of_a_golden_record_show_as_split_from_it(ws):
    big, _ = two_clusters(ws)
    member = ws.scalar("SELECT max(record_id) FROM clusters WHERE cluster_id = ?", [big])
    before = snapshot(ws)
    ws.con.execute("UPDATE clusters SET cluster_id = 'CT-SPLIT' WHERE record_id = ? AND entity = 'contact'", [member])
    merge_workspace(ws)
    delta = compare(ws, before)
    rows = {(r["golden_id"], r["change"], r["other_id"]) for r in delta.iter_rows(named=True)}
    assert rows == {("CT-SPLIT", "split", big), (big, "changed", None)}
    assert counts(delta) == {"contact_split": 1, "contact_changed": 1}
