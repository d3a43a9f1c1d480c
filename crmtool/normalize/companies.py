"""Company names: legal form, core name, display form and match key.

The same company reaches us as `ООО «Ромашка»`, `Ромашка, ООО` (1C lists),
`Общество с ограниченной ответственностью "Ромашка"`, `OOO Romashka` or
`ооо ромашка`. Duplicate control needs one key for all of them and the CRM one
readable name, so the legal form (ОПФ) is found wherever it stands, set
aside, and the rest cleaned: quotes unified, case fixed when a whole name is
in capitals or in lower case. A parenthesised tail — `(Тверь)`, `(филиал)` —
stays in the name: it tells branches apart.

Everything runs as polars regexes over the distinct values; the legal forms
come from `legal_forms.toml`. See docs/normalize-companies.md for the rules.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

import polars as pl

from crmtool.normalize.distinct import distinct_positions

SCHEMA: dict[str, pl.DataType] = {
    "opf": pl.String,
    "opf_full": pl.String,
    "core": pl.String,
    "display": pl.String,
    "key": pl.String,
    "is_person": pl.Boolean,
    "person_name": pl.String,
    "status": pl.String,
    "reason": pl.String,
}

# Reasons of a `fixed` value, most telling first: one is reported.
FIX_REASONS = (
    "mixed_script",  # Latin letters inside a Cyrillic word (or the reverse) replaced
    "form_moved",  # the legal form stood on the other side of the name
    "form_abbreviated",  # the legal form was written out in words
    "form_normalized",  # the legal form in other letters, case or with dots: ооо, OOO, О.О.О.
    "case_fixed",  # a name all in capitals or all in lower case
    "quotes_added",  # the name had no quotes, display puts it in « »
    "quotes_unified",  # straight, nested or unbalanced quotes made «…»
    "reformatted",  # anything else: spaces, separators, trailing punctuation
)

QUOTES = "\"«»“”„‟'‘’‚"
_SEP = " \x1f "  # between the name and its parenthesised tail while both are processed as one string
_TAIL_RE = r"(?:\s*\([^()]*\))+$"  # "(Тверь)", "(филиал) (склад)" at the end of a name

# Latin capitals that look like a Cyrillic letter of a form abbreviation ("OOO", "3AO").
_FORM_LOOKALIKES = {"А": "A", "В": "B", "Е": "E", "З": "3", "К": "K", "М": "M", "Н": "H", "О": "O",
                    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X"}
# Letters that look alike in both scripts, for repairing words typed in a mix of both.
_LAT = "ABCEHKMOPTXYacekopxy"
_CYR = "АВСЕНКМОРТХУасекорху"
_LAT_TO_CYR = dict(zip(_LAT, _CYR))
_CYR_TO_LAT = dict(zip(_CYR, _LAT))
_STRONG_CYR = "".join(c for c in "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя" if c not in _CYR)
_STRONG_LAT = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in _LAT)
# Short words kept lower case inside a name whose case is fixed ("Дом и сад").
_STOPWORDS = ["и", "в", "во", "на", "по", "с", "со", "к", "о", "об", "от", "до", "из", "у", "за", "для", "при",
              "and", "of", "the", "de", "&"]
_VOWELS = "аеёиоуыэюяaeiouy"


@dataclass(frozen=True)
class LegalForm:
    short: str
    full: str
    aliases: tuple[str, ...] = ()
    person: bool = False
    latin: bool = False
    prefix: bool = True


@dataclass(frozen=True)
class FormTable:
    forms: tuple[LegalForm, ...]
    prefix_re: str  # a form at the start and the spaces after it
    suffix_re: str  # a separator (comma, space, bracket) and a form at the end
    spellings: dict[str, int]  # spelling_key → form index * 2 + 1 if written out in words
    key_abbreviations: dict[str, str]
    placeholders: tuple[str, ...]


def spelling_key(text: str) -> str:
    """How matched form text is looked up: lower case, ё → е, no spaces, dots, commas, brackets, hyphens."""
    return re.sub(r"[\s.,()\-]", "", text.lower().replace("ё", "е"))


def _spelling_key_expr(col: pl.Expr) -> pl.Expr:
    return col.str.to_lowercase().str.replace_all("ё", "е", literal=True).str.replace_all(r"[\s.,()\-]", "")


def _escape(ch: str) -> str:
    return "\\" + ch if ch in r"\.+*?()|[]{}^$#&-~" else ch


def _short_pattern(short: str) -> str:
    """A Cyrillic abbreviation: any case, optional dots between letters, Latin capitals that look the same."""
    classes = [f"[{c}{c.lower()}{_FORM_LOOKALIKES.get(c, '')}]" for c in short]
    return r"\.?".join(classes)


def _words_pattern(text: str) -> str:
    """Written-out words: any run of spaces between them, ё or е, optional dots, commas and brackets."""
    out = []
    for ch in text:
        if ch == " ":
            out.append(r"\s*" if out and out[-1] in (r"\(?", r"\)?", r"\.?", ",?") else r"\s+")
        elif ch in "ёЁ":
            out.append("[её]")
        elif ch in "().,":
            out.append(_escape(ch) + "?")
        elif ch == "-":
            out.append(r"[-\s]?")
        else:
            out.append(_escape(ch))
    return "".join(out)


def _is_cyrillic_abbreviation(text: str) -> bool:
    return bool(re.fullmatch(r"[А-ЯЁ]+", text))


def _spelling_patterns(form: LegalForm) -> list[tuple[str, str]]:
    """(source spelling, regex) for every spelling of a form."""
    out = []
    for spelling in (form.short, form.full, *form.aliases):
        if _is_cyrillic_abbreviation(spelling):
            out.append((spelling, _short_pattern(spelling)))
        elif spelling in form.aliases and re.fullmatch(r"[A-Z]+", spelling):
            out.append((spelling, spelling))  # capitals only: upper case only
        else:
            out.append((spelling, f"(?i:{_words_pattern(spelling)})"))
    return out


def _alternation(pairs: list[tuple[str, str]]) -> str:
    # Longest spelling first, so "ГБУЗ" is tried before "ГБУ" and "ИП глава КФХ" before "ИП".
    ordered = sorted(set(pairs), key=lambda p: (-len(p[0]), p[0]))
    return "|".join(p[1] for p in ordered)


@functools.cache
def form_table() -> FormTable:
    text = resources.files("crmtool.normalize").joinpath("legal_forms.toml").read_text("utf-8")
    data = tomllib.loads(text)
    forms = tuple(
        LegalForm(
            short=f["short"], full=f["full"], aliases=tuple(f.get("aliases", ())),
            person=bool(f.get("person", False)), latin=bool(f.get("latin", False)),
            prefix=bool(f.get("prefix", not f.get("latin", False))),
        )
        for f in data["form"]
    )
    spellings: dict[str, tuple[int, bool]] = {}
    prefix_pairs, suffix_pairs = [], []
    for form_id, form in enumerate(forms):
        for spelling, pattern in _spelling_patterns(form):
            key = spelling_key(spelling)
            if key in spellings and spellings[key][0] != form_id:
                raise ValueError(f"legal_forms.toml: {spelling!r} spells both {forms[spellings[key][0]].short} and {form.short}")
            written_out = spelling == form.full or (spelling != form.short and " " in spelling)
            spellings[key] = (form_id, written_out)
            suffix_pairs.append((spelling, pattern))
            if form.prefix:
                prefix_pairs.append((spelling, pattern))
    prefix_re = rf"^(?:{_alternation(prefix_pairs)})\.?\s*"
    suffix_re = rf"(?:\s*,\s*|\s+|\s*\(\s*)(?:{_alternation(suffix_pairs)})\.?\s*\)?$"
    abbreviations = {key_text(k): key_text(v) for k, v in data.get("key_abbreviations", {}).items()}
    placeholders = tuple(key_text(v) for v in data.get("placeholders", {}).get("values", ()))
    codes = {key: form_id * 2 + int(written_out) for key, (form_id, written_out) in spellings.items()}
    return FormTable(forms, prefix_re, suffix_re, codes, abbreviations, placeholders)


def key_text(text: str) -> str:
    """The match-key spelling of a plain string (used for the data file's entries)."""
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w]|_", " ", text).split())


# --- expressions -------------------------------------------------------------------------------


def _clean_spaces(col: pl.Expr) -> pl.Expr:
    """Any run of whitespace or control characters (NBSP, tabs, line breaks, zero-width) → one space;
    two apostrophes → a quote. Only values that need it are touched."""
    invisible = r"[\u200b\u200c\u200d\u2060\ufeff]"
    needs = col.str.contains(rf"[^\S ]|\p{{Cc}}|{invisible}|  |^ | $|''")
    cleaned = (
        _only(needs, col)
        .str.replace_all(invisible, "")
        .str.replace_all(r"[\s\p{Cc}]+", " ")
        .str.replace_all("''", '"', literal=True)
        .str.strip_chars()
    )
    return pl.coalesce(cleaned, col)


def _unify_quotes(col: pl.Expr) -> pl.Expr:
    """Every quote becomes « or » by its place: after a start, space, bracket or opening quote it opens.

    Literal replacements (Aho-Corasick) rather than regex captures: this runs on every quoted name.
    """
    singles = _only(col.str.contains("['‘’‚]"), col)
    singles = (
        singles.str.replace_all(r"(^|[\s(])['‘’‚]", '${1}"')  # single quotes at word edges are quotes;
        .str.replace_all(r"['‘’]($|[\s),.;:])", '"${1}')  # an apostrophe inside a word (O'Key) is not
    )
    col = pl.coalesce(singles, col).str.replace_all("„", "«", literal=True).str.replace(r'^["“”‟]', "«")
    straight = '"“”‟'
    before, after = [], []
    for opener in " («":
        for q in straight:
            before.append(opener + q)
            after.append(opener + "«")
    for _ in range(3):  # three levels of nesting: "ТД "Альянс"" opens twice in a row
        col = col.str.replace_many(before, after)
    return col.str.replace_many(list(straight), ["»"] * len(straight))


def _strip_outer_quotes(col: pl.Expr) -> pl.Expr:
    """«Ромашка» → Ромашка, «ТД «Альянс»» → ТД «Альянс»; «Рога» и «Копыта» stays as it is."""
    inner = col.str.slice(1, col.str.len_chars() - 2)
    wraps = (
        col.str.starts_with("«")
        & col.str.ends_with("»")
        & (inner.str.count_matches("«", literal=True) == inner.str.count_matches("»", literal=True))
        & ~inner.str.contains(r"^[^«]*»")
    )
    return pl.when(wraps).then(inner).otherwise(col)


def _balance_quotes(col: pl.Expr) -> pl.Expr:
    """Drop a lone quote at either end; if the quotes still do not pair up, drop them all."""
    opens, closes = col.str.count_matches("«", literal=True), col.str.count_matches("»", literal=True)
    lone_open = (opens > closes) & col.str.starts_with("«")
    lone_close = (closes > opens) & col.str.ends_with("»")
    # A lone quote at an end removed: what is left pairs up when one fewer quote of its kind does.
    pairs_after = (
        pl.when(lone_open).then(opens - 1 == closes).when(lone_close).then(closes - 1 == opens).otherwise(opens == closes)
    )
    trimmed = (
        pl.when(lone_open).then(col.str.slice(1))
        .when(lone_close).then(col.str.slice(0, col.str.len_chars() - 1))
        .otherwise(col)
    )
    unpaired = ~pairs_after | trimmed.str.contains(r"^[^«]*»")
    return pl.when(unpaired).then(col.str.replace_all("[«»]", "")).otherwise(trimmed)


def _trim(col: pl.Expr) -> pl.Expr:
    """Separators left at the edges once the form is gone ("Ромашка," "- Ромашка"); dots stay (П.П.)."""
    return col.str.strip_chars(" ,;:-–—/\\|_*")


def _script_fix(word: pl.Expr) -> pl.Expr:
    """A word in both scripts whose minority letters all have a twin in the other: use the twins."""
    has_cyr = word.str.contains("[А-Яа-яЁё]")
    has_lat = word.str.contains("[A-Za-z]")
    strong_cyr = word.str.contains(f"[{_STRONG_CYR}]")
    strong_lat = word.str.contains(f"[{_STRONG_LAT}]")
    mixed = has_cyr & has_lat
    return (
        pl.when(mixed & ~strong_lat).then(word.str.replace_many(_LAT_TO_CYR))
        .when(mixed & ~strong_cyr).then(word.str.replace_many(_CYR_TO_LAT))
        .otherwise(word)
    )


def _case_fix(word: pl.Expr, capitals: bool) -> pl.Expr:
    """One word of a name that is all capitals (capitals=True) or all lower case.

    Words become Capitalised; words with digits stay; short words stay in
    capitals (ТД, ГКБ, МТС — abbreviations are common in names; conjunctions
    and prepositions are lowered afterwards by `_lower_stopwords`); in an
    all-lower name a short word without vowels is taken for an abbreviation
    (тд → ТД).
    """
    n = word.str.count_matches(r"\p{L}")
    keep = word.str.contains(r"\d") | (n == 0)
    if capitals:
        return pl.when(keep | (n <= 3)).then(word).otherwise(word.str.to_titlecase())
    abbreviation = (n <= 3) & ~word.str.contains(f"[{_VOWELS}]") & ~word.is_in(_STOPWORDS)
    return (
        pl.when(keep | word.is_in(_STOPWORDS)).then(word)
        .when(abbreviation).then(word.str.to_uppercase())
        .otherwise(word.str.to_titlecase())
    )


def _lower_stopwords(col: pl.Expr) -> pl.Expr:
    """" И " → " и " inside a name whose capitals were fixed; a first word is left as it is."""
    return col.str.replace_many([f" {w.upper()} " for w in _STOPWORDS], [f" {w} " for w in _STOPWORDS])


def _words(fn, then=lambda col: col):
    """A Series → Series function applying `fn` to every space-separated word, then `then` to the whole."""
    def run(values: pl.Series) -> pl.Series:
        words = pl.col("v").str.split(" ").list.eval(fn(pl.element())).list.join(" ")
        return values.to_frame("v").select(then(words)).to_series()
    return run


def _key(df: pl.DataFrame, column: str, abbreviations: dict[str, str]) -> pl.Series:
    """Lower case, ё → е, № dropped, every run of non-letters/digits one space, common words abbreviated."""
    key = df.get_column(column).str.to_lowercase().str.replace_all("ё", "е", literal=True)
    # Most names are letters and single spaces already; only the others go through the regex.
    frame = key.to_frame("k")
    return frame.select(_key_expr(pl.col("k"), abbreviations)).to_series().alias("key")


def _key_expr(key: pl.Expr, abbreviations: dict[str, str]) -> pl.Expr:
    odd = _only(key.str.contains(r"[^\p{L}\p{N} ]|  |^ | $"), key)
    key = pl.coalesce(odd.str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars(), key)
    if abbreviations:
        padded = pl.lit(" ") + key + pl.lit(" ")
        padded = padded.str.replace_many(
            [f" {k} " for k in abbreviations], [f" {v} " for v in abbreviations.values()]
        )
        key = padded.str.strip_chars()
    return key


# --- the family function ------------------------------------------------------------------------


def normalize_companies(values: pl.Series) -> pl.DataFrame:
    """One row per input value, in order, with the columns of `SCHEMA`."""
    if values.dtype != pl.String:
        values = values.cast(pl.String)
    distinct, positions = distinct_positions(values)
    result = _normalize_distinct(distinct.alias("raw").to_frame())  # one row per distinct value, in order
    return result.select([pl.col(c).cast(t).gather(positions) for c, t in SCHEMA.items()])


def _form_after(text: pl.Expr, rest: str) -> pl.Expr:
    """The form cut from the end of `text`, leaving `rest`: its separator and brackets stripped;
    null when nothing was cut or nothing is left in front of it."""
    rest_len = pl.col(rest).str.len_chars()
    cut = text.str.slice(rest_len).str.strip_chars_start(" ,(").str.strip_chars_end(" )")
    return _only((rest_len < text.str.len_chars()) & pl.col(rest).str.contains(r"\S"), cut)


def _on_rows(df: pl.DataFrame, mask: pl.Expr, column: str, fn) -> pl.DataFrame:
    """Replace `column` by fn(column) on the rows where `mask` holds; the others are not touched.

    For steps that only a few values need: the rows are gathered, processed and scattered back.
    """
    rows = df.select(mask.fill_null(False)).to_series().arg_true()
    if rows.len() == 0:
        return df
    values = df.get_column(column)
    done = fn(values.gather(rows))
    return df.with_columns(values.clone().scatter(rows, done).alias(column))


def _fix_quotes(names: pl.Series) -> pl.Series:
    """Nested, several or unbalanced quotes: outer pair(s) dropped, lone quotes removed."""
    frame = names.to_frame("q")
    # One step per call: these expressions use their input several times, nested they would multiply.
    for step in (_strip_outer_quotes, _strip_outer_quotes, _balance_quotes, _trim):
        frame = frame.with_columns(q=step(pl.col("q")))
    return frame.get_column("q")


def _only(mask: pl.Expr, col: pl.Expr) -> pl.Expr:
    """`col` where `mask` holds, null elsewhere: string functions skip nulls, so costly steps run on few rows."""
    return pl.when(mask).then(col)


def _normalize_distinct(df: pl.DataFrame) -> pl.DataFrame:
    table = form_table()
    df = df.with_columns(s=_clean_spaces(pl.col("raw")))
    s = pl.col("s")
    quote = re.escape(QUOTES)
    any_quote = f"[{quote}]"

    # 1. The legal form: in front, at the end, or at the end before a parenthesised tail. Cut with
    # `replace` (a plain search, much faster than capture groups) and told apart by lengths.
    df = df.with_columns(pre_rest=s.str.replace(table.prefix_re, ""))
    df = df.with_columns(pre_len=s.str.len_chars() - pl.col("pre_rest").str.len_chars())
    pre_len = pl.col("pre_len")
    pre_text = s.str.slice(0, pre_len)
    # The form must end at a space, a quote, a bracket or the end: "АО" is no form in "АОН-Сервис".
    ends_well = (pl.col("pre_rest") == "") | pre_text.str.ends_with(" ") | pl.col("pre_rest").str.contains(f"^[{quote}(]")
    df = df.with_columns(pre_form=_only((pre_len > 0) & ends_well, pre_text))
    df = df.with_columns(
        pre_form=pl.col("pre_form").str.strip_chars_end(),
        pre_rest=_only(pl.col("pre_form").is_not_null(), pl.col("pre_rest")),
    )
    no_prefix = pl.col("pre_form").is_null()
    df = df.with_columns(
        suf_rest=_only(no_prefix, s).str.replace(table.suffix_re, ""),
        split_body=_only(no_prefix & s.str.ends_with(")"), s).str.replace(_TAIL_RE, ""),
    )
    df = df.with_columns(
        suf_form=_form_after(s, "suf_rest"),
        split_tail=_only(pl.col("split_body").str.contains(r"\S"), s.str.slice(pl.col("split_body").str.len_chars())),
    )
    df = df.with_columns(
        suf_rest=_only(pl.col("suf_form").is_not_null(), pl.col("suf_rest")),
        split_body=_only(pl.col("split_tail").is_not_null(), pl.col("split_body")),
    )
    df = df.with_columns(
        suf2_rest=_only(pl.col("suf_form").is_null(), pl.col("split_body")).str.replace(table.suffix_re, "")
    )
    df = df.with_columns(suf2_form=_form_after(pl.col("split_body"), "suf2_rest"))
    df = df.with_columns(
        form_text=pl.coalesce("pre_form", "suf_form", "suf2_form"),
        position=pl.when(pl.col("pre_form").is_not_null()).then(pl.lit("prefix"))
        .when(pl.col("suf_form").is_not_null() | pl.col("suf2_form").is_not_null()).then(pl.lit("suffix")),
        rest=pl.coalesce("pre_rest", "suf_rest", _only(pl.col("suf2_form").is_not_null(), pl.col("suf2_rest")), "s"),
        body_tail=pl.when(pl.col("suf2_form").is_not_null()).then(pl.col("split_tail")),
    )
    df = _lookup_form(df, table)
    df = df.drop("pre_rest", "pre_len", "suf_rest", "split_body", "split_tail", "suf2_rest", "suf2_form", "spelling", "code")

    # 2. The name and its parenthesised tail; quotes made «…», the outer pair dropped.
    rest = pl.col("rest")
    df = df.with_columns(rest=pl.coalesce(_unify_quotes(_only(rest.str.contains(any_quote), rest)), rest))
    df = df.with_columns(rest_body=_only(rest.str.ends_with(")"), rest).str.replace(_TAIL_RE, ""))
    df = df.with_columns(
        rest_body=_only(pl.col("rest_body").str.contains(r"\S"), pl.col("rest_body")),
    )
    df = df.with_columns(
        name=_trim(pl.coalesce("rest_body", "rest")),
        tail=pl.concat_str(
            [rest.str.slice(pl.col("rest_body").str.len_chars()), _unify_quotes(pl.col("body_tail"))], ignore_nulls=True
        ).str.strip_chars(),
    )
    name = pl.col("name")
    plain = name.str.contains(r"^«[^«»]*»$")  # the common case, «Ромашка»: no need for the steps below
    df = df.with_columns(
        name=pl.when(plain).then(_trim(name.str.slice(1, name.str.len_chars() - 2))).otherwise(name),
        quoted=_only(~plain & name.str.contains("[«»]"), name),
    )
    df = _on_rows(df, pl.col("quoted").is_not_null(), "quoted", _fix_quotes)
    # «Ромашка», г. Тверь: the quoted part is the name, the words after it a tail like "(Тверь)".
    head = pl.col("quoted").str.extract_groups(r"^«(?P<head>[^«»]+)»(?P<after>[^«»]+)$")
    df = df.with_columns(
        name=pl.coalesce(head.struct.field("head"), "quoted", "name"),
        tail=pl.concat_str([head.struct.field("after"), pl.lit(" "), pl.col("tail")], ignore_nulls=True).str.strip_chars(),
    )
    df = df.with_columns(
        marked=pl.when(pl.col("tail") != "").then(pl.concat_str([pl.col("name"), pl.lit(_SEP), pl.col("tail")]))
        .otherwise(pl.col("name"))
    )

    df = df.drop("rest", "rest_body", "body_tail", "quoted")

    # 3. Words typed in two scripts, then names all in capitals or all in lower case.
    marked = pl.col("marked")
    df = df.with_columns(unfixed=marked)
    both_scripts = marked.str.contains("[A-Za-z]") & marked.str.contains("[А-Яа-яЁё]")
    df = _on_rows(df, both_scripts, "marked", _words(_script_fix))
    df = df.with_columns(mixed_script=marked != pl.col("unfixed"), unfixed=marked)
    has_upper, has_lower = marked.str.contains(r"\p{Lu}"), marked.str.contains(r"\p{Ll}")
    df = df.with_columns(capitals=has_upper & ~has_lower & marked.str.contains(r"\p{Lu}{4}"), lower=has_lower & ~has_upper)
    df = _on_rows(df, pl.col("capitals"), "marked", _words(lambda w: _case_fix(w, True), _lower_stopwords))
    df = _on_rows(df, pl.col("lower"), "marked", _words(lambda w: _case_fix(w, False)))
    df = df.with_columns(case_fixed=marked != pl.col("unfixed"))
    with_tail = marked.str.contains(_SEP, literal=True)
    parts = _only(with_tail, marked).str.split_exact(_SEP, 1)
    df = df.with_columns(
        name=pl.coalesce(parts.struct.field("field_0"), marked),
        tail=parts.struct.field("field_1"),
        core=pl.coalesce(_join_tail(_only(with_tail, marked).str.replace(_SEP, "\x1f", literal=True)), marked),
    )

    # 4. Display, key, status.
    df = _display(df)
    df = df.with_columns(_key(df, "core", table.key_abbreviations))
    return _status(df, table)


def _lookup_form(df: pl.DataFrame, table: FormTable) -> pl.DataFrame:
    """Matched form text → form: by its own letters, then with Latin look-alikes read as Cyrillic (OOO)."""
    df = df.with_columns(spelling=_spelling_key_expr(pl.col("form_text")))
    spelling = pl.col("spelling")
    as_cyrillic = spelling.str.replace_many({k.lower(): v.lower() for k, v in _LAT_TO_CYR.items()} | {"3": "з"})
    code = pl.coalesce(
        spelling.replace_strict(table.spellings, default=None, return_dtype=pl.Int32),
        as_cyrillic.replace_strict(table.spellings, default=None, return_dtype=pl.Int32),
    )
    df = df.with_columns(code=_only(pl.col("form_text").is_not_null(), code))
    form_id = pl.col("code") // 2

    def info(values: list) -> pl.Expr:
        return form_id.replace_strict(dict(enumerate(values)), default=None)

    df = df.with_columns(
        written_out=pl.col("code") % 2 == 1,
        opf=info([f.short for f in table.forms]),
        opf_full=info([f.full for f in table.forms]),
        person=info([f.person for f in table.forms]),
        latin=info([f.latin for f in table.forms]),
    )
    # A form the table cannot name is no form: the value is kept whole.
    no_form = pl.col("code").is_null()
    return df.with_columns(
        rest=pl.when(no_form).then(pl.col("s")).otherwise(pl.col("rest")),
        body_tail=pl.when(no_form).then(None).otherwise(pl.col("body_tail")),
        position=pl.when(no_form).then(None).otherwise(pl.col("position")),
    )


def _join_tail(marked: pl.Expr) -> pl.Expr:
    """name\x1ftail → "name tail", or "name, tail" when the tail starts with a separator."""
    return marked.str.replace(r"\x1f([,.;:])", "${1}").str.replace("\x1f", " ", literal=True).str.strip_chars()


def _display(df: pl.DataFrame) -> pl.DataFrame:
    """ООО «Ромашка» (Тверь); ИП Петров П.П.; Vector Ltd (London); the core alone when there is no form."""
    name, tail, core, opf = pl.col("name"), pl.col("tail"), pl.col("core"), pl.col("opf")
    quoted_already = name.str.starts_with("«") & name.str.ends_with("»")
    shown = (
        pl.when(pl.col("person") | quoted_already).then(name)
        .when(pl.col("latin")).then(pl.concat_str([name, pl.lit(" "), opf]))
        .otherwise(pl.concat_str([pl.lit("«"), name, pl.lit("»")]))
    )
    df = df.with_columns(shown=shown)
    shown = pl.col("shown")
    df = df.with_columns(
        with_tail=pl.coalesce(_join_tail(pl.concat_str([_only(tail.is_not_null(), shown), pl.lit("\x1f"), tail])), shown)
    )
    with_tail = pl.col("with_tail")
    display = (
        pl.when(opf.is_null()).then(core)
        .when(pl.col("latin")).then(with_tail)
        .otherwise(pl.concat_str([opf, pl.lit(" "), with_tail]))
    )
    return df.with_columns(display=display)


def _status(df: pl.DataFrame, table: FormTable) -> pl.DataFrame:
    has_form = pl.col("opf").is_not_null()
    # "нет", "не указано": the cell says there is no company (as the other families read fillers).
    df = df.with_columns(
        empty=pl.col("s").is_null() | (pl.col("s") == ""),
        placeholder=(~has_form & pl.col("key").is_in(list(table.placeholders))).fill_null(False),
    )
    missing = pl.col("empty") | pl.col("placeholder")
    core_letters = pl.col("core").str.contains(r"\p{L}")
    core_digits = pl.col("core").str.contains(r"\p{N}")
    invalid_reason = (
        pl.when(has_form & (pl.col("core") == "")).then(pl.lit("form_only"))
        .when(~core_letters & (~has_form | pl.col("person") | ~core_digits)).then(pl.lit("no_letters"))
    )
    # Every fix shows in the display; the quotes are compared only where it differs from the input.
    df = df.with_columns(changed=pl.col("display") != pl.col("raw").str.strip_chars())
    # The quotes of a text in order: everything else removed (one pass, no list of matches).
    not_quote = f"[^{re.escape(QUOTES)}]+"
    df = df.with_columns(
        quotes_in=_only(pl.col("changed"), pl.col("s")).str.replace_all(not_quote, ""),
        quotes_out=_only(pl.col("changed"), pl.col("display")).str.replace_all(not_quote, ""),
    )
    quotes_in, quotes_changed = pl.col("quotes_in"), pl.col("quotes_in") != pl.col("quotes_out")
    moved = (pl.col("position") == "suffix") & ~pl.col("latin") | (pl.col("position") == "prefix") & pl.col("latin")
    fix_reason = (
        pl.when(pl.col("mixed_script")).then(pl.lit("mixed_script"))
        .when(moved.fill_null(False)).then(pl.lit("form_moved"))
        .when(pl.col("written_out").fill_null(False)).then(pl.lit("form_abbreviated"))
        .when(has_form & (pl.col("form_text") != pl.col("opf"))).then(pl.lit("form_normalized"))
        .when(pl.col("case_fixed")).then(pl.lit("case_fixed"))
        .when(quotes_changed & (quotes_in == "")).then(pl.lit("quotes_added"))
        .when(quotes_changed).then(pl.lit("quotes_unified"))
        .when(pl.col("changed")).then(pl.lit("reformatted"))
    )
    df = df.with_columns(invalid_reason=invalid_reason, fix_reason=_only(pl.col("changed"), fix_reason))
    status = (
        pl.when(missing).then(pl.lit("missing"))
        .when(pl.col("invalid_reason").is_not_null()).then(pl.lit("invalid"))
        .when(pl.col("fix_reason").is_not_null()).then(pl.lit("fixed"))
        .otherwise(pl.lit("ok"))
    )
    df = df.with_columns(status=status)
    valid = pl.col("status").is_in(["ok", "fixed"])
    return df.select(
        "raw",
        pl.when(~missing).then(pl.col("opf")).alias("opf"),
        pl.when(~missing).then(pl.col("opf_full")).alias("opf_full"),
        pl.when(valid).then(pl.col("core")).alias("core"),
        pl.when(valid).then(pl.col("display")).alias("display"),
        pl.when(valid).then(pl.col("key")).alias("key"),
        pl.when(~missing).then(pl.col("person").fill_null(False)).alias("is_person"),
        pl.when(valid & pl.col("person")).then(pl.col("name")).alias("person_name"),
        "status",
        pl.when(pl.col("empty")).then(pl.lit("empty"))
        .when(pl.col("placeholder")).then(pl.lit("placeholder"))
        .when(pl.col("status") == "invalid").then(pl.col("invalid_reason"))
        .when(pl.col("status") == "fixed").then(pl.col("fix_reason"))
        .alias("reason"),
    )
