"""`amocrm` target: amocrm_companies and amocrm_contacts as csv (default) or xlsx.

amoCRM's import asks which field each column fills; columns named as its own
export names them ("Полное имя контакта", "Компания контакта", "Рабочий
email"…) are matched without clicking. "Внешний ID" (the golden id) can be
mapped to a custom field or skipped. A contact belongs to one company there
too: the main link names it, the others go to "Примечание", as does the
birthday (the layout has no birthday column). Several values of one type share
a cell joined by ", " [? the form amoCRM's own export writes], see docs/exports.md.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool import console
from crmtool.errors import CrmError
from crmtool.export.bitrix24 import (
    NO_NAME,
    CONTACT_SCHEMA,
    birthday,
    channel_frame,
    complete,
    contact_companies,
    in_layout,
    joined_lines,
    shared_titles,
    titled_companies,
    warn_unknown_owners,
    write_csv,
)
from crmtool.export.data import ExportData
from crmtool.export.generic import write_frame
from crmtool.export.layouts import AMOCRM_COMPANIES, AMOCRM_CONTACTS, AMOCRM_EMAIL_COLUMNS, AMOCRM_PHONE_COLUMNS
from crmtool.export.targets import ExportOptions, target
from crmtool.export.users import responsible

MULTI_SEP = ", "
TAG = "crmtool"  # every imported record carries it: one filter finds (or undoes) the whole import
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows minus the header


def amocrm_companies(data: ExportData, titles: pl.DataFrame, users: dict[str, str]) -> pl.DataFrame:
    companies, full_name = titled_companies(data, titles)
    frame = companies.select(
        pl.col("title").alias("Компания"),
        pl.col("website").alias("Web"), pl.col("address").alias("Адрес"), pl.col("city").alias("Город"),
        pl.col("inn").alias("ИНН"), pl.col("kpp").alias("КПП"), pl.col("ogrn").alias("ОГРН"),
        pl.lit(TAG).alias("Теги"),
        joined_lines(pl.col("note"), full_name).alias("Примечание"),
        pl.col("golden_id").alias("Внешний ID"),
    ).with_columns(responsible(companies["owner"], users).alias("Ответственный"))
    frame = frame.hstack(channel_frame(data, "company", AMOCRM_PHONE_COLUMNS, AMOCRM_EMAIL_COLUMNS, MULTI_SEP))
    return in_layout(frame, AMOCRM_COMPANIES)


def amocrm_contacts(data: ExportData, titles: pl.DataFrame, users: dict[str, str]) -> pl.DataFrame:
    contacts = complete(data.contacts, CONTACT_SCHEMA).join(
        contact_companies(data, titles), left_on="golden_id", right_on="contact_id", how="left", maintain_order="left")
    full = pl.concat_str([pl.col("last_name"), pl.col("first_name"), pl.col("middle_name")], separator=" ",
                         ignore_nulls=True)
    born = birthday()
    frame = contacts.select(
        pl.when(full != "").then(full).otherwise(pl.lit(NO_NAME)).alias("Полное имя контакта"),
        pl.col("first_name").alias("Имя"), pl.col("last_name").alias("Фамилия"),
        pl.col("company").alias("Компания контакта"),
        pl.col("job_title").alias("Должность"), pl.col("address").alias("Адрес"), pl.col("city").alias("Город"),
        pl.lit(TAG).alias("Теги"),
        joined_lines(
            pl.col("note"),
            pl.format("Отдел: {}", pl.col("department")),
            pl.format("Другие компании: {}", pl.col("others")),
            pl.format("Дата рождения: {}", pl.coalesce(born.dt.strftime("%d.%m.%Y"), pl.col("birthday"))),
        ).alias("Примечание"),
        pl.col("golden_id").alias("Внешний ID"),
    ).with_columns(responsible(contacts["owner"], users).alias("Ответственный за контакт"))
    frame = frame.hstack(channel_frame(data, "contact", AMOCRM_PHONE_COLUMNS, AMOCRM_EMAIL_COLUMNS, MULTI_SEP))
    return in_layout(frame, AMOCRM_CONTACTS)


def _write(frame: pl.DataFrame, path: Path, options: ExportOptions) -> Path:
    if path.suffix == ".csv":
        return write_csv(frame, path, options, bom=False)
    if frame.height > XLSX_MAX_ROWS:
        raise CrmError(f"{path.name}: {frame.height:,} rows do not fit one Excel sheet "
                       f"({XLSX_MAX_ROWS:,} at most); export amoCRM as csv (--format csv)")
    return write_frame(frame, path, options)


@target("amocrm")
def write_amocrm(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """amocrm_companies then amocrm_contacts, csv or xlsx (parquet / jsonl fall back to csv)."""
    ext = options.format if options.format in ("csv", "xlsx") else "csv"
    if ext != options.format:
        console.info(f"amocrm: imports csv or xlsx, not {options.format}; writing csv")
    titles = shared_titles(data)
    written = [
        _write(amocrm_companies(data, titles, options.users), out / f"amocrm_companies.{ext}", options),
        _write(amocrm_contacts(data, titles, options.users), out / f"amocrm_contacts.{ext}", options),
    ]
    warn_unknown_owners("amocrm", data, options.users)
    return written
