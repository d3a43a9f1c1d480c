"""Load files into the workspace: one transaction per file, nothing half-loaded.

For each file: hash it (a file already loaded is skipped, whatever its name),
sniff its format, let the reader produce canonical batches, and write
`sources`, `raw_records` and `records` together. A file that cannot be read
leaves no trace but its error; the other files of the same call still load.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

import polars as pl

from crmtool.errors import CrmError, SourceError
from crmtool.sources.base import ReadOptions, ReadResult
from crmtool.sources.schema import ERROR_FLAGS, finalize
from crmtool.sources.sniff import COMMERCEML, DELIMITED, EXCEL, VCARD, sniff
from crmtool.workspace import RECORD_LIST_FIELDS, RECORD_TEXT_FIELDS, Workspace

# Readers are imported when first needed: `crmtool --help` stays fast.
READERS: dict[str, str] = {
    EXCEL: "crmtool.sources.excel:read_excel",
    DELIMITED: "crmtool.sources.delimited:read_delimited",
    VCARD: "crmtool.sources.vcard:read_vcard",
    COMMERCEML: "crmtool.sources.commerceml:read_commerceml",
}


def reader_for(kind: str) -> Callable[..., ReadResult]:
    module, _, name = READERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)

# Inside folders only these are loaded; a file named on the command line is
# sniffed whatever its name.
KNOWN_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv", ".txt", ".vcf", ".vcard", ".xml"}


@dataclass
class FileOutcome:
    path: str
    status: str  # loaded | skipped | failed
    message: str = ""
    source_id: int | None = None
    format: str | None = None
    encoding: str | None = None
    rows: int = 0
    rejected: int = 0
    flagged: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class Discovery:
    files: list[Path]
    missing: list[str]
    ignored: list[Path]


def discover(paths: Iterable[str | os.PathLike]) -> Discovery:
    """Files named directly, and the known file types inside folders (recursively, sorted)."""
    files: list[Path] = []
    missing: list[str] = []
    ignored: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if not child.is_file() or any(part.startswith(".") for part in child.relative_to(p).parts):
                    continue
                if child.name.startswith("~$"):  # Excel's lock file of an open workbook
                    continue
                if child.suffix.lower() in KNOWN_SUFFIXES:
                    files.append(child)
                else:
                    ignored.append(child)
        elif p.is_file():
            files.append(p)
        else:
            missing.append(str(raw))
    seen, unique = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return Discovery(unique, missing, ignored)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_file(
    ws: Workspace,
    path: Path,
    options: ReadOptions,
    run_id: int | None = None,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    stage: Callable[[str], None] | None = None,
) -> FileOutcome:
    """Load one file; every problem becomes the outcome's message, never an exception.

    `progress(bytes_read)` follows the reader; `stage(text)` names the step after it.
    """
    shown = str(path)
    try:
        sha = file_sha256(path)
        existing = ws.one("SELECT source_id, path FROM sources WHERE sha256 = ?", [sha])
        if existing and not replace:
            return FileOutcome(
                shown, "skipped", f"already loaded as source {existing[0]} ({existing[1]}); nothing to do",
                source_id=existing[0],
            )
        kind = sniff(path)
        result = reader_for(kind)(path, options, progress or (lambda _: None))
        with ws.transaction():
            if existing:
                source_id = existing[0]
                _delete_source(ws, source_id)
            else:
                source_id = ws.next_id("sources", "source_id")
            outcome = _store(ws, path, sha, source_id, result, run_id, stage or (lambda _: None))
        if existing:
            outcome.message = f"replaced source {source_id}"
        return outcome
    except SourceError as exc:
        return FileOutcome(shown, "failed", str(exc))
    except CrmError as exc:
        return FileOutcome(shown, "failed", f"{shown}: {exc}")
    except OSError as exc:
        return FileOutcome(shown, "failed", f"{shown}: cannot read: {exc.strerror or exc}")
    except MemoryError:
        return FileOutcome(shown, "failed", f"{shown}: out of memory while reading")
    except Exception as exc:  # a reader bug must not take the other files down
        if os.environ.get("CRMTOOL_DEBUG"):
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return FileOutcome(shown, "failed", f"{shown}: cannot read ({type(exc).__name__}: {first})")


def _delete_source(ws: Workspace, source_id: int) -> None:
    for table in ("records", "raw_records", "sources"):
        ws.con.execute(f"DELETE FROM {table} WHERE source_id = ?", [source_id])


_RECORD_COLUMNS = ", ".join((*RECORD_TEXT_FIELDS, *RECORD_LIST_FIELDS))


def _store(
    ws: Workspace, path: Path, sha: str, source_id: int, result: ReadResult, run_id: int | None,
    stage: Callable[[str], None],
) -> FileOutcome:
    con = ws.con
    con.execute(
        "INSERT INTO sources (source_id, path, name, sha256, size, format, encoding, loaded_at, run_id, rows, rejected, flagged)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)",
        [source_id, str(path), path.name, sha, path.stat().st_size, result.label, result.encoding, datetime.now(), run_id],
    )
    rows = rejected = flagged = 0
    errors = list(ERROR_FLAGS)
    for raw_batch in result.batches:
        if raw_batch.height == 0:
            continue
        stage(f"{path.name}: storing {rows + raw_batch.height:,} records")
        batch = finalize(raw_batch)
        counts = batch.select(
            rejected=pl.col("flags").list.eval(pl.element().is_in(errors)).list.any().sum(),
            flagged=(pl.col("flags").list.len() > 0).sum(),
        ).row(0)
        rows += batch.height
        rejected += counts[0]
        flagged += counts[1]
        # One zero-copy Arrow view for both inserts (scanning the polars frame
        # directly would convert it to Arrow once per INSERT).
        with ws.registered("_batch", batch):
            con.execute(
                "INSERT INTO raw_records SELECT (?::BIGINT << 32) | source_row, ?, source_row, sheet, line, entity_hint, raw"
                " FROM _batch",
                [source_id, source_id],
            )
            con.execute(
                f"INSERT INTO records SELECT (?::BIGINT << 32) | source_row, ?, source_row, entity_hint, source_key,"
                f" CASE WHEN parent_row IS NULL THEN NULL ELSE (?::BIGINT << 32) | parent_row END,"
                f" {_RECORD_COLUMNS}, extra, flags FROM _batch",
                [source_id, source_id, source_id],
            )
    mapping = {"tables": [t.as_dict() for t in result.tables]}
    con.execute(
        "UPDATE sources SET rows = ?, rejected = ?, flagged = ?, mapping = ?, notes = ?, format = ?, encoding = ?"
        " WHERE source_id = ?",
        [rows, rejected, flagged, json.dumps(mapping, ensure_ascii=False), json.dumps(result.notes, ensure_ascii=False),
         result.label, result.encoding, source_id],
    )
    return FileOutcome(
        str(path), "loaded", source_id=source_id, format=result.label, encoding=result.encoding,
        rows=rows, rejected=rejected, flagged=flagged, notes=list(result.notes),
    )
