"""What every export target writes from: the golden records as polars frames.

Targets never read the workspace themselves: they get an `ExportData`, so a
role partition (roles.py) can hand each target a filtered and masked copy and
be sure nothing else leaks into its folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import polars as pl

from crmtool.errors import CrmError
from crmtool.workspace import Workspace

# The golden tables and the order the files list them in. The merge stores them in that order:
# read as stored, they are sorted only when they turn out not to be (a workspace merged by an
# older crmtool).
_CONTACTS = ("SELECT * FROM contacts", ("golden_id",))
_COMPANIES = ("SELECT * FROM companies", ("golden_id",))
_LINKS = ("SELECT contact_id, company_id, via, record_ids FROM contact_company", ("contact_id", "company_id"))
# one row per source record: where it came from and the golden record it went into
_CROSSWALK = """
SELECT s.path AS source_file, r.source_row,
       CASE WHEN r.entity_hint = 'company' THEN 'company' ELSE 'contact' END AS entity,
       own.cluster_id AS golden_id,
       CASE WHEN r.entity_hint = 'person_at_company' THEN co.cluster_id END AS company_golden_id,
       raw.sheet, raw.line, r.record_id, r.entity_hint,
       nullif(array_to_string(r.flags, '; '), '') AS flags
FROM records r
JOIN sources s USING (source_id)
JOIN raw_records raw USING (record_id)
LEFT JOIN clusters own ON own.record_id = r.record_id
     AND own.entity = CASE WHEN r.entity_hint = 'company' THEN 'company' ELSE 'contact' END
LEFT JOIN clusters co ON co.record_id = r.record_id AND co.entity = 'company'
ORDER BY s.source_id, r.source_row
"""


@dataclass(frozen=True)
class ExportData:
    """Golden contacts and companies (phones / emails: lists of {value, ext?, type}),
    contact → company links, and the crosswalk of source records."""

    contacts: pl.DataFrame
    companies: pl.DataFrame
    links: pl.DataFrame
    crosswalk: pl.DataFrame
    # frames derived from the four above, built once for every target that needs them (an
    # export of several targets asks for the same company titles and names several times);
    # a copy made by `with_frames` starts empty, so a role partition never sees the whole data's
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def with_frames(self, **frames: pl.DataFrame) -> "ExportData":
        return replace(self, **frames)

    def derived(self, key: str, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """`build()`, computed on the first call for `key` and kept for the next ones."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def company_names(self) -> pl.DataFrame:
        """contact_id → the names of its companies ("; "-joined) and their golden ids, for
        targets that write the company on the contact's row."""
        return self.derived("company_names", self._company_names)

    def _company_names(self) -> pl.DataFrame:
        # one sort of all links, then groups in that order: sorting inside every group was
        # most of the time
        named = self.links.select("contact_id", "company_id").join(
            self.companies.select(pl.col("golden_id").alias("company_id"), pl.col("name").alias("company_name")),
            on="company_id", how="left", maintain_order="left",
        )
        if not in_order(named, ("contact_id", "company_id")):  # links from the workspace already are
            named = named.sort("contact_id", "company_id")
        return named.group_by("contact_id", maintain_order=True).agg(
            pl.col("company_id").alias("company_ids"),
            pl.col("company_name").alias("company_names"),
        )


def reachable() -> pl.Expr:
    """A contact a CRM can take: a name, a phone or an e-mail. A row holding only a note
    ("called from Tver, left no number") or a 1С folder row stays in the workspace and the
    crosswalk, but is no card to import."""
    names = pl.any_horizontal(pl.col(c).is_not_null() for c in ("last_name", "first_name", "middle_name"))
    channels = (pl.col("phones").list.len().fill_null(0) > 0) | (pl.col("emails").list.len().fill_null(0) > 0)
    return names | channels


def load_export_data(ws: Workspace) -> ExportData:
    """The golden tables as frames; an error when `merge` has not run. Contacts with no
    name and no channel are left out (`reachable`)."""
    if not ws.scalar("SELECT count(*) FROM clusters"):
        raise CrmError("nothing to export: the workspace has no clusters yet (run `crmtool run`, or match and merge)")
    if not ws.scalar("SELECT count(*) FROM contacts") and not ws.scalar("SELECT count(*) FROM companies"):
        raise CrmError("nothing to export: no golden records yet (run `crmtool merge`)")
    con = ws.con
    return ExportData(
        contacts=_read_ordered(ws, *_CONTACTS).filter(reachable()),
        companies=_read_ordered(ws, *_COMPANIES),
        links=_read_ordered(ws, *_LINKS),
        crosswalk=con.sql(_CROSSWALK).pl(),
    )


def _read_ordered(ws: Workspace, query: str, keys: tuple[str, ...]) -> pl.DataFrame:
    """`query`'s rows in ascending order of `keys` (unique): as stored when they already are
    (one pass to check), else sorted (byte order, as DuckDB's ORDER BY)."""
    frame = ws.con.sql(query).pl()
    return frame if in_order(frame, keys) else frame.sort(keys)


def in_order(frame: pl.DataFrame, keys: tuple[str, ...]) -> bool:
    """Whether the rows are in strictly ascending order of `keys` (text compared byte by byte,
    as DuckDB's ORDER BY compares it)."""
    if frame.height < 2:
        return True
    # a row comes after the one before it: its first key is greater, or equal and the rest come after
    later = pl.lit(False)
    for key in reversed(keys):
        column, before = pl.col(key), pl.col(key).shift(1)
        later = (column > before) | ((column == before) & later)
    return bool(frame.select(later.slice(1).fill_null(False).all()).item())
