"""Blocking: which record pairs are worth scoring at all, by named rules.

Comparing every record with every other is n²; two records are compared only
when they share a blocking key under some rule. Each rule is a SQL query that
gives (record_id, key) for contacts from the `normalized` table; pairs are
then formed inside each block by joining the key table with itself in DuckDB:

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
  (typos: Кузнецов / Кузнецев);
- `mailbox`: a record with no surname whose mailbox reads as one
  (`mailbox.py`: tikhoborev@…) with the records of that surname's skeleton;
  with an initial (a.dolgoslavko@…, or "Антонина" at a.zolotoolkhuk@…) such a
  record joins the `skeleton` rule instead.

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
from crmtool.match.mailbox import mailbox_names
from crmtool.normalize.cities import city_key
from crmtool.normalize.name_keys import latin_initials
from crmtool.workspace import Workspace

MAX_BLOCK = 20  # records sharing one key, beyond which the key only weighs as evidence
MAX_NAMES = 1  # distinct surnames (phonetic skeletons) on one phone/e-mail: more is a switchboard or a family

_CONTACTS = f"entity_hint IN {CONTACT_HINTS}"
_INITIALS = ", ".join(f"('{initial}', '{latin}')" for initial, letters in latin_initials().items() for latin in letters)

# rule -> SQL giving (record_id, key, surname) for contacts, each (record, key) once (lists are
# made distinct before they are unnested: a DISTINCT over the whole key table costs a second at 1M)
RULES: dict[str, str] = {
    # surname with its phonetic skeleton: Иванов, Иванав and Ivanov are one surname, not three
    "phone": f"SELECT record_id, unnest(list_distinct(phones)) AS key, last_key || '|' || coalesce(skeleton, '') AS surname FROM normalized WHERE {_CONTACTS}",
    "email": f"SELECT record_id, unnest(list_distinct(email_keys)) AS key, last_key || '|' || coalesce(skeleton, '') AS surname FROM normalized WHERE {_CONTACTS}",
    "name": f"""SELECT record_id, last_key || '|' || unnest(list_distinct(first_keys)) AS key, last_key AS surname
                FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL AND len(first_keys) > 0""",
    # a first name alone ("Мария") is no identity: Latin keys only for records with a surname
    "translit": f"""SELECT record_id, unnest(list_distinct(translit_keys)) AS key, last_key AS surname
                    FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL""",
    # surname typos that change the skeleton too (Савельева / Саельева): first name and patronymic
    "given": f"""SELECT record_id, unnest(list_distinct(first_keys)) || '|' || middle_key || '|' || company_key AS key,
                        last_key AS surname
                 FROM normalized WHERE {_CONTACTS} AND middle_key IS NOT NULL AND len(first_keys) > 0
                   AND company_key IS NOT NULL""",
    # colleagues' records: a common name split into small blocks by the employer, so that
    # Иванова Светлана and Иванова Светлана Сергеевна at one company meet (name blocks of a
    # common name are too big, and splitting them by patronymic initial parts the two)
    "company": f"""SELECT record_id, last_key || '|' || company_key AS key, last_key AS surname
                   FROM normalized WHERE {_CONTACTS} AND last_key IS NOT NULL AND company_key IS NOT NULL""",
    # the initial in Latin letters, so that Горнобобрская В. meets Gornobobrskaya Viktoriya
    # (with the surnames read from the mailboxes of records that have none: A. Dolgoslavko at
    # a.dolgoslavko@… meets Долгославко Алексей)
    "skeleton": f"""SELECT record_id, skeleton || '|' || coalesce(li.latin, initial) AS key, last_key AS surname FROM (
                        SELECT record_id, skeleton, last_key,
                               coalesce(first_initial, upper(left(first_name, 1))) AS initial
                        FROM normalized WHERE {_CONTACTS}
                        UNION ALL SELECT record_id, skeleton, last_key, initial FROM _mailbox
                    ) LEFT JOIN (VALUES {_INITIALS}) AS li(initial, latin) USING (initial)
                    WHERE skeleton IS NOT NULL AND initial IS NOT NULL""",
    # a surname read from a mailbox with no initial (tikhoborev@…): its skeleton alone, pairing
    # such a record with the others of the block, never two records with their own surnames
    "mailbox": f"""SELECT record_id, skeleton AS key, skeleton AS surname, false AS probe FROM normalized
                   WHERE {_CONTACTS} AND skeleton IN (SELECT skeleton FROM _mailbox WHERE initial IS NULL)
                   UNION ALL SELECT record_id, skeleton, skeleton, true FROM _mailbox WHERE initial IS NULL""",
}
# Rules whose keys pair only a probing record (`probe`) with another, not two others.
PROBE_RULES = ("mailbox",)
# Rules whose keys identify a channel, not a name: a crowd of different names on one is a switchboard.
CHANNEL_RULES = ("phone", "email")


@dataclass
class Blocks:
    pairs: pl.DataFrame  # record_a < record_b, rules: list of rule names that paired them
    weak_keys: pl.DataFrame  # rule, key, records, surnames: keys too common to block on
    sizes: dict[str, int]  # candidate pairs per rule (before merging rules)


def block_contacts(ws: Workspace, max_block: int = MAX_BLOCK, max_names: int = MAX_NAMES,
                   touching: pl.Series | None = None, mailbox: pl.DataFrame | None = None) -> Blocks:
    """Candidate contact pairs from every rule, with the rules that found each pair.

    The keys of every rule, their sizes and the pairs inside each block are worked out in
    DuckDB (one temporary key table, joined with itself); only the oversized name blocks and
    the channel keys with several surnames come to Python.

    `touching`: only the blocks (key values) some of these records are in — a run that
    added a file pairs its records with the base, not the base with itself again. Sizes
    still count every record with the key, so a switchboard stays a switchboard.

    `mailbox`: `mailbox_names(ws)`, when the caller has it already."""
    con = ws.con
    names = list(RULES)
    keyed = " UNION ALL ".join(
        f"SELECT {i}::UTINYINT AS rule, record_id, key, surname, {'probe' if name in PROBE_RULES else 'false'} AS probe "
        f"FROM ({sql})" for i, (name, sql) in enumerate(RULES.items()))
    with ws.registered("_mailbox", mailbox if mailbox is not None else mailbox_names(ws)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _block_keys AS SELECT * FROM ({keyed}) "
                    "WHERE key IS NOT NULL AND key <> ''")
    probing = ", ".join(str(names.index(rule)) for rule in PROBE_RULES)
    try:
        _refine_names(ws, names.index("name"), max_block)
        if touching is not None:
            with ws.registered("_touching", pl.DataFrame({"record_id": touching})):
                con.execute("""DELETE FROM _block_keys WHERE (rule, key) NOT IN (
                                   SELECT DISTINCT rule, key FROM _block_keys SEMI JOIN _touching USING (record_id))""")
        weak_keys, oversized = _key_sizes(ws, names, max_block, max_names)
        with ws.registered("_oversized", oversized):
            # each rule a bit: OR-ing bits per pair is far cheaper than collecting name lists
            merged = con.sql(f"""
                WITH usable AS (SELECT rule, key, record_id, probe FROM _block_keys ANTI JOIN _oversized USING (rule, key))
                SELECT a.record_id AS record_a, b.record_id AS record_b, bit_or(1::UINTEGER << a.rule) AS bits
                FROM usable a JOIN usable b ON a.rule = b.rule AND a.key = b.key AND a.record_id < b.record_id
                WHERE a.probe OR b.probe OR a.rule NOT IN ({probing})
                GROUP BY ALL""").pl()
    finally:
        con.execute("DROP TABLE IF EXISTS _block_keys")
    combos = merged.select(pl.col("bits").unique())
    combos = combos.with_columns(rules=pl.Series(
        [[names[i] for i in range(len(names)) if bits >> i & 1] for bits in combos["bits"].to_list()],
        dtype=pl.List(pl.String)))
    all_pairs = merged.join(combos, on="bits").select("record_a", "record_b", "rules").sort("record_a", "record_b")
    sizes = merged.select([(pl.col("bits") & (1 << i) > 0).sum().alias(name) for i, name in enumerate(names)])
    return Blocks(all_pairs, weak_keys, dict(zip(names, sizes.row(0))))


def _key_sizes(ws: Workspace, names: list[str], max_block: int, max_names: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(weak keys: rule name, key, records, surnames; oversized keys: rule number, key).

    Oversized: more than `max_block` records; such a key pairs nobody. Weak: oversized, or a
    channel key (phone, e-mail) of more than `max_names` different people by surname: several
    people on one number are still paired while the block is small (a typo in a surname looks
    the same), but a shared number proves nothing. Spellings with the same phonetic skeleton or
    a Jaro-Winkler ≥ SAME_SURNAME count as one surname: Python runs only for the channel keys
    with several spellings (switchboards, families, typos), few and small."""
    channels = [names.index(rule) for rule in CHANNEL_RULES]
    # A rule gives each record one surname, so a key's rows are its records; DISTINCT counts
    # over every key cost seconds at 1M, so surnames are counted only for the keys that can be
    # weak (oversized, or a channel key with two spellings at least: told by the surnames'
    # hashes, a second faster than comparing the strings)
    spelling = "(hash(surname)) FILTER (WHERE surname IS NOT NULL)"
    candidates = ws.con.sql(f"""
        SELECT rule, key, count(*)::UINTEGER AS records FROM _block_keys GROUP BY ALL
        HAVING count(*) > {max_block}
            OR (rule IN ({", ".join(map(str, channels))}) AND min{spelling} <> max{spelling})""").pl()
    with ws.registered("_candidates", candidates):
        sizes = ws.con.sql("""
            SELECT c.rule, c.key, c.records, count(DISTINCT k.surname)::UINTEGER AS surnames
            FROM _candidates c JOIN _block_keys k USING (rule, key) GROUP BY ALL""").pl()
    several = sizes.filter(pl.col("rule").is_in(channels) & (pl.col("surnames") > 1))
    if several.height:
        with ws.registered("_several", several.select("rule", "key")):
            lists = ws.con.sql("""SELECT rule, key, list(DISTINCT surname) AS spellings FROM _block_keys
                                  SEMI JOIN _several USING (rule, key) WHERE surname IS NOT NULL GROUP BY ALL""").pl()
        people = lists.select("rule", "key", people=pl.Series(
            [_distinct_surnames(spellings) for spellings in lists["spellings"].to_list()], dtype=pl.UInt32))
        sizes = sizes.join(people, on=["rule", "key"], how="left").with_columns(
            surnames=pl.coalesce("people", "surnames")).drop("people")
    oversized = pl.col("records") > max_block
    weak = sizes.filter(oversized | (pl.col("rule").is_in(channels) & (pl.col("surnames") > max_names)))
    weak_keys = weak.select(
        rule=pl.col("rule").replace_strict(list(range(len(names))), names, return_dtype=pl.String),
        key="key", records="records", surnames="surnames",
    ).sort("rule", "records", "key", descending=[False, True, False])  # ties by key: the same order every run
    return weak_keys, sizes.filter(oversized).select("rule", "key")


SAME_SURNAME = 0.85  # Jaro-Winkler at or above which two surnames on one number are one person's (a typo)


def _distinct_surnames(spellings: list[str]) -> int:
    """How many people the spellings are: each joins the first group it is one surname with
    (in sorted order, so that the count does not depend on the order they came in)."""
    groups: list[tuple[str, str]] = []  # (surname, skeleton) of each group's first member
    for spelling in sorted(spellings):
        surname, _, skeleton = spelling.partition("|")
        if not any(
            (skeleton and skeleton == g_skel) or JaroWinkler.normalized_similarity(surname, g_name) >= SAME_SURNAME
            for g_name, g_skel in groups
        ):
            groups.append((surname, skeleton))
    return len(groups)


def _refine_names(ws: Workspace, rule: int, max_block: int) -> None:
    """Split oversized name blocks of `_block_keys` by middle initial, then by city, before
    giving up on them (the records of such blocks are re-keyed in polars)."""
    con = ws.con
    inside = con.sql(f"""
        WITH big AS (SELECT key FROM _block_keys WHERE rule = {rule} GROUP BY key HAVING count(*) > {max_block})
        SELECT k.record_id, k.key, k.surname, coalesce(n.middle_initial, upper(left(n.middle_name, 1))) AS mi, r.city
        FROM _block_keys k SEMI JOIN big USING (key) JOIN normalized n USING (record_id) JOIN records r USING (record_id)
        WHERE k.rule = {rule}""").pl()
    if inside.is_empty():
        return
    by_middle = inside.with_columns(
        city=city_key(pl.col("city")),
        key=pl.concat_str([pl.col("key"), pl.lit("|"), pl.col("mi").fill_null("?")]),
    )
    still = by_middle.group_by("key").agg(pl.len().alias("n")).filter(pl.col("n") > max_block).select("key")
    by_city = by_middle.join(still, on="key").with_columns(
        key=pl.concat_str([pl.col("key"), pl.lit("|"), pl.col("city").fill_null("?")])
    )
    refined = pl.concat([by_middle.join(still, on="key", how="anti"), by_city]).select(
        pl.lit(rule, dtype=pl.UInt8).alias("rule"), "record_id", "key", "surname", probe=pl.lit(False))
    with ws.registered("_big", inside.select(pl.col("key").unique())), ws.registered("_refined", refined):
        con.execute(f"DELETE FROM _block_keys WHERE rule = {rule} AND key IN (SELECT key FROM _big)")
        con.execute("INSERT INTO _block_keys SELECT DISTINCT * FROM _refined")
