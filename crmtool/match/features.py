"""Comparison levels for candidate pairs: what two contact records agree and disagree on.

Every comparison maps a pair to a small integer level (Fellegi–Sunter style);
the scorer learns how much each level weighs. Levels are ordered from strong
agreement down; `-1` means "cannot compare" (a side has no value) and weighs
nothing. All columns are computed over whole pair arrays: polars for equality
and list overlaps, rapidfuzz's `cpdist` (C++, over two aligned string arrays)
for string similarity — no Python loop per pair.
"""

from __future__ import annotations

from functools import cache, reduce
from operator import or_

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from crmtool.match.mailbox import mailbox_names
from crmtool.normalize import name_keys as nk
from crmtool.normalize.cities import with_city_key
from crmtool.workspace import Workspace

NULL = -1

# comparison -> level names, strongest first; the level number is the index.
LEVELS: dict[str, tuple[str, ...]] = {
    "surname": ("exact", "translit", "close", "similar", "different"),
    "first_name": ("exact", "diminutive_or_translit", "initial", "different"),
    "middle_name": ("exact", "initial", "different"),
    "gender": ("same", "conflict"),
    "phone": ("shared", "shared_weak", "different", "different_mobiles"),
    "email": ("shared", "different"),
    "company": ("same", "domain", "different"),
    "city": ("same", "different"),
}
COMPARISONS = tuple(LEVELS)
SURNAME_DIFFERENT = LEVELS["surname"].index("different")
FIRST_DIFFERENT = LEVELS["first_name"].index("different")

_COLUMNS = (
    "record_id", "last_key", "first_key", "first_keys", "middle_key", "first_initial", "middle_initial",
    "gender", "translit_keys", "phones", "lines", "mobiles", "email_keys", "company_key", "corporate_domains", "city",
    "name_count", "city_share", "last_latin", "initials_latin", "company_latin", "domain_root", "mailbox_surname",
    "initial_bit", "key_initials",
)
_NORMALIZED = """
SELECT n.record_id, n.last_key, n.first_key, n.first_keys, n.middle_key,
       coalesce(n.first_initial, upper(left(n.first_name, 1))) AS first_initial,
       coalesce(n.middle_initial, upper(left(n.middle_name, 1))) AS middle_initial,
       CASE WHEN n.gender IN ('М', 'Ж') THEN n.gender END AS gender,
       n.translit_keys, n.phones,
       -- a number with its extension: the same switchboard with another extension is another person
       list_transform(list_zip(n.phones, n.phone_exts), lambda x: x[1] || '#' || coalesce(x[2], '')) AS lines,
       -- personal mobiles: two different ones speak against one person, a desk phone does not
       list_transform(list_filter(list_zip(n.phones, n.phone_types), lambda x: x[2] = 'mobile'), lambda x: x[1]) AS mobiles,
       n.email_keys, n.company_key, n.corporate_domains,
       r.city
FROM normalized n JOIN records r USING (record_id)
"""

# List columns that comparisons only intersect: held as 64-bit hashes of their values, which
# pairs gather and intersect several times faster than strings (a false overlap would need
# a hash collision between the few values of two records).
_OVERLAP_ONLY = ("first_keys", "translit_keys", "phones", "lines", "mobiles", "email_keys", "corporate_domains",
                 "initials_latin")
_HASH_SEED = 0


def _hashed(values: pl.Expr) -> pl.Expr:
    return values.hash(seed=_HASH_SEED)


# Initials as bits of one integer, the Cyrillic letters then the Latin ones (59 of 64 bits), so
# that "may this initial stand for one of that first name's full forms" is one AND per pair.
_LETTERS = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BIT = {letter: 1 << i for i, letter in enumerate(_LETTERS)}


@cache
def _initial_bits() -> tuple[dict[str, int], dict[str, int]]:
    """(an initial → its own bit; the first letter of a full form → the bits of the initials it may
    be written with: its own letter and, for a Cyrillic one, the Latin letters of `latin_initials`).
    An initial as written means its own letter: "Е." is not "Э."; "E." may be Евгений or Эдуард."""
    latin = nk.latin_initials()
    forms = {letter: reduce(or_, (_BIT[x] for x in latin.get(letter, ()) if x in _BIT), bit)
             for letter, bit in _BIT.items()}
    return _BIT, forms


def _initials_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """`initial_bit` (the record's first initial) and `key_initials` (the initials its first name's
    full forms may be written with: Женя is евгений or евгения, so Е, E and Y; Гоша is also игорь).
    An initial-only record then meets a diminutive: "Снегирин Е. В." and "Снегирин Женя"."""
    own, forms = _initial_bits()
    return frame.with_columns(
        initial_bit=pl.col("first_initial").str.to_uppercase()
        .replace_strict(own, default=0, return_dtype=pl.UInt64).fill_null(0),
        key_initials=pl.col("first_keys").list.eval(
            pl.element().str.slice(0, 1).str.to_uppercase().replace_strict(forms, default=0, return_dtype=pl.UInt64)
        ).list.eval(pl.element().bitwise_or()).list.first().fill_null(0),
    )


# Jaro-Winkler thresholds for the surname's fuzzy levels (on ё-folded lower-case keys).
CLOSE, SIMILAR = 0.94, 0.88


def record_frame(ws: Workspace, mailbox: pl.DataFrame | None = None) -> pl.DataFrame:
    """The normalized values comparisons need, one row per record (a surname read from the
    mailbox where the record has none: `mailbox.py`); the Latin forms of
    surnames (Волков and Volkov meet) and initials (В. and V.) computed once per value;
    the lists comparisons only intersect as hashes (`_OVERLAP_ONLY`). `mailbox`:
    `mailbox_names(ws)`, when the caller has it already."""
    # a record with no surname takes the one its mailbox reads as (a.dolgoslavko@…), for matching only
    mailbox = (mailbox if mailbox is not None else mailbox_names(ws)).select(
        "record_id", mail_key="last_key", mail_initial="initial")
    frame = ws.con.sql(_NORMALIZED).pl().join(mailbox, on="record_id", how="left", maintain_order="left").with_columns(
        mailbox_surname=pl.col("last_key").is_null() & pl.col("mail_key").is_not_null(),
        last_key=pl.coalesce("last_key", "mail_key"), first_initial=pl.coalesce("first_initial", "mail_initial"),
    ).drop("mail_key", "mail_initial")
    frame = with_city_key(frame).with_columns(
        # how many records carry this surname + first name: a crowd of namesakes or one person
        # (a window in polars: DuckDB's takes a second longer at 1M)
        name_count=pl.len().over("last_key", "first_key").cast(pl.Int64),
    )
    # how much of the base lives in each city: sharing Moscow says less than sharing Тула
    frame = frame.with_columns(
        city_share=(pl.len().over("city") / pl.col("city").count()).cast(pl.Float32).fill_nan(None)
    ).with_columns(city_share=pl.when(pl.col("city").is_not_null()).then(pl.col("city_share")))
    surnames = frame.select(pl.col("last_key").drop_nulls().unique()).with_columns(
        last_latin=nk.fold_expr(nk.translit_expr(pl.col("last_key"), nk.TRANSLIT_SCHEMES[0]))
    )
    table = nk.latin_initials()
    initials = pl.DataFrame({"first_initial": list(table), "initials_latin": [list(v) for v in table.values()]},
                            schema={"first_initial": pl.String, "initials_latin": pl.List(pl.String)})
    companies = frame.select(pl.col("company_key").drop_nulls().unique()).with_columns(
        company_latin=nk.fold_expr(nk.translit_expr(pl.col("company_key"), nk.TRANSLIT_SCHEMES[0]))
    )
    domain = pl.col("corporate_domains").list.first()
    roots = frame.select(domain.drop_nulls().unique().alias("domain")).with_columns(
        # arteks-pro.ru → arteksspro: the name part of the domain, folded like a transliteration
        domain_root=nk.fold_expr(pl.col("domain").str.split(".").list.get(-2, null_on_oob=True))
    )
    return (
        _initials_columns(frame).join(surnames, on="last_key", how="left", maintain_order="left")
        .join(initials, on="first_initial", how="left", maintain_order="left")
        .join(companies, on="company_key", how="left", maintain_order="left")
        .with_columns(domain=domain).join(roots, on="domain", how="left", maintain_order="left")
        .select(_COLUMNS)
        .with_columns(pl.col(c).list.eval(_hashed(pl.element())) for c in _OVERLAP_ONLY)
    )


def compare(pairs: pl.DataFrame, records: pl.DataFrame, weak_phones: pl.Series | None = None) -> pl.DataFrame:
    """Add one Int8 level column per comparison (and the raw surname similarity) to `pairs`.

    `pairs` has record_a, record_b; `records` comes from `record_frame`; `weak_phones`
    are phones too widely shared to count as identifying (switchboards).
    """
    a = records.rename({c: f"{c}_a" for c in records.columns if c != "record_id"}).rename({"record_id": "record_a"})
    b = records.rename({c: f"{c}_b" for c in records.columns if c != "record_id"}).rename({"record_id": "record_b"})
    df = pairs.join(a, on="record_a", how="left").join(b, on="record_b", how="left")
    # the better of the similarity as typed and of the Latin forms (Пуговгенко / Pugovkenko)
    surname_sim = np.maximum(_similarity(df["last_key_a"], df["last_key_b"]),
                             _similarity(df["last_latin_a"], df["last_latin_b"]))
    df = df.with_columns(surname_sim=pl.Series(surname_sim, dtype=pl.Float32))
    weak = weak_phones if weak_phones is not None else pl.Series([], dtype=pl.String)
    levels = df.select(
        "record_a", "record_b",
        surname=_surname(),
        first_name=_first_name(),
        middle_name=_middle_name(),
        gender=_two(pl.col("gender_a"), pl.col("gender_b")),
        phone=_phone(weak),
        email=_shared(pl.col("email_keys_a"), pl.col("email_keys_b")),
        company=_company(),
        city=_two(pl.col("city_a"), pl.col("city_b")),
    ).with_columns(pl.col(c).cast(pl.Int8) for c in COMPARISONS)
    extra = [c for c in pairs.columns if c not in ("record_a", "record_b")]
    middle_sim = _similarity(df["middle_key_a"], df["middle_key_b"])
    # first names only where they differ outright under one surname (or where a side has none): a
    # typo (Светлана / Светлна), or two people of one family or one office (cluster.unsupported)
    differ = (levels["first_name"] == FIRST_DIFFERENT) & levels["surname"].is_in([0, NULL])
    first_sim = _similarity(df.select(pl.when(differ).then(pl.col("first_key_a"))).to_series(), df["first_key_b"])
    counts = df.select(
        name_count=pl.max_horizontal("name_count_a", "name_count_b").cast(pl.Int32),
        middle_sim=pl.when(pl.col("middle_key_a").is_not_null() & pl.col("middle_key_b").is_not_null())
        .then(pl.Series(middle_sim, dtype=pl.Float32)),
        city_share=pl.when(pl.col("city_a") == pl.col("city_b")).then(pl.col("city_share_a")),
        first_sim=pl.when(differ & pl.col("first_key_a").is_not_null() & pl.col("first_key_b").is_not_null())
        .then(pl.Series(first_sim, dtype=pl.Float32)),
    )
    return pl.concat([levels, df.select("surname_sim"), counts, pairs.select(extra)], how="horizontal")


def _similarity(a: pl.Series, b: pl.Series) -> np.ndarray:
    """Jaro-Winkler of two aligned string columns, in C++ over the arrays; computed only
    where both are present and differ (equal strings are 1.0, a missing one 0.0)."""
    frame = pl.DataFrame({"a": a, "b": b}).with_row_index("i")
    out = (a == b).fill_null(False).cast(pl.Float64).to_numpy().copy()
    differ = frame.filter(pl.col("a") != pl.col("b"))  # nulls drop out here
    if differ.height:
        out[differ["i"].to_numpy()] = process.cpdist(
            differ["a"].to_list(), differ["b"].to_list(), scorer=JaroWinkler.normalized_similarity, workers=-1)
    return out


def _overlap(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a.list.set_intersection(b).list.len() > 0


def _has(lst: pl.Expr) -> pl.Expr:
    return lst.list.len().fill_null(0) > 0


def _surname() -> pl.Expr:
    # a surname read from a mailbox only counts when it agrees: star6737@… is a nickname, not a
    # surname that differs from Красноволова's
    guessed = pl.col("mailbox_surname_a") | pl.col("mailbox_surname_b")
    level = _surname_level()
    return pl.when(guessed & (level == SURNAME_DIFFERENT)).then(NULL).otherwise(level)


def _surname_level() -> pl.Expr:
    a, b = pl.col("last_key_a"), pl.col("last_key_b")
    sim = pl.col("surname_sim")
    return (
        pl.when(a.is_null() | b.is_null()).then(NULL)
        .when(a == b).then(0)
        .when(pl.col("last_latin_a") == pl.col("last_latin_b")).then(1)
        .when(_overlap(pl.col("translit_keys_a"), pl.col("translit_keys_b"))).then(1)
        .when(sim >= CLOSE).then(2)
        .when(sim >= SIMILAR).then(3)
        .otherwise(SURNAME_DIFFERENT)
    )


def _first_name() -> pl.Expr:
    ka, kb = pl.col("first_key_a"), pl.col("first_key_b")
    ia, ib = pl.col("first_initial_a"), pl.col("first_initial_b")
    return (
        pl.when(ia.is_null() | ib.is_null()).then(NULL)
        .when(ka.is_not_null() & (ka == kb)).then(0)
        .when(_overlap(pl.col("first_keys_a"), pl.col("first_keys_b"))).then(1)
        # Иван / Ivan: the Latin forms of "first last" agree (both have a surname)
        .when(pl.col("last_key_a").is_not_null() & pl.col("last_key_b").is_not_null()
              & _overlap(pl.col("translit_keys_a"), pl.col("translit_keys_b"))).then(1)
        # one side is only an initial ("И."), and it agrees, in either script (В. / Vladislav), or
        # with one of the other's full forms (Е. / Женя, И. / Гоша)
        .when((ka.is_null() | kb.is_null())
              & ((ia == ib) | _overlap(pl.col("initials_latin_a"), pl.col("initials_latin_b")).fill_null(False)
                 | ((pl.col("initial_bit_a") & pl.col("key_initials_b")) != 0)
                 | ((pl.col("initial_bit_b") & pl.col("key_initials_a")) != 0))).then(2)
        .otherwise(3)
    )


def _middle_name() -> pl.Expr:
    ka, kb = pl.col("middle_key_a"), pl.col("middle_key_b")
    ia, ib = pl.col("middle_initial_a"), pl.col("middle_initial_b")
    return (
        pl.when(ia.is_null() | ib.is_null()).then(NULL)
        .when(ka.is_not_null() & (ka == kb)).then(0)
        .when((ka.is_null() | kb.is_null()) & (ia == ib)).then(1)
        .otherwise(2)
    )


def _two(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """same / different / cannot compare."""
    return pl.when(a.is_null() | b.is_null()).then(NULL).when(a == b).then(0).otherwise(1)


def _shared(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(~_has(a) | ~_has(b)).then(NULL).when(_overlap(a, b)).then(0).otherwise(1)


def _phone(weak: pl.Series) -> pl.Expr:
    """shared: the same line (number and extension) that is not a switchboard;
    shared_weak: the same number only (a switchboard, or another extension);
    different_mobiles: no number in common and each side has its own mobile."""
    a, b = pl.col("phones_a"), pl.col("phones_b")
    common = a.list.set_intersection(b)
    same_line = pl.col("lines_a").list.set_intersection(pl.col("lines_b"))
    weak_lines = pl.Series([f"{w}#" for w in weak.to_list()], dtype=pl.String).hash(seed=_HASH_SEED)
    strong = same_line.list.eval(pl.element().is_in(weak_lines.implode()).not_()).list.any()
    return (
        pl.when(~_has(a) | ~_has(b)).then(NULL)
        .when(strong.fill_null(False)).then(0)
        .when(common.list.len() > 0).then(1)
        .when(_has(pl.col("mobiles_a")) & _has(pl.col("mobiles_b"))).then(3)
        .otherwise(2)
    )


MIN_DOMAIN_NAME = 5  # letters of a company name that a domain must start with to stand for it


def _named_by_domain(company: pl.Expr, root: pl.Expr) -> pl.Expr:
    return (company.str.len_bytes() >= MIN_DOMAIN_NAME) & root.str.starts_with(company).fill_null(False)


def _company() -> pl.Expr:
    ka, kb = pl.col("company_key_a"), pl.col("company_key_b")
    da, db = pl.col("corporate_domains_a"), pl.col("corporate_domains_b")
    return (
        pl.when(ka.is_not_null() & (ka == kb)).then(0)
        .when(_has(da) & _has(db) & _overlap(da, db)).then(1)
        # ООО «Ромашка» on one side, an address at romashka.ru on the other
        .when(_named_by_domain(pl.col("company_latin_a"), pl.col("domain_root_b"))
              | _named_by_domain(pl.col("company_latin_b"), pl.col("domain_root_a"))).then(1)
        .when(ka.is_not_null() & kb.is_not_null()).then(2)
        .otherwise(NULL)
    )
