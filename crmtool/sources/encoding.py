"""Text encoding detection tuned for Russian business files.

General detectors (charset-normalizer, chardet) guess wrong on short or
all-caps Russian tables (cp1251 taken for cp932, koi8-r for cp1251), which is
exactly what client dumps look like. So: BOMs first, then UTF-16 by its NUL
pattern, then strict UTF-8, and for single-byte code pages a score of Russian
letter frequencies that tells cp1251 from koi8-r even in capitals, and Western
cp1252 from both by whether non-ASCII letters form whole words.
"""

from __future__ import annotations

import codecs
import math
import re

from crmtool.errors import SourceError

SAMPLE_SIZE = 256 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Letter frequencies of Russian text, per 1000 letters.
_RU_FREQ = {
    "о": 109.7, "е": 84.5, "а": 80.1, "и": 73.5, "н": 67.0, "т": 62.6, "с": 54.7, "р": 47.3,
    "в": 45.4, "л": 44.0, "к": 34.9, "м": 32.1, "д": 29.8, "п": 28.1, "у": 26.2, "я": 20.1,
    "ы": 19.0, "ь": 17.4, "г": 17.0, "з": 16.5, "б": 15.9, "ч": 14.4, "й": 12.1, "х": 9.7,
    "ж": 9.4, "ш": 7.3, "ю": 6.4, "ц": 4.8, "щ": 3.6, "э": 3.2, "ф": 2.6, "ъ": 0.4, "ё": 0.4,
}
_RU_LOGP = {ch: math.log(f / 1000) for ch, f in _RU_FREQ.items()}
_RARE_LOGP = math.log(0.0001)
_CYR = re.compile(r"[а-яё]", re.I)
_CYR_WORD = re.compile(r"[а-яё]{2,}", re.I)
_CTRL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def bom_of(data: bytes) -> tuple[str | None, int]:
    """The encoding a byte order mark announces, and the mark's length."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None, 0


def looks_binary(sample: bytes) -> bool:
    """NUL bytes or many control characters: not a text file (UTF-16 is ruled out first)."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    return len(_CTRL.findall(sample)) > max(8, len(sample) // 100)


def _utf16_without_bom(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > half * 0.3 and even < half * 0.05:
        return "utf-16-le"
    if even > half * 0.3 and odd < half * 0.05:
        return "utf-16-be"
    return None


def _is_utf8(sample: bytes, complete: bool) -> bool:
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        return not complete and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"


def _russian_score(text: str) -> float:
    letters = _CYR.findall(text.lower())
    if not letters:
        return -99.0
    return sum(_RU_LOGP.get(ch, _RARE_LOGP) for ch in letters) / len(letters)


def _single_byte(sample: bytes) -> str:
    high = sum(1 for b in sample if b >= 0x80)
    if not high:
        return "ascii"
    candidates = {}
    for enc in ("cp1251", "koi8_r"):
        text = sample.decode(enc, errors="replace")
        candidates[enc] = _russian_score(text)
    # cp1251 is far more common than koi8-r: koi8-r has to win clearly.
    best = "koi8_r" if candidates["koi8_r"] > candidates["cp1251"] + 0.3 else "cp1251"
    text = sample.decode(best, errors="replace")
    # In Russian text non-ASCII letters come in whole words; in Western text
    # (José, Müller) they sit alone among ASCII letters.
    in_words = sum(len(w) for w in _CYR_WORD.findall(text))
    if in_words < high * 0.5:
        return "cp1252"
    return best


def detect(sample: bytes, complete: bool = False) -> str:
    """Name the encoding of a file from its first bytes (`complete`: the sample is the whole file)."""
    bom, _ = bom_of(sample)
    if bom:
        return bom
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    if _is_utf8(sample, complete) or _damaged_utf8(sample):
        return "utf-8"
    return _single_byte(sample)


def _damaged_utf8(sample: bytes) -> bool:
    """Mostly well-formed UTF-8 with a few bad bytes: still UTF-8, so that decoding
    fails loudly at the bad byte instead of turning every letter into mojibake."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return good >= 8 and good >= 4 * bad


def decode(data: bytes, encoding: str, path: str) -> str:
    """Decode a whole file strictly; a byte that does not fit names its line."""
    _, bom_len = bom_of(data)
    codec = "ascii" if encoding == "ascii" else encoding
    if codec == "ascii":
        codec = "utf-8"
    try:
        return data[bom_len:].decode(codec)
    except UnicodeDecodeError as exc:
        offset = exc.start + bom_len
        line = data.count(b"\n", 0, offset) + 1
        raise SourceError(
            path,
            f"cannot decode as {encoding}: byte 0x{data[offset]:02x} at offset {offset} "
            f"(pass --encoding if the file uses another code page)",
            line=line,
        ) from None
    except LookupError:
        raise SourceError(path, f"unknown encoding {encoding!r}") from None


def normalize_name(encoding: str) -> str:
    """A stable, user-facing name for an encoding (cp1251 rather than windows-1251)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return {"koi8-r": "koi8-r", "utf-8": "utf-8"}.get(name, name)
