"""`crmtool unmerge` and `crmtool explain`: a split is stored as verdicts and survives re-runs."""

from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from typer.testing import CliRunner

    from crmtool.cli import app

    folder = tmp_path_factory.mktemp("undo")
    db = folder / "ws.duckdb"
    result = CliRunner().invoke(app, ["run", str(SAMPLES), "--db", str(db), "--out", str(folder / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(built, tmp_path):
    copy = tmp_path / "ws.duckdb"
    shutil.copy(built, copy)
    return copy


def lebedev(cli, db) -> str:
    """The golden contact holding Лебедев Константин's records (five files in the samples)."""
    from crmtool.workspace import Workspace

    with Workspace.open(db, create=False) as ws:
        return ws.scalar("SELECT golden_id FROM contacts WHERE last_name = 'Лебедев' ORDER BY records DESC LIMIT 1")


def clusters_of_outlook_row(db) -> tuple[str, str]:
    from crmtool.workspace import Workspace

    with Workspace.open(db, create=False) as ws:
        rows = ws.fetch_dicts(
            "SELECT c.cluster_id, s.name FROM clusters c JOIN records r USING (record_id) JOIN sources s "
            "ON s.source_id = r.source_id WHERE c.entity = 'contact' AND ((s.name = 'outlook_en.csv' AND r.source_row = 3)"
            " OR (s.name = 'manager_ivanova.xlsx' AND r.source_row = 10))")
        by = {r["name"]: r["cluster_id"] for r in rows}
        return by["outlook_en.csv"], by["manager_ivanova.xlsx"]


def test_explain_names_members_evidence_and_provenance(cli, db):
    golden = lebedev(cli, db)
    result = cli("explain", golden, "--db", db, "--json")
    assert result.code == 0
    info = result.json()
    assert info["entity"] == "contact" and len(info["members"]) >= 4
    assert {"file", "row", "name"} <= set(info["members"][0])
    assert info["pairs"] and all(p["decision"] in ("auto", "review", "reject") for p in info["pairs"])
    chosen = {p["field"]: p for p in info["provenance"] if p["chosen"]}
    assert chosen["last_name"]["value"] == "Лебедев" and chosen["last_name"]["from"]
    assert any(link["via"] for link in info["links"])
    text = cli("explain", golden, "--db", db)
    assert text.code == 0 and "field provenance" in text.out


def test_detaching_a_record_survives_a_rerun(cli, db):
    golden = lebedev(cli, db)
    outlook, excel = clusters_of_outlook_row(db)
    assert outlook == excel == golden
    result = cli("unmerge", golden, "--record", "outlook_en.csv:3", "--db", db, "--json")
    assert result.code == 0, result.err
    assert golden in result.json()["now"] and len(result.json()["now"]) == 2
    outlook, excel = clusters_of_outlook_row(db)
    assert outlook != excel and excel == golden  # the rest keeps the golden id
    assert cli("match", "--db", db, "--quiet").code == 0  # blocking and scoring from scratch
    outlook, excel = clusters_of_outlook_row(db)
    assert outlook != excel
    why = cli("explain", golden, "--db", db, "--json").json()
    assert any(v["verdict"] == "different" and v["source"] == f"unmerge {golden}" for v in why["verdicts"])


def test_splitting_whole_and_companies(cli, db):
    from crmtool.workspace import Workspace

    golden = lebedev(cli, db)
    result = cli("unmerge", golden, "--db", db, "--json")
    assert result.code == 0 and len(result.json()["now"]) == result.json()["records"]
    with Workspace.open(db, create=False) as ws:
        company = ws.scalar("SELECT golden_id FROM companies ORDER BY records DESC, golden_id LIMIT 1")
        contacts_before = ws.scalar("SELECT count(*) FROM contacts")
        size = ws.scalar("SELECT records FROM companies WHERE golden_id = ?", [company])
    result = cli("unmerge", company, "--db", db, "--json")
    assert result.code == 0 and len(result.json()["now"]) == size
    with Workspace.open(db, create=False) as ws:  # a company's split leaves its people alone
        assert ws.scalar("SELECT count(*) FROM contacts") == contacts_before


@pytest.mark.parametrize("args, message", [
    (["CT-NOSUCH"], "no golden record"),
    (["{golden}", "--record", "nowhere.csv:1"], "no such source row"),
    (["{golden}", "--record", "12x"], "FILE:ROW"),
])
def test_bad_unmerge_requests_exit_2(cli, db, args, message):
    golden = lebedev(cli, db)
    result = cli("unmerge", *[a.format(golden=golden) for a in args], "--db", db)
    assert result.code == 2 and message in result.err
