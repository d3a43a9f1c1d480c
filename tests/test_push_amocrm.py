"""`crmtool push --target amocrm` against the local amoCRM of tests/fakes/amocrm.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from fakes.amocrm import FakeAmoCRM
from pushing import build_people, build_samples, fresh_copy, golden_counts, push_once

from crmtool.push.targets import Limits
from crmtool.push.transport import AuthFailure, RetryPolicy
from crmtool.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent

TOKEN = "longlivedtoken"


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory):
    return build_samples(tmp_path_factory.mktemp("amo"))


@pytest.fixture
def db(samples_db, tmp_path):
    return fresh_copy(samples_db, tmp_path)


@pytest.fixture
def amo():
    with FakeAmoCRM(token=TOKEN, rate_per_s=1000) as server:
        yield server


def phones_of(card: dict) -> set[str]:
    return {v["value"] for f in card.get("custom_fields_values") or [] if f["field_code"] == "PHONE"
            for v in f["values"]}


def test_companies_then_contacts_with_links_and_a_second_run_sends_nothing(db, amo):
    companies, contacts = golden_counts(db)
    summary, entries = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    assert summary.counts["company"]["created"] == companies == len(amo.companies)
    assert summary.counts["contact"]["created"] == contacts == len(amo.contacts)
    assert not summary.rejected
    assert {e.remote_id for e in entries["contact"].values()} == {str(i) for i in amo.contacts}
    assert amo.links, "contacts are linked to their companies"
    assert all(c in amo.contacts and k in amo.companies for c, k in amo.links)
    phones = [p for card in amo.contacts.values() for p in phones_of(card)]
    assert any(p.startswith("+7") for p in phones)
    sent = len(amo.requests)
    again, _ = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    assert again.counts["contact"]["skipped"] == contacts and not again.counts["contact"]["created"]
    assert len(amo.contacts) == contacts
    assert all(r.method == "GET" for r in amo.requests[sent:]) or len(amo.requests) == sent


def test_an_existing_card_with_the_same_phone_and_name_is_updated_not_duplicated(db, amo):
    summary, _ = push_once(db, "amocrm", TOKEN, portal=amo.base_url, dry_run=True)
    # seed the portal with one of our people, under another phone format and without e-mail
    first, _ = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    card = next(c for c in amo.contacts.values() if c.get("last_name") and phones_of(c))
    seeded = amo.add_contact(name=card["name"], first_name=card["first_name"], last_name=card["last_name"],
                             custom_fields_values=[{"field_code": "PHONE", "values": [
                                 {"value": sorted(phones_of(card))[0], "enum_code": "WORK"}]}])
    fresh = FakeAmoCRM(token=TOKEN, rate_per_s=1000).start()
    try:
        fresh.add_contact(name=card["name"], first_name=card["first_name"], last_name=card["last_name"],
                          custom_fields_values=[{"field_code": "PHONE", "values": [
                              {"value": sorted(phones_of(card))[0], "enum_code": "WORK"}]}])
        before = len(fresh.contacts)
        summary, entries = push_once(db, "amocrm", TOKEN, portal=fresh.base_url)
        assert summary.counts["contact"]["matched"] == 1
        assert len(fresh.contacts) == before + summary.counts["contact"]["created"]
        assert first.counts["contact"]["created"] == summary.counts["contact"]["created"] + 1
    finally:
        fresh.stop()
    assert seeded


def test_a_validation_error_rejects_that_record_only(db, amo):
    amo.validation(lambda kind, entity: [{"code": "NotSupportedChoice", "path": "name",
                                          "detail": "The value you selected is not a valid choice."}]
                   if kind == "contacts" and "Смирнова" in (entity.get("name") or "") else None)
    summary, entries = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    rejected = [r for r in summary.rejected if r["entity"] == "contact"]
    assert rejected and all("Смирнова" in r["name"] and "valid choice" in r["reason"] for r in rejected)
    _, contacts = golden_counts(db)
    assert len(amo.contacts) == contacts - len(rejected)
    assert all(e.state != "pending" for e in entries["contact"].values())


def test_429_is_waited_out(db):
    with FakeAmoCRM(token=TOKEN, rate_per_s=3) as amo:
        limits = Limits(rate=1000.0, burst=1000, retry=RetryPolicy(attempts=8, base=0.3, cap=1.0))
        summary, _ = push_once(db, "amocrm", TOKEN, portal=amo.base_url, limits=limits)
        assert any(r.status == 429 for r in amo.requests)
        _, contacts = golden_counts(db)
        assert len(amo.contacts) == contacts and summary.retries > 0


def test_wrong_token_stops_at_once(db, amo):
    with pytest.raises(AuthFailure, match="refused the credentials"):
        push_once(db, "amocrm", "wrong-token", portal=amo.base_url)
    assert len(amo.requests) == 1 and not amo.contacts


def test_a_500_after_the_create_landed_creates_nothing_twice(db, amo):
    amo.fail_next(500, b"oops", after_commit=True, method="POST", path="/api/v4/contacts")
    summary, entries = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    _, contacts = golden_counts(db)
    assert len(amo.contacts) == contacts
    assert summary.counts["contact"]["created"] == contacts
    assert any("no clear answer" in w for w in summary.warnings)


def test_a_dropped_connection_after_commit_creates_nothing_twice(db, amo):
    amo.drop_next(after_commit=True, method="POST", path="/api/v4/companies")
    push_once(db, "amocrm", TOKEN, portal=amo.base_url)
    companies, _ = golden_counts(db)
    assert len(amo.companies) == companies


def test_killed_mid_request_the_next_push_creates_nothing_twice(tmp_path):
    db = build_people(tmp_path, 300)
    with FakeAmoCRM(token=TOKEN, rate_per_s=1000) as amo:
        release = amo.hold_after_commits(120)       # the third request of 50 contacts has landed
        env = {**os.environ, "CRMTOOL_AMOCRM_TOKEN": TOKEN}
        child = subprocess.Popen([sys.executable, "-m", "crmtool", "push", "--target", "amocrm", "--portal",
                                  amo.base_url, "--db", str(db), "--rate", "1000", "--burst", "1000", "--quiet"],
                                 env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(600):
            if len(amo.contacts) >= 150 or child.poll() is not None:
                break
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        release.set()
        with Workspace.open(db, create=False) as ws:
            states = dict(ws.con.execute("SELECT state, count(*) FROM push_ledger WHERE entity = 'contact' "
                                         "GROUP BY state").fetchall())
        assert states == {"created": 100, "pending": 50}
        summary, entries = push_once(db, "amocrm", TOKEN, portal=amo.base_url)
        assert summary.counts["contact"]["resumed"] == 50
        assert len(amo.contacts) == 300
        assert max(Counter(c["name"] for c in amo.contacts.values()).values()) == 1
        assert {e.state for e in entries["contact"].values()} == {"created"}
