"""E-mail normalization: one row per address found in a cell, with a match key and a verdict.

Why it is built this way:

* Most cells of a real base are one plain address. A polars regex for plain
  ASCII `local@domain.tld` settles those at millions per second, and lists of
  such addresses, `mailto:` and `Name <addr>` are split in polars too. Only the
  cells left (IDN, Cyrillic, junk, odd punctuation) go to Python, once per
  distinct cell, and only there does `email-validator` run (offline, ~30k/s):
  once per distinct domain and once per local part the regex cannot vouch for.
* Domain facts (typo fixes, near misses, provider rules, kind) are computed once
  per distinct domain and joined back.
* The local part is lower-cased: Mail.ru, Yandex, Gmail, Outlook, iCloud and
  practically every corporate server ignore its case, and two spellings of one
  mailbox must not look like two contacts. RFC 5321 allows case-sensitive local
  parts; practically no mail server makes use of it.
* Typos are fixed automatically only from the curated data file
  (`email_domains.toml`) and only towards a known free provider; a real domain
  (mail.com, gmail.ru) is never "fixed". Anything else that merely looks like a
  typo is `suggested`, the value kept as it was.
* `key` is for matching only: Gmail dots, +tags and Yandex's domain aliases
  collapse there, never in `email`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from rapidfuzz.distance import OSA

DATA_FILE = Path(__file__).with_name("email_domains.toml")

COLUMNS: dict[str, pl.DataType] = {
    "index": pl.UInt32,  # position in the input series
    "part": pl.Int32,  # 0, 1, … addresses found in that value
    "original": pl.String,  # the input value
    "text": pl.String,  # the substring for this address, stripped
    "email": pl.String,  # normalized address; null when invalid
    "ascii_email": pl.String,  # ASCII (punycode) form; null when invalid or the local part is not ASCII
    "key": pl.String,  # match key
    "domain": pl.String,  # domain of `email`
    "kind": pl.String,  # personal | corporate | role | disposable
    "status": pl.String,  # ok | fixed | suggested | invalid | missing
    "reason": pl.String,
    "suggestion": pl.String,
}

# When several fixes apply to one address, `reason` names the most telling one.
FIX_REASONS = (
    "layout_fixed", "typo_fixed", "homoglyph_fixed", "display_name_removed", "mailto_removed",
    "prefix_removed", "comment_removed", "spaces_removed", "idn_decoded", "punctuation_removed",
    "split", "case_trimmed",
)

# A plain ASCII address the fast path settles without email-validator (a strict
# subset of what email-validator accepts; tests compare the two).
_ATEXT = r"a-z0-9!#$%&'*+/=?^_`{|}~-"
_LOCAL_RE = rf"[a-z0-9_][{_ATEXT}]*(?:\.[{_ATEXT}]+)*"
_DOMAIN_RE = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}"
FAST_RE = rf"^{_LOCAL_RE}@{_DOMAIN_RE}$"
_FAST = re.compile(FAST_RE)
_LONG_LABEL = r"[a-z0-9-]{64}"

# Domains email-validator refuses as special-use (RFC 6761 and friends): the fast path refuses them too.
_SPECIAL_USE = list(SPECIAL_USE_DOMAIN_NAMES)

# Russian ЙЦУКЕН keys → the Latin letters on the same keys; `"` is Shift+2 (@).
_LAYOUT = str.maketrans(
    "йцукенгшщзхъфывапролджэячсмитьбюё",
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`",
)
# Cyrillic letters that look like Latin ones (a domain mixing the two scripts is a slip).
_HOMOGLYPHS = str.maketrans("аеорсхуктмвнізјѕ", "aeopcxyktmbhizjs")
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_LATIN = re.compile(r"[a-z]", re.I)

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_EXCHANGE = re.compile(r"(?i)^\s*(?:ex:)?/o=")
_PREFIX = re.compile(r"(?i)^(mailto|smtp|sip|e-?mail|почта|эл\.?\s?почта)\s*:\s*")
_WRAP = " \t\r\n\u00a0'\"«»“”„‘’`<>()[]{}"
_TRAIL = _WRAP + ".,;:!?*"
_SEGMENT = re.compile(r'(?:"[^"\n]*"|<[^<>\n]*>|\([^()\n]*\)|[^,;\n\r"<(]|["<(])+')
_OR = re.compile(r"(?i)\s+(?:или|or)\s+")
_ANGLE_CHUNK = re.compile(r"[^<>]*<[^<>]*>")
_TOKEN = re.compile(r"\S+")
_BARE_TLD = re.compile(r"(?i)^[a-zа-яё]{2,6}$")
_DOMAIN_NO_DOT = re.compile(r"@[^\s@.,;]+$")
_ONLY_FILLER = re.compile(r"^[\s\-—–_.*?0]+$")


@dataclass(frozen=True)
class EmailData:
    """The curated lists of `email_domains.toml`, with the maps derived from them."""

    free: frozenset[str]
    real: frozenset[str]
    case_insensitive: frozenset[str]
    plus_tags: frozenset[str]
    ignore_dots: frozenset[str]
    dash_is_dot: frozenset[str]
    key_domain: dict[str, str]
    auto_fix: dict[str, str]  # typed domain → provider, fixed automatically
    tld_typos: dict[str, str]
    near_miss: dict[str, str]  # distance-1 neighbour → provider, suggested
    disposable: frozenset[str]
    role_re: str
    placeholders: frozenset[str]


def load_data(path: Path = DATA_FILE) -> EmailData:
    """Read the data file, derive the typo maps, and check the lists agree."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    free, real = frozenset(raw["free"]), frozenset(raw["real"])
    known = free | real
    tld_typos = dict(raw["tld_typos"])
    auto: dict[str, str] = {}
    for provider in sorted(free):
        label, tld = provider.rsplit(".", 1)
        auto[label + tld] = provider  # the dot left out: mailru
        for typo, right in tld_typos.items():
            if right == tld:
                auto[f"{label}.{typo}"] = provider  # mail.ry, gmail.con
    auto.update(raw["typos"])
    auto = {typo: right for typo, right in auto.items() if typo not in known}
    near: dict[str, str] = {}
    for provider in raw["near_miss"]["providers"]:
        for variant in _neighbours(provider):
            if variant not in known and variant not in auto and OSA.distance(variant, provider) == 1:
                near.setdefault(variant, provider)
    roles = sorted(set(raw["role"]["local_parts"]), key=len, reverse=True)
    data = EmailData(
        free=free,
        real=real,
        case_insensitive=frozenset(raw["case_insensitive"]),
        plus_tags=frozenset(raw["plus_tags"]),
        ignore_dots=frozenset(raw["ignore_dots"]),
        dash_is_dot=frozenset(raw["dash_is_dot"]),
        key_domain=dict(raw["key_domain"]),
        auto_fix=auto,
        tld_typos=tld_typos,
        near_miss=near,
        disposable=frozenset(raw["disposable"]["domains"]),
        role_re="^(?:" + "|".join(re.escape(r) for r in roles) + r")[0-9]*$",
        placeholders=frozenset(v.casefold() for v in raw["placeholders"]["values"]),
    )
    _check(data, raw, path)
    return data


def _check(data: EmailData, raw: dict, path: Path) -> None:
    """The data file's promises: fixes lead to providers, real domains are never touched."""
    problems = [f"typo target {t!r} is not a free provider" for t in data.auto_fix.values() if t not in data.free]
    problems += [f"{d!r} is both a typo and a real domain" for d in raw["typos"] if d in data.real | data.free]
    problems += [f"{d!r} ignores dots or dashes but takes no +tags" for d in data.ignore_dots | data.dash_is_dot
                 if d not in data.plus_tags]
    for name in ("plus_tags", "ignore_dots", "dash_is_dot", "case_insensitive"):
        problems += [f"{name}: {d!r} is not a free provider" for d in raw[name] if d not in data.free]
    problems += [f"key_domain: {d!r} is not a free provider" for d in data.key_domain if d not in data.free]
    near = raw["near_miss"]["providers"]
    problems += [f"near_miss: {d!r} is not a free provider" for d in near if d not in data.free]
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))


def _neighbours(word: str) -> set[str]:
    """Every string one edit (delete, insert, replace, swap) away from `word`."""
    letters = "abcdefghijklmnopqrstuvwxyz0123456789-."
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    out.discard(word)
    return out


@lru_cache(maxsize=1)
def data() -> EmailData:
    return load_data()


# --- the public function -------------------------------------------------------------


def normalize_emails(values: pl.Series) -> pl.DataFrame:
    """Long frame of the addresses in `values`: at least one row per input position (see COLUMNS)."""
    return _normalize(values)


def _normalize(values: pl.Series, vectorized: bool = True) -> pl.DataFrame:
    """`vectorized=False` sends every cell through the Python parser (tests compare the two ways)."""
    frame = pl.DataFrame({"original": values.cast(pl.String)}).with_row_index("index")
    if vectorized:
        single, settled, rest = _vector_parts(frame)
        del frame
        parts = pl.concat([single, settled, _slow_parts(rest)], how="vertical")
        del single, settled, rest
        # Each cell's parts come from one of the frames, in order: a stable sort on index is enough.
        parts = parts.sort("index", maintain_order=True)
    else:
        parts = _slow_parts(frame).sort("index", "part")
    facts = domain_facts(parts.get_column("domain").drop_nulls().unique())
    df = parts.join(facts, on="domain", how="left", maintain_order="left")
    del parts  # (the frames are large: each is let go as soon as the next one exists)
    return _finish(df)


def _plain(address: pl.Expr) -> pl.Expr:
    """The fast path's test (see `is_plain`) as a polars expression over lower-cased text."""
    return (
        address.str.contains(FAST_RE)
        & (address.str.len_bytes() == address.str.len_chars())
        & (address.str.len_bytes() <= 254)
        & ~address.str.contains("--", literal=True)
        & ~address.str.contains(_LONG_LABEL)
    ).fill_null(False)


_NAMED_RE = r'^([^<>@,;\r\n"]*)<([^<>@\s]+@[^<>\s]+)>$'  # Иван Петров <ivan@x.ru>
_MAILTO_RE = r"(?i)^mailto:([^\s?]+)$"
_OR_RE = r"(?i)\s+(?:или|or)\s+"


def _vector_parts(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Settle in polars the cells that are plain addresses, alone, wrapped or in a list.

    Returns (single plain addresses, parts of the other settled cells, the cells
    left for Python), the first in input order. A cell is
    settled only when every address in it passes the fast test, so a cell is
    never half done here and half in Python.
    """
    none = pl.lit(None, dtype=pl.String)
    cells = frame.with_columns(text=pl.col("original").str.strip_chars())
    cells = cells.with_columns(
        plain=_plain(pl.col("text").str.to_lowercase()), blank=pl.col("text").fill_null("") == ""
    )
    single = cells.filter(pl.col("plain")).with_columns(
        address=pl.col("text").str.to_lowercase().str.split_exact("@", 1)
    )
    single = single.select(
        "index", pl.lit(0, dtype=pl.Int32).alias("part"), "original", "text",
        pl.col("address").struct.field("field_0").alias("local"),
        pl.col("address").struct.field("field_1").alias("domain"),
        none.alias("status0"), none.alias("reason0"), none.alias("suggestion0"),
    )
    empty = cells.filter(pl.col("blank")).select(
        "index", pl.lit(0, dtype=pl.Int32).alias("part"), "original", none.alias("text"),
        none.alias("local"), none.alias("domain"),
        pl.lit("missing").alias("status0"), pl.lit("empty").alias("reason0"), none.alias("suggestion0"),
    )
    others = cells.filter(~pl.col("plain") & ~pl.col("blank")).select("index", "original", "text")
    del cells
    named = pl.col("text").str.extract(_NAMED_RE, 2)
    name = pl.col("text").str.extract(_NAMED_RE, 1)
    mailto = pl.col("text").str.extract(_MAILTO_RE, 1)
    pieces = pl.col("text").str.replace_all(_OR_RE, " ").str.replace_all(r"[,;\s]+", "\x1f").str.split("\x1f")
    listed = (
        others.with_columns(
            piece=pl.when(named.is_not_null()).then(pl.concat_list(named))
            .when(mailto.is_not_null()).then(pl.concat_list(mailto))
            .otherwise(pieces),
            form=pl.when(named.is_not_null()).then(
                pl.when(name.str.strip_chars(_TRAIL).str.len_bytes() == 0).then(pl.lit("punctuation_removed"))
                .when(name.str.contains(_OR_RE)).then(pl.lit("or"))
                .otherwise(pl.lit("display_name_removed"))
            ).when(mailto.is_not_null()).then(pl.lit("mailto_removed")),
        )
        .with_columns(part=pl.int_ranges(pl.col("piece").list.len(), dtype=pl.Int32), n=pl.col("piece").list.len())
        .explode("piece", "part")
        .with_columns(low=pl.col("piece").str.to_lowercase())
        .filter((_plain(pl.col("low")) & (pl.col("form").fill_null("") != "or")).all().over("index"))
    )
    listed = listed.with_columns(address=pl.col("low").str.split_exact("@", 1)).select(
        "index", "part", "original",
        pl.when(pl.col("form").is_null()).then(pl.col("piece")).otherwise(pl.col("text")).alias("text"),
        pl.col("address").struct.field("field_0").alias("local"),
        pl.col("address").struct.field("field_1").alias("domain"),
        none.alias("status0"),
        pl.coalesce(pl.col("form"), pl.when(pl.col("n") > 1).then(pl.lit("split"))).alias("reason0"),
        none.alias("suggestion0"),
    )
    rest = others.join(listed.select("index").unique(), on="index", how="anti").select("index", "original")
    return single, pl.concat([empty, listed], how="vertical"), rest


_PART_SCHEMA = {
    "original": pl.String, "part": pl.Int32, "text": pl.String, "local": pl.String, "domain": pl.String,
    "status0": pl.String, "reason0": pl.String, "suggestion0": pl.String,
}


def _slow_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """Everything else: parsed in Python once per distinct cell, joined back."""
    rows: list[tuple] = []
    for value in frame.get_column("original").drop_nulls().unique().to_list():
        for part, parsed in enumerate(parse_cell(value)):
            rows.append((value, part, *parsed))
    parsed = pl.DataFrame(rows, schema=_PART_SCHEMA, orient="row")
    nulls = frame.filter(pl.col("original").is_null()).select(
        "index", pl.lit(0, dtype=pl.Int32).alias("part"), "original",
        *(pl.lit(None, dtype=pl.String).alias(c) for c in ("text", "local", "domain")),
        pl.lit("missing").alias("status0"), pl.lit("empty").alias("reason0"),
        pl.lit(None, dtype=pl.String).alias("suggestion0"),
    )
    found = frame.filter(pl.col("original").is_not_null()).join(parsed, on="original", how="inner")
    return pl.concat([nulls, found.select(nulls.columns)], how="vertical")


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    """Decide email, key, kind, status, reason and suggestion from the parts and their domain facts."""
    local = pl.col("local")
    usable = local.is_not_null() & (pl.col("status0").fill_null("") != "invalid")
    df = df.with_columns(usable=usable, valid=usable & pl.col("domain_invalid").is_null())
    df = df.with_columns(email=pl.when("valid").then(pl.concat_str(local, pl.lit("@"), pl.col("fixed"))))
    # ascii_email and key equal email on most rows; the others are computed on their rows only.
    ascii_local = local.str.len_bytes() == local.str.len_chars()
    df = df.with_columns(
        ascii_email=_replaced(
            df, pl.col("valid") & ascii_local, pl.col("ascii_domain") != pl.col("fixed"),
            pl.concat_str(local, pl.lit("@"), pl.col("ascii_domain")),
        ),
        key=_replaced(
            df, pl.col("valid"), pl.col("plus") | (pl.col("key_domain") != pl.col("fixed")),
            pl.concat_str(_key_local(), pl.lit("@"), pl.col("key_domain")),
        ),
    )
    changed = pl.col("email") != pl.col("original")
    status = (
        pl.when(pl.col("status0") == "missing").then(pl.lit("missing"))
        .when(~pl.col("valid")).then(pl.lit("invalid"))
        .when((pl.col("status0") == "suggested") | pl.col("suggest").is_not_null()).then(pl.lit("suggested"))
        .when(pl.col("fix_reason").is_not_null() | pl.col("reason0").is_not_null() | changed).then(pl.lit("fixed"))
        .otherwise(pl.lit("ok"))
    )
    reason = (
        pl.when(pl.col("status0").is_not_null()).then(pl.col("reason0"))
        .when(pl.col("domain_invalid").is_not_null()).then(pl.col("domain_invalid"))
        .when(pl.col("suggest").is_not_null()).then(pl.col("suggest_reason"))
        .otherwise(pl.coalesce(pl.col("fix_reason"), pl.col("reason0"), pl.when(changed).then(pl.lit("case_trimmed"))))
    )
    suggestion = (
        pl.when(pl.col("status0").is_not_null()).then(pl.col("suggestion0"))
        # also beside an invalid domain: x@mail.r → x@mail.ru
        .when(pl.col("usable") & pl.col("suggest").is_not_null())
        .then(pl.concat_str(local, pl.lit("@"), pl.col("suggest")))
    )
    kind = (
        pl.when(pl.col("domain_kind") == "disposable").then(pl.lit("disposable"))
        .when(_base().str.contains(data().role_re)).then(pl.lit("role"))
        .otherwise(pl.col("domain_kind"))
    )
    valid = pl.col("valid")
    return df.select(
        "index", "part", "original", "text", "email", "ascii_email", "key",
        pl.when(valid).then(pl.col("fixed")).alias("domain"),
        pl.when(valid).then(kind).alias("kind"),
        status.alias("status"),
        reason.alias("reason"),
        suggestion.alias("suggestion"),
    ).cast(COLUMNS)


def _replaced(df: pl.DataFrame, keep: pl.Expr, differs: pl.Expr, value: pl.Expr) -> pl.Series:
    """`email` where `keep`, replaced by `value` on the rows where `differs` (computed on those rows only)."""
    base = df.select(pl.when(keep).then(pl.col("email"))).to_series()
    rows = df.select(pl.arg_where((keep & differs).fill_null(False))).to_series()
    if rows.len():
        base = base.scatter(rows, df[rows].select(value).to_series())
    return base


def _base() -> pl.Expr:
    """The local part without its +tag."""
    return pl.col("local").str.replace(r"^([^+]+)\+.*$", "${1}")


def _key_local() -> pl.Expr:
    """The local part as the provider reads it: +tag dropped, Gmail dots, Yandex dashes.
    (The data file guarantees ignore_dots and dash_is_dot providers also take +tags.)"""
    base = _base()
    return (
        pl.when(pl.col("dots")).then(base.str.replace_all(".", "", literal=True))
        .when(pl.col("dash")).then(base.str.replace_all("-", ".", literal=True))
        .when(pl.col("plus")).then(base)
        .otherwise(pl.col("local"))
    )


# --- domains: once per distinct domain, in polars --------------------------------------------


def domain_facts(domains: pl.Series) -> pl.DataFrame:
    """Per distinct domain: its fixed form, a suggestion, validity, kind and key rules."""
    d = data()
    df = pl.DataFrame({"domain": domains.cast(pl.String)})
    fixed = pl.col("domain").replace(d.auto_fix)
    df = df.with_columns(
        fixed=fixed,
        fix_reason=pl.when(fixed != pl.col("domain")).then(pl.lit("typo_fixed")),
    )
    tld = pl.col("fixed").str.extract(r"\.([^.]*)$")
    known = pl.col("fixed").is_in(list(d.free | d.real))
    tld_fix = pl.concat_str(
        pl.col("fixed").str.extract(r"^(.*)\.[^.]*$"), pl.lit("."), tld.replace_strict(d.tld_typos, default=None)
    )
    near = pl.col("fixed").replace_strict(d.near_miss, default=None)
    df = df.with_columns(
        domain_invalid=pl.when(
            tld.is_null() | (tld.str.len_chars() < 2) | tld.is_in(_SPECIAL_USE) | pl.col("fixed").is_in(_SPECIAL_USE)
        ).then(pl.lit("bad_domain")),
        suggest=pl.when(known).then(None).otherwise(pl.coalesce(near, tld_fix)),
        suggest_reason=pl.when(known).then(None)
        .when(near.is_not_null()).then(pl.lit("domain_typo_suspected"))
        .when(tld_fix.is_not_null()).then(pl.lit("tld_typo_suspected")),
        domain_kind=pl.when(pl.col("fixed").is_in(list(d.disposable))).then(pl.lit("disposable"))
        .when(pl.col("fixed").is_in(list(d.free))).then(pl.lit("personal"))
        .otherwise(pl.lit("corporate")),
        key_domain=pl.col("fixed").replace(d.key_domain),
        plus=pl.col("fixed").is_in(list(d.plus_tags)),
        dots=pl.col("fixed").is_in(list(d.ignore_dots)),
        dash=pl.col("fixed").is_in(list(d.dash_is_dot)),
    )
    unicode = df.filter(~pl.col("fixed").str.contains(r"^[\x00-\x7f]*$")).get_column("fixed").unique().to_list()
    return df.with_columns(ascii_domain=pl.col("fixed").replace({u: _ascii_domain(u) for u in unicode}))


def _ascii_domain(domain: str) -> str | None:
    checked = _check_domain(domain)
    return checked[1] if checked else None


# --- cells and addresses: Python, once per distinct cell ----------------------------------


def parse_cell(value: str) -> list[tuple]:
    """The addresses of one cell: (text, local, domain, status0, reason0, suggestion0) each.

    `local`/`domain` are the cleaned, lower-cased parts (domain not yet checked
    against the provider lists); status0 is None (valid so far), missing,
    invalid or suggested.
    """
    s = _INVISIBLE.sub("", value).strip()
    if not s:
        return [(None, None, None, "missing", "empty", None)]
    if s.casefold() in data().placeholders or _ONLY_FILLER.match(s):
        return [(s, None, None, "missing", "placeholder", None)]
    if _EXCHANGE.match(s):
        return [(s, None, None, "invalid", "exchange_dn", None)]
    texts = split_cell(value)
    parts = [(text, *parse_address(text)) for text in texts]
    if len(parts) > 1:
        parts = [p if p[3] is not None or p[4] is not None else (*p[:4], "split", None) for p in parts]
    elif texts[0] != s and parts[0][3] is None and parts[0][4] is None:
        parts = [(*parts[0][:4], "punctuation_removed", None)]  # "a@x.ru;": a separator with nothing after
    return parts


def split_cell(value: str) -> list[str]:
    """The address texts of a cell: split on , ; new lines, "или", and spaces between addresses."""
    spans = [m.span() for m in _SEGMENT.finditer(value)]
    merged: list[list[int]] = []
    for start, end in spans:
        if (merged and value[merged[-1][1]:start] == "," and _BARE_TLD.match(value[start:end])
                and _DOMAIN_NO_DOT.search(value[merged[-1][0]:merged[-1][1]])):
            merged[-1][1] = end  # ivanov@mail,ru: a comma for the dot, not a separator
        else:
            merged.append([start, end])
    texts: list[str] = []
    for start, end in merged:
        segment = value[start:end]
        if _EXCHANGE.match(segment):
            texts.append(segment.strip())
            continue
        cut = 0
        for m in _OR.finditer(segment):
            texts += _segment_parts(segment[cut:m.start()])
            cut = m.end()
        texts += _segment_parts(segment[cut:])
    texts = [t for t in (t.strip() for t in texts) if t]
    return texts or [value.strip()]


def _segment_parts(segment: str) -> list[str]:
    """Addresses in a piece with no separators: display names and comments stay with their address."""
    if "<" in segment and "@" in segment:
        chunks = [list(m.span()) for m in _ANGLE_CHUNK.finditer(segment)]
        if chunks and all("@" in segment[segment.index("<", a):b] for a, b in chunks):
            chunks[-1][1] = len(segment)  # text after the last <…> is a comment of it
            out: list[str] = []
            for a, b in chunks:
                name_end = segment.index("<", a)
                if "@" in segment[a:name_end]:  # a@x.ru <b@y.ru>: two addresses, not a name
                    out += _token_parts(segment[a:name_end])
                    a = name_end
                out.append(segment[a:b])
            return out
    return _token_parts(segment)


def _token_parts(segment: str) -> list[str]:
    """Addresses separated by spaces; words without @ stay with the address before them."""
    tokens = [m.span() for m in _TOKEN.finditer(segment)]
    groups: list[list[int]] = []
    for start, end in tokens:
        tok = segment[start:end]
        if groups:
            prev = segment[groups[-1][0]:groups[-1][1]]
            glue = tok.startswith("@") or prev.endswith("@")
            glue |= "@" in prev and "@" not in tok and (prev.endswith(".") or tok.startswith("."))
            if glue:
                groups[-1][1] = end
                continue
        groups.append([start, end])
    addresses = [i for i, (a, b) in enumerate(groups) if "@" in segment[a:b]]
    if not addresses:
        return [segment]
    # Words without @ belong to the address before them (the first address takes the words before it).
    bounds = [[groups[i][0], groups[i][1]] for i in addresses]
    bounds[0][0] = groups[0][0]
    for n, i in enumerate(addresses):
        last = addresses[n + 1] - 1 if n + 1 < len(addresses) else len(groups) - 1
        bounds[n][1] = groups[last][1]
    return [segment[a:b] for a, b in bounds]


def parse_address(text: str) -> tuple:
    """(local, domain, status0, reason0, suggestion0) for one address text."""
    reasons: list[str] = []
    s = _INVISIBLE.sub("", text)
    if s != text:
        reasons.append("spaces_removed")
    if _EXCHANGE.match(s):
        return None, None, "invalid", "exchange_dn", None
    s = _unwrap(s, reasons)
    at = s.count("@")
    if at == 0:
        layout = _whole_layout(s)
        if layout is None:
            return None, None, "invalid", "no_at", None
        s = layout
        reasons.append("layout_fixed")
    elif at > 1:
        doubled = re.sub("@+", "@", s)  # ivanov@@mail.ru: offered, not fixed
        return None, None, "invalid", "several_at", _valid(doubled) if doubled.count("@") == 1 else None
    local, domain = s.split("@")
    if not local:
        return None, None, "invalid", "no_local_part", None
    if not domain:
        return None, None, "invalid", "no_domain", None
    domain = domain.lower()
    local, domain = _fix_scripts(local, domain, reasons)
    fixed = _auto_fix(domain)
    if fixed != domain:
        reasons.append("typo_fixed")
        domain = fixed
    suggestion = None
    if "," in domain:  # a comma for the dot, towards an unknown domain: only suggested
        suggestion = _valid(local.lower() + "@" + domain.replace(",", "."))
    if not is_plain(local.lower() + "@" + domain):
        # email-validator: the domain once per distinct domain (IDNA is the slow part), the local
        # part on its own unless the fast test already vouches for it.
        checked = _check_domain(domain)
        if checked is None:
            return None, None, "invalid", "bad_domain", suggestion
        unicode_domain, ascii_domain = checked
        if not is_plain(local.lower() + "@a.ru"):
            try:
                local = validate_email(local + "@a.ru", check_deliverability=False).local_part
            except EmailNotValidError:
                return None, None, "invalid", "bad_local_part", None
        if len(local.encode()) + 1 + len(ascii_domain) > 254:
            return None, None, "invalid", "too_long", None
        if unicode_domain != domain and "xn--" in domain:
            reasons.append("idn_decoded")
        domain = unicode_domain
    local = local.lower()
    if _CYRILLIC.search(local) and not _CYRILLIC.search(domain) and domain in data().free:
        converted = _valid(local.translate(_LAYOUT) + "@" + domain)
        if converted:
            return local, domain, "suggested", "layout_suspected", converted
    return local, domain, None, _first(reasons), None


def _unwrap(s: str, reasons: list[str]) -> str:
    """Strip display names, mailto:, comments, stray spaces and wrapping punctuation, noting each."""
    m = re.search(r"<([^<>]*@[^<>]*)>", s)
    if m:
        rest = (s[:m.start()] + s[m.end():]).strip(_TRAIL)
        reasons.append("display_name_removed" if rest else "punctuation_removed")
        s = m.group(1)
    for _ in range(2):
        stripped = s.lstrip(_WRAP).rstrip(_TRAIL)
        if stripped != s.strip():
            reasons.append("punctuation_removed")
        s = stripped
        m = _PREFIX.match(s)
        if m:
            reasons.append("mailto_removed" if m.group(1).lower() == "mailto" else "prefix_removed")
            s = s[m.end():].split("?", 1)[0]
    if re.search(r"\s", s):
        joined = re.sub(r"\s*@\s*", "@", s)
        joined = re.sub(r"\.\s+", ".", joined)
        if joined != s:
            reasons.append("spaces_removed")
        words = joined.split()
        with_at = [w for w in words if "@" in w]
        if len(with_at) == 1 and len(words) > 1:
            reasons.append("comment_removed")
            joined = with_at[0].lstrip(_WRAP).rstrip(_TRAIL)
        s = joined
    return s


def _whole_layout(s: str) -> str | None:
    """An address typed entirely in the Russian layout (шмфтщм"ьфшдюкг), when it decodes to a provider."""
    if s.count('"') != 1 or not _CYRILLIC.search(s):
        return None
    converted = s.lower().replace('"', "@").translate(_LAYOUT)
    local, domain = converted.split("@")
    return converted if local and _auto_fix(domain) in data().free else None


def _fix_scripts(local: str, domain: str, reasons: list[str]) -> tuple[str, str]:
    """Wrong keyboard layout (ьфшд.ru → mail.ru) and Cyrillic look-alikes inside Latin words."""
    if _CYRILLIC.search(domain):
        converted = domain.translate(_LAYOUT)
        if _auto_fix(converted) in data().free:
            reasons.append("layout_fixed")
            return (local.lower().translate(_LAYOUT) if _CYRILLIC.search(local) else local), converted
    new_local, new_domain = _unmix(local), ".".join(_unmix(label) for label in domain.split("."))
    if (new_local, new_domain) != (local, domain):
        reasons.append("homoglyph_fixed")
    return new_local, new_domain


def _unmix(word: str) -> str:
    """A word mixing Latin and Cyrillic letters, all Latin when the Cyrillic ones are look-alikes."""
    if not (_CYRILLIC.search(word) and _LATIN.search(word)):
        return word
    latin = word.lower().translate(_HOMOGLYPHS)
    return latin if latin.isascii() else word


def is_plain(address: str) -> bool:
    """The fast path's test, in Python: a lower-case ASCII address email-validator surely accepts."""
    return (
        _FAST.fullmatch(address) is not None
        and address.isascii()
        and len(address) <= 254
        and "--" not in address
        and re.search(_LONG_LABEL, address) is None
    )


def _auto_fix(domain: str) -> str:
    """The curated fix of a domain, or the domain itself (a comma for the dot counts when it leads to a provider)."""
    fixes = data().auto_fix
    if "," in domain:
        dotted = domain.replace(",", ".")
        dotted = fixes.get(dotted, dotted)
        return dotted if dotted in data().free else domain
    return fixes.get(domain, domain)


def _valid(address: str) -> str | None:
    """The normalized address when email-validator accepts it."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.local_part.lower() + "@" + checked.domain


@lru_cache(maxsize=65536)
def _check_domain(domain: str) -> tuple[str, str] | None:
    """(Unicode form, ASCII form) of a domain email-validator accepts, else None."""
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _first(reasons: list[str]) -> str | None:
    return min(reasons, key=FIX_REASONS.index) if reasons else None
