"""`crmtool init`: write a commented example crmtool.toml to start an unattended setup from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from crmtool import console
from crmtool.errors import CrmError

CONFIG_NAME = "crmtool.toml"


def example_config() -> str:
    """Every table and key of crmtool.toml with what it does; defaults are taken from the code,
    so the example never drifts from what crmtool does without it."""
    from crmtool.export.targets import ENCODINGS, FORMATS, target_names
    from crmtool.match.stage import LOWER, UPPER
    from crmtool.merge.survivorship import FAMILIES, MODES as MERGE_MODES, RULES
    from crmtool.push.runner import MODES as PUSH_MODES
    from crmtool.push.secrets import ENV_NAMES
    from crmtool.push.targets import DEFAULT_BURST, DEFAULT_RATE, TARGETS

    families = ", ".join(f'"{f}"' for f in FAMILIES)
    encodings = ", ".join(sorted(set(ENCODINGS)))
    return f"""\
# crmtool.toml: settings for unattended runs, e.g. from cron:
#   crmtool run --config /path/to/crmtool.toml
# Paths are relative to this file's folder. Lines starting with # are comments: remove the #
# to use a setting. Options given on the command line win over this file.
# Secrets (webhook URLs, tokens) never go here: [push] names the environment variable that
# holds them, and a file that contains one is refused.

[run]
# Files, folders or glob patterns to load: * matches within one folder, ** any depth of
# folders, e.g. ["exports/**/*.xlsx", "outlook/*.csv"]. A pattern that matches nothing is
# reported as a missing source (exit code 2), the other sources are still loaded.
sources = ["dumps"]
# Folder for contacts.csv, companies.csv and crosswalk.csv.
out = "out"
# The workspace (one DuckDB file). While a command changes it, crm.duckdb.lock beside it
# keeps a second run out.
db = "crm.duckdb"
# Header mapping and reader overrides, as for --mapping (see README.md, "What `load` reads"):
# default none.
# mapping = "mapping.toml"
# Default country for phone numbers written without a country code (ISO 3166 code).
region = "RU"

[check]
# `crmtool check`: columns that must be filled in every row, by their header names.
required_contact = []
required_company = []
# Findings allowed before the check fails (exit code 1): a count (5) or a share of the rows ("1%").
max_invalid = "1%"
max_duplicates = 0
# Rows with neither phone nor e-mail; default: reported, never failing.
# max_no_channel = "10%"

[match]
# Match probability at or above which two records are merged automatically.
upper = {UPPER}
# Below this a pair is not a match; between lower and upper it waits for review.
lower = {LOWER}

[merge]
# Which value survives when merged records disagree (see docs/merge.md).
# Source kinds, most trusted first: {families}.
priority = [{families}]
# {" | ".join(RULES)}
rule = "priority"
# {" | ".join(MERGE_MODES)}
mode = "merge"

[export]
# Files for a CRM's import written after each run, any of: {", ".join(target_names())}.
# Default: none.
# targets = ["bitrix24"]
# One folder per role, with only the records and fields it may see (see docs/roles.md).
# roles = "roles.toml"
# Owners as the sources write them mapped to CRM user ids (CSV, columns: owner, id).
# users = "users.csv"
# CSV encoding: {encodings}.
encoding = "utf-8"
# CSV separator: ";", "," or "tab".
separator = ";"
# generic and amoCRM files: {" | ".join(FORMATS)}
format = "csv"

# Send the golden records to a CRM through its REST API (see docs/push.md).
# [push]
# {" or ".join(TARGETS)}; required in a [push] table.
# target = "bitrix24"
# The portal's address; a Bitrix24 webhook URL names its portal itself.
# portal = "https://example.bitrix24.ru"
# The name of the environment variable that holds the webhook URL or token (never the
# secret itself). Default: {", ".join(f"{v} ({k})" for k, v in ENV_NAMES.items())}.
# secret_env = "{ENV_NAMES["bitrix24"]}"
# {" or ".join(PUSH_MODES)}: what to do with a card the portal already has.
# mode = "merge"
# Requests per second and the burst allowed at once; default: the portal's own limits,
# {", ".join(f"{t} {DEFAULT_RATE[t]:g}/s burst {DEFAULT_BURST[t]}" for t in TARGETS)}.
# rate = {DEFAULT_RATE["bitrix24"]}
# burst = {DEFAULT_BURST["bitrix24"]}
# Owners mapped to CRM user ids (CSV, columns: owner, id).
# users = "users.csv"
"""


def init(
    path: Annotated[Path, typer.Argument(help=f"Where to write it (a file, or a folder for {CONFIG_NAME}).",
                                         show_default=True)] = Path(CONFIG_NAME),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example crmtool.toml: every setting, what it does, its default."""
    target = path / CONFIG_NAME if path.is_dir() else path
    text = example_config()
    target.parent.mkdir(parents=True, exist_ok=True)
    if force:
        part = target.with_name(f".{target.name}.part")
        part.write_text(text, encoding="utf-8")
        os.replace(part, target)
    else:
        try:
            with open(target, "x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
                f.write(text)
        except FileExistsError:
            raise CrmError(f"{target} already exists; pass --force to overwrite it") from None
    console.info(escape(f"wrote {target}: set [run] sources, then `crmtool run --config {target}`"))
