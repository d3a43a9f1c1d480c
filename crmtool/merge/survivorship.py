"""Which value survives when the records of one person (or company) disagree.

A rule orders the candidate values of a field; the first wins:

- `priority` (default): the source family the consultant trusts most first
  (1С > Excel > CSV > Outlook > Google > vCard unless configured), then the
  value most records give, then the most recent file;
- `recent`: the most recently loaded file first;
- `complete`: the value from the member record with the most filled fields;
- `frequent`: the value most records give.

Before any rule, a value's own quality decides: a full first name beats a
diminutive and an initial, a Cyrillic name a Latin one, a valid ИНН an
invalid one (invalid values never survive at all). Ties end at the earliest
source row, so the same inputs always give the same golden record.

Modes mirror Bitrix24's import duplicate control: `merge` (field by field,
phones and e-mails united), `replace` (everything from the best record by
the rule), `skip` (everything from the cluster's first record).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crmtool.errors import CrmError

RULES = ("priority", "recent", "complete", "frequent")
MODES = ("merge", "replace", "skip")
FAMILIES = ("1c", "excel", "csv", "outlook", "google", "vcard")

# ORDER BY terms per rule, over a value's aggregates (see golden.py)
RULE_ORDER = {
    "priority": "best_rank ASC, freq DESC, recent DESC",
    "recent": "recent DESC, best_rank ASC, freq DESC",
    "complete": "completeness DESC, best_rank ASC, freq DESC",
    "frequent": "freq DESC, best_rank ASC, recent DESC",
}
# the same, to pick one winner record per cluster (replace mode)
RECORD_ORDER = {
    "priority": "source_rank ASC, loaded_at DESC, completeness DESC",
    "recent": "loaded_at DESC, source_rank ASC, completeness DESC",
    "complete": "completeness DESC, source_rank ASC, loaded_at DESC",
    "frequent": "completeness DESC, source_rank ASC, loaded_at DESC",
}


@dataclass(frozen=True)
class Survivorship:
    priority: tuple[str, ...] = FAMILIES
    rule: str = "priority"
    mode: str = "merge"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise CrmError(f"survivorship rule {self.rule!r} is not one of {', '.join(RULES)}")
        if self.mode not in MODES:
            raise CrmError(f"merge mode {self.mode!r} is not one of {', '.join(MODES)}")
        unknown = [f for f in self.priority if f not in FAMILIES]
        if unknown:
            raise CrmError(f"source priority: unknown source kind(s) {', '.join(unknown)}; known: {', '.join(FAMILIES)}")

    def rank(self, family: str) -> int:
        """Position of a source family in the priority list (unlisted ones last)."""
        return self.priority.index(family) if family in self.priority else len(self.priority)


def source_family(fmt: str) -> str:
    """The family of a source format as the loader records it (`commerceml/2.08`,
    `xlsx/1c-table`, `csv/outlook-ru`, `vcard/iphone`…)."""
    fmt = (fmt or "").lower()
    kind, _, flavour = fmt.partition("/")
    if kind == "commerceml" or "1c" in flavour or kind == "enterprisedata":
        return "1c"
    if kind in ("xlsx", "xls", "xlsm", "excel"):
        return "excel"
    if kind == "vcard" or kind == "vcf":
        return "vcard"
    if flavour.startswith("outlook"):
        return "outlook"
    if flavour.startswith("google"):
        return "google"
    return "csv"
