"""Owners as the sources write them → CRM user ids (`crmtool export --users users.csv`).

Sources name the responsible manager in many ways ("Иванова А.С.", "иванова
анна сергеевна", "Иванова  Анна Сергеевна"); a CRM wants its user id. The
users file lists owners and ids; an owner matches a listed name by its
normalized spelling (case, ё/е, spaces, dots), then by surname + initials
when only one id has those. Owners that match nothing are written as they
are: Bitrix24 looks a name up itself, and the writers report how many.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl

from crmtool.errors import CrmError
from crmtool.sources import encoding as enc

OWNER_HEADERS = ("owner", "name", "user", "user_name", "manager", "responsible", "ответственный", "менеджер",
                 "сотрудник", "пользователь", "фио", "имя", "владелец")
ID_HEADERS = ("id", "user_id", "userid", "crm_id", "crm_user_id", "bitrix_id", "amocrm_id", "ид", "идентификатор",
              "id пользователя", "код")

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def load_users(path: Path | None) -> dict[str, str]:
    """owner → id from a CSV (utf-8 or windows-1251; `;` `,` or tab); errors name the file and line.
    No file given: an empty map (owners are written as the sources name them)."""
    if path is None:
        return {}
    path = Path(path)
    text = _read_text(path)
    rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
    if not rows:
        raise CrmError(f"{path}: the users file is empty (expected columns owner and id)")
    owner_col, id_col = _columns(path, rows[0])
    users: dict[str, str] = {}
    seen: dict[str, tuple[str, str, int]] = {}  # normalized owner → (owner, id, line)
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        owner = row[owner_col].strip() if owner_col < len(row) else ""
        user_id = row[id_col].strip() if id_col < len(row) else ""
        if not owner:
            raise CrmError(f"{path}:{line}: no owner name (id {user_id!r})")
        if not user_id:
            raise CrmError(f"{path}:{line}: owner {owner!r} has no id")
        key = full_key(owner)
        if key in seen and seen[key][1] != user_id:
            first, first_id, first_line = seen[key]
            raise CrmError(f"{path}:{line}: owner {owner!r} has id {user_id!r}, but line {first_line} gives "
                           f"{first!r} id {first_id!r}")
        seen.setdefault(key, (owner, user_id, line))
        users[owner] = user_id
    return users


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CrmError(f"{path}: cannot read the users file ({exc.strerror})") from None
    encoding = enc.detect(data[: enc.SAMPLE_SIZE], complete=len(data) <= enc.SAMPLE_SIZE)
    return enc.decode(data, encoding, str(path)).lstrip("\ufeff")


def _delimiter(text: str) -> str:
    """The separator the header line uses most (`;` wins ties: Russian Excel writes it)."""
    header = text.split("\n", 1)[0]
    return max((";", ",", "\t"), key=header.count) if any(s in header for s in ";,\t") else ";"


def _columns(path: Path, header: list[str]) -> tuple[int, int]:
    names = [h.strip().lower().replace("ё", "е") for h in header]
    owner = next((i for i, n in enumerate(names) if n in OWNER_HEADERS), None)
    user_id = next((i for i, n in enumerate(names) if n in ID_HEADERS), None)
    if owner is None or user_id is None:
        raise CrmError(f"{path}:1: expected an owner column ({', '.join(OWNER_HEADERS[:3])}, ответственный…) and an "
                       f"id column (id, user_id…); the header is {', '.join(header) or 'empty'}")
    return owner, user_id


# --- matching ------------------------------------------------------------------------------------

def _tokens(name: str) -> list[str]:
    return _TOKEN.findall(name.lower().replace("ё", "е"))


def full_key(name: str) -> str:
    """The spelling without case, ё, dots and extra spaces: "Иванова  А.С." → "иванова а с"."""
    return " ".join(_tokens(name))


def short_key(name: str) -> str | None:
    """Surname + initials: "Иванова Анна Сергеевна" and "Иванова А.С." → "иванова а с" (surname first,
    as Russian lists write it; "А.С. Иванова" works too). None when there is no single surname."""
    tokens = _tokens(name)
    words = [t for t in tokens if len(t) > 1]
    if not words:
        return None
    if all(len(t) > 1 for t in tokens):  # full name: Фамилия Имя [Отчество]
        surname, rest = tokens[0], tokens[1:]
    elif len(words) == 1:  # one word and initials, in either order
        surname, rest = words[0], [t for t in tokens if len(t) == 1]
    else:
        return None
    return " ".join([surname, *(t[0] for t in rest)])


def _index(users: dict[str, str]) -> tuple[dict[str, str], dict[str, str | None], dict[str, str | None]]:
    """Lookups by full key, by surname + initials, by surname + first initial (None: two ids share it)."""
    by_full: dict[str, str] = {}
    by_short: dict[str, str | None] = {}
    by_first: dict[str, str | None] = {}
    for owner, user_id in users.items():
        by_full[full_key(owner)] = user_id
        key = short_key(owner)
        if key is None:
            continue
        for table, k in ((by_short, key), (by_first, " ".join(key.split()[:2]))):
            table[k] = user_id if table.get(k, user_id) == user_id else None
    return by_full, by_short, by_first


def resolve_one(owner: str, index) -> str | None:
    by_full, by_short, by_first = index
    if (found := by_full.get(full_key(owner))) is not None:
        return found
    key = short_key(owner)
    if key is None:
        return None
    if (found := by_short.get(key)) is not None:
        return found
    if len(key.split()) == 2:  # "Иванова А." : only the first initial known
        return by_first.get(key)
    return None


def resolve(owners: pl.Series, users: dict[str, str]) -> pl.Series:
    """The user id of each owner, null when unknown (looked up once per distinct owner)."""
    if not users:
        return pl.Series(owners.name, [None] * len(owners), dtype=pl.String)
    index = _index(users)
    distinct = owners.drop_nulls().unique()
    table = pl.DataFrame({"owner": distinct, "id": [resolve_one(o, index) for o in distinct]},
                         schema={"owner": pl.String, "id": pl.String})
    return pl.DataFrame({"owner": owners.cast(pl.String)}).join(table, on="owner", how="left",
                                                                 maintain_order="left")["id"].alias(owners.name)


def responsible(owners: pl.Series, users: dict[str, str]) -> pl.Series:
    """"Ответственный": the mapped id, or the owner as written when the users map does not know it."""
    return resolve(owners, users).fill_null(owners.cast(pl.String)).alias(owners.name)


def unknown_owners(owners: pl.Series, users: dict[str, str]) -> list[str]:
    """Distinct owners the users map has no id for, sorted."""
    ids = resolve(owners, users)
    return sorted(owners.filter(ids.is_null() & owners.is_not_null()).unique().to_list())
