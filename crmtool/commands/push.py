"""`crmtool push`: golden records to a CRM through its REST API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.errors import EXIT_FINDINGS, CrmError
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet
from crmtool.workspace import journaled

COUNT_ORDER = ("created", "updated", "matched", "existing", "resumed", "skipped", "rejected",
               "create", "update", "skip", "resume")


def push(
    target: Annotated[str, typer.Option("--target", "-t", help="bitrix24 or amocrm.")],
    portal: Annotated[Optional[str], typer.Option(
        "--portal", help="Portal address: https://SUB.amocrm.ru, or a Bitrix24 portal when the secret is an "
                         "OAuth token (a Bitrix24 webhook URL names its portal itself).")] = None,
    secret_env: Annotated[Optional[str], typer.Option(
        "--secret-env", help="Environment variable holding the webhook URL or token "
                             "(default CRMTOOL_BITRIX24_WEBHOOK / CRMTOOL_AMOCRM_TOKEN).")] = None,
    secret_file: Annotated[Optional[Path], typer.Option(
        "--secret-file", help="File holding the webhook URL or token (outside the workspace folder).",
        dir_okay=False)] = None,
    users: Annotated[Optional[Path], typer.Option(
        "--users", help="CSV mapping owners to CRM user ids (columns: owner, id).", exists=True, dir_okay=False)] = None,
    mode: Annotated[str, typer.Option(
        "--mode", help="merge: a card the portal already has (same phone / e-mail and name) is updated; "
                       "skip: it is left alone. Never a second card.")] = "merge",
    rate: Annotated[Optional[float], typer.Option(
        "--rate", help="Requests per second (default: the portal's limit, Bitrix24 2, amoCRM 7).")] = None,
    burst: Annotated[Optional[int], typer.Option(
        "--burst", help="Requests allowed at once before --rate applies (Bitrix24 50, amoCRM 7).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; send nothing.")] = False,
    db: Db = DEFAULT_DB_PATH,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Send golden companies, then contacts, to Bitrix24 or amoCRM through the REST API.

    Batched and throttled to the portal's limits; every record sent is written to the
    workspace's push ledger as its answer arrives, so a push that dies part way resumes
    where it stopped and never creates a record twice. Records the portal refuses are
    listed with the reason (exit 1). Auth errors stop at once (exit 2).
    """
    from crmtool.lock import locked_workspace
    from crmtool.export.users import load_users
    from crmtool.push.secrets import read_secret
    from crmtool.push.session import PushRequest, push_workspace, report as as_report

    console.set_quiet(quiet or as_json)
    request = PushRequest(target=target.lower(), secret="", portal=portal, mode=mode.lower(), rate=rate,
                          burst=burst, dry_run=dry_run)
    request.check()
    request.users = load_users(users)
    if not Path(db).exists():
        raise CrmError(f"{db}: no workspace here; run `crmtool run` first or pass --db")
    # a dry run reads the secret too: it names the portal whose ledger the plan is made against
    request.secret = read_secret(request.target, env=secret_env, file=secret_file, workspace=Path(db))
    args = {"target": request.target, "portal": portal, "mode": request.mode, "dry_run": dry_run,
            "users": str(users) if users else None}
    with locked_workspace(db, "push", create=False) as ws, journaled(ws, "push", args) as counts:
        identity, summary = push_workspace(ws, request)
        counts["portal"] = identity
        for entity, c in summary.counts.items():
            counts.update({f"{entity}_{k}": v for k, v in c.items()})
    result = as_report(identity, request.target, summary)
    if as_json:
        console.out.print_json(json.dumps(result, ensure_ascii=False))
    else:
        print_summary(result)
    if summary.rejected:
        raise typer.Exit(EXIT_FINDINGS)


def print_summary(report: dict) -> None:
    verb = "would push" if report["dry_run"] else "pushed"
    for entity, counts in report["counts"].items():
        parts = [f"{counts[k]:,} {k}" for k in COUNT_ORDER if counts.get(k)]
        console.info(f"{report['target']} {entity}: {verb}: {', '.join(parts) or 'nothing'}")
    if not report["dry_run"]:
        console.info(f"{report['requests']:,} requests, {report['retries']:,} retried")
    for warning in report["warnings"]:
        console.warn(warning)
    for item in report["rejected"]:
        console.warn(f"rejected {item['entity']} {item['golden_id']} {item['name']}: {item['reason']}")
