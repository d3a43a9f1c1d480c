"""A local Bitrix24 portal for the push tests and benchmark: the REST API over a real socket.

It answers the way the real portal does (official REST docs, bitrix24/b24restdocs, and the
portal's own crm REST proxy where the docs are silent), not the way a client would like:
PHP-bracket bodies where `+` is a space, ids as integers from add and strings from get/list,
multi-fields only when selected, unknown fields and filter keys silently dropped, batch
always HTTP 200 with empty maps as `[]`, a leaky bucket that refuses with 503, and faults a
test can inject before or after a commit. docs/crm-emulation.md ("## Bitrix24") cites the
source of every behaviour and lists what is simplified.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urlsplit

from fakes.server import LocalServer, drop_connection

BATCH_LIMIT = 50  # commands per batch; the rest end with ERROR_BATCH_LENGTH_EXCEEDED
PAGE_SIZE = 50  # list page size, fixed by the portal
FINDBYCOMM_VALUES = 20  # values looked at per call; the rest are silently ignored
FINDBYCOMM_IDS = 20  # oldest matches returned per value
MULTI_FIELDS = ("PHONE", "EMAIL", "WEB", "IM", "LINK")
CONTACT_TYPE_ID, COMPANY_TYPE_ID = 3, 4  # CCrmOwnerType ids, as crm.requisite.add wants them


# --- PHP semantics -------------------------------------------------------------------------

_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_LEADING_INT = re.compile(r"^\s*[+-]?\d+")


def parse_php_query(query: str) -> dict:
    """Parse a query string the way PHP's parse_str does: `+` is a space, `a[b][0]=v` nests.

    Arrays whose keys are exactly 0..n-1 come back as lists (what json_encode would emit).
    """
    root: dict = {}
    next_index: dict[int, int] = {}  # id(array) -> PHP's next free integer key
    for key, value in _query_pairs(query):
        parts = [key] if "[" not in key else _key_parts(key)
        if parts:
            _assign(root, parts, value, next_index)
    return _php_arrays(root)


def _query_pairs(query: str) -> Iterable[tuple[str, str]]:
    """parse_qsl with keep_blank_values, minus its overhead: `+` is a space, %XX decoded."""
    for piece in query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        if "+" in key:
            key = key.replace("+", " ")
        if "+" in value:
            value = value.replace("+", " ")
        yield (unquote(key) if "%" in key else key), (unquote(value) if "%" in value else value)


def _key_parts(key: str) -> list[str] | None:
    opening = key.find("[")
    if opening < 0:
        return [key] if key else None
    if opening == 0:
        return None  # PHP drops variables with an empty name
    parts, pos = [key[:opening]], opening
    while pos < len(key) and key[pos] == "[":
        match = _BRACKET.match(key, pos)
        if match is None:
            break  # PHP ignores anything after an unclosed bracket
        parts.append(match.group(1))
        pos = match.end()
    if len(parts) == 1:
        return [key.replace("[", "_", 1)]
    return parts


def _assign(node: dict, parts: list[str], value: str, next_index: dict[int, int]) -> None:
    for depth, part in enumerate(parts):
        if part == "" and depth > 0:
            part = str(next_index.get(id(node), 0))
        if part[:1].isdigit() and _INT_KEY.match(part):
            next_index[id(node)] = max(next_index.get(id(node), 0), int(part) + 1)
        if depth == len(parts) - 1:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child


def _php_arrays(value: Any) -> Any:
    """Dicts keyed "0".."n-1" become lists, empty dicts become [], as json_encode emits them."""
    if isinstance(value, dict):
        converted = {k: _php_arrays(v) for k, v in value.items()}
        if list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    if isinstance(value, list):
        return [_php_arrays(v) for v in value]
    return value


def php_json(value: Any) -> Any:
    """JSON shape of a PHP array: empty maps are `[]`, sequential maps are lists."""
    if isinstance(value, dict):
        if list(value) == [str(i) for i in range(len(value))]:
            return [php_json(v) for v in value.values()]
        return {k: php_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_json(v) for v in value]
    return value


def php_intval(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        match = _LEADING_INT.match(value)
        return int(match.group(0)) if match else 0
    return 0


def php_truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "", "0") and value != [] and value != {}


def resolve_array_param(params: dict, name: str, default: Any = None) -> Any:
    """CCrmRestHelper::resolveArrayParam: FILTER, filter, Filter or arFilter."""
    lower = name.lower()
    for key in (name.upper(), lower, lower.capitalize(), "ar" + lower.capitalize()):
        if params.get(key) is not None:
            return params[key]
    return default


def resolve_param(params: dict, name: str, default: Any = "") -> Any:
    """CCrmRestHelper::resolveParam: type, TYPE or Type."""
    lower = name.lower()
    for key in (lower, name.upper(), lower.capitalize()):
        if params.get(key) is not None:
            return params[key]
    return default


def resolve_entity_id(params: dict) -> int:
    return php_intval(params.get("ID", params.get("id", 0)))


def _items(value: Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return []


# --- communications ------------------------------------------------------------------------

_EXTENSION = re.compile(r"(?i)(доб|ext|вн|x|#|;|,)")
_NON_DIGIT = re.compile(r"\D")


def normalize_phone(value: str) -> str:
    """Digits only, extension dropped: "+7 (999) 123-45-67 доб. 12" -> "79991234567"."""
    text = str(value)
    cut = _EXTENSION.search(text)
    return _NON_DIGIT.sub("", text[:cut.start()] if cut else text)


def normalize_email(value: str) -> str:
    return str(value).strip().lower()


_COMM_NORMALIZERS = {"PHONE": normalize_phone, "EMAIL": normalize_email}


# --- errors, results, logs -----------------------------------------------------------------


class RestError(Exception):
    """An error answer: HTTP status, `error` code and `error_description`."""

    def __init__(self, description: str, error: str = "", status: int = 400):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class ListResult:
    items: list
    total: int
    next: int | None


@dataclass(frozen=True)
class RequestLog:
    time: float  # the injected clock at arrival
    http_method: str
    rest_method: str
    n_commands: int  # commands in a batch, 1 otherwise
    status: int  # HTTP status answered; 0 when the connection was dropped


@dataclass
class _Fault:
    kind: str  # "fail" | "drop"
    after_commit: bool
    status: int = 0
    error: str = ""
    description: str = ""


_DROP = object()  # close the socket without an answer


# --- entity specs --------------------------------------------------------------------------

_ADDRESS = ("ADDRESS", "ADDRESS_2", "ADDRESS_CITY", "ADDRESS_POSTAL_CODE", "ADDRESS_REGION",
            "ADDRESS_PROVINCE", "ADDRESS_COUNTRY", "ADDRESS_COUNTRY_CODE")
_UTM = ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM")
_SERVICE = ("ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID", "HAS_PHONE",
            "HAS_EMAIL", "HAS_IMOL", "LEAD_ID", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY")
_IMPORT_ONLY = ("DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID")
_ORIGIN = ("ORIGINATOR_ID", "ORIGIN_ID", "ORIGIN_VERSION")
_NUMERIC = frozenset({"ID", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "COMPANY_ID",
                      "LEAD_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "SORT",
                      "COUNTRY_ID", "LAST_ACTIVITY_BY"})


@dataclass(frozen=True)
class _Spec:
    name: str  # CONTACT, COMPANY, REQUISITE, PRESET
    fields: tuple  # scalar fields in get/list order
    writable: frozenset
    multi: tuple
    defaults: dict
    not_found: str  # update/delete of a missing id


_CONTACT = _Spec(
    "CONTACT",
    fields=_SERVICE[:1] + ("HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "PHOTO", "TYPE_ID",
                           "SOURCE_ID", "SOURCE_DESCRIPTION", "POST", "COMMENTS", "COMPANY_ID",
                           "BIRTHDATE", "EXPORT", "OPENED", "ASSIGNED_BY_ID") + _ORIGIN
    + _ADDRESS + _UTM + _SERVICE[1:],
    writable=frozenset({"HONORIFIC", "NAME", "SECOND_NAME", "LAST_NAME", "PHOTO", "TYPE_ID",
                        "SOURCE_ID", "SOURCE_DESCRIPTION", "POST", "COMMENTS", "BIRTHDATE",
                        "EXPORT", "OPENED", "ASSIGNED_BY_ID", *_ORIGIN, *_ADDRESS, *_UTM}),
    multi=MULTI_FIELDS,
    defaults={"TYPE_ID": "CLIENT", "SOURCE_ID": "CALL", "OPENED": "Y", "EXPORT": "Y"},
    not_found="Contact is not found",
)
_COMPANY = _Spec(
    "COMPANY",
    fields=("ID", "TITLE", "COMPANY_TYPE", "LOGO", "INDUSTRY", "REVENUE", "CURRENCY_ID",
            "EMPLOYEES", "COMMENTS", "OPENED", "IS_MY_COMPANY", "ASSIGNED_BY_ID") + _ORIGIN
    + _ADDRESS + _UTM + _SERVICE[1:],
    writable=frozenset({"TITLE", "COMPANY_TYPE", "LOGO", "INDUSTRY", "REVENUE", "CURRENCY_ID",
                        "EMPLOYEES", "COMMENTS", "OPENED", "IS_MY_COMPANY", "ASSIGNED_BY_ID",
                        *_ORIGIN, *_ADDRESS, *_UTM}),
    multi=MULTI_FIELDS,
    defaults={"COMPANY_TYPE": "CUSTOMER", "OPENED": "Y", "IS_MY_COMPANY": "N"},
    not_found="Company is not found",
)
_REQUISITE = _Spec(
    "REQUISITE",
    fields=("ID", "ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "DATE_CREATE", "DATE_MODIFY",
            "CREATED_BY_ID", "MODIFY_BY_ID", "NAME", "CODE", "XML_ID", "ORIGINATOR_ID", "ACTIVE",
            "ADDRESS_ONLY", "SORT"),
    writable=frozenset({"NAME", "CODE", "XML_ID", "ORIGINATOR_ID", "ACTIVE", "ADDRESS_ONLY",
                        "SORT"}),
    multi=(),
    defaults={"ACTIVE": "Y", "ADDRESS_ONLY": "N", "SORT": "500"},
    not_found="Requisite is not found",
)
_PRESET = _Spec(
    "PRESET",
    fields=("ID", "ENTITY_TYPE_ID", "COUNTRY_ID", "NAME", "DATE_CREATE", "DATE_MODIFY",
            "CREATED_BY_ID", "MODIFY_BY_ID", "ACTIVE", "XML_ID", "SORT"),
    writable=frozenset(), multi=(), defaults={}, not_found="Preset is not found",
)
_INDEXED = ("ORIGINATOR_ID", "ORIGIN_ID")  # scalar fields with an equality index


def _store(value: Any) -> Any:
    """What the portal keeps: scalars as strings (it answers them as strings)."""
    if value is None or isinstance(value, (list, dict)):
        return value
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- filters -------------------------------------------------------------------------------

_OPERATIONS = ("!=%", "!%=", "!@", "!%", "!=", ">=", "<=", "=%", "%=", "@", "!", "%", "=", ">",
               "<")


def _split_filter_key(key: str) -> tuple[str, str]:
    for op in _OPERATIONS:
        if key.startswith(op):
            return op, key[len(op):]
    return "=", key


def _like(pattern: str, text: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.casefold().split("%"))
    return re.fullmatch(regex, text, re.S) is not None


def _scalar_matches(field: str, op: str, wanted: Any, have: Any) -> bool:
    numeric = field in _NUMERIC
    have_key = php_intval(have) if numeric else ("" if have is None else str(have).casefold())

    def key(v: Any) -> Any:
        return php_intval(v) if numeric else ("" if v is None else str(_store(v)).casefold())

    if op in ("=", "!", "!=", "@", "!@"):
        values = _items(wanted) if isinstance(wanted, (list, dict)) else [wanted]
        hit = have_key in {key(v) for v in values}
        return hit if op in ("=", "@") else not hit
    if op in (">", ">=", "<", "<="):
        left, right = have_key, key(wanted)
        return {">": left > right, ">=": left >= right, "<": left < right,
                "<=": left <= right}[op]
    text = "" if have is None else str(have).casefold()
    if op in ("%", "!%"):
        hit = str(wanted).casefold() in text
    else:  # =%, %=, !=%, !%=
        hit = _like(str(wanted), text)
    return not hit if op.startswith("!") else hit


def _multi_matches(op: str, wanted: Any, items: list) -> bool:
    """Multi-field filters are exact matches only (crm.contact.list docs)."""
    values = _items(wanted) if isinstance(wanted, (list, dict)) else [wanted]
    wanted_keys = {str(v).casefold() for v in values}
    hit = any(str(item["VALUE"]).casefold() in wanted_keys for item in items)
    return not hit if op.startswith("!") else hit


# --- the server ----------------------------------------------------------------------------


class FakeBitrix24(LocalServer):
    """One Bitrix24 portal on 127.0.0.1: webhook and OAuth access to the crm REST methods.

    Seed portal cards with add_contact/add_company (they keep the lookup indexes current);
    read `contacts`, `companies`, `requisites`, `contact_companies` and `requests` freely.
    """

    thread_name = "fake-bitrix24"

    def __init__(self, *, webhook_user: int = 1, webhook_code: str = "secretcode",
                 oauth_tokens: Iterable[str] | None = None, burst: int = 50,
                 drain_per_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 preset_id: int = 1):
        self.webhook_user, self.webhook_code = int(webhook_user), webhook_code
        self._tokens = set(oauth_tokens or ())
        self._expired: set[str] = set()
        self._burst, self._drain, self._clock = burst, drain_per_s, clock
        self._bucket_level, self._bucket_last = 0.0, None
        self._lock = threading.RLock()
        self._local = threading.local()

        self.contacts: dict[int, dict] = {}
        self.companies: dict[int, dict] = {}
        self.requisites: dict[int, dict] = {}
        self.contact_companies: dict[int, list[int]] = {}
        self.presets: dict[int, dict] = self._default_presets(preset_id)
        self.requests: list[RequestLog] = []
        self._primary: dict[int, int] = {}  # contact -> primary company
        self._binding_sort: dict[tuple[int, int], int] = {}
        self._seq = {"CONTACT": 0, "COMPANY": 0, "REQUISITE": 0, "FM": 0}
        self._index: dict[str, dict[str, dict[str, set[int]]]] = {
            name: defaultdict(lambda: defaultdict(set)) for name in ("CONTACT", "COMPANY")}
        self._index_keys: dict[tuple[str, int], list[tuple[str, str]]] = {}

        self._faults: deque[_Fault] = deque()
        self._validator: Callable[[str, dict], Any] | None = None
        self._hold_n: int | None = None
        self._hold_seen = 0
        self._hold_release: threading.Event | None = None
        self.held = threading.Event()  # set while a request sits in hold_after_commits
        self._stopping = False
        LocalServer.__init__(self)
        self._methods: dict[str, Callable[[dict], Any]] = {
            "crm.contact.add": lambda p: self._add(_CONTACT, "crm.contact.add", p),
            "crm.contact.update": lambda p: self._update(_CONTACT, "crm.contact.update", p),
            "crm.contact.get": lambda p: self._get(_CONTACT, p),
            "crm.contact.list": lambda p: self._list(_CONTACT, self.contacts, p),
            "crm.contact.delete": lambda p: self._delete(_CONTACT, p),
            "crm.company.add": lambda p: self._add(_COMPANY, "crm.company.add", p),
            "crm.company.update": lambda p: self._update(_COMPANY, "crm.company.update", p),
            "crm.company.get": lambda p: self._get(_COMPANY, p),
            "crm.company.list": lambda p: self._list(_COMPANY, self.companies, p),
            "crm.requisite.add": self._requisite_add,
            "crm.requisite.list": lambda p: self._list(_REQUISITE, self.requisites, p),
            "crm.requisite.preset.list": lambda p: self._list(_PRESET, self.presets, p),
            "crm.contact.company.add": self._contact_company_add,
            "crm.contact.company.items.get": self._contact_company_items,
            "crm.duplicate.findbycomm": self._findbycomm,
        }

    # -- lifecycle --

    def _handler(self):
        return _Handler

    def _configure(self, server) -> None:
        server.fake = self  # type: ignore[attr-defined]
        server.handle_error = lambda request, address: None  # dropped sockets are expected

    def _release(self) -> None:
        self._stopping = True
        with self._lock:
            if self._hold_release is not None:
                self._hold_release.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/rest/"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{self.webhook_user}/{self.webhook_code}/"

    # -- seeding --

    def add_contact(self, **fields: Any) -> int:
        """Seed an existing portal contact; PHONE/EMAIL may be plain strings."""
        with self._lock:
            return self._create(_CONTACT, _seed_fields(fields))

    def add_company(self, **fields: Any) -> int:
        with self._lock:
            return self._create(_COMPANY, _seed_fields(fields))

    # -- fault injection --

    def fail_next(self, status: int, error: str, description: str = "", *,
                  after_commit: bool = False) -> None:
        """Answer the next request with this error, before running it or after committing it."""
        with self._lock:
            self._faults.append(_Fault("fail", after_commit, status, error, description))

    def drop_next(self, *, after_commit: bool = True) -> None:
        """Close the next request's socket without an answer (after committing it by default)."""
        with self._lock:
            self._faults.append(_Fault("drop", after_commit))

    def hold_after_commits(self, n: int) -> threading.Event:
        """Block the request that makes the n-th committed add (counted from now) before it
        goes on; it resumes when the returned event is set. stop() releases it and the
        request is then abandoned: the rest of its batch is not run and no answer is sent."""
        with self._lock:
            self._hold_n, self._hold_seen = n, 0
            self._hold_release = threading.Event()
            self.held.clear()
            return self._hold_release

    def expire_token(self, token: str) -> None:
        with self._lock:
            self._expired.add(token)

    def validation(self, fn: Callable[[str, dict], Any] | None) -> None:
        """fn(method, fields) -> None, an error text, or (error_code, text): the portal's
        refusal of one add/update, answered as a method error (per command in a batch)."""
        self._validator = fn

    # -- HTTP entry --

    def _serve(self, verb: str, target: str, content_type: str, body: bytes) -> Any:
        arrived, wall_start = self._clock(), time.time()
        split = urlsplit(target)
        params = parse_php_query(split.query) if split.query else {}
        params = {**params, **_body_params(content_type, body)} if body else params
        method = _method_in_path(split.path)
        try:
            self._authorize(split.path, params)
            outcome = self._admit_and_run(method, params, wall_start)
        except RestError as refused:
            outcome = (refused.status, refused.body())
        status = 0 if outcome is _DROP else outcome[0]
        with self._lock:
            n = len(_items(resolve_array_param(params, "cmd", []))) if method == "batch" else 1
            self.requests.append(RequestLog(arrived, verb, method, n, status))
        return outcome

    def _authorize(self, path: str, params: dict) -> None:
        """Webhook /rest/USER/CODE/METHOD or OAuth /rest/METHOD?auth=TOKEN; then the method."""
        parts = [p for p in path[len("/rest/"):].split("/") if p] \
            if path.startswith("/rest/") else []
        if len(parts) == 3:
            user, code, _ = parts
            if user != str(self.webhook_user) or code != self.webhook_code:
                raise RestError("Invalid request credentials", "INVALID_CREDENTIALS", 401)
        elif len(parts) == 1:
            token = params.pop("auth", None)
            if not token:
                raise RestError("Wrong authorization data", "NO_AUTH_FOUND", 401)
            if token in self._expired:
                raise RestError("The access token provided has expired", "expired_token", 401)
            if token not in self._tokens:
                raise RestError("The access token provided is invalid.", "invalid_token", 401)
        else:
            raise RestError("Method not found!", "ERROR_METHOD_NOT_FOUND", 404)
        method = _method_in_path(path)
        if method != "batch" and method not in self._methods:
            raise RestError("Method not found!", "ERROR_METHOD_NOT_FOUND", 404)

    def _admit_and_run(self, method: str, params: dict, wall_start: float) -> Any:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            if fault is not None and not fault.after_commit:
                return _fault_answer(fault)
            if not self._admit():
                if fault is not None:
                    self._faults.appendleft(fault)
                raise RestError("Too many requests", "QUERY_LIMIT_EXCEEDED", 503)
        self._local.abandoned = False
        if method == "batch":
            payload = self._batch(params)
        else:
            payload = self._single(method, params)
        if self._local.abandoned:
            return _DROP
        if fault is not None:
            return _fault_answer(fault)
        if isinstance(payload, RestError):
            return payload.status, payload.body()
        payload["time"] = _time_block(wall_start)
        return 200, payload

    def _admit(self) -> bool:
        """Leaky bucket: `burst` requests at once, draining `drain_per_s` a second."""
        now = self._clock()
        if self._bucket_last is not None:
            drained = (now - self._bucket_last) * self._drain
            self._bucket_level = max(0.0, self._bucket_level - drained)
        self._bucket_last = now
        if self._bucket_level + 1 > self._burst + 1e-9:
            return False
        self._bucket_level += 1
        return True

    # -- execution --

    def _call(self, method: str, params: dict) -> Any:
        with self._lock:
            return self._methods[method](params)

    def _single(self, method: str, params: dict) -> dict | RestError:
        try:
            result = self._call(method, params)
        except RestError as error:
            self._wait_if_held()
            return error
        self._wait_if_held()
        if isinstance(result, ListResult):
            payload = {"result": result.items, "total": result.total}
            if result.next is not None:
                payload["next"] = result.next
            return payload
        return {"result": result}

    def _batch(self, params: dict) -> dict:
        raw = resolve_array_param(params, "cmd", [])
        commands = list(raw.items()) if isinstance(raw, dict) else list(enumerate(_items(raw)))
        halt = php_truthy(params.get("halt", 0))
        out: dict[str, dict] = {name: {} for name in ("result", "result_error", "result_total",
                                                      "result_next", "result_time")}
        for position, (key, command) in enumerate(commands):
            key, started = str(key), time.time()
            try:
                if position >= BATCH_LIMIT:
                    raise RestError("Max batch length exceeded", "ERROR_BATCH_LENGTH_EXCEEDED")
                method, _, query = str(command).partition("?")
                method = method.strip().lower()
                sub = _substitute(parse_php_query(query), out)
                if method == "batch":
                    raise RestError("Method is not allowed for batch usage",
                                    "ERROR_BATCH_METHOD_NOT_ALLOWED")
                if method not in self._methods:
                    raise RestError("Method not found!", "ERROR_METHOD_NOT_FOUND")
                try:
                    result = self._call(method, sub)
                finally:
                    self._wait_if_held()
            except RestError as error:
                out["result_error"][key] = error.body()
                if self._local.abandoned or halt:
                    break
                continue
            if self._local.abandoned:
                break
            if isinstance(result, ListResult):
                out["result_total"][key] = result.total
                if result.next is not None:
                    out["result_next"][key] = result.next
                result = result.items
            out["result"][key] = result
            out["result_time"][key] = _time_block(started, with_operating=False)
        return {"result": out}

    def _note_add(self) -> None:
        """Count a committed add for hold_after_commits (runs under the lock)."""
        if self._hold_n is None:
            return
        self._hold_seen += 1
        if self._hold_seen == self._hold_n:
            self._local.hold = self._hold_release

    def _wait_if_held(self) -> None:
        release = getattr(self._local, "hold", None)
        if release is None:
            return
        self._local.hold = None
        self.held.set()
        release.wait()
        self.held.clear()
        if self._stopping:
            self._local.abandoned = True

    def _validate(self, method: str, fields: dict) -> None:
        if self._validator is None:
            return
        verdict = self._validator(method, fields)
        if verdict is None:
            return
        if isinstance(verdict, tuple):
            raise RestError(str(verdict[1]), str(verdict[0]))
        raise RestError(str(verdict))

    # -- records --

    def _records(self, spec: _Spec) -> dict[int, dict]:
        return {"CONTACT": self.contacts, "COMPANY": self.companies,
                "REQUISITE": self.requisites, "PRESET": self.presets}[spec.name]

    def _create(self, spec: _Spec, fields: dict, *, import_mode: bool = False) -> int:
        self._seq[spec.name] += 1
        record_id = self._seq[spec.name]
        now = _now_iso()
        record: dict[str, Any] = {name: None for name in spec.fields}
        record.update(spec.defaults)
        user = str(self.webhook_user)
        record.update({"ID": str(record_id), "DATE_CREATE": now, "DATE_MODIFY": now,
                       "CREATED_BY_ID": user, "MODIFY_BY_ID": user})
        if "ASSIGNED_BY_ID" in record:
            record["ASSIGNED_BY_ID"] = user
        for name, value in fields.items():
            if name in spec.writable or name.startswith("UF_") or (
                    import_mode and name in _IMPORT_ONLY):
                record[name] = _store(value)
        for name in spec.multi:
            record[name] = self._new_multi(name, fields.get(name))
        self._records(spec)[record_id] = record
        if spec is _CONTACT:
            self._set_bindings(record_id, fields, creating=True)
        self._after_change(spec, record_id)
        return record_id

    def _new_multi(self, name: str, value: Any) -> list[dict]:
        items = []
        for item in _items(value):
            if isinstance(item, dict) and str(item.get("VALUE") or "") != "":
                items.append(self._multi_item(name, item))
        return items

    def _multi_item(self, name: str, item: dict) -> dict:
        self._seq["FM"] += 1
        return {"ID": str(self._seq["FM"]), "VALUE_TYPE": str(item.get("VALUE_TYPE") or ""),
                "VALUE": str(item["VALUE"]), "TYPE_ID": name}

    def _modify(self, spec: _Spec, record_id: int, fields: dict) -> None:
        record = self._records(spec)[record_id]
        for name, value in fields.items():
            if name in spec.writable or name.startswith("UF_"):
                record[name] = _store(value)
        for name in spec.multi:
            if name in fields:
                self._update_multi(record, name, fields[name])
        if spec is _CONTACT:
            self._set_bindings(record_id, fields, creating=False)
        record["DATE_MODIFY"] = _now_iso()
        self._after_change(spec, record_id)

    def _update_multi(self, record: dict, name: str, value: Any) -> None:
        """With ID: overwrite, or delete on DELETE=Y / empty VALUE; without ID: append."""
        current = record.get(name) or []
        by_id = {item["ID"]: item for item in current}
        for item in _items(value):
            if not isinstance(item, dict):
                continue
            if item.get("ID") not in (None, ""):
                existing = by_id.get(str(php_intval(item["ID"])))
                if existing is None:
                    continue
                delete = str(item.get("DELETE", "")).upper() == "Y"
                if delete or str(item.get("VALUE") or "") == "":
                    current = [i for i in current if i is not existing]
                else:
                    existing["VALUE"] = str(item["VALUE"])
                    if item.get("VALUE_TYPE"):
                        existing["VALUE_TYPE"] = str(item["VALUE_TYPE"])
            elif str(item.get("VALUE") or "") != "":
                current = current + [self._multi_item(name, item)]
        record[name] = current

    def _set_bindings(self, contact_id: int, fields: dict, *, creating: bool) -> None:
        ids = fields.get("COMPANY_IDS")
        if ids is not None or creating:
            for company_id in list(self.contact_companies.get(contact_id, [])):
                self._binding_sort.pop((contact_id, company_id), None)
            self.contact_companies[contact_id] = []
            self._primary.pop(contact_id, None)
            for company_id in _items(ids):
                self._bind(contact_id, php_intval(company_id), primary=False)
        if php_intval(fields.get("COMPANY_ID")) > 0:
            self._bind(contact_id, php_intval(fields["COMPANY_ID"]), primary=True)
        elif "COMPANY_ID" in fields and not creating:
            self._primary.pop(contact_id, None)
        self._sync_primary(contact_id)

    def _bind(self, contact_id: int, company_id: int, *, primary: bool,
              sort: int | None = None) -> bool:
        if company_id <= 0:
            return False
        bound = self.contact_companies.setdefault(contact_id, [])
        if company_id in bound:
            if primary:
                self._primary[contact_id] = company_id
            return False
        sorts = [self._binding_sort[(contact_id, c)] for c in bound]
        self._binding_sort[(contact_id, company_id)] = (
            sort if sort is not None else (max(sorts) if sorts else 0) + 10)
        bound.append(company_id)
        bound.sort(key=lambda c: self._binding_sort[(contact_id, c)])
        if primary or contact_id not in self._primary:
            self._primary[contact_id] = company_id
        return True

    def _sync_primary(self, contact_id: int) -> None:
        if contact_id not in self.contacts:
            return
        bound = self.contact_companies.get(contact_id, [])
        if self._primary.get(contact_id) not in bound:
            self._primary.pop(contact_id, None)
            if bound:
                self._primary[contact_id] = bound[0]
        primary = self._primary.get(contact_id)
        self.contacts[contact_id]["COMPANY_ID"] = None if primary is None else str(primary)

    def _after_change(self, spec: _Spec, record_id: int) -> None:
        record = self._records(spec).get(record_id)
        if spec.multi and record is not None:
            record["HAS_PHONE"] = "Y" if record.get("PHONE") else "N"
            record["HAS_EMAIL"] = "Y" if record.get("EMAIL") else "N"
            record["HAS_IMOL"] = "Y" if record.get("IM") else "N"
        if spec.name not in self._index:
            return
        index = self._index[spec.name]
        for field, key in self._index_keys.pop((spec.name, record_id), []):
            index[field][key].discard(record_id)
        if record is None:
            return
        keys = [(f, str(record[f]).casefold()) for f in _INDEXED if record.get(f) is not None]
        for name in ("PHONE", "EMAIL"):
            for item in record.get(name) or []:
                keys.append((name, str(item["VALUE"]).casefold()))
                keys.append(("~" + name, _COMM_NORMALIZERS[name](item["VALUE"])))
        for field, key in keys:
            index[field][key].add(record_id)
        self._index_keys[(spec.name, record_id)] = keys

    def _external(self, spec: _Spec, record: dict, select: list | None) -> dict:
        """A record as get (select None) or list answers it."""
        if select is None:
            out = {k: v for k, v in record.items() if k not in spec.multi}
            out.update({m: [dict(i) for i in record[m]] for m in spec.multi if record.get(m)})
            return out
        wanted: list[str] = []
        multi = [m for m in spec.multi if m in select]
        for name in select or ["*", "UF_*"]:
            if name == "*":
                wanted += [k for k in record if k not in spec.multi and not k.startswith("UF_")]
            elif name == "UF_*":
                wanted += [k for k in record if k.startswith("UF_")]
            elif name in record and name not in spec.multi:
                wanted.append(name)
        if multi and "ID" not in wanted:
            wanted.append("ID")
        out = {k: record[k] for k in dict.fromkeys(wanted)}
        out.update({m: [dict(i) for i in record[m]] for m in multi if record.get(m)})
        return out

    # -- methods --

    def _fields_param(self, params: dict, message: str = "Parameter 'fields' must be array.")\
            -> dict:
        fields = resolve_array_param(params, "fields", {})
        if isinstance(fields, list):
            fields = {str(i): v for i, v in enumerate(fields)}
        if not isinstance(fields, dict):
            raise RestError(message)
        return fields

    def _add(self, spec: _Spec, method: str, params: dict) -> int:
        fields = self._fields_param(params)
        options = resolve_array_param(params, "params", {})
        import_mode = isinstance(options, dict) and str(options.get("IMPORT", "")) == "Y"
        self._validate(method, fields)
        record_id = self._create(spec, fields, import_mode=import_mode)
        self._note_add()
        return record_id

    def _update(self, spec: _Spec, method: str, params: dict) -> bool:
        record_id = resolve_entity_id(params)
        if record_id <= 0:
            raise RestError("ID is not defined or invalid.")
        fields = self._fields_param(params)
        if record_id not in self._records(spec):
            raise RestError(spec.not_found)
        self._validate(method, fields)
        self._modify(spec, record_id, fields)
        return True

    def _get(self, spec: _Spec, params: dict) -> dict:
        record_id = resolve_entity_id(params)
        if record_id <= 0:
            raise RestError("ID is not defined or invalid.")
        record = self._records(spec).get(record_id)
        if record is None:
            raise RestError("Not found")
        return self._external(spec, record, None)

    def _delete(self, spec: _Spec, params: dict) -> bool:
        record_id = resolve_entity_id(params)
        if record_id <= 0:
            raise RestError("ID is not defined or invalid.")
        if self._records(spec).pop(record_id, None) is None:
            raise RestError(spec.not_found)
        self._after_change(spec, record_id)
        for company_id in self.contact_companies.pop(record_id, []):
            self._binding_sort.pop((record_id, company_id), None)
        self._primary.pop(record_id, None)
        owner_type = str(CONTACT_TYPE_ID if spec is _CONTACT else COMPANY_TYPE_ID)
        for rid in [r for r, rq in self.requisites.items()
                    if (rq["ENTITY_TYPE_ID"], rq["ENTITY_ID"]) == (owner_type, str(record_id))]:
            del self.requisites[rid]
        return True

    def _list(self, spec: _Spec, records: dict[int, dict], params: dict) -> ListResult:
        order = resolve_array_param(params, "order", {})
        if not isinstance(order, (dict, list)):
            raise RestError("Parameter 'order' must be array.")
        filter_ = resolve_array_param(params, "filter", {})
        if not isinstance(filter_, (dict, list)):
            raise RestError("Parameter 'filter' must be array.")
        select = [str(s) for s in _items(resolve_array_param(params, "select", []))]
        conditions = []
        known = set(spec.fields) | set(spec.multi)
        for key, wanted in (filter_.items() if isinstance(filter_, dict) else []):
            op, field = _split_filter_key(str(key))
            if field in known or field.startswith("UF_") or field.startswith("RQ_"):
                conditions.append((field, op, wanted))  # unknown keys are dropped silently
        matched = [records[i] for i in self._candidates(spec, records, conditions)]
        matched = [r for r in matched if all(
            _multi_matches(op, wanted, r.get(field) or []) if field in spec.multi
            else _scalar_matches(field, op, wanted, r.get(field))
            for field, op, wanted in conditions)]
        for field, direction in reversed(list(order.items()) if isinstance(order, dict) else []):
            numeric = field in _NUMERIC
            matched.sort(key=lambda r, f=field, n=numeric: php_intval(r.get(f)) if n
                         else str(r.get(f) or "").casefold(),
                         reverse=str(direction).upper() == "DESC")
        start = php_intval(params.get("start", params.get("START", 0)))
        selection = select if spec.multi else (select or None)
        if start == -1:  # no count query: first page, total 0, no next (huge-data docs)
            page = matched[:PAGE_SIZE]
            return ListResult([self._list_item(spec, r, selection) for r in page], 0, None)
        start = max(start, 0)
        page = matched[start:start + PAGE_SIZE]
        following = start + PAGE_SIZE if start + PAGE_SIZE < len(matched) else None
        return ListResult([self._list_item(spec, r, selection) for r in page], len(matched),
                          following)

    def _list_item(self, spec: _Spec, record: dict, select: list | None) -> dict:
        if spec.multi:
            return self._external(spec, record, select)
        if not select:
            return {k: v for k, v in record.items()}
        return {k: record.get(k) for k in select if k in record}

    def _candidates(self, spec: _Spec, records: dict, conditions: list) -> list[int]:
        """Ids worth testing: an equality index when a condition allows it, else all."""
        index = self._index.get(spec.name)
        if index is not None:
            for field, op, wanted in conditions:
                if op in ("=", "@") and (field in _INDEXED or field in ("PHONE", "EMAIL")):
                    values = _items(wanted) if isinstance(wanted, (list, dict)) else [wanted]
                    found: set[int] = set()
                    for value in values:
                        found |= index[field].get(str(_store(value)).casefold(), set())
                    return sorted(i for i in found if i in records)
        return sorted(records)

    def _requisite_add(self, params: dict) -> int:
        fields = self._fields_param(params)
        entity_type = php_intval(fields.get("ENTITY_TYPE_ID"))
        if entity_type not in (CONTACT_TYPE_ID, COMPANY_TYPE_ID):
            raise RestError("ENTITY_TYPE_ID is not defined or invalid.")
        entity_id = php_intval(fields.get("ENTITY_ID"))
        if entity_id <= 0:
            raise RestError("ENTITY_ID is not defined or invalid.")
        if php_intval(fields.get("PRESET_ID")) not in self.presets:
            raise RestError("PRESET_ID is not defined or invalid.")
        owners = self.contacts if entity_type == CONTACT_TYPE_ID else self.companies
        if entity_id not in owners:
            raise RestError("Entity not found.")
        self._validate("crm.requisite.add", fields)
        self._seq["REQUISITE"] += 1
        record_id, now, user = self._seq["REQUISITE"], _now_iso(), str(self.webhook_user)
        record: dict[str, Any] = {name: None for name in _REQUISITE.fields}
        record.update(_REQUISITE.defaults)
        record.update({"ID": str(record_id), "ENTITY_TYPE_ID": str(entity_type),
                       "ENTITY_ID": str(entity_id), "PRESET_ID": str(fields["PRESET_ID"]),
                       "DATE_CREATE": now, "CREATED_BY_ID": user})
        for name, value in fields.items():
            if name in _REQUISITE.writable or name.startswith(("RQ_", "UF_")):
                record[name] = _store(value)
        self.requisites[record_id] = record
        self._note_add()
        return record_id

    def _contact_company_add(self, params: dict) -> bool:
        contact_id = resolve_entity_id(params)
        if contact_id <= 0:
            raise RestError("The parameter 'ownerEntityID' is invalid or not defined.")
        fields = self._fields_param(params, "The parameter 'fields' must be array.")
        if contact_id not in self.contacts:
            raise RestError("Not found")
        company_id = php_intval(fields.get("COMPANY_ID"))
        if company_id <= 0:
            raise RestError("The parameter 'fields' is not valid.")
        sort = php_intval(fields["SORT"]) if fields.get("SORT") not in (None, "") else None
        primary = str(fields.get("IS_PRIMARY", "")).upper() == "Y"
        added = self._bind(contact_id, company_id, primary=primary, sort=sort)
        self._sync_primary(contact_id)
        return added

    def _contact_company_items(self, params: dict) -> list[dict]:
        contact_id = resolve_entity_id(params)
        if contact_id <= 0:
            raise RestError("The parameter 'ownerEntityID' is invalid or not defined.")
        primary = self._primary.get(contact_id)
        return [{"COMPANY_ID": c, "SORT": self._binding_sort[(contact_id, c)], "ROLE_ID": 0,
                 "IS_PRIMARY": "Y" if c == primary else "N"}
                for c in self.contact_companies.get(contact_id, [])]

    def _findbycomm(self, params: dict) -> dict:
        """CCrmDuplicateRestProxy::FINDBYCOMM: the first 20 distinct values, 20 oldest ids each."""
        kind = str(resolve_param(params, "type", "")).upper()
        if kind not in ("EMAIL", "PHONE"):
            if kind == "":
                raise RestError("Parameter 'type' is required.",
                                "Communication type is not defined")
            raise RestError(f"Communication type '{kind}' is not supported in current context.")
        values = resolve_array_param(params, "values")
        if not isinstance(values, (list, dict)) or not _items(values):
            raise RestError("Parameter 'values' is required.",
                            "Communication values is not defined")
        entity = resolve_param(params, "entity_type", "")
        entity = entity.upper() if isinstance(entity, str) else ""
        if entity == "DEAL":
            raise RestError("Deal is not supported in current context.")
        types = [entity] if entity in ("LEAD", "CONTACT", "COMPANY") else [
            "LEAD", "CONTACT", "COMPANY"]
        normalize = _COMM_NORMALIZERS[kind]
        seen: dict[str, None] = {}
        found: dict[str, dict[int, None]] = {}
        for value in _items(values):
            if not isinstance(value, str) or value == "":
                continue
            key = normalize(value)
            if key in seen:
                continue
            seen[key] = None
            budget = FINDBYCOMM_IDS
            for type_name in types:
                ids = sorted(self._index[type_name]["~" + kind].get(key, ())) \
                    if key and type_name in self._index else []
                for record_id in ids[:budget]:
                    found.setdefault(type_name, {})[record_id] = None  # ordered, deduplicated
                budget -= min(budget, len(ids))
                if budget == 0:
                    break
            if len(seen) >= FINDBYCOMM_VALUES:
                break
        return {type_name: list(ids) for type_name, ids in found.items()}

    @staticmethod
    def _default_presets(first_id: int) -> dict[int, dict]:
        names = [("Organization", "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#"),
                 ("Sole Proprietorship", "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"),
                 ("Individual", "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#")]
        presets = {}
        for offset, (name, xml_id) in enumerate(names):
            preset_id = first_id + offset
            presets[preset_id] = {
                "ID": str(preset_id), "ENTITY_TYPE_ID": "8", "COUNTRY_ID": "1", "NAME": name,
                "DATE_CREATE": "2024-01-01T00:00:00+03:00", "DATE_MODIFY": "",
                "CREATED_BY_ID": "1", "MODIFY_BY_ID": "0", "ACTIVE": "Y", "XML_ID": xml_id,
                "SORT": str(500 + 10 * offset)}
        return presets


# --- helpers used by the server ------------------------------------------------------------


def _seed_fields(fields: dict) -> dict:
    seeded = dict(fields)
    for name in MULTI_FIELDS:
        if name in seeded:
            seeded[name] = [item if isinstance(item, dict) else
                            {"VALUE": item, "VALUE_TYPE": "WORK"} for item in _items(seeded[name])]
    return seeded


def _method_in_path(path: str) -> str:
    """The REST method a path names: its last segment, lower case, without .json/.xml."""
    last = [p for p in path.split("/") if p][-1:] or [""]
    return re.sub(r"\.(json|xml)$", "", last[0].lower())


def _body_params(content_type: str, body: bytes) -> dict:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            parsed = json.loads(text)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return parse_php_query(text)


_MACRO = re.compile(r"\$(result|error|total|next|time)\[([^\]]+)\]((?:\[[^\]]*\])*)")
_MACRO_MAPS = {"result": "result", "error": "result_error", "total": "result_total",
               "next": "result_next", "time": "result_time"}


def _substitute(value: Any, out: dict) -> Any:
    """Replace $result[key][field]... in a batch command's values with earlier results."""
    if isinstance(value, dict):
        return {k: _substitute(v, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, out) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value

    def lookup(match: re.Match) -> tuple[bool, Any]:
        node: Any = out[_MACRO_MAPS[match.group(1)]]
        for step in [match.group(2)] + re.findall(r"\[([^\]]*)\]", match.group(3)):
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and _INT_KEY.match(step) and int(step) < len(node):
                node = node[int(step)]
            else:
                return False, None
        return True, node

    whole = _MACRO.fullmatch(value)
    if whole:
        found, resolved = lookup(whole)
        return resolved if found else value

    def replace(match: re.Match) -> str:
        found, resolved = lookup(match)
        return str(_store(resolved)) if found and not isinstance(resolved, (dict, list)) \
            else match.group(0)

    return _MACRO.sub(replace, value)


def _fault_answer(fault: _Fault) -> Any:
    if fault.kind == "drop":
        return _DROP
    return fault.status, {"error": fault.error, "error_description": fault.description}


def _time_block(started: float, *, with_operating: bool = True) -> dict:
    finished = time.time()
    block = {"start": started, "finish": finished, "duration": finished - started,
             "processing": finished - started,
             "date_start": datetime.fromtimestamp(started).astimezone().isoformat("T", "seconds"),
             "date_finish": datetime.fromtimestamp(finished).astimezone().isoformat("T",
                                                                                    "seconds")}
    if with_operating:
        block["operating_reset_at"] = int(started) + 600
        block["operating"] = 0
    return block


class _Handler(BaseHTTPRequestHandler):
    """Reads the request, lets the portal answer, writes JSON (or drops the socket)."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeBitrix24"

    def setup(self) -> None:
        super().setup()
        # one segment per answer: without this, Nagle + delayed ACK add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeBitrix24 = self.server.fake  # type: ignore[attr-defined]
        outcome = fake._serve(verb, self.path, self.headers.get("Content-Type", ""), body)
        if outcome is _DROP:
            drop_connection(self)
            return
        status, payload = outcome
        data = json.dumps(php_json(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n" + data)  # headers and body in one write
        self.flush_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass
