"""`crmtool push --target bitrix24` against the local portal of tests/fakes/bitrix24.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fakes.bitrix24 import FakeBitrix24
from pushing import build_people, build_samples, fresh_copy, golden_counts, push_once

from crmtool.push.transport import AuthFailure
from crmtool.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory):
    return build_samples(tmp_path_factory.mktemp("b24"))


@pytest.fixture(scope="module")
def people_db(tmp_path_factory):
    return build_people(tmp_path_factory.mktemp("people"), 300)


@pytest.fixture
def db(samples_db, tmp_path):
    return fresh_copy(samples_db, tmp_path)


@pytest.fixture
def portal():
    with FakeBitrix24(burst=1000, drain_per_s=1000.0) as server:
        yield server


def origin_ids(cards: dict) -> Counter:
    return Counter(card.get("ORIGIN_ID") for card in cards.values())


def test_companies_with_requisites_then_contacts_linked_and_marked(db, portal):
    companies, contacts = golden_counts(db)
    summary, entries = push_once(db, "bitrix24", portal.webhook_url)
    assert not summary.rejected
    assert summary.counts["company"]["created"] == companies == len(portal.companies)
    assert summary.counts["contact"]["created"] == contacts == len(portal.contacts)
    assert set(origin_ids(portal.contacts).values()) == {1}
    assert set(origin_ids(portal.contacts)) == set(entries["contact"])
    assert {c["ORIGINATOR_ID"] for c in portal.contacts.values()} == {"crmtool"}
    # every batch is one request of at most 50 commands, and the adds went in batches
    batches = [r for r in portal.requests if r.rest_method == "batch"]
    assert batches and max(r.n_commands for r in batches) <= 50
    # ИНН and КПП went to requisites of the right companies
    with_inn = [r for r in portal.requisites.values() if r.get("RQ_INN")]
    assert with_inn and all(int(r["ENTITY_ID"]) in portal.companies for r in with_inn)
    # contacts carry their companies and typed phones
    linked = [cid for cid, ks in portal.contact_companies.items() if ks]
    assert linked
    phone_types = {p["VALUE_TYPE"] for c in portal.contacts.values() for p in c.get("PHONE", [])}
    assert {"MOBILE", "WORK"} <= phone_types
    assert all(p["VALUE"].startswith("+") for c in portal.contacts.values() for p in c.get("PHONE", []))


def test_a_second_push_sends_nothing_and_a_changed_record_is_updated_alone(db, portal):
    push_once(db, "bitrix24", portal.webhook_url)
    writes = len(portal.requests)
    again, _ = push_once(db, "bitrix24", portal.webhook_url)
    _, contacts = golden_counts(db)
    assert again.counts["contact"]["skipped"] == contacts
    assert len(portal.requests) == writes, "nothing changed: not a single request"
    with Workspace.open(db, create=False) as ws:
        gid = ws.scalar("SELECT golden_id FROM contacts WHERE last_name = 'Смирнова' LIMIT 1")
        ws.con.execute("UPDATE contacts SET job_title = 'Финансовый директор' WHERE golden_id = ?", [gid])
    third, entries = push_once(db, "bitrix24", portal.webhook_url)
    assert third.counts["contact"]["updated"] == 1 and third.counts["contact"]["skipped"] == contacts - 1
    card = portal.contacts[int(entries["contact"][gid].remote_id)]
    assert card["POST"] == "Финансовый директор"
    assert len(portal.contacts) == contacts


def _our_smirnova(db):
    with Workspace.open(db, create=False) as ws:
        return ws.one("SELECT last_name, first_name, phones[1].value, golden_id FROM contacts "
                      "WHERE last_name = 'Смирнова' LIMIT 1")


def test_the_portals_own_card_is_updated_in_merge_mode_not_duplicated(db, portal):
    last, first, phone, gid = _our_smirnova(db)
    digits = phone.lstrip("+")
    own = portal.add_contact(LAST_NAME=last, NAME=first, COMMENTS="карточка менеджера",
                             PHONE=[{"VALUE": f"8 ({digits[1:4]}) {digits[4:7]}-{digits[7:9]}-{digits[9:]}",
                                     "VALUE_TYPE": "WORK"}])
    # a switchboard card: same number, nobody's name
    portal.add_contact(NAME="Ресепшн", PHONE=[{"VALUE": phone, "VALUE_TYPE": "WORK"}])
    _, contacts = golden_counts(db)
    summary, entries = push_once(db, "bitrix24", portal.webhook_url)
    assert summary.counts["contact"]["matched"] == 1
    assert entries["contact"][gid].remote_id == str(own) and entries["contact"][gid].state == "matched"
    assert len(portal.contacts) == contacts + 1          # ours + the switchboard card
    card = portal.contacts[own]
    assert card["COMMENTS"] == "карточка менеджера"      # the portal's value stays
    assert len(card["PHONE"]) >= 1 and card.get("EMAIL")  # our e-mails were added


def test_skip_mode_leaves_the_portals_card_alone(db, portal):
    last, first, phone, gid = _our_smirnova(db)
    own = portal.add_contact(LAST_NAME=last, NAME=first, PHONE=[{"VALUE": phone, "VALUE_TYPE": "WORK"}])
    summary, entries = push_once(db, "bitrix24", portal.webhook_url, mode="skip")
    assert summary.counts["contact"]["existing"] == 1
    assert entries["contact"][gid].state == "existing"
    assert not portal.contacts[own].get("EMAIL")


def test_rate_limit_answers_are_waited_out(db):
    with FakeBitrix24(burst=3, drain_per_s=20.0) as portal:
        summary, _ = push_once(db, "bitrix24", portal.webhook_url)
        assert any(r.status == 503 for r in portal.requests)
        companies, contacts = golden_counts(db)
        assert (len(portal.companies), len(portal.contacts)) == (companies, contacts)
        assert summary.retries > 0


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_no_answer_after_the_adds_landed_creates_nothing_twice(db, portal, fault):
    # the first batch of adds (companies) lands, its answer is lost
    if fault == "500":
        portal.fail_next(500, "INTERNAL_SERVER_ERROR", "Internal server error", after_commit=True)
    else:
        portal.drop_next(after_commit=True)
    portal.presets  # noqa: B018 - the preset list is read before the first add
    summary, _ = push_once(db, "bitrix24", portal.webhook_url)
    companies, contacts = golden_counts(db)
    assert (len(portal.companies), len(portal.contacts)) == (companies, contacts)
    assert set(origin_ids(portal.companies).values()) == {1}


def test_refused_records_are_listed_with_the_reason_and_the_rest_goes(db, portal, cli, monkeypatch):
    portal.validation(lambda method, fields: "Неверный формат e-mail"
                      if method == "crm.contact.add" and fields.get("LAST_NAME") == "Смирнова" else None)
    monkeypatch.setenv("CRMTOOL_BITRIX24_WEBHOOK", portal.webhook_url)
    result = cli("push", "--target", "bitrix24", "--db", db, "--json", "--rate", "1000", "--burst", "1000")
    assert result.code == 1
    report = result.json()
    assert report["rejected"] and all(r["reason"] == "Неверный формат e-mail" for r in report["rejected"])
    _, contacts = golden_counts(db)
    assert len(portal.contacts) == contacts - len(report["rejected"])
    assert "secretcode" not in result.out + result.err


def test_a_wrong_webhook_stops_at_once_without_showing_the_secret(db, portal, cli, monkeypatch):
    monkeypatch.setenv("CRMTOOL_BITRIX24_WEBHOOK", portal.webhook_url.replace("secretcode", "wrongcode"))
    result = cli("push", "--target", "bitrix24", "--db", db)
    assert result.code == 2
    assert "refused the credentials" in result.err and "wrongcode" not in result.err
    assert len(portal.requests) == 1 and not portal.companies


def test_an_expired_oauth_token_stops_at_once(db):
    with FakeBitrix24(oauth_tokens={"tok1"}, burst=1000, drain_per_s=1000.0) as portal:
        portal.expire_token("tok1")
        with pytest.raises(AuthFailure, match="expired_token"):
            push_once(db, "bitrix24", "tok1", portal=portal.base_url.removesuffix("/rest/"))


def test_dry_run_plans_without_sending(db, portal, cli, monkeypatch):
    monkeypatch.setenv("CRMTOOL_BITRIX24_WEBHOOK", portal.webhook_url)
    companies, contacts = golden_counts(db)
    result = cli("push", "--target", "bitrix24", "--db", db, "--dry-run", "--json")
    assert result.code == 0
    assert result.json()["counts"]["contact"]["create"] == contacts
    assert result.json()["counts"]["company"]["create"] == companies
    assert portal.requests == []


def test_secrets_never_reach_the_workspace(db, portal, cli, monkeypatch):
    monkeypatch.setenv("CRMTOOL_BITRIX24_WEBHOOK", portal.webhook_url)
    assert cli("push", "--target", "bitrix24", "--db", db, "--rate", "1000", "--burst", "1000").code == 0
    with Workspace.open(db, create=False) as ws:
        journal = ws.fetch_dicts("SELECT command, args, counts FROM runs WHERE command = 'push'")
    assert journal and "127.0.0.1" in journal[0]["counts"]   # the portal, by its host
    assert b"secretcode" not in Path(db).read_bytes()
    wal = Path(str(db) + ".wal")
    assert not wal.exists() or b"secretcode" not in wal.read_bytes()


def test_killed_mid_batch_the_next_push_creates_nothing_twice(people_db, tmp_path):
    db = fresh_copy(people_db, tmp_path)
    _, contacts = golden_counts(db)
    assert contacts == 300
    with FakeBitrix24(burst=1000, drain_per_s=1000.0) as portal:
        release = portal.hold_after_commits(120)     # the third batch of contacts, 20 adds in
        env = {**os.environ, "CRMTOOL_BITRIX24_WEBHOOK": portal.webhook_url}
        child = subprocess.Popen([sys.executable, "-m", "crmtool", "push", "--target", "bitrix24", "--db", str(db),
                                  "--rate", "1000", "--burst", "1000", "--quiet"], env=env, cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert portal.held.wait(60), "the push never reached the third batch"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        release.set()                                 # the portal finishes the batch nobody waits for
        with Workspace.open(db, create=False) as ws:
            states = dict(ws.con.execute("SELECT state, count(*) FROM push_ledger GROUP BY state").fetchall())
        assert states == {"created": 100, "pending": 50}
        summary, entries = push_once(db, "bitrix24", portal.webhook_url)
        assert summary.counts["contact"]["resumed"] == 50
        assert summary.counts["contact"]["created"] == 150
        assert len(portal.contacts) == 300
        assert set(origin_ids(portal.contacts).values()) == {1}
        assert {e.state for e in entries["contact"].values()} == {"created"}
