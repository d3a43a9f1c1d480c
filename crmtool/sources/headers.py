"""Which canonical field each column header means, and where the header row is.

The synonyms live in `synonyms.toml` (curated, RU and EN). A header is looked
up, in order: the user's --mapping file, the recognised layout's own table
(Outlook, Google, 1C), the generic table, the same without its number
("Телефон 2"), Google's numbered groups ("Phone 1 - Value"), and last a
keyword guess ("Тел. сотовый (осн.)" → phones) that is shown as a guess.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Sequence

KINDS_PHONE = ("mobile", "work", "home", "fax", "pager", "other")
KINDS_EMAIL = ("work", "home", "other")

# Fields a column can map to (besides "extra"): records columns plus the
# helper targets resolved while mapping.
SCALAR_FIELDS = (
    "full_name", "last_name", "first_name", "middle_name", "gender", "company", "job_title",
    "department", "inn", "kpp", "ogrn", "city", "address", "birthday", "owner", "consent", "note",
    "website", "source_key",
)
ADDRESS_PARTS = ("postal_code", "country", "region", "street", "street2", "street3")
SPECIAL_FIELDS = ("name", "name_full", "legal_kind")
LIST_FIELDS = ("phones", "emails", "label")
ALL_FIELDS = SCALAR_FIELDS + ADDRESS_PARTS + SPECIAL_FIELDS + LIST_FIELDS + ("extra",)

# How sure a mapping is; the first ones count when looking for the header row.
SURE = ("user", "profile", "synonym", "numbered", "pattern")
# A contact table names someone or something: a header row needs one of these.
IDENTITY_FIELDS = frozenset(
    {"full_name", "last_name", "first_name", "middle_name", "company", "name", "name_full", "phones", "emails", "inn"}
)

_NON_WORD = re.compile(r"[^0-9a-zа-я]+")
_TRAILING_NUMBER = re.compile(r"^(.*\D) ?\d+$")
_GOOGLE = re.compile(r"^(phone|e mail|email|organization|address|website|relation|event|im) (\d+) (.+)$")
_GOOGLE_ADDRESS = {
    "formatted": "address", "street": "street", "city": "city", "region": "region",
    "postal code": "postal_code", "country": "country", "extended address": "street2",
    "po box": "street3",
}
# Columns about a value rather than holding one ("E-mail Type", "Тип эл. почты",
# "Display Name") are never guessed into a field.
_NOT_A_VALUE = re.compile(r"(^| )(type|тип|вид|label|display|краткое|формат|format)( |$)")
_GUESSES = (
    (re.compile(r"(^| )(телеф\w*|тел|phones?|telephone|mobile|моб\w*|сотов\w*|cell)( |$)"), "phones"),
    (re.compile(r"mail|почт|емейл|имейл"), "emails"),
    (re.compile(r"(^| )фио( |$)"), "full_name"),
    (re.compile(r"(^| )инн( |$)"), "inn"),
    (re.compile(r"(^| )кпп( |$)"), "kpp"),
    (re.compile(r"(^| )огрн\w*( |$)"), "ogrn"),
    (re.compile(r"компан|организац"), "company"),
    (re.compile(r"должн"), "job_title"),
    (re.compile(r"(^| )город( |$)"), "city"),
    (re.compile(r"адрес"), "address"),
    (re.compile(r"коммент|примеч"), "note"),
    (re.compile(r"рожд"), "birthday"),
    (re.compile(r"ответствен|менеджер"), "owner"),
)


def header_key(header: object) -> str:
    """Lower case, ё → е, every run of non-letters/digits → one space."""
    text = str(header or "").lower().replace("ё", "е")
    return _NON_WORD.sub(" ", text).strip()


@dataclass(frozen=True)
class Target:
    """What a column means: `field[:qualifier]`, and how sure we are."""

    field: str
    qualifier: str | None = None
    how: str = "synonym"
    group: str | None = None  # Google's "Phone 1": ties a value column to its label column

    @classmethod
    def parse(cls, text: str, how: str) -> "Target":
        field, _, qualifier = text.strip().partition(":")
        if field not in ALL_FIELDS:
            raise ValueError(f"unknown field {field!r}")
        return cls(field, qualifier or None, how)

    def __str__(self) -> str:
        return f"{self.field}:{self.qualifier}" if self.qualifier else self.field

    @property
    def describe(self) -> str:
        return str(self) if self.how in ("synonym", "profile", "numbered", "pattern") else f"{self} ({self.how})"


UNMAPPED = Target("extra", how="unmapped")


@dataclass(frozen=True)
class Profile:
    name: str
    detect: tuple[str, ...]
    columns: dict[str, str]
    empty_values: tuple[str, ...]


@dataclass(frozen=True)
class Synonyms:
    generic: dict[str, str]
    profiles: tuple[Profile, ...]


@functools.cache
def synonyms() -> Synonyms:
    text = resources.files("crmtool.sources").joinpath("synonyms.toml").read_text("utf-8")
    data = tomllib.loads(text)
    generic = {header_key(k): v for k, v in data["generic"].items()}
    profiles = tuple(
        Profile(
            name=name,
            detect=tuple(header_key(h) for h in spec["detect"]),
            columns={header_key(k): v for k, v in spec.get("columns", {}).items()},
            empty_values=tuple(spec.get("empty", ())),
        )
        for name, spec in data.get("profiles", {}).items()
    )
    for target in [*generic.values(), *(t for p in profiles for t in p.columns.values())]:
        Target.parse(target, "synonym")  # fail fast on a typo in the data file
    return Synonyms(generic, profiles)


def detect_profile(headers: Iterable[object]) -> Profile | None:
    keys = {header_key(h) for h in headers}
    for profile in synonyms().profiles:
        if all(k in keys for k in profile.detect):
            return profile
    return None


def parse_user_columns(columns: dict[str, str]) -> dict[str, Target]:
    """The [columns] table of a --mapping file, keyed by header key."""
    result = {}
    for header, target in columns.items():
        result[header_key(header)] = Target.parse(target, "user")
    return result


def map_header(header: object, profile: Profile | None = None, user: dict[str, Target] | None = None) -> Target:
    key = header_key(header)
    if not key:
        return UNMAPPED
    if user and key in user:
        return user[key]
    if profile and key in profile.columns:
        return Target.parse(profile.columns[key], "profile")
    table = synonyms().generic
    if key in table:
        return Target.parse(table[key], "synonym")
    google = _google(key)
    if google:
        return google
    numbered = _TRAILING_NUMBER.match(key)
    if numbered and numbered.group(1).strip() in table:
        return Target.parse(table[numbered.group(1).strip()], "numbered")
    if _NOT_A_VALUE.search(key):
        return UNMAPPED
    for pattern, field in _GUESSES:
        if pattern.search(key):
            return Target(field, how="guess")
    return UNMAPPED


def _google(key: str) -> Target | None:
    """Google Contacts' numbered groups: "Phone 1 - Value", "Organization 1 - Name"…"""
    m = _GOOGLE.match(key)
    if not m:
        return None
    kind, number, part = m.groups()
    if kind in ("phone", "e mail", "email"):
        field = "phones" if kind == "phone" else "emails"
        if part == "value":
            return Target(field, None, "pattern", group=f"{field}{number}")
        if part in ("type", "label"):
            return Target("label", field, "pattern", group=f"{field}{number}")
        return None
    if kind == "organization":
        field = {"name": "company", "title": "job_title", "department": "department"}.get(part)
        return Target(field, number if number != "1" else None, "pattern") if field else None
    if kind == "address" and part in _GOOGLE_ADDRESS:
        return Target(_GOOGLE_ADDRESS[part], number, "pattern")
    if kind == "website" and part == "value":
        return Target("website", number if number != "1" else None, "pattern")
    return Target("extra", how="pattern")


def header_score(cells: Sequence[object], user: dict[str, Target] | None = None) -> int:
    """How much a row looks like a header: the number of cells that surely map to a field.

    Cells that repeat the same field count once, so a row of data that happens to hold
    a word like "телефон" twice does not outscore a real header. A row with no name,
    phone, e-mail or ИНН column (a list of cities and their codes) scores zero.
    """
    profile = detect_profile(cells)
    seen = set()
    for cell in cells:
        target = map_header(cell, profile, user)
        if target.how in SURE and target.field != "extra":
            seen.add((target.field, target.qualifier, target.group, header_key(cell)))
    if not any(field in IDENTITY_FIELDS for field, *_ in seen):
        return 0
    return len(seen)


def find_header_row(rows: Sequence[Sequence[object]], user: dict[str, Target] | None = None) -> int | None:
    """Index of the header row among the first rows of a table, or None if none looks like one.

    Title lines, dates, blank rows and merged cells above the header score low: the
    header is the first row with the best score of at least two mapped columns (or
    one, when it is the row's only non-empty cell).
    """
    best, best_score = None, 0
    for i, row in enumerate(rows):
        filled = [c for c in row if c is not None and str(c).strip()]
        if not filled:
            continue
        score = header_score(filled, user)
        if score > best_score and (score >= 2 or len(filled) == 1 and score == 1):
            best, best_score = i, score
    return best
