"""Golden records as Bitrix24 REST fields (crm.company.add, crm.requisite.add, crm.contact.add).

Columns are computed over whole frames (polars); only the final dicts are built per record.
Every card we create carries ORIGINATOR_ID = "crmtool" and ORIGIN_ID = its golden id: that
mark is how an interrupted push finds what already landed.
"""

from __future__ import annotations

import polars as pl

from crmtool.export.bitrix24 import (
    COMPANY_SCHEMA, CONTACT_SCHEMA, NO_NAME, _blank_to_null, birthday, company_titles, complete, joined_lines,
)
from crmtool.export.data import ExportData
from crmtool.export.users import resolve
from crmtool.push.channels import typed_channels
from crmtool.push.ledger import payload_hash
from crmtool.push.records import PushRecord

ORIGINATOR = "crmtool"
PHONE_TYPES = {"WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"}
EMAIL_TYPES = {"WORK", "HOME", "MAILING", "OTHER"}
ENTITY_COMPANY = 4


def multi(values: list[dict] | None, allowed: set[str], phone: bool) -> tuple[list[dict], list[str]]:
    """PHONE / EMAIL items with their VALUE_TYPE, and the bare values for the duplicate lookup."""
    channels = typed_channels(values, phone)
    items = [{"VALUE": shown, "VALUE_TYPE": kind if kind in allowed else "OTHER"} for shown, kind, _ in channels]
    return items, [bare for _, _, bare in channels]


def _clean(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def company_records(data: ExportData, users: dict[str, str]) -> list[PushRecord]:
    companies = complete(data.companies, COMPANY_SCHEMA)
    titles = company_titles(companies)
    frame = companies.join(titles, on="golden_id", how="left", maintain_order="left").with_columns(
        resolve(companies["owner"], users).alias("assigned"),
        joined_lines(pl.col("note"), pl.when(pl.col("full_name") != pl.col("title"))
                     .then(pl.format("Полное наименование: {}", pl.col("full_name")))).alias("comments"),
    )
    records = []
    for row in frame.iter_rows(named=True):
        phones, bare_phones = multi(row["phones"], PHONE_TYPES, phone=True)
        emails, bare_emails = multi(row["emails"], EMAIL_TYPES, phone=False)
        fields = _clean({
            "TITLE": row["title"], "ADDRESS": row["address"], "ADDRESS_CITY": row["city"],
            "PHONE": phones, "EMAIL": emails, "COMMENTS": row["comments"],
            "WEB": [{"VALUE": row["website"], "VALUE_TYPE": "WORK"}] if row["website"] else None,
            "ASSIGNED_BY_ID": row["assigned"], "OPENED": "Y",
            "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": row["golden_id"],
        })
        requisite = _clean({"RQ_INN": row["inn"], "RQ_KPP": row["kpp"],
                            "RQ_OGRNIP" if row.get("is_person") else "RQ_OGRN": row["ogrn"],
                            "RQ_COMPANY_NAME": row["full_name"] or row["title"]}) if row["inn"] else {}
        payload = {"fields": fields, "requisite": requisite, "person": bool(row.get("is_person"))}
        records.append(PushRecord(row["golden_id"], payload, payload_hash(payload), name=row["title"] or "",
                                  phones=bare_phones, emails=bare_emails, inn=row["inn"]))
    return records


def contact_records(data: ExportData, users: dict[str, str], company_ids: dict[str, str]) -> list[PushRecord]:
    contacts = complete(data.contacts, CONTACT_SCHEMA)
    links = data.links.select("contact_id", "company_id").with_columns(
        pl.col("company_id").replace_strict(company_ids, default=None, return_dtype=pl.String).alias("remote"))
    linked = links.filter(pl.col("remote").is_not_null()).group_by("contact_id").agg(
        pl.col("remote").cast(pl.Int64).sort().alias("company_ids"))
    nameless = _blank_to_null(pl.col("first_name")).is_null() & _blank_to_null(pl.col("last_name")).is_null()
    born = birthday()
    frame = contacts.join(linked, left_on="golden_id", right_on="contact_id", how="left",
                          maintain_order="left").with_columns(
        pl.when(nameless).then(pl.coalesce(_blank_to_null(pl.col("middle_name")), pl.lit(NO_NAME)))
        .otherwise(pl.col("first_name")).alias("NAME"),
        pl.when(~nameless).then(pl.col("middle_name")).alias("SECOND_NAME"),
        born.dt.strftime("%Y-%m-%d").alias("BIRTHDATE"),
        joined_lines(pl.col("note"), pl.format("Отдел: {}", pl.col("department")),
                     pl.when(born.is_null()).then(pl.format("Дата рождения: {}", pl.col("birthday")))).alias("COMMENTS"),
        resolve(contacts["owner"], users).alias("assigned"),
    )
    records = []
    for row in frame.iter_rows(named=True):
        phones, bare_phones = multi(row["phones"], PHONE_TYPES, phone=True)
        emails, bare_emails = multi(row["emails"], EMAIL_TYPES, phone=False)
        fields = _clean({
            "NAME": row["NAME"], "LAST_NAME": row["last_name"], "SECOND_NAME": row["SECOND_NAME"],
            "BIRTHDATE": row["BIRTHDATE"], "POST": row["job_title"], "ADDRESS": row["address"],
            "ADDRESS_CITY": row["city"], "COMMENTS": row["COMMENTS"], "PHONE": phones, "EMAIL": emails,
            "COMPANY_IDS": row["company_ids"], "ASSIGNED_BY_ID": row["assigned"], "OPENED": "Y",
            "SOURCE_ID": "OTHER", "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": row["golden_id"],
        })
        payload = {"fields": fields}
        name = " ".join(p for p in (row["last_name"], row["NAME"], row["SECOND_NAME"]) if p)
        records.append(PushRecord(row["golden_id"], payload, payload_hash(payload), name=name,
                                  phones=bare_phones, emails=bare_emails))
    return records
