"""Per-token work of name normalization: what one word of a ФИО is, how to show it, how to key it.

`names.py` cuts every name into tokens with polars and sends each DISTINCT token
here once (a million records hold some tens of thousands of distinct words).
A token gets its display form (case fixed, Latin look-alikes inside a Cyrillic
word replaced), its match key and a one-letter class that says which part of a
name it can be: the part-of-name decision over whole names is then made per
distinct *pattern of classes*, not per name. Transliteration, the Latin folding
and the surname skeleton are pure string rewrites, so they are polars
expressions over the distinct tokens.

Token classes (Cyrillic letter; the same letter in lower case for a Latin word):
S surname · B first name that is also a surname (Марина, Роман) · F first name ·
P patronymic (also «Гасан оглы») · Q -ович/-евич word that may be a surname ·
W a dictionary word that is not a name (weak surname: Мороз, Кузнец) ·
U unknown word · I initial · G surname with a particle (фон Браун) ·
A particle or «оглы» left alone · X noise (digits, e-mail, occupation words) ·
_ nothing (punctuation only).
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import polars as pl

DATA_DIR = Path(__file__).resolve().parent

# Latin letters that look like Cyrillic ones (and back): «Иванoв» with a Latin o.
LAT2CYR = dict(zip("aeopcxyABEKMHOPCTXk", "аеорсхуАВЕКМНОРСТХк"))
# ё inside a Latin word is an ë left by a transliteration that kept it (Fёdor, Artёm): an e
CYR2LAT = {**{c: l for l, c in LAT2CYR.items()}, "ё": "e", "Ё": "E"}

# Particles kept lower-case and glued to the surname that follows them.
PARTICLES = frozenset(
    "фон де ван дер дю ди да ла ле дель делла дос ибн бин бен аль эль "
    "von van der den de da di du la le del della dos das ten ter bin ibn al el".split()
)
# Patronymic markers written as a separate word after the father's name.
OGLU = {"оглы": "М", "оглу": "М", "улы": "М", "уулу": "М", "кызы": "Ж", "гызы": "Ж", "кзы": "Ж",
        "ogly": "М", "oglu": "М", "kyzy": "Ж", "gyzy": "Ж"}

# Words that turn up in name cells but are never part of a name: jobs, relations,
# placeholders, titles. They are dropped from the parts and flagged.
STOP_WORDS = frozenset(
    """директор гендиректор генеральный зам заместитель менеджер бухгалтер главбух главный бухгалтерия
    сантехник электрик водитель курьер прораб мастер юрист секретарь секретариат администратор админ
    охранник охрана врач доктор кассир продавец консультант инженер механик диспетчер оператор логист
    снабженец снабжение кладовщик склад офис приемная ресепшн ресепшен отдел продаж продажи закупки
    клиент покупатель заказчик поставщик партнер контакт контактное лицо сотрудник руководитель
    начальник нач шеф босс владелец собственник учредитель мама папа муж жена сын дочь брат сестра
    тетя дядя бабушка дедушка сосед соседка друг подруга кум кума коллега тест неизвестно неизвестный
    неизвестная нет аноним г-н г-жа господин госпожа гражданин гражданка тов товарищ уважаемый уважаемая
    такси доставка магазин салон сервис фирма компания организация кафе ресторан банк агентство студия
    центр без имени фамилии не указано указан хз др
    test unknown anonymous noname none null nan na mr mrs ms miss dr prof sir madam mister
    manager director client customer office sales support admin info""".split()
)

PATR_F = ("овна", "евна", "ична")
PATR_M = ("ович", "евич")
SURN_M = ("ов", "ев", "ский", "цкий", "ской", "цкой")
SURN_F = ("ова", "ева", "ская", "цкая")
SURN_IN_M = ("ин", "ын")
SURN_IN_F = ("ина", "ына")
SURN_ANY = ("енко", "швили", "дзе", "янц", "ян", "ук", "юк", "ых", "их")
SURNAME_SUFFIXES = SURN_M + SURN_F + SURN_IN_M + SURN_IN_F + SURN_ANY
# Irregular father's-name stems: Павлович ← Павел, Львович ← Лев.
IRREGULAR_PATR_BASE = {"павл": "павел", "льв": "лев"}

LAT_PATR_M = ("ovich", "evich")
LAT_PATR_F = ("ovna", "evna", "ichna")
LAT_SURN_M = ("ov", "ev", "in", "yn", "sky", "ski", "skiy", "skii", "skij")
LAT_SURN_F = ("ova", "eva", "ina", "yna", "skaya", "skaia", "skaja")
LAT_SURN_ANY = ("enko", "shvili", "dze", "yan", "ian", "uk", "yuk", "ykh", "ikh")

APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‐": "-", "‑": "-", "–": "-", "—": "-"})
COMPOUND = "\u00a0"  # glues «фон Браун» / «Гасан оглы» into one token during tokenization

# ---------------------------------------------------------------- data files


def fold_yo(text: str) -> str:
    """Lower case with ё read as е: the form every key and dictionary lookup uses."""
    return text.lower().replace("ё", "е")


@cache
def first_names() -> dict[str, str | None]:
    """first_names.csv plus the diminutives' short forms: key → gender (М, Ж or None)."""
    names: dict[str, str | None] = {}
    with open(DATA_DIR / "first_names.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names[fold_yo(row["name"])] = row["gender"] or None
    for short, full, gender in diminutive_rows():
        for name in (short, full):
            if name in names and names[name] != gender and name == short:
                names[name] = None  # Саша, Женя, Валя: both
            names.setdefault(name, gender)
    return names


@cache
def diminutive_rows() -> tuple[tuple[str, str, str | None], ...]:
    """(short, full, gender) rows of diminutives.csv, keys folded (lower case, ё→е)."""
    with open(DATA_DIR / "diminutives.csv", encoding="utf-8") as fh:
        return tuple(
            (fold_yo(r["short"].strip()), fold_yo(r["full"].strip()), r["gender"].strip() or None)
            for r in csv.DictReader(fh)
            if r["short"].strip() and r["full"].strip()
        )


@cache
def latin_first_names() -> dict[str, str | None]:
    """Folded Latin spellings of the first names: Latin rows as they are, Cyrillic ones transliterated."""
    names = first_names()
    frame = pl.DataFrame({"name": list(names), "gender": list(names.values())}, schema={"name": pl.String, "gender": pl.String})
    folded = frame.select(fold_expr(translit_expr(pl.col("name"), "icao_doc_9303"), clean=True).alias("f"), "gender")
    out: dict[str, str | None] = {}
    for key, gender in folded.iter_rows():
        if key:
            out[key] = None if key in out and out[key] != gender else gender
    return out


@cache
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


# ---------------------------------------------------------------- Latin folding, translit, skeleton

# The Latin folding, applied to every Latin form (transliterated or typed) so that spellings of
# one name meet: Alexey/Aleksei/Alexei → aleksei, Fyodorov/Fedorov → fedorov, Shchukin/Schukin →
# schukin, Kuznetsov/Kuznetcov → kuznecov, Natal'ya/Natalia → natalia, Dmitriy/Dmitry → dmitri.
# 1. keep a-z only; 2. one left-to-right pass of FOLD_LETTERS (longest pattern first at a place);
# 3. collapse doubled letters; 4. ie → e (ye/ie after a vowel: Andreyev = Andreev); 5. collapse again.
FOLD_LETTERS: dict[str, str] = {
    "shch": "sch", "yo": "e", "ph": "f", "kh": "h", "ts": "c", "tz": "c", "tc": "c",
    "x": "ks", "w": "v", "q": "k", "y": "i", "j": "i",
}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_DOUBLE_PATTERNS = [c * 3 for c in _LETTERS] + [c * 2 for c in _LETTERS]
_DOUBLE_REPLACE = list(_LETTERS) * 2
_FOLD_RE = re.compile("|".join(sorted(FOLD_LETTERS, key=len, reverse=True)))


def fold_latin(text: str) -> str:
    """The Latin folding in Python (for the few Latin words classified one by one)."""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if "a" <= ch <= "z")
    text = _FOLD_RE.sub(lambda m: FOLD_LETTERS[m.group(0)], text)
    text = re.sub(r"([a-z])\1+", r"\1", text).replace("ie", "e")
    return re.sub(r"([a-z])\1+", r"\1", text)


def _collapse_doubles(expr: pl.Expr) -> pl.Expr:
    for _ in range(2):
        expr = expr.str.replace_many(_DOUBLE_PATTERNS, _DOUBLE_REPLACE, leftmost=True)
    return expr


def fold_expr(expr: pl.Expr, clean: bool = False) -> pl.Expr:
    """The Latin folding as a polars expression (the same steps as `fold_latin`).
    `clean`: the input is known to hold only a-z already (transliterations)."""
    if not clean:
        expr = expr.str.to_lowercase().str.normalize("NFKD").str.replace_all("[^a-z]", "")
    patterns = sorted(FOLD_LETTERS, key=len, reverse=True)
    expr = expr.str.replace_many(patterns, [FOLD_LETTERS[p] for p in patterns], leftmost=True)
    expr = _collapse_doubles(expr).str.replace_all("ie", "e", literal=True)
    return _collapse_doubles(expr)


TRANSLIT_SCHEMES = ("icao_doc_9303", "gost_52535", "mvd_782", "bgn_pcgn")
_WORD_START = "\x02"
# Cyrillic letters of neighbouring languages that the Russian schemes leave alone.
_EXTRA_LETTERS = {"і": "i", "ї": "i", "є": "e", "ґ": "g", "ў": "u", "ә": "a", "ө": "o", "ү": "u",
                  "ұ": "u", "қ": "k", "ғ": "g", "ң": "n", "һ": "h", "ј": "j", "љ": "l", "њ": "n"}


def _ascii(out: str, icao: dict[str, str]) -> str:
    """A rule's output in plain a-z: BGN's ë and ”, MVD's ', and any Cyrillic left (BGN keeps ё)."""
    out = "".join(ch for ch in unicodedata.normalize("NFKD", out) if unicodedata.category(ch) != "Mn")
    out = "".join(icao.get(ch, ch) for ch in out)
    return "".join(ch for ch in out if "a" <= ch <= "z")


@cache
def _scheme_definition(name: str) -> dict | None:
    import iuliia

    try:
        with open(iuliia.schemas.get(name).path, encoding="utf-8") as fh:
            return json.load(fh)
    except Exception:  # noqa: BLE001 - a future iuliia may store schemas differently
        return None


@cache
def _scheme_rules(name: str) -> tuple[list[str], list[str]] | None:
    """iuliia's rules for a schema as leftmost-first patterns: the word-start rules, the letter pairs
    with a context rule, then single letters; outputs reduced to a-z.

    None when the schema cannot be expressed so (ending rules); then iuliia runs per word.
    """
    defn = _scheme_definition(name)
    icao_defn = _scheme_definition("icao_doc_9303")
    if defn is None or icao_defn is None or defn.get("ending_mapping"):
        return None
    icao = icao_defn["mapping"]
    mapping = {**_EXTRA_LETTERS, **defn["mapping"]}
    prev_map = defn.get("prev_mapping") or {}
    next_map = defn.get("next_mapping") or {}
    rules: dict[str, str] = {}
    for key, out in prev_map.items():
        if len(key) == 1:  # the first letter of a word
            rules[_WORD_START + key] = out
    for pair in sorted(set(k for k in prev_map if len(k) == 2) | set(next_map)):
        first, second = pair
        out_first = next_map[pair] if pair in next_map else mapping.get(first, first)
        out_second = prev_map[pair] if pair in prev_map else mapping.get(second, second)
        rules[pair] = out_first + out_second
    rules.update(mapping)
    rules[_WORD_START] = ""
    return list(rules), [_ascii(out, icao) for out in rules.values()]


def translit_expr(expr: pl.Expr, scheme: str) -> pl.Expr:
    """Transliterate lower-case words with an iuliia schema; the result keeps only a-z."""
    rules = _scheme_rules(scheme)
    if rules is None:
        import iuliia

        schema = iuliia.schemas.get(scheme)

        def plain(word: str) -> str:
            return "".join(ch for ch in unicodedata.normalize("NFKD", schema.translate(word)) if "a" <= ch <= "z")

        return expr.map_elements(plain, return_dtype=pl.String)
    patterns, repl = rules
    out = (pl.lit(_WORD_START) + expr).str.replace_many(patterns, repl, leftmost=True)
    return out.str.replace_all("[^a-z]", "")


# Endings dropped before the skeleton, so that the feminine and adjectival forms meet.
_SKELETON_ENDINGS = {
    "skaia": "sk", "ckaia": "ck", "skoi": "sk", "ckoi": "ck", "ski": "sk", "cki": "ck",
    "ova": "ov", "eva": "ev", "ina": "in", "aia": "", "oi": "",
}
_END = "\x03"


def skeleton_expr(folded: pl.Expr) -> pl.Expr:
    """Coarse key of a folded surname: feminine/adjectival ending dropped, first letter + consonants,
    voiced merged with unvoiced, doubles collapsed. Сидоров, Сидорова, Sidorov → strf."""
    endings = sorted(_SKELETON_ENDINGS, key=len, reverse=True)
    stem = (folded + pl.lit(_END)).str.replace_many(
        [e + _END for e in endings] + [_END], [_SKELETON_ENDINGS[e] for e in endings] + [""], leftmost=True
    )
    consonants = stem.str.head(1) + stem.str.slice(1).str.replace_all("[aeiou]", "")
    merged = consonants.str.replace_many(["zh", "b", "v", "g", "d", "z"], ["sh", "p", "f", "k", "t", "s"], leftmost=True)
    merged = _collapse_doubles(merged)
    return pl.when(merged.str.len_bytes() > 0).then(merged)


# ---------------------------------------------------------------- one token

# (display, key, class, gender as first name, as surname, as patronymic, translit source, mixed fixed, case fixed)
TokenInfo = tuple[str | None, str | None, str, str | None, str | None, str | None, str | None, bool, bool]
TOKEN_FIELDS = ("disp", "key", "cls", "g_first", "g_last", "g_mid", "tr_src", "mixed", "case")
_NOISE: TokenInfo = (None, None, "X", None, None, None, None, False, False)
_NOTHING: TokenInfo = (None, None, "_", None, None, None, None, False, False)


def _is_cyr(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_lat(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _strip_word(raw: str) -> str | None:
    """Trim punctuation around a word; None when it is noise (digits, @, odd symbols inside)."""
    text = unicodedata.normalize("NFC", raw).translate(APOSTROPHES).replace("\u0301", "").replace("\u0300", "")
    if any(ch.isdigit() or ch == "@" for ch in text):
        return None
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha() and unicodedata.category(text[end - 1])[0] != "M":
        end -= 1
    word = text[start:end]
    if any(not (ch.isalpha() or ch in "-'" or unicodedata.category(ch)[0] == "M") for ch in word):
        return None
    return word


def repair_script(word: str) -> tuple[str, bool]:
    """Replace Latin look-alikes inside a Cyrillic word (or the reverse); (word, changed)."""
    cyr = sum(1 for ch in word if _is_cyr(ch))
    lat = sum(1 for ch in word if _is_lat(ch))
    if not cyr or not lat:
        return word, False
    if cyr >= lat and all(ch in LAT2CYR for ch in word if _is_lat(ch)):
        return "".join(LAT2CYR.get(ch, ch) for ch in word), True
    if lat > cyr and all(ch in CYR2LAT for ch in word if _is_cyr(ch)):
        return "".join(CYR2LAT.get(ch, ch) for ch in word), True
    return word, False


def fix_case(word: str) -> str:
    """Capitalize each hyphen/apostrophe part unless it already looks deliberate (McDonald)."""
    parts = re.split(r"([-'])", word)
    out = []
    for part in parts:
        if not part or part in "-'":
            out.append(part)
        elif fold_yo(part) in OGLU:
            out.append(part.lower())
        elif part[0].isupper() and not (len(part) > 1 and part.isupper()):
            out.append(part)
        else:
            out.append(part[:1].upper() + part[1:].lower())
    return "".join(out)


def word_key(word: str) -> str:
    """Match key of a word: lower case, ё → е, no hyphens, apostrophes or spaces."""
    return fold_yo(word).replace("-", "").replace("'", "").replace(" ", "")


_STOP_KEYS = frozenset(word_key(w) for w in STOP_WORDS)


_PURE_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]+")
_PURE_LATIN = re.compile(r"[a-zA-Z]+")


@lru_cache(maxsize=1 << 20)
def token_info(raw: str) -> TokenInfo:
    """Everything about one raw token. Cached: the same word is worked out once per process."""
    if COMPOUND in raw:
        return _compound_info(raw.split(COMPOUND))
    if _PURE_CYRILLIC.fullmatch(raw):  # the common case, without the character loops below
        return _word_info(raw, False, False)
    if _PURE_LATIN.fullmatch(raw):
        return _word_info(raw, True, False)
    word = _strip_word(raw)
    if word is None:
        return _NOISE
    if not word:
        return _NOTHING
    word, mixed = repair_script(word)
    letters = [ch for ch in word if ch.isalpha()]
    if all(_is_lat(ch) for ch in letters):
        return _word_info(word, True, mixed)
    if all(_is_cyr(ch) for ch in letters):
        return _word_info(word, False, mixed)
    key = word_key(word)  # another script (Greek, CJK…) or an unfixable mix
    if key in _STOP_KEYS:
        return _NOISE
    disp = fix_case(word)
    tr_src = "".join(ch for ch in disp.lower() if ch.isalpha())
    return (disp, key, "U", None, None, None, tr_src, mixed, disp != word)


def _word_info(word: str, latin: bool, mixed: bool) -> TokenInfo:
    """A word of Cyrillic or of Latin letters (hyphens and apostrophes allowed)."""
    key = word_key(word)
    if key in _STOP_KEYS:
        return _NOISE
    if len(key) == 1:
        disp = word.upper() + "."
        return (disp, key, "i" if latin else "I", None, None, None, None, mixed, word != word.upper())
    if key in PARTICLES or key in OGLU:
        cls = "a" if latin else "A"
        return (word.lower(), key, cls, None, None, OGLU.get(key), fold_yo(word), mixed, word != word.lower())
    if "-" in word or "'" in word:
        disp = fix_case(word)
        parts = [word_key(p) for p in re.split(r"[-']", word) if p]
        cls, g_first, g_last, g_mid = _classify_parts(parts, latin)
        tr_src = "".join(ch for ch in disp.lower() if ch.isalpha())
    else:
        disp = word if word[0].isupper() and not word.isupper() else word.capitalize()
        cls, g_first, g_last, g_mid = (classify_latin if latin else classify_cyrillic)(key)
        tr_src = disp.lower()
    return (disp, key, cls, g_first, g_last, g_mid, tr_src, mixed, disp != word)


def _compound_info(parts: list[str]) -> TokenInfo:
    """«фон Браун», «ван дер Берг» (particles + surname) or «Гасан оглы» (name + marker)."""
    infos = [token_info(p) for p in parts]
    if any(i[2] in "X_" for i in infos):
        return _NOISE
    disp = " ".join(i[0] for i in infos)
    key = "".join(i[1] for i in infos)
    tr_src = "".join(i[6] or "" for i in infos) or None
    mixed, case = any(i[7] for i in infos), any(i[8] for i in infos)
    latin = infos[-1][2].islower() if infos[-1][2].isalpha() else False
    if infos[-1][2] in "Aa" and infos[-1][1] in OGLU:  # Гасан оглы: a patronymic
        return (disp, key, "p" if latin else "P", None, None, OGLU[infos[-1][1]], tr_src, mixed, case)
    main = infos[-1]
    return (disp, key, "g" if latin else "G", None, main[4], None, tr_src, mixed, case)


def _classify_parts(parts: list[str], latin: bool) -> tuple[str, str | None, str | None, str | None]:
    """Class of a word, or of a hyphenated one from its parts: Иванов-Петров is a surname,
    Анна-Мария a first name, Гасан-оглы a patronymic."""
    classify = classify_latin if latin else classify_cyrillic
    if len(parts) == 1:
        return classify(parts[0])
    if parts[-1] in OGLU:
        return ("p" if latin else "P"), None, None, OGLU[parts[-1]]
    infos = [classify(p) for p in parts if p not in PARTICLES]
    if not infos:
        return ("a" if latin else "A"), None, None, None
    classes = {i[0].upper() for i in infos}
    as_cls = str.lower if latin else str.upper
    if classes <= {"F", "B"}:
        return as_cls("F"), infos[0][1], None, None
    if classes & {"S", "B", "G", "Q"}:
        g_last = next((i[2] for i in reversed(infos) if i[2]), None)
        return as_cls("S"), None, g_last, None
    if classes == {"P"}:
        return as_cls("P"), None, None, infos[-1][3]
    return as_cls("U"), None, None, None


def _ends(key: str, suffixes: tuple[str, ...], stem: int = 2) -> str | None:
    if not key.endswith(suffixes):
        return None
    for suffix in suffixes:
        if key.endswith(suffix) and len(key) - len(suffix) >= stem:
            return suffix
    return None


def _morph_tags(key: str) -> tuple[set, set, bool, bool]:
    """Dictionary parses of a word in the nominative: (name genders, surname genders, patronymic, known)."""
    name_g: set = set()
    surn_g: set = set()
    patr = known = False
    morph = _morph()
    if not morph.word_is_known(key):  # pymorphy's guesses for unknown words are slow and not wanted
        return name_g, surn_g, patr, known
    for parse in morph.parse(key):
        if not parse.is_known:
            continue
        known = True
        tag = parse.tag
        if tag.case != "nomn":
            continue
        if "Name" in tag:
            name_g.add(tag.gender)
        elif "Surn" in tag:
            surn_g.add(tag.gender)
        elif "Patr" in tag:
            patr = True
    return name_g, surn_g, patr, known


def _gender(genders: set) -> str | None:
    if genders == {"masc"}:
        return "М"
    if genders == {"femn"}:
        return "Ж"
    return None


def _surname_gender(key: str) -> str | None:
    if _ends(key, SURN_F + SURN_IN_F):
        return "Ж"
    if _ends(key, SURN_M + SURN_IN_M):
        return "М"
    return None


# How a patronymic grows from its first name: Иван → Иван-ович, Сергей / Игорь → Серге-евич /
# Игор-евич, Никита / Илья → Никит-ич / Иль-ич. So "Любович" is not Люба's patronymic but a
# (Belarusian) surname, like Карпович or Новодемидович.
_PATR_NAME_ENDS = {"ович": ("",), "евич": ("й", "ь", ""), "ич": ("а", "я")}


def _patronymic_base_is_name(base: str, names: dict, suffix: str = "ич") -> bool:
    base = IRREGULAR_PATR_BASE.get(base, base)
    if base in IRREGULAR_PATR_BASE.values():
        return True
    return any(base + end in names for end in _PATR_NAME_ENDS[suffix])


@lru_cache(maxsize=1 << 20)
def classify_cyrillic(key: str) -> tuple[str, str | None, str | None, str | None]:
    """(class, gender as first name, as surname, as patronymic) of a Cyrillic word key."""
    names = first_names()
    if _ends(key, PATR_F):
        return "P", None, None, "Ж"
    if key.endswith("ыч") and len(key) > 4:
        return "P", None, None, "М"
    patr_m = _ends(key, PATR_M)
    if patr_m or (key.endswith("ич") and len(key) > 4):
        name_g, surn_g, patr, _ = _morph_tags(key)
        if patr:
            return "P", None, None, "М"
        if surn_g:
            return "S", None, None, None
        base = key[: -len(patr_m)] if patr_m else key[:-2]
        if _patronymic_base_is_name(base, names, patr_m or "ич"):
            return "P", None, None, "М"
        # a surname in -ович/-ич is worn by women too (Анна Карпович): no gender from it
        return ("Q" if patr_m else "S"), None, None, "М"
    if key in names:
        g = names[key]
        if _ends(key, SURNAME_SUFFIXES):
            return "B", g, _surname_gender(key), None
        _, surn_g, _, _ = _morph_tags(key)
        return ("B" if surn_g else "F"), g, _gender(surn_g), None
    if _ends(key, SURNAME_SUFFIXES):  # first names ending so are in first_names.csv
        return "S", None, _surname_gender(key), None
    name_g, surn_g, patr, known = _morph_tags(key)
    if name_g and surn_g:
        return "B", _gender(name_g), _gender(surn_g), None
    if name_g:
        return "F", _gender(name_g), None, None
    if surn_g:
        return "S", None, _gender(surn_g), None
    if patr:
        return "P", None, None, None
    return ("W" if known else "U"), None, None, None


@lru_cache(maxsize=1 << 20)
def classify_latin(key: str) -> tuple[str, str | None, str | None, str | None]:
    """(class, genders…) of a Latin word key: a first-name list, Russian-style endings, else unknown."""
    key = key.replace("'", "")
    if _ends(key, LAT_PATR_F):
        return "p", None, None, "Ж"
    names = latin_first_names()
    patr_m = _ends(key, LAT_PATR_M)
    if patr_m:
        base = fold_latin(key[: -len(patr_m)])
        if any(base + end in names for end in ("", "y", "i", "iy", "ij")):
            return "p", None, None, "М"
        return "s", None, None, "М"  # Tikhobobrovich, Karpovich: a surname, either gender
    folded = fold_latin(key)
    surn_g = "Ж" if _ends(key, LAT_SURN_F) else ("М" if _ends(key, LAT_SURN_M) else None)
    surname = surn_g is not None or _ends(key, LAT_SURN_ANY) is not None
    if folded in names:
        return ("b" if surname else "f"), names[folded], surn_g, None
    if surname:
        return "s", None, surn_g, None
    return "u", None, None, None


# ---------------------------------------------------------------- initials across scripts

# The Latin letters a Cyrillic initial is written with (В. → V., Е. → E. or Ye., Х. → Kh. or H.).
_CYR_INITIAL_LATIN = {
    "А": "A", "Б": "B", "В": "VW", "Г": "G", "Д": "D", "Е": "EY", "Ё": "EYJ", "Ж": "Z", "З": "Z", "И": "I",
    "Й": "YIJ", "К": "KC", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T",
    "У": "U", "Ф": "F", "Х": "KH", "Ц": "TC", "Ч": "C", "Ш": "S", "Щ": "S", "Э": "E", "Ю": "YIJ", "Я": "YIJ",
}


@cache
def latin_initials() -> dict[str, tuple[str, ...]]:
    """Initial (either script, upper case) → the Latin letters it may be written with, so that
    "В." meets "Vladislav" and "Е." meets "Yekaterina". A Latin initial stands for itself."""
    table = {cyr: tuple(latin) for cyr, latin in _CYR_INITIAL_LATIN.items()}
    table.update({chr(c): (chr(c),) for c in range(ord("A"), ord("Z") + 1)})
    return table
