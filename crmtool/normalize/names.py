"""Person names: split a ФИО written in any order into parts, fix what is safely fixable, build match keys.

Sources give a full name in one cell ("Иванов Иван Иванович", "И.О. Иванов",
"ИВАНОВ ИВАН", "John Doe"), or its parts in three columns (sometimes swapped),
or both. Deciding which word is the surname is the hard part, and it is done
on a *pattern*: every distinct word gets a class once (`name_keys.token_info`:
surname, first name, patronymic, initial…), a name becomes a short signature
of classes ("SFP", or "S|F|P" for the three part columns), and the roles are
chosen once per distinct signature (`resolve`). A million records hold tens of
thousands of distinct words and a few hundred signatures, so the Python work
stays small. Per row there are only polars string cuts and integer gathers
from the table of distinct words.

Nothing is rewritten silently: the display parts keep the source spelling
(ё included) with only the capitalization and Latin look-alike letters fixed,
initials stay initials, and every change is named by `status`/`reason`.
Diminutives (Саша → Александр) only widen `first_keys`; they never replace a value.
"""

from __future__ import annotations

from functools import cache, lru_cache

import polars as pl

from crmtool.normalize import name_keys as nk
from crmtool.normalize.distinct import distinct_rows
from crmtool.sources.schema import COMPANY_NAME_RE

INPUT_COLUMNS = ("full_name", "last_name", "first_name", "middle_name")
PART_COLUMNS = ("last_name", "first_name", "middle_name")
STR_LIST = pl.List(pl.String)
GENDER_UNKNOWN = "НД"

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "last_name": pl.String,
    "first_name": pl.String,
    "middle_name": pl.String,
    "first_initial": pl.String,
    "middle_initial": pl.String,
    "gender": pl.String,  # М | Ж | НД
    "is_company": pl.Boolean,
    "status": pl.String,  # ok | fixed | suggested | invalid | missing
    "reason": pl.String,
    "last_key": pl.String,
    "first_key": pl.String,
    "middle_key": pl.String,
    "first_keys": STR_LIST,
    "translit_keys": STR_LIST,
    "skeleton": pl.String,
}

# Reason → status, in the order a row's reason is picked when several apply.
REASONS: tuple[tuple[str, str], ...] = (
    ("empty", "missing"),
    ("is_company", "invalid"),
    ("not_a_name", "invalid"),
    ("only_initials", "invalid"),
    ("extra_words", "suggested"),
    ("mixed_script_fixed", "fixed"),
    ("reordered", "fixed"),
    ("split_parts", "fixed"),
    ("split_from_full_name", "fixed"),
    ("case_fixed", "fixed"),
)

# A "name" in quotes is a company too: "Ромашка", «Ромашка».
COMPANY_RE = COMPANY_NAME_RE + r'|"[^"]+"'
# Characters that separate words (punctuation and every Unicode space), and invisible ones dropped.
_SEPARATORS = list(
    ",;:/\\|()[]{}<>\"«»“”„!?*+=#№&_~^$%"
    "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_INVISIBLE = ["\u00ad", "\u180e", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_EMAIL_URL_RE = r"\S*@\S*|(?i:https?://|www\.)\S*"
_PARTICLE_RE = r"(?i)(^|[ \u00a0])(" + "|".join(sorted(nk.PARTICLES, key=len, reverse=True)) + r") (\S)"
_OGLU_RE = r"(?i)(\S) (" + "|".join(sorted(nk.OGLU, key=len, reverse=True)) + r")( |$)"
# Cheap literal probes: only the few cells holding one of these go through the regexes above.
_WEB_PROBES = ["@", "http", "HTTP", "www", "WWW"]
_GLUE_PROBES = sorted(
    {f"{w} " for p in nk.PARTICLES for w in (p, p.capitalize(), p.upper())}
    | {f" {w}" for o in nk.OGLU for w in (o, o.capitalize(), o.upper())}
)


def normalize_names(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per input row: name parts, gender, quality flags and match keys (see OUTPUT_SCHEMA).

    `frame` has String columns full_name, last_name, first_name, middle_name (a missing column
    counts as empty). The part columns win when they hold a name; full_name is split otherwise,
    and completes the parts when the two do not contradict each other.
    """
    source = frame.select(
        [
            pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c)
            for c in INPUT_COLUMNS
        ]
    )
    if source.height == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    distinct, row_ids = distinct_rows(source)
    core, table, translit = _normalize_distinct(distinct)
    return _assemble(core, row_ids, table, translit)


# ---------------------------------------------------------------- cutting into words


def clean_text(values: pl.Series) -> pl.Series:
    """A cell as single-space separated words, null when nothing is left. E-mails and URLs become «@»
    (noise), separators are unified, «И.О.» becomes «И. О.», and particles and оглы/кызы are glued to
    their word with a no-break space so that every name part is one word. The regexes run only on
    the few cells that a cheap literal probe picks out."""
    text = _where(values, values.str.contains_any(_WEB_PROBES), _remove_web)
    text = text.str.replace_many(_SEPARATORS + _INVISIBLE, [" "] * len(_SEPARATORS) + [""] * len(_INVISIBLE))
    text = _where(text, text.str.contains_any(_GLUE_PROBES), _glue)
    text = text.str.replace_all(".", ". ", literal=True).str.replace_all(" {2,}", " ").str.strip_chars(" ")
    return pl.select(pl.when(text.str.len_bytes() > 0).then(text)).to_series().alias(values.name)


def _where(values: pl.Series, mask: pl.Series, rewrite) -> pl.Series:
    """`rewrite` applied to the masked values only."""
    mask = mask.fill_null(False)
    if not mask.any():
        return values
    where = mask.arg_true()
    return values.scatter(where, rewrite(values.gather(where)))


def _remove_web(text: pl.Series) -> pl.Series:
    return text.str.replace_all(_EMAIL_URL_RE, " @ ")


def _glue(text: pl.Series) -> pl.Series:
    text = text.str.replace_all(" {2,}", " ").str.strip_chars(" ")
    for _ in range(2):  # «ван дер Берг»: two particles in a row
        text = text.str.replace_all(_PARTICLE_RE, "${1}${2}\u00a0${3}")
    return text.str.replace_all(_OGLU_RE, "${1}\u00a0${2}${3}")


# ---------------------------------------------------------------- the table of distinct words

TOKEN_SCHEMA = {f: (pl.Boolean if f in ("mixed", "case") else pl.String) for f in nk.TOKEN_FIELDS}
TRANSLIT_COLS = [f"tr{i}" for i in range(len(nk.TRANSLIT_SCHEMES) + 1)]  # the schemes, then the folding
CLASS_CODES = "_XSBFPQWUIGAsbfpqwuiga"  # a word's class as a number < 32, packed with its table row
_PACK = 32


def token_table(words: pl.Series) -> pl.DataFrame:
    """Every distinct word once: Python for its class and display, polars for its Latin keys."""
    bodies = words.unique().drop_nulls()
    infos = [nk.token_info(b) for b in bodies.to_list()]
    table = pl.DataFrame(infos, schema=TOKEN_SCHEMA, orient="row").with_columns(body=bodies)
    translit = [nk.translit_expr(pl.col("tr_src"), s).alias(f"tr{i}") for i, s in enumerate(nk.TRANSLIT_SCHEMES)]
    table = table.with_columns(translit).with_columns(nk.fold_expr(pl.col("tr0"), clean=True).alias(TRANSLIT_COLS[-1]))
    empty_to_null = [pl.when(pl.col(c).str.len_bytes() > 0).then(pl.col(c)).alias(c) for c in TRANSLIT_COLS]
    codes = pl.col("cls").replace_strict(list(CLASS_CODES), list(range(len(CLASS_CODES))), return_dtype=pl.Int64)
    table = table.with_columns(empty_to_null).with_columns(
        skel=nk.skeleton_expr(pl.col(TRANSLIT_COLS[-1])),
        key_id=pl.col("key").rank("dense"),
        initial=pl.col("cls").is_in(["I", "i"]),
        first_letter=pl.col("disp").str.head(1).str.to_uppercase(),
        packed=pl.int_range(pl.len(), dtype=pl.Int64) * _PACK + codes,
    )
    return _with_first_keys(table)


@cache
def _first_keys_table() -> pl.DataFrame:
    """first name key → the full names it may stand for (itself first), per gender М, Ж and НД."""
    rows = nk.diminutive_rows()
    out = []
    for short in dict.fromkeys(s for s, _, _ in rows):
        lists = []
        for gender in ("М", "Ж", GENDER_UNKNOWN):
            fulls = [f for s, f, g in rows if s == short and (gender == GENDER_UNKNOWN or g in (gender, None))]
            lists.append(list(dict.fromkeys([short, *fulls])))
        out.append((short, *lists))
    return pl.DataFrame(out, schema={"key": pl.String, "fk_m": STR_LIST, "fk_f": STR_LIST, "fk_u": STR_LIST}, orient="row")


@cache
def _latin_first_keys_table() -> pl.DataFrame:
    """Folded Latin spelling → the Cyrillic first-name keys it may stand for, per gender:
    Sergey, Sergei → сергей; Serega → серега, сергей; Vika → вика, виктория. Every first
    name and diminutive is transliterated under every scheme and folded, as typed Latin is."""
    names = pl.DataFrame({"key": list(nk.first_names())}, schema={"key": pl.String})
    lists = names.join(_first_keys_table(), on="key", how="left").with_columns(
        [pl.coalesce(pl.col(c), pl.concat_list(pl.col("key"))).alias(c) for c in ("fk_m", "fk_f", "fk_u")]
    )
    spelled = pl.concat([
        lists.with_columns(latin=nk.fold_expr(nk.translit_expr(pl.col("key"), scheme), clean=True))
        for scheme in nk.TRANSLIT_SCHEMES
    ]).filter(pl.col("latin").str.len_bytes() > 0)
    return spelled.group_by("latin").agg(
        [pl.col(c).explode().unique(maintain_order=True).alias(f"lat_{c}") for c in ("fk_m", "fk_f", "fk_u")]
    )


def _with_first_keys(table: pl.DataFrame) -> pl.DataFrame:
    """Each word's first_keys for a man, a woman and unknown gender (empty for an initial).
    A Latin word also gets the Cyrillic names its spelling stands for (Vitya → витя, виктор),
    so diminutives and Latin spellings meet the Cyrillic records."""
    fold = TRANSLIT_COLS[-1]
    table = (
        table.join(_first_keys_table(), on="key", how="left", maintain_order="left")
        .join(_latin_first_keys_table(), left_on=fold, right_on="latin", how="left", maintain_order="left")
    )
    own = pl.when(pl.col("key").is_not_null() & ~pl.col("initial")).then(pl.col("key").str.split("\x1f"))
    empty = pl.lit([], dtype=STR_LIST)
    latin = pl.col("cls").str.contains("^[a-z]$")
    return table.with_columns(
        [pl.when(pl.col("initial")).then(empty)
         .when(latin & pl.col(f"lat_{c}").is_not_null())
         .then(pl.concat_list(pl.coalesce(pl.col(c), own, empty), pl.col(f"lat_{c}")).list.unique(maintain_order=True))
         .otherwise(pl.coalesce(pl.col(c), own, empty)).alias(c)
         for c in ("fk_m", "fk_f", "fk_u")]
    ).drop("lat_fk_m", "lat_fk_f", "lat_fk_u")


# ---------------------------------------------------------------- choosing the roles

ROLES = ("L", "F", "M")
_COL_ROLE = {0: "L", 1: "F", 2: "M"}
# How well a word class fits a role; a missing entry means "cannot".
_FIT = {
    "L": {"S": 3, "G": 3, "Q": 2.5, "B": 2, "U": 2, "W": 1, "F": -2, "P": -1},
    "F": {"F": 3, "B": 2, "U": 1, "I": 1, "S": -1, "G": -2, "Q": -3, "P": -3},
    "M": {"P": 4, "Q": 1.5, "I": 1},
}
_FIT_LATIN_MIDDLE = {"F": 0, "U": 0, "B": 0}  # John Fitzgerald Kennedy
# Orders of the chosen roles (in word order) that need no "reordered" flag, and a small bonus
# for the orders people write: Ф И О for Cyrillic, First (Middle) Last for Latin.
_CANONICAL_CYR = frozenset({"LFM", "LF", "LM", "FM", "L", "F", "M", ""})
_PRIOR_CYR = {**{o: 1.0 for o in _CANONICAL_CYR}, "FML": 0.5, "FL": 0.5}
_PRIOR_LAT = {**{o: 1.0 for o in ("FML", "FL", "FM", "ML", "L", "F", "M", "")}, "LFM": 0.5, "LF": 0.5}
_COLUMN_BONUS = 1.5  # a part keeps its column unless the classes clearly say otherwise
_LEFT_OUT = 2.0
_MAX_UNITS = 8
_NO_ROLE = 255
FULL_COLUMN = 3


@lru_cache(maxsize=1 << 16)
def resolve(sig: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None, tuple[int, int] | None, bool, bool, bool]:
    """Roles for a signature: one class letter per word, "|" between the part columns (last|first|middle)
    or none for a full name. Returns where the surname, first name and patronymic are, each as
    (column, word index in that column) or None, and flags: words left out, reordered, a cell split."""
    columns = sig.split("|") if "|" in sig else None
    segments = list(enumerate(columns)) if columns is not None else [(FULL_COLUMN, sig)]
    units = []  # (column, index, class, latin)
    extra = False
    for col, segment in segments:
        for index, cls in enumerate(segment):
            if cls == "_":
                continue
            if cls == "X" or cls in "Aa":
                extra = True
                continue
            units.append((col, index, cls.upper(), cls.islower()))
    if len(units) > _MAX_UNITS:
        units, extra = units[:_MAX_UNITS], True
    latin = 2 * sum(u[3] for u in units) > len(units)
    best, best_score = (None, None, None), float("-inf")
    options = [None, *range(len(units))]
    for li in options:
        for fi in options:
            if fi is not None and fi == li:
                continue
            for mi in options:
                if mi is not None and mi in (li, fi):
                    continue
                score = _score(units, (li, fi, mi), latin)
                if score is not None and score > best_score:
                    best, best_score = (li, fi, mi), score
    chosen = {i: role for role, i in zip(ROLES, best) if i is not None}
    extra = extra or len(chosen) < len(units)
    order = "".join(chosen[i] for i in sorted(chosen))
    if columns is None:
        reordered, split = (not latin and order not in _CANONICAL_CYR), False
    else:
        first_of_column = {}
        for i, unit in enumerate(units):
            first_of_column.setdefault(unit[0], i)
        moved = any(_COL_ROLE[units[i][0]] != role for i, role in chosen.items())
        reordered = order not in _CANONICAL_CYR or any(
            i in chosen and chosen[i] != _COL_ROLE[col] for col, i in first_of_column.items()
        )
        split = moved and not reordered
    places = tuple((units[i][0], units[i][1]) if i is not None else None for i in best)
    return (*places, extra, reordered, split)


def _score(units: list, picks: tuple, latin: bool) -> float | None:
    total = 0.0
    li, fi, mi = picks
    for role, i in zip(ROLES, picks):
        if i is None:
            continue
        col, _, cls, _ = units[i]
        fit = _FIT[role].get(cls)
        if fit is None and role == "M" and latin:
            fit = _FIT_LATIN_MIDDLE.get(cls)
        if fit is None:
            return None
        if _COL_ROLE.get(col) == role:
            fit += _COLUMN_BONUS
        total += fit + 0.01  # prefer using a word over leaving it out at equal fit
    if li is not None and units[li][2] == "W" and (fi is None or units[fi][2] not in "FBI"):
        return None  # a dictionary word is a surname only next to a first name (Мороз Иван)
    if mi is not None and units[mi][2] == "I" and fi is None:
        return None
    if fi is not None and mi is not None and units[fi][2] == units[mi][2] == "I" and fi > mi:
        return None  # И.О.: the first initial is the first name's
    order = "".join(role for _, role in sorted((i, r) for r, i in zip(ROLES, picks) if i is not None))
    total += (_PRIOR_LAT if latin else _PRIOR_CYR).get(order, 0.0)
    used = sum(i is not None for i in picks)
    return total - _LEFT_OUT * (len(units) - used)


def _packed_resolution(sig: str) -> int:
    """`resolve` as one integer: a byte per role (column << 6 | index, 255 = none), then flag bits."""
    *places, extra, reordered, split = resolve(sig)
    value = 0
    for shift, place in zip((0, 8, 16), places):
        byte = _NO_ROLE if place is None or place[1] > 62 else place[0] << 6 | place[1]
        extra = extra or (place is not None and place[1] > 62)
        value |= byte << shift
    present = any(c not in "_|" for c in sig)
    return value | extra << 24 | reordered << 25 | split << 26 | present << 27


# ---------------------------------------------------------------- per distinct row


def _normalize_distinct(distinct: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Per distinct row: the table rows of its surname, first name and patronymic words, status,
    reason, gender, and the index of its transliteration keys; with the word table and those keys."""
    words = {c: clean_text(distinct[c]).str.split(" ") for c in INPUT_COLUMNS}
    table = token_table(pl.concat([w.explode() for w in words.values()]))
    frame = pl.DataFrame(
        [words[c].list.eval(pl.element().replace_strict(table["body"], table["packed"])).alias(f"w_{c}")
         for c in INPUT_COLUMNS]
    )
    del words
    parts_raw = pl.concat_str([pl.col(c) for c in PART_COLUMNS], separator=" ", ignore_nulls=True)
    company = distinct.select(
        f_company=pl.col("full_name").str.contains(COMPANY_RE).fill_null(False),
        p_company=parts_raw.str.contains(COMPANY_RE).fill_null(False),
    )
    frame = _roles(_signatures(frame)).hstack(company)
    core = _status(_pick_mode(frame, table), table)
    pair, translit = _translit_keys(core.select("L", "F_full"), table)
    return core.with_columns(pair=pair), table, translit


def _class_string(col: str) -> pl.Expr:
    letters = pl.element().mod(_PACK).replace_strict(list(range(len(CLASS_CODES))), list(CLASS_CODES))
    return pl.col(col).list.eval(letters).list.join("")


def _signatures(frame: pl.DataFrame) -> pl.DataFrame:
    """Signature per row and mode, and its resolution looked up from the distinct signatures."""
    parts = [_class_string(f"w_{c}") for c in PART_COLUMNS]
    any_part = pl.any_horizontal([pl.col(f"w_{c}").is_not_null() for c in PART_COLUMNS])
    frame = frame.with_columns(
        f_sig=_class_string("w_full_name"),
        p_sig=pl.when(any_part).then(pl.concat_str([p.fill_null("") for p in parts], separator="|")),
    )
    sigs = pl.concat([frame["f_sig"], frame["p_sig"]]).unique().drop_nulls().to_list()
    values = [_packed_resolution(s) for s in sigs]
    return frame.with_columns(
        [
            pl.col(f"{m}_sig").replace_strict(sigs, values, default=None, return_dtype=pl.Int64).alias(f"{m}_res")
            for m in ("f", "p")
        ]
    )


def _roles(frame: pl.DataFrame) -> pl.DataFrame:
    """The table row of each role's word, per mode (f = full_name, p = part columns)."""
    exprs = []
    for shift, role in zip((0, 8, 16), ROLES):
        for mode in ("f", "p"):
            byte = (pl.col(f"{mode}_res") // (1 << shift)) % 256
            col, index = byte // 64, byte % 64
            if mode == "f":
                word = pl.col("w_full_name").list.get(index, null_on_oob=True)
            else:
                word = (
                    pl.when(col == 0).then(pl.col("w_last_name").list.get(index, null_on_oob=True))
                    .when(col == 1).then(pl.col("w_first_name").list.get(index, null_on_oob=True))
                    .otherwise(pl.col("w_middle_name").list.get(index, null_on_oob=True))
                )
            exprs.append(pl.when(byte != _NO_ROLE).then(word // _PACK).alias(f"{mode}_{role}"))
    for mode in ("f", "p"):
        res = pl.col(f"{mode}_res")
        exprs += [
            ((res // (1 << bit)) % 2 == 1).fill_null(False).alias(f"{mode}_{name}")
            for bit, name in ((24, "extra"), (25, "reordered"), (26, "split"), (27, "present"))
        ]
    return frame.select(exprs)


def _pick_mode(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """The part columns when they hold a name, else full_name. Parts missing from the columns are
    completed from full_name when the two do not contradict each other (no part given in both
    with different words)."""
    key_id = table["key_id"]

    def assigned(mode: str) -> pl.Expr:
        return pl.any_horizontal([pl.col(f"{mode}_{r}").is_not_null() for r in ROLES])

    p_ok = pl.col("p_present") & ~pl.col("p_company") & assigned("p")
    f_ok = pl.col("f_present") & ~pl.col("f_company") & assigned("f")
    use = (
        pl.when(p_ok).then(pl.lit("p"))
        .when(f_ok).then(pl.lit("f"))
        .when(pl.col("p_company") | pl.col("f_company")).then(pl.lit("c"))
        .when(pl.col("p_present")).then(pl.lit("p"))
        .when(pl.col("f_present")).then(pl.lit("f"))
        .otherwise(pl.lit("m"))
    )
    frame = frame.with_columns(use=use, f_ok=f_ok)
    kid = {f"{m}_{r}": pl.lit(key_id).gather(pl.col(f"{m}_{r}")) for m in "pf" for r in ROLES}
    agree = ~pl.any_horizontal([(kid[f"p_{r}"] != kid[f"f_{r}"]).fill_null(False) for r in ROLES])
    complete = (pl.col("use") == "p") & pl.col("f_ok") & agree
    take = {r: complete & pl.col(f"p_{r}").is_null() & pl.col(f"f_{r}").is_not_null() for r in ROLES}

    def chosen(name: str) -> pl.Expr:
        return pl.when(pl.col("use") == "p").then(pl.col(f"p_{name}")).when(pl.col("use") == "f").then(pl.col(f"f_{name}"))

    return frame.select(
        "use",
        *[pl.when(take[r]).then(pl.col(f"f_{r}")).otherwise(chosen(r)).alias(r) for r in ROLES],
        *[chosen(flag).fill_null(False).alias(flag) for flag in ("extra", "reordered", "split")],
        completed=pl.any_horizontal(list(take.values())),
    )


# ---------------------------------------------------------------- output columns

_GENDER_CODES = {"М": 0, "Ж": 1, GENDER_UNKNOWN: 2}


def _status(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """Status, reason, gender and company flag per distinct row; the role words stay table rows."""

    def word(role: str, name: str) -> pl.Expr:
        return pl.lit(table[name]).gather(pl.col(role))

    initial = {r: word(r, "initial").fill_null(False) for r in ROLES}
    any_role = pl.any_horizontal([pl.col(r).is_not_null() for r in ROLES])
    flags = {
        "empty": pl.col("use") == "m",
        "is_company": pl.col("use") == "c",
        "not_a_name": ~any_role,
        "only_initials": pl.col("L").is_null() & initial["F"],
        "extra_words": pl.col("extra"),
        "mixed_script_fixed": pl.any_horizontal([word(r, "mixed").fill_null(False) for r in ROLES]),
        "reordered": pl.col("reordered"),
        "split_parts": pl.col("split"),
        "split_from_full_name": pl.col("completed"),
        "case_fixed": pl.any_horizontal([word(r, "case").fill_null(False) for r in ROLES]),
    }
    frame = frame.with_columns([flag.alias(f"flag_{code}") for code, flag in flags.items()])
    reason = pl.lit(None, dtype=pl.String)
    status = pl.lit("ok")
    for code, code_status in reversed(REASONS):
        reason = pl.when(pl.col(f"flag_{code}")).then(pl.lit(code)).otherwise(reason)
        status = pl.when(pl.col(f"flag_{code}")).then(pl.lit(code_status)).otherwise(status)
    gender = pl.coalesce(word("M", "g_mid"), word("F", "g_first"), word("L", "g_last"), pl.lit(GENDER_UNKNOWN))
    return frame.select(
        "L",
        "F",
        "M",
        F_full=pl.when(~initial["F"]).then(pl.col("F")),
        M_full=pl.when(~initial["M"]).then(pl.col("M")),
        gender=gender,
        is_company=pl.col("use") == "c",
        status=status,
        reason=reason,
    )


def _assemble(core: pl.DataFrame, row_ids: pl.Series, table: pl.DataFrame, translit: pl.Series) -> pl.DataFrame:
    """The output, one row per input row: each column gathered once, through the row's distinct row,
    from the table it lives in (words, key lists), so no intermediate million-row copies are made."""

    def rows(col: str) -> pl.Series:
        return core[col].gather(row_ids)

    def word(name: str, role: str) -> pl.Series:
        return table[name].gather(rows(role))

    n = table.height
    # first_keys of every word for М, Ж and НД one after another, then an empty list for "no first name"
    first_keys = pl.concat([table["fk_m"], table["fk_f"], table["fk_u"], pl.Series([[]], dtype=STR_LIST)]).rechunk()
    gender_code = core["gender"].replace_strict(_GENDER_CODES, return_dtype=pl.Int64)
    fk_index = (core["F"].cast(pl.Int64) + gender_code * n).fill_null(3 * n)
    return pl.DataFrame(
        {
            "last_name": word("disp", "L"),
            "first_name": word("disp", "F"),
            "middle_name": word("disp", "M"),
            "first_initial": word("first_letter", "F"),
            "middle_initial": word("first_letter", "M"),
            "gender": rows("gender"),
            "is_company": rows("is_company"),
            "status": rows("status"),
            "reason": rows("reason"),
            "last_key": word("key", "L"),
            "first_key": word("key", "F_full"),
            "middle_key": word("key", "M_full"),
            "first_keys": first_keys.gather(fk_index.gather(row_ids)),
            "translit_keys": translit.gather(rows("pair")),
            "skeleton": word("skel", "L"),
        },
        schema=OUTPUT_SCHEMA,
    )


def _sorted_pair(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """"a b" with the two words in alphabetical order (so Иванов Иван meets Ivan Ivanov)."""
    return (
        pl.when(a.is_null()).then(b)
        .when(b.is_null()).then(a)
        .when(a <= b).then(pl.concat_str([a, b], separator=" "))
        .otherwise(pl.concat_str([b, a], separator=" "))
    )


def _translit_keys(pairs: pl.DataFrame, table: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Latin "last first" under each transliteration and the folding, words sorted, deduplicated;
    built once per distinct (surname word, first-name word) pair. Returns each row's pair index
    and the key lists of the pairs."""
    pair_id = pl.col("L").cast(pl.Int64).fill_null(-1) * (1 << 32) + pl.col("F_full").cast(pl.Int64).fill_null(-1)
    pairs = pairs.with_columns(pair=pair_id)
    uniq = pairs.unique("pair", maintain_order=True).with_row_index("pair_index")
    index = pairs.join(uniq.select("pair", "pair_index"), on="pair", how="left", maintain_order="left")["pair_index"]
    keys = pl.DataFrame()
    for i, col in enumerate(TRANSLIT_COLS):  # scheme by scheme, to keep few strings alive at once
        words = pl.DataFrame({"l": table[col].gather(uniq["L"]), "f": table[col].gather(uniq["F_full"])})
        key = words.select(_sorted_pair(pl.col("l"), pl.col("f")).alias(f"k{i}"))
        if i:  # a key equal to an earlier one is left out
            repeated = pl.any_horizontal([(pl.col(f"k{i}") == pl.lit(keys[k])).fill_null(False) for k in keys.columns])
            key = key.select(pl.when(~repeated).then(pl.col(f"k{i}")).alias(f"k{i}"))
        keys = keys.hstack(key) if i else key
    # lists are built by joining and splitting: building them from string columns is slow
    joined = keys.select(pl.concat_str(pl.all(), separator="\x1f", ignore_nulls=True).alias("j"))["j"]
    lists = pl.select(
        pl.when(joined.str.len_bytes() > 0).then(joined.str.split("\x1f")).otherwise(pl.lit([], dtype=STR_LIST))
    ).to_series()
    return index, lists
