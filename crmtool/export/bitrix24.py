"""`bitrix24` target: bitrix24_companies.csv and bitrix24_contacts.csv for the CRM's CSV import.

What the import does with a file (crm.contact.import / crm.company.import, see
docs/exports.md): headers are matched to field labels case-insensitively; a
cell of a phone or e-mail column is split on ";" (else on ",") into several
values of that type; "Компания" links a contact to the company whose title is
exactly that text, creating a new company when none is found; "Ответственный"
is a user id, "Имя [id]" or a name. So: companies are written first, with
titles made unique, and contacts name them by the same titles; several phones
of one type share a cell joined by "; "; a contact takes one company (the
best-evidenced link), the others go to "Комментарий".

The helpers here (typed phone / e-mail columns, unique company titles, the
contact's main company, CSV writing) serve the amoCRM target too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool import console
from crmtool.export.data import ExportData
from crmtool.export.layouts import (
    BITRIX24_COMPANIES,
    BITRIX24_CONTACTS,
    BITRIX24_EMAIL_COLUMNS,
    BITRIX24_PHONE_COLUMNS,
    Layout,
)
from crmtool.export.targets import ExportOptions, target
from crmtool.export.users import responsible, unknown_owners

PHONE = pl.List(pl.Struct({"value": pl.String, "ext": pl.String, "type": pl.String}))
EMAIL = pl.List(pl.Struct({"value": pl.String, "type": pl.String}))
CONTACT_SCHEMA = {
    "golden_id": pl.String, "last_name": pl.String, "first_name": pl.String, "middle_name": pl.String,
    "birthday": pl.String, "job_title": pl.String, "department": pl.String, "city": pl.String,
    "address": pl.String, "owner": pl.String, "note": pl.String, "phones": PHONE, "emails": EMAIL,
}
COMPANY_SCHEMA = {
    "golden_id": pl.String, "name": pl.String, "full_name": pl.String, "inn": pl.String, "kpp": pl.String,
    "ogrn": pl.String, "city": pl.String, "address": pl.String, "website": pl.String, "owner": pl.String,
    "note": pl.String, "phones": PHONE, "emails": EMAIL,
}
LINK_SCHEMA = {"contact_id": pl.String, "company_id": pl.String, "via": pl.List(pl.String),
               "record_ids": pl.List(pl.Int64)}
MULTI_SEP = "; "  # Bitrix24 splits a multi-field cell on ";" first (CCrmFieldMulti::PrepareFields)
NO_NAME = "Без имени"  # what Bitrix24 itself calls a contact created without a name


# --- shared helpers ------------------------------------------------------------------------------

def complete(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The columns a writer reads, as typed nulls where a masked copy (roles) dropped them."""
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def typed_list(column: str, kind: str, wanted: str, types: dict[str, str]) -> pl.Expr:
    """The values of one type from a typed list column, as a list. Phones carry their extension
    as " доб. N"; types a CRM has no column for count as OTHER."""
    el = pl.element()
    value = el.struct.field("value")
    if kind == "phone":
        ext = el.struct.field("ext")
        value = pl.when(ext.is_not_null() & (ext != "")).then(pl.concat_str([value, pl.lit(" доб. "), ext])) \
            .otherwise(value)
    kind_of = el.struct.field("type")
    named = [t for t in types if t != "OTHER"]
    keep = (kind_of.is_null() | ~kind_of.is_in(named)) if wanted == "OTHER" else kind_of == wanted
    return pl.col(column).list.eval(value.filter(keep & value.is_not_null()))


def typed_values(column: str, kind: str, wanted: str, types: dict[str, str], sep: str = MULTI_SEP) -> pl.Expr:
    """The values of one type from a typed list column, joined by `sep` (null when none)."""
    return typed_list(column, kind, wanted, types).list.join(sep).replace("", None)


def channel_columns(phones: dict[str, str], emails: dict[str, str], sep: str = MULTI_SEP) -> list[pl.Expr]:
    """One column per phone type and e-mail type, named as the CRM names them."""
    return [
        *(typed_values("phones", "phone", t, phones, sep).alias(name) for t, name in phones.items()),
        *(typed_values("emails", "email", t, emails, sep).alias(name) for t, name in emails.items()),
    ]


def channel_frame(data: ExportData, entity: str, phones: dict[str, str], emails: dict[str, str],
                  sep: str = MULTI_SEP) -> pl.DataFrame:
    """`channel_columns` for every golden contact (entity "contact") or company, in their order.
    The typed lists are built once per export: Bitrix24 and amoCRM want the same ones, each
    joined by its own separator."""
    frame, schema = (data.contacts, CONTACT_SCHEMA) if entity == "contact" else (data.companies, COMPANY_SCHEMA)

    def typed_lists() -> pl.DataFrame:
        return complete(frame, schema).select(
            *(typed_list("phones", "phone", t, phones).alias(f"phones {t}") for t in phones),
            *(typed_list("emails", "email", t, emails).alias(f"emails {t}") for t in emails),
        )

    lists = data.derived(f"channels {entity} {','.join(phones)} {','.join(emails)}", typed_lists)
    names = [*phones.values(), *emails.values()]
    joined = lists.select(pl.col(c).list.join(sep).alias(name) for c, name in zip(lists.columns, names))
    return joined.select(pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in names)


def _title_key(title: pl.Expr) -> pl.Expr:
    """How a CRM compares titles: case-insensitively (MySQL collation), ё = е, spaces collapsed."""
    return title.str.to_lowercase().str.replace_all("ё", "е").str.replace_all(r"\s+", " ").str.strip_chars()


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().replace("", None)  # one strip (when/then would strip twice)


def company_titles(companies: pl.DataFrame) -> pl.DataFrame:
    """golden_id → a title no other company shares. Companies that share a name all get a suffix in
    brackets: the city, else the ИНН, else the golden id; a suffix that still collides moves on."""
    companies = complete(companies, COMPANY_SCHEMA)
    base = pl.coalesce(_blank_to_null(pl.col("name")), _blank_to_null(pl.col("full_name")),
                       pl.format("ИНН {}", pl.col("inn")), pl.col("golden_id"))
    frame = companies.select("golden_id", base.alias("base"), _blank_to_null(pl.col("city")).alias("city"),
                             _blank_to_null(pl.col("inn")).alias("inn"))
    frame = frame.with_columns(title=pl.col("base"), key=_title_key(pl.col("base")))
    frame = frame.with_columns(flexible=pl.col("key").is_duplicated())
    suffixes = (
        pl.coalesce(pl.col("city"), pl.format("ИНН {}", pl.col("inn")), pl.col("golden_id")),
        pl.coalesce(pl.format("ИНН {}", pl.col("inn")), pl.col("golden_id")),
        pl.col("golden_id"),
    )
    for suffix in suffixes:
        # only the clashing rows get a new title, so only their keys are computed again
        rows = frame.select(pl.col("flexible") & pl.col("key").is_duplicated()).to_series().arg_true()
        if not rows.len():
            break
        moved = frame[rows].select(title=pl.format("{} ({})", pl.col("base"), suffix)).with_columns(
            key=_title_key(pl.col("title")))
        frame = frame.with_columns(frame["title"].clone().scatter(rows, moved["title"]),
                                   frame["key"].clone().scatter(rows, moved["key"]))
    return frame.select("golden_id", "title")


def main_companies(data: ExportData, titles: pl.DataFrame) -> pl.DataFrame:
    """contact_id → the title of its main company and the others' titles ("; "-joined). The main one is
    the link with the strongest evidence: named on the contact's own row or as a representative
    before a shared e-mail domain, then by kinds of evidence and records behind it."""
    links = complete(data.links, LINK_SCHEMA)
    via = pl.col("via")
    ranked = links.join(titles, left_on="company_id", right_on="golden_id", how="inner").with_columns(
        strong=(via.list.contains("row") | via.list.contains("representative")).fill_null(False),
        kinds=via.list.len().fill_null(0),
        evidence=pl.col("record_ids").list.len().fill_null(0),
    ).sort(["contact_id", "strong", "kinds", "evidence", "company_id"],
           descending=[False, True, True, True, False])
    grouped = ranked.group_by("contact_id", maintain_order=True).agg(
        pl.col("title").first().alias("company"),
        pl.col("title").slice(1).alias("others"),
    )
    return grouped.with_columns(others=pl.when(pl.col("others").list.len() > 0)
                                .then(pl.col("others").list.join("; ")))


def shared_titles(data: ExportData) -> pl.DataFrame:
    """`company_titles` of the data's companies, computed once for every target of an export."""
    return data.derived("company_titles", lambda: company_titles(data.companies))


def contact_companies(data: ExportData, titles: pl.DataFrame) -> pl.DataFrame:
    """`main_companies`, computed once per export when `titles` are the shared ones."""
    if titles is shared_titles(data):
        return data.derived("main_companies", lambda: main_companies(data, titles))
    return main_companies(data, titles)


def birthday(column: str = "birthday") -> pl.Expr:
    """The birthday as a date when its text is a full date (dd.mm.yyyy, yyyy-mm-dd[…], yyyy.mm.dd)
    with a plausible year; null otherwise ("--07-21" has no year: it goes to the comment)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    date = pl.coalesce(
        text.str.to_date("%d.%m.%Y", strict=False),
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        text.str.to_date("%Y.%m.%d", strict=False),
    )
    return pl.when(date.dt.year().is_between(1900, 2100)).then(date)


def joined_lines(*parts: pl.Expr) -> pl.Expr:
    """Non-empty parts one per line; null when all are empty."""
    return pl.concat_str([_blank_to_null(p) for p in parts], separator="\n", ignore_nulls=True).replace("", None)


def write_csv(frame: pl.DataFrame, path: Path, options: ExportOptions, bom: bool) -> Path:
    """The frame as CSV in the chosen encoding and separator, quoted where needed (multi-line notes
    stay one record), to a .part file then renamed. Characters the encoding lacks become "?" and
    are reported."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    codec = options.codec
    if codec.startswith("utf-8"):
        frame.write_csv(tmp, separator=options.separator, include_bom=bom or codec == "utf-8-sig")
    else:
        text = frame.write_csv(separator=options.separator)
        data = text.encode(codec, errors="replace")
        tmp.write_bytes(data)
        replaced = data.count(b"?") - text.count("?")
        if replaced:
            console.warn(f"{path}: {replaced:,} characters have no {options.encoding} equivalent and were "
                         f"written as '?' (use --encoding utf-8 to keep them)")
    tmp.replace(path)
    return path


def warn_unknown_owners(target_name: str, data: ExportData, users: dict[str, str]) -> None:
    """With a users map given, name the owners of contacts and companies it has no id for (they are
    written as names)."""
    if not users:
        return
    owners = pl.concat([complete(data.companies, COMPANY_SCHEMA)["owner"],
                        complete(data.contacts, CONTACT_SCHEMA)["owner"]])
    unknown = unknown_owners(owners, users)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        console.warn(f"{target_name}: {len(unknown)} owner(s) not in the users file, written as names: {shown}")


def in_layout(frame: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Exactly the layout's columns in its order (a column the frame lacks is empty)."""
    return frame.select([pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c)
                         for c in layout.columns])


# --- Bitrix24 ------------------------------------------------------------------------------------

def titled_companies(data: ExportData, titles: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Golden companies with their unique import titles, and the note line giving the full
    legal name where it differs from the title (shared by the Bitrix24 and amoCRM files)."""
    companies = complete(data.companies, COMPANY_SCHEMA).join(titles, on="golden_id", how="left",
                                                               maintain_order="left")
    full_name = pl.when(pl.col("full_name") != pl.col("title")).then(pl.format("Полное наименование: {}",
                                                                               pl.col("full_name")))
    return companies, full_name


def bitrix_companies(data: ExportData, titles: pl.DataFrame, users: dict[str, str]) -> pl.DataFrame:
    companies, full_name = titled_companies(data, titles)
    frame = companies.select(
        pl.col("title").alias("Название компании"),
        pl.col("website").alias("Корпоративный сайт"),
        pl.col("address").alias("Фактический адрес"),
        pl.col("inn").alias("ИНН"), pl.col("kpp").alias("КПП"), pl.col("ogrn").alias("ОГРН"),
        # companies have no source fields in Bitrix24: the golden id travels in the comment
        joined_lines(pl.col("note"), full_name, pl.format("crmtool {}", pl.col("golden_id"))).alias("Комментарий"),
    ).with_columns(responsible(companies["owner"], users).alias("Ответственный"))
    frame = frame.hstack(channel_frame(data, "company", BITRIX24_PHONE_COLUMNS, BITRIX24_EMAIL_COLUMNS))
    return in_layout(frame, BITRIX24_COMPANIES)


def bitrix_contacts(data: ExportData, titles: pl.DataFrame, users: dict[str, str]) -> pl.DataFrame:
    contacts = complete(data.contacts, CONTACT_SCHEMA).join(
        contact_companies(data, titles), left_on="golden_id", right_on="contact_id", how="left", maintain_order="left",
    ).with_columns(birthday().alias("_born"))
    born = pl.col("_born")
    # the import needs Имя or Фамилия: a nickname left in the middle name ("Михалыч") becomes the first
    # name, a record with no name at all gets Bitrix24's own placeholder
    nameless = _blank_to_null(pl.col("first_name")).is_null() & _blank_to_null(pl.col("last_name")).is_null()
    frame = contacts.select(
        pl.when(nameless).then(pl.coalesce(_blank_to_null(pl.col("middle_name")), pl.lit(NO_NAME)))
        .otherwise(pl.col("first_name")).alias("Имя"),
        pl.col("last_name").alias("Фамилия"),
        pl.when(~nameless).then(pl.col("middle_name")).alias("Отчество"),
        born.dt.strftime("%d.%m.%Y").alias("Дата рождения"),
        pl.col("company").alias("Компания"),
        pl.col("job_title").alias("Должность"),
        pl.col("address").alias("Адрес"), pl.col("city").alias("Город"),
        joined_lines(
            pl.col("note"),
            pl.format("Отдел: {}", pl.col("department")),
            pl.format("Другие компании: {}", pl.col("others")),
            pl.when(born.is_null()).then(pl.format("Дата рождения: {}", pl.col("birthday"))),
        ).alias("Комментарий"),
        pl.format("crmtool {}", pl.col("golden_id")).alias("Дополнительно об источнике"),
    ).with_columns(responsible(contacts["owner"], users).alias("Ответственный"))
    frame = frame.hstack(channel_frame(data, "contact", BITRIX24_PHONE_COLUMNS, BITRIX24_EMAIL_COLUMNS))
    return in_layout(frame, BITRIX24_CONTACTS)


@target("bitrix24")
def write_bitrix24(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """bitrix24_companies.csv (import it first), then bitrix24_contacts.csv naming those companies."""
    titles = shared_titles(data)
    written = [
        write_csv(bitrix_companies(data, titles, options.users), out / "bitrix24_companies.csv", options, bom=True),
        write_csv(bitrix_contacts(data, titles, options.users), out / "bitrix24_contacts.csv", options, bom=True),
    ]
    warn_unknown_owners("bitrix24", data, options.users)
    return written
