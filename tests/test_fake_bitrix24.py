"""The local Bitrix24 portal answers like the real one, over a real socket (httpx)."""

from __future__ import annotations

import threading
from urllib.parse import quote

import httpx
import pytest

from fakes.bitrix24 import FakeBitrix24


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    with FakeBitrix24(burst=10_000) as portal:
        yield portal


@pytest.fixture
def hook(fake):
    with httpx.Client(base_url=fake.webhook_url, timeout=5) as client:
        yield client


def batch(client: httpx.Client, cmd, halt: int = 0) -> dict:
    response = client.post("batch", json={"halt": halt, "cmd": cmd})
    assert response.status_code == 200  # a batch is always answered 200
    return response.json()["result"]


def test_add_returns_int_get_and_list_return_string_ids_in_pages_of_50(fake, hook):
    created = hook.post("crm.contact.add", json={"fields": {"NAME": "Ivan", "BOGUS": "x"}})
    assert created.status_code == 200
    first = created.json()["result"]
    assert isinstance(first, int)
    assert set(created.json()["time"]) >= {"start", "finish", "duration", "processing",
                                           "date_start", "date_finish", "operating"}
    contact = hook.post("crm.contact.get", json={"id": first}).json()["result"]
    assert contact["ID"] == str(first) and contact["NAME"] == "Ivan"
    assert "BOGUS" not in contact  # unknown fields are ignored on add
    for n in range(119):
        fake.add_contact(NAME=f"N{n}")

    page1 = hook.post("crm.contact.list", json={"select": ["ID"]}).json()
    assert len(page1["result"]) == 50 and page1["total"] == 120 and page1["next"] == 50
    assert all(isinstance(row["ID"], str) for row in page1["result"])
    page3 = hook.post("crm.contact.list", json={"select": ["ID"], "start": 100}).json()
    assert len(page3["result"]) == 20 and "next" not in page3
    no_count = hook.post("crm.contact.list", json={"start": -1}).json()
    assert len(no_count["result"]) == 50 and no_count["total"] == 0 and "next" not in no_count


def test_multi_fields_only_when_named_in_select(fake, hook):
    cid = fake.add_contact(NAME="A", PHONE=["+79990000001"], EMAIL=["a@example.com"])
    default = hook.post("crm.contact.list", json={}).json()["result"][0]
    star = hook.post("crm.contact.list", json={"select": ["*"]}).json()["result"][0]
    named = hook.post("crm.contact.list", json={"select": ["NAME", "PHONE"]}).json()["result"][0]
    assert "PHONE" not in default and "PHONE" not in star and "EMAIL" not in star
    assert named["ID"] == str(cid)  # the portal adds ID when multi-fields are selected
    assert named["PHONE"][0]["VALUE"] == "+79990000001" and "EMAIL" not in named
    got = hook.post("crm.contact.get", json={"ID": cid}).json()["result"]
    assert got["PHONE"][0]["TYPE_ID"] == "PHONE" and got["EMAIL"][0]["VALUE"] == "a@example.com"


def test_multi_field_update_overwrites_deletes_and_appends(fake, hook):
    cid = fake.add_contact(NAME="A", PHONE=["111", "222", "333", "444"])
    ids = [p["ID"] for p in fake.contacts[cid]["PHONE"]]
    phones = [{"ID": ids[0], "VALUE": "999", "VALUE_TYPE": "MOBILE"},  # overwrite
              {"ID": ids[1], "DELETE": "Y"},  # delete
              {"ID": ids[2], "VALUE": ""},  # empty value deletes too
              {"VALUE": "555", "VALUE_TYPE": "WORK"}]  # no ID: append; ids[3] untouched
    answer = hook.post("crm.contact.update", json={"id": cid, "fields": {"PHONE": phones}})
    assert answer.json()["result"] is True
    stored = [(p["VALUE"], p["VALUE_TYPE"]) for p in fake.contacts[cid]["PHONE"]]
    assert stored == [("999", "MOBILE"), ("444", "WORK"), ("555", "WORK")]


def test_form_body_with_php_brackets_and_the_plus_sign(fake, hook):
    encoded = "fields[NAME]=Anna&fields[PHONE][0][VALUE]=" + quote("+79991234567", safe="")
    hook.post("crm.contact.add", content=encoded,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    raw = "fields[NAME]=Oleg&fields[PHONE][0][VALUE]=+79991234568"  # + not encoded
    hook.post("crm.contact.add", content=raw,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    hook.get("crm.contact.add.json", params={"fields[NAME]": "Gleb"})
    phones = [c.get("PHONE") for c in fake.contacts.values()]
    assert phones[0][0]["VALUE"] == "+79991234567"
    assert phones[1][0]["VALUE"] == " 79991234568"  # form encoding: '+' is a space
    assert [c["NAME"] for c in fake.contacts.values()] == ["Anna", "Oleg", "Gleb"]


def test_batch_result_references_errors_and_halt(fake, hook):
    out = batch(hook, {
        "co": "crm.company.add?fields[TITLE]=ACME",
        "c1": "crm.contact.add?fields[NAME]=B&fields[COMPANY_ID]=$result[co]",
        "bad": "crm.contact.update?id=999&fields[NAME]=x",
        "links": "crm.contact.company.items.get?id=$result[c1]",
        "page": "crm.contact.list?select[]=ID",
    })
    assert out["result"]["co"] == 1 and out["result"]["c1"] == 1
    assert out["result_error"] == {"bad": {"error": "", "error_description":
                                           "Contact is not found"}}
    assert out["result"]["links"][0] == {"COMPANY_ID": 1, "SORT": 10, "ROLE_ID": 0,
                                         "IS_PRIMARY": "Y"}
    assert out["result_total"] == {"page": 1} and out["result_next"] == []  # empty map as []
    assert set(out["result_time"]) == {"co", "c1", "links", "page"}

    halted = batch(hook, {"a": "crm.contact.get?id=777", "b": "crm.contact.add?fields[NAME]=Z"},
                   halt=1)
    assert halted["result"] == [] and list(halted["result_error"]) == ["a"]
    assert "Z" not in [c["NAME"] for c in fake.contacts.values()]
    nested = batch(hook, {"n": "batch?cmd[x]=crm.contact.list", "m": "crm.nope.add"})
    assert nested["result_error"]["n"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert nested["result_error"]["m"]["error"] == "ERROR_METHOD_NOT_FOUND"


def test_batch_over_50_commands_refuses_the_rest(fake, hook):
    cmd = {f"c{n}": f"crm.contact.add?fields[NAME]=N{n}" for n in range(51)}
    out = batch(hook, cmd)
    assert len(out["result"]) == 50 and len(fake.contacts) == 50
    assert out["result_error"] == {"c50": {"error": "ERROR_BATCH_LENGTH_EXCEEDED",
                                           "error_description": "Max batch length exceeded"}}
    assert fake.requests[-1].n_commands == 51 and fake.requests[-1].status == 200


def test_leaky_bucket_refuses_without_running_and_drains():
    clock = FakeClock()
    with FakeBitrix24(clock=clock) as portal, httpx.Client(base_url=portal.webhook_url) as c:
        cmd = {f"c{n}": "crm.contact.add?fields[NAME]=x" for n in range(50)}
        assert batch(c, cmd)["result_error"] == []  # a batch of 50 is one request
        for _ in range(49):
            assert c.post("crm.contact.list", json={}).status_code == 200
        refused = c.post("crm.contact.add", json={"fields": {"NAME": "late"}})
        assert refused.status_code == 503
        assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED",
                                  "error_description": "Too many requests"}
        assert len(portal.contacts) == 50  # not executed
        clock.now += 0.5  # 2 per second drain one slot
        assert c.post("crm.contact.add", json={"fields": {"NAME": "ok"}}).status_code == 200
        assert c.post("crm.contact.list", json={}).status_code == 503
        clock.now += 25
        assert all(c.post("crm.contact.list", json={}).status_code == 200 for _ in range(50))
        assert [r.status for r in portal.requests].count(503) == 2


def test_auth_errors_and_unknown_method(fake):
    wrong = httpx.post(fake.base_url + "1/wrongcode/crm.contact.list", json={})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "INVALID_CREDENTIALS")
    with FakeBitrix24(oauth_tokens={"tok"}) as portal:
        url = portal.base_url + "crm.contact.list"
        assert httpx.post(url, json={}).json()["error"] == "NO_AUTH_FOUND"
        assert httpx.post(url, json={"auth": "nope"}).json()["error"] == "invalid_token"
        assert httpx.post(url, params={"auth": "tok"}, json={}).status_code == 200
        portal.expire_token("tok")
        expired = httpx.post(url, json={"auth": "tok"})
        assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    missing = httpx.post(fake.webhook_url + "crm.contact.fly", json={})
    assert missing.status_code == 404
    assert missing.json() == {"error": "ERROR_METHOD_NOT_FOUND",
                              "error_description": "Method not found!"}


def test_findbycomm_ignores_formatting_case_extension_and_values_past_20(fake, hook):
    a = fake.add_contact(NAME="A", PHONE=["+7 (999) 123-45-67"], EMAIL=["Anna@Example.com"])
    b = fake.add_contact(NAME="B", PHONE=["79991234567 доб. 5"])
    company = fake.add_company(TITLE="C", PHONE=["+79991234567"])

    def find(**params):
        return hook.post("crm.duplicate.findbycomm", json=params).json()["result"]

    assert find(entity_type="CONTACT", type="PHONE", values=["79991234567"]) == {
        "CONTACT": [a, b]}
    assert find(type="PHONE", values=["+7-999-123-45-67"]) == {"CONTACT": [a, b],
                                                               "COMPANY": [company]}
    assert find(entity_type="CONTACT", type="EMAIL", values=["anna@example.COM"]) == {
        "CONTACT": [a]}
    assert find(entity_type="CONTACT", type="PHONE", values=["70000000000"]) == []
    twenty_misses = [f"7000000{n:04d}" for n in range(20)]
    assert find(entity_type="CONTACT", type="PHONE",
                values=twenty_misses + ["79991234567"]) == []  # the 21st value is not read
    for n in range(25):
        fake.add_contact(NAME=f"dup{n}", PHONE=["+70000000001"])
    oldest = find(entity_type="CONTACT", type="PHONE", values=["70000000001"])["CONTACT"]
    assert len(oldest) == 20 and oldest == sorted(oldest)
    refused = hook.post("crm.duplicate.findbycomm", json={"type": "PHONE", "values": "79"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "Communication values is not defined"


def test_reconcile_filters_originator_and_origin_id(fake, hook):
    for n in range(5):
        fake.add_contact(NAME=f"N{n}", ORIGINATOR_ID="crmtool", ORIGIN_ID=f"g{n}")
    fake.add_contact(NAME="other", ORIGINATOR_ID="someone", ORIGIN_ID="g1")
    rows = hook.post("crm.contact.list", json={
        "filter": {"ORIGINATOR_ID": "crmtool", "@ORIGIN_ID": ["g1", "g3", "g9"]},
        "select": ["ID", "ORIGIN_ID"]}).json()["result"]
    assert [r["ORIGIN_ID"] for r in rows] == ["g1", "g3"]
    plain_array = hook.post("crm.contact.list", json={
        "filter": {"ORIGINATOR_ID": "crmtool", "ORIGIN_ID": ["g2", "g4"]}}).json()
    assert plain_array["total"] == 2
    typo = hook.post("crm.contact.list", json={"filter": {"ORIGIN_IDD": "g1"}}).json()
    assert typo["total"] == 6  # an unknown filter key is dropped, not refused


def test_method_errors_and_validation_hook(fake, hook):
    missing = hook.post("crm.contact.get", json={"id": 42})
    assert (missing.status_code, missing.json()) == (400, {"error": "",
                                                          "error_description": "Not found"})
    assert hook.post("crm.contact.update", json={"id": 42, "fields": {}}).json()[
        "error_description"] == "Contact is not found"
    fake.validation(lambda method, fields: "The field `Work e-mail` contains an invalid address"
                    if "@" not in str(fields.get("EMAIL", [{}])[0].get("VALUE", "@")) else None)
    out = batch(hook, {"ok": "crm.contact.add?fields[NAME]=A",
                       "bad": "crm.contact.add?fields[EMAIL][0][VALUE]=nope"})
    assert out["result"] == {"ok": 1}
    assert out["result_error"]["bad"]["error_description"].startswith("The field `Work e-mail`")
    assert len(fake.contacts) == 1


def test_fail_and_drop_after_commit_keep_the_record(fake, hook):
    fake.fail_next(500, "INTERNAL_SERVER_ERROR", "Internal server error", after_commit=True)
    failed = hook.post("crm.contact.add", json={"fields": {"NAME": "kept"}})
    assert (failed.status_code, failed.json()["error"]) == (500, "INTERNAL_SERVER_ERROR")
    assert [c["NAME"] for c in fake.contacts.values()] == ["kept"]
    fake.fail_next(503, "OVERLOAD_LIMIT", "REST API is blocked due to overload")
    assert hook.post("crm.contact.add", json={"fields": {"NAME": "lost"}}).status_code == 503
    assert len(fake.contacts) == 1  # a fault before the commit runs nothing
    fake.drop_next()
    with pytest.raises(httpx.TransportError):
        hook.post("crm.contact.add", json={"fields": {"NAME": "dropped"}})
    assert [c["NAME"] for c in fake.contacts.values()] == ["kept", "dropped"]
    assert fake.requests[-1].status == 0
    assert hook.post("crm.contact.list", json={}).json()["total"] == 2  # next request is fine


def test_hold_after_commits_blocks_mid_batch_until_released(fake):
    release = fake.hold_after_commits(2)
    answers: list[httpx.Response] = []
    cmd = {f"c{n}": f"crm.contact.add?fields[NAME]=N{n}" for n in range(3)}

    def push() -> None:
        with httpx.Client(base_url=fake.webhook_url, timeout=5) as client:
            answers.append(client.post("batch", json={"cmd": cmd}))

    worker = threading.Thread(target=push)
    worker.start()
    assert fake.held.wait(2)
    assert len(fake.contacts) == 2 and not answers  # committed part, no answer yet
    release.set()
    worker.join(2)
    assert answers[0].json()["result"]["result"] == {"c0": 1, "c1": 2, "c2": 3}


def test_stop_abandons_a_held_request(fake):
    fake.hold_after_commits(1)
    errors: list[Exception] = []

    def push() -> None:
        try:
            httpx.post(fake.webhook_url + "batch", timeout=5, json={"cmd": {
                f"c{n}": "crm.contact.add?fields[NAME]=x" for n in range(3)}})
        except httpx.TransportError as error:
            errors.append(error)

    worker = threading.Thread(target=push)
    worker.start()
    assert fake.held.wait(2)
    fake.stop()
    worker.join(2)
    assert errors and len(fake.contacts) == 1


def test_company_links_requisites_and_presets(fake, hook):
    out = batch(hook, {
        "co": "crm.company.add?fields[TITLE]=ACME&fields[ORIGIN_ID]=k1",
        "co2": "crm.company.add?fields[TITLE]=Beta",
        "rq": "crm.requisite.add?fields[ENTITY_TYPE_ID]=4&fields[ENTITY_ID]=$result[co]"
              "&fields[PRESET_ID]=1&fields[NAME]=Org&fields[RQ_INN]=7707083893",
        "c": "crm.contact.add?fields[NAME]=A&fields[COMPANY_IDS][]=$result[co]",
        "link": "crm.contact.company.add?id=$result[c]&fields[COMPANY_ID]=$result[co2]",
        "again": "crm.contact.company.add?id=$result[c]&fields[COMPANY_ID]=$result[co2]",
    })
    assert out["result_error"] == [] and out["result"]["again"] is False
    assert fake.contact_companies[out["result"]["c"]] == [1, 2]
    assert fake.contacts[out["result"]["c"]]["COMPANY_ID"] == "1"
    requisites = hook.post("crm.requisite.list", json={"filter": {"ENTITY_ID": 1}}).json()
    assert requisites["result"][0]["RQ_INN"] == "7707083893"
    presets = hook.post("crm.requisite.preset.list", json={"select": ["ID", "NAME"]}).json()
    assert presets["result"][0] == {"ID": "1", "NAME": "Organization"}
    bad = hook.post("crm.requisite.add", json={"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 99,
                                                          "PRESET_ID": 1, "NAME": "x"}})
    assert bad.json()["error_description"] == "Entity not found."
