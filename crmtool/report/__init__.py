"""The client report: one self-contained HTML file with charts of what happened to the base.

`write_report(ws, out, lang)` computes small aggregates in DuckDB (`data`), renders
them (`html`, `charts`, `texts`) and writes the file whole: to `<out>.part`
first, then renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import os
from pathlib import Path

from crmtool.report.data import collect
from crmtool.report.html import render
from crmtool.workspace import Workspace

__all__ = ["collect", "render", "write_report"]


def write_report(ws: Workspace, out: str | os.PathLike, lang: str = "ru") -> Path:
    """Write the report of `ws` to `out` (opening in `lang`: ru or en); returns the path."""
    out = Path(out)
    page = render(collect(ws), lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    try:
        part.write_text(page, encoding="utf-8")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return out
