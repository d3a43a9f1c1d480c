"""The DuckDB workspace: one file holding every stage's tables.

The schema is versioned. Each migration moves the schema one version forward
and runs in its own transaction, so a workspace made by an older crmtool is
brought up to date when a newer one opens it, and a workspace made by a newer
crmtool is refused rather than damaged.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl

from crmtool.errors import WorkspaceError

DEFAULT_DB = "crm.duckdb"

# The canonical record fields, in the order they appear in `records`.
# Scalar text fields first; list fields and JSON after.
RECORD_TEXT_FIELDS = (
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "gender",
    "company",
    "job_title",
    "department",
    "inn",
    "kpp",
    "ogrn",
    "city",
    "address",
    "birthday",
    "owner",
    "consent",
    "note",
    "website",
)
RECORD_LIST_FIELDS = ("phones", "phone_kinds", "emails", "email_kinds")

_V1 = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    command VARCHAR NOT NULL,
    args JSON,
    "user" VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    counts JSON,
    message VARCHAR
);
CREATE TABLE sources (
    source_id INTEGER PRIMARY KEY,
    path VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    format VARCHAR NOT NULL,
    encoding VARCHAR,
    mapping JSON,
    notes JSON,
    loaded_at TIMESTAMP NOT NULL,
    run_id INTEGER,
    rows BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    flagged BIGINT NOT NULL
);
CREATE TABLE raw_records (
    record_id BIGINT NOT NULL,
    source_id INTEGER NOT NULL,
    source_row INTEGER NOT NULL,
    sheet VARCHAR,
    line INTEGER,
    entity_hint VARCHAR NOT NULL,
    raw JSON
);
CREATE TABLE records (
    record_id BIGINT NOT NULL,
    source_id INTEGER NOT NULL,
    source_row INTEGER NOT NULL,
    entity_hint VARCHAR NOT NULL,
    source_key VARCHAR,
    parent_record_id BIGINT,
    {", ".join(f"{f} VARCHAR" for f in RECORD_TEXT_FIELDS)},
    {", ".join(f"{f} VARCHAR[]" for f in RECORD_LIST_FIELDS)},
    extra JSON,
    flags VARCHAR[]
);
"""

# v2: which cluster (future golden record) each record belongs to, per entity.
# A person-at-company record has a row for its contact and one for its company.
_V2 = """
CREATE TABLE clusters (
    record_id BIGINT NOT NULL,
    entity VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL,
    rule VARCHAR
);
"""

# v3: the normalize stage. `normalized` holds one row per record: display values,
# match keys and a status per one-value field. `field_checks` keeps every value
# that was not `ok` (fixed, suggested, invalid) with its original beside it;
# `field_stats` counts every status per source and field, `ok` and `missing`
# included, so `crmtool profile` needs no pass over the records.
_V3 = """
CREATE TABLE normalized (
    record_id BIGINT PRIMARY KEY,
    source_id INTEGER NOT NULL,
    entity_hint VARCHAR NOT NULL,
    last_name VARCHAR, first_name VARCHAR, middle_name VARCHAR,
    first_initial VARCHAR, middle_initial VARCHAR, gender VARCHAR,
    name_status VARCHAR, name_reason VARCHAR,
    last_key VARCHAR, first_key VARCHAR, middle_key VARCHAR,
    first_keys VARCHAR[], translit_keys VARCHAR[], skeleton VARCHAR,
    phones VARCHAR[], phone_exts VARCHAR[], phone_types VARCHAR[], phone_kinds VARCHAR[],
    emails VARCHAR[], email_keys VARCHAR[], email_classes VARCHAR[], email_kinds VARCHAR[],
    corporate_domains VARCHAR[],
    company VARCHAR, company_core VARCHAR, company_key VARCHAR, opf VARCHAR, opf_full VARCHAR,
    company_is_person BOOLEAN, company_status VARCHAR, company_reason VARCHAR,
    inn VARCHAR, inn_kind VARCHAR, inn_status VARCHAR,
    kpp VARCHAR, kpp_status VARCHAR,
    ogrn VARCHAR, ogrn_kind VARCHAR, ogrn_status VARCHAR
);
CREATE TABLE field_checks (
    record_id BIGINT NOT NULL,
    field VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    original VARCHAR,
    value VARCHAR,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    suggestion VARCHAR
);
CREATE TABLE field_stats (
    source_id INTEGER NOT NULL,
    field VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    n BIGINT NOT NULL
);
"""

# v4: the match stage. One row per candidate pair: the blocking rules that found
# it, its comparison levels, weight, probability and decision (auto | review |
# reject) with the reason, so every merge can explain itself.
_V4 = """
CREATE TABLE pairs (
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    entity VARCHAR NOT NULL,
    rules VARCHAR[],
    surname TINYINT, first_name TINYINT, middle_name TINYINT, gender TINYINT,
    phone TINYINT, email TINYINT, company TINYINT, city TINYINT,
    surname_sim FLOAT,
    match_weight DOUBLE,
    match_probability DOUBLE,
    decision VARCHAR NOT NULL,
    reason VARCHAR
);
"""

# v5: human verdicts on pairs. They survive re-runs of every stage (record ids
# are stable: source and row), and the match stage obeys them.
_V5 = """
CREATE TABLE decisions (
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    verdict VARCHAR NOT NULL,
    "user" VARCHAR,
    decided_at TIMESTAMP NOT NULL,
    source VARCHAR,
    PRIMARY KEY (record_a, record_b)
);
"""

# v6: what made a pair's names and city weak or strong evidence, kept with the pair so
# that its decision can be explained: how many records carry the surname + first name,
# the share of the base's records in the shared city, and how alike two different
# patronymics are (a typo, or another father).
_V6 = """
ALTER TABLE pairs ADD COLUMN name_count INTEGER;
ALTER TABLE pairs ADD COLUMN city_share FLOAT;
ALTER TABLE pairs ADD COLUMN middle_sim FLOAT;
"""

# v7: golden records (merge stage). One row per cluster in `contacts` / `companies`
# (golden_id = cluster_id, stable across runs), phones and e-mails as typed lists;
# `contact_company` links with how each was found; `provenance` says, for every
# candidate value of every golden field, which source records gave it and whether
# it was chosen. No primary keys: the merge stage rebuilds these tables whole, and an
# index made that several times slower at 1M records.
_V7 = """
CREATE TABLE contacts (
    golden_id VARCHAR NOT NULL,
    last_name VARCHAR, first_name VARCHAR, middle_name VARCHAR, gender VARCHAR,
    birthday VARCHAR, job_title VARCHAR, department VARCHAR, city VARCHAR, address VARCHAR,
    owner VARCHAR, consent VARCHAR, note VARCHAR,
    phones STRUCT(value VARCHAR, ext VARCHAR, type VARCHAR)[],
    emails STRUCT(value VARCHAR, type VARCHAR)[],
    records INTEGER NOT NULL,
    sources VARCHAR[]
);
CREATE TABLE companies (
    golden_id VARCHAR NOT NULL,
    name VARCHAR, full_name VARCHAR, opf VARCHAR, inn VARCHAR, kpp VARCHAR, ogrn VARCHAR,
    is_person BOOLEAN, city VARCHAR, address VARCHAR, website VARCHAR, owner VARCHAR, note VARCHAR,
    phones STRUCT(value VARCHAR, ext VARCHAR, type VARCHAR)[],
    emails STRUCT(value VARCHAR, type VARCHAR)[],
    records INTEGER NOT NULL,
    sources VARCHAR[]
);
CREATE TABLE contact_company (
    contact_id VARCHAR NOT NULL,
    company_id VARCHAR NOT NULL,
    via VARCHAR[] NOT NULL,
    record_ids BIGINT[]
);
-- verdicts name their entity: a record of a person at a company is a contact and a company,
-- and splitting the company must not split the person
CREATE TABLE decisions_v7 (
    record_a BIGINT NOT NULL,
    record_b BIGINT NOT NULL,
    verdict VARCHAR NOT NULL,
    "user" VARCHAR,
    decided_at TIMESTAMP NOT NULL,
    source VARCHAR,
    entity VARCHAR NOT NULL DEFAULT 'contact',
    PRIMARY KEY (record_a, record_b, entity)
);
INSERT INTO decisions_v7 SELECT *, 'contact' FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_v7 RENAME TO decisions;
CREATE TABLE provenance (
    entity VARCHAR NOT NULL,
    golden_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    value VARCHAR,
    chosen BOOLEAN NOT NULL,
    record_ids BIGINT[] NOT NULL
);
"""

# v8: what `crmtool push` sent where. One row per (target, entity, golden id): the
# portal's id for it and a hash of the payload last sent. A row is written `pending`
# before its request goes out and settled as soon as the answer arrives, so a push
# killed mid-request knows which records to look up on the portal before sending again.
_V8 = """
CREATE TABLE push_ledger (
    target VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    golden_id VARCHAR NOT NULL,
    remote_id VARCHAR,
    payload_hash VARCHAR,
    state VARCHAR NOT NULL,
    pushed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (target, entity, golden_id)
);
"""

# v9: how alike two first names that are not forms of one name are (a typo, or two people:
# a family's home phone), kept with the pair like middle_sim.
_V9 = """
ALTER TABLE pairs ADD COLUMN first_sim FLOAT;
"""

# Forward migrations: MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9]
SCHEMA_VERSION = len(MIGRATIONS)

DUCKDB_MEMORY = "2.5GB"


def duckdb_memory() -> str:
    """The cap on DuckDB's memory: CRMTOOL_DUCKDB_MEMORY, else DUCKDB_MEMORY or a tenth of the
    machine's memory, whichever is larger."""
    if os.environ.get("CRMTOOL_DUCKDB_MEMORY"):
        return os.environ["CRMTOOL_DUCKDB_MEMORY"].strip()
    try:
        tenth = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 10 / 2**30
    except (ValueError, OSError, AttributeError):
        tenth = 0.0
    return f"{max(2.5, round(tenth, 1))}GB"

_LOCK_HINT = re.compile(r"(Could not set lock|Conflicting lock)", re.I)


def record_id(source_id: int, source_row: int) -> int:
    """Record ids say where a record came from: source in the high bits, row in the low."""
    return (source_id << 32) | source_row


class Workspace:
    """An open workspace file. Use `Workspace.open(path)` as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str):
        self.con = con
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: str | os.PathLike = DEFAULT_DB, create: bool = True) -> Iterator["Workspace"]:
        path = str(path)
        if not create and not Path(path).exists():
            raise WorkspaceError(f"{path}: no workspace here; run `crmtool load` first or pass --db")
        if Path(path).is_dir():
            raise WorkspaceError(f"{path}: is a folder, expected a workspace file")
        parent = Path(path).parent
        if not parent.exists():
            parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(path)
        except duckdb.IOException as exc:
            if _LOCK_HINT.search(str(exc)):
                raise WorkspaceError(
                    f"{path}: the workspace is in use by another crmtool process; wait for it or use another --db"
                ) from None
            raise WorkspaceError(f"{path}: cannot open the workspace: {_first_line(exc)}") from None
        except duckdb.Error as exc:
            raise WorkspaceError(f"{path}: not a crmtool workspace ({_first_line(exc)})") from None
        # DuckDB's buffer pool shares the machine with polars frames: cap it (it spills to
        # disk beyond) so a 1M-record run stays within a few GB. CRMTOOL_DUCKDB_MEMORY overrides.
        try:
            con.execute(f"SET memory_limit = '{duckdb_memory()}'")
        except duckdb.Error as exc:
            con.close()
            raise WorkspaceError(f"CRMTOOL_DUCKDB_MEMORY={duckdb_memory()!r} is not a memory size like 4GB "
                                 f"({_first_line(exc)})") from None
        ws = cls(con, path)
        try:
            ws.migrate()
            yield ws
        finally:
            con.close()

    # -- schema -------------------------------------------------------------
    def schema_version(self) -> int:
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables:
            if tables:
                raise WorkspaceError(f"{self.path}: a DuckDB file, but not a crmtool workspace")
            return 0
        value = self.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(value) if value is not None else 0

    def migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.path}: made by a newer crmtool (schema {version}, this one knows {SCHEMA_VERSION}); upgrade crmtool"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                self.con.execute(MIGRATIONS[target - 1])
                self.con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)]
                )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside lands together or not at all."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- helpers ------------------------------------------------------------
    # DuckDB refuses new work on a connection while a result is half-read, so
    # every query here reads its result to the end.
    def one(self, sql: str, params: list[Any] | None = None) -> tuple | None:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def fetch_dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    @contextmanager
    def registered(self, name: str, frame) -> Iterator[None]:
        """A polars frame visible to SQL as `name` for the duration (one zero-copy Arrow view)."""
        self.con.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            yield
        finally:
            self.con.unregister(name)

    def next_id(self, table: str, column: str) -> int:
        return self.scalar(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")

    # -- run journal ----------------------------------------------------------
    def start_run(self, command: str, args: dict[str, Any]) -> int:
        run_id = self.next_id("runs", "run_id")
        self.con.execute(
            "INSERT INTO runs (run_id, command, args, \"user\", started_at, status) VALUES (?, ?, ?, ?, ?, 'running')",
            [run_id, command, json.dumps(scrub_args(args), ensure_ascii=False, default=str), current_user(),
             datetime.now()],
        )
        return run_id

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any] | None = None, message: str | None = None) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, counts = ?, message = ? WHERE run_id = ?",
            [datetime.now(), status, json.dumps(counts or {}, ensure_ascii=False), message, run_id],
        )


# The journal is read by anyone who can read the workspace: a secret must never reach it,
# whatever a command passes. Keys named like one are dropped; a Bitrix24 webhook URL
# (https://HOST/rest/<user>/<code>/…: the code is the password) keeps only its host.
_SECRET_KEY = re.compile(r"secret|token|webhook|password|passwd|api_?key|credential", re.I)
_WEBHOOK_URL = re.compile(
    r"(?:https?://([^\s/?#@]+@)?([^\s/?#@]+)|\b([\w-]+(?:\.[\w-]+)+))(?:/[^\s]*)?/rest/\d+/[^\s]+", re.I)


def scrub_args(value: Any) -> Any:
    """`value` (a command's args) without secrets: see _SECRET_KEY and _WEBHOOK_URL."""
    if isinstance(value, dict):
        return {k: scrub_args(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub_args(v) for v in value]
    if isinstance(value, str):
        return _WEBHOOK_URL.sub(lambda m: m.group(2) or m.group(3), value)
    return value


@contextmanager
def journaled(ws: Workspace, command: str, args: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Journal a command in `runs`: the caller fills the yielded counts dict."""
    run_id = ws.start_run(command, args)
    counts: dict[str, Any] = {"run_id": run_id}
    try:
        yield counts
    except BaseException as exc:
        ws.finish_run(run_id, "failed", counts, _first_line(exc) or type(exc).__name__)
        raise
    status = "failed" if counts.get("errors") else "ok"
    ws.finish_run(run_id, status, counts)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""

