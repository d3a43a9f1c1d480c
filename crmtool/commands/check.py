"""`crmtool check FILE…`: a CI gate for export/import files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.check.layouts import AUTO, CHECK_LAYOUTS, layout_named
from crmtool.check.reader import parse_separator
from crmtool.check.report import UNLIMITED, Limits, Threshold, summary, text_lines, write_junit
from crmtool.check.runner import CheckSettings, check_file
from crmtool.config import CheckConfig, load_check_config
from crmtool.errors import EXIT_OK
from crmtool.options import Encoding, Json, Quiet, Region


def check(
    files: Annotated[
        list[Path], typer.Argument(help="Export/import files: CSV, XLSX, Parquet, JSON Lines.", show_default=False)
    ],
    layout: Annotated[str, typer.Option("--layout", help=f"File layout: {' | '.join([AUTO, *CHECK_LAYOUTS])}.")] = AUTO,
    encoding: Encoding = None,
    sep: Annotated[Optional[str], typer.Option("--sep", help="CSV separator (default: detected): ';' ',' tab.")] = None,
    config: Annotated[
        Optional[Path],
        typer.Option("--config", help="crmtool.toml with a \\[check] table (required columns, thresholds).",
                     dir_okay=False),
    ] = None,
    max_invalid: Annotated[
        Optional[str],
        typer.Option("--max-invalid",
                     help="Rows with invalid values allowed: a count or a share (\"1%\") \\[default: 1%]."),
    ] = None,
    max_duplicates: Annotated[
        Optional[str],
        typer.Option("--max-duplicates", help="Duplicate rows allowed: a count or a share \\[default: 0]."),
    ] = None,
    max_no_channel: Annotated[
        Optional[str],
        typer.Option("--max-no-channel",
                     help="Rows without phone and e-mail allowed \\[default: any, reported only]."),
    ] = None,
    no_duplicates: Annotated[bool, typer.Option("--no-duplicates", help="Skip the duplicate search (the slow part).")] = False,
    junit: Annotated[
        Optional[Path],
        typer.Option("--junit", help="Also write a JUnit XML report here (for CI test views).", dir_okay=False),
    ] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Findings listed per file in the text report.")] = 20,
    region: Region = "RU",
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Check export/import files: columns, encoding, phones, e-mails, ИНН, contact channels,
    required fields and duplicates (with the matcher).

    Exit code 0 when every file passes, 1 when findings exceed a threshold
    (a missing required column or value always does), 2 when a file cannot be
    read or its layout is unknown.
    """
    console.set_quiet(quiet or as_json)
    cfg = load_check_config(config) if config else CheckConfig()
    where = f"{config}: [check]" if config else ""
    settings = CheckSettings(
        layout=layout_named(layout),
        encoding=encoding,
        sep=parse_separator(sep),
        limits=Limits(
            max_invalid=_threshold("--max-invalid", max_invalid, f"{where} max_invalid", cfg.max_invalid, "1%"),
            max_duplicates=_threshold(
                "--max-duplicates", max_duplicates, f"{where} max_duplicates", cfg.max_duplicates, "0"),
            max_no_channel=_threshold(
                "--max-no-channel", max_no_channel, f"{where} max_no_channel", cfg.max_no_channel, None),
        ),
        required={"contact": cfg.required_contact, "company": cfg.required_company},
        duplicates=not no_duplicates,
        region=region.upper(),
    )
    reports = []
    for path in files:
        report = check_file(path, settings)
        reports.append(report)
        if report.error is not None:
            console.error(report.error if report.error.startswith(str(path)) else f"{path}: {report.error}")
        elif not (quiet or as_json):
            for line in text_lines(report, show):
                console.out.print(line, highlight=False)
    if junit:
        write_junit(reports, junit)
    result = summary(reports)
    if as_json:
        # plain write: rich's JSON highlighting takes seconds on a report with 10k+ findings
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n")
    raise typer.Exit(result["exit_code"] if reports else EXIT_OK)


def _threshold(option: str, given: str | None, key: str, configured: str | None, default: str | None) -> Threshold:
    """The command line wins over the config, the config over the default."""
    if given is not None:
        return Threshold.parse(given, option)
    if configured is not None:
        return Threshold.parse(configured, key.strip())
    return Threshold.parse(default, option) if default is not None else UNLIMITED
