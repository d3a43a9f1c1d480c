"""The normalize stage: `records` in, `normalized`, `field_checks` and `field_stats` out.

Each family function works on one flat column; this module cuts the records
into those columns (list fields exploded with their positions), calls the
families, and puts the results back together per record. Re-running replaces
the stage's three tables and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

from crmtool.normalize.companies import normalize_companies
from crmtool.normalize.emails import data as email_data
from crmtool.normalize.emails import normalize_emails
from crmtool.normalize.names import normalize_names
from crmtool.normalize.phones import normalize_phones
from crmtool.normalize.requisites import check_inn, check_kpp, check_ogrn
from crmtool.workspace import Workspace

STR_LIST = pl.List(pl.String)
CHECK_COLUMNS = {
    "record_id": pl.Int64, "field": pl.String, "position": pl.Int32, "original": pl.String,
    "value": pl.String, "status": pl.String, "reason": pl.String, "suggestion": pl.String,
}
# Changes of form only: the value was right, we wrote it the canonical way. They
# count as `ok` (reason kept), so `fixed` in a profile means a real repair
# (a typo, a lost leading zero, mixed scripts), not every "8 (916)" made +7916.
FORMAT_ONLY = {
    "name": ("reordered", "split_from_full_name", "split_parts", "case_fixed"),
    "phone": ("reformatted", "extension", "split", "text_removed"),
    "email": ("case_trimmed", "mailto_removed", "prefix_removed", "display_name_removed", "punctuation_removed",
              "spaces_removed", "idn_decoded", "split"),
    "company": ("form_moved", "quotes_added", "quotes_unified", "form_abbreviated", "form_normalized", "reformatted"),
}
# Fields a profile reports on, in display order.
FIELDS = ("name", "phone", "email", "company", "inn", "kpp", "ogrn")

_RECORDS = """
SELECT record_id, source_id, entity_hint, full_name, last_name, first_name, middle_name,
       company, inn, kpp, ogrn, phones, phone_kinds, emails, email_kinds
FROM records
"""

Stage = Callable[[str], None]
# meta key: which sources (by content) and region the normalize tables were computed from
SIGNATURE_KEY = "normalized_sources"


def signature(ws: Workspace, default_region: str) -> str:
    shas = ws.scalar("SELECT coalesce(string_agg(sha256, ',' ORDER BY source_id), '') FROM sources") or ""
    return f"{default_region}|{shas}"


@dataclass
class NormalizeSummary:
    records: int
    stats: pl.DataFrame  # source_id, field, status, reason, n

    def counts(self) -> dict[str, int]:
        by_status = self.stats.group_by("status").agg(pl.col("n").sum())
        out = {"records_normalized": self.records}
        for status, n in by_status.iter_rows():
            out[f"values_{status}"] = int(n)
        return out


def appended_sources(ws: Workspace, default_region: str) -> list[int] | None:
    """The sources loaded since the last normalize, when that is all that changed (same region,
    the earlier sources still there in the same order); None when everything must be redone."""
    old = ws.scalar("SELECT value FROM meta WHERE key = ?", [SIGNATURE_KEY])
    if not old or "|" not in old:
        return None
    region, shas = old.split("|", 1)
    before = shas.split(",") if shas else []
    current = ws.con.execute("SELECT source_id, sha256 FROM sources ORDER BY source_id").fetchall()
    if region != default_region or [sha for _, sha in current[:len(before)]] != before:
        return None
    return [source_id for source_id, _ in current[len(before):]]


def normalize_workspace(ws: Workspace, default_region: str = "RU", stage: Stage = lambda _: None,
                        incremental: bool = False) -> NormalizeSummary:
    """Normalize every record of the workspace in one pass; replaces the stage's tables. With
    `incremental`, only the records of sources loaded since the last normalize, when nothing
    else changed (a record's normalized values depend on the record and the region alone)."""
    con = ws.con
    only = appended_sources(ws, default_region) if incremental else None
    stage("reading records")
    if only is not None:
        records = con.sql(_RECORDS + " WHERE source_id IN (SELECT unnest(?::INTEGER[]))", params=[only]).pl()
    else:
        records = con.sql(_RECORDS).pl()
    normalized, checks, stats = normalize_frame(records, default_region, stage)
    stage("storing")
    with ws.transaction():
        for table in ("normalized", "field_checks", "field_stats"):
            if only is None:
                con.execute(f"DELETE FROM {table}")
            elif table == "field_checks":
                con.execute("DELETE FROM field_checks WHERE record_id IN (SELECT record_id FROM records "
                            "WHERE source_id IN (SELECT unnest(?::INTEGER[])))", [only])
            else:
                con.execute(f"DELETE FROM {table} WHERE source_id IN (SELECT unnest(?::INTEGER[]))", [only])
        for table, frame in (("normalized", normalized), ("field_checks", checks), ("field_stats", stats)):
            if frame.height:
                with ws.registered("_frame", frame):
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [SIGNATURE_KEY, signature(ws, default_region)])
    return NormalizeSummary(records.height, stats)


def normalize_frame(
    records: pl.DataFrame, default_region: str = "RU", stage: Stage = lambda _: None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(normalized, field_checks, field_stats) for a frame shaped like the `records` table."""
    ids = records.select("record_id", "source_id", "entity_hint")
    stats: list[pl.DataFrame] = [_no_list_values(records)]
    kept: list[pl.DataFrame] = []

    def absorb(checks: pl.DataFrame) -> None:
        """Count every check now and keep only the ones worth a row: the full frames
        (several rows per record) never pile up together."""
        checks = checks.with_columns(status=_format_only_is_ok())
        stats.append(_stats(checks))
        kept.append(
            checks.filter(pl.col("status").is_in(["fixed", "suggested", "invalid"]))
            .select([pl.col(k).cast(t) for k, t in CHECK_COLUMNS.items()])
        )

    stage("names")
    names, checks = _names(records)
    absorb(checks)
    stage("phones")
    phones, checks = _listed(records, "phones", "phone_kinds", "phone", _phone_values(default_region))
    absorb(checks)
    stage("e-mails")
    emails, checks = _listed(records, "emails", "email_kinds", "email", _email_values)
    absorb(checks)
    stage("companies")
    company, checks = _company(records)
    absorb(checks)
    stage("requisites")
    requisites, checks = _requisites(records)
    absorb(checks)
    del checks
    normalized = pl.concat([ids, names, company, requisites], how="horizontal")
    del names, company, requisites
    normalized = normalized.join(phones, on="record_id", how="left").join(emails, on="record_id", how="left")
    empty = pl.lit([], dtype=STR_LIST)
    normalized = normalized.with_columns(
        [pl.col(c).fill_null(empty) for c in ("phones", "phone_exts", "phone_types", "phone_kinds",
                                              "emails", "email_keys", "email_classes", "email_kinds",
                                              "corporate_domains")]
    )
    field_stats = pl.concat(stats).group_by("source_id", "field", "status", "reason").agg(pl.col("n").sum()).sort(
        "source_id", "field", "status", "reason", nulls_last=True
    )
    return normalized, pl.concat(kept), field_stats


# --- names -----------------------------------------------------------------------


def _names(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    parts = records.select("full_name", "last_name", "first_name", "middle_name")
    result = normalize_names(parts)
    out = result.select(
        "last_name", "first_name", "middle_name", "first_initial", "middle_initial", "gender",
        pl.when(pl.col("status") == "fixed", pl.col("reason").is_in(FORMAT_ONLY["name"]))
        .then(pl.lit("ok")).otherwise(pl.col("status")).alias("name_status"),
        pl.col("reason").alias("name_reason"),
        "last_key", "first_key", "middle_key", "first_keys", "translit_keys", "skeleton",
    )
    original = records.select(
        pl.coalesce(
            "full_name",
            pl.concat_str(["last_name", "first_name", "middle_name"], separator=" ", ignore_nulls=True).replace("", None),
        )
    ).to_series()
    display = result.select(
        pl.concat_str(["last_name", "first_name", "middle_name"], separator=" ", ignore_nulls=True)
    ).to_series()
    checks = pl.DataFrame({
        "record_id": records["record_id"],
        "source_id": records["source_id"],
        "field": pl.repeat("name", records.height, eager=True),
        "position": pl.repeat(0, records.height, eager=True, dtype=pl.Int32),
        "original": original,
        "value": display.replace("", None),
        "status": result["status"],
        "reason": result["reason"],
        "suggestion": pl.repeat(None, records.height, eager=True, dtype=pl.String),
    })
    return out, checks


# --- phones and e-mails: list fields ---------------------------------------------------


def _exploded(records: pl.DataFrame, values: str, kinds: str) -> pl.DataFrame:
    """One row per list element: record_id, position in the list, value, its kind."""
    return (
        records.select("record_id", "source_id", values, kinds)
        .with_columns(position=pl.int_ranges(pl.col(values).list.len(), dtype=pl.Int32))
        .explode([values, kinds, "position"])
        .drop_nulls(values)
        .rename({values: "value", kinds: "kind"})
    )


def _phone_values(default_region: str):
    def run(values: pl.Series) -> pl.DataFrame:
        out = normalize_phones(values, default_region)
        return out.select(
            "index", "part", "original", pl.col("e164").alias("value"), "status", "reason",
            pl.lit(None, dtype=pl.String).alias("suggestion"), pl.col("e164").alias("key"),
            "ext", "type",
        )
    return run


def _email_values(values: pl.Series) -> pl.DataFrame:
    out = normalize_emails(values)
    return out.select(
        "index", "part", "original", pl.col("email").alias("value"), "status", "reason", "suggestion",
        "key", pl.lit(None, dtype=pl.String).alias("ext"), pl.col("kind").alias("type"), "domain",
        # info@ at a free provider is a role address but says nothing about a company
        pl.col("domain").is_in(list(_public_domains())).fill_null(False).alias("free"),
    )


def _public_domains() -> frozenset[str]:
    """Mail providers anyone can sign up at: their domains say nothing about an employer."""
    d = email_data()
    return d.free | d.real | d.disposable


def _listed(
    records: pl.DataFrame, values: str, kinds: str, field: str, run: Callable[[pl.Series], pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Normalize every element of a list field; valid values back into per-record lists.

    A value whose normalized form repeats one already in the record (the same
    number written twice) is listed once. Invalid values stay out of the lists
    and live on in `field_checks` with their originals.
    """
    flat = _exploded(records, values, kinds)
    result = run(flat["value"])
    joined = flat.with_row_index("index").join(result, on="index", how="left", suffix="_n")
    # position in field_checks: the element's place in the source list * 100 + the part found in it.
    joined = joined.with_columns(pos=(pl.col("position") * 100 + pl.col("part")).cast(pl.Int32))
    checks = joined.select(
        "record_id", "source_id", pl.lit(field).alias("field"), pl.col("pos").alias("position"),
        pl.col("original"), "value_n", "status", "reason", "suggestion",
    ).rename({"value_n": "value"})
    valid = (
        joined.filter(pl.col("value_n").is_not_null())
        .sort("record_id", "pos")
        .unique(["record_id", "key"], keep="first", maintain_order=True)
    )
    prefix = field
    lists = valid.group_by("record_id", maintain_order=True).agg(
        pl.col("value_n").alias(f"{prefix}s"),
        *(
            [pl.col("ext").alias("phone_exts"), pl.col("type").alias("phone_types"), pl.col("kind").alias("phone_kinds")]
            if field == "phone"
            else [pl.col("key").alias("email_keys"), pl.col("type").alias("email_classes"), pl.col("kind").alias("email_kinds"),
                  # a corporate (or role) address's domain hints at the company: romashka-msk.ru
                  pl.col("domain").filter(pl.col("type").is_in(["corporate", "role"]) & ~pl.col("free"))
                  .unique(maintain_order=True).alias("corporate_domains")]
        ),
    )
    if field == "phone":
        # Lists cannot hold nulls in every consumer: no extension is an empty string.
        lists = lists.with_columns(pl.col("phone_exts").list.eval(pl.element().fill_null("")))
    return lists, checks


# --- companies and requisites ------------------------------------------------------------


def _company(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    result = normalize_companies(records["company"])
    out = result.select(
        pl.col("display").alias("company"), pl.col("core").alias("company_core"), pl.col("key").alias("company_key"),
        "opf", "opf_full", pl.col("is_person").alias("company_is_person"),
        pl.when(pl.col("status") == "fixed", pl.col("reason").is_in(FORMAT_ONLY["company"]))
        .then(pl.lit("ok")).otherwise(pl.col("status")).alias("company_status"),
        pl.col("reason").alias("company_reason"),
    )
    return out, _scalar_checks(records, "company", records["company"], result["display"], result)


def _requisites(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    inn, kpp, ogrn = check_inn(records["inn"]), check_kpp(records["kpp"]), check_ogrn(records["ogrn"])
    out = pl.DataFrame({
        "inn": inn["inn"], "inn_kind": inn["kind"], "inn_status": inn["status"],
        "kpp": kpp["kpp"], "kpp_status": kpp["status"],
        "ogrn": ogrn["ogrn"], "ogrn_kind": ogrn["kind"], "ogrn_status": ogrn["status"],
    })
    checks = pl.concat([
        _scalar_checks(records, "inn", records["inn"], inn["inn"], inn),
        _scalar_checks(records, "kpp", records["kpp"], kpp["kpp"], kpp),
        _scalar_checks(records, "ogrn", records["ogrn"], ogrn["ogrn"], ogrn),
    ])
    return out, checks


def _scalar_checks(records: pl.DataFrame, field: str, original: pl.Series, value: pl.Series, result: pl.DataFrame) -> pl.DataFrame:
    n = records.height
    return pl.DataFrame({
        "record_id": records["record_id"],
        "source_id": records["source_id"],
        "field": pl.repeat(field, n, eager=True),
        "position": pl.repeat(0, n, eager=True, dtype=pl.Int32),
        "original": original,
        "value": value,
        "status": result["status"],
        "reason": result["reason"],
        "suggestion": result["suggestion"] if "suggestion" in result.columns else pl.repeat(None, n, eager=True, dtype=pl.String),
    })


def _format_only_is_ok() -> pl.Expr:
    expr = pl.col("status")
    for field, reasons in FORMAT_ONLY.items():
        expr = pl.when((pl.col("field") == field) & (pl.col("status") == "fixed") & pl.col("reason").is_in(reasons)).then(
            pl.lit("ok")
        ).otherwise(expr)
    return expr


# --- statistics ------------------------------------------------------------------------


def _stats(checks: pl.DataFrame) -> pl.DataFrame:
    """Counts per source, field, status and reason. A list field's missing values are
    counted per record instead (`_no_list_values`), once, whatever the list held."""
    return (
        checks.filter(~(pl.col("field").is_in(["phone", "email"]) & (pl.col("status") == "missing")))
        .group_by("source_id", "field", "status", "reason")
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )


def _no_list_values(records: pl.DataFrame) -> pl.DataFrame:
    """Records with no phone (no e-mail) at all: `missing` once per record."""
    parts = []
    for field, column in (("phone", "phones"), ("email", "emails")):
        parts.append(
            records.filter(pl.col(column).list.len().fill_null(0) == 0)
            .group_by("source_id")
            .agg(pl.len().cast(pl.Int64).alias("n"))
            .select("source_id", pl.lit(field).alias("field"), pl.lit("missing").alias("status"),
                    pl.lit(None, dtype=pl.String).alias("reason"), "n")
        )
    return pl.concat(parts)
