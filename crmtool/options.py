"""Command-line options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool.workspace import DEFAULT_DB

Db = Annotated[
    Path,
    typer.Option("--db", envvar="CRMTOOL_DB", help="Workspace file (DuckDB).", show_default=True),
]
DEFAULT_DB_PATH = Path(DEFAULT_DB)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and warnings on stderr.")]
Json = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")]
Mapping = Annotated[
    Optional[Path],
    typer.Option(
        "--mapping",
        help="TOML file that overrides header mapping and reader settings (\\[columns], \\[read], \\[files.\"PATTERN\"]).",
        dir_okay=False,
    ),
]
Encoding = Annotated[
    Optional[str],
    typer.Option("--encoding", help="Text encoding of the files (default: detected, e.g. utf-8, cp1251, koi8-r)."),
]
Region = Annotated[
    str,
    typer.Option("--region", help="Default country for phone numbers written without a country code (ISO code)."),
]
