"""The layouts `crmtool check` knows: the CRM import files of `crmtool.export.layouts`
plus crmtool's own contacts.csv / companies.csv (and their xlsx, parquet, jsonl twins).

crmtool's own files keep several values in one cell joined with "; ", and a
golden contact may have no name but a phone, so their required group is wider
than a CRM's.
"""

from __future__ import annotations

from crmtool.errors import CrmError
from crmtool.export.layouts import LAYOUTS, Layout

# The column contract of `crmtool run` (DESIGN.md); later columns may follow.
CRMTOOL_CONTACTS = Layout(
    target="crmtool", entity="contact",
    columns=("golden_id", "last_name", "first_name", "middle_name", "gender", "phones", "emails", "company_ids",
             "companies", "job_title", "city", "owner", "department"),
    one_of=("last_name", "first_name", "middle_name", "phones", "emails"),
    phone_columns=("phones",),
    email_columns=("emails",),
    name_columns=("last_name", "first_name", "middle_name"),
    company_column="companies",
)
CRMTOOL_COMPANIES = Layout(
    target="crmtool", entity="company",
    columns=("golden_id", "name", "opf", "inn", "kpp", "ogrn", "phones", "emails", "city", "address"),
    one_of=("name",),
    phone_columns=("phones",),
    email_columns=("emails",),
    company_column="name",
    inn_column="inn",
)

CHECK_LAYOUTS: dict[str, Layout] = {**LAYOUTS, CRMTOOL_CONTACTS.key: CRMTOOL_CONTACTS,
                                    CRMTOOL_COMPANIES.key: CRMTOOL_COMPANIES}
AUTO = "auto"


def layout_named(name: str) -> Layout | None:
    """--layout NAME: None for auto; a CrmError listing the choices for anything unknown."""
    key = name.strip().lower()
    if key == AUTO:
        return None
    # "bitrix24-contacts" reads as well as "bitrix24-contact"
    layout = CHECK_LAYOUTS.get(key) or CHECK_LAYOUTS.get(key.removesuffix("s")) or CHECK_LAYOUTS.get(
        key.removesuffix("ies") + "y")
    if layout is None:
        raise CrmError(f"--layout: unknown layout {name!r}; known: {', '.join([AUTO, *CHECK_LAYOUTS])}")
    return layout


def detect_layout(columns: list[str]) -> Layout | None:
    """The layout a header belongs to: the one whose columns it covers best (at least one
    of its required columns and half of all), case-insensitively; ties go to the CRM layouts."""
    have = {c.strip().lower() for c in columns}
    best, best_share = None, 0.0
    for layout in CHECK_LAYOUTS.values():
        if not any(c.lower() in have for c in layout.one_of):
            continue
        share = sum(c.lower() in have for c in layout.columns) / len(layout.columns)
        if share >= 0.5 and share > best_share:
            best, best_share = layout, share
    return best


def column_index(header: list[str]) -> dict[str, str]:
    """Lower-cased, trimmed header name → the column as written (CRMs match headers case-insensitively)."""
    index: dict[str, str] = {}
    for name in header:
        index.setdefault(name.strip().lower(), name)
    return index
