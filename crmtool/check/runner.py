"""Check one file: read it, pick its layout, run every rule, return the report.

Reading problems (missing, empty, binary, undecodable, unknown layout) end
up in `FileReport.error`, not as exceptions, so that several files are each
checked and the exit code is the worst of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from crmtool.check import rules
from crmtool.check.duplicates import find_duplicates
from crmtool.check.layouts import CHECK_LAYOUTS, column_index, detect_layout
from crmtool.check.reader import Table, read_table
from crmtool.check.report import FileReport, Limits
from crmtool.errors import CrmError
from crmtool.export.layouts import Layout


@dataclass
class CheckSettings:
    layout: Layout | None = None  # None: detect from the header
    encoding: str | None = None
    sep: str | None = None
    limits: Limits = field(default_factory=Limits)
    required: dict[str, list[str]] = field(default_factory=dict)  # entity → column names
    duplicates: bool = True
    region: str = "RU"


def check_file(path: Path, settings: CheckSettings) -> FileReport:
    started = time.perf_counter()
    report = FileReport(str(path), settings.limits)
    try:
        table = read_table(path, settings.encoding, settings.sep)
        report.format, report.encoding, report.delimiter, report.sheet = (
            table.format, table.encoding, table.delimiter, table.sheet)
        layout = settings.layout or detect_layout(table.header)
        if layout is None:
            raise CrmError(
                f"{path}: the header matches no known layout (pass --layout; known: {', '.join(CHECK_LAYOUTS)}); "
                f"header: {', '.join(table.header[:12])}{' …' if len(table.header) > 12 else ''}")
        report.layout, report.rows = layout.key, table.rows
        report.findings, report.skipped = run_rules(table, layout, settings)
    except CrmError as exc:
        report.error = str(exc)
    report.seconds = time.perf_counter() - started
    return report


def run_rules(table: Table, layout: Layout, settings: CheckSettings) -> tuple[pl.DataFrame, dict[str, str]]:
    """All findings of a readable file (sorted by line), and the checks that did not run with why."""
    present = column_index(table.header)
    required = settings.required.get(layout.entity, [])
    skipped: dict[str, str] = {}
    phones = [present[c.lower()] for c in layout.phone_columns if c.lower() in present]
    emails = [present[c.lower()] for c in layout.email_columns if c.lower() in present]
    inn = present.get(layout.inn_column.lower()) if layout.inn_column else None
    found = [
        rules.missing_columns(table, layout, required, present),
        rules.missing_required(table, layout, required, present),
        rules.bad_encoding(table),
        rules.per_value(table, phones, rules.INVALID_PHONE, rules.judge_phones(settings.region)),
        rules.per_value(table, emails, rules.INVALID_EMAIL, rules.judge_emails),
        rules.no_channel(table, layout, present),
    ]
    if inn:
        found.append(rules.per_value(table, [inn], rules.INVALID_INN, rules.judge_inn))
    else:
        skipped["inn"] = "the layout has no ИНН column" if not layout.inn_column else f"no {layout.inn_column} column"
    if not phones:
        skipped["phones"] = "no phone column"
    if not emails:
        skipped["emails"] = "no e-mail column"
    if not settings.duplicates:
        skipped["duplicates"] = "--no-duplicates"
    else:
        found.append(find_duplicates(table, layout, settings.region))
    return _in_file_order(pl.concat(found), table.header), skipped


def _in_file_order(found: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """By line, then by the column's place in the header (row-wide findings last), then code."""
    position = pl.col("column").replace_strict(header, list(range(len(header))), default=len(header),
                                               return_dtype=pl.Int64)
    return found.with_columns(position.alias("#pos")).sort("line", "#pos", "code", maintain_order=True).drop("#pos")
