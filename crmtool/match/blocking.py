"""Blocking: which record pairs are worth scoring at all, by named rules.

Comparing every record with every other is n²; two records are compared only
when they share a blocking key under some rule. Each rule is a SQL query that
gives (record_id, key) for contacts from the `normalized` table; pairs are
then formed inside each block with polars joins:

- `phone`: the same E.164 number;
- `email`: the same e-mail match key;
- `name`: the same surname key and a first-name key (diminutives folded: a
  record with "Саша" carries александр and александра);
- `translit`: the same Latin form of surname + first name (Кузнецов Алексей /
  Alexey Kuznetsov);
- `given`: the same first name and patronymic at the same company (a typo
  that changes the surname's skeleton too: Савельева / Саельева Дарья
  Евгеньевна, ООО «Теккон Дон»);
- `company`: the same surname at the same company (colleagues: few per block,
  and a common name's block split by company rather than dropped);
- `skeleton`: the same phonetic skeleton of the surname and first initial
  (typos: Кузнецов / Кузнецев).

**Oversized keys are weak evidence, not blocks.** A switchboard number given
by forty employees, info@ of a company, "Иванов А." in a million-row base:
pairing everyone in such a block explodes the candidates and invites chaining.
A key whose block holds more than `max_block` records generates no pairs; a
phone or e-mail carrying more than `max_names` different surnames (typos and
transliterations counted as one) still pairs its few records but counts as
weak evidence. Both are listed in the result's `weak_keys` with their sizes,
for scoring to discount.
For the `name` rule an oversized block is first split by middle initial and
city before it is given up. So the number of candidate pairs grows with the
number of records, not with its square.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from rapidfuzz.distance import JaroWinkler

from crmtool.match.exact import CONTACT_HINTS
from crmtool.normalize.cities import city_key
from crmtool.normalize.name_keys import latin_initials
from crmtool.workspace import Workspace

MAX_BLOCK = 20  # records sharing one key, beyond which the key only weighs as evidence
MAX_NAMES = 1  # distinct surnames (phonetic skeletons) on one phone/e-mail: more is a switchboard or a family

_CONTACTS = f"entity_hint IN {CONTACT_HINTS}"
_INITIALS = ", ".join(f"('{initial}', '{latin}')" for initial, letters in latin_initials().items() for latin in letters)

# rule -> SQL giving (record_id, key, surname) for contacts
RULES: dict[str, str] = {
    # surname with its phonetic skeleton: Иванов, Иванав and Ivanov are one surname, not three
    "phone": f"SELECT record_id, unnest(phones) AS key, last_key || '|' || coalesce(skeleton, '') AS surname FROM normalized WHERE {_CONTACTS}",
    "email": f"SELECT record_id, unnest(email_keys) AS key, last_key || '|' || coalesce(skeleton, '') AS surname FROM normalized WHERE {_CONTACTS}",
    "name": f"""SELECT record_id, last_key || '|' || unnest(first_keys) AS key, last_key AS surname
                FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL AND len(first_keys) > 0""",
    # a first name alone ("Мария") is no identity: Latin keys only for records with a surname
    "translit": f"""SELECT record_id, unnest(translit_keys) AS key, last_key AS surname
                    FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL""",
    # surname typos that change the skeleton too (Савельева / Саельева): first name and patronymic
    "given": f"""SELECT record_id, unnest(first_keys) || '|' || middle_key || '|' || company_key AS key,
                        last_key AS surname
                 FROM normalized WHERE {_CONTACTS} AND middle_key IS NOT NULL AND len(first_keys) > 0
                   AND company_key IS NOT NULL""",
    # colleagues' records: a common name split into small blocks by the employer, so that
    # Иванова Светлана and Иванова Светлана Сергеевна at one company meet (name blocks of a
    # common name are too big, and splitting them by patronymic initial parts the two)
    "company": f"""SELECT record_id, last_key || '|' || company_key AS key, last_key AS surname
                   FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL AND company_key IS NOT NULL""",
    # the initial in Latin letters, so that Горнобобрская В. meets Gornobobrskaya Viktoriya
    "skeleton": f"""SELECT record_id, skeleton || '|' || coalesce(li.latin, initial) AS key, last_key AS surname FROM (
                        SELECT record_id, skeleton, last_key,
                               coalesce(first_initial, upper(left(first_name, 1))) AS initial
                        FROM normalized WHERE {_CONTACTS}
                    ) LEFT JOIN (VALUES {_INITIALS}) AS li(initial, latin) USING (initial)
                    WHERE skeleton IS NOT NULL AND initial IS NOT NULL""",
}
# Rules whose keys identify a channel, not a name: a crowd of different names on one is a switchboard.
CHANNEL_RULES = ("phone", "email")


@dataclass
class Blocks:
    pairs: pl.DataFrame  # record_a < record_b, rules: list of rule names that paired them
    weak_keys: pl.DataFrame  # rule, key, records, surnames: keys too common to block on
    sizes: dict[str, int]  # candidate pairs per rule (before merging rules)


def block_contacts(ws: Workspace, max_block: int = MAX_BLOCK, max_names: int = MAX_NAMES,
                   touching: pl.Series | None = None) -> Blocks:
    """Candidate contact pairs from every rule, with the rules that found each pair.

    `touching`: only the blocks (key values) some of these records are in — a run that
    added a file pairs its records with the base, not the base with itself again. Sizes
    still count every record with the key, so a switchboard stays a switchboard."""
    con = ws.con
    parts, weak, sizes = [], [], {}
    for rule, sql in RULES.items():
        keys = con.sql(f"SELECT DISTINCT record_id, key, surname FROM ({sql}) WHERE key IS NOT NULL AND key <> ''").pl()
        if rule == "name":
            keys = _refine_names(con, keys, max_block)
        if touching is not None:
            touched = keys.filter(pl.col("record_id").is_in(touching.implode()))["key"].unique()
            keys = keys.filter(pl.col("key").is_in(touched.implode()))
        usable, too_big = _split_by_size(keys, rule, max_block, max_names)
        weak.append(too_big.with_columns(rule=pl.lit(rule)))
        pairs = _pairs(usable)
        sizes[rule] = pairs.height
        parts.append(pairs.with_columns(bit=pl.lit(1 << len(parts), dtype=pl.UInt32)))
    # each rule a bit: summing bits per pair is far cheaper than collecting name lists
    merged = pl.concat(parts).group_by("record_a", "record_b").agg(pl.col("bit").sum().alias("bits"))
    names = list(RULES)
    combos = merged.select(pl.col("bits").unique())
    combos = combos.with_columns(rules=pl.Series(
        [[names[i] for i in range(len(names)) if bits >> i & 1] for bits in combos["bits"].to_list()],
        dtype=pl.List(pl.String)))
    all_pairs = merged.join(combos, on="bits").select("record_a", "record_b", "rules").sort("record_a", "record_b")
    weak_keys = pl.concat(weak).select("rule", "key", "records", "surnames").sort("rule", "records", descending=[False, True])
    return Blocks(all_pairs, weak_keys, sizes)


def _split_by_size(keys: pl.DataFrame, rule: str, max_block: int, max_names: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of usable keys, one row per oversized key with its size)."""
    size = keys.group_by("key").agg(
        pl.col("record_id").n_unique().alias("records"), pl.col("surname").drop_nulls().n_unique().alias("surnames")
    )
    if rule in CHANNEL_RULES:
        size = _people_count(keys, size)
    oversized = pl.col("records") > max_block
    weak = oversized
    if rule in CHANNEL_RULES:
        # Several people on one number: still paired while the block is small (a typo in
        # a surname looks the same), but listed as weak so a shared number proves nothing.
        weak = oversized | (pl.col("surnames") > max_names)
    too_big = size.filter(weak)
    usable = keys.join(size.filter(oversized).select("key"), on="key", how="anti")
    return usable, too_big


SAME_SURNAME = 0.85  # Jaro-Winkler at or above which two surnames on one number are one person's (a typo)


def _people_count(keys: pl.DataFrame, size: pl.DataFrame) -> pl.DataFrame:
    """For keys with several surname spellings, how many different surnames there really are:
    spellings with the same phonetic skeleton or a Jaro-Winkler ≥ SAME_SURNAME are one.
    Python runs only for those keys (switchboards, families, typos): few and small."""
    several = size.filter(pl.col("surnames") > 1).select("key")
    if several.is_empty():
        return size
    lists = keys.join(several, on="key").group_by("key").agg(pl.col("surname").drop_nulls().unique())
    counted = {key: _distinct_surnames(names) for key, names in lists.iter_rows()}
    fixed = pl.DataFrame({"key": list(counted), "people": list(counted.values())}, schema={"key": pl.String, "people": pl.UInt32})
    return size.join(fixed, on="key", how="left").with_columns(
        surnames=pl.coalesce(pl.col("people"), pl.col("surnames")).cast(pl.UInt32)
    ).drop("people")


def _distinct_surnames(spellings: list[str]) -> int:
    groups: list[tuple[str, str]] = []  # (surname, skeleton) of each group's first member
    for spelling in spellings:
        surname, _, skeleton = spelling.partition("|")
        if not any(
            (skeleton and skeleton == g_skel) or JaroWinkler.normalized_similarity(surname, g_name) >= SAME_SURNAME
            for g_name, g_skel in groups
        ):
            groups.append((surname, skeleton))
    return len(groups)


def _refine_names(con, keys: pl.DataFrame, max_block: int) -> pl.DataFrame:
    """Split oversized name blocks by middle initial, then by city, before giving up on them."""
    big = keys.group_by("key").agg(pl.len().alias("n")).filter(pl.col("n") > max_block).select("key")
    if big.is_empty():
        return keys
    extra = con.sql(
        "SELECT n.record_id, coalesce(n.middle_initial, upper(left(n.middle_name, 1))) AS mi, r.city"
        " FROM normalized n JOIN records r USING (record_id)"
    ).pl().with_columns(city=city_key(pl.col("city")))
    inside = keys.join(big, on="key").join(extra, on="record_id", how="left")
    by_middle = inside.with_columns(
        key=pl.concat_str([pl.col("key"), pl.lit("|"), pl.col("mi").fill_null("?")])
    )
    still = by_middle.group_by("key").agg(pl.len().alias("n")).filter(pl.col("n") > max_block).select("key")
    by_city = by_middle.join(still, on="key").with_columns(
        key=pl.concat_str([pl.col("key"), pl.lit("|"), pl.col("city").fill_null("?")])
    )
    refined = pl.concat([by_middle.join(still, on="key", how="anti"), by_city]).select("record_id", "key", "surname")
    return pl.concat([keys.join(big, on="key", how="anti"), refined])


def _pairs(keys: pl.DataFrame) -> pl.DataFrame:
    """All pairs within each block (blocks are small by now), as record_a < record_b."""
    left = keys.select("key", pl.col("record_id").alias("record_a"))
    right = keys.select("key", pl.col("record_id").alias("record_b"))
    return (
        left.join(right, on="key")
        .filter(pl.col("record_a") < pl.col("record_b"))
        .select("record_a", "record_b")
        .unique()
    )
