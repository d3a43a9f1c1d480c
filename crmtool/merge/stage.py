"""The merge stage: clusters → golden contacts and companies, their links and provenance."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from crmtool import console
from crmtool.merge.golden import build_candidates, build_channels, build_members, insert_golden
from crmtool.merge.links import link_contacts
from crmtool.merge.survivorship import Survivorship
from crmtool.workspace import Workspace


@dataclass
class MergeSummary:
    contacts: int
    companies: int
    links: int
    merged_contacts: int  # golden contacts made of more than one record
    merged_companies: int

    def counts(self) -> dict[str, int]:
        return dict(self.__dict__)


def merge_workspace(ws: Workspace, rules: Survivorship | None = None) -> MergeSummary:
    """Rebuild `contacts`, `companies`, `contact_company` and `provenance` in one transaction."""
    rules = rules or Survivorship()
    counts = {}
    with ws.transaction(), _any_row_order(ws):
        for entity in ("contact", "company"):
            build_members(ws, entity, rules)
            build_candidates(ws, entity, rules)
            build_channels(ws, entity, rules)
            counts[entity] = insert_golden(ws, entity)
        links = link_contacts(ws)
    for temp in ("_members", "_winners", "_values", "_phones", "_emails", "_pooled"):
        ws.con.execute(f"DROP TABLE IF EXISTS {temp}")
    return MergeSummary(
        contacts=counts["contact"], companies=counts["company"], links=links,
        merged_contacts=ws.scalar("SELECT count(*) FROM contacts WHERE records > 1"),
        merged_companies=ws.scalar("SELECT count(*) FROM companies WHERE records > 1"),
    )


@contextmanager
def _any_row_order(ws: Workspace) -> Iterator[None]:
    """Let DuckDB write the stage's tables in any row order unless a query says ORDER BY:
    nothing here reads rows in table order, and an order-keeping write of a join's or a
    grouping's result runs on one thread, where an unordered one runs on all (at 1M records the
    stage's largest temp table took twice as long to write)."""
    keep = ws.scalar("SELECT current_setting('preserve_insertion_order')")
    ws.con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        ws.con.execute(f"SET preserve_insertion_order = {bool(keep)}")


def merge_stage(ws: Workspace, rules: Survivorship | None = None) -> MergeSummary:
    """`merge_workspace` with a spinner: what `crmtool merge` and `run` show."""
    with console.progress_bar(bytes_mode=False) as bar:
        bar.add_task("merging golden records", total=None)
        return merge_workspace(ws, rules)
