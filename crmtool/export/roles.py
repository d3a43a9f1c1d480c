"""Role partitions: one export folder per role, holding only what the role may see.

roles.toml gives every role a filter (which contacts and companies), the
fields it sees, the fields it sees masked, and whether it may export at all
(docs/roles.md). `partition` turns the golden data into the role's copy:
rows outside the filter are gone, hidden fields are null, masked fields are
masked. Columns are kept (nulled, not dropped) so that every target, including
ones that select fixed columns, works on a partition without knowing about
roles, and no target can leak a field by reading it from somewhere else.

Decisions:
- One field vocabulary for contacts and companies: `phones` hidden means no
  phone of a contact or of a company is written. `companies` stands for the
  contact's companies: their names and the contact ↔ company links.
- Unknown columns (a golden field added later) are hidden until this module
  names them: a partition fails closed.
- The crosswalk names source files, so a role gets it only when it sees `sources`
  (without it the crosswalk is empty and links carry no record ids).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from crmtool.errors import CrmError
from crmtool.export.data import ExportData
from crmtool.export.masking import email_mask, mask_typed_list, phone_mask, text_mask
from crmtool.merge.survivorship import FAMILIES
from crmtool.normalize.cities import city_key

CONTACT_ONLY = ("last_name", "first_name", "middle_name", "gender", "birthday", "job_title", "department", "consent")
SHARED = ("city", "address", "owner", "note", "phones", "emails", "records", "sources")
COMPANY_ONLY = ("full_name", "opf", "inn", "kpp", "ogrn", "is_person", "website")
COMPANIES = "companies"  # the contact's companies: names and links
FIELDS = (*CONTACT_ONLY, *SHARED, COMPANIES, *COMPANY_ONLY)
UNMASKABLE = frozenset({"records", "sources", "is_person"})
# filter keys: every field, plus golden_id, `company` (a linked company's name) and `source`
# (a source family or a file name glob); a list means "any of".
COMPANY_KEYS = (*COMPANY_ONLY, "company")
FILTER_KEYS = ("golden_id", *CONTACT_ONLY, *SHARED, "source", *COMPANY_KEYS)
INT_KEYS = frozenset({"records"})
BOOL_KEYS = frozenset({"is_person"})
ROLE_KEYS = ("description", "export", "fields", "hidden", "masked", "filter")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9А-Яа-яЁё][A-Za-z0-9А-Яа-яЁё_.-]{0,63}$")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)  # Windows device names


@dataclass(frozen=True)
class Role:
    """What one role may export: rows by `filter`, columns by `fields`, masked by `masked`."""

    name: str
    filter: dict[str, tuple] = field(default_factory=dict)
    fields: frozenset[str] = frozenset(FIELDS)  # visible, masked ones included
    masked: frozenset[str] = frozenset()
    export: bool = True
    description: str = ""

    def sees(self, name: str) -> bool:
        return name in self.fields


# --- roles.toml ----------------------------------------------------------------------------------


def load_roles(path: Path) -> list[Role]:
    """The roles of a roles.toml, in file order; a CrmError naming the role and key otherwise."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CrmError(f"{path}: cannot read the roles file: {exc}") from None
    extra = [k for k in doc if k != "roles"]
    if extra:
        raise CrmError(f"{path}: unknown key {extra[0]!r}; a roles file holds only [roles.<name>] tables")
    table = doc.get("roles")
    if not isinstance(table, dict) or not table:
        raise CrmError(f"{path}: no roles defined; add a [roles.<name>] table (see docs/roles.md)")
    roles = [_role(path, name, body) for name, body in table.items()]
    seen: dict[str, str] = {}
    for role in roles:
        other = seen.setdefault(role.name.lower(), role.name)
        if other != role.name:
            raise CrmError(f"{path}: roles {other!r} and {role.name!r} would share one folder on Windows and macOS;"
                           " rename one")
    return roles


def _role(path: Path, name: str, body) -> Role:
    where = f"{path}: role {name!r}"
    if not name.strip():
        raise CrmError(f"{path}: a role has an empty name ([roles.\"\"]); name it")
    if not _SAFE_NAME.match(name) or name.endswith(".") or _RESERVED.match(name):
        raise CrmError(f"{where}: the name is used as a folder name and must be letters, digits, _ . -"
                       " (at most 64, starting with a letter or digit, not a Windows device name)")
    if not isinstance(body, dict):
        raise CrmError(f"{where}: must be a table ([roles.{name}])")
    for key in body:
        if key not in ROLE_KEYS:
            raise CrmError(f"{where}: unknown key {key!r}{_hint(key, ROLE_KEYS)}; keys: {', '.join(ROLE_KEYS)}")
    export = body.get("export", True)
    if not isinstance(export, bool):
        raise CrmError(f"{where}: export must be true or false, not {export!r}")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise CrmError(f"{where}: description must be text")
    if "fields" in body and "hidden" in body:
        raise CrmError(f"{where}: give either fields (what it sees) or hidden (what it does not), not both")
    listed = _field_list(where, body, "fields")
    hidden = _field_list(where, body, "hidden")
    masked = _field_list(where, body, "masked")
    visible = set(listed) if "fields" in body else set(FIELDS) - set(hidden)
    for name_ in masked:
        if name_ in hidden:
            raise CrmError(f"{where}: field {name_!r} is both hidden and masked; keep it in one of them")
        if name_ not in visible:
            raise CrmError(f"{where}: field {name_!r} is masked but not in fields; add it to fields to show it masked")
        if name_ in UNMASKABLE:
            raise CrmError(f"{where}: field {name_!r} cannot be masked (it is a count, a flag or a list of"
                           " source kinds); show it or hide it")
    filt = body.get("filter", {})
    if not isinstance(filt, dict):
        raise CrmError(f"{where}: filter must be a table, e.g. filter = {{ city = \"Москва\" }}")
    return Role(name=name, filter={k: _filter_values(where, k, v) for k, v in filt.items()},
                fields=frozenset(visible), masked=frozenset(masked), export=export, description=description)


def _field_list(where: str, body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CrmError(f"{where}: {key} must be a list of field names, e.g. {key} = [\"phones\", \"emails\"]")
    for name in value:
        if name == "golden_id":
            raise CrmError(f"{where}: {key}: golden_id is always exported and cannot be listed")
        if name not in FIELDS:
            raise CrmError(f"{where}: {key}: unknown field {name!r}{_hint(name, FIELDS)}; fields: {', '.join(FIELDS)}")
    return value


def _filter_values(where: str, key: str, value) -> tuple:
    if key not in FILTER_KEYS:
        raise CrmError(f"{where}: filter: unknown key {key!r}{_hint(key, FILTER_KEYS)}; keys: {', '.join(FILTER_KEYS)}")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise CrmError(f"{where}: filter.{key}: an empty list matches nothing; give at least one value")
    kind, check = ((int, "whole numbers") if key in INT_KEYS else (bool, "true or false") if key in BOOL_KEYS
                   else (str, "text in quotes"))
    for v in values:
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise CrmError(f"{where}: filter.{key}: {v!r} is not {check}")
        if key == "sources" and v.lower() not in FAMILIES:
            raise CrmError(f"{where}: filter.sources: {v!r} is not a source kind ({', '.join(FAMILIES)});"
                           " use filter.source for a file name")
    return tuple(values)


def _hint(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- filtering -----------------------------------------------------------------------------------


def _fold(text: pl.Expr) -> pl.Expr:
    """Case, ё and spacing do not matter when a filter compares text."""
    return (text.str.to_lowercase().str.replace_all("ё", "е", literal=True)
            .str.replace_all(r"\s+", " ").str.strip_chars())


def _digits(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(r"[^0-9]", "")


def _folded(values: tuple, fold) -> list[str | None]:
    """Filter values through the same expression as the column (wildcards survive it)."""
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.String})
    return frame.select(fold(pl.col("v")).alias("v"))["v"].to_list()


def _glob_regex(patterns: list[str]) -> str:
    """Globs (* any text, ? one character) as one anchored regex; every other character literal."""
    def one(p: str) -> str:
        return "".join(".*" if ch == "*" else "." if ch == "?" else f"\\x{{{ord(ch):X}}}" for ch in p)
    return "(?s)^(?:" + "|".join(one(p) for p in patterns) + ")$"


def _text_match(column: pl.Expr, values: tuple, fold=_fold, fold_values=None) -> pl.Expr:
    """Any of the values, as exact text or a glob, after folding both sides; "" = empty."""
    wants_empty = any(v.strip() == "" for v in values)
    folded = [v for v in _folded(tuple(v for v in values if v.strip()), fold_values or fold) if v]
    key = fold(column)
    cond = pl.lit(False)
    literal = [v for v in folded if "*" not in v and "?" not in v]
    globs = [v for v in folded if v not in literal]
    if literal:
        cond = cond | key.is_in(literal)
    if globs:
        cond = cond | key.str.contains(_glob_regex(globs))
    if wants_empty:
        cond = cond | key.is_null() | (key == "")
    return cond.fill_null(False)


def _typed_list_match(column: str, values: tuple, fold, fold_values) -> pl.Expr:
    """A phones / e-mails list matches when any of its values does."""
    inner = _text_match(pl.element().struct.field("value"), values, fold, fold_values)
    return pl.col(column).list.eval(inner).list.any().fill_null(False)


def _source_match(data: ExportData, entity: str, values: tuple) -> pl.Expr:
    """A source family (1c, excel, csv, outlook, google, vcard) or a glob over the file path or
    name: the record matches when any of its source records does."""
    families = [v.lower() for v in values if v.lower() in FAMILIES]
    globs = [v.lower().replace("\\", "/") for v in values if v.lower() not in FAMILIES]
    cond = pl.col("sources").list.eval(pl.element().str.to_lowercase().is_in(families)).list.any().fill_null(False)
    if globs:
        files = [f for f in data.crosswalk["source_file"].unique().drop_nulls().to_list()
                 if any(fnmatch.fnmatchcase(f.lower().replace("\\", "/"), g)
                        or fnmatch.fnmatchcase(Path(f).name.lower(), g) for g in globs)]
        ids = data.crosswalk.filter(pl.col("source_file").is_in(files) & (pl.col("entity") == entity))["golden_id"]
        cond = cond | pl.col("golden_id").is_in(ids.drop_nulls().unique().implode())
    return cond


def _key_match(data: ExportData, entity: str, key: str, values: tuple) -> pl.Expr:
    """One filter key over the contacts or companies frame."""
    if key in ("source", "sources"):  # `sources` holds families only (load_roles checked them)
        return _source_match(data, entity, values)
    column = "name" if key == "company" else key
    if key in INT_KEYS or key in BOOL_KEYS:
        return pl.col(column).is_in(list(values)).fill_null(False)
    if key == "city":
        return _text_match(pl.col(column), values, city_key)
    if key == "phones":
        return _typed_list_match(column, values, _digits, lambda v: v.str.replace_all(r"[^0-9*?]", ""))
    if key == "emails":
        return _typed_list_match(column, values, _fold, None)
    return _text_match(pl.col(column), values)


def _all(conds: list[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal(conds) if conds else pl.lit(True)


def contact_filter(data: ExportData, filt: dict[str, tuple]) -> pl.Expr:
    """Contacts the filter lets through: its own keys on the contact, company keys (inn, opf,
    company…) on any company linked to it (one company must match all of them)."""
    conds = [_key_match(data, "contact", k, v) for k, v in filt.items() if k not in COMPANY_KEYS]
    company_keys = {k: v for k, v in filt.items() if k in COMPANY_KEYS}
    if company_keys:
        matched = data.companies.filter(_all([_key_match(data, "company", k, v) for k, v in company_keys.items()]))
        linked = data.links.filter(pl.col("company_id").is_in(matched["golden_id"].implode()))["contact_id"].unique()
        conds.append(pl.col("golden_id").is_in(linked.implode()))
    return _all(conds)


def company_filter(data: ExportData, filt: dict[str, tuple]) -> pl.Expr:
    """Companies the filter lets through by themselves: only when every key applies to a
    company (a filter on department or last_name selects contacts, not companies)."""
    if any(k in CONTACT_ONLY for k in filt):
        return pl.lit(False)
    return _all([_key_match(data, "company", k, v) for k, v in filt.items()])


# --- the partition -------------------------------------------------------------------------------


def _field_of_contact(column: str) -> str | None:
    return column if column in CONTACT_ONLY or column in SHARED else None


def _field_of_company(column: str) -> str | None:
    if column == "name":
        return COMPANIES
    return column if column in SHARED or column in COMPANY_ONLY else None


def _masked(column: str, dtype: pl.DataType, name: str) -> pl.Expr:
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        mask = phone_mask if name == "phones" else email_mask if name == "emails" else text_mask
        return mask_typed_list(column, [f.name for f in dtype.inner.fields], mask)
    if dtype == pl.String:
        return text_mask(pl.col(column)).alias(column)
    return pl.lit(None, dtype).alias(column)  # never reached: load_roles refuses to mask other kinds


def restrict(frame: pl.DataFrame, role: Role, field_of) -> pl.DataFrame:
    """The same columns; hidden ones (and any this module does not know) null, masked ones masked."""
    exprs = []
    for column, dtype in frame.schema.items():
        name = field_of(column)
        if column == "golden_id":
            exprs.append(pl.col(column))
        elif name is None or not role.sees(name):
            exprs.append(pl.lit(None, dtype).alias(column))
        elif name in role.masked:
            exprs.append(_masked(column, dtype, name))
        else:
            exprs.append(pl.col(column))
    return frame.select(exprs)


def partition(data: ExportData, role: Role) -> ExportData | None:
    """The role's copy of the data, or None when the role may not export.

    Contacts: those its filter lets through. Companies (only when it sees `companies`):
    those linked to its contacts, and those matching the filter by themselves. Links:
    only between the two. Crosswalk: the rows of its records, when it sees `sources`.
    """
    if not role.export:
        return None
    contacts = data.contacts.filter(contact_filter(data, role.filter))
    if role.sees(COMPANIES):
        linked = data.links.filter(pl.col("contact_id").is_in(contacts["golden_id"].implode()))["company_id"].unique()
        companies = data.companies.filter(
            pl.col("golden_id").is_in(linked.implode()) | company_filter(data, role.filter))
    else:
        companies = data.companies.clear()
    links = data.links.filter(pl.col("contact_id").is_in(contacts["golden_id"].implode())
                              & pl.col("company_id").is_in(companies["golden_id"].implode()))
    if role.sees("sources"):
        own = (((pl.col("entity") == "contact") & pl.col("golden_id").is_in(contacts["golden_id"].implode()))
               | ((pl.col("entity") == "company") & pl.col("golden_id").is_in(companies["golden_id"].implode())))
        seen = pl.col("company_golden_id").is_in(companies["golden_id"].implode())
        crosswalk = data.crosswalk.filter(own).with_columns(
            pl.when(seen).then(pl.col("company_golden_id")).alias("company_golden_id"))
    else:  # record ids and source rows say where a record came from, as `sources` does
        crosswalk = data.crosswalk.clear()
        if "record_ids" in links.columns:
            links = links.with_columns(pl.lit(None, links.schema["record_ids"]).alias("record_ids"))
    return data.with_frames(
        contacts=restrict(contacts, role, _field_of_contact),
        companies=restrict(companies, role, _field_of_company),
        links=links,
        crosswalk=crosswalk,
    )
