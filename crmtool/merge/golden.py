"""Golden contacts and companies from clusters, in DuckDB over whole tables.

Every member record offers candidate values per field (`_members`, one wide
row per record); in a golden record of several records equal values are
pooled (`_values`) with their record ids, frequency, best source rank,
recency and quality; the survivorship rule orders them per (golden record,
field) and the first is chosen. A golden record of one record takes that
record's values as they are, straight from its wide row. Phones and e-mails are united, de-duplicated
by their keys (E.164 + extension, e-mail match key), each with a type
(MOBILE / WORK / HOME / FAX / OTHER). Every candidate value lands in
`provenance` with its record ids and whether it was chosen, so every golden
field can name the source rows it came from — except in a golden record made
of one source record, where every value is that record's (`explain` says so
without a stored row: most golden records at scale are such singletons, and
storing them doubled the stage's time).
"""

from __future__ import annotations

from functools import cache

import polars as pl

from crmtool.merge.survivorship import RECORD_ORDER, RULE_ORDER, Survivorship, source_family
from crmtool.normalize import name_keys as nk
from crmtool.workspace import Workspace

CONTACT_FIELDS = ("last_name", "first_name", "middle_name", "gender", "birthday", "job_title", "department", "city",
                  "address", "owner", "consent", "note")
COMPANY_FIELDS = ("name", "full_name", "opf", "inn", "kpp", "ogrn", "city", "address", "website", "owner", "note")


def _text(expr: str) -> str:
    return f"nullif(trim({expr}), '')"


# field → (value SQL, quality SQL): higher quality wins before any rule
_CONTACT_VALUES = {
    "last_name": ("n.last_name", "CASE WHEN regexp_matches(n.last_name, '[А-Яа-яЁё]') THEN 1 ELSE 0 END"),
    # full Cyrillic 3, full Latin 2, diminutive 1, initial 0
    "first_name": ("n.first_name", """CASE WHEN n.first_key IS NULL THEN 0
                                          WHEN f.diminutive THEN 1
                                          WHEN regexp_matches(n.first_name, '[А-Яа-яЁё]') THEN 3 ELSE 2 END"""),
    "middle_name": ("n.middle_name", "CASE WHEN n.middle_key IS NULL THEN 0 ELSE 1 END"),
    "gender": ("CASE WHEN n.gender IN ('М', 'Ж') THEN n.gender END", "0"),
    **{f: (_text(f"r.{f}"), "0") for f in ("birthday", "job_title", "department", "city", "address", "owner",
                                           "consent", "note")},
}
_COMPANY_VALUES = {
    # a company's own record (1С, a company list) names it better than a contact's "Компания" cell
    "name": ("n.company", "(r.entity_hint = 'company')::INT * 2 + (n.opf IS NOT NULL)::INT"),
    "full_name": ("CASE WHEN n.opf_full IS NOT NULL AND n.company_core IS NOT NULL "
                  "THEN n.opf_full || CASE WHEN n.company_is_person THEN ' ' || n.company_core ELSE ' «' || n.company_core || '»' END END", "(r.entity_hint = 'company')::INT"),
    "opf": ("n.opf", "(r.entity_hint = 'company')::INT"),
    "inn": ("CASE WHEN n.inn_status IN ('ok', 'fixed') THEN n.inn END", "0"),
    "kpp": ("CASE WHEN n.kpp_status IN ('ok', 'fixed') THEN n.kpp END", "0"),
    "ogrn": ("CASE WHEN n.ogrn_status IN ('ok', 'fixed') THEN n.ogrn END", "0"),
    "city": (_text("r.city"), "(r.entity_hint = 'company')::INT"),
    "address": (f"CASE WHEN r.entity_hint = 'company' THEN {_text('r.address')} END", "0"),
    "website": (_text("r.website"), "0"),
    "owner": (_text("r.owner"), "(r.entity_hint = 'company')::INT"),
    "note": (f"CASE WHEN r.entity_hint = 'company' THEN {_text('r.note')} END", "0"),
}

# a phone as provenance shows it: the number, and its extension after " #"
PHONE_TEXT = "value || coalesce(' #' || ext, '')"
_PHONE_TYPE = """CASE WHEN p.kind = 'fax' THEN 'FAX' WHEN p.ptype = 'mobile' OR p.kind = 'mobile' THEN 'MOBILE'
                      WHEN p.kind = 'home' THEN 'HOME' WHEN p.kind = 'work' THEN 'WORK'
                      WHEN p.ptype = 'fixed' THEN 'WORK' ELSE 'OTHER' END"""
_EMAIL_TYPE = """CASE WHEN e.kind = 'work' THEN 'WORK' WHEN e.kind = 'home' THEN 'HOME'
                      WHEN e.class IN ('corporate', 'role') THEN 'WORK' WHEN e.class = 'personal' THEN 'HOME'
                      ELSE 'OTHER' END"""


@cache
def _diminutives() -> frozenset[str]:
    """First-name keys that are short forms only (Саша, not Александр)."""
    shorts = {short for short, _, _ in nk.diminutive_rows()}
    fulls = {full for _, full, _ in nk.diminutive_rows()}
    return frozenset(shorts - fulls)


def build_members(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_members: one row per member record: golden_id, record_id, what the rules order records
    by, and its candidate value and quality per field (v_* / q_*), read from `records` and
    `normalized` in this one pass. _winners (replace / skip mode): the record each cluster takes
    everything from. A record's `anchor` (where ties end) orders by source file (its sha256)
    then row, as one BIGINT: the file's rank among the sha256s in the high bits, the row in
    the low 32."""
    con = ws.con
    sources = con.sql("SELECT source_id, format, sha256 FROM sources").pl()
    ranks = sources.with_columns(
        source_rank=pl.col("format").map_elements(lambda f: rules.rank(source_family(f)), return_dtype=pl.Int32),
        family=pl.col("format").map_elements(source_family, return_dtype=pl.String),
        file_order=pl.col("sha256").rank("dense").cast(pl.Int64),
    ).select("source_id", "source_rank", "family", "file_order")
    forms = pl.DataFrame({"first_key": list(_diminutives())}, schema={"first_key": pl.String}).with_columns(
        diminutive=pl.lit(True))
    values = _CONTACT_VALUES if entity == "contact" else _COMPANY_VALUES
    columns = ", ".join(f"({value})::VARCHAR AS v_{name}, ({quality}) AS q_{name}" for name, (value, quality) in values.items())
    person = "n.company_is_person AS is_person, " if entity == "company" else ""
    # how complete a record is: filled fields, each phone and e-mail counting once
    filled = " + ".join([*(f"(n.{c} IS NOT NULL)::INT" for c in ("last_name", "first_name", "middle_name", "company", "inn")),
                         *(f"(r.{c} IS NOT NULL)::INT" for c in ("city", "job_title", "address")),
                         "coalesce(len(n.phones), 0)", "coalesce(len(n.emails), 0)"])
    with ws.registered("_ranks", ranks), ws.registered("_forms", forms):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _members AS
            SELECT c.cluster_id AS golden_id, r.record_id, k.source_rank, k.family, s.loaded_at,
                   k.file_order * 4294967296 + r.source_row AS anchor,
                   {filled} AS completeness,
                   z.single, {person}{columns}
            FROM clusters c JOIN records r USING (record_id) JOIN normalized n USING (record_id)
            -- cluster sizes apart: a window over these wide rows took longer than the rest
            JOIN (SELECT cluster_id, count(*) = 1 AS single FROM clusters WHERE entity = '{entity}'
                  GROUP BY cluster_id) z ON z.cluster_id = c.cluster_id
            JOIN sources s ON s.source_id = r.source_id JOIN _ranks k ON k.source_id = r.source_id
            LEFT JOIN _forms f ON f.first_key = n.first_key
            WHERE c.entity = '{entity}'
        """)
    if rules.mode == "merge":
        return
    order = "anchor ASC" if rules.mode == "skip" else f"{RECORD_ORDER[rules.rule]}, anchor ASC"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _winners AS
        SELECT golden_id, record_id FROM (
            SELECT golden_id, record_id, row_number() OVER (PARTITION BY golden_id ORDER BY {order}) AS k
            FROM _members) WHERE k = 1
    """)


def build_candidates(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_values: for golden records of several records, one row per (golden record, field,
    distinct value) with its record ids, aggregates and `chosen`. A golden record of one source
    record takes its values from _members as they are: no unpivot, pooling or ordering (most
    golden records at scale are such singletons)."""
    con = ws.con
    values = _CONTACT_VALUES if entity == "contact" else _COMPANY_VALUES
    # replace / skip mode: a golden record's values come from its winner record only
    members = "_members m" if rules.mode == "merge" else "_members m JOIN _winners w ON w.record_id = m.record_id"
    long = " UNION ALL ".join(
        f"SELECT m.golden_id, m.record_id, m.source_rank, m.loaded_at, m.anchor, m.completeness, '{name}' AS field, "
        f"m.v_{name} AS value, m.q_{name} AS quality FROM {members} WHERE m.v_{name} IS NOT NULL AND NOT m.single"
        for name in values
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _values AS
        WITH pooled AS (
            SELECT golden_id, field, value, max(quality) AS quality, count(*) AS freq,
                   min(source_rank) AS best_rank, max(loaded_at) AS recent, max(completeness) AS completeness,
                   min(anchor) AS first_anchor, list(record_id) AS record_ids
            FROM ({long})
            GROUP BY golden_id, field, value
        )
        SELECT *, row_number() OVER (PARTITION BY golden_id, field
                                     ORDER BY quality DESC, {RULE_ORDER[rules.rule]}, first_anchor) = 1 AS chosen
        FROM pooled
    """)


def build_channels(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_phones and _emails: one row per (golden record, phone / e-mail) with type and record ids.
    A company takes only its own records' phones and e-mails (a contact's are the person's)."""
    con = ws.con
    only_winner = "JOIN _winners w ON w.record_id = m.record_id" if rules.mode != "merge" else ""
    own = "AND r.entity_hint = 'company'" if entity == "company" else ""
    own_join = "JOIN records r ON r.record_id = m.record_id" if entity == "company" else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _phones AS
        WITH p AS (
            SELECT m.golden_id, m.record_id, m.anchor, m.single, unnest(n.phones) AS value, nullif(unnest(n.phone_exts), '') AS ext,
                   unnest(n.phone_types) AS ptype, unnest(n.phone_kinds) AS kind
            FROM _members m {only_winner} JOIN normalized n ON n.record_id = m.record_id {own_join}
            WHERE len(n.phones) > 0 {own}
        )
        SELECT golden_id, value, ext, arg_min({_PHONE_TYPE}, anchor) AS type, min(anchor) AS first_anchor,
               list_sort(list_distinct(list(record_id))) AS record_ids, bool_and(single) AS single
        FROM p GROUP BY golden_id, value, ext
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _emails AS
        WITH e AS (
            SELECT m.golden_id, m.record_id, m.anchor, m.single, unnest(n.emails) AS value, unnest(n.email_keys) AS key,
                   unnest(n.email_classes) AS class, unnest(n.email_kinds) AS kind
            FROM _members m {only_winner} JOIN normalized n ON n.record_id = m.record_id {own_join}
            WHERE len(n.emails) > 0 {own}
        )
        SELECT golden_id, key, arg_min(value, anchor) AS value, arg_min({_EMAIL_TYPE}, anchor) AS type,
               min(anchor) AS first_anchor, list_sort(list_distinct(list(record_id))) AS record_ids,
               bool_and(single) AS single
        FROM e GROUP BY golden_id, key
    """)


def insert_golden(ws: Workspace, entity: str) -> int:
    """Replace the entity's golden table and provenance rows from the temp tables; returns rows.
    Lists are built unordered and sorted afterwards (`list_sort` over a struct led by the sort
    keys): an ordered aggregate sorts group by group and took most of the stage's time."""
    con = ws.con
    table, fields = ("contacts", CONTACT_FIELDS) if entity == "contact" else ("companies", COMPANY_FIELDS)
    picks = ", ".join(f"any_value(value) FILTER (WHERE field = '{f}') AS {f}" for f in fields)
    direct = ", ".join(f"w.v_{f} AS {f}" for f in fields)
    person = ", bool_or(m.is_person) AS is_person" if entity == "company" else ""
    single_person = ", w.is_person" if entity == "company" else ""
    con.execute(f"DELETE FROM {table}")
    con.execute(f"""
        INSERT INTO {table} BY NAME
        WITH g AS (
            SELECT m.golden_id, count(*) AS records, list_sort(list_distinct(list(m.family))) AS sources {person}
            FROM _members m WHERE NOT m.single GROUP BY m.golden_id
        ), v AS (SELECT golden_id, {picks} FROM _values WHERE chosen GROUP BY golden_id),
        ph AS (SELECT golden_id, list_transform(
                          list_sort(list({{'a': first_anchor, 'value': value, 'ext': ext, 'type': type}})),
                          lambda p: {{'value': p.value, 'ext': p.ext, 'type': p.type}}) AS phones
               FROM _phones GROUP BY golden_id),
        em AS (SELECT golden_id, list_transform(
                          list_sort(list({{'a': first_anchor, 'k': key, 'value': value, 'type': type}})),
                          lambda e: {{'value': e.value, 'type': e.type}}) AS emails
               FROM _emails GROUP BY golden_id)
        SELECT g.*, v.* EXCLUDE (golden_id), ph.phones, em.emails
        FROM g LEFT JOIN v USING (golden_id) LEFT JOIN ph USING (golden_id) LEFT JOIN em USING (golden_id)
        UNION ALL BY NAME
        SELECT w.golden_id, 1 AS records, [w.family] AS sources {single_person}, {direct}, ph.phones, em.emails
        FROM _members w LEFT JOIN ph USING (golden_id) LEFT JOIN em USING (golden_id)
        WHERE w.single
    """)
    con.execute("DELETE FROM provenance WHERE entity = ?", [entity])
    con.execute(f"""
        INSERT INTO provenance
        SELECT '{entity}', golden_id, field, value, chosen, record_ids FROM _values
        UNION ALL SELECT '{entity}', golden_id, 'phones', {PHONE_TEXT}, true, record_ids FROM _phones WHERE NOT single
        UNION ALL SELECT '{entity}', golden_id, 'emails', value, true, record_ids FROM _emails WHERE NOT single
    """)
    return ws.scalar(f"SELECT count(*) FROM {table}")
