"""Surnames read from mailboxes, for the records that carry no surname of their own.

An address book holds "a.dolgoslavko@vipolon-plyus.ru" with no name at all, or
"Антонина" with a.zolotoolkhuk@mail.ru: the mailbox says who it is, and without
it such records meet nobody (no surname to block or compare on). For matching
only: the surname read here never becomes a name in a golden record.

A mailbox reads as a name when, split at dots, dashes, underscores and digits,
exactly one word of at least MIN_SURNAME letters is left that is not a known
first name, with at most a first name or an initial beside it
(a.dolgoslavko, dolgoslavko.alexey, yasnopilenkoilya, tikhosemyonenko72).
Role mailboxes (info@, zakaz@; `email_classes` = role) are never read. The
surname is kept in its folded Latin form (`name_keys.fold_latin`), the form the
Latin spelling of every surname is compared in, so Dolgoslavko meets Долгославко.
"""

from __future__ import annotations

import re

import polars as pl

from crmtool.match.exact import CONTACT_HINTS
from crmtool.normalize import name_keys as nk
from crmtool.workspace import Workspace

MIN_SURNAME = 4  # letters of the word taken for a surname (ivanov, not "ya" or "pro")
MIN_FIRST = 4  # letters of a first name split off a mailbox written in one word (ilya in yasnopilenkoilya)
# Latin surname endings: a word that is a first name plus one of them is a surname (kirillova, ivanov)
_SURNAME_ENDINGS = frozenset(nk.LAT_SURN_M + nk.LAT_SURN_F + nk.LAT_SURN_ANY)
_ENDING_LENGTHS = sorted({len(end) for end in _SURNAME_ENDINGS})
_WORD = "[a-z]+"  # a mailbox's words: split at dots, dashes, underscores and digits
_WORDS = re.compile(_WORD)

SCHEMA = {"record_id": pl.Int64, "last_key": pl.String, "skeleton": pl.String, "initial": pl.String}

# contacts without a surname, with their non-role mailboxes in order and their own first initial
_WITHOUT_SURNAME = f"""
SELECT record_id, coalesce(first_initial, upper(left(first_name, 1))) AS own_initial,
       list_transform(list_filter(list_zip(emails, email_classes), lambda e: e[2] IS DISTINCT FROM 'role'),
                      lambda e: lower(split_part(split_part(e[1], '@', 1), '+', 1))) AS mailboxes
FROM normalized
WHERE entity_hint IN {CONTACT_HINTS} AND last_key IS NULL AND len(emails) > 0
"""


def read_mailbox(mailbox: str, folds: dict[str, str] | None = None) -> tuple[str, str | None] | None:
    """(folded Latin surname, upper-case Latin initial or None) of a mailbox that reads as a
    person's name; None when it does not (a role, a nickname, two candidate surnames).
    `folds`: words already folded (`name_keys.fold_latin`), in bulk."""
    surnames: list[str] = []
    initial: str | None = None
    for word in _WORDS.findall(mailbox.lower()):
        folded = folds.get(word) if folds else None
        surname, first = _read_word(word, folded if folded is not None else nk.fold_latin(word))
        if surname:
            surnames.append(surname)
        if first:
            initial = initial or first[0].upper()
    if len(surnames) != 1 or len(surnames[0]) < MIN_SURNAME:
        return None
    return surnames[0], initial


def _read_word(word: str, folded: str) -> tuple[str | None, str | None]:
    """(folded surname, first name or initial) in one word of a mailbox: ilya → first name;
    yasnopilenkoilya → surname + first name; andreyd → first name + initial; kirillova → a
    surname (made from a first name, not Kirill + "ova"); ab → nothing. The word is folded
    once and cut in its folded form."""
    first_names = nk.latin_first_names()
    if len(word) == 1 or folded in first_names:
        return None, word
    if len(folded) < MIN_SURNAME:
        return None, None
    if any(word[-n:] in _SURNAME_ENDINGS and nk.fold_latin(word[:-n]) in first_names for n in _ENDING_LENGTHS):
        return folded, None
    if folded[:-1] in first_names or folded[:-2] in first_names:  # andreyd, natalyab: a first name and an initial
        return None, word
    for cut in range(len(folded) - MIN_SURNAME, MIN_FIRST - 1, -1):  # the longest first name first
        if folded[cut:] in first_names:
            return folded[:cut], folded[cut:]
        if folded[:cut] in first_names:
            return folded[cut:], folded[:cut]
    return folded, None


def mailbox_names(ws: Workspace) -> pl.DataFrame:
    """record_id, last_key (folded Latin surname), skeleton, initial (the record's own first
    initial, else the mailbox's) of every contact with no surname whose mailbox reads as a name.
    Python reads each distinct mailbox once."""
    rows = ws.con.sql(_WITHOUT_SURNAME).pl()
    if rows.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    boxes = rows.select("record_id", "own_initial", pl.col("mailboxes").alias("mailbox")).explode("mailbox")
    boxes = boxes.with_row_index("order").drop_nulls("mailbox")
    distinct = boxes.select(pl.col("mailbox").unique())
    words = distinct.select(pl.col("mailbox").str.extract_all(_WORD).explode().drop_nulls().unique().alias("word"))
    folds = dict(words.with_columns(folded=nk.fold_expr(pl.col("word"), clean=True)).iter_rows())
    read = [read_mailbox(m, folds) for m in distinct["mailbox"].to_list()]
    parsed = distinct.with_columns(
        last_key=pl.Series([r[0] if r else None for r in read], dtype=pl.String),
        mail_initial=pl.Series([r[1] if r else None for r in read], dtype=pl.String),
    ).drop_nulls("last_key")
    first = (boxes.join(parsed, on="mailbox").sort("order")
             .group_by("record_id", maintain_order=True).first())  # the first mailbox that reads as a name
    return first.select(
        "record_id", "last_key",
        skeleton=nk.skeleton_expr(pl.col("last_key")),
        initial=pl.coalesce("own_initial", "mail_initial"),
    ).cast(SCHEMA)
