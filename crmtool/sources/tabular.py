"""Turn a table of text columns (Excel sheet, CSV) into canonical record batches.

Everything here works on whole columns in polars. The only Python-level work
is splitting cells that hold several phones or e-mails, done once per distinct
cell value and only for cells that contain a separator at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import polars as pl

from crmtool.sources.base import TableInfo
from crmtool.sources.headers import (
    ADDRESS_PARTS,
    Profile,
    Target,
    map_header,
)
from crmtool.sources.schema import COMPANY_NAME_RE, STR_LIST, conform, empty_lists, json_object_expr

_QUALIFIER_RANK = {None: 0, "work": 1, "home": 2, "other": 3}

# Several phones in one cell: "8 495 123-45-67, 8 916 765-43-21", "… или …", " ::: " (Google).
_PHONE_SEPARATOR = re.compile(r"(\s*(?:[;,\n\r/\\]|\s:::\s|\s+(?:или|or)\s+)\s*)", re.I)
_PHONE_NEEDS_SPLIT = r"(?i)[;,\n\r/\\]|:::|\s(или|or)\s"
_EMAIL_SEPARATOR = re.compile(r"\s*(?:[;,\n\r]|\s:::\s)\s*")
_EMAIL_NEEDS_SPLIT = r"[;,\n\r]|:::|@\S*\s+\S*@"
_DIGIT = re.compile(r"\d")
_SCI_NUMBER = r"^\s*\d[.,]\d+\s*[eE]\+?\d+\s*$"
_ROUNDED_NUMBER = r"^\d{5,}0{5}$"

_LABEL_KINDS = {
    "phones": {
        "mobile": "mobile", "cell": "mobile", "мобильный": "mobile", "iphone": "mobile",
        "work": "work", "main": "work", "рабочий": "work", "основной": "work",
        "home": "home", "домашний": "home",
        "work fax": "fax", "home fax": "fax", "fax": "fax", "факс": "fax",
        "pager": "pager", "пейджер": "pager",
    },
    "emails": {"work": "work", "рабочий": "work", "home": "home", "личный": "home", "домашний": "home"},
}


def split_phones(cell: str) -> list[str]:
    """Split a cell into phone numbers; pieces with fewer than 5 digits ("доб. 123",
    "/ 68", "(Иван)") stay with the number before them (or after, at the start:
    "7,91612E+10" is one damaged number, not two)."""
    pieces = _PHONE_SEPARATOR.split(cell)
    out: list[str] = []
    pending = ""  # a short leading piece waiting for its number
    for i in range(0, len(pieces), 2):
        piece = pieces[i]
        if not piece.strip():
            continue
        short = len(_DIGIT.findall(piece)) < 5
        if short and out:
            out[-1] = out[-1] + pieces[i - 1] + piece
        elif short:
            pending = pending + (pieces[i - 1] if pending else "") + piece
        else:
            out.append((pending + pieces[i - 1] + piece).strip() if pending else piece.strip())
            pending = ""
    if pending:
        out.append(pending.strip())
    return out or [cell]


def split_emails(cell: str) -> list[str]:
    """Split a cell into e-mails: by , ; new line and ' ::: ', and by spaces
    between two addresses ("a@x.ru b@y.ru")."""
    out: list[str] = []
    for part in _EMAIL_SEPARATOR.split(cell):
        if not part:
            continue
        if part.count("@") > 1:
            out.extend(p for p in part.split() if p)
        else:
            out.append(part)
    return out or [cell]


def split_cells(values: pl.Series, needs_split: str, splitter: Callable[[str], list[str]]) -> pl.Series:
    """A list per cell: one item for plain cells, `splitter` once per distinct multi-value cell."""
    needs = values.str.contains(needs_split).fill_null(False)
    lists = values.to_frame("v").select(
        pl.when(pl.col("v").is_not_null()).then(pl.concat_list("v")).otherwise(pl.lit([], dtype=STR_LIST))
    ).to_series()
    where = needs.arg_true()
    if where.len():
        # Parts travel as one NUL-joined string: polars builds a list column from
        # Python lists slowly, from strings fast.
        cache: dict[str, str] = {}
        joined = [cache.get(v) or cache.setdefault(v, "\0".join(splitter(v))) for v in values.gather(where).to_list()]
        split = pl.DataFrame({"i": where, "parts": pl.Series(joined, dtype=pl.String).str.split("\0")})
        lists = (
            lists.to_frame("lists").with_row_index("i")
            .join(split, on="i", how="left", maintain_order="left")
            .select(pl.coalesce("parts", "lists"))
            .to_series()
        )
    return lists.alias(values.name)


@dataclass
class Column:
    name: str
    position: int
    target: Target

    @property
    def rank(self) -> tuple[int, int]:
        q = self.target.qualifier
        rank = _QUALIFIER_RANK.get(q, 10 + int(q) if q and q.isdigit() else 5)
        return rank, self.position


def clean(frame: pl.DataFrame, empty_values: Sequence[str] = ()) -> pl.DataFrame:
    """Trim every cell; empty cells and a layout's placeholders ("0.0.00", "Ложь") become null."""
    exprs = []
    for name in frame.columns:
        value = pl.col(name).str.strip_chars()
        blank = value == ""
        if empty_values:
            blank = blank | value.is_in(list(empty_values))
        exprs.append(pl.when(blank).then(None).otherwise(value).alias(name))
    return frame.select(exprs)


def map_table(
    frame: pl.DataFrame,
    *,
    profile: Profile | None,
    user: dict[str, Target] | None,
    first_row: int,
    lines: pl.Series | None = None,
    reader_flags: pl.Series | None = None,
    sheet: str | None = None,
    name: str | None = None,
    header_line: int | None = None,
) -> tuple[pl.DataFrame, TableInfo]:
    """Map a table whose columns carry their (unique) header names to a canonical batch.

    `first_row` is the source_row of the table's first record; `lines` the physical
    line of each record; `reader_flags` a list of flags per record found by the reader.
    """
    raw = json_object_expr((c, pl.col(c).replace("", None)) for c in frame.columns)
    raw_json = frame.select(raw.alias("raw")).to_series()
    data = clean(frame, profile.empty_values if profile else ())
    columns = [Column(c, i, map_header(c, profile, user)) for i, c in enumerate(frame.columns)]
    by_field: dict[str, list[Column]] = {}
    for col in columns:
        by_field.setdefault(col.target.field, []).append(col)
    for cols in by_field.values():
        cols.sort(key=lambda c: c.rank)

    extra: list[tuple[str, pl.Expr]] = []

    def scalar(field: str) -> pl.Expr | None:
        cols = by_field.get(field, [])
        if not cols:
            return None
        chosen = pl.coalesce([pl.col(c.name) for c in cols]) if len(cols) > 1 else pl.col(cols[0].name)
        for c in cols[1:]:
            # A second non-empty value for a one-value field is kept, not dropped.
            extra.append((c.name, pl.when(pl.col(c.name) != chosen).then(pl.col(c.name))))
        return chosen

    fields: dict[str, pl.Expr | None] = {
        f: scalar(f)
        for f in (
            "full_name", "last_name", "first_name", "middle_name", "gender", "company", "job_title",
            "department", "inn", "kpp", "ogrn", "city", "address", "birthday", "owner", "consent",
            "note", "website", "source_key",
        )
    }
    fields["address"] = _address(fields["address"], by_field)
    if fields["birthday"] is not None:
        fields["birthday"] = fields["birthday"].str.replace(r"[ T]00:00:00(\.0+)?$", "")

    # 1C: "Наименование" is a person's name for a private person, the company's otherwise.
    name_col, full_col = scalar("name"), by_field.get("name_full")
    full_expr = pl.col(full_col[0].name) if full_col else None
    for c in full_col or []:
        extra.append((c.name, pl.col(c.name)))
    kind_cols = by_field.get("legal_kind", [])
    for c in kind_cols:
        extra.append((c.name, pl.col(c.name)))
    entity = pl.lit(None, dtype=pl.String)
    group_flags: pl.Series | None = None
    if name_col is not None or full_expr is not None:
        names = [e for e in (name_col, full_expr) if e is not None]
        if kind_cols:
            kind = pl.col(kind_cols[0].name).str.to_lowercase()
            # 1C lists an ИП as "Физ. лицо"; for a CRM it is a business: a company.
            entrepreneur = pl.any_horizontal([e.str.contains(COMPANY_NAME_RE) for e in names]).fill_null(False)
            is_person = kind.str.contains("физ").fill_null(False) & ~entrepreneur
            # A hierarchical 1C list has folder rows ("Покупатели") holding only a name
            # (and a code): not a counterparty. Kept, flagged, named in extra only.
            others = [c.name for c in columns if c.target.field not in ("name", "source_key")]
            is_group = pl.all_horizontal([pl.col(o).is_null() for o in others]) if others else pl.lit(False)
            group_flags = data.select(
                pl.when(is_group).then(pl.lit(["group_row"], dtype=STR_LIST)).otherwise(pl.lit([], dtype=STR_LIST))
            ).to_series()
            extra.append(("group", pl.when(is_group).then(pl.coalesce(names))))
            is_person = is_person & ~is_group
            entity = pl.when(is_group).then(pl.lit("unknown")).when(is_person).then(pl.lit("person"))
            person_name = pl.coalesce(list(reversed(names)))
            fields["full_name"] = pl.coalesce(
                [e for e in (fields["full_name"], pl.when(is_person).then(person_name)) if e is not None]
            )
            fields["company"] = pl.coalesce(
                [e for e in (fields["company"], pl.when(~is_person & ~is_group).then(pl.coalesce(names))) if e is not None]
            )
        else:
            fields["company"] = pl.coalesce([e for e in (fields["company"], *names) if e is not None])

    for c in by_field.get("extra", []):
        extra.append((c.name, pl.col(c.name)))

    phones, phone_kinds, phone_flags = _multi(data, "phones", by_field)
    emails, email_kinds, _ = _multi(data, "emails", by_field)

    selected = data.select(
        entity_hint=entity,
        **{f: (e if e is not None else pl.lit(None, dtype=pl.String)) for f, e in fields.items()},
        extra=json_object_expr(extra) if extra else pl.lit(None, dtype=pl.String),
    ).with_columns(extra=pl.when(pl.col("extra") == "{}").then(None).otherwise(pl.col("extra")))

    n = frame.height
    flags = reader_flags if reader_flags is not None else empty_lists(n)
    flags = pl.DataFrame({"a": flags, "b": phone_flags}).select(pl.col("a").list.concat("b")).to_series()
    if group_flags is not None:
        flags = pl.DataFrame({"a": flags, "b": group_flags}).select(pl.col("a").list.concat("b")).to_series()
    batch = selected.with_columns(
        source_row=pl.int_range(first_row, first_row + n, dtype=pl.Int64),
        sheet=pl.lit(sheet, dtype=pl.String),
        line=lines if lines is not None else pl.lit(None, dtype=pl.Int64),
        phones=phones,
        phone_kinds=phone_kinds,
        emails=emails,
        email_kinds=email_kinds,
        raw=raw_json,
        flags=flags,
    )
    info = TableInfo(
        name=name,
        header_line=header_line,
        columns={c.name: c.target.describe for c in columns},
        rows=n,
    )
    return conform(batch), info


def _address(address: pl.Expr | None, by_field: dict[str, list[Column]]) -> pl.Expr | None:
    """One address line: the address column, else the parts of the first address group
    (work, then home, then other) that has any, in Russian order: index, country, region,
    city, street."""
    groups: dict[str | None, dict[str, str]] = {}
    for part in (*ADDRESS_PARTS, "city"):
        for c in by_field.get(part, []):
            groups.setdefault(c.target.qualifier, {}).setdefault(part, c.name)
    composed = []
    for group in sorted(groups, key=lambda q: _QUALIFIER_RANK.get(q, 9)):
        parts = groups[group]
        order = ("postal_code", "country", "region", "city", "street", "street2", "street3")
        cols = [pl.col(parts[p]) for p in order if p in parts]
        if not any(p in parts for p in ADDRESS_PARTS):
            continue  # a lone city is not an address
        joined = pl.concat_str(cols, separator=", ", ignore_nulls=True)
        composed.append(pl.when(joined != "").then(joined))
    candidates = [e for e in (address, *composed) if e is not None]
    if not candidates:
        return None
    return pl.coalesce(candidates) if len(candidates) > 1 else candidates[0]


def _multi(data: pl.DataFrame, field: str, by_field: dict[str, list[Column]]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """All values of a multi-valued field from every column mapped to it, with their kinds,
    and (for phones) flags for numbers Excel already rounded."""
    n = data.height
    empty = empty_lists(n)
    cols = sorted(by_field.get(field, []), key=lambda c: c.position)
    labels = {c.target.group: c.name for c in by_field.get("label", []) if c.target.qualifier == field}
    if not cols:
        return empty.alias(field), empty.alias(field[:-1] + "_kinds"), empty.alias("flags")
    needs, splitter = (_PHONE_NEEDS_SPLIT, split_phones) if field == "phones" else (_EMAIL_NEEDS_SPLIT, split_emails)
    default_kind = "other"
    frame = pl.DataFrame({f"v{i}": split_cells(data.get_column(c.name), needs, splitter) for i, c in enumerate(cols)})
    kind_exprs = []
    for i, c in enumerate(cols):
        if c.target.group in labels:
            label = (
                data.get_column(labels[c.target.group])
                .str.to_lowercase()
                .str.strip_chars_start("* ")
                .str.split(" ::: ")
                .list.first()
            )
            kind = label.replace_strict(_LABEL_KINDS[field], default=default_kind, return_dtype=pl.String)
            frame = frame.with_columns(kind.fill_null(default_kind).alias(f"k{i}"))
            kind_exprs.append(pl.col(f"k{i}").repeat_by(pl.col(f"v{i}").list.len()))
        else:
            kind_exprs.append(pl.lit(c.target.qualifier or default_kind).repeat_by(pl.col(f"v{i}").list.len()))
    values = frame.select(pl.concat_list([f"v{i}" for i in range(len(cols))])).to_series().alias(field)
    kinds = frame.select(pl.concat_list(kind_exprs)).to_series().alias(field[:-1] + "_kinds")
    if field != "phones":
        return values, kinds, empty.alias("flags")
    cells = [pl.col(c.name) for c in cols]
    lost = pl.any_horizontal([c.str.contains(_SCI_NUMBER) for c in cells]).fill_null(False)
    maybe = pl.any_horizontal([c.str.contains(_ROUNDED_NUMBER) for c in cells]).fill_null(False)
    flags = data.select(
        pl.concat_list(
            pl.when(lost).then(pl.lit("phone_digits_lost")),
            pl.when(maybe).then(pl.lit("phone_digits_maybe_lost")),
        ).list.drop_nulls()
    ).to_series().alias("flags")
    return values, kinds, flags
