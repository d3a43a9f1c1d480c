"""A local amoCRM (API v4) server for push tests: it behaves like the real account, not the client.

What each behaviour rests on (doc page, issue thread) is in docs/crm-emulation.md, section amoCRM.
Stdlib only: ThreadingHTTPServer in a daemon thread, one lock around the account's state.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from fakes.server import LocalServer, drop_connection

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
HTML = "text/html; charset=utf-8"

MAX_PAGE = 250  # list methods: "limit ... (Максимум – 250)"
DEFAULT_PAGE = 50
HOLD_TIMEOUT_S = 60.0  # a held request never outlives a forgotten event by more than this

NOT_VALID_CHOICE = "The value you selected is not a valid choice."
NOT_EXPECTED = "This field was not expected."

# Predefined multitext enums, as GET /api/v4/{contacts,companies}/custom_fields shows them.
PHONE_ENUMS = ("WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER")
EMAIL_ENUMS = ("WORK", "PRIV", "OTHER")

ENTITY_FIELDS = {
    "contacts": {
        "name", "first_name", "last_name", "responsible_user_id", "created_by", "updated_by",
        "created_at", "updated_at", "custom_fields_values", "tags_to_add", "tags_to_delete",
        "_embedded", "request_id",
    },
    "companies": {
        "name", "responsible_user_id", "created_by", "updated_by", "created_at", "updated_at",
        "custom_fields_values", "tags_to_add", "tags_to_delete", "_embedded", "request_id",
    },
}
VALUE_KEYS = {"value", "enum_id", "enum_code"}
LINKABLE = {"contacts": "companies", "companies": "contacts"}

BLOCKED_PAGE = (
    b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    b"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
TOO_MANY_PAGE = (
    b"<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
    b"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass
class RequestLog:
    """One request as the server saw it; status 0 = connection dropped without an answer."""

    time: float
    method: str
    path: str
    n_entities: int
    status: int
    query: str = ""


@dataclass
class _Fault:
    kind: str  # "fail" | "drop"
    status: int = 0
    body: bytes = b""
    content_type: str = HTML
    after_commit: bool = False
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.startswith(self.path)
        )


class _Hold:
    def __init__(self, n: int):
        self.remaining = n
        self.event = threading.Event()


class _Answer:
    """A response the handler will write: status, headers, body."""

    def __init__(self, status: int, body: Any = None, content_type: str | None = HAL):
        self.status = status
        if body is None:
            self.body = b""
        elif isinstance(body, bytes):
            self.body = body
        else:
            self.body = json.dumps(body, ensure_ascii=False).encode()
        self.content_type = content_type if self.body else None


def _problem(status: int, title: str, detail: str, **extra: Any) -> _Answer:
    body = {"title": title, "type": f"https://httpstatus.es/{status}", "status": status,
            "detail": detail, **extra}
    return _Answer(status, body, PROBLEM)


def _bad_request(detail: str) -> _Answer:
    return _problem(400, "Bad Request", detail)


def _validation_failed(errors: list[dict]) -> _Answer:
    return _Answer(400, {"validation-errors": errors, "title": "Bad Request",
                         "type": "https://httpstatus.es/400", "status": 400,
                         "detail": "Request validation failed"}, PROBLEM)


def _error(code: str, path: str, detail: str) -> dict:
    return {"code": code, "path": path, "detail": detail}


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


_PHONE_QUERY = re.compile(r"^[\d\s()+\-.]+$")


class FakeAmoCRM(LocalServer):
    """An amoCRM account behind http://127.0.0.1:PORT/api/v4/ with fault and limit controls."""

    thread_name = "fake-amocrm"

    def __init__(self, *, token: str = "longlivedtoken", rate_per_s: float = 7.0,
                 block_after_violations: int | None = None,
                 clock: Callable[[], float] = time.monotonic, max_batch: int = 250):
        self.token = token
        self.rate_per_s = rate_per_s
        self.block_after_violations = block_after_violations
        self.clock = clock
        self.max_batch = max_batch
        self.contacts: dict[int, dict] = {}
        self.companies: dict[int, dict] = {}
        self.links: set[tuple[int, int]] = set()  # (contact_id, company_id)
        self.requests: list[RequestLog] = []
        self.violations = 0
        self.blocked = False
        self.account_id = 31_000_001
        self.users = [_user(8_000_001, "Анна Админова", "admin@example.test", True),
                      _user(8_000_002, "Борис Менеджеров", "manager@example.test", False)]
        self.fields = {"contacts": _contact_fields(), "companies": _company_fields()}
        self._ids = {"contacts": 10_000_001, "companies": 20_000_001}
        self._lock = threading.RLock()
        self._window: deque[float] = deque()
        self._faults: deque[_Fault] = deque()
        self._holds: list[_Hold] = []
        self._validators: list[Callable[[str, dict], list[dict] | None]] = []
        LocalServer.__init__(self)

    # ---- lifecycle -------------------------------------------------------------------------

    def _handler(self):
        return _handler_for(self)

    def _release(self) -> None:
        with self._lock:
            for hold in self._holds:
                hold.event.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- test controls ---------------------------------------------------------------------

    def add_contact(self, **entity: Any) -> int:
        """Seed a card as if someone had typed it in; raises ValueError on what the API refuses."""
        return self._seed("contacts", entity)

    def add_company(self, **entity: Any) -> int:
        return self._seed("companies", entity)

    def fail_next(self, status: int, body: str | bytes = b"", *, content_type: str = HTML,
                  after_commit: bool = False, method: str | None = None,
                  path: str | None = None) -> None:
        """The next request (optionally: of this method, under this path) answers `status`.

        after_commit=True: the request is carried out first, only its answer is replaced.
        """
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._faults.append(_Fault("fail", status, raw, content_type, after_commit,
                                       method, path))

    def drop_next(self, *, after_commit: bool = True, method: str | None = None,
                  path: str | None = None) -> None:
        """The next request's connection is closed with no answer (by default after committing)."""
        with self._lock:
            self._faults.append(_Fault("drop", after_commit=after_commit, method=method,
                                       path=path))

    def hold_after_commits(self, n: int) -> threading.Event:
        """The request that creates the n-th entity from now commits, then waits for the event."""
        hold = _Hold(n)
        with self._lock:
            self._holds.append(hold)
        return hold.event

    def validation(self, fn: Callable[[str, dict], list[dict] | None]) -> None:
        """Extra account rules: fn(entity_type, entity) -> [{"code","path","detail"}] or None."""
        with self._lock:
            self._validators.append(fn)

    # ---- request pipeline ------------------------------------------------------------------

    def _admit(self, headers: Any) -> _Answer | None:
        """Account block, rate limit, then auth: the answer that stops a request, if any."""
        with self._lock:
            if self.blocked:
                return _Answer(403, BLOCKED_PAGE, HTML)
            now = self.clock()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= max(1, int(self.rate_per_s)):
                self.violations += 1
                if (self.block_after_violations is not None
                        and self.violations >= self.block_after_violations):
                    self.blocked = True
                return _Answer(429, TOO_MANY_PAGE, HTML)
            self._window.append(now)
        if headers.get("Authorization", "") != f"Bearer {self.token}":
            return _problem(401, "Unauthorized", "Неверный логин или пароль")
        return None

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    self._faults.remove(fault)
                    return fault
        return None

    def _log(self, method: str, path: str, query: str, n: int, status: int) -> None:
        with self._lock:
            self.requests.append(RequestLog(self.clock(), method, path, n, status, query))

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               waits: list[threading.Event]) -> _Answer:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v4"] or len(parts) < 3:
            return _problem(404, "Not Found", "Route not found")
        rest = parts[2:]
        if method == "GET" and rest == ["account"]:
            return _Answer(200, self._account())
        if method == "GET" and rest == ["users"]:
            return _Answer(200, self._users())
        kind = rest[0]
        if kind not in ENTITY_FIELDS:
            return _problem(404, "Not Found", "Route not found")
        tail = rest[1:]
        if tail == ["custom_fields"] and method == "GET":
            return _Answer(200, self._custom_fields(kind))
        if not tail:
            if method == "GET":
                return self._list(kind, query)
            if method == "POST":
                return self._create(kind, body, waits)
            if method == "PATCH":
                return self._update_many(kind, body)
        elif tail in (["link"], ["unlink"]) and method == "POST":
            return self._link_many(kind, body, unlink=tail == ["unlink"])
        elif tail == ["links"] and method == "GET":
            ids = [int(v) for v in _multi(query, "filter[entity_id]") if v.isdigit()]
            return self._links_of(kind, ids, f"/api/v4/{kind}/links")
        elif tail[0].isdigit():
            entity_id = int(tail[0])
            if len(tail) == 1 and method == "GET":
                return self._get_one(kind, entity_id, query)
            if len(tail) == 1 and method == "PATCH":
                return self._update_one(kind, entity_id, body)
            if tail[1:] == ["links"] and method == "GET":
                if entity_id not in self._store(kind):
                    return _Answer(204)
                return self._links_of(kind, [entity_id], f"/api/v4/{kind}/{entity_id}/links",
                                      with_entity=False)
            if tail[1:] in (["link"], ["unlink"]) and method == "POST":
                items = body if isinstance(body, list) else None
                if items is not None:
                    items = [dict(item, entity_id=entity_id) if isinstance(item, dict) else item
                             for item in items]
                return self._link_many(kind, items, unlink=tail[1:] == ["unlink"],
                                       self_path=f"/api/v4/{kind}/{entity_id}/links")
        return _problem(404, "Not Found", "Route not found")

    def _store(self, kind: str) -> dict[int, dict]:
        return self.contacts if kind == "contacts" else self.companies

    # ---- account and users -----------------------------------------------------------------

    def _account(self) -> dict:
        return {"id": self.account_id, "name": "crmtool test account", "subdomain": "crmtooltest",
                "current_user_id": self.users[0]["id"], "country": "RU", "currency": "RUB",
                "currency_symbol": "₽", "customers_mode": "disabled", "is_unsorted_on": True,
                "mobile_feature_version": 0, "is_loss_reason_enabled": True,
                "is_helpbot_enabled": False, "is_technical_account": True,
                "contact_name_display_order": 1,
                "_links": {"self": {"href": f"{self.base_url}/api/v4/account"}}}

    def _users(self) -> dict:
        users = [dict(u, _links={"self": {"href": f"{self.base_url}/api/v4/users/{u['id']}"}})
                 for u in self.users]
        return {"_total_items": len(users), "_page": 1, "_page_count": 1,
                "_links": {"self": {"href": f"{self.base_url}/api/v4/users?page=1&limit=50"}},
                "_embedded": {"users": users}}

    def _custom_fields(self, kind: str) -> dict:
        fields = [dict(f, entity_type=kind, account_id=self.account_id)
                  for f in self.fields[kind].values()]
        return {"_total_items": len(fields), "_page": 1, "_page_count": 1,
                "_links": {"self": {"href": f"{self.base_url}/api/v4/{kind}/custom_fields"}},
                "_embedded": {"custom_fields": fields}}

    # ---- validation ------------------------------------------------------------------------

    def _check(self, kind: str, entity: Any, *, patch: bool) -> list[dict]:
        """The errors of one entity, paths relative to it (as amoCRM reports them)."""
        if not isinstance(entity, dict):
            return [_error("InvalidType", "", "This value should be of type object.")]
        errors: list[dict] = []
        allowed = ENTITY_FIELDS[kind] | ({"id"} if patch else set())
        for key in entity:
            if key not in allowed:
                errors.append(_error("FieldNotExpected", key, NOT_EXPECTED))
        for key in ("name", "first_name", "last_name"):
            if key in entity and entity[key] is not None and not isinstance(entity[key], str):
                errors.append(_error("InvalidType", key, "This value should be of type string."))
        owner = entity.get("responsible_user_id")
        if owner is not None and owner not in {u["id"] for u in self.users}:
            errors.append(_error("NotSupportedChoice", "responsible_user_id", NOT_VALID_CHOICE))
        cfv = entity.get("custom_fields_values")
        if cfv is not None:
            errors += self._check_fields(kind, cfv)
        for fn in self._validators:
            errors += list(fn(kind, entity) or [])
        return errors

    def _check_fields(self, kind: str, cfv: Any) -> list[dict]:
        if not isinstance(cfv, list):
            return [_error("InvalidType", "custom_fields_values",
                           "This value should be of type array.")]
        errors: list[dict] = []
        for i, item in enumerate(cfv):
            at = f"custom_fields_values.{i}"
            if not isinstance(item, dict):
                errors.append(_error("InvalidType", at, "This value should be of type object."))
                continue
            for key in item:
                if key not in {"field_id", "field_code", "field_name", "values"}:
                    errors.append(_error("FieldNotExpected", f"{at}.{key}", NOT_EXPECTED))
            field = self._field(kind, item)
            if field is None:
                key = "field_id" if item.get("field_id") is not None else "field_code"
                errors.append(_error("NotSupportedChoice", f"{at}.{key}", NOT_VALID_CHOICE))
                continue
            values = item.get("values")
            if values is None:
                continue  # null clears the field
            if not isinstance(values, list):
                errors.append(_error("InvalidType", f"{at}.values",
                                     "This value should be of type array."))
                continue
            for j, value in enumerate(values):
                errors += _check_value(field, value, f"{at}.values.{j}")
        return errors

    def _field(self, kind: str, item: dict) -> dict | None:
        fields = self.fields[kind]
        if item.get("field_id") is not None:
            return next((f for f in fields.values() if f["id"] == item["field_id"]), None)
        code = item.get("field_code")
        return fields.get(code) if isinstance(code, str) else None

    # ---- storing ---------------------------------------------------------------------------

    def _stored_fields(self, kind: str, cfv: list[dict], old: list[dict] | None) -> list | None:
        """Merge written fields into the old ones: a written field's values replace its old ones."""
        merged = {f["field_id"]: f for f in (old or [])}
        for item in cfv:
            field = self._field(kind, item)
            values = [_stored_value(field, v) for v in (item.get("values") or [])]
            values = [v for v in values if v is not None]
            if values:
                merged[field["id"]] = {"field_id": field["id"], "field_name": field["name"],
                                       "field_code": field["code"], "field_type": field["type"],
                                       "values": values}
            else:
                merged.pop(field["id"], None)
        return list(merged.values()) or None

    def _new_entity(self, kind: str, entity: dict) -> dict:
        now = int(time.time())
        owner = entity.get("responsible_user_id") or self.users[0]["id"]
        record: dict[str, Any] = {"id": self._ids[kind], "name": entity.get("name") or ""}
        self._ids[kind] += 1
        if kind == "contacts":
            first, last = entity.get("first_name") or "", entity.get("last_name") or ""
            record.update(first_name=first, last_name=last)
            if not record["name"]:
                record["name"] = " ".join(p for p in (first, last) if p)
        record.update(
            responsible_user_id=owner, group_id=0,
            created_by=entity.get("created_by") or self.users[0]["id"],
            updated_by=entity.get("updated_by") or self.users[0]["id"],
            created_at=entity.get("created_at") or now, updated_at=entity.get("updated_at") or now,
            closest_task_at=None, is_deleted=False,
            custom_fields_values=self._stored_fields(kind, entity.get("custom_fields_values")
                                                     or [], None),
            account_id=self.account_id)
        # tags given on create are kept (docs: _embedded[tags] — an array of {id} or {name})
        tags = ((entity.get("_embedded") or {}).get("tags") or []) if isinstance(entity.get("_embedded"), dict) else []
        record["_tags"] = [{"id": t.get("id") or 0, "name": t.get("name")} for t in tags if isinstance(t, dict)]
        self._store(kind)[record["id"]] = record
        return record

    def _apply_patch(self, kind: str, record: dict, entity: dict) -> None:
        for key in ("name", "first_name", "last_name", "responsible_user_id", "created_by",
                    "updated_by", "created_at"):
            if key in entity and entity[key] is not None and key in record:
                record[key] = entity[key]
        if kind == "contacts" and "name" not in entity and (
                "first_name" in entity or "last_name" in entity):
            record["name"] = " ".join(p for p in (record["first_name"], record["last_name"]) if p)
        if entity.get("custom_fields_values") is not None:
            record["custom_fields_values"] = self._stored_fields(
                kind, entity["custom_fields_values"], record["custom_fields_values"])
        record["updated_at"] = entity.get("updated_at") or max(int(time.time()),
                                                               record["updated_at"])

    def _seed(self, kind: str, entity: dict) -> int:
        with self._lock:
            errors = self._check(kind, entity, patch=False)
            if errors:
                raise ValueError(f"amoCRM would refuse this {kind[:-1]}: {errors}")
            return self._new_entity(kind, entity)["id"]

    # ---- POST / PATCH ----------------------------------------------------------------------

    def _batch(self, body: Any) -> list | _Answer:
        if not isinstance(body, list) or not body:
            return _bad_request("Request body must be a non-empty JSON array")
        if len(body) > self.max_batch:
            return _bad_request(f"Too many entities in request: {len(body)}, "
                                f"maximum is {self.max_batch}")
        return body

    def _create(self, kind: str, body: Any, waits: list[threading.Event]) -> _Answer:
        batch = self._batch(body)
        if isinstance(batch, _Answer):
            return batch
        with self._lock:
            rejected = self._rejections(kind, batch, patch=False)
            if rejected:
                return _validation_failed(rejected)
            out = []
            for i, entity in enumerate(batch):
                record = self._new_entity(kind, entity)
                self._count_commit(waits)
                out.append({"id": record["id"], "request_id": _request_id(entity, i),
                            "is_deleted": False, "is_unsorted": False,
                            "_links": self._self_link(kind, record["id"])})
        return _Answer(200, {"_links": {"self": {"href": f"{self.base_url}/api/v4/{kind}"}},
                             "_embedded": {kind: out}})

    def _rejections(self, kind: str, batch: list, *, patch: bool) -> list[dict]:
        rejected = []
        for i, entity in enumerate(batch):
            errors = self._check(kind, entity, patch=patch)
            if patch and isinstance(entity, dict):
                entity_id = entity.get("id")
                if not isinstance(entity_id, int) or entity_id not in self._store(kind):
                    errors.insert(0, _error("NotFound", "id", "Entity not found"))
            if errors:
                rid = _request_id(entity, i) if isinstance(entity, dict) else str(i)
                rejected.append({"request_id": rid, "errors": errors})
        return rejected

    def _count_commit(self, waits: list[threading.Event]) -> None:
        for hold in self._holds:
            if hold.remaining > 0:
                hold.remaining -= 1
                if hold.remaining == 0:
                    waits.append(hold.event)

    def _update_many(self, kind: str, body: Any) -> _Answer:
        batch = self._batch(body)
        if isinstance(batch, _Answer):
            return batch
        with self._lock:
            rejected = self._rejections(kind, batch, patch=True)
            if rejected:
                return _validation_failed(rejected)
            out = [self._updated(kind, entity, i) for i, entity in enumerate(batch)]
        return _Answer(200, {"_links": {"self": {"href": f"{self.base_url}/api/v4/{kind}"}},
                             "_embedded": {kind: out}})

    def _update_one(self, kind: str, entity_id: int, body: Any) -> _Answer:
        if not isinstance(body, dict):
            return _bad_request("Request body must be a JSON object")
        entity = dict(body, id=entity_id)
        with self._lock:
            rejected = self._rejections(kind, [entity], patch=True)
            if rejected:
                return _validation_failed(rejected)
            out = self._updated(kind, entity, 0)
        return _Answer(200, out)

    def _updated(self, kind: str, entity: dict, index: int) -> dict:
        record = self._store(kind)[entity["id"]]
        self._apply_patch(kind, record, entity)
        out = {"id": record["id"], "name": record["name"], "updated_at": record["updated_at"],
               "_links": self._self_link(kind, record["id"])}
        if entity.get("request_id") not in (None, ""):
            out["request_id"] = _request_id(entity, index)
        return out

    # ---- GET -------------------------------------------------------------------------------

    def _self_link(self, kind: str, entity_id: int) -> dict:
        return {"self": {"href": f"{self.base_url}/api/v4/{kind}/{entity_id}"}}

    def _render(self, kind: str, record: dict, with_: set[str]) -> dict:
        out = {k: v for k, v in record.items() if k != "_tags"}
        out["_links"] = self._self_link(kind, record["id"])
        embedded: dict[str, list] = {"tags": list(record.get("_tags") or [])}
        if kind == "contacts":
            embedded["companies"] = [{"id": k, "_links": self._self_link("companies", k)}
                                     for c, k in sorted(self.links) if c == record["id"]]
        elif "contacts" in with_:
            embedded["contacts"] = [{"id": c, "_links": self._self_link("contacts", c)}
                                    for c, k in sorted(self.links) if k == record["id"]]
        out["_embedded"] = embedded
        return out

    def _get_one(self, kind: str, entity_id: int, query: dict[str, list[str]]) -> _Answer:
        with self._lock:
            record = self._store(kind).get(entity_id)
            if record is None:
                return _Answer(204)
            return _Answer(200, self._render(kind, record, _with(query)))

    def _list(self, kind: str, query: dict[str, list[str]]) -> _Answer:
        page = _int(_one(query, "page"), 1)
        limit = min(_int(_one(query, "limit"), DEFAULT_PAGE), MAX_PAGE)
        if page < 1 or limit < 1:
            return _bad_request("page and limit must be positive")
        ids = {int(v) for v in _multi(query, "filter[id]") if v.lstrip("-").isdigit()}
        needle = (_one(query, "query") or "").strip()
        order_key, descending = "id", False
        for key in ("id", "updated_at", "created_at"):
            direction = _one(query, f"order[{key}]")
            if direction:
                order_key, descending = key, direction.lower() == "desc"
        with self._lock:
            found = [r for r in self._store(kind).values()
                     if (not ids or r["id"] in ids) and (not needle or _matches(r, needle))]
            found.sort(key=lambda r: (r[order_key], r["id"]), reverse=descending)
            chunk = found[(page - 1) * limit: page * limit]
            if not chunk:
                return _Answer(204)
            rendered = [self._render(kind, r, _with(query)) for r in chunk]
        links = {"self": {"href": self._page_href(kind, query, page, limit)}}
        if page * limit < len(found):
            links["next"] = {"href": self._page_href(kind, query, page + 1, limit)}
        if page > 1:
            links["first"] = {"href": self._page_href(kind, query, 1, limit)}
            links["prev"] = {"href": self._page_href(kind, query, page - 1, limit)}
        return _Answer(200, {"_page": page, "_links": links, "_embedded": {kind: rendered}})

    def _page_href(self, kind: str, query: dict[str, list[str]], page: int, limit: int) -> str:
        pairs = [(k, v) for k, vs in query.items() if k not in ("page", "limit") for v in vs]
        pairs += [("limit", str(limit)), ("page", str(page))]
        return f"{self.base_url}/api/v4/{kind}?{urlencode(pairs)}"

    # ---- links -----------------------------------------------------------------------------

    def _link_many(self, kind: str, body: Any, *, unlink: bool,
                   self_path: str | None = None) -> _Answer:
        if not isinstance(body, list) or not body:
            return _bad_request("Request body must be a non-empty JSON array")
        if len(body) > self.max_batch:
            return _bad_request(f"Too many entities in request: {len(body)}, "
                                f"maximum is {self.max_batch}")
        other = LINKABLE[kind]
        with self._lock:
            rejected = []
            for i, item in enumerate(body):
                errors = self._check_link(kind, other, item)
                if errors:
                    rejected.append({"request_id": str(i), "errors": errors})
            if rejected:
                return _validation_failed(rejected)
            out = []
            for item in body:
                pair = ((item["entity_id"], item["to_entity_id"]) if kind == "contacts"
                        else (item["to_entity_id"], item["entity_id"]))
                if unlink:
                    self.links.discard(pair)
                    continue
                # A contact has one company: "_embedded[companies] ... В массиве всегда 1 объект".
                self.links -= {p for p in self.links if p[0] == pair[0]}
                self.links.add(pair)
                out.append({"entity_id": item["entity_id"], "entity_type": kind,
                            "to_entity_id": item["to_entity_id"], "to_entity_type": other,
                            "metadata": None})
        if unlink:
            return _Answer(204)
        href = f"{self.base_url}{self_path or f'/api/v4/{kind}/links'}"
        return _Answer(200, {"_total_items": len(out), "_links": {"self": {"href": href}},
                             "_embedded": {"links": out}})

    def _check_link(self, kind: str, other: str, item: Any) -> list[dict]:
        if not isinstance(item, dict):
            return [_error("InvalidType", "", "This value should be of type object.")]
        errors = [_error("FieldNotExpected", key, NOT_EXPECTED) for key in item
                  if key not in {"entity_id", "to_entity_id", "to_entity_type", "metadata"}]
        if item.get("entity_id") not in self._store(kind):
            errors.append(_error("NotFound", "entity_id", "Entity not found"))
        if item.get("to_entity_type") != other:
            errors.append(_error("NotSupportedChoice", "to_entity_type", NOT_VALID_CHOICE))
        elif item.get("to_entity_id") not in self._store(other):
            errors.append(_error("NotFound", "to_entity_id", "Entity not found"))
        return errors

    def _links_of(self, kind: str, ids: list[int], self_path: str, *,
                  with_entity: bool = True) -> _Answer:
        other = LINKABLE[kind]
        with self._lock:
            out = []
            for entity_id in ids:
                for c, k in sorted(self.links):
                    mine, theirs = (c, k) if kind == "contacts" else (k, c)
                    if mine != entity_id:
                        continue
                    link = {"to_entity_id": theirs, "to_entity_type": other,
                            "metadata": None}
                    if with_entity:
                        link = {"entity_id": entity_id, "entity_type": kind, **link}
                    out.append(link)
        return _Answer(200, {"_total_items": len(out),
                             "_links": {"self": {"href": f"{self.base_url}{self_path}"}},
                             "_embedded": {"links": out}})


# ---- helpers without state -----------------------------------------------------------------


def _user(user_id: int, name: str, email: str, admin: bool) -> dict:
    everything = {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"}
    return {"id": user_id, "name": name, "email": email, "lang": "ru",
            "rights": {"leads": dict(everything), "contacts": dict(everything),
                       "companies": dict(everything), "tasks": {"edit": "A", "delete": "A"},
                       "mail_access": True, "catalog_access": True, "status_rights": [],
                       "is_admin": admin, "is_free": False, "is_active": True,
                       "group_id": None, "role_id": None}}


def _multitext(field_id: int, name: str, code: str, enums: tuple[str, ...], first_enum: int,
               sort: int) -> dict:
    return {"id": field_id, "name": name, "type": "multitext", "code": code, "sort": sort,
            "is_api_only": False, "is_predefined": True, "is_deletable": False,
            "group_id": None, "required_statuses": [], "remind": None,
            "enums": [{"id": first_enum + 2 * i, "value": e, "sort": 2 * (i + 1)}
                      for i, e in enumerate(enums)]}


def _plain(field_id: int, name: str, code: str, type_: str, sort: int) -> dict:
    return {"id": field_id, "name": name, "type": type_, "code": code, "sort": sort,
            "is_api_only": False, "is_predefined": True, "is_deletable": False,
            "group_id": None, "required_statuses": [], "remind": None, "enums": None}


def _contact_fields() -> dict[str, dict]:
    fields = [_plain(590001, "Должность", "POSITION", "text", 2),
              _multitext(590003, "Телефон", "PHONE", PHONE_ENUMS, 1_290_001, 4),
              _multitext(590005, "Email", "EMAIL", EMAIL_ENUMS, 1_290_021, 6)]
    return {f["code"]: f for f in fields}


def _company_fields() -> dict[str, dict]:
    fields = [_multitext(590011, "Телефон", "PHONE", PHONE_ENUMS, 1_290_041, 4),
              _multitext(590013, "Email", "EMAIL", EMAIL_ENUMS, 1_290_061, 6),
              _plain(590015, "Web", "WEB", "url", 8),
              _plain(590017, "Адрес", "ADDRESS", "textarea", 10)]
    return {f["code"]: f for f in fields}


def _check_value(field: dict, value: Any, at: str) -> list[dict]:
    if not isinstance(value, dict):
        return [_error("InvalidType", at, "This value should be of type object.")]
    errors = [_error("FieldNotExpected", f"{at}.{key}", NOT_EXPECTED) for key in value
              if key not in VALUE_KEYS]
    raw = value.get("value")
    if raw is not None and not isinstance(raw, (str, int, float)):
        errors.append(_error("InvalidType", f"{at}.value", "This value should be of type string."))
    if field["type"] == "multitext":
        codes = {e["value"]: e["id"] for e in field["enums"]}
        code, enum_id = value.get("enum_code"), value.get("enum_id")
        if code is not None and code not in codes:
            errors.append(_error("NotSupportedChoice", f"{at}.enum_code", NOT_VALID_CHOICE))
        if enum_id is not None and enum_id not in codes.values():
            errors.append(_error("NotSupportedChoice", f"{at}.enum_id", NOT_VALID_CHOICE))
    else:
        errors += [_error("FieldNotExpected", f"{at}.{key}", NOT_EXPECTED)
                   for key in ("enum_code", "enum_id") if value.get(key) is not None]
    return errors


def _stored_value(field: dict, value: dict) -> dict | None:
    raw = value.get("value")
    if raw is None or str(raw).strip() == "":
        return None
    if field["type"] != "multitext":
        return {"value": str(raw)}
    by_code = {e["value"]: e["id"] for e in field["enums"]}
    by_id = {e["id"]: e["value"] for e in field["enums"]}
    code = value.get("enum_code")
    if code is None:
        code = by_id.get(value.get("enum_id"), field["enums"][0]["value"])
    return {"value": str(raw), "enum_id": by_code[code], "enum_code": code}


def _request_id(entity: dict, index: int) -> str:
    rid = entity.get("request_id")
    return str(index) if rid in (None, "") else str(rid)


def _matches(record: dict, needle: str) -> bool:
    """query=: substring of the name or of any field value; phones compared by their digits."""
    low = needle.casefold()
    texts = [record.get("name") or "", record.get("first_name") or "",
             record.get("last_name") or ""]
    digits = _digits(needle) if _PHONE_QUERY.match(needle) else ""
    for field in record.get("custom_fields_values") or []:
        for value in field["values"]:
            texts.append(value["value"])
            if digits and field["field_code"] == "PHONE" and digits in _digits(value["value"]):
                return True
    return any(low in t.casefold() for t in texts)


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _multi(query: dict[str, list[str]], key: str) -> list[str]:
    """filter[id]=1, filter[id][]=1 and filter[id][0]=1 all name the same list (PHP brackets)."""
    out: list[str] = []
    for name, values in query.items():
        if name == key or name == f"{key}[]" or re.fullmatch(re.escape(key) + r"\[\d+\]", name):
            for v in values:
                out += [p for p in v.split(",") if p]
    return out


def _with(query: dict[str, list[str]]) -> set[str]:
    return {w.strip() for w in (_one(query, "with") or "").split(",") if w.strip()}


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _parse_query(raw: str) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return query


def _count_entities(body: Any) -> int:
    if isinstance(body, list):
        return len(body)
    return 1 if isinstance(body, dict) else 0


def _handler_for(fake: FakeAmoCRM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without this, Nagle + delayed ACK add ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            bad_json = False
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    bad_json = True
            n = _count_entities(body)
            stop = fake._admit(self.headers)
            if stop is not None:
                fake._log(method, url.path, url.query, n, stop.status)
                self._send(stop)
                return
            fault = fake._take_fault(method, url.path)
            if fault is not None and not fault.after_commit:
                self._fault(fault, method, url, n)
                return
            waits: list[threading.Event] = []
            if bad_json:
                answer = _bad_request("Request body is not valid JSON")
            else:
                answer = fake._route(method, url.path, _parse_query(url.query), body, waits)
            for event in waits:
                event.wait(HOLD_TIMEOUT_S)
            if fault is not None:
                self._fault(fault, method, url, n)
                return
            fake._log(method, url.path, url.query, n, answer.status)
            self._send(answer)

        def _fault(self, fault: _Fault, method: str, url: Any, n: int) -> None:
            # Logged before answering: a test reads the log as soon as its call returns.
            if fault.kind == "drop":
                fake._log(method, url.path, url.query, n, 0)
                drop_connection(self)
                return
            fake._log(method, url.path, url.query, n, fault.status)
            self._send(_Answer(fault.status, fault.body, fault.content_type))

        def _send(self, answer: _Answer) -> None:
            try:
                self.send_response(answer.status)
                if answer.status != 204:
                    if answer.content_type:
                        self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.status != 204 and answer.body:
                    self.wfile.write(answer.body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
