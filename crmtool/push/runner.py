"""The push plan and its execution, the same for every CRM.

Companies go first (contacts link to their portal ids), then contacts. For each:
1. records left `pending` by a killed push are looked up on the portal by our own mark
   (reconcile) and settled, so they are never created twice;
2. the plan: a record in the ledger with the same payload hash is skipped, with another
   hash it is updated, the rest is to create;
3. records to create are looked up on the portal by phone / e-mail (a card the portal
   already has is updated in merge mode, left alone in skip mode);
4. creates go out in full requests, each marked `pending` in the ledger before it is
   sent and settled as soon as the answer arrives; an answer that never came (5xx,
   dropped connection) is reconciled the same way before the rest is resent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

from crmtool import console
from crmtool.export.data import ExportData
from crmtool.push.ledger import Ledger
from crmtool.push.records import Outcome, PushRecord
from crmtool.push.transport import Ambiguous, GaveUp

ENTITIES = ("company", "contact")
MODES = ("merge", "skip")
RECONCILE_ROUNDS = 5


class Target(Protocol):
    name: str
    identity: str          # the portal, no secret in it: "bitrix24:acme.bitrix24.ru"

    def batch_size(self, entity: str) -> int: ...   # records per create request

    def records(self, entity: str, data: ExportData, company_ids: dict[str, str]) -> list[PushRecord]: ...
    def reconcile(self, entity: str, records: list[PushRecord]) -> dict[str, str]: ...
    def find_existing(self, entity: str, records: list[PushRecord]) -> dict[str, str]: ...
    def create(self, entity: str, records: list[PushRecord]) -> Outcome: ...
    def update(self, entity: str, pairs: list[tuple[PushRecord, str]], *, ours: bool) -> Outcome: ...
    def close(self) -> None: ...


@dataclass
class EntityPlan:
    create: list[PushRecord] = field(default_factory=list)
    update: list[tuple[PushRecord, str]] = field(default_factory=list)   # ours, changed since sent
    skip: list[PushRecord] = field(default_factory=list)
    pending: list[PushRecord] = field(default_factory=list)


@dataclass
class Summary:
    dry_run: bool
    counts: dict[str, Counter] = field(default_factory=lambda: {e: Counter() for e in ENTITIES})
    rejected: list[dict] = field(default_factory=list)     # entity, golden_id, name, reason
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "counts": {e: dict(c) for e, c in self.counts.items()},
                "rejected": self.rejected, "warnings": self.warnings, "requests": self.requests,
                "retries": self.retries}


def plan_entity(records: list[PushRecord], ledger: Ledger, entity: str) -> EntityPlan:
    entries = ledger.entries(entity)
    plan = EntityPlan()
    for rec in records:
        entry = entries.get(rec.golden_id)
        if entry is None:
            plan.create.append(rec)
        elif entry.state == "pending":
            plan.pending.append(rec)
        elif entry.payload_hash == rec.hash or entry.state == "existing":
            plan.skip.append(rec)
        else:
            plan.update.append((rec, entry.remote_id))
    return plan


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Pusher:
    def __init__(self, target: Target, ledger: Ledger, *, mode: str = "merge",
                 progress: Callable[[int], None] = lambda n: None):
        self.target = target
        self.ledger = ledger
        self.mode = mode
        self.advance = progress

    def push_entity(self, entity: str, plan: EntityPlan, summary: Summary) -> None:
        counts = summary.counts[entity]
        if plan.pending:
            found = self.target.reconcile(entity, plan.pending)
            self._settle(entity, plan.pending, found, "created")
            counts["resumed"] += len(found)
            plan.create = [r for r in plan.pending if r.golden_id not in found] + plan.create
            self.ledger.forget(entity, [r.golden_id for r in plan.pending if r.golden_id not in found])
            self.advance(len(found))
        counts["skipped"] += len(plan.skip)
        self.advance(len(plan.skip))
        creates = plan.create
        if creates:
            existing = self.target.find_existing(entity, creates)
            if existing:
                creates = [r for r in creates if r.golden_id not in existing]
                found_pairs = [(r, existing[r.golden_id]) for r in plan.create if r.golden_id in existing]
                if self.mode == "skip":
                    self._settle(entity, [r for r, _ in found_pairs], existing, "existing")
                    counts["existing"] += len(found_pairs)
                    self.advance(len(found_pairs))
                else:
                    self._updates(entity, found_pairs, summary, state="matched", ours=False)
        for chunk in chunks(creates, self.target.batch_size(entity)):
            self._create(entity, chunk, summary)
        self._updates(entity, plan.update, summary, state="updated", ours=True)

    def _create(self, entity: str, chunk: list[PushRecord], summary: Summary) -> None:
        for _ in range(RECONCILE_ROUNDS):
            self.ledger.pending(entity, [(r.golden_id, r.hash) for r in chunk])
            try:
                outcome = self.target.create(entity, chunk)
            except Ambiguous as exc:
                # the request may have landed: what did, is settled; the rest goes again
                summary.warnings.append(f"{entity}: no clear answer to a create ({exc}); looked the records up")
                found = self.target.reconcile(entity, chunk)
                self._settle(entity, chunk, found, "created")
                summary.counts[entity]["created"] += len(found)
                self.advance(len(found))
                chunk = [r for r in chunk if r.golden_id not in found]
                self.ledger.forget(entity, [r.golden_id for r in chunk])
                if not chunk:
                    return
                continue
            self._record(entity, chunk, outcome, summary, "created")
            return
        raise GaveUp(f"{entity}: no clear answer from the portal after {RECONCILE_ROUNDS} attempts; "
                     "run push again later: nothing will be created twice")

    def _updates(self, entity: str, pairs: list[tuple[PushRecord, str]], summary: Summary, *, state: str,
                 ours: bool) -> None:
        for chunk in chunks(pairs, self.target.batch_size(entity)):
            outcome = self.target.update(entity, chunk, ours=ours)
            self._record(entity, [r for r, _ in chunk], outcome, summary, state)

    def _record(self, entity: str, chunk: list[PushRecord], outcome: Outcome, summary: Summary, state: str) -> None:
        self._settle(entity, chunk, outcome.done, state)
        self.ledger.forget(entity, outcome.rejected)
        summary.counts[entity][state] += len(outcome.done)
        summary.counts[entity]["rejected"] += len(outcome.rejected)
        names = {r.golden_id: r.name for r in chunk}
        summary.rejected.extend({"entity": entity, "golden_id": gid, "name": names.get(gid, ""), "reason": why}
                                for gid, why in outcome.rejected.items())
        summary.warnings.extend(outcome.warnings)
        self.advance(len(outcome.done) + len(outcome.rejected))

    def _settle(self, entity: str, records: list[PushRecord], ids: dict[str, str], state: str) -> None:
        self.ledger.settle(entity, [(r.golden_id, str(ids[r.golden_id]), r.hash, state)
                                    for r in records if r.golden_id in ids])


def push(target: Target, ledger: Ledger, data: ExportData, *, mode: str = "merge", dry_run: bool = False) -> Summary:
    """Send (or, dry run, only plan) companies then contacts; the summary says what happened."""
    summary = Summary(dry_run=dry_run)
    with console.progress_bar(bytes_mode=False) as bar:
        for entity in ENTITIES:
            records = target.records(entity, data, ledger.remote_ids("company"))
            plan = plan_entity(records, ledger, entity)
            if dry_run:
                counts = summary.counts[entity]
                counts.update(create=len(plan.create), update=len(plan.update), skip=len(plan.skip),
                              resume=len(plan.pending))
                continue
            task = bar.add_task(f"{target.name} {entity}", total=len(records))
            pusher = Pusher(target, ledger, mode=mode, progress=lambda n, t=task: bar.advance(t, n))
            pusher.push_entity(entity, plan, summary)
    transport = getattr(target, "transport", None)
    if transport is not None:
        summary.requests, summary.retries = transport.requests, transport.retries
    return summary
