"""crmtool.toml: settings for unattended runs, so cron needs no arguments.

    [run]
    sources = ["dumps/"]        # files or folders, relative to this file
    out = "out"
    db = "crm.duckdb"
    mapping = "mapping.toml"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from crmtool.errors import CrmError


@dataclass
class RunConfig:
    sources: list[Path] = field(default_factory=list)
    out: Path | None = None
    db: Path | None = None
    mapping: Path | None = None


def load_config(path: Path) -> RunConfig:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise CrmError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{path}: not valid TOML: {exc}") from None
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
    )
