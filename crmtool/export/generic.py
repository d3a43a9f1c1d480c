"""`generic` and `crosswalk` targets: crmtool's own layout in csv / xlsx / parquet / jsonl.

csv and xlsx flatten phones and e-mails to "; "-joined values (E.164,
normalized e-mails) with the types in `phone_types` / `email_types`;
parquet and jsonl keep them as lists of {value, type}. Column order follows
DESIGN.md's CLI contract (contacts.csv, companies.csv, crosswalk.csv).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool.export.data import ExportData
from crmtool.export.targets import ExportOptions, target

CONTACT_COLUMNS = ("golden_id", "last_name", "first_name", "middle_name", "gender", "phones", "emails", "company_ids",
                   "companies", "job_title", "city", "owner", "department")
COMPANY_COLUMNS = ("golden_id", "name", "opf", "inn", "kpp", "ogrn", "phones", "emails", "city", "address")


def contacts_frame(data: ExportData) -> pl.DataFrame:
    """Golden contacts in the contract's column order, companies named on each row."""
    named = data.company_names()
    frame = data.contacts.join(named, left_on="golden_id", right_on="contact_id", how="left").rename(
        {"company_ids": "company_ids", "company_names": "companies"})
    rest = [c for c in frame.columns if c not in CONTACT_COLUMNS]
    return frame.select(*CONTACT_COLUMNS, *rest).rename({"records": "source_records"})


def companies_frame(data: ExportData) -> pl.DataFrame:
    rest = [c for c in data.companies.columns if c not in COMPANY_COLUMNS]
    return data.companies.select(*COMPANY_COLUMNS, *rest).rename({"records": "source_records"})


def flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists as "; "-joined text (typed lists: values in place, their types in a *_types
    column at the end, so the contract's column order stays)."""
    out, types = [], []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            values = pl.col(name).list.eval(pl.element().struct.field("value"))
            out.append(values.list.join("; ").replace("", None).alias(name))
            kinds = pl.col(name).list.eval(pl.element().struct.field("type"))
            types.append(kinds.list.join("; ").replace("", None).alias(f"{name[:-1]}_types"))
        elif isinstance(dtype, pl.List):
            out.append(pl.col(name).cast(pl.List(pl.String)).list.join("; ").replace("", None).alias(name))
        else:
            out.append(pl.col(name))
    return frame.select(*out, *types)


def write_frame(frame: pl.DataFrame, path: Path, options: ExportOptions) -> Path:
    """One table in the chosen format, written to a .part file then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    fmt = path.suffix.lstrip(".")
    if fmt == "csv" and options.codec.startswith("utf-8"):  # polars writes UTF-8 itself, no text in Python
        flat(frame).write_csv(tmp, separator=options.separator, include_bom=options.codec == "utf-8-sig")
    elif fmt == "csv":
        text = flat(frame).write_csv(separator=options.separator)
        tmp.write_bytes(text.encode(options.codec, errors="replace"))
    elif fmt == "xlsx":
        flat(frame).write_excel(tmp, worksheet=path.stem[:31], autofit=False)
    elif fmt == "parquet":
        frame.write_parquet(tmp)
    elif fmt == "jsonl":
        frame.write_ndjson(tmp)
    else:  # pragma: no cover - ExportOptions refuses other formats
        raise ValueError(fmt)
    tmp.replace(path)
    return path


@target("generic")
def write_generic(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """contacts, companies, links (contact ↔ company) in one format."""
    ext = options.format
    links = data.links.join(
        data.companies.select(pl.col("golden_id").alias("company_id"), pl.col("name").alias("company")),
        on="company_id", how="left")
    return [
        write_frame(contacts_frame(data), out / f"contacts.{ext}", options),
        write_frame(companies_frame(data), out / f"companies.{ext}", options),
        write_frame(links, out / f"links.{ext}", options),
    ]


@target("crosswalk")
def write_crosswalk(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """source_file, source_row, entity, golden_id for every source record (always written)."""
    return [write_frame(data.crosswalk, out / f"crosswalk.{options.format if options.format != 'xlsx' else 'csv'}",
                        options)]
