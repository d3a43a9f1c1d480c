"""`crmtool run`: the whole pipeline in one command, for demos, cron and CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.commands.load import print_outcome, report_load
from crmtool.config import RunConfig, load_run_config
from crmtool.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, CrmError
from crmtool.options import Json, Mapping, Quiet
from crmtool.pipeline import run_pipeline
from crmtool.sources.mapping_file import load_mapping
from crmtool.workspace import DEFAULT_DB, journaled

DEFAULT_SOURCES = Path("samples")
REPORT_NAME = "report.html"


def run(
    sources: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Files or folders. Default: the config's sources, else ./samples.", show_default=False),
    ] = None,
    db: Annotated[Optional[Path], typer.Option("--db", envvar="CRMTOOL_DB", help=f"Workspace file [default: {DEFAULT_DB}].")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder [default: out].")] = None,
    config: Annotated[Optional[Path], typer.Option(
        "--config", help="crmtool.toml (`crmtool init` writes one): sources, thresholds, exports, push.",
        dir_okay=False)] = None,
    mapping: Mapping = None,
    region: Annotated[Optional[str], typer.Option(
        "--region", help="Default country for phones without a country code [default: the config's, else RU].")] = None,
    log: Annotated[Optional[Path], typer.Option(
        "--log", help="Append every message, timestamped, to this file (also with --quiet).", dir_okay=False)] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Normalize and match everything again, learning the weights anew "
                       "(by default a run matches only what new files touch).")] = False,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Load the sources, normalize, match, merge, and write the golden records: contacts.csv,
    companies.csv, links.csv, crosswalk.csv, the Bitrix24 import files, delta.csv (what changed
    since the last run) and report.html; then the config's export targets and push.

    Made for cron: files already loaded are recognised by content and skipped, and when nothing
    changed since the last run the stages are skipped too; golden ids are kept, so a new file
    changes only the golden records it touches. A lock keeps two runs off one workspace (the
    second exits 2; a lock left by a killed run is taken over). Exit 2 if a source file could not
    be read (the others are still processed), 1 if the push had records refused.
    """
    console.set_quiet(quiet or as_json)
    console.set_log(log)
    cfg = load_run_config(config) if config else RunConfig()
    chosen = list(sources or cfg.sources or [DEFAULT_SOURCES])
    if not sources and not cfg.sources and not DEFAULT_SOURCES.is_dir():
        raise CrmError("no sources given, no config, and no ./samples folder here; pass files or folders")
    db_path = db or cfg.db or Path(DEFAULT_DB)
    out_dir = out or cfg.out or Path("out")
    mapping_path = mapping or cfg.mapping
    mapping_file = load_mapping(mapping_path) if mapping_path else None
    default_region = (region or cfg.region or "RU").upper()
    args = {"sources": [str(s) for s in chosen], "out": str(out_dir), "db": str(db_path),
            "config": str(config) if config else None, "full": full}
    from crmtool.lock import locked_workspace

    pushed = None
    with locked_workspace(db_path, "run") as ws, journaled(ws, "run", args) as counts:
        summary = run_pipeline(
            ws, chosen, out_dir, mapping=mapping_file, run_id=counts["run_id"], on_outcome=print_outcome,
            default_region=default_region, rules=cfg.survivorship, upper=cfg.match.upper, lower=cfg.match.lower,
            full=full,
        )
        written = write_config_exports(summary.data, cfg, out_dir)
        if not no_report:
            from crmtool.report import write_report

            written.append(write_report(ws, out_dir / REPORT_NAME))
        if cfg.push is not None:
            pushed = push_configured(ws, cfg, db_path, summary.data)
        counts.update(summary.load.counts(), **_flat(summary.stages), outputs=summary.outputs,
                      up_to_date=summary.up_to_date, **_delta_counts(summary.delta))
        if pushed:
            counts.update({f"push_{e}_{k}": v for e, c in pushed["counts"].items() for k, v in c.items()})
    if as_json:
        console.out.print_json(json.dumps({**counts, "out": str(out_dir), "seconds": summary.seconds,
                                           "files": [o.as_dict() for o in summary.load.outcomes],
                                           "written": [str(p) for p in written], "push": pushed},
                                          ensure_ascii=False, default=str))
    else:
        _print(summary, out_dir, written, pushed)
    if summary.load.failed:
        raise typer.Exit(EXIT_INPUT)
    raise typer.Exit(EXIT_FINDINGS if pushed and pushed["rejected"] else EXIT_OK)


def write_config_exports(data, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """The [export] targets of the config, into out/ (or out/<role>/ with roles)."""
    if not cfg.export.targets:
        return []
    from crmtool.commands.export import write_targets

    return write_targets(data, cfg.export.targets, out_dir, cfg.export.options(), cfg.export.roles)


def push_configured(ws, cfg: RunConfig, db_path: Path, data) -> dict:
    """Push as [push] says; the secret comes from the environment variable it names."""
    from crmtool.export.users import load_users
    from crmtool.push.secrets import read_secret
    from crmtool.push.session import PushRequest, push_workspace, report

    p = cfg.push
    secret = read_secret(p.target, env=p.secret_env or None, file=None, workspace=db_path)
    request = PushRequest(target=p.target, secret=secret, portal=p.portal, users=load_users(p.users),
                          mode=p.mode, rate=p.rate, burst=p.burst)
    identity, summary = push_workspace(ws, request, data)
    return report(identity, p.target, summary)


def _flat(stages: dict[str, dict]) -> dict:
    out = {}
    for stage, counts in stages.items():
        prefix = "golden_" if stage == "merge" else ""
        out.update({f"{prefix}{k}": v for k, v in counts.items()})
    return out


def _delta_counts(delta) -> dict:
    from crmtool.merge.delta import counts

    return {f"delta_{k}": v for k, v in counts(delta).items()}


def _print(summary, out_dir: Path, written: list[Path], pushed: dict | None) -> None:
    from crmtool.match.stage import pairs_line

    report_load(summary.load, False)
    if summary.up_to_date:
        console.info("nothing new since the last run: golden records unchanged")
    else:
        n, m, g = (summary.stages[s] for s in ("normalize", "match", "merge"))
        console.info(
            f"normalized {n['records_normalized']:,} records: "
            + ", ".join(f"{n.get('values_' + s, 0):,} {s}" for s in ("fixed", "suggested", "invalid"))
            + " values (`crmtool profile` for details)"
        )
        console.info(f"matched {pairs_line(m)}")
        console.info(
            f"merged into {g['contacts']:,} golden contacts ({g['merged_contacts']:,} from several records) and "
            f"{g['companies']:,} companies; {g['links']:,} contact–company links"
        )
        from crmtool.merge.delta import counts

        changes = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(counts(summary.delta).items()))
        console.info(f"since the last run: {changes or 'no golden record changed'}")
    c = summary.outputs
    console.info(
        f"wrote {out_dir}/: contacts.csv ({c['contacts.csv']}), companies.csv ({c['companies.csv']}), "
        f"crosswalk.csv ({c['crosswalk.csv']} records), delta.csv ({c.get('delta.csv', 0)})"
    )
    for path in written:
        console.info(f"wrote {path}")
    if pushed:
        from crmtool.commands.push import print_summary

        print_summary(pushed)
