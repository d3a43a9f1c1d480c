"""The normalize stage: `records` in, `normalized`, `field_checks` and `field_stats` out.

Each family function works on one flat column; this module cuts the records
into those columns (list fields exploded with their positions), calls the
families, and puts the results back together per record. Re-running replaces
the stage's three tables and nothing else.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, TypeVar

import polars as pl
import pyarrow as pa

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
T = TypeVar("T")
# meta key: which sources (by content) and region the normalize tables were computed from
SIGNATURE_KEY = "normalized_sources"

# Families run at a time (threads). Much of a family is polars work on one column, which keeps
# one core busy, and the rest is Python per distinct value, which holds the GIL: two families
# side by side fill two cores where one leaves the second mostly idle (1M records, two cores:
# ~7.5 s side by side, ~9.5 s one after another). More at once would only add memory.
WORKERS = min(2, os.cpu_count() or 1)


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
            if only is None and table == "normalized":
                _recreate(ws, table)
            elif only is None:
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


def _recreate(ws: Workspace, table: str) -> None:
    """Empty `table` by dropping it and creating it again from its own definition (the workspace's
    schema, whatever migration made it). A million rows deleted and the same keys inserted again in
    one transaction cost seconds at commit (the primary key's index keeps both); a new table does not."""
    ddl = ws.scalar(
        "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = current_schema() "
        "AND table_name = ?", [table]
    )
    ws.con.execute(f"DROP TABLE {table}")
    ws.con.execute(ddl)


def normalize_frame(
    records: pl.DataFrame, default_region: str = "RU", stage: Stage = lambda _: None, workers: int = WORKERS
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(normalized, field_checks, field_stats) for a frame shaped like the `records` table.

    Every family hands back its output columns (one row per record, in record order) and its
    checks already cut down to counts and the few rows worth keeping, so no frame of every
    check of every value is ever built whole. The families are independent and run `workers`
    at a time (see WORKERS).
    """
    families: dict[str, Callable[[], tuple[pl.DataFrame, Checks]]] = {
        "names": lambda: _names(records),
        "phones": lambda: _listed(records, "phones", "phone_kinds", "phone", _phone_values(default_region)),
        "e-mails": lambda: _listed(records, "emails", "email_kinds", "email", _email_values),
        "companies": lambda: _company(records),
        "requisites": lambda: _requisites(records),
    }
    done = _run(families, stage, workers)
    outs = {name: out for name, (out, _) in done.items()}
    normalized = pl.concat(
        [records.select("record_id", "source_id", "entity_hint"), outs["names"], outs["companies"],
         outs["requisites"], outs["phones"], outs["e-mails"]],
        how="horizontal",
    )
    stats = pl.concat([_no_list_values(records), *(counts for _, (counts, _) in done.values())])
    field_stats = stats.group_by("source_id", "field", "status", "reason").agg(pl.col("n").sum()).sort(
        "source_id", "field", "status", "reason", nulls_last=True
    )
    return normalized, pl.concat([kept for _, (_, kept) in done.values()]), field_stats


def _run(jobs: dict[str, Callable[[], T]], stage: Stage, workers: int) -> dict[str, T]:
    """Every job's result, by name; `stage` is told each job's name as it starts."""
    if workers <= 1:
        out = {}
        for name, job in jobs.items():
            stage(name)
            out[name] = job()
        return out
    lock = threading.Lock()

    def started(name: str, job: Callable[[], T]) -> T:
        with lock:
            stage(name)
        return job()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="normalize") as pool:
        futures = {name: pool.submit(started, name, job) for name, job in jobs.items()}
        try:
            return {name: future.result() for name, future in futures.items()}
        except BaseException:
            for future in futures.values():  # a failed job fails the stage: the waiting ones need not run
                future.cancel()
            raise


# --- checks: counted whole, kept in part -----------------------------------------------------

# (counts per source_id, field, status, reason; the check rows kept for field_checks)
Checks = tuple[pl.DataFrame, pl.DataFrame]
KEPT_STATUSES = ("fixed", "suggested", "invalid")


def _shown_status(field: str, status: pl.Expr, reason: pl.Expr) -> pl.Expr:
    """The status as stored: a change of form only (FORMAT_ONLY) counts as `ok`."""
    if field not in FORMAT_ONLY:
        return status
    return pl.when(status == "fixed", reason.is_in(FORMAT_ONLY[field])).then(pl.lit("ok")).otherwise(status)


def _counts(field: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Checks per source, status and reason of one field; `frame` has source_id, status, reason."""
    return frame.group_by("source_id", "status", "reason").agg(pl.len().cast(pl.Int64).alias("n")).select(
        "source_id", pl.lit(field).alias("field"), "status", "reason", "n"
    )


def _kept_rows(status: pl.Series) -> pl.Series:
    """Positions of the checks worth a row in field_checks (not ok, not missing)."""
    return status.is_in(KEPT_STATUSES).arg_true()


def _check_rows(field: str, columns: dict[str, pl.Series]) -> pl.DataFrame:
    """field_checks rows from columns already cut to the kept rows (position 0, no suggestion unless given)."""
    n = columns["record_id"].len()
    full = {
        "field": pl.repeat(field, n, eager=True, dtype=pl.String),
        "position": pl.repeat(0, n, eager=True, dtype=pl.Int32),
        "suggestion": pl.repeat(None, n, eager=True, dtype=pl.String),
        **columns,
    }
    return pl.DataFrame({k: full[k].cast(t).alias(k) for k, t in CHECK_COLUMNS.items()})


def _scalar_checks(
    records: pl.DataFrame, field: str, status: pl.Series, reason: pl.Series, original: pl.Series, value: pl.Series
) -> Checks:
    """The checks of a one-value field: one per record."""
    counts = _counts(field, pl.DataFrame({"source_id": records["source_id"], "status": status, "reason": reason}))
    rows = _kept_rows(status)
    return counts, _check_rows(field, {
        "record_id": records["record_id"].gather(rows), "original": original.gather(rows), "value": value.gather(rows),
        "status": status.gather(rows), "reason": reason.gather(rows),
    })


# --- names -----------------------------------------------------------------------


def _names(records: pl.DataFrame) -> tuple[pl.DataFrame, Checks]:
    parts = records.select("full_name", "last_name", "first_name", "middle_name")
    result = normalize_names(parts)
    out = result.select(
        "last_name", "first_name", "middle_name", "first_initial", "middle_initial", "gender",
        _shown_status("name", pl.col("status"), pl.col("reason")).alias("name_status"),
        pl.col("reason").alias("name_reason"),
        "last_key", "first_key", "middle_key", "first_keys", "translit_keys", "skeleton",
    )
    status, reason = out["name_status"], out["name_reason"]
    counts = _counts("name", pl.DataFrame({"source_id": records["source_id"], "status": status, "reason": reason}))
    # The original and the display are strings built per record: only for the rows kept.
    rows = _kept_rows(status)
    given = parts[rows]
    original = given.select(
        pl.coalesce(
            "full_name",
            pl.concat_str(["last_name", "first_name", "middle_name"], separator=" ", ignore_nulls=True).replace("", None),
        )
    ).to_series()
    display = result[rows].select(
        pl.concat_str(["last_name", "first_name", "middle_name"], separator=" ", ignore_nulls=True)
    ).to_series()
    return out, (counts, _check_rows("name", {
        "record_id": records["record_id"].gather(rows), "original": original, "value": display.replace("", None),
        "status": status.gather(rows), "reason": reason.gather(rows),
    }))


# --- phones and e-mails: list fields ---------------------------------------------------


def _exploded(records: pl.DataFrame, values: str, kinds: str) -> pl.DataFrame:
    """One row per list element: the record's row number, record_id, position in the list, value, its kind."""
    return (
        records.select("record_id", "source_id", values, kinds)
        .with_row_index("row")
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


def _with_elements(flat: pl.DataFrame, result: pl.DataFrame) -> pl.DataFrame:
    """Each result row beside the list element it came from (`index` is the element's row in `flat`).

    The families return their rows ordered by index with at least one per element; then a gather
    does what a join would. Anything else gets the join.
    """
    index = result["index"]
    covers = (
        index.len() >= flat.height
        and index.is_sorted()
        and (index.len() == 0 or (index[0] == 0 and index[-1] == flat.height - 1))
        and bool((index.diff().fill_null(0) <= 1).all())
    )
    result = result.rename({"value": "value_n"})
    if not covers:
        return flat.with_row_index("index").join(result, on="index", how="left").drop("index")
    return flat.drop("value").select(pl.all().gather(index)).hstack(result.drop("index"))


def _listed(
    records: pl.DataFrame, values: str, kinds: str, field: str, run: Callable[[pl.Series], pl.DataFrame]
) -> tuple[pl.DataFrame, Checks]:
    """Normalize every element of a list field; valid values back into per-record lists.

    A value whose normalized form repeats one already in the record (the same
    number written twice) is listed once. Invalid values stay out of the lists
    and live on in `field_checks` with their originals.
    """
    flat = _exploded(records, values, kinds)
    joined = _with_elements(flat, run(flat["value"]))
    del flat
    # position in field_checks: the element's place in the source list * 100 + the part found in it.
    joined = joined.with_columns(
        pos=(pl.col("position") * 100 + pl.col("part")).cast(pl.Int32),
        status=_shown_status(field, pl.col("status"), pl.col("reason")),
    )
    # A list field's missing values are counted per record instead (`_no_list_values`).
    counts = _counts(field, joined.filter(pl.col("status") != "missing").select("source_id", "status", "reason"))
    checks = joined.filter(pl.col("status").is_in(KEPT_STATUSES))
    checks = _check_rows(field, {
        "record_id": checks["record_id"], "position": checks["pos"], "original": checks["original"],
        "value": checks["value_n"], "status": checks["status"], "reason": checks["reason"],
        "suggestion": checks["suggestion"],
    })
    valid = _first_of_record(_by_record(joined.filter(pl.col("value_n").is_not_null())))
    del joined
    n = records.height
    if field == "phone":
        # Lists cannot hold nulls in every consumer: no extension is an empty string.
        lists = _nested(valid["row"], n, {
            "phones": valid["value_n"], "phone_exts": valid["ext"].fill_null(""), "phone_types": valid["type"],
            "phone_kinds": valid["kind"],
        })
    else:
        # a corporate (or role) address's domain hints at the company: romashka-msk.ru
        corporate = valid.filter(pl.col("type").is_in(["corporate", "role"]) & ~pl.col("free"))
        corporate = _first_of_record(corporate, "domain")
        lists = _nested(valid["row"], n, {
            "emails": valid["value_n"], "email_keys": valid["key"], "email_classes": valid["type"],
            "email_kinds": valid["kind"],
        }).hstack(_nested(corporate["row"], n, {"corporate_domains": corporate["domain"]}))
    return lists, (counts, checks)


def _by_record(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` ordered by record and position in its list. It mostly comes so (the families
    keep their input's order): then the sort is skipped."""
    order = frame.select(pl.col("row").cast(pl.Int64) * (1 << 32) + pl.col("pos")).to_series()
    return frame if order.is_sorted() else frame.sort("row", "pos")


def _first_of_record(frame: pl.DataFrame, key: str = "key") -> pl.DataFrame:
    """Rows whose `key` repeats an earlier row of the same record dropped. `frame` is ordered by
    record, so a repeat can only be among the records with several rows: only those are looked at."""
    row = pl.col("row")
    several = frame.select(((row == row.shift(1)) | (row == row.shift(-1))).fill_null(False)).to_series()
    rows = several.arg_true()
    if rows.len() == 0:
        return frame
    repeated = frame.select(pl.struct("row", key).gather(rows).is_first_distinct().not_()).to_series()
    keep = pl.repeat(True, frame.height, eager=True).scatter(rows.filter(repeated), False)
    return frame.filter(keep)


def _nested(rows: pl.Series, n: int, columns: dict[str, pl.Series]) -> pl.DataFrame:
    """Per record 0..n-1, its values as lists (empty when it has none). `rows` (the record of each
    value) is sorted, so a record's values are one slice: the lists are cut by offsets, no grouping."""
    bounds = pl.int_range(0, n + 1, dtype=rows.dtype, eager=True)
    offsets = rows.search_sorted(bounds, side="left").cast(pl.Int64).to_arrow()
    return pl.DataFrame([
        pl.Series(name, pa.LargeListArray.from_arrays(offsets, values.to_arrow()), dtype=STR_LIST)
        for name, values in columns.items()
    ])


# --- companies and requisites ------------------------------------------------------------


def _company(records: pl.DataFrame) -> tuple[pl.DataFrame, Checks]:
    result = normalize_companies(records["company"])
    out = result.select(
        pl.col("display").alias("company"), pl.col("core").alias("company_core"), pl.col("key").alias("company_key"),
        "opf", "opf_full", pl.col("is_person").alias("company_is_person"),
        _shown_status("company", pl.col("status"), pl.col("reason")).alias("company_status"),
        pl.col("reason").alias("company_reason"),
    )
    return out, _scalar_checks(records, "company", out["company_status"], out["company_reason"], records["company"],
                               result["display"])


def _requisites(records: pl.DataFrame) -> tuple[pl.DataFrame, Checks]:
    inn, kpp, ogrn = check_inn(records["inn"]), check_kpp(records["kpp"]), check_ogrn(records["ogrn"])
    out = pl.DataFrame({
        "inn": inn["inn"], "inn_kind": inn["kind"], "inn_status": inn["status"],
        "kpp": kpp["kpp"], "kpp_status": kpp["status"],
        "ogrn": ogrn["ogrn"], "ogrn_kind": ogrn["kind"], "ogrn_status": ogrn["status"],
    })
    checks = [
        _scalar_checks(records, field, result["status"], result["reason"], records[field], result[field])
        for field, result in (("inn", inn), ("kpp", kpp), ("ogrn", ogrn))
    ]
    return out, (pl.concat([c[0] for c in checks]), pl.concat([c[1] for c in checks]))


# --- statistics ------------------------------------------------------------------------


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
