"""The verdict on a checked file and its three renderings: text, JSON, JUnit XML.

Thresholds: a missing column or a missing required value always fails (the
import would reject or garble the row). Invalid values (phones, e-mails, ИНН,
garbled encoding) are counted as rows with at least one, against
--max-invalid (a count or a percentage of the rows). Duplicates are the rows
that repeat an earlier one (a group of three counts two), against
--max-duplicates. Rows without a phone or e-mail are reported and fail only
past --max-no-channel, when one is set: a company list without phones is
often fine.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from crmtool.check.rules import (
    BAD_ENCODING, DUPLICATE, INVALID_EMAIL, INVALID_INN, INVALID_PHONE, MISSING_COLUMN, MISSING_REQUIRED, NO_CHANNEL,
    no_findings,
)
from crmtool.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, CrmError

INVALID_CODES = (INVALID_PHONE, INVALID_EMAIL, INVALID_INN, BAD_ENCODING)
ALWAYS_FAIL = (MISSING_COLUMN, MISSING_REQUIRED)
CODES = (MISSING_COLUMN, MISSING_REQUIRED, BAD_ENCODING, INVALID_PHONE, INVALID_EMAIL, INVALID_INN, NO_CHANNEL,
         DUPLICATE)
# JUnit test cases, one per kind of check, with the codes each reports.
CASES = {
    "columns": (MISSING_COLUMN,),
    "encoding": (BAD_ENCODING,),
    "phones": (INVALID_PHONE,),
    "emails": (INVALID_EMAIL,),
    "inn": (INVALID_INN,),
    "channels": (NO_CHANNEL,),
    "required": (MISSING_REQUIRED,),
    "duplicates": (DUPLICATE,),
}
JUNIT_FINDINGS = 200  # findings written into one <failure>; the rest are counted
_THRESHOLD = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(%?)\s*$")
# Characters XML 1.0 cannot hold even escaped: a control character in a cell must not break the report.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Threshold:
    """At most `count` findings, or at most `percent` % of the rows."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str | int | float, what: str) -> "Threshold":
        if isinstance(text, bool):
            raise CrmError(f"{what}: expected a count or a percentage like \"1%\", got {text!r}")
        m = _THRESHOLD.match(str(text))
        if not m:
            raise CrmError(f"{what}: expected a count or a percentage like \"1%\", got {text!r}")
        number, percent = float(m.group(1).replace(",", ".")), bool(m.group(2))
        if percent:
            if number > 100:
                raise CrmError(f"{what}: a percentage is at most 100%, got {text!r}")
            return cls(percent=number)
        if number != int(number):
            raise CrmError(f"{what}: a count is a whole number (or add % for a share of rows), got {text!r}")
        return cls(count=int(number))

    def allowed(self, rows: int) -> int:
        """The most findings that still pass."""
        if self.percent is not None:
            return math.floor(rows * self.percent / 100 + 1e-9)
        return self.count if self.count is not None else rows

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        return str(self.count) if self.count is not None else "none"


UNLIMITED = Threshold()


@dataclass
class Limits:
    max_invalid: Threshold = field(default_factory=lambda: Threshold(percent=1.0))
    max_duplicates: Threshold = field(default_factory=lambda: Threshold(count=0))
    max_no_channel: Threshold = UNLIMITED


@dataclass
class FileReport:
    """Everything known about one checked file; `error` set when it could not be read."""

    path: str
    limits: Limits
    layout: str | None = None
    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows: int = 0
    findings: pl.DataFrame = field(default_factory=no_findings)
    skipped: dict[str, str] = field(default_factory=dict)  # check → why it did not run
    error: str | None = None
    seconds: float = 0.0

    # -- the verdict ----------------------------------------------------------
    def count(self, *codes: str) -> int:
        return int(self.findings["code"].is_in(codes).sum())

    def rows_with(self, *codes: str) -> int:
        return self.findings.filter(pl.col("code").is_in(codes))["line"].n_unique()

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Per threshold group: found, allowed, passed."""
        groups = {
            "structure": (self.count(*ALWAYS_FAIL), 0),
            "invalid": (self.rows_with(*INVALID_CODES), self.limits.max_invalid.allowed(self.rows)),
            "duplicates": (self.count(DUPLICATE), self.limits.max_duplicates.allowed(self.rows)),
            "no_channel": (self.count(NO_CHANNEL), self.limits.max_no_channel.allowed(self.rows)),
        }
        return {k: {"found": n, "allowed": a, "passed": n <= a} for k, (n, a) in groups.items()}

    @property
    def passed(self) -> bool:
        return self.error is None and all(v["passed"] for v in self.verdicts().values())

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return EXIT_INPUT
        return EXIT_OK if self.passed else EXIT_FINDINGS

    def failing_codes(self) -> set[str]:
        v = self.verdicts()
        failing = set()
        if not v["structure"]["passed"]:
            failing.update(ALWAYS_FAIL)
        if not v["invalid"]["passed"]:
            failing.update(INVALID_CODES)
        if not v["duplicates"]["passed"]:
            failing.add(DUPLICATE)
        if not v["no_channel"]["passed"]:
            failing.add(NO_CHANNEL)
        return failing

    def counts(self) -> dict[str, int]:
        found = dict(self.findings.group_by("code").len().iter_rows())
        return {code: int(found.get(code, 0)) for code in CODES}

    # -- renderings -------------------------------------------------------------
    def as_dict(self, findings: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.path, "layout": self.layout, "format": self.format, "encoding": self.encoding,
            "delimiter": self.delimiter, "sheet": self.sheet, "rows": self.rows,
            "passed": self.passed, "exit_code": self.exit_code, "error": self.error,
        }
        if self.error is not None:
            return out
        out["counts"] = self.counts()
        out["thresholds"] = {
            "max_invalid": str(self.limits.max_invalid), "max_duplicates": str(self.limits.max_duplicates),
            "max_no_channel": str(self.limits.max_no_channel),
        }
        out["verdicts"] = self.verdicts()
        out["skipped"] = self.skipped
        if findings:
            out["findings"] = [{k: v for k, v in f.items() if v is not None or k in ("column", "value")}
                               for f in self.findings.iter_rows(named=True)]
        return out


def summary(reports: list[FileReport]) -> dict[str, Any]:
    worst = max((r.exit_code for r in reports), default=EXIT_OK)
    return {"passed": worst == EXIT_OK, "exit_code": worst, "files": [r.as_dict() for r in reports]}


# --- text ------------------------------------------------------------------------


def text_lines(report: FileReport, show: int) -> list[str]:
    """A short human report: the file, its verdict, counts per code, the first findings."""
    if report.error is not None:
        return [f"[red]✗[/] {_esc(report.path)}: cannot be checked: {_esc(report.error)}"]
    mark = "[green]✓ passed[/]" if report.passed else "[red]✗ failed[/]"
    read = ", ".join(p for p in (report.format, report.encoding,
                                 f"separator {report.delimiter!r}" if report.delimiter else None,
                                 f"sheet {report.sheet!r}" if report.sheet else None) if p)
    out = [f"{_esc(report.path)}: {mark} — {report.layout}, {report.rows:,} rows ({_esc(read)})"]
    failing = report.failing_codes()
    for code, n in report.counts().items():
        if n:
            flag = " [red](over the threshold)[/]" if code in failing else ""
            out.append(f"  {code:<17} {n:>8,}{flag}")
    v = report.verdicts()
    out.append(
        f"  invalid values in {v['invalid']['found']:,} rows (allowed {v['invalid']['allowed']:,} = "
        f"{report.limits.max_invalid}); duplicates {v['duplicates']['found']:,} (allowed {v['duplicates']['allowed']:,})"
        + (f"; no channel {v['no_channel']['found']:,} (allowed {v['no_channel']['allowed']:,})"
           if report.limits.max_no_channel != UNLIMITED else "")
    )
    for check, why in report.skipped.items():
        out.append(f"  [dim]{check}: not checked ({_esc(why)})[/]")
    shown = report.findings.sort("line").head(show)
    for f in shown.iter_rows(named=True):
        where = f"line {f['line']}" + (f", {f['column']}" if f["column"] else "")
        value = f" {f['value']!r}" if f["value"] is not None else ""
        out.append(f"  {_esc(where)}:{_esc(value)} {f['code']} ({_esc(f['reason'] or '')})")
    more = report.findings.height - shown.height
    if more > 0:
        out.append(f"  … and {more:,} more (--json or --junit for all, --show N for more here)")
    return out


def _esc(text: str) -> str:
    return text.replace("[", "\\[")


# --- JUnit XML -----------------------------------------------------------------------


def junit_xml(reports: list[FileReport]) -> ET.ElementTree:
    """One <testsuite> per file, one <testcase> per kind of check; a case over its threshold
    carries a <failure> listing its findings, one below it lists them in <system-out>."""
    root = ET.Element("testsuites", name="crmtool check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in reports:
        suite = _suite(report)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.seconds for r in reports):.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def write_junit(reports: list[FileReport], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_xml(reports).write(path, encoding="utf-8", xml_declaration=True)


def _suite(report: FileReport) -> ET.Element:
    suite = ET.Element("testsuite", name=_xml(report.path), time=f"{report.seconds:.3f}")
    classname = f"crmtool.check.{report.layout or 'file'}"
    if report.error is not None:
        case = ET.SubElement(suite, "testcase", classname=classname, name="read", time="0")
        ET.SubElement(case, "error", message=_xml(report.error), type="unreadable").text = _xml(report.error)
        suite.attrib.update(tests="1", failures="0", errors="1", skipped="0")
        return suite
    props = ET.SubElement(suite, "properties")
    for name, value in (("layout", report.layout), ("rows", report.rows), ("format", report.format),
                        ("encoding", report.encoding)):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_xml(str(value)))
    failing = report.failing_codes()
    failures = skipped = 0
    for name, codes in CASES.items():
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        if name in report.skipped:
            ET.SubElement(case, "skipped", message=report.skipped[name])
            skipped += 1
            continue
        found = report.findings.filter(pl.col("code").is_in(codes)).sort("line")
        if found.is_empty():
            continue
        text = _findings_text(found)
        if failing.intersection(codes):
            failures += 1
            message = f"{found.height:,} finding(s): " + ", ".join(
                f"{c} {n:,}" for c, n in found.group_by("code", maintain_order=True).len().iter_rows())
            ET.SubElement(case, "failure", message=message, type=codes[0]).text = _xml(text)
        else:
            ET.SubElement(case, "system-out").text = _xml(f"within the threshold:\n{text}")
    suite.attrib.update(tests=str(len(CASES)), failures=str(failures), errors="0", skipped=str(skipped))
    return suite


def _findings_text(found: pl.DataFrame) -> str:
    lines = []
    for f in found.head(JUNIT_FINDINGS).iter_rows(named=True):
        where = f"line {f['line']}" + (f" [{f['column']}]" if f["column"] else "")
        value = f" {f['value']!r}" if f["value"] is not None else ""
        lines.append(f"{where}:{value} {f['code']}: {f['reason'] or ''}")
    if found.height > JUNIT_FINDINGS:
        lines.append(f"… and {found.height - JUNIT_FINDINGS:,} more (crmtool check --json for all)")
    return "\n".join(lines)
