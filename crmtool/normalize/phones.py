"""Phone numbers: raw cells to E.164, extensions, number types and quality flags.

A phone cell from a client base is rarely just a number: it holds national
prefixes (8 / 7 / +7), brackets and dashes, extensions ("доб. 123", "x215",
iPhone's ",215"), several numbers ("…, …", "… / 68"), labels and names
("тел. … (Иван)"), or digits Excel already destroyed ("7,91612E+10").

Why two paths: `phonenumbers` manages ~22k validated numbers a second, far too
slow for a million cells, yet almost every cell is a plain Russian number. So
plain shapes (10 or 11 digits with punctuation, maybe Russian/Latin words around
them, or a word-marked extension after them) are done by polars expressions
over the whole column.
Their type comes from the *same* national-number patterns phonenumbers uses
for RU (read from its metadata at import), so both paths agree by
construction; a number those patterns do not accept falls through to the
slow path. Everything else is parsed in Python once per distinct cell.

Every input position gets at least one output row; the original is on every
row. An area code is never invented: a 5–7 digit local number is `invalid`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import phonenumbers as pn
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberType

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "index": pl.UInt32,
    "part": pl.Int32,
    "original": pl.String,
    "text": pl.String,
    "e164": pl.String,
    "ext": pl.String,
    "type": pl.String,
    "status": pl.String,
    "reason": pl.String,
}

# FIXED_LINE_OR_MOBILE (all of +1, some other plans) is reported as `fixed`:
# `mobile` is a promise (SMS, messengers) made only when the numbering plan says so.
_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "other",
    PhoneNumberType.PAGER: "other",
    PhoneNumberType.UAN: "other",
    PhoneNumberType.VOICEMAIL: "other",
    PhoneNumberType.UNKNOWN: "unknown",
}

_PARSE_ERRORS = {
    pn.NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    pn.NumberParseException.NOT_A_NUMBER: "not_a_number",
    pn.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    pn.NumberParseException.TOO_SHORT_NSN: "too_short",
    pn.NumberParseException.TOO_LONG: "too_long",
}

_POSSIBLE_REASONS = {
    pn.ValidationResult.TOO_SHORT: "too_short",
    pn.ValidationResult.TOO_LONG: "too_long",
    pn.ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


# --- the RU numbering plan, from phonenumbers' own metadata ---------------------------


def _ru_type_patterns() -> tuple[str, list[tuple[str, str]]]:
    """(general pattern, [(type, pattern)…]) for 10-digit RU national numbers, in the order
    phonenumbers tests them (`_number_type_helper`), so a first match gives its answer."""
    md = PhoneMetadata.metadata_for_region("RU")

    def usable(desc) -> bool:
        return desc is not None and desc.national_number_pattern is not None and (
            not desc.possible_length or 10 in desc.possible_length
        )

    order = [
        ("premium_rate", "premium"), ("toll_free", "toll_free"), ("shared_cost", "shared_cost"),
        ("voip", "voip"), ("personal_number", "other"), ("pager", "other"), ("uan", "other"),
        ("voicemail", "other"), ("fixed_line", "fixed"), ("mobile", "mobile"),
    ]
    patterns = [(name, getattr(md, attr).national_number_pattern) for attr, name in order if usable(getattr(md, attr))]
    return md.general_desc.national_number_pattern, patterns


_RU_GENERAL, _RU_TYPES = _ru_type_patterns()
_RU_GENERAL_RE = re.compile(_RU_GENERAL)
_RU_TYPES_RE = [(name, re.compile(pattern)) for name, pattern in _RU_TYPES]


def _ru_type(national: str) -> str | None:
    """The type of a 10-digit RU national number, or None if RU does not assign it."""
    if not _RU_GENERAL_RE.fullmatch(national):
        return None
    for name, pattern in _RU_TYPES_RE:
        if pattern.fullmatch(national):
            return name
    return None


def _ru_national(digits: str, plus: bool, region: str) -> str | None:
    """The 10-digit national part of a plain RU shape (the fast path's rule), else None."""
    if plus:
        return digits[1:] if len(digits) == 11 and digits[0] == "7" else None
    if region != "RU":
        return None
    if len(digits) == 11 and digits[0] in "78":
        return digits[1:]
    if len(digits) == 10 and digits[0] in "3489":
        return digits
    return None


# --- text patterns (shared by both paths where they overlap) ----------------------------

# Words that introduce an extension; "х" is the Cyrillic look-alike of "x".
_EXT_WORDS = r"добавочный|доб|внутренний|внутр|вн|доп|extension|extn|ext|x|х"
_PUNCT = r" \t\u00a0\-\u2010-\u2015()."
_SIMPLE = rf"\+?[0-9{_PUNCT}]*[0-9][0-9{_PUNCT}]*"

# Fast-path shapes: one plain number with only Russian/Latin words and light punctuation
# around it ("тел.: 8 916 … (Иван)"), or a plain number with a word-marked extension.
_LABEL = "A-Za-zА-Яа-яЁё \t\u00a0.:()\\-№"
_FAST_LABELLED_RE = rf"^([{_LABEL}]*)({_SIMPLE})([{_LABEL}]*)$"
_FAST_EXT_RE = rf"(?i)^({_SIMPLE}?)[ \t\u00a0]*(?:{_EXT_WORDS})\.?[ \t\u00a0]*[.:№]?[ \t\u00a0]*([0-9]{{1,7}})$"
_FAST_SEP_WORD_RE = r"(?i):::|\s(?:или|либо|and|or|и)\s"  # as _SEP_RE: such a cell may hold two numbers

_LETTER = r"[^\W\d_]"
# A number as written: digits, spaces, dashes, dots; "(" only as a group of digits, so
# "67 (2 шт)" ends before the bracket while "8 (916) 123" stays one number.
_DASHES = " \t\u00a0\\-\u2010-\u2015."
_RUN = rf"\+?[(\s]*\d(?:[\d{_DASHES})]|\(\s*\d[\d{_DASHES}]*\))*"
_EXT_MARK = rf"(?:(?<!{_LETTER})(?:{_EXT_WORDS})(?!{_LETTER})\.?|[#*]|(?<=\d),+)"
_TOKEN_RE = re.compile(
    rf"(?P<ext>{_EXT_MARK}\s*[.:№]?\s*(?P<extnum>\d{{1,7}})(?!\d))|(?P<num>{_RUN})",
    re.IGNORECASE,
)
_NUM_RE = re.compile(_RUN)
_LOOSE_RUN_RE = re.compile(rf"\d[\d{_PUNCT}]*")  # brackets anywhere: "8 (916 123…" is one number
_SEP_RE = re.compile(r"[;\n\r|/\\]+|,+|\s*:::\s*|\s+(?:или|либо|and|or|и)\s+", re.IGNORECASE)  # ::: is Outlook's
_SCI_RE = re.compile(r"(?<![\d.,])[+-]?\d+(?:[.,]\d+)?\s*[eE][+-]?\d+")
_SCI_TAIL_RE = re.compile(r"\d+\s*[eE][+-]?\d")
_PAUSE_TAIL_RE = re.compile(rf"\d{{1,6}}(?!\d)(?![{_PUNCT}]*\d)")
_FLOAT_RE = re.compile(r"(\+?\d{7,15})[.,]0+")
_NON_ASCII_DIGIT = re.compile(r"[^\D0-9]")  # a decimal digit other than 0-9
_NON_DIGIT = re.compile(r"\D")
_RUN_TRAIL = " \t\u00a0-\u2010\u2011\u2012\u2013\u2014\u2015(."  # "67 (" before "Иван)"
_LETTER_RE = re.compile(_LETTER)


# --- one number -----------------------------------------------------------------------


class Number(NamedTuple):
    e164: str | None
    type: str | None
    reason: str | None  # None = valid as written; `assumed_international`, `plus_before_8` = a guess
    invalid: bool


@lru_cache(maxsize=1 << 16)
def _number(digits: str, plus: bool, region: str) -> Number:
    """Validate one number given its digits and whether a '+' was written before them."""
    number = _checked(digits, plus, region)
    if not number.invalid:
        return number
    n = len(digits)
    # Likely intents, offered as suggestions: a foreign number whose '+' Excel dropped,
    # and "+8 916 …" where 8 is the Russian trunk prefix, not a country code.
    if not plus and n >= 11 and digits[0] != "0" and not (region == "RU" and digits[0] in "78"):
        guess = _checked(digits, True, region)
        if not guess.invalid:
            return guess._replace(reason="assumed_international")
    if plus and region == "RU" and n == 11 and digits[0] == "8":
        guess = _checked(digits, False, region)
        if not guess.invalid:
            return guess._replace(reason="plus_before_8")
    return number


def _checked(digits: str, plus: bool, region: str) -> Number:
    """`_number` without guesses: valid as written, or invalid with a reason."""
    n = len(digits)
    if n == 0:
        return Number(None, None, "no_digits", True)
    if not plus and digits.startswith("00") and n > 2:  # 00 49 …: the common international prefix
        plus, digits, n = True, digits[2:], n - 2
    if n > 17:
        return Number(None, None, "too_long", True)
    if not plus:
        if n < 5:
            return Number(None, None, "too_short", True)
        if n <= 7:
            return Number(None, None, "no_area_code", True)
    national = _ru_national(digits, plus, region)
    if national is not None:
        kind = _ru_type(national)
        if kind is not None:
            return Number("+7" + national, kind, None, False)
    parsed, reason = _pn_parse(digits, plus, region)
    if parsed is not None and pn.is_valid_number(parsed):
        return Number(pn.format_number(parsed, pn.PhoneNumberFormat.E164), _TYPE_NAMES[pn.number_type(parsed)], None, False)
    return Number(None, None, reason or _invalid_reason(digits, plus, region, parsed), True)


def _pn_parse(digits: str, plus: bool, region: str):
    try:
        return pn.parse(("+" if plus else "") + digits, None if plus else region), None
    except pn.NumberParseException as e:
        return None, _PARSE_ERRORS.get(e.error_type, "not_a_number")


def _invalid_reason(digits: str, plus: bool, region: str, parsed) -> str:
    n = len(digits)
    if not plus and region == "RU" and not digits.startswith("810"):
        # 8/7 + fewer than ten digits is a truncated number, not an unknown range.
        if n < 10 or (n == 10 and digits[0] in "78"):
            return "too_short"
        if n > 11:
            return "too_long"
        return "not_a_number"
    if parsed is not None:
        return _POSSIBLE_REASONS.get(pn.is_possible_number_with_reason(parsed), "not_a_number")
    return "not_a_number"


# --- one cell (slow path) -------------------------------------------------------------


class Row(NamedTuple):
    """One output row of the slow path (the cell's position and original are added later)."""

    text: str | None
    e164: str | None
    ext: str | None
    type: str | None
    status: str
    reason: str | None


class _Part:
    """A number found in a cell, before its status is settled."""

    __slots__ = ("digits", "plus", "start", "end", "ext", "text", "in_text", "number", "tail")

    def __init__(self, digits: str, plus: bool, start: int = 0, end: int = 0, ext: str | None = None):
        self.digits, self.plus, self.start, self.end, self.ext = digits, plus, start, end, ext
        self.text = ""
        self.in_text = False  # letters (labels, names) around it in its segment
        self.number: Number | None = None
        self.tail: str | None = None  # `fixed` / `suggested` when built from the previous number


def _ascii_digits(s: str) -> str:
    """Other scripts' decimal digits (Arabic-Indic, full-width…) as ASCII, one char for one."""
    if s.isascii() or not _NON_ASCII_DIGIT.search(s):
        return s
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), s)


def _may_be_scientific(s: str) -> bool:
    """Whether `_SCI_RE` can match at all (it needs an e): most cells skip the regex."""
    return "e" in s or "E" in s


def _segments(s: str) -> list[tuple[int, int]]:
    """Spans of `s` between number separators (, ; / \\ | new line, или, and…).

    A comma is not a separator inside Excel's "7,91612E+10", nor as iPhone's pause
    "…-34,215" (a comma right after a digit and before 1–6 digits that end the number).
    """
    spans, start = [], 0
    for m in _SEP_RE.finditer(s):
        if m.group().startswith(","):
            i, j = m.start(), m.end()
            if i > 0 and s[i - 1].isdigit() and j < len(s) and s[j].isdigit():
                rest = s[j:]
                if _SCI_TAIL_RE.match(rest) or _PAUSE_TAIL_RE.match(rest):
                    continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(s)))
    return spans


def _tokens(seg: str) -> tuple[list[_Part], list[str]]:
    """Numbers (with their extensions) and stray extensions in one segment, left to right."""
    parts: list[_Part] = []
    stray: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _TOKEN_RE.search(seg, pos)) is not None:
        start, end = pos_span = m.span()
        if m.group("ext") is not None:
            extnum = m.group("extnum")
            spans.append(pos_span)
            pos = end
            if parts and parts[-1].ext is None:
                parts[-1].ext, parts[-1].end = extnum, end
                continue
            if parts:  # "доб. 215, 216": the same number, another extension
                prev = parts[-1]
                parts.append(_Part(prev.digits, prev.plus, start, end, extnum))
                continue
            # A marker before any number is a label ("доп. 8 916 …") unless only the
            # extension's digits follow ("доб. 215" after a comma).
            loose = _LOOSE_RUN_RE.match(seg, m.start("extnum"))
            if loose is None or len(_NON_DIGIT.sub("", loose.group())) <= len(extnum):
                stray.append(extnum)
                continue
            spans.pop()
            start, end = _NUM_RE.match(seg, m.start("extnum")).span()  # type: ignore[union-attr]
        run_text = seg[start:end].rstrip(_RUN_TRAIL)
        end = start + len(run_text)
        plus = run_text.lstrip("( \t\u00a0").startswith("+")
        parts.append(_Part(_NON_DIGIT.sub("", run_text), plus, start, end))
        spans.append((start, end))
        pos = end
    rest = seg
    for a, b in sorted(spans, reverse=True):
        rest = rest[:a] + " " + rest[b:]
    in_text = bool(_LETTER_RE.search(rest))
    for p in parts:
        p.in_text = in_text
    return parts, stray


def _split_run(part: _Part, region: str) -> list[_Part] | None:
    """Two numbers written one after the other with only spaces between ("8 916 … 8 903 …")."""
    text = part.text
    if len(part.digits) > 30:
        return None
    for m in re.finditer(r"\s+", text):
        left, right = text[: m.start()], text[m.end() :]
        dl, dr = _NON_DIGIT.sub("", left), _NON_DIGIT.sub("", right)
        if len(dl) < 10 or len(dr) < 10:
            continue
        pr = "+" in right
        a, b = _number(dl, part.plus, region), _number(dr, pr, region)
        if not a.invalid and not b.invalid and a.reason is None and b.reason is None:
            first, second = _Part(dl, part.plus), _Part(dr, pr, ext=part.ext)
            for q, t, num in ((first, left, a), (second, right, b)):
                q.text, q.in_text, q.number = t.strip(), part.in_text, num
            return [first, second]
    return None


def _short_tail(part: _Part, prev: _Part, region: str) -> bool:
    """"8 495 123 45 67 / 68": the second number repeats the first and changes its last digits."""
    k = len(part.digits)
    if prev.ext is not None and k == len(prev.ext):
        part.number, part.ext, part.tail = prev.number, part.digits, "fixed"
        return True
    base = prev.number.e164  # type: ignore[union-attr]
    if k >= len(base) - 3:
        return False
    number = _number(base[1 : len(base) - k] + part.digits, True, region)
    if number.invalid:
        return False
    part.number, part.tail = number, ("fixed" if k <= 2 else "suggested")
    return True


@lru_cache(maxsize=1 << 12)
def _parse_cell(cell: str, region: str) -> tuple[Row, ...]:
    """All numbers in one stripped, non-empty cell."""
    s = _ascii_digits(cell)
    if _may_be_scientific(s) and _SCI_RE.fullmatch(s):
        return (Row(cell, None, None, None, "invalid", "digits_lost"),)
    float_cell = _FLOAT_RE.fullmatch(s)
    if float_cell:  # 79161234567.0: a number that went through a float
        s = float_cell.group(1)
    parts: list[_Part] = []
    for a, b in _segments(s):
        seg = s[a:b]
        if not seg.strip():
            continue
        if _may_be_scientific(seg) and _SCI_RE.search(seg):
            p = _Part("", False)
            p.text, p.number = cell[a:b].strip(), Number(None, None, "digits_lost", True)
            parts.append(p)
            continue
        found, stray = _tokens(seg)
        if any(len(p.digits) >= 5 for p in found):
            found = [p for p in found if len(p.digits) >= 5]  # "кв. 5", "(2)": not numbers
        for p in found:
            p.text = cell[a + p.start : a + p.end].strip()
        if len(found) == 1 and not stray:
            found[0].text = cell[a:b].strip()
        for p in found:
            prev = _last_valid(parts)
            if len(p.digits) <= 4 and len(found) == 1 and prev is not None and _short_tail(p, prev, region):
                parts.append(p)
                continue
            p.number = _number(p.digits, p.plus, region)
            split = _split_run(p, region) if p.number.reason == "too_long" else None
            parts.extend(split or [p])
        for ext in stray:  # "8 495 …, доб. 215": the extension of the number before
            prev = _last_valid(parts)
            if prev is not None and prev.ext is None and prev is parts[-1]:
                prev.ext = ext
                continue
            p = _Part(prev.digits if prev else "", prev.plus if prev else False, ext=ext)
            p.text = cell[a:b].strip()
            p.number = prev.number if prev is not None else Number(None, None, "extension_only", True)
            parts.append(p)
    if not parts:
        reason = "too_short" if re.search(r"\d", s) else "no_digits"
        return (Row(cell, None, None, None, "invalid", reason),)
    several = len(parts) > 1
    rows = []
    for p in parts:
        num = p.number
        assert num is not None
        if num.invalid:
            rows.append(Row(p.text, None, p.ext, None, "invalid", num.reason))
            continue
        if p.tail:
            status, reason = p.tail, "short_tail"
        elif num.reason is not None:
            status, reason = "suggested", num.reason
        elif not several and p.ext is None and cell == num.e164:
            status, reason = "ok", None
        else:
            status = "fixed"
            reason = "split" if several else "extension" if p.ext else "text_removed" if p.in_text else "reformatted"
        rows.append(Row(p.text, num.e164, p.ext, num.type, status, reason))
    return tuple(rows)


def _last_valid(parts: list[_Part]) -> _Part | None:
    for p in reversed(parts):
        if p.number is not None and not p.number.invalid:
            return p
    return None


# --- the column -------------------------------------------------------------------------


def _fast_columns(df: pl.DataFrame) -> pl.DataFrame:
    """Plain RU shapes over the whole column: `national`, `ext`, `type`, `lettered` (words
    around the number) per row; `type` is null where the fast path does not apply (the row
    goes to the slow path).

    No capture groups for the number itself (they cost 6x a match): in both shapes the
    words around the number hold no digits and a '+' can only open the number, so the
    cell's digits are the number's (minus the extension's at the end)."""
    text = pl.col("text")
    found, ext, n = pl.col("found"), pl.col("ext"), pl.col("n")
    all_digits = pl.col("all_digits")
    digits = (
        pl.when(found).then(all_digits)
        .when(ext.is_not_null()).then(all_digits.str.slice(0, all_digits.str.len_bytes() - ext.str.len_bytes()))
    )
    plus = pl.col("plus")
    national = (
        pl.when(plus & (n == 11) & pl.col("digits").str.starts_with("7")).then(pl.col("digits").str.slice(1))
        .when(~plus & (n == 11) & pl.col("digits").str.contains("^[78]")).then(pl.col("digits").str.slice(1))
        .when(~plus & (n == 10) & pl.col("digits").str.contains("^[3489]")).then(pl.col("digits"))
    )
    kind = pl.when(~pl.col("national").str.contains(f"^(?:{_RU_GENERAL})$")).then(pl.lit(None, dtype=pl.String))
    for name, pattern in _RU_TYPES:
        kind = kind.when(pl.col("national").str.contains(f"^(?:{pattern})$")).then(pl.lit(name))
    return (
        df.lazy()
        .select(
            text,
            found=text.str.contains(_FAST_LABELLED_RE) & ~text.str.contains(_FAST_SEP_WORD_RE),
            all_digits=text.str.replace_all(r"[^0-9]+", ""),
            plus=text.str.contains("+", literal=True),
        )
        .with_columns(ext=pl.when(~found).then(text).str.extract(_FAST_EXT_RE, 2))  # (the regex on those rows only)
        .with_columns(digits=digits, lettered=found & text.str.contains("[A-Za-zА-Яа-яЁё]"))
        .with_columns(n=pl.col("digits").str.len_bytes())
        .with_columns(national=national)
        .with_columns(type=kind)
        .select("national", "ext", "type", "lettered")
        .collect()
    )


def _done_rows(df: pl.DataFrame) -> pl.DataFrame:
    """Output rows of the cells finished without Python: blanks (`missing`) and those the
    fast path took (`type` not null), in input order."""
    text, ext = pl.col("text"), pl.col("ext")
    blank = text.is_null() | (text == "")
    e164 = pl.lit("+7") + pl.col("national")
    return df.filter(blank | pl.col("type").is_not_null()).select(
        "index",
        pl.lit(0, dtype=pl.Int32).alias("part"),
        "original",
        pl.when(~blank).then(text).alias("text"),
        pl.when(~blank).then(e164).alias("e164"),
        "ext",
        "type",
        pl.when(blank).then(pl.lit("missing"))
        .when(ext.is_null() & (text == e164)).then(pl.lit("ok"))
        .otherwise(pl.lit("fixed")).alias("status"),
        pl.when(blank).then(pl.lit("empty"))
        .when(ext.is_not_null()).then(pl.lit("extension"))
        .when(pl.col("lettered")).then(pl.lit("text_removed"))
        .when(text != e164).then(pl.lit("reformatted")).alias("reason"),
    )


_PARSED_SCHEMA = {"key": pl.String, "part": pl.Int32, "text_n": pl.String, "e164": pl.String, "ext": pl.String,
                  "type": pl.String, "status": pl.String, "reason": pl.String}
_CHUNK = 50_000  # distinct cells turned into Python objects at a time (bounds memory)


def _slow(df: pl.DataFrame, region: str) -> pl.DataFrame:
    """Every other non-empty cell, parsed in Python once per distinct text."""
    cells = df.get_column("text").unique()
    parsed = pl.concat(
        [_parsed(cells.slice(start, _CHUNK).to_list(), region) for start in range(0, cells.len(), _CHUNK)]
        or [pl.DataFrame(schema=_PARSED_SCHEMA)]
    )
    return (
        df.select("index", "original", pl.col("text").alias("key"))
        .join(parsed, on="key", how="inner")
        .select("index", "part", "original", pl.col("text_n").alias("text"), "e164", "ext", "type", "status", "reason")
    )


def _parsed(cells: list[str], region: str) -> pl.DataFrame:
    columns: tuple[list, ...] = tuple([] for _ in _PARSED_SCHEMA)
    key, part, text, e164, ext, kind, status, reason = columns
    for cell in cells:
        for i, row in enumerate(_parse_cell(cell, region)):
            key.append(cell)
            part.append(i)
            text.append(row.text)
            e164.append(row.e164)
            ext.append(row.ext)
            kind.append(row.type)
            status.append(row.status)
            reason.append(row.reason)
    return pl.DataFrame(dict(zip(_PARSED_SCHEMA, columns)), schema=_PARSED_SCHEMA)


def _normalize(values: pl.Series, default_region: str = "RU", fast: bool = True) -> pl.DataFrame:
    region = (default_region or "RU").upper()
    original = values.cast(pl.String, strict=False) if values.dtype != pl.String else values
    df = pl.DataFrame({"original": original}).with_row_index("index").with_columns(
        text=pl.col("original").str.strip_chars()
    )
    if fast and region == "RU":
        df = df.hstack(_fast_columns(df))
    else:
        df = df.with_columns(national=pl.lit(None, dtype=pl.String), ext=pl.lit(None, dtype=pl.String),
                             type=pl.lit(None, dtype=pl.String), lettered=pl.lit(False))
    # Blanks and fast rows are one per cell and already in order; the few slow rows are
    # merged in by index (cheaper in time and memory than sorting the whole output).
    out = _conform(_done_rows(df))
    rest = df.filter(pl.col("text").is_not_null() & (pl.col("text") != "") & pl.col("type").is_null())
    if rest.height:
        slow = _conform(_slow(rest.select("index", "original", "text"), region)).sort("index", "part")
        out = out.merge_sorted(slow, "index")
    return out


def _conform(df: pl.DataFrame) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) for c, t in OUTPUT_SCHEMA.items()])


def normalize_phones(values: pl.Series, default_region: str = "RU") -> pl.DataFrame:
    """One row per number found in each cell (at least one row per cell).

    Columns: index (UInt32, position in `values`), part (Int32), original, text,
    e164, ext, type, status, reason — see docs/normalize-phones.md.
    `default_region` is the ISO country for numbers written without a country code.
    """
    return _normalize(values, default_region)


def phone_digits_key(e164: pl.Expr) -> pl.Expr:
    """Digits of an E.164 number without the '+' (a match key comparable with digit strings)."""
    return e164.str.strip_prefix("+")
