"""HTTP with the portal's manners: throttled, retried where retrying is safe.

Each target classifies an answer (`Verdict`): done, refused before running (rate limit:
retry after a pause), failed in a way that may have run (5xx, a dropped connection:
a read is retried, a write raises `Ambiguous` so the caller looks its records up
before sending them again), an auth failure (stop at once) or a plain error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import httpx

from crmtool import console
from crmtool.errors import CrmError
from crmtool.push.throttle import LeakyBucket


CONNECT_ATTEMPTS = 3   # a portal that refuses connections three times is the wrong address or down
NOTICE_DELAY = 5.0     # waits at least this long are announced


class Verdict(Enum):
    OK = "ok"
    THROTTLED = "throttled"      # refused before running: safe to resend
    UNSURE = "unsure"            # may have run: resend reads, reconcile writes
    AUTH = "auth"                # credentials refused: stop
    ERROR = "error"              # a plain error: the caller reads the body


class AuthFailure(CrmError):
    """The portal refused the credentials (expired or wrong token, bad webhook)."""


class Ambiguous(Exception):
    """A write may or may not have landed (5xx, timeout, dropped connection)."""


class GaveUp(CrmError):
    """The portal kept failing after every retry: the push stopped part way (the ledger
    keeps what went out; running push again resumes)."""

    exit_code = 1


@dataclass
class RetryPolicy:
    attempts: int = 8
    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.cap, max(retry_after, 0.0))
        return min(self.cap, self.base * 2 ** attempt)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Transport:
    """One HTTP client, one bucket, one retry policy; `classify` is the target's."""

    def __init__(self, classify: Callable[[httpx.Response], tuple[Verdict, str]], bucket: LeakyBucket,
                 policy: RetryPolicy | None = None, *, timeout: float = 70.0, headers: dict | None = None,
                 redact: Callable[[str], str] = lambda s: s, sleep: Callable[[float], None] = time.sleep):
        self.classify = classify
        self.bucket = bucket
        self.policy = policy or RetryPolicy()
        self.client = httpx.Client(timeout=timeout, headers=headers or {})
        self.redact = redact
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self.client.close()

    def send(self, method: str, url: str, *, write: bool, **kwargs) -> httpx.Response:
        """The answer to one request, after throttling and the retries that are safe.
        Returns OK and ERROR answers; raises AuthFailure, Ambiguous (writes) or GaveUp."""
        last = ""
        for attempt in range(self.policy.attempts):
            self.bucket.acquire()
            self.requests += 1
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.ConnectError as exc:
                # nothing was sent: safe to retry, but a wrong address should not take minutes to tell
                last = f"cannot connect to {httpx.URL(url).host}: {exc}"
                if attempt + 1 >= CONNECT_ATTEMPTS:
                    raise CrmError(f"{self.redact(last)} (check the portal address)") from None
                self._pause(attempt, None, last)
                continue
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                if write:
                    raise Ambiguous(self.redact(last)) from None
                self._pause(attempt, None, last)
                continue
            verdict, message = self.classify(response)
            if verdict in (Verdict.OK, Verdict.ERROR):
                return response
            last = f"HTTP {response.status_code} {message}".strip()
            if verdict is Verdict.AUTH:
                raise AuthFailure(f"the portal refused the credentials: {self.redact(last)}")
            if verdict is Verdict.UNSURE and write:
                raise Ambiguous(self.redact(last))
            if verdict is Verdict.THROTTLED:
                self.bucket.full()
            self._pause(attempt, retry_after(response), last)
        raise GaveUp(f"the portal kept failing after {self.policy.attempts} attempts: {self.redact(last)}")

    def _pause(self, attempt: int, hint: float | None, why: str) -> None:
        self.retries += 1
        delay = self.policy.delay(attempt, hint)
        if delay >= NOTICE_DELAY:   # a long wait is worth a line; the short ones of a rate limit are not
            console.warn(f"{self.redact(why)}; retrying in {delay:.0f} s "
                         f"(attempt {attempt + 2} of {self.policy.attempts})")
        self.sleep(delay)
