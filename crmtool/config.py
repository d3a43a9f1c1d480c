"""crmtool.toml: settings for unattended runs, so cron needs no arguments.

    [run]
    sources = ["dumps/"]        # files or folders, relative to this file
    out = "out"
    db = "crm.duckdb"
    mapping = "mapping.toml"

    [check]                     # `crmtool check` (see docs/check.md)
    required_contact = ["Фамилия", "Мобильный телефон"]   # header names, per entity
    required_company = ["ИНН"]
    max_invalid = "1%"          # a count (5) or a share of the rows ("1%")
    max_duplicates = 0
    max_no_channel = "10%"      # unset: rows without phone/e-mail are only reported

    [merge]                     # survivorship for `crmtool run` (see docs/merge.md)
    priority = ["1c", "excel", "csv", "outlook", "google", "vcard"]   # most trusted first
    rule = "priority"           # priority | recent | complete | frequent
    mode = "merge"              # merge | replace | skip
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crmtool.errors import CrmError

if TYPE_CHECKING:
    from crmtool.merge.survivorship import Survivorship


@dataclass
class RunConfig:
    sources: list[Path] = field(default_factory=list)
    out: Path | None = None
    db: Path | None = None
    survivorship: "Survivorship | None" = None
    mapping: Path | None = None


@dataclass
class CheckConfig:
    """The [check] table; None means "not set here" (the command's default applies)."""

    required_contact: list[str] = field(default_factory=list)
    required_company: list[str] = field(default_factory=list)
    max_invalid: str | None = None  # "5" or "1%"; parsed by crmtool.check.report.Threshold
    max_duplicates: str | None = None
    max_no_channel: str | None = None


CHECK_KEYS = {"required_contact", "required_company", "max_invalid", "max_duplicates", "max_no_channel"}


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise CrmError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise CrmError(f"{path}: is a folder, expected a crmtool.toml file") from None
    except UnicodeDecodeError:
        raise CrmError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{path}: not valid TOML: {exc}") from None


def load_check_config(path: Path) -> CheckConfig:
    """The [check] table of a crmtool.toml; other tables are not looked at."""
    check = _read(path).get("check", {})
    if not isinstance(check, dict):
        raise CrmError(f"{path}: [check] must be a table")
    unknown = set(check) - CHECK_KEYS
    if unknown:
        raise CrmError(f"{path}: [check] unknown setting(s): {', '.join(sorted(unknown))}")
    cfg = CheckConfig()
    for key in ("required_contact", "required_company"):
        value = check.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise CrmError(f"{path}: [check] {key} must be a list of column names")
        setattr(cfg, key, value)
    for key in ("max_invalid", "max_duplicates", "max_no_channel"):
        value = check.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise CrmError(f"{path}: [check] {key} must be a count or a percentage like \"1%\"")
        setattr(cfg, key, str(value))
    return cfg


def load_config(path: Path) -> RunConfig:
    data = _read(path)
    run = data.get("run", {})
    if not isinstance(run, dict):
        raise CrmError(f"{path}: [run] must be a table")
    unknown = set(run) - {"sources", "out", "db", "mapping"}
    if unknown:
        raise CrmError(f"{path}: [run] unknown setting(s): {', '.join(sorted(unknown))}")
    base = path.parent
    sources = run.get("sources", [])
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise CrmError(f"{path}: [run] sources must be a list of paths")
    resolve = lambda v: (base / v) if v else None  # noqa: E731
    return RunConfig(
        sources=[base / s for s in sources],
        out=resolve(run.get("out")),
        db=resolve(run.get("db")),
        mapping=resolve(run.get("mapping")),
        survivorship=_merge_table(path, data),
    )


def _merge_table(path: Path, data: dict) -> "Survivorship | None":
    """The [merge] table as survivorship rules (None when absent)."""
    from crmtool.merge.survivorship import Survivorship

    table = data.get("merge")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise CrmError(f"{path}: [merge] must be a table")
    unknown = set(table) - {"priority", "rule", "mode"}
    if unknown:
        raise CrmError(f"{path}: [merge] unknown setting(s): {', '.join(sorted(unknown))}")
    priority = table.get("priority", list(Survivorship().priority))
    if not isinstance(priority, list) or not all(isinstance(p, str) for p in priority):
        raise CrmError(f"{path}: [merge] priority must be a list of source kinds")
    for key in ("rule", "mode"):
        if key in table and not isinstance(table[key], str):
            raise CrmError(f"{path}: [merge] {key} must be a string")
    try:
        return Survivorship(priority=tuple(p.lower() for p in priority), rule=table.get("rule", "priority"),
                            mode=table.get("mode", "merge"))
    except CrmError as exc:
        raise CrmError(f"{path}: [merge] {exc}") from None
