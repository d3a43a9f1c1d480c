"""One push of a workspace, as `crmtool push` and `crmtool run` ([push] in crmtool.toml) do it."""

from __future__ import annotations

from dataclasses import dataclass

from crmtool.errors import CrmError
from crmtool.export.data import ExportData, load_export_data
from crmtool.push.ledger import Ledger
from crmtool.push.runner import MODES, Summary, push
from crmtool.push.targets import Limits, check_target, open_target
from crmtool.workspace import Workspace


@dataclass
class PushRequest:
    target: str
    secret: str
    portal: str | None = None
    users: dict[str, str] | None = None
    mode: str = "merge"
    rate: float | None = None
    burst: int | None = None
    dry_run: bool = False

    def check(self) -> None:
        check_target(self.target)
        if self.mode not in MODES:
            raise CrmError(f"push mode {self.mode!r}: use one of {', '.join(MODES)}")


def push_workspace(ws: Workspace, request: PushRequest, data: ExportData | None = None) -> tuple[str, Summary]:
    """(the portal's name without secrets, what was pushed) — raises on auth errors. `data`: the
    golden records when the caller has them already (read from the workspace otherwise)."""
    request.check()
    pusher = open_target(request.target, request.secret, portal=request.portal, users=request.users,
                         limits=Limits(request.rate, request.burst))
    try:
        summary = push(pusher, Ledger(ws, pusher.identity), data if data is not None else load_export_data(ws), mode=request.mode,
                       dry_run=request.dry_run)
    finally:
        pusher.close()
    return pusher.identity, summary


def report(identity: str, target: str, summary: Summary) -> dict:
    return {"target": target, "portal": identity, **summary.as_dict()}
