"""`crmtool report`: the client report, one HTML file to open in any browser or mail on."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from crmtool import console
from crmtool.errors import CrmError
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet
from crmtool.report import write_report
from crmtool.report.data import stage_status
from crmtool.workspace import Workspace

LANGS = ("ru", "en")


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.", dir_okay=False)] = Path(
        "report.html"),
    db: Db = DEFAULT_DB_PATH,
    lang: Annotated[str, typer.Option(
        "--lang", help="Language it opens in: ru or en (the other is one click away).")] = "ru",
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Write a report for the client: records per source, field quality, phones and e-mails fixed,
    duplicates found, pairs waiting for review, shared phones and e-mails, example merges.

    One self-contained file (no network), in Russian and English, with personal data masked.
    A workspace that is not merged yet still gets what it has (sources, quality).
    """
    console.set_quiet(quiet or as_json)
    lang = lang.lower()
    if lang not in LANGS:
        raise CrmError(f"--lang {lang!r}: choose ru or en")
    started = time.perf_counter()
    with Workspace.open(db, create=False) as ws:
        stages = stage_status(ws)
        path = write_report(ws, out, lang)
    seconds = round(time.perf_counter() - started, 2)
    size = path.stat().st_size
    if as_json:
        console.out.print_json(json.dumps({"out": str(path), "bytes": size, "seconds": seconds, "lang": lang,
                                           "stages": stages}, ensure_ascii=False))
        return
    if not stages["loaded"]:
        console.warn("the workspace holds no records yet: the report is empty (run `crmtool load` or `crmtool run`)")
    elif not stages["normalized"]:
        console.warn("the workspace is not normalized yet: the report shows the loaded files only "
                     "(run `crmtool normalize`, `crmtool match`, `crmtool merge`, or `crmtool run`)")
    elif not stages["merged"]:
        console.warn("the workspace has not been merged yet: the report shows sources and data quality"
                     + (" and the duplicates found" if stages["matched"] else "")
                     + " (run `crmtool match` and `crmtool merge`, or `crmtool run`, for the rest)")
    if stages["stale"]:
        console.warn("files changed since the last normalize: the report shows the earlier state (run `crmtool run`)")
    console.info(f"wrote {path} ({size / 1024:.0f} KB in {seconds:.1f} s)")
