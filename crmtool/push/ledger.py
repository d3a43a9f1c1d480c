"""`push_ledger`: what was sent to which portal, written as each answer arrives.

States: `pending` (a create went out, no answer yet: look it up before resending),
`created` and `updated` (ours, with the hash of what was sent), `matched` (the portal
had the card already; we updated it), `existing` (the portal had it and --mode skip
left it alone).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import polars as pl

from crmtool.workspace import Workspace

SETTLED = ("created", "updated", "matched", "existing")


def payload_hash(payload: dict) -> str:
    """A stable digest of a payload: same fields and values → same hash, whatever the key order."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    remote_id: str | None
    payload_hash: str | None
    state: str


class Ledger:
    def __init__(self, ws: Workspace, target: str):
        self.ws = ws
        self.target = target

    def entries(self, entity: str) -> dict[str, Entry]:
        rows = self.ws.con.execute(
            "SELECT golden_id, remote_id, payload_hash, state FROM push_ledger WHERE target = ? AND entity = ?",
            [self.target, entity]).fetchall()
        return {gid: Entry(rid, h, state) for gid, rid, h, state in rows}

    def remote_ids(self, entity: str) -> dict[str, str]:
        """golden id → the portal's id, for every settled record of `entity`."""
        rows = self.ws.con.execute(
            "SELECT golden_id, remote_id FROM push_ledger WHERE target = ? AND entity = ? AND remote_id IS NOT NULL "
            "AND list_contains(?, state)", [self.target, entity, list(SETTLED)]).fetchall()
        return dict(rows)

    def pending(self, entity: str, records: Iterable[tuple[str, str]]) -> None:
        """Mark (golden id, payload hash) pairs as on their way, before the request is sent."""
        self._upsert(entity, [(gid, None, h, "pending") for gid, h in records], keep_remote=True)

    def settle(self, entity: str, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        """(golden id, remote id, payload hash, state) rows, as the answer arrived."""
        self._upsert(entity, list(rows), keep_remote=False)

    def forget(self, entity: str, golden_ids: Iterable[str]) -> None:
        """Drop pending rows that turned out not to have landed (or were rejected)."""
        ids = list(golden_ids)
        if ids:
            self.ws.con.execute(
                "DELETE FROM push_ledger WHERE target = ? AND entity = ? AND state = 'pending' "
                "AND golden_id IN (SELECT unnest(?::VARCHAR[]))", [self.target, entity, ids])

    def _upsert(self, entity: str, rows: list[tuple], keep_remote: bool) -> None:
        if not rows:
            return
        frame = pl.DataFrame(rows, schema={"golden_id": pl.String, "remote_id": pl.String,
                                           "payload_hash": pl.String, "state": pl.String}, orient="row")
        remote = "coalesce(push_ledger.remote_id, excluded.remote_id)" if keep_remote else "excluded.remote_id"
        # one statement: a kill leaves either all of these rows or none
        with self.ws.registered("ledger_rows", frame):
            self.ws.con.execute(
                "INSERT INTO push_ledger SELECT ?, ?, golden_id, remote_id, payload_hash, state, ? FROM ledger_rows "
                "ON CONFLICT (target, entity, golden_id) DO UPDATE "
                f"SET remote_id = {remote}, payload_hash = excluded.payload_hash, state = excluded.state, "
                "pushed_at = excluded.pushed_at", [self.target, entity, datetime.now()])
