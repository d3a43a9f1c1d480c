"""The workspace file: schema versions, forward migrations, refusing what is not ours."""

import subprocess
import sys

import duckdb
import pytest

from crmtool.errors import WorkspaceError
from crmtool.workspace import MIGRATIONS, SCHEMA_VERSION, Workspace, journaled, record_id


def tables(path):
    con = duckdb.connect(str(path))
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()


def test_new_workspace_has_the_current_schema(db):
    with Workspace.open(db) as ws:
        assert ws.schema_version() == SCHEMA_VERSION
    assert {"sources", "raw_records", "records", "runs", "clusters", "meta"} <= tables(db)


def test_old_workspace_is_migrated_forward_keeping_its_data(db):
    con = duckdb.connect(str(db))
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO runs (run_id, command, started_at, status) VALUES (7, 'load', now(), 'ok')")
    con.close()
    assert "clusters" not in tables(db)
    with Workspace.open(db) as ws:
        assert ws.schema_version() == SCHEMA_VERSION
        assert ws.scalar("SELECT command FROM runs WHERE run_id = 7") == "load"
    assert "clusters" in tables(db)


def test_newer_workspace_is_refused(db):
    with Workspace.open(db) as ws:
        ws.con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(WorkspaceError, match="newer crmtool"):
        with Workspace.open(db):
            pass


def test_foreign_duckdb_file_is_refused(db):
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE customers (id INT)")
    con.close()
    with pytest.raises(WorkspaceError, match="not a crmtool workspace"):
        with Workspace.open(db):
            pass


def test_missing_workspace_for_read_commands(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace here"):
        with Workspace.open(tmp_path / "none.duckdb", create=False):
            pass


def test_workspace_locked_by_another_process(db):
    with Workspace.open(db):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(WorkspaceError, match="in use by another"):
            with Workspace.open(db):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_run_journal_records_success_and_failure(ws):
    with journaled(ws, "load", {"paths": ["a"]}) as counts:
        counts["records_loaded"] = 3
    with pytest.raises(RuntimeError):
        with journaled(ws, "run", {}):
            raise RuntimeError("disk full")
    rows = ws.fetch_dicts("SELECT command, status, counts, message FROM runs ORDER BY run_id")
    assert [(r["command"], r["status"]) for r in rows] == [("load", "ok"), ("run", "failed")]
    assert '"records_loaded": 3' in rows[0]["counts"]
    assert rows[1]["message"] == "disk full"


def test_record_ids_encode_source_and_row():
    assert record_id(1, 1) == (1 << 32) + 1
    assert record_id(2, 5) >> 32 == 2 and record_id(2, 5) & 0xFFFFFFFF == 5


def test_duckdb_memory_cap_and_its_errors(cli, tmp_path, monkeypatch):
    from crmtool.workspace import duckdb_memory

    monkeypatch.delenv("CRMTOOL_DUCKDB_MEMORY", raising=False)
    assert float(duckdb_memory().removesuffix("GB")) >= 2.5
    monkeypatch.setenv("CRMTOOL_DUCKDB_MEMORY", "lots")
    result = cli("load", tmp_path, "--db", tmp_path / "a.duckdb")
    assert result.code == 2 and "CRMTOOL_DUCKDB_MEMORY" in result.err
    monkeypatch.setenv("CRMTOOL_DUCKDB_MEMORY", "3GB")
    with Workspace.open(tmp_path / "b.duckdb") as ws:
        assert ws.scalar("SELECT current_setting('memory_limit')").startswith(("2.7", "2.8", "3"))
