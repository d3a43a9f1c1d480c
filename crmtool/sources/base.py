"""What a reader returns, and the options a user can pass to readers.

A reader turns one file into canonical record batches (see `schema.py`). It
raises `SourceError` when the file as a whole cannot be read; a bad record
inside a good file is returned with a flag instead. Batches may be produced
lazily (streaming readers); the loader consumes them inside one transaction, so
an error half-way leaves nothing of the file behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import polars as pl

# progress(bytes_done): absolute position in the file, for progress bars.
Progress = Callable[[int], None]


def no_progress(_: int) -> None:
    pass


@dataclass
class TableInfo:
    """How one table of a file was read: shown by `crmtool sources`."""

    name: str | None = None  # sheet name, XML section, None for a single table
    header_line: int | None = None  # physical line/row of the header (tables only)
    columns: dict[str, str] = field(default_factory=dict)  # source column/property -> target
    rows: int = 0

    def as_dict(self) -> dict:
        return {"name": self.name, "header_line": self.header_line, "rows": self.rows, "columns": self.columns}


@dataclass
class ReadResult:
    format: str  # xlsx, xls, csv, vcard, commerceml
    batches: Iterator[pl.DataFrame]
    encoding: str | None = None
    profile: str | None = None  # recognised layout: outlook-en, google-new, 1c-table, android…
    tables: list[TableInfo] = field(default_factory=list)  # complete once batches are consumed
    notes: list[str] = field(default_factory=list)  # things the user should know (skipped sheets…)

    @property
    def label(self) -> str:
        return f"{self.format}/{self.profile}" if self.profile else self.format


@dataclass
class ReadOptions:
    """User overrides from the command line or a --mapping file."""

    columns: dict[str, str] = field(default_factory=dict)  # header (or its key) -> target
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based physical row of the header
    sheets: list[str] | None = None
    default_region: str = "RU"
