"""The one shape every reader hands to the loader: a batch of canonical records.

A batch is a polars DataFrame with exactly `BATCH_SCHEMA`'s columns. Readers of
tables (Excel, CSV) get there through header mapping; readers of structured
formats (vCard, CommerceML) fill the fields directly. `conform` fills what a
reader left out, and `finalize` derives what is common to all: the entity hint,
"names" that are really companies, and the list columns' defaults.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

import polars as pl

from crmtool.workspace import RECORD_LIST_FIELDS, RECORD_TEXT_FIELDS

STR_LIST = pl.List(pl.String)

BATCH_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64,  # 1-based position of the record in its file
    "sheet": pl.String,  # Excel sheet name; null elsewhere
    "line": pl.Int64,  # physical line (CSV), row (Excel) or line of BEGIN (vCard/XML)
    "entity_hint": pl.String,  # person | company | person_at_company | unknown
    "source_key": pl.String,  # the record's own id in its source (1C Ид, UID…)
    "parent_row": pl.Int64,  # source_row of the record this one belongs to (1C contact person)
    **{f: pl.String for f in RECORD_TEXT_FIELDS},
    **{f: STR_LIST for f in RECORD_LIST_FIELDS},
    "extra": pl.String,  # JSON object: values with no canonical field
    "raw": pl.String,  # JSON: the record exactly as read
    "flags": STR_LIST,  # problems found while reading; the record is kept regardless
}

ENTITY_HINTS = ("person", "company", "person_at_company", "unknown")

# Row flags that mean the record itself is malformed (counted as `rejected` in
# `sources`, though the record is still loaded). Other flags are warnings.
ERROR_FLAGS = frozenset({"too_many_fields", "card_parse_error", "element_parse_error", "cell_error"})

# Legal forms that make a "person name" a company: ООО «Ромашка», ИП Петров, Acme LLC.
_LEGAL_FORMS = (
    "ооо|оао|зао|пао|нао|ао|ип|тоо|одо|чп|нко|ано|нп|гуп|муп|фгуп|фгбу|гбу|гку|мбу|мку|"
    "кфх|снт|тсж|жск|гк|llc|ltd|inc|gmbh|jsc|corp|plc|"
    "общество с ограниченной ответственностью|акционерное общество|индивидуальный предприниматель"
)
COMPANY_NAME_RE = rf'(?i)(^|[\s"«(,])({_LEGAL_FORMS})($|[\s"»).,])|[«»]'
# The person in an ИП's name: "ИП Петров П.П.", "И.П. Петров Пётр", "Индивидуальный предприниматель
# Петров", "Петров Пётр Петрович, ИП". Only letters, dots, hyphens and spaces: "ИП «Ромашка»"
# and "ИП Петров (магазин №2)" name a business, not a person.
_IP_FORM = r"(?:ип|и\.\s?п\.|индивидуальный\s+предприниматель)"
_PERSON = r"(\p{Lu}[\p{L}.\- ]*?\p{L}\.?)"
_IP_PREFIX_RE = rf"(?i)^\s*{_IP_FORM}\s+{_PERSON}\s*$"
_IP_SUFFIX_RE = rf"(?i)^\s*{_PERSON}\s*,?\s+{_IP_FORM}\s*$"


def empty_lists(n: int, name: str = "flags") -> pl.Series:
    """n empty string lists, built natively (a Python list of lists is slow at 1M rows)."""
    return pl.repeat(pl.lit([], dtype=STR_LIST), n, eager=True).alias(name)


def empty_batch() -> pl.DataFrame:
    return pl.DataFrame(schema=BATCH_SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Add the columns a reader did not set (as nulls) and order them as the schema says."""
    height = df.height
    cols = []
    for name, dtype in BATCH_SCHEMA.items():
        if name in df.columns:
            cols.append(df.get_column(name).cast(dtype))
        else:
            cols.append(pl.repeat(None, height, dtype=dtype, eager=True).alias(name))
    return pl.DataFrame(cols)


def finalize(df: pl.DataFrame) -> pl.DataFrame:
    """Derive entity hints and fix up what every reader needs fixed the same way."""
    empty_list = pl.lit([], dtype=STR_LIST)
    only_full_name = pl.all_horizontal([pl.col(c).is_null() for c in ("last_name", "first_name", "middle_name")])
    # A "person name" with a legal form in it is a company: move it, flag it.
    name_is_company = (
        pl.col("entity_hint").is_null()
        & only_full_name
        & pl.col("full_name").str.contains(COMPANY_NAME_RE).fill_null(False)
        & (pl.col("company").is_null() | (pl.col("company") == pl.col("full_name")))
    )
    df = df.with_columns(
        [pl.col(c).fill_null(empty_list) for c in (*RECORD_LIST_FIELDS, "flags")]
    ).with_columns(
        company=pl.when(name_is_company).then(pl.col("full_name")).otherwise(pl.col("company")),
        full_name=pl.when(name_is_company).then(None).otherwise(pl.col("full_name")),
        entity_hint=pl.when(name_is_company).then(pl.lit("company")).otherwise(pl.col("entity_hint")),
        flags=pl.when(name_is_company)
        .then(pl.col("flags").list.concat(pl.lit(["name_is_company"], dtype=STR_LIST)))
        .otherwise(pl.col("flags")),
    )
    person = pl.any_horizontal(
        [pl.col(c).is_not_null() for c in ("full_name", "last_name", "first_name", "middle_name")]
    )
    has_company = pl.col("company").is_not_null()
    derived = (
        pl.when(person & has_company)
        .then(pl.lit("person_at_company"))
        .when(person)
        .then(pl.lit("person"))
        .when(has_company)
        .then(pl.lit("company"))
        .otherwise(pl.lit("unknown"))
    )
    df = df.with_columns(entity_hint=pl.coalesce(pl.col("entity_hint"), derived))
    # An ИП is a business and a person at once: "ИП Петров Пётр Петрович" with nobody else named
    # on the row is that person at their own company, so the CRM gets both cards, linked.
    person_of_ip = pl.coalesce(pl.col("company").str.extract(_IP_PREFIX_RE, 1),
                               pl.col("company").str.extract(_IP_SUFFIX_RE, 1))
    entrepreneur = (pl.col("entity_hint") == "company") & person_of_ip.is_not_null() & pl.all_horizontal(
        [pl.col(c).is_null() for c in ("full_name", "last_name", "first_name", "middle_name")])
    return df.with_columns(
        full_name=pl.when(entrepreneur).then(person_of_ip.str.strip_chars(" ,")).otherwise(pl.col("full_name")),
        entity_hint=pl.when(entrepreneur).then(pl.lit("person_at_company")).otherwise(pl.col("entity_hint")),
        flags=pl.when(entrepreneur).then(pl.col("flags").list.concat(pl.lit(["entrepreneur"], dtype=STR_LIST)))
        .otherwise(pl.col("flags")),
    )


def json_object_expr(columns: Iterable[tuple[str, pl.Expr]]) -> pl.Expr:
    """A JSON object per row from (key, string expr) pairs, leaving out null values.

    Vectorized: each value is JSON-encoded by polars, then the pieces are joined.
    """
    pieces = []
    for key, expr in columns:
        encoded = pl.struct(expr.alias(key)).struct.json_encode().str.slice(1).str.strip_suffix("}")
        pieces.append(pl.when(expr.is_not_null()).then(encoded))
    if not pieces:
        return pl.lit("{}")
    return pl.concat_str([pl.lit("{"), pl.concat_str(pieces, separator=",", ignore_nulls=True), pl.lit("}")])


def to_json(value: Any) -> str:
    """JSON for one record built in Python (structured readers)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def batch_from_rows(rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    """A batch from per-record dicts: for structured readers that build records one at a time."""
    if not rows:
        return empty_batch()
    return pl.DataFrame([{k: r.get(k) for k in BATCH_SCHEMA} for r in rows], schema=BATCH_SCHEMA)
