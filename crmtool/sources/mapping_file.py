"""The --mapping FILE.toml a consultant writes when a header means something else.

    [columns]                      # for every file
    "Клиент" = "company"           # header → field (see `crmtool load --help`)
    "Доп. телефон" = "phones:work"

    [read]                         # reader settings for every file
    encoding = "cp1251"
    delimiter = ";"
    header_row = 3                 # 1-based row/line of the header
    sheets = ["Клиенты"]

    [files."manager_*.xlsx"]       # only for files whose name matches the pattern
    columns = { "Клиент" = "full_name" }
    read = { header_row = 2 }
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crmtool.errors import CrmError
from crmtool.sources.base import ReadOptions
from crmtool.sources.headers import ALL_FIELDS, Target

_READ_KEYS = {"encoding": str, "delimiter": str, "header_row": int, "sheets": list}


@dataclass
class MappingFile:
    columns: dict[str, str] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def options_for(self, path: Path, base: ReadOptions | None = None) -> ReadOptions:
        options = replace(base or ReadOptions(), columns=dict((base or ReadOptions()).columns))
        options = _apply(options, self.columns, self.read)
        for pattern, columns, read in self.files:
            if fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(str(path), pattern):
                options = _apply(options, columns, read)
        return options


def _apply(options: ReadOptions, columns: dict[str, str], read: dict[str, Any]) -> ReadOptions:
    options.columns.update(columns)
    for key, value in read.items():
        setattr(options, key, value)
    return options


def load_mapping(path: str | Path) -> MappingFile:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise CrmError(f"{p}: mapping file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise CrmError(f"{p}: mapping file must be UTF-8") from None
    unknown = set(data) - {"columns", "read", "files"}
    if unknown:
        raise CrmError(f"{p}: unknown section(s) {', '.join(sorted(unknown))}; expected [columns], [read], [files.\"PATTERN\"]")
    mapping = MappingFile(
        columns=_columns(p, "columns", data.get("columns", {})),
        read=_read(p, "read", data.get("read", {})),
    )
    for pattern, spec in data.get("files", {}).items():
        if not isinstance(spec, dict):
            raise CrmError(f"{p}: [files.{pattern!r}] must be a table")
        mapping.files.append(
            (pattern, _columns(p, f"files.{pattern}.columns", spec.get("columns", {})),
             _read(p, f"files.{pattern}.read", spec.get("read", {})))
        )
    return mapping


def _columns(p: Path, where: str, table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        raise CrmError(f"{p}: [{where}] must be a table of \"header\" = \"field\"")
    for header, target in table.items():
        if not isinstance(target, str):
            raise CrmError(f"{p}: [{where}] {header!r}: the field must be a string")
        try:
            Target.parse(target, "user")
        except ValueError:
            raise CrmError(
                f"{p}: [{where}] {header!r} = {target!r}: unknown field; known: {', '.join(ALL_FIELDS)}"
            ) from None
    return dict(table)


def _read(p: Path, where: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise CrmError(f"{p}: [{where}] must be a table")
    for key, value in table.items():
        if key not in _READ_KEYS:
            raise CrmError(f"{p}: [{where}] unknown setting {key!r}; known: {', '.join(_READ_KEYS)}")
        if not isinstance(value, _READ_KEYS[key]):
            raise CrmError(f"{p}: [{where}] {key} must be a {_READ_KEYS[key].__name__}")
    return dict(table)
