"""Normalization: canonical values, match keys and quality flags for every loaded record.

Each family (names, phones, emails, companies, requisites) is a pure function
over polars columns: Python-level work runs once per distinct value, cached.
`runner.py` applies them to the `records` table and writes `normalized` and
`field_checks`; nothing in `records` or `raw_records` is ever changed.

Quality statuses, the same vocabulary for every field:
ok · fixed (a correction; the original is kept beside it) · suggested (a
likely correction offered, the value kept as it was) · invalid · missing.
Each non-ok status carries a short snake_case reason code.
"""

STATUSES = ("ok", "fixed", "suggested", "invalid", "missing")
