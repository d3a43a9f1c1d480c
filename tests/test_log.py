"""`crmtool log`: the run journal newest first, filters, JSON, interrupted runs; and the
journal never keeps a secret a command passed in its args."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from builders import write_csv

from crmtool.commands.log import compact_counts
from crmtool.lock import lock_path
from crmtool.workspace import Workspace, journaled, scrub_args


def journal(db, command, args=None, counts=None, fail=None):
    with Workspace.open(db) as ws:
        try:
            with journaled(ws, command, args or {}) as c:
                c.update(counts or {})
                if fail:
                    raise RuntimeError(fail)
        except RuntimeError:
            pass


def test_log_after_real_commands(cli, tmp_path, db):
    src = write_csv(tmp_path / "a.csv", [["ФИО", "E-mail"], ["Иванов Иван", "i@x.ru"], ["Петров Пётр", "p@x.ru"]])
    assert cli("load", src, "--db", db, "--quiet").code == 0
    assert cli("match", "--db", db, "--quiet").code == 0
    result = cli("log", "--db", db, "--json")
    assert result.code == 0, result.err
    runs = result.json()
    assert [r["command"] for r in runs][:2] == ["match", "load"]  # newest first (match normalizes first)
    load = next(r for r in runs if r["command"] == "load")
    assert load["status"] == load["state"] == "ok" and load["args"] == {"paths": [str(src)]}
    assert load["counts"]["records_loaded"] == 2 and load["seconds"] >= 0 and load["user"]
    assert set(load) >= {"run_id", "command", "args", "user", "started_at", "finished_at", "status", "counts",
                         "message"}
    table = cli("log", "--db", db)
    assert table.code == 0
    for text in ("run", "command", "started", "status", "counts", "load", "match", "records_loaded 2"):
        assert text in table.out, table.out


def test_filters_limit_and_failures(cli, db):
    journal(db, "load", counts={"records_loaded": 1204, "files_loaded": 2, "files_failed": 0})
    journal(db, "merge", counts={"contacts": 10})
    journal(db, "push", {"target": "bitrix24"}, fail="portal answered 401: check the webhook")
    journal(db, "merge", counts={"contacts": 12})
    with Workspace.open(db) as ws:  # killed before it could finish: no finish_run
        ws.start_run("run", {"sources": ["dumps"]})

    runs = cli("log", "--db", db, "--json").json()
    assert [r["command"] for r in runs] == ["run", "merge", "push", "merge", "load"]
    assert [r["run_id"] for r in runs] == [5, 4, 3, 2, 1]
    assert runs[0]["status"] == "running" and runs[0]["state"] == "interrupted" and runs[0]["seconds"] is None
    assert runs[2]["state"] == "failed" and runs[2]["message"] == "portal answered 401: check the webhook"

    assert [r["run_id"] for r in cli("log", "--db", db, "--json", "--limit", "2").json()] == [5, 4]
    assert [r["run_id"] for r in cli("log", "--db", db, "--json", "--command", "merge").json()] == [4, 2]
    assert [r["run_id"] for r in cli("log", "--db", db, "--json", "--failed").json()] == [5, 3]
    assert cli("log", "--db", db, "--json", "--failed", "--command", "merge").json() == []

    table = cli("log", "--db", db, "--failed")
    assert "interrupted" in table.out and "failed" in table.out and "portal answered 401" in table.out
    assert "merge" not in table.out
    full = cli("log", "--db", db, "-n", "10").out
    assert "records_loaded 1,204 · files_loaded 2" in full and "files_failed" not in full  # zeros left out

    none = cli("log", "--db", db, "--command", "mrege")
    assert none.code == 0 and "no runs of 'mrege'" in none.err and "load, merge, push, run" in none.err
    assert cli("log", "--db", db, "--limit", "0").code == 2


def test_log_on_a_missing_workspace(cli, tmp_path):
    result = cli("log", "--db", tmp_path / "none.duckdb")
    assert result.code == 2 and "no workspace here" in result.err
    assert not (tmp_path / "none.duckdb").exists()


def test_log_while_a_run_holds_the_workspace_names_it(cli, tmp_path, db):
    journal(db, "load")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from crmtool.lock import locked_workspace\n"
         "with locked_workspace(sys.argv[1], 'merge', create=False):\n"
         "    print('locked', flush=True); time.sleep(60)\n", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = cli("log", "--db", db)
        assert result.code == 2 and "in use by another crmtool process" in result.err
        assert f"now: run pid {holder.pid}" in result.err and "merge, started" in result.err
    finally:
        holder.kill()
        holder.communicate()
    assert lock_path(db).exists()  # killed: left behind, taken over by the next run (test_lock.py)


def test_compact_counts():
    assert compact_counts({"run_id": 3, "files": 2, "records": 12345, "errors": 0, "share": 0.25,
                           "outputs": {"contacts.csv": 10, "companies.csv": 0}, "dry_run": False}) == (
        "files 2 · records 12,345 · share 0.25 · outputs.contacts.csv 10")
    many = {f"k{i}": i + 1 for i in range(12)}
    assert compact_counts(many).endswith("k7 8 · +4 more")
    assert compact_counts(None) == "" and compact_counts({}) == ""


# --- secrets never reach the journal -------------------------------------------------------------

WEBHOOK = "https://acme.bitrix24.ru/rest/1/q8w7e6r5t4y3u2i1/"


def test_scrub_args():
    args = {"target": "bitrix24", "portal": WEBHOOK, "secret_env": "B24", "token": "t0k3n", "Webhook_URL": "x",
            "api_key": "k", "password": "p", "dry_run": True, "rate": 2.0,
            "notes": [f"called {WEBHOOK}crm.contact.add.json", "bitrix24:acme.bitrix24.ru",
                      "acme.bitrix24.ru/rest/7/q8w7e6r5t4y3u2i1"],
            "nested": {"client_secret": "s", "url": "https://user@acme.bitrix24.ru/rest/12/abc/", "n": 1}}
    assert scrub_args(args) == {
        "target": "bitrix24", "portal": "acme.bitrix24.ru", "dry_run": True, "rate": 2.0,
        "notes": ["called acme.bitrix24.ru", "bitrix24:acme.bitrix24.ru", "acme.bitrix24.ru"],
        "nested": {"url": "acme.bitrix24.ru", "n": 1}}


def test_the_journal_keeps_no_secret(db):
    journal(db, "push", {"portal": WEBHOOK, "secret_env": "CRMTOOL_BITRIX24_WEBHOOK", "token": "t0k3n-abc",
                         "mode": "merge"})
    with Workspace.open(db) as ws:
        stored = ws.scalar("SELECT args FROM runs")
    assert json.loads(stored) == {"portal": "acme.bitrix24.ru", "mode": "merge"}
    raw = db.read_bytes()
    assert b"q8w7e6r5t4y3u2i1" not in raw and b"t0k3n-abc" not in raw


@pytest.mark.parametrize("value", ["crm.duckdb", "dumps/**/*.csv", "https://acme.amocrm.ru", "bitrix24",
                                   "exports/rest/2024/clients.csv", "/srv/rest/1/a.csv"])
def test_scrub_leaves_ordinary_values(value):
    assert scrub_args({"x": value, "list": [value]}) == {"x": value, "list": [value]}


def test_a_profile_that_has_to_normalize_first_journals_it(cli, tmp_path, db):
    source = write_csv(tmp_path / "a.csv", [["ФИО", "Телефон"], ["Иванов Иван", "+7 916 123-45-67"]])
    assert cli("load", source, "--db", db, "--quiet").code == 0
    assert cli("profile", "--db", db, "--json").code == 0
    assert cli("profile", "--db", db, "--json").code == 0        # up to date: nothing to journal
    rows = cli("log", "--db", db, "--json").json()
    normalizes = [r for r in rows if r["command"] == "normalize"]
    assert len(normalizes) == 1 and normalizes[0]["args"]["by"] == "profile"
