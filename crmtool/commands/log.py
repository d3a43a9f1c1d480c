"""`crmtool log`: the run journal, so a morning look tells what last night's cron did."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from crmtool import console
from crmtool.errors import WorkspaceError
from crmtool.lock import Holder, lock_path
from crmtool.options import DEFAULT_DB_PATH, Db, Json
from crmtool.workspace import Workspace

STATUS_STYLE = {"ok": "green", "failed": "red", "interrupted": "red"}
COUNTS_SHOWN = 8


def log(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to show, newest first.")] = 20,
    command: Annotated[Optional[str], typer.Option(
        "--command", "-c", help="Only runs of this command (run, merge, push…).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only runs that failed or were interrupted.")] = False,
    db: Db = DEFAULT_DB_PATH,
    as_json: Json = False,
) -> None:
    """Show the journal of commands run on the workspace: when, by whom, the outcome and its counts.

    A run still marked running is shown as interrupted: the journal could be read, so no
    other process has the workspace open and that run was killed before it could finish.
    """
    console.set_quiet(as_json)
    try:
        with Workspace.open(db, create=False) as ws:
            runs = read_runs(ws, limit=limit, command=command, failed=failed)
            commands = [r[0] for r in ws.con.execute("SELECT DISTINCT command FROM runs ORDER BY command").fetchall()]
    except WorkspaceError as exc:
        raise WorkspaceError(f"{exc}{_holder_note(db)}") from None
    if as_json:
        console.out.print_json(json.dumps(runs, ensure_ascii=False, default=str))
        return
    if not runs:
        if command and command not in commands:
            known = ", ".join(commands) or "none yet"
            console.info(f"no runs of {command!r} in the journal (commands there: {known})")
        else:
            console.info("no runs" + (" failed" if failed else "") + " in the journal")
        return
    table = Table("run", "command", "started", "took", "user", "status", "counts", "message")
    for r in runs:
        style = STATUS_STYLE.get(r["state"], "")
        table.add_row(
            str(r["run_id"]), escape(r["command"]), _when(r["started_at"]), _took(r["seconds"]),
            escape(r["user"] or ""),
            f"[{style}]{r['state']}[/]" if style else escape(r["state"]),
            escape(compact_counts(r["counts"])), escape(r["message"] or ""),
        )
    console.out.print(table)


def read_runs(ws: Workspace, *, limit: int = 20, command: str | None = None, failed: bool = False) -> list[dict]:
    """Journal rows, newest first, with args and counts parsed and `state` (ok | failed |
    interrupted: a `running` row that no live process is finishing)."""
    where, params = [], []
    if command:
        where.append("command = ?")
        params.append(command)
    if failed:
        where.append("status <> 'ok'")
    sql = (
        "SELECT run_id, command, args, \"user\", started_at, finished_at, status, counts, message FROM runs"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY started_at DESC, run_id DESC LIMIT ?"
    )
    rows = ws.fetch_dicts(sql, [*params, limit])
    for row in rows:
        row["args"] = _json(row["args"])
        row["counts"] = _json(row["counts"])
        # this process has the workspace open, so nothing else is writing to it: a run still
        # marked running died without finishing (killed, out of memory, power lost)
        row["state"] = "interrupted" if row["status"] == "running" else row["status"]
        end = row["finished_at"]
        row["seconds"] = round((end - row["started_at"]).total_seconds(), 1) if end else None
        for key in ("started_at", "finished_at"):
            if isinstance(row[key], datetime):
                row[key] = row[key].isoformat(timespec="seconds")
    return rows


def compact_counts(counts: Any) -> str:
    """`records_loaded 1,204 · auto_pairs 57 · …`: non-zero numbers, nested tables flattened,
    at most COUNTS_SHOWN of them."""
    if not isinstance(counts, dict):
        return "" if counts in (None, "") else str(counts)
    items = [(k, v) for k, v in _flat(counts) if k != "run_id" and v not in (0, None, "", [], {}, False)]
    shown = [f"{k} {_number(v)}" for k, v in items[:COUNTS_SHOWN]]
    if len(items) > COUNTS_SHOWN:
        shown.append(f"+{len(items) - COUNTS_SHOWN} more")
    return " · ".join(shown)


def _flat(counts: dict, prefix: str = ""):
    for key, value in counts.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return str(len(value))
    return str(value)


def _holder_note(db) -> str:
    """Who is working on the workspace now, as its lock file says (DuckDB lets one process in)."""
    try:
        holder = Holder.from_text(lock_path(db).read_text("utf-8"))
    except OSError:
        return ""
    return f" (now: run pid {holder.pid} on {holder.host}: {holder.describe()})" if holder else ""


def _json(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")


def _took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
