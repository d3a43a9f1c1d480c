"""The parts of `crmtool push` that need no portal: bucket, query strings, secrets, ledger, name checks."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from crmtool.errors import CrmError
from crmtool.push import php_query
from crmtool.push.bitrix24 import merged_multi, names_agree
from crmtool.push.bitrix24_api import endpoint
from crmtool.push.ledger import Ledger, payload_hash
from crmtool.push.secrets import read_secret, redact
from crmtool.push.throttle import LeakyBucket


class Clock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_lets_a_burst_through_then_paces_at_the_rate():
    clock = Clock()
    bucket = LeakyBucket(2.0, burst=50, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        bucket.acquire()
    assert clock.slept == []
    for _ in range(10):
        bucket.acquire()
    assert clock.now == pytest.approx(5.0)        # ten more at 2/s
    assert all(s == pytest.approx(0.5) for s in clock.slept)


def test_bucket_drains_while_idle_and_fills_when_the_server_says_so():
    clock = Clock()
    bucket = LeakyBucket(2.0, burst=4, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        bucket.acquire()
    clock.now += 2.0                              # four requests drained
    for _ in range(4):
        bucket.acquire()
    assert clock.slept == []
    bucket.full()
    bucket.acquire()
    assert clock.slept == [pytest.approx(0.5)]


def test_php_query_keeps_plus_signs_and_nesting():
    query = php_query.build({"fields": {"NAME": "Анна Мария", "PHONE": [{"VALUE": "+7 (999) 123-45-67"}],
                                        "COMPANY_IDS": [3, 5], "OPENED": True}})
    pairs = dict(parse_qsl(query))
    assert pairs["fields[PHONE][0][VALUE]"] == "+7 (999) 123-45-67"
    assert pairs["fields[NAME]"] == "Анна Мария"
    assert pairs["fields[COMPANY_IDS][1]"] == "5"
    assert pairs["fields[OPENED]"] == "Y"
    assert "%2B7" in query and "+" not in query.replace("%2B", "")


def test_php_query_leaves_result_references_for_the_batch():
    assert php_query.build({"id": "$result[c1]"}) == "id=$result[c1]"


def test_secret_from_env_file_and_refusal_inside_the_workspace(tmp_path, monkeypatch):
    ws = tmp_path / "work" / "ws.duckdb"
    ws.parent.mkdir()
    monkeypatch.setenv("CRMTOOL_BITRIX24_WEBHOOK", "https://x.bitrix24.ru/rest/1/abc/")
    assert read_secret("bitrix24", env=None, file=None, workspace=ws) == "https://x.bitrix24.ru/rest/1/abc/"
    monkeypatch.delenv("CRMTOOL_BITRIX24_WEBHOOK")
    with pytest.raises(CrmError, match="CRMTOOL_BITRIX24_WEBHOOK"):
        read_secret("bitrix24", env=None, file=None, workspace=ws)
    outside = tmp_path / "token.txt"
    outside.write_text("# amo\n  tok123  \n", encoding="utf-8")
    assert read_secret("amocrm", env=None, file=outside, workspace=ws) == "tok123"
    inside = ws.parent / "token.txt"
    inside.write_text("tok123\n", encoding="utf-8")
    with pytest.raises(CrmError, match="inside the workspace folder"):
        read_secret("amocrm", env=None, file=inside, workspace=ws)


def test_redact_hides_the_webhook_code_and_tokens():
    url = "https://x.bitrix24.ru/rest/1/s3cr3t/"
    text = redact(f"ConnectError for {url}crm.contact.add.json and s3cr3t alone", url)
    assert "s3cr3t" not in text


def test_webhook_url_is_checked_and_names_the_portal_only():
    where = endpoint("https://acme.bitrix24.ru/rest/7/abcdef/", None)
    assert where.identity == "bitrix24:acme.bitrix24.ru"
    assert where.url("batch") == "https://acme.bitrix24.ru/rest/7/abcdef/batch.json"
    with pytest.raises(CrmError, match="USER_ID/CODE"):
        endpoint("https://acme.bitrix24.ru/crm/", None)
    with pytest.raises(CrmError, match="--portal"):
        endpoint("oauth-token", None)
    assert endpoint("tok", "acme.bitrix24.ru").base == "https://acme.bitrix24.ru/rest/"


def test_ledger_pending_then_settled_and_forgotten(ws):
    ledger = Ledger(ws, "bitrix24:x")
    ledger.pending("contact", [("CT-1", "h1"), ("CT-2", "h2")])
    assert {g: e.state for g, e in ledger.entries("contact").items()} == {"CT-1": "pending", "CT-2": "pending"}
    ledger.settle("contact", [("CT-1", "41", "h1", "created")])
    ledger.forget("contact", ["CT-2"])
    assert ledger.remote_ids("contact") == {"CT-1": "41"}
    assert Ledger(ws, "bitrix24:other").entries("contact") == {}


def test_payload_hash_ignores_key_order_but_not_values():
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    assert payload_hash({"a": 1}) != payload_hash({"a": 2})


@pytest.mark.parametrize("ours, theirs, same", [
    ({"LAST_NAME": "Иванов", "NAME": "Иван"}, {"LAST_NAME": "иванов", "NAME": "Иван"}, True),
    ({"LAST_NAME": "Иванов", "NAME": "Иван"}, {"LAST_NAME": "Иванов", "NAME": "И."}, True),
    ({"LAST_NAME": "Иванов", "NAME": "Иван"}, {"LAST_NAME": "Петров", "NAME": "Иван"}, False),
    ({"LAST_NAME": "Иванов", "NAME": "Иван"}, {"LAST_NAME": "Иванов", "NAME": "Пётр"}, False),
    ({"LAST_NAME": "Ёлкин", "NAME": "Анна"}, {"LAST_NAME": "Елкин", "NAME": ""}, True),
    ({"NAME": "Без имени"}, {"NAME": "Ресепшн"}, False),   # a switchboard card is nobody in particular
])
def test_names_agree(ours, theirs, same):
    assert names_agree(ours, theirs) is same


def test_merged_multi_adds_only_what_the_card_lacks():
    existing = [{"ID": "5", "VALUE": "+7 (999) 123-45-67", "VALUE_TYPE": "WORK"}]
    ours = [{"VALUE": "+79991234567", "VALUE_TYPE": "MOBILE"}, {"VALUE": "+74950000000", "VALUE_TYPE": "WORK"}]
    assert merged_multi(existing, ours, phone=True) == [{"VALUE": "+74950000000", "VALUE_TYPE": "WORK"}]


def test_an_unreachable_portal_is_a_clear_error_after_three_tries(monkeypatch):
    import socket

    from crmtool.push.bitrix24_api import classify
    from crmtool.push.transport import RetryPolicy, Transport

    with socket.socket() as sock:            # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slept = []
    transport = Transport(classify, LeakyBucket(100.0, 100), RetryPolicy(attempts=8, base=0.01),
                          sleep=slept.append)
    with pytest.raises(CrmError, match="cannot connect to 127.0.0.1.*check the portal address") as caught:
        transport.send("POST", f"http://127.0.0.1:{port}/rest/1/s3cr3t/batch.json", write=False, json={})
    assert caught.value.exit_code == 2 and len(slept) == 2 and transport.requests == 3
    transport.close()


def test_a_number_the_card_holds_as_8xxx_is_not_added_again():
    existing = [{"ID": "7", "VALUE": "8 (999) 123-45-67", "VALUE_TYPE": "WORK"}]
    assert merged_multi(existing, [{"VALUE": "+79991234567", "VALUE_TYPE": "MOBILE"}], phone=True) == []
    assert merged_multi([{"VALUE": "Ivan@Mail.ru"}], [{"VALUE": "ivan@mail.ru"}], phone=False) == []
