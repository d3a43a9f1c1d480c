"""PHP-style bracket query strings, the way a Bitrix24 `batch` command carries its
parameters: fields[PHONE][0][VALUE]=%2B7999… (a `+` must be %2B: PHP reads `+` as a space)."""

from __future__ import annotations

from urllib.parse import quote


def _pairs(prefix: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out += _pairs(f"{prefix}[{key}]" if prefix else str(key), item)
        return out
    if isinstance(value, (list, tuple)):
        if not value:
            return [(prefix, "")]
        out = []
        for i, item in enumerate(value):
            out += _pairs(f"{prefix}[{i}]", item)
        return out
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "Y" if value else "N")]
    return [(prefix, str(value))]


def build(params: dict) -> str:
    """`params` as a query string; `$result[...]` references stay readable for the batch."""
    parts = []
    for key, value in _pairs("", params):
        encoded = quote(value, safe="") if not value.startswith("$result[") else quote(value, safe="$[]")
        parts.append(f"{quote(key, safe='[]')}={encoded}")
    return "&".join(parts)
