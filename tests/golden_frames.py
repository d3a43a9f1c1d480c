"""Hand-made golden data for export tests: empty frames with the workspace's own column
types, filled with the rows a test names."""

from __future__ import annotations

import polars as pl

from crmtool.export.data import _CROSSWALK, ExportData


def empty_frames(ws) -> dict[str, pl.DataFrame]:
    return {name: ws.con.sql(sql).pl() for name, sql in (
        ("contacts", "SELECT * FROM contacts"), ("companies", "SELECT * FROM companies"),
        ("links", "SELECT contact_id, company_id, via, record_ids FROM contact_company"), ("crosswalk", _CROSSWALK))}


def make(frames, **rows) -> ExportData:
    built = {}
    for name, empty in frames.items():
        given = [{c: r.get(c) for c in empty.columns} for r in rows.get(name, [])]
        built[name] = pl.DataFrame(given, schema=empty.schema) if given else empty
    return ExportData(**built)
