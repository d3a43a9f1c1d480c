"""The value checks of `crmtool check`, each over whole columns.

Every rule returns findings as a frame (FINDINGS schema): the line, the column,
the value, a code and a reason. Values are judged once per distinct value by
the normalizers the load stage uses, so a check agrees with what `crmtool
normalize` would say about the same cell, and a column of 100k phones costs
one call. A value is a finding when the CRM would store something wrong:
a phone that is not a number as written, an e-mail that is invalid or has a
typo the normalizer would repair, an ИНН that fails its check digits or is not
written as bare digits.
"""

from __future__ import annotations

from typing import Callable, Sequence

import polars as pl

from crmtool.export.layouts import Layout
from crmtool.normalize.emails import normalize_emails
from crmtool.normalize.phones import normalize_phones
from crmtool.normalize.requisites import check_inn
from crmtool.normalize.runner import FORMAT_ONLY

from crmtool.check.layouts import column_index
from crmtool.check.reader import Table

FINDINGS = {"line": pl.Int64, "column": pl.String, "value": pl.String, "code": pl.String, "reason": pl.String,
            "group": pl.Int64}

# Codes, by how a threshold treats them (see report.py).
MISSING_COLUMN, MISSING_REQUIRED = "missing_column", "missing_required"
INVALID_PHONE, INVALID_EMAIL, INVALID_INN, BAD_ENCODING = "invalid_phone", "invalid_email", "invalid_inn", "bad_encoding"
NO_CHANNEL, DUPLICATE = "no_channel", "duplicate"

# UTF-8 Cyrillic read as windows-1251: every letter turns into Р or С and a sign from the
# upper half of the code page ("Иванов" → "РРІР°РЅРѕРІ"). Two such pairs in a row do not occur in Russian.
_MOJIBAKE = "(?:[РС][ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ\u00a0ЎўЈ¤Ґ¦§Ё©Є«¬\u00ad®Ї°±Ііґµ¶·ё№є»јЅѕї]){2,}"
# Text that went through a code page without Cyrillic: every letter became "?".
_QUESTION_MARKS = r"(?:^|\s)\?{3,}(?:\s|$)"


def no_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Any findings-like frame in the FINDINGS schema and column order."""
    return frame.select([
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in FINDINGS.items()
    ])


def is_empty(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def row_label(table: Table, layout: Layout) -> pl.Expr:
    """What names a row in a report: its person's name parts, else its company."""
    def joined(columns: list[str]) -> pl.Expr:
        parts = [pl.when(~is_empty(c)).then(pl.col(c).str.strip_chars()) for c in columns]
        text = pl.concat_str(parts, separator=" ", ignore_nulls=True) if parts else pl.lit(None, dtype=pl.String)
        return pl.when(text != "").then(text)

    present = column_index(table.header)
    names = [present[c.lower()] for c in layout.name_columns if c.lower() in present]
    company = [present[c.lower()] for c in (layout.company_column,) if c and c.lower() in present]
    return pl.coalesce(joined(names), joined(company))


def _with_lines(table: Table) -> pl.DataFrame:
    return table.frame.with_columns(table.lines.alias("#line"))


# --- columns and required values ---------------------------------------------------------


def missing_columns(table: Table, layout: Layout, required: Sequence[str], present: dict[str, str]) -> pl.DataFrame:
    """The header lacks every column of the layout's required group, or a column the config requires."""
    rows = []
    if not any(c.lower() in present for c in layout.one_of):
        rows.append((" | ".join(layout.one_of), f"the header needs one of: {', '.join(layout.one_of)}"))
    for name in required:
        if name.strip().lower() not in present:
            rows.append((name, "required by the [check] config"))
    frame = pl.DataFrame({"column": [r[0] for r in rows], "reason": [r[1] for r in rows]},
                         schema={"column": pl.String, "reason": pl.String})
    return conform(frame.with_columns(line=pl.lit(1, dtype=pl.Int64), code=pl.lit(MISSING_COLUMN)))


def missing_required(table: Table, layout: Layout, required: Sequence[str], present: dict[str, str]) -> pl.DataFrame:
    """Rows with none of the layout's required group filled, and rows with a required column empty."""
    frame = _with_lines(table).with_columns(row_label(table, layout).alias("#label"))
    found = []
    group = [present[c.lower()] for c in layout.one_of if c.lower() in present]
    if group:
        bad = frame.filter(pl.all_horizontal(is_empty(c) for c in group))
        found.append(bad.select(
            line="#line", column=pl.lit(" / ".join(group)), value="#label", code=pl.lit(MISSING_REQUIRED),
            reason=pl.lit(f"needs one of: {', '.join(group)}"),
        ))
    for name in required:
        column = present.get(name.strip().lower())
        if column is None or column in group and len(group) == 1:
            continue
        bad = frame.filter(is_empty(column))
        found.append(bad.select(line="#line", column=pl.lit(column), value="#label", code=pl.lit(MISSING_REQUIRED),
                                reason=pl.lit("empty; required by the [check] config")))
    return pl.concat([conform(f) for f in found]) if found else no_findings()


def no_channel(table: Table, layout: Layout, present: dict[str, str]) -> pl.DataFrame:
    """Rows without any phone or e-mail: nobody can call or write to them from the CRM."""
    channels = [present[c.lower()] for c in (*layout.phone_columns, *layout.email_columns) if c.lower() in present]
    frame = _with_lines(table)
    bad = frame.filter(pl.all_horizontal(is_empty(c) for c in channels)) if channels else frame
    reason = "no phone and no e-mail" if channels else "the file has no phone or e-mail column"
    return conform(bad.select(line="#line", column=pl.lit(None, dtype=pl.String), value=row_label(table, layout),
                              code=pl.lit(NO_CHANNEL), reason=pl.lit(reason)))


# --- values, judged once per distinct value ---------------------------------------------------

# judge(distinct non-empty values) → frame (value, reason) of the bad ones
Judge = Callable[[pl.Series], pl.DataFrame]


def per_value(table: Table, columns: Sequence[str], code: str, judge: Judge) -> pl.DataFrame:
    """Findings for the cells of `columns` whose value `judge` calls bad."""
    found = []
    frame = _with_lines(table)
    for column in columns:
        cells = frame.select("#line", pl.col(column).alias("value")).filter(~is_empty("value"))
        if cells.is_empty():
            continue
        bad = judge(cells["value"].unique())
        if bad.is_empty():
            continue
        hits = cells.join(bad, on="value", how="inner", maintain_order="left")
        found.append(conform(hits.select(line="#line", column=pl.lit(column), value="value", code=pl.lit(code),
                                         reason="reason")))
    return pl.concat(found) if found else no_findings()


def _by_cell(values: pl.Series, parts: pl.DataFrame, bad: pl.Expr, reason: pl.Expr) -> pl.DataFrame:
    """Long normalizer output (one row per part, `index` into `values`) → (value, reason) per bad cell."""
    hits = parts.filter(bad).group_by("index", maintain_order=True).agg(reason.str.join(", ").alias("reason"))
    cells = pl.DataFrame({"value": values}).with_row_index("index")
    return cells.join(hits, on="index", how="inner").select("value", "reason")


def _part_reason(reason: pl.Expr) -> pl.Expr:
    """The reason, led by the bad part when the cell holds more than it ("a@b.ru; x@": "x@: no_domain")."""
    whole = pl.col("text").is_null() | (pl.col("text") == pl.col("original").str.strip_chars())
    return pl.when(whole).then(reason).otherwise(pl.format("{}: {}", pl.col("text"), reason))


def judge_phones(region: str) -> Judge:
    """Invalid numbers, and ones that are numbers only after a guess (`suggested`: "+8 916…", a 3-digit tail)."""
    def judge(values: pl.Series) -> pl.DataFrame:
        parts = normalize_phones(values, region)
        bad = pl.col("status").is_in(["invalid", "suggested"])
        return _by_cell(values, parts, bad, _part_reason(pl.col("reason").fill_null(pl.col("status"))))
    return judge


def judge_emails(values: pl.Series) -> pl.DataFrame:
    """Invalid addresses, and typos the normalizer would repair (the CRM would store the typo)."""
    parts = normalize_emails(values)
    typo = (pl.col("status") == "fixed") & ~pl.col("reason").is_in(list(FORMAT_ONLY["email"]))
    bad = (pl.col("status") == "invalid") | typo
    reason = pl.when(typo).then(pl.format("{}, meant {}", pl.col("reason"), pl.col("email"))) \
        .otherwise(pl.col("reason").fill_null("invalid"))
    return _by_cell(values, parts, bad, _part_reason(reason))


def judge_inn(values: pl.Series) -> pl.DataFrame:
    """ИНН that fail their check digits, and ones not written as bare digits (`fixed`: the CRM gets them as written)."""
    checked = check_inn(values)
    frame = pl.DataFrame({"value": values}).hstack(checked)
    bad = frame.filter(pl.col("status").is_in(["invalid", "fixed"]))
    reason = pl.when(pl.col("status") == "fixed").then(pl.format("{}: should be {}", pl.col("reason"), pl.col("inn"))) \
        .otherwise(pl.col("reason"))
    return bad.select("value", reason.alias("reason"))


def bad_encoding(table: Table) -> pl.DataFrame:
    """Cells garbled by a wrong code page on the way: mojibake, U+FFFD, words of "???"."""
    pattern = f"{_MOJIBAKE}|\ufffd|{_QUESTION_MARKS}"
    found = []
    frame = _with_lines(table)
    for column in table.frame.columns:
        hits = frame.filter(pl.col(column).str.contains(pattern).fill_null(False))
        if hits.height:
            reason = pl.when(pl.col(column).str.contains("\ufffd")).then(pl.lit("replacement character (U+FFFD)")) \
                .when(pl.col(column).str.contains(_MOJIBAKE)).then(pl.lit("UTF-8 text read as windows-1251")) \
                .otherwise(pl.lit("letters lost to '?' (saved in a code page without Cyrillic)"))
            found.append(conform(hits.select(line="#line", column=pl.lit(column), value=pl.col(column),
                                             code=pl.lit(BAD_ENCODING), reason=reason)))
    return pl.concat(found) if found else no_findings()
