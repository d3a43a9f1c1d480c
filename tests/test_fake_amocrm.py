"""The fake amoCRM itself, over a real socket: the push tests can only trust what is pinned here."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from fakes.amocrm import FakeAmoCRM

TOKEN = "longlivedtoken"


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def amo():
    with FakeAmoCRM(rate_per_s=10_000) as fake:
        yield fake


@pytest.fixture
def api(amo):
    with httpx.Client(base_url=amo.base_url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=10) as client:
        yield client


def phone(value: str, code: str = "WORK") -> dict:
    return {"field_code": "PHONE", "values": [{"value": value, "enum_code": code}]}


def email(value: str, code: str = "WORK") -> dict:
    return {"field_code": "EMAIL", "values": [{"value": value, "enum_code": code}]}


def field(record: dict, code: str) -> list[tuple[str, str]]:
    for f in record["custom_fields_values"] or []:
        if f["field_code"] == code:
            return [(v["value"], v["enum_code"]) for v in f["values"]]
    return []


def test_create_contacts_echoes_request_id_and_stores_cards(amo, api):
    r = api.post("/api/v4/contacts", json=[
        {"first_name": "Иван", "last_name": "Петров", "request_id": "src-42",
         "responsible_user_id": amo.users[1]["id"],
         "custom_fields_values": [phone("+7 (999) 123-45-67", "MOB"), email("Ivan@Mail.ru")]},
        {"name": "Без request_id"},
        {"name": "PHP-библиотека шлёт число", "request_id": 7},
    ])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/hal+json"
    made = r.json()["_embedded"]["contacts"]
    assert [m["request_id"] for m in made] == ["src-42", "1", "7"]
    assert all(m["is_deleted"] is False for m in made)
    assert made[0]["_links"]["self"]["href"] == f"{amo.base_url}/api/v4/contacts/{made[0]['id']}"
    ivan = amo.contacts[made[0]["id"]]
    assert ivan["name"] == "Иван Петров"
    assert ivan["responsible_user_id"] == amo.users[1]["id"]
    assert field(ivan, "PHONE") == [("+7 (999) 123-45-67", "MOB")]
    assert field(ivan, "EMAIL") == [("Ivan@Mail.ru", "WORK")]
    assert amo.contacts[made[1]["id"]]["responsible_user_id"] == amo.users[0]["id"]
    got = api.get(f"/api/v4/contacts/{made[0]['id']}").json()
    phone_field = got["custom_fields_values"][0]
    assert phone_field["field_type"] == "multitext" and phone_field["field_id"] > 0
    assert phone_field["values"][0]["enum_id"] > 0
    assert got["_embedded"] == {"tags": [], "companies": []}


def test_create_companies(amo, api):
    r = api.post("/api/v4/companies", json=[
        {"name": "ООО Ромашка", "request_id": "co-1",
         "custom_fields_values": [phone("+74951234567"), {"field_code": "WEB",
                                                          "values": [{"value": "romashka.ru"}]}]}])
    assert r.status_code == 200
    made = r.json()["_embedded"]["companies"]
    assert made[0]["request_id"] == "co-1"
    assert amo.companies[made[0]["id"]]["name"] == "ООО Ромашка"
    assert made[0]["id"] not in amo.contacts  # id ranges differ: a mixed-up id fails loudly


def test_more_than_max_batch_is_refused_whole_and_250_passes_fast(amo, api):
    too_many = [{"name": f"c{i}"} for i in range(251)]
    r = api.post("/api/v4/contacts", json=too_many)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 400
    assert amo.contacts == {}
    batch = [{"name": f"c{i}", "request_id": f"r{i}",
              "custom_fields_values": [phone(f"+7999{i:07d}"), email(f"c{i}@example.ru")]}
             for i in range(250)]
    started = time.perf_counter()
    r = api.post("/api/v4/contacts", json=batch)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and len(amo.contacts) == 250
    assert elapsed < 0.5, f"250-entity POST took {elapsed:.3f}s"


def test_validation_errors_reject_the_whole_request(amo, api):
    amo.validation(lambda kind, e: [{"code": "NotBlank", "path": "name",
                                     "detail": "This value should not be blank."}]
                   if kind == "contacts" and e.get("name") == "" else None)
    r = api.post("/api/v4/contacts", json=[
        {"name": "Хороший", "request_id": "ok"},
        {"name": "Плохой телефон", "request_id": "bad-enum",
         "custom_fields_values": [phone("+79990000000", "MOBILE")]},
        {"name": "Лишнее поле", "custom_fields_values": [
            {"field_code": "EMAIL", "values": [{"value": "x@y.ru", "enum": "WORK"}]}]},
        {"name": "", "responsible_user_id": 123},
    ])
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["title"], body["type"], body["status"], body["detail"]) == (
        "Bad Request", "https://httpstatus.es/400", 400, "Request validation failed")
    errors = {e["request_id"]: e["errors"] for e in body["validation-errors"]}
    assert set(errors) == {"bad-enum", "2", "3"}
    assert errors["bad-enum"] == [{"code": "NotSupportedChoice",
                                   "path": "custom_fields_values.0.values.0.enum_code",
                                   "detail": "The value you selected is not a valid choice."}]
    assert errors["2"][0]["code"] == "FieldNotExpected"
    assert errors["2"][0]["path"] == "custom_fields_values.0.values.0.enum"
    assert {e["code"] for e in errors["3"]} == {"NotSupportedChoice", "NotBlank"}
    assert amo.contacts == {}  # the good card was not stored either


def test_unknown_field_and_email_enum_rejected(api):
    r = api.post("/api/v4/contacts", json=[
        {"name": "a", "custom_fields_values": [{"field_id": 1, "values": [{"value": "x"}]}]},
        {"name": "b", "custom_fields_values": [email("b@x.ru", "MOB")]},
    ])
    errors = {e["request_id"]: e["errors"][0] for e in r.json()["validation-errors"]}
    assert errors["0"]["path"] == "custom_fields_values.0.field_id"
    assert errors["1"]["path"] == "custom_fields_values.0.values.0.enum_code"


def test_search_by_phone_in_another_format_and_by_email(amo, api):
    ivan = amo.add_contact(name="Иван", custom_fields_values=[phone("+7 (999) 123-45-67"),
                                                              email("Ivan.Petrov@Mail.RU")])
    amo.add_contact(name="Пётр", custom_fields_values=[phone("8 (495) 000-00-00")])

    def found(q: str) -> list[int]:
        r = api.get("/api/v4/contacts", params={"query": q})
        return [] if r.status_code == 204 else [c["id"] for c in r.json()["_embedded"]["contacts"]]

    assert found("79991234567") == [ivan]
    assert found("+7 999 123 45 67") == [ivan]
    assert found("9991234567") == [ivan]
    assert found("89991234567") == []  # +7 and 8 are different numbers to amoCRM's search
    assert found("ivan.petrov@mail.ru") == [ivan]
    assert found("иван") == [ivan]


def test_empty_search_is_204_without_body(amo, api):
    amo.add_contact(name="Иван")
    r = api.get("/api/v4/contacts", params={"query": "nobody@nowhere.ru"})
    assert r.status_code == 204
    assert r.content == b""
    assert "content-type" not in r.headers
    assert api.get("/api/v4/contacts/999").status_code == 204  # by id: "не существует" is 204 too


def test_paging_with_links_next_only_while_more(amo, api):
    ids = [amo.add_contact(name=f"c{i}") for i in range(5)]
    seen, url, pages = [], "/api/v4/contacts?limit=2", 0
    while url:
        r = api.get(url)
        assert r.status_code == 200
        body = r.json()
        pages += 1
        seen += [c["id"] for c in body["_embedded"]["contacts"]]
        url = body["_links"].get("next", {}).get("href")
    assert pages == 3 and seen == ids
    assert api.get("/api/v4/contacts", params={"limit": 2, "page": 4}).status_code == 204
    r = api.get("/api/v4/contacts", params=[("filter[id][]", ids[1]), ("filter[id][]", ids[3])])
    assert [c["id"] for c in r.json()["_embedded"]["contacts"]] == [ids[1], ids[3]]
    assert "next" not in r.json()["_links"]
    r = api.get("/api/v4/contacts", params={"limit": 1000})
    assert len(r.json()["_embedded"]["contacts"]) == 5  # limit is capped at 250, not refused


def test_patch_replaces_a_fields_values_and_keeps_the_others(amo, api):
    cid = amo.add_contact(first_name="Иван", custom_fields_values=[
        phone("+79990000001"), email("old@x.ru")])
    r = api.patch("/api/v4/contacts", json=[
        {"id": cid, "last_name": "Петров", "request_id": "u1",
         "custom_fields_values": [{"field_code": "PHONE", "values": [
             {"value": "+79990000002", "enum_code": "MOB"},
             {"value": "+79990000003", "enum_code": "HOME"}]}]}])
    assert r.status_code == 200
    out = r.json()["_embedded"]["contacts"][0]
    assert (out["id"], out["name"], out["request_id"]) == (cid, "Иван Петров", "u1")
    assert field(amo.contacts[cid], "PHONE") == [("+79990000002", "MOB"), ("+79990000003", "HOME")]
    assert field(amo.contacts[cid], "EMAIL") == [("old@x.ru", "WORK")]
    r = api.patch(f"/api/v4/contacts/{cid}",
                  json={"custom_fields_values": [{"field_code": "EMAIL", "values": None}]})
    assert r.status_code == 200 and r.json()["id"] == cid
    assert field(amo.contacts[cid], "EMAIL") == []
    r = api.patch("/api/v4/contacts", json=[{"id": 424242, "name": "нет такого"}])
    assert r.status_code == 400 and r.json()["validation-errors"][0]["errors"][0]["path"] == "id"


def test_links_bulk_and_single(amo, api):
    a, b = amo.add_contact(name="A"), amo.add_contact(name="B")
    k1, k2 = amo.add_company(name="K1"), amo.add_company(name="K2")
    r = api.post("/api/v4/contacts/link", json=[
        {"entity_id": a, "to_entity_id": k1, "to_entity_type": "companies"},
        {"entity_id": b, "to_entity_id": k1, "to_entity_type": "companies"}])
    assert r.status_code == 200
    assert r.json()["_total_items"] == 2
    assert r.json()["_embedded"]["links"][0] == {
        "entity_id": a, "entity_type": "contacts", "to_entity_id": k1,
        "to_entity_type": "companies", "metadata": None}
    assert amo.links == {(a, k1), (b, k1)}
    r = api.post(f"/api/v4/contacts/{b}/link", json=[{"to_entity_id": k2,
                                                     "to_entity_type": "companies"}])
    assert r.status_code == 200
    assert amo.links == {(a, k1), (b, k2)}  # a contact has one company: relinking moves it
    links = api.get(f"/api/v4/contacts/{b}/links").json()["_embedded"]["links"]
    assert links == [{"to_entity_id": k2, "to_entity_type": "companies", "metadata": None}]
    got = api.get(f"/api/v4/contacts/{a}").json()
    assert [c["id"] for c in got["_embedded"]["companies"]] == [k1]
    company = api.get(f"/api/v4/companies/{k1}", params={"with": "contacts"}).json()
    assert [c["id"] for c in company["_embedded"]["contacts"]] == [a]
    r = api.post("/api/v4/contacts/link", json=[
        {"entity_id": a, "to_entity_id": 99, "to_entity_type": "companies"}])
    assert r.status_code == 400 and amo.links == {(a, k1), (b, k2)}
    assert api.post(f"/api/v4/contacts/{a}/unlink", json=[
        {"to_entity_id": k1, "to_entity_type": "companies"}]).status_code == 204
    assert amo.links == {(b, k2)}


def test_burst_gets_429_not_json_then_403_html_once_blocked():
    clock = FakeClock()
    with FakeAmoCRM(rate_per_s=7, block_after_violations=3, clock=clock) as amo, \
            httpx.Client(base_url=amo.base_url,
                         headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        codes = [api.get("/api/v4/account").status_code for _ in range(8)]
        assert codes == [200] * 7 + [429]
        r = api.get("/api/v4/account")
        assert r.status_code == 429
        assert r.content and not r.headers["content-type"].startswith("application/")
        with pytest.raises(ValueError):
            r.json()
        clock.now += 1.0  # the next second: allowed again
        assert api.get("/api/v4/account").status_code == 200
        for _ in range(6):
            api.get("/api/v4/account")
        assert api.get("/api/v4/account").status_code == 429  # the 3rd violation blocks
        clock.now += 60
        r = api.get("/api/v4/account")
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("text/html") and b"<html>" in r.content
        assert api.post("/api/v4/contacts", json=[{"name": "x"}]).status_code == 403
        assert amo.contacts == {}
        assert [q.status for q in amo.requests][-2:] == [403, 403]


def test_auth_401_problem_json(amo):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = httpx.get(f"{amo.base_url}/api/v4/contacts", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {"title": "Unauthorized", "type": "https://httpstatus.es/401",
                            "status": 401, "detail": "Неверный логин или пароль"}


def test_account_and_users(amo, api):
    account = api.get("/api/v4/account").json()
    assert account["current_user_id"] == amo.users[0]["id"]
    assert {"id", "name", "subdomain", "country"} <= set(account)
    users = api.get("/api/v4/users").json()["_embedded"]["users"]
    assert [u["id"] for u in users] == [u["id"] for u in amo.users]
    fields = api.get("/api/v4/contacts/custom_fields").json()["_embedded"]["custom_fields"]
    phone_enums = next(f["enums"] for f in fields if f["code"] == "PHONE")
    assert [e["value"] for e in phone_enums] == ["WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"]


def test_fail_next_after_commit_stores_but_answers_504(amo, api):
    amo.fail_next(504, "<html>504 Gateway Time-out</html>", after_commit=True)
    r = api.post("/api/v4/contacts", json=[{"name": "Сохранён", "request_id": "x1"}])
    assert r.status_code == 504 and b"504" in r.content
    assert [c["name"] for c in amo.contacts.values()] == ["Сохранён"]
    amo.fail_next(500, method="POST", path="/api/v4/contacts")
    assert api.get("/api/v4/account").status_code == 200  # filter: GET passes untouched
    assert api.post("/api/v4/contacts", json=[{"name": "Не сохранён"}]).status_code == 500
    assert len(amo.contacts) == 1
    assert [q.status for q in amo.requests] == [504, 200, 500]


def test_drop_next_after_commit_closes_without_answer(amo, api):
    amo.drop_next()
    with pytest.raises(httpx.TransportError):
        api.post("/api/v4/companies", json=[{"name": "Без ответа"}])
    assert [c["name"] for c in amo.companies.values()] == ["Без ответа"]
    assert amo.requests[-1].status == 0
    amo.drop_next(after_commit=False)
    with pytest.raises(httpx.TransportError):
        api.post("/api/v4/companies", json=[{"name": "Не дошёл"}])
    assert len(amo.companies) == 1


def test_hold_after_commits_blocks_until_set(amo, api):
    release = amo.hold_after_commits(2)
    assert api.post("/api/v4/contacts", json=[{"name": "первый"}]).status_code == 200
    result: dict = {}

    def push() -> None:
        result["r"] = api.post("/api/v4/contacts", json=[{"name": "второй"}, {"name": "третий"}])

    sender = threading.Thread(target=push)
    sender.start()
    deadline = time.monotonic() + 5
    while len(amo.contacts) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(amo.contacts) == 3  # committed...
    sender.join(timeout=0.3)
    assert sender.is_alive() and "r" not in result  # ...but not answered
    release.set()
    sender.join(timeout=5)
    assert result["r"].status_code == 200
    assert [c["request_id"] for c in result["r"].json()["_embedded"]["contacts"]] == ["0", "1"]


def test_request_log(amo, api):
    api.post("/api/v4/contacts", json=[{"name": "a"}, {"name": "b"}])
    api.get("/api/v4/contacts", params={"query": "a"})
    first, second = amo.requests
    assert (first.method, first.path, first.n_entities, first.status) == (
        "POST", "/api/v4/contacts", 2, 200)
    assert (second.method, second.n_entities, second.status, second.query) == (
        "GET", 0, 200, "query=a")
