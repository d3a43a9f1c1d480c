"""Build a push target from what the user gave: the CRM, its secret, the portal, limits."""

from __future__ import annotations

from dataclasses import dataclass

from crmtool.errors import CrmError
from crmtool.push.secrets import redact
from crmtool.push.throttle import LeakyBucket
from crmtool.push.transport import RetryPolicy, Transport

TARGETS = ("bitrix24", "amocrm")
# the portal's own limits: Bitrix24 drains 2 requests/s with a burst of 50; amoCRM allows 7/s
DEFAULT_RATE = {"bitrix24": 2.0, "amocrm": 7.0}
DEFAULT_BURST = {"bitrix24": 50, "amocrm": 7}


@dataclass
class Limits:
    rate: float | None = None
    burst: int | None = None
    retry: RetryPolicy | None = None


def check_target(name: str) -> None:
    if name not in TARGETS:
        raise CrmError(f"unknown push target {name!r}; targets: {', '.join(TARGETS)}")


def open_target(name: str, secret: str, *, portal: str | None = None, users: dict[str, str] | None = None,
                limits: Limits | None = None):
    limits = limits or Limits()
    check_target(name)
    rate = limits.rate or DEFAULT_RATE[name]
    burst = limits.burst or DEFAULT_BURST[name]
    if rate <= 0 or burst <= 0:
        raise CrmError("--rate and --burst must be positive")
    bucket = LeakyBucket(rate, burst)
    if name == "bitrix24":
        from crmtool.push.bitrix24 import Bitrix24Target
        from crmtool.push.bitrix24_api import classify, endpoint

        where = endpoint(secret, portal)
        transport = Transport(classify, bucket, limits.retry, redact=lambda s: redact(s, *where.secrets))
        return Bitrix24Target(where, transport, users)
    from crmtool.push.amocrm import open_amocrm

    return open_amocrm(secret, portal, users, bucket, limits.retry)
