"""Bitrix24 REST over a webhook or an OAuth token: single calls and `batch`.

A batch holds at most 50 commands, counts as one request for the portal's leaky bucket,
always answers HTTP 200 and reports each command's failure in `result_error`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from crmtool.errors import CrmError
from crmtool.push import php_query
from crmtool.push.transport import Transport, Verdict

BATCH_MAX = 50
AUTH_ERRORS = {"NO_AUTH_FOUND", "expired_token", "invalid_token", "INVALID_CREDENTIALS", "insufficient_scope",
               "ACCESS_DENIED", "WRONG_AUTH_TYPE", "INVALID_REQUEST", "authorization_error", "user_access_error"}
THROTTLE_ERRORS = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT"}
_WEBHOOK = re.compile(r"^https?://[^/]+(/[^?#]*)?/rest/\d+/[^/]+/?$")


class MethodError(CrmError):
    """The portal refused one call (400 and its error_description)."""


@dataclass(frozen=True)
class Endpoint:
    base: str                 # ends with "/": ".../rest/1/CODE/" or ".../rest/"
    token: str | None = None  # OAuth access token, sent as `auth`

    @property
    def identity(self) -> str:
        """The portal, no secret in it: what the ledger and the journal name."""
        return f"bitrix24:{urlsplit(self.base).netloc}"

    def url(self, method: str) -> str:
        return f"{self.base}{method}.json"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,) if self.token else (self.base,)


def endpoint(secret: str, portal: str | None) -> Endpoint:
    """A webhook URL (https://PORTAL/rest/USER_ID/CODE/) as the secret, or an OAuth token with --portal."""
    if secret.startswith(("http://", "https://")):
        if not _WEBHOOK.match(secret.strip()):
            raise CrmError("the Bitrix24 webhook URL should look like https://PORTAL/rest/USER_ID/CODE/ "
                           "(as the portal shows it under Developer resources → Incoming webhook)")
        return Endpoint(secret.strip().rstrip("/") + "/")
    if not portal:
        raise CrmError("an OAuth token needs --portal https://PORTAL (or give a webhook URL as the secret)")
    base = portal.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        base = "https://" + base
    return Endpoint(base + "/rest/", token=secret.strip())


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


def classify(response: httpx.Response) -> tuple[Verdict, str]:
    """How the portal answered: see transport.Verdict."""
    if response.status_code == 200:
        return Verdict.OK, ""
    error, description = _error_of(response)
    message = f"{error}: {description}".strip(": ")
    if error in THROTTLE_ERRORS:
        return Verdict.THROTTLED, message
    if response.status_code == 401 or error in AUTH_ERRORS:
        return Verdict.AUTH, message
    if response.status_code >= 500:
        return Verdict.UNSURE, message
    return Verdict.ERROR, message


class Bitrix24Api:
    def __init__(self, where: Endpoint, transport: Transport):
        self.where = where
        self.transport = transport

    def _params(self) -> dict:
        return {"auth": self.where.token} if self.where.token else {}

    def call(self, method: str, params: dict | None = None, *, write: bool = False):
        """One method's `result`; MethodError when the portal refuses it."""
        response = self.transport.send("POST", self.where.url(method), write=write, json=params or {},
                                       params=self._params())
        body = response.json()
        if response.status_code != 200 or "error" in body:
            error, description = _error_of(response)
            raise MethodError(f"{method}: {description or error or response.status_code}")
        return body.get("result")

    def batch(self, commands: dict[str, tuple[str, dict]], *, write: bool) -> tuple[dict, dict]:
        """Run up to 50 commands in one request: (results by key, errors by key). A command may
        refer to an earlier one's result as "$result[key]"."""
        if len(commands) > BATCH_MAX:
            raise ValueError(f"a batch holds at most {BATCH_MAX} commands")
        cmd = {key: f"{method}?{php_query.build(params)}" for key, (method, params) in commands.items()}
        result = self.call("batch", {"halt": 0, "cmd": cmd}, write=write) or {}
        results = result.get("result") or {}
        errors = result.get("result_error") or {}
        # empty maps arrive as [] (PHP): normalise to dicts
        return (results if isinstance(results, dict) else {}), (errors if isinstance(errors, dict) else {})

    def batches(self, groups: list[dict[str, tuple[str, dict]]], *, write: bool) -> tuple[dict, dict]:
        """Commands in groups that must share a request (a `$result` reference), packed into
        as few full batches as fit."""
        results, errors, current = {}, {}, {}
        for group in groups:
            if current and len(current) + len(group) > BATCH_MAX:
                r, e = self.batch(current, write=write)
                results.update(r), errors.update(e)
                current = {}
            current.update(group)
        if current:
            r, e = self.batch(current, write=write)
            results.update(r), errors.update(e)
        return results, errors


def error_text(error) -> str:
    """A batch command's error as one line."""
    if isinstance(error, dict):
        return str(error.get("error_description") or error.get("error") or error).strip()
    return str(error)
