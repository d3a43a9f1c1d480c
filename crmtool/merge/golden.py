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


def _phone_type(kind: str, ptype: str) -> str:
    return f"""CASE WHEN {kind} = 'fax' THEN 'FAX' WHEN {ptype} = 'mobile' OR {kind} = 'mobile' THEN 'MOBILE'
                    WHEN {kind} = 'home' THEN 'HOME' WHEN {kind} = 'work' THEN 'WORK'
                    WHEN {ptype} = 'fixed' THEN 'WORK' ELSE 'OTHER' END"""


def _email_type(kind: str, cls: str) -> str:
    return f"""CASE WHEN {kind} = 'work' THEN 'WORK' WHEN {kind} = 'home' THEN 'HOME'
                    WHEN {cls} IN ('corporate', 'role') THEN 'WORK' WHEN {cls} = 'personal' THEN 'HOME'
                    ELSE 'OTHER' END"""


# A golden record of one source record takes that record's phones and e-mails straight from its
# lists, in the order the pooled ones get (by number, by e-mail key): normalize lists each number
# (with its extension) and each e-mail key once per record, so there is nothing to unite.
_SINGLE_PHONES = f"""list_sort(list_transform(n.phones, lambda v, i: {{
    'value': v, 'ext': nullif(n.phone_exts[i], ''),
    'type': {_phone_type("n.phone_kinds[i]", "n.phone_types[i]")}}}))"""
_SINGLE_EMAILS = f"""list_transform(list_sort(list_transform(n.emails, lambda v, i: {{
    'k': n.email_keys[i], 'value': v, 'type': {_email_type("n.email_kinds[i]", "n.email_classes[i]")}}})),
    lambda e: {{'value': e.value, 'type': e.type}})"""


@cache
def _diminutives() -> frozenset[str]:
    """First-name keys that are short forms only (Саша, not Александр)."""
    shorts = {short for short, _, _ in nk.diminutive_rows()}
    fulls = {full for _, full, _ in nk.diminutive_rows()}
    return frozenset(shorts - fulls)


def _values_of(entity: str) -> dict[str, tuple[str, str]]:
    return _CONTACT_VALUES if entity == "contact" else _COMPANY_VALUES


def build_members(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_members: one row per member record: golden_id and `gid` (its cluster's smallest record id:
    an integer key for the stage's grouping and joins, cheaper than the 19-character golden id),
    record_id, what the rules order records by, and its candidate value and quality per field
    (v_* / q_*), read from `records` and `normalized` in this one pass. Qualities are computed
    only where values get pooled (golden records of several records); a golden record of one
    record gets its phones and e-mails here (s_phones / s_emails). _winners (replace / skip
    mode): the record each cluster takes everything from. A record's `anchor` (where ties end)
    orders by source file (its sha256) then row, as one BIGINT: the file's rank among the
    sha256s in the high bits, the row in the low 32."""
    con = ws.con
    sources = con.sql("SELECT source_id, format, sha256 FROM sources").pl()
    ranks = sources.with_columns(
        source_rank=pl.col("format").map_elements(lambda f: rules.rank(source_family(f)), return_dtype=pl.Int32),
        family=pl.col("format").map_elements(source_family, return_dtype=pl.String),
        file_order=pl.col("sha256").rank("dense").cast(pl.Int64),
    ).select("source_id", "source_rank", "family", "file_order")
    forms = pl.DataFrame({"first_key": list(_diminutives())}, schema={"first_key": pl.String}).with_columns(
        diminutive=pl.lit(True))
    values = _values_of(entity)
    columns = ", ".join(f"({value})::VARCHAR AS v_{name}, CASE WHEN NOT z.single THEN ({quality}) END AS q_{name}"
                        for name, (value, quality) in values.items())
    # a company takes only its own records' phones and e-mails (a contact's are the person's)
    own = "r.entity_hint = 'company'" if entity == "company" else "true"
    person = "n.company_is_person AS is_person, " if entity == "company" else ""
    # how complete a record is: filled fields, each phone and e-mail counting once
    filled = " + ".join([*(f"(n.{c} IS NOT NULL)::INT" for c in ("last_name", "first_name", "middle_name", "company", "inn")),
                         *(f"(r.{c} IS NOT NULL)::INT" for c in ("city", "job_title", "address")),
                         "coalesce(len(n.phones), 0)", "coalesce(len(n.emails), 0)"])
    with ws.registered("_ranks", ranks), ws.registered("_forms", forms):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _members AS
            SELECT c.cluster_id AS golden_id, z.gid, r.record_id, k.source_rank, k.family, s.loaded_at,
                   k.file_order * 4294967296 + r.source_row AS anchor,
                   {filled} AS completeness,
                   z.single, {own} AS own, {person}{columns},
                   CASE WHEN z.single AND {own} AND len(n.phones) > 0 THEN {_SINGLE_PHONES} END AS s_phones,
                   CASE WHEN z.single AND {own} AND len(n.emails) > 0 THEN {_SINGLE_EMAILS} END AS s_emails
            FROM clusters c JOIN records r USING (record_id) JOIN normalized n USING (record_id)
            -- cluster sizes apart: a window over these wide rows took longer than the rest
            JOIN (SELECT cluster_id, count(*) = 1 AS single, min(record_id) AS gid FROM clusters
                  WHERE entity = '{entity}' GROUP BY cluster_id) z ON z.cluster_id = c.cluster_id
            JOIN sources s ON s.source_id = r.source_id JOIN _ranks k ON k.source_id = r.source_id
            LEFT JOIN _forms f ON f.first_key = n.first_key
            WHERE c.entity = '{entity}'
        """)
    if rules.mode == "merge":
        return
    order = "anchor ASC" if rules.mode == "skip" else f"{RECORD_ORDER[rules.rule]}, anchor ASC"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _winners AS
        SELECT gid, record_id FROM (
            SELECT gid, record_id, row_number() OVER (PARTITION BY gid ORDER BY {order}) AS k
            FROM _members WHERE NOT single) WHERE k = 1
    """)


def _pooled_members(rules: Survivorship) -> str:
    """The member rows whose values get pooled: records of golden records of several records
    (replace / skip mode: only each one's winner)."""
    if rules.mode == "merge":
        return "(SELECT * FROM _members WHERE NOT single) m"
    return "(SELECT * FROM _members WHERE NOT single) m JOIN _winners w ON w.record_id = m.record_id"


def build_candidates(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_values: for golden records of several records, one row per (golden record, field number
    `fno`, distinct value) with its record ids, aggregates and `chosen`. A golden record of one
    source record takes its values from _members as they are: no unpivot, pooling or ordering
    (most golden records at scale are such singletons)."""
    members = _pooled_members(rules)
    long = " UNION ALL ".join(
        f"SELECT m.gid, m.record_id, m.source_rank, m.loaded_at, m.anchor, m.completeness, {fno}::UTINYINT AS fno, "
        f"m.v_{name} AS value, m.q_{name} AS quality FROM {members} WHERE m.v_{name} IS NOT NULL"
        for fno, name in enumerate(_values_of(entity))
    )
    ws.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _values AS
        WITH pooled AS (
            SELECT gid, fno, value, max(quality) AS quality, count(*) AS freq,
                   min(source_rank) AS best_rank, max(loaded_at) AS recent, max(completeness) AS completeness,
                   min(anchor) AS first_anchor, list(record_id ORDER BY record_id) AS record_ids
            FROM ({long})
            GROUP BY gid, fno, value
        )
        -- the first value of each field wins; one window over the golden record (not one per field)
        -- leaves its rows side by side, and provenance stores such rows faster and smaller
        SELECT *, fno IS DISTINCT FROM lag(fno) OVER (
                      PARTITION BY gid ORDER BY fno, quality DESC, {RULE_ORDER[rules.rule]}, first_anchor) AS chosen
        FROM pooled
    """)


def build_channels(ws: Workspace, entity: str, rules: Survivorship) -> None:
    """_phones and _emails: for golden records of several records, one row per (golden record,
    phone / e-mail) with type and record ids (a golden record of one record has its own in
    _members). A company takes only its own records' phones and e-mails."""
    con = ws.con
    members = _pooled_members(rules)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _phones AS
        WITH p AS (
            SELECT m.gid, m.record_id, m.anchor, unnest(n.phones) AS value, nullif(unnest(n.phone_exts), '') AS ext,
                   unnest(n.phone_types) AS ptype, unnest(n.phone_kinds) AS kind
            FROM {members} JOIN normalized n ON n.record_id = m.record_id
            WHERE len(n.phones) > 0 AND m.own
        )
        SELECT gid, value, ext, arg_min({_phone_type("kind", "ptype")}, anchor) AS type, min(anchor) AS first_anchor,
               list_sort(list_distinct(list(record_id))) AS record_ids
        FROM p GROUP BY gid, value, ext
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _emails AS
        WITH e AS (
            SELECT m.gid, m.record_id, m.anchor, unnest(n.emails) AS value, unnest(n.email_keys) AS key,
                   unnest(n.email_classes) AS class, unnest(n.email_kinds) AS kind
            FROM {members} JOIN normalized n ON n.record_id = m.record_id
            WHERE len(n.emails) > 0 AND m.own
        )
        SELECT gid, key, arg_min(value, anchor) AS value, arg_min({_email_type("kind", "class")}, anchor) AS type,
               min(anchor) AS first_anchor, list_sort(list_distinct(list(record_id))) AS record_ids
        FROM e GROUP BY gid, key
    """)


def insert_golden(ws: Workspace, entity: str) -> int:
    """Replace the entity's golden table and provenance rows from the temp tables; returns rows.
    Lists are built unordered and sorted afterwards (`list_sort` over a struct led by the sort
    keys): an ordered aggregate sorts group by group and took most of the stage's time."""
    con = ws.con
    table, fields = ("contacts", CONTACT_FIELDS) if entity == "contact" else ("companies", COMPANY_FIELDS)
    numbers = {name: fno for fno, name in enumerate(_values_of(entity))}
    picks = ", ".join(f"any_value(value) FILTER (WHERE fno = {numbers[f]}) AS {f}" for f in fields)
    direct = ", ".join(f"w.v_{f} AS {f}" for f in fields)
    person = ", bool_or(m.is_person) AS is_person" if entity == "company" else ""
    single_person = ", w.is_person" if entity == "company" else ""
    # golden records of several records: their golden ids, record counts and source kinds
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pooled AS
        SELECT m.gid, any_value(m.golden_id) AS golden_id, count(*) AS records,
               list_sort(list_distinct(list(m.family))) AS sources {person}
        FROM _members m WHERE NOT m.single GROUP BY m.gid
    """)
    con.execute(f"DELETE FROM {table}")
    con.execute(f"""
        INSERT INTO {table} BY NAME
        WITH v AS (SELECT gid, {picks} FROM _values WHERE chosen GROUP BY gid),
        ph AS (SELECT gid, list_transform(
                          list_sort(list({{'a': first_anchor, 'value': value, 'ext': ext, 'type': type}})),
                          lambda p: {{'value': p.value, 'ext': p.ext, 'type': p.type}}) AS phones
               FROM _phones GROUP BY gid),
        em AS (SELECT gid, list_transform(
                          list_sort(list({{'a': first_anchor, 'k': key, 'value': value, 'type': type}})),
                          lambda e: {{'value': e.value, 'type': e.type}}) AS emails
               FROM _emails GROUP BY gid)
        SELECT g.* EXCLUDE (gid), v.* EXCLUDE (gid), ph.phones, em.emails
        FROM _pooled g LEFT JOIN v USING (gid) LEFT JOIN ph USING (gid) LEFT JOIN em USING (gid)
        UNION ALL BY NAME
        SELECT w.golden_id, 1 AS records, [w.family] AS sources {single_person}, {direct},
               w.s_phones AS phones, w.s_emails AS emails
        FROM _members w WHERE w.single
        -- stored in golden-id order: the files list golden records in that order, and reading a
        -- table that is already in order costs the export half as much as sorting it there
        ORDER BY golden_id
    """)
    names = "[" + ", ".join(f"'{name}'" for name in numbers) + "]"
    con.execute("DELETE FROM provenance WHERE entity = ?", [entity])
    con.execute(f"""
        INSERT INTO provenance
        SELECT '{entity}', g.golden_id, {names}[v.fno + 1], v.value, v.chosen, v.record_ids
        FROM _values v JOIN _pooled g USING (gid)
        UNION ALL SELECT '{entity}', g.golden_id, 'phones', {PHONE_TEXT}, true, p.record_ids
        FROM _phones p JOIN _pooled g USING (gid)
        UNION ALL SELECT '{entity}', g.golden_id, 'emails', e.value, true, e.record_ids
        FROM _emails e JOIN _pooled g USING (gid)
    """)
    return ws.scalar(f"SELECT count(*) FROM {table}")
