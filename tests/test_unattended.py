"""`crmtool run` from cron: config-driven, locked, incremental, journaled, pushing when told to."""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLES
from fakes.bitrix24 import FakeBitrix24
from pushing import write_people

from crmtool.cli import main
from crmtool.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


def crmtool(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crmtool", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["golden_id"]: r for r in csv.DictReader(fh)}


def wait_for(predicate, seconds: float = 60) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def dumps(tmp_path) -> Path:
    folder = tmp_path / "dumps"
    shutil.copytree(SAMPLES, folder)
    return folder


def test_a_second_run_while_one_is_running_exits_2_and_names_the_holder(tmp_path):
    source = write_people(tmp_path / "people.csv", 20_000)
    db = tmp_path / "ws.duckdb"
    first = crmtool("run", source, "--db", db, "--out", tmp_path / "out", "--quiet", "--no-report")
    try:
        assert wait_for(lambda: Path(str(db) + ".lock").exists()), first.communicate()
        second = crmtool("run", source, "--db", db, "--out", tmp_path / "out2", "--quiet")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2
        assert "locked by run pid" in err and str(first.pid) in err
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert not Path(str(db) + ".lock").exists()


def test_a_killed_run_then_a_normal_one_gives_what_a_clean_run_gives(tmp_path, dumps):
    source = write_people(dumps / "people.csv", 20_000)
    assert source.exists()
    db = tmp_path / "ws.duckdb"
    victim = crmtool("run", dumps, "--db", db, "--out", tmp_path / "out", "--quiet", "--no-report")
    assert wait_for(lambda: Path(str(db) + ".lock").exists())
    time.sleep(2.0)                                     # well into loading or normalizing
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    again = crmtool("run", dumps, "--db", db, "--out", tmp_path / "out", "--no-report")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "stale" in err.lower() or not Path(str(db) + ".lock").exists()
    clean = tmp_path / "clean"
    assert main(["run", str(dumps), "--db", str(clean / "ws.duckdb"), "--out", str(clean / "out"), "--quiet",
                 "--no-report"]) == 0
    assert rows(tmp_path / "out" / "contacts.csv") == rows(clean / "out" / "contacts.csv")
    assert rows(tmp_path / "out" / "companies.csv") == rows(clean / "out" / "companies.csv")
    with Workspace.open(db, create=False) as ws:
        statuses = [r[0] for r in ws.con.execute("SELECT status FROM runs ORDER BY run_id").fetchall()]
    assert statuses[-1] == "ok" and "running" in statuses[:-1]   # the killed one never finished


def test_adding_one_file_changes_only_the_golden_records_it_touches(tmp_path, dumps, cli):
    db, out = tmp_path / "ws.duckdb", tmp_path / "out"
    assert cli("run", dumps, "--db", db, "--out", out, "--quiet", "--no-report").code == 0
    before = rows(out / "contacts.csv")
    with Workspace.open(db, create=False) as ws:
        gid, phone = ws.one("SELECT golden_id, phones[1].value FROM contacts WHERE last_name = 'Смирнова'")
    (dumps / "new_manager.csv").write_text(
        "ФИО;Телефон;E-mail;Должность\n"
        f"Смирнова Мария Александровна;{phone};maria.smirnova@example.org;Главный бухгалтер\n"
        "Зайцев Тимофей Ильич;+7 912 555-01-02;zaitsev@example.org;Снабженец\n", encoding="utf-8")
    result = cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report")
    assert result.code == 0
    after = rows(out / "contacts.csv")
    with open(out / "delta.csv", encoding="utf-8") as fh:
        delta = list(csv.DictReader(fh))
    changed = {(d["entity"], d["golden_id"], d["change"]) for d in delta}
    new_ids = set(after) - set(before)
    assert ("contact", gid, "changed") in changed
    assert len(new_ids) == 1 and ("contact", next(iter(new_ids)), "new") in changed
    assert {d["golden_id"] for d in delta if d["entity"] == "contact"} == {gid} | new_ids
    assert "maria.smirnova@example.org" in after[gid]["emails"]
    untouched = set(before) - {gid}
    assert all(after[g] == before[g] for g in untouched)
    assert result.json()["delta_contact_changed"] == 1 and result.json()["delta_contact_new"] == 1
    # only the new file was normalized and only the blocks its records fall in were matched
    assert result.json()["records_normalized"] == 2
    assert result.json()["incremental_new_records"] == 2
    assert 0 < result.json()["incremental_new_pairs"] < result.json()["candidate_pairs"]


def test_a_full_run_after_an_incremental_one_agrees_on_the_samples(tmp_path, dumps, cli):
    db, out = tmp_path / "ws.duckdb", tmp_path / "out"
    assert cli("run", dumps, "--db", db, "--out", out, "--quiet", "--no-report").code == 0
    (dumps / "extra.csv").write_text("ФИО;Телефон\nСмирнова Мария;+7 926 210-11-22\nНовиков Павел;+7 900 100-20-30\n",
                                     encoding="utf-8")
    assert cli("run", dumps, "--db", db, "--out", out, "--quiet", "--no-report").code == 0
    incremental = rows(out / "contacts.csv")
    result = cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report", "--full")
    assert result.code == 0 and result.json()["up_to_date"] is False
    assert "incremental_new_records" not in result.json()
    assert rows(out / "contacts.csv") == incremental


def test_a_run_with_nothing_new_skips_the_stages_and_reports_an_empty_delta(tmp_path, dumps, cli):
    db, out = tmp_path / "ws.duckdb", tmp_path / "out"
    assert cli("run", dumps, "--db", db, "--out", out, "--quiet", "--no-report").code == 0
    result = cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report")
    assert result.code == 0 and result.json()["up_to_date"] is True
    assert set(result.json()["seconds"]) == {"load", "export"}
    assert (out / "delta.csv").read_text(encoding="utf-8").strip() == "entity,golden_id,change,other_id"
    with Workspace.open(db, create=False) as ws:   # a verdict since makes the next run match again
        ws.con.execute("INSERT INTO decisions SELECT min(record_id), max(record_id), 'different', 'me', now(), "
                       "'test', 'contact' FROM records")
    assert cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report").json()["up_to_date"] is False


def test_quiet_run_prints_nothing_and_the_log_keeps_what_happened(tmp_path, dumps, cli):
    log = tmp_path / "cron.log"
    result = cli("run", dumps, "--db", tmp_path / "ws.duckdb", "--out", tmp_path / "out", "--quiet",
                 "--log", log, "--no-report")
    assert result.code == 0 and result.out == "" and result.err == ""
    text = log.read_text(encoding="utf-8")
    assert "INFO loaded" in text and "golden contacts" in text


def test_run_from_a_config_writes_its_exports_and_report_and_pushes(tmp_path, dumps, cli, monkeypatch):
    with FakeBitrix24(burst=1000, drain_per_s=1000.0) as portal:
        monkeypatch.setenv("NIGHTLY_WEBHOOK", portal.webhook_url)
        (tmp_path / "crmtool.toml").write_text(
            '[run]\nsources = ["dumps"]\nout = "out"\ndb = "ws.duckdb"\n'
            '[match]\nupper = 0.97\n'
            '[export]\ntargets = ["vcard", "amocrm"]\n'
            '[push]\ntarget = "bitrix24"\nsecret_env = "NIGHTLY_WEBHOOK"\nrate = 1000\nburst = 1000\n',
            encoding="utf-8")
        result = cli("run", "--config", tmp_path / "crmtool.toml", "--json")
        assert result.code == 0, result.err
        report = result.json()
        assert (tmp_path / "out" / "contacts.vcf").exists() and (tmp_path / "out" / "amocrm_contacts.csv").exists()
        assert (tmp_path / "out" / "report.html").exists()
        assert report["push"]["counts"]["contact"]["created"] == len(portal.contacts) > 0
        again = cli("run", "--config", tmp_path / "crmtool.toml", "--json").json()
        assert again["push"]["counts"]["contact"]["skipped"] == len(portal.contacts)
        assert not again["push"]["counts"]["contact"].get("created")
        code = portal.webhook_url.rstrip("/").rsplit("/", 1)[1]
    assert code.encode() not in (tmp_path / "ws.duckdb").read_bytes()


def test_an_invalid_config_names_the_key_and_exits_2(tmp_path, cli):
    (tmp_path / "crmtool.toml").write_text('[match]\nupper = "high"\n', encoding="utf-8")
    result = cli("run", "--config", tmp_path / "crmtool.toml")
    assert result.code == 2 and "[match] upper" in result.err


def test_pairs_decided_with_other_thresholds_are_matched_again_in_full(tmp_path, dumps, cli):
    db, out = tmp_path / "ws.duckdb", tmp_path / "out"
    assert cli("run", dumps, "--db", db, "--out", out, "--quiet", "--no-report").code == 0
    assert cli("match", "--db", db, "--upper", "0.99", "--quiet").code == 0
    (dumps / "extra.csv").write_text("ФИО;Телефон\nНовиков Павел;+7 900 100-20-30\n", encoding="utf-8")
    result = cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report")
    assert result.code == 0 and "incremental_new_records" not in result.json()
    (dumps / "more.csv").write_text("ФИО;Телефон\nЗуев Олег;+7 900 100-20-31\n", encoding="utf-8")
    assert cli("run", dumps, "--db", db, "--out", out, "--json", "--no-report").json()["incremental_new_records"] == 1
