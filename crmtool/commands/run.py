"""`crmtool run`: the whole pipeline in one command, for demos, cron and CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.commands.load import print_outcome, report_load
from crmtool.config import RunConfig, load_config
from crmtool.errors import EXIT_INPUT, EXIT_OK, CrmError
from crmtool.options import Json, Mapping, Quiet, Region
from crmtool.pipeline import run_pipeline
from crmtool.sources.mapping_file import load_mapping
from crmtool.workspace import DEFAULT_DB, Workspace, journaled

DEFAULT_SOURCES = Path("samples")


def run(
    sources: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Files or folders. Default: the config's sources, else ./samples.", show_default=False),
    ] = None,
    db: Annotated[Optional[Path], typer.Option("--db", envvar="CRMTOOL_DB", help=f"Workspace file [default: {DEFAULT_DB}].")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder [default: out].")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="crmtool.toml with a [run] table.", dir_okay=False)] = None,
    mapping: Mapping = None,
    region: Region = "RU",
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Load the sources, normalize, match duplicates, and write contacts.csv, companies.csv and crosswalk.csv.

    Exit code 2 if any source file could not be read (the others are still
    processed and the outputs written).
    """
    console.set_quiet(quiet or as_json)
    cfg = load_config(config) if config else RunConfig()
    chosen = list(sources or cfg.sources or [DEFAULT_SOURCES])
    if not sources and not cfg.sources and not DEFAULT_SOURCES.is_dir():
        raise CrmError("no sources given, no config, and no ./samples folder here; pass files or folders")
    db_path = db or cfg.db or Path(DEFAULT_DB)
    out_dir = out or cfg.out or Path("out")
    mapping_path = mapping or cfg.mapping
    mapping_file = load_mapping(mapping_path) if mapping_path else None
    args = {"sources": [str(s) for s in chosen], "out": str(out_dir), "db": str(db_path)}
    with Workspace.open(db_path) as ws, journaled(ws, "run", args) as counts:
        summary = run_pipeline(
            ws, chosen, out_dir, mapping=mapping_file, run_id=counts["run_id"], on_outcome=print_outcome,
            default_region=region.upper(), rules=cfg.survivorship,
        )
        counts.update(summary.load.counts(), **summary.normalized.counts(), **summary.matched.counts(),
                      **{f"golden_{k}": v for k, v in summary.merged.counts().items()}, outputs=summary.outputs)
    if as_json:
        console.out.print_json(json.dumps({**counts, "out": str(out_dir), "seconds": summary.seconds,
                                           "files": [o.as_dict() for o in summary.load.outcomes]},
                                          ensure_ascii=False, default=str))
    else:
        report_load(summary.load, False)
        n = summary.normalized.counts()
        console.info(
            f"normalized {n['records_normalized']:,} records: "
            + ", ".join(f"{n.get('values_' + s, 0):,} {s}" for s in ("fixed", "suggested", "invalid"))
            + " values (`crmtool profile` for details)"
        )
        m = summary.matched.counts()
        console.info(
            f"matched {m['candidate_pairs']:,} candidate pairs: {m['auto_pairs']:,} merged, "
            f"{m['review_pairs']:,} for review, {m['rejected_pairs']:,} rejected"
        )
        g = summary.merged.counts()
        console.info(
            f"merged into {g['contacts']:,} golden contacts ({g['merged_contacts']:,} from several records) and "
            f"{g['companies']:,} companies; {g['links']:,} contact–company links"
        )
        c = summary.outputs
        console.info(
            f"wrote {out_dir}/: contacts.csv ({c['contacts.csv']}), companies.csv ({c['companies.csv']}), "
            f"crosswalk.csv ({c['crosswalk.csv']} records)"
        )
    raise typer.Exit(EXIT_INPUT if summary.load.failed else EXIT_OK)
