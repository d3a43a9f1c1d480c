"""Duplicates inside one file, found by the same matcher `crmtool run` uses.

The rows are handed to the loader as a small CSV with an explicit column
mapping (so crmtool's own headers such as `name` cannot be misread) and
their file line in an extra column; then normalize and match run on a
throw-away in-memory workspace. A cluster with more than one row is a group
of duplicates: the CRM would get the same person (or company) twice.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from crmtool.check.layouts import CRMTOOL_COMPANIES, CRMTOOL_CONTACTS
from crmtool.check.reader import Table
from crmtool.check.rules import DUPLICATE, conform, no_findings, row_label
from crmtool.errors import CrmError
from crmtool.export.layouts import Layout
from crmtool.match.stage import match_workspace
from crmtool.normalize.runner import normalize_workspace
from crmtool.sources.base import ReadOptions
from crmtool.sources.headers import map_header
from crmtool.sources.loader import load_file
from crmtool.workspace import Workspace

LINE_COLUMN = "crmtool check line"
# Fields the matcher compares; the rest of a row does not decide who is who.
MATCH_FIELDS = {"full_name", "last_name", "first_name", "middle_name", "gender", "company", "job_title",
                "department", "inn", "kpp", "ogrn", "city", "phones", "emails"}
# crmtool's own headers, where the header synonyms would guess wrong ("name" is a person's there).
CRMTOOL_TARGETS = {
    CRMTOOL_CONTACTS.key: {"last_name": "last_name", "first_name": "first_name", "middle_name": "middle_name",
                           "full_name": "full_name", "gender": "gender", "phones": "phones", "emails": "emails",
                           "companies": "company", "job_title": "job_title", "city": "city",
                           "department": "department"},
    CRMTOOL_COMPANIES.key: {"name": "company", "inn": "inn", "kpp": "kpp", "ogrn": "ogrn", "phones": "phones",
                            "emails": "emails", "city": "city"},
}


def targets(layout: Layout, header: list[str]) -> dict[str, str]:
    """File column → record field (`phones:work` …) for the columns the matcher uses."""
    phones = {c.lower() for c in layout.phone_columns}
    emails = {c.lower() for c in layout.email_columns}
    fixed = {k.lower(): v for k, v in CRMTOOL_TARGETS.get(layout.key, {}).items()}
    mapped = {}
    for column in header:
        key = column.strip().lower()
        if fixed:
            target = fixed.get(key)
        elif key in phones or key in emails:
            found = map_header(column)
            field = "phones" if key in phones else "emails"
            target = str(found) if found.field == field else field
        else:
            found = map_header(column)
            target = str(found) if found.field in MATCH_FIELDS else None
        if target:
            mapped[column] = target
    return mapped


def find_duplicates(table: Table, layout: Layout, region: str = "RU") -> pl.DataFrame:
    """One finding per row that repeats an earlier one: `group` numbers the cluster,
    the reason names the line it repeats and every line of the group."""
    mapping = targets(layout, table.header)
    if not mapping:
        return no_findings()
    entity = "company" if layout.entity == "company" else "contact"
    with tempfile.TemporaryDirectory(prefix="crmtool-check-") as tmp:
        rows = Path(tmp) / "rows.csv"
        _write_rows(table, list(mapping), rows)
        options = ReadOptions(columns={**mapping, LINE_COLUMN: "extra"}, encoding="utf-8", delimiter=",", header_row=1)
        with Workspace.open(":memory:") as ws:
            outcome = load_file(ws, rows, options)
            if outcome.status != "loaded":
                raise CrmError(f"{table.path}: duplicates could not be checked ({outcome.message})")
            normalize_workspace(ws, region)
            match_workspace(ws)
            members = ws.con.sql(
                f"SELECT c.cluster_id, CAST(json_extract_string(r.extra, '$.\"{LINE_COLUMN}\"') AS BIGINT) AS line"
                f" FROM clusters c JOIN records r USING (record_id) WHERE c.entity = '{entity}'"
            ).pl()
    return _groups(table, layout, members)


def _write_rows(table: Table, columns: list[str], path: Path) -> None:
    """The matcher's columns and each row's line, one physical line per row."""
    flat = [pl.col(c).str.replace_all(r"[\r\n]+", " ").alias(c) for c in columns]
    table.frame.select(flat).with_columns(table.lines.alias(LINE_COLUMN)).write_csv(path)


def _groups(table: Table, layout: Layout, members: pl.DataFrame) -> pl.DataFrame:
    groups = (
        members.drop_nulls("line")
        .group_by("cluster_id").agg(pl.col("line").sort())
        .filter(pl.col("line").list.len() > 1)
        .sort(pl.col("line").list.first())
        .with_row_index("group", offset=1)
    )
    if groups.is_empty():
        return no_findings()
    labels = pl.DataFrame({"line": table.lines, "value": table.frame.select(row_label(table, layout)).to_series()})
    rows = groups.with_columns(
        first=pl.col("line").list.first(),
        all_lines=pl.col("line").cast(pl.List(pl.String)).list.join(", "),
    ).explode("line").filter(pl.col("line") != pl.col("first"))
    rows = rows.join(labels, on="line", how="left").sort("line")
    return conform(rows.select(
        "line", "value",
        column=pl.lit(None, dtype=pl.String), code=pl.lit(DUPLICATE),
        reason=pl.format("same as line {} (group {}: lines {})", pl.col("first"), pl.col("group"), pl.col("all_lines")),
        group=pl.col("group").cast(pl.Int64),
    ))
