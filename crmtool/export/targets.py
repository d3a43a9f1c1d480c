"""Export targets: name → writer. A writer takes the golden data, a folder and the
options, writes its files (each first to a `.part` name, then renamed, so a
reader of the folder never sees half a file) and returns the paths it wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from crmtool.errors import CrmError
from crmtool.export.data import ExportData

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "windows-1251": "cp1251", "cp1251": "cp1251"}
FORMATS = ("csv", "xlsx", "parquet", "jsonl")


@dataclass(frozen=True)
class ExportOptions:
    encoding: str = "utf-8"  # a key of ENCODINGS
    separator: str = ";"
    format: str = "csv"  # generic and amoCRM: csv | xlsx | parquet | jsonl
    users: dict[str, str] = field(default_factory=dict)  # owner as written in the sources → CRM user id
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.encoding.lower() not in ENCODINGS:
            raise CrmError(f"encoding {self.encoding!r} is not one of {', '.join(sorted(set(ENCODINGS)))}")
        if len(self.separator) != 1:
            raise CrmError(f"separator {self.separator!r} must be one character (; , or a tab)")
        if self.format not in FORMATS:
            raise CrmError(f"format {self.format!r} is not one of {', '.join(FORMATS)}")

    @property
    def codec(self) -> str:
        return ENCODINGS[self.encoding.lower()]


Writer = Callable[[ExportData, Path, ExportOptions], list[Path]]
TARGETS: dict[str, Writer] = {}


def target(name: str) -> Callable[[Writer], Writer]:
    """Register a writer under a target name."""
    def register(fn: Writer) -> Writer:
        TARGETS[name] = fn
        return fn
    return register


def writer_for(name: str) -> Writer:
    _load_all()
    if name not in TARGETS:
        raise CrmError(f"unknown export target {name!r}; targets: {', '.join(sorted(TARGETS))}")
    return TARGETS[name]


def target_names() -> list[str]:
    _load_all()
    return sorted(TARGETS)


def _load_all() -> None:
    """Import the modules that register targets (each registers itself on import)."""
    import importlib

    for module in ("crmtool.export.generic", "crmtool.export.bitrix24", "crmtool.export.amocrm",
                   "crmtool.export.vcard_file", "crmtool.export.mailing"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
