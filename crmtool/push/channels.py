"""Phones and e-mails as both CRMs take them, and as they compare them.

A golden record's typed lists become (shown, type, bare) triples once; each target maps the
type to its own codes. Values on a portal card are compared by `channel_key`: a phone by its
digits (extension cut, a Russian 8XXXXXXXXXX read as 7XXXXXXXXXX), an e-mail case-insensitively.
"""

from __future__ import annotations

from typing import Iterable


def typed_channels(values: list[dict] | None, phone: bool) -> list[tuple[str, str, str]]:
    """(value as the CRM shows it — a phone with " доб. N" —, its type upper-cased (OTHER when
    unknown), the bare value the duplicate look-ups use) for every non-empty value."""
    out = []
    for item in values or []:
        value = (item.get("value") or "").strip()
        if not value:
            continue
        shown = f"{value} доб. {item['ext']}" if phone and item.get("ext") else value
        out.append((shown, (item.get("type") or "OTHER").upper(), value if phone else value.lower()))
    return out


def channel_key(value, phone: bool) -> str:
    """How a portal's value is compared with ours."""
    if not phone:
        return str(value).strip().lower()
    digits = "".join(ch for ch in str(value).split(" доб")[0] if ch.isdigit())
    return "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits


def not_on_card(have: Iterable[str], ours: list[dict] | None, field: str, phone: bool) -> list[dict]:
    """Our items (value under `field`) whose value the card does not hold yet."""
    known = {channel_key(value, phone) for value in have}
    return [item for item in ours or [] if channel_key(item[field], phone) not in known]
