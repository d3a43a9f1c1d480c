"""vCard (.vcf) address books: phones (Android, iPhone), Outlook, Google, Thunderbird, macOS.

The files are read by a small parser of our own, in three steps: physical
lines (bytes), logical lines (unfolded), and properties decoded into one
record per card. Off-the-shelf parsers (vobject 0.9.9) give up on exactly what
phone exports contain: vCard 2.1 QUOTED-PRINTABLE values whose `=` soft line
breaks continue on lines *without* a leading space, CR CR LF line endings,
QP bytes that are not UTF-8 and no CHARSET to say so, `PROFILE:VCard`, and
cards cut off at the end of the file.

Decisions:
- Lines are unfolded as bytes, before decoding: RFC folding may split a
  multi-byte UTF-8 letter in two. QP values are decoded with their CHARSET,
  else as UTF-8, else as the file's single-byte code page (or cp1251/cp1252 by
  whether the letters form Cyrillic words). Raw 8-bit values follow the file's
  encoding, found by `encoding.py` (BOMs and UTF-16 included).
- PHOTO, LOGO, SOUND and KEY values (base64 blobs folded over hundreds of
  lines) are skipped while reading, never assembled; `extra` says a photo was
  there (or keeps its URL when it is a short http link).
- Every BEGIN:VCARD is a record, so the record count always equals the number
  of BEGIN lines: a card cut off (no END, or a new BEGIN first) is kept and
  flagged `card_truncated`; a line that is no property (no colon) flags the card
  `card_parse_error` and the rest of the card is kept.
- Cards are turned into records in batches as the file is read, so a big
  address book is not held in memory twice.
"""

from __future__ import annotations

import binascii
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Iterator

import polars as pl

from crmtool.errors import SourceError
from crmtool.sources import encoding as enc
from crmtool.sources.base import Progress, ReadOptions, ReadResult, TableInfo, no_progress
from crmtool.sources.schema import batch_from_rows, to_json

BATCH_CARDS = 2000
PROGRESS_CARDS = 200
# Properties whose values are binary (or a link to binary): skipped, not stored.
BLOB_PROPERTIES = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# A blob's value is kept only when it is a short link.
_BLOB_KEEP = 2048
# Read and used for the profile or the entity hint, or pure bookkeeping: not copied to `extra`.
_IGNORED = frozenset({
    "VERSION", "PROFILE", "PRODID", "REV", "CLASS", "SORT-STRING", "NAME", "SOURCE", "MAILER",
    "X-ABUID", "X-ABADR", "X-ABLABEL", "X-ABSHOWAS", "KIND", "X-GENERATOR", "X-ETAG",
    "X-MS-OL-DESIGN", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "X-COUCHDB-APPLICATION-ANNOTATIONS",
    "X-EVOLUTION-FILE-AS",
})
_TARGETS = {
    "FN": "full_name", "N": "last_name, first_name, middle_name", "ORG": "company, department",
    "TITLE": "job_title", "ROLE": "job_title", "BDAY": "birthday", "ADR": "address, city", "NOTE": "note",
    "URL": "website", "TEL": "phones", "EMAIL": "emails", "UID": "source_key", "GENDER": "gender",
    "X-GENDER": "gender", "KIND": "entity_hint", "X-ABSHOWAS": "entity_hint",
    "X-ABLABEL": "phone_kinds, email_kinds", "PRODID": "profile", "LABEL": "extra (when no ADR)",
}
_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"})

# Kinds from TYPE parameters, strongest first: a work fax is a fax, a work cell a mobile.
_PHONE_TYPES = (
    ("fax", "fax"), ("pager", "pager"), ("cell", "mobile"), ("mobile", "mobile"), ("iphone", "mobile"),
    ("car", "mobile"), ("work", "work"), ("main", "work"), ("home", "home"),
)
_EMAIL_TYPES = (("work", "work"), ("home", "home"))
# Custom labels (X-ABLabel, any language) by keyword.
_LABEL_KINDS = (
    (re.compile(r"fax|факс", re.I), "fax"),
    (re.compile(r"pager|пейдж", re.I), "pager"),
    (re.compile(r"mobile|cell|iphone|моб|сот", re.I), "mobile"),
    (re.compile(r"work|main|office|company|раб|офис|служ", re.I), "work"),
    (re.compile(r"home|дом|личн", re.I), "home"),
)
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
_CYR_WORD = re.compile(r"[а-яё]{2,}", re.I)
_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", ":": ":", "\\": "\\", '"': '"'}
_ESCAPE = re.compile(r"\\(.)", re.S)
_CARET = re.compile(r"\^(.)")
_QP_START = re.compile(rb"^[ \t]+(?==[0-9A-Fa-f]{2})")
# Any property whose value is base64 (Outlook's X-MS-CARDPICTURE too) is a blob.
_BASE64_PARAM = re.compile(rb"(?i);\s*(?:encoding\s*=\s*)?(?:b|base64)\s*(?:;|$)")


def read_vcard(path: Path, options: ReadOptions, progress: Progress = no_progress) -> ReadResult:
    with open(path, "rb") as fh:
        sample = fh.read(enc.SAMPLE_SIZE)
        detected = options.encoding or enc.detect(sample, complete=len(sample) < enc.SAMPLE_SIZE)
        if detected == "utf-8" and sample.isascii():
            detected = "ascii"  # QP values say what they are in; raw 8-bit values later are tried as UTF-8
        cr_only = b"\r" in sample and b"\n" not in sample
        fh.seek(0)
        # Fail now, not half-way through loading: stops at the first BEGIN (usually line 1).
        if not any(line.strip().upper() == b"BEGIN:VCARD" for _, line, _ in _physical_lines(fh, detected, cr_only)):
            raise SourceError(str(path), "no vCard (BEGIN:VCARD) found")
    decoder = _Decoder(detected, forced=bool(options.encoding))
    info = TableInfo(name=None, header_line=None)
    result = ReadResult(format="vcard", batches=iter(()), encoding=decoder.reported(), tables=[info])
    # Encoding, profile, columns and notes are complete once the batches are consumed.
    result.batches = _batches(path, detected, cr_only, decoder, info, result, progress)
    return result


# --- physical and logical lines -------------------------------------------------------------


def _physical_lines(fh: IO[bytes], encoding: str, cr_only: bool) -> Iterator[tuple[int, bytes, int]]:
    """(line number, line without its end, file offset after it). LF, CRLF and CR CR LF end
    a line; a file with only CRs is split on those. UTF-16/32 files come back as UTF-8."""
    if encoding.startswith(("utf-16", "utf-32")):
        text = fh.read().decode(encoding, errors="replace").removeprefix("\ufeff")
        offset = 0
        for number, line in enumerate(re.split(r"\r*\n|\r", text), 1):
            offset += 2 * (len(line) + 1)  # near enough for a progress bar
            yield number, line.encode("utf-8"), offset
        return
    if cr_only:
        offset = 0
        for number, line in enumerate(fh.read().split(b"\r"), 1):
            offset += len(line) + 1
            yield number, line, offset
        return
    offset = 0
    for number, raw in enumerate(fh, 1):
        offset += len(raw)
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        yield number, raw.rstrip(b"\r\n"), offset


@dataclass
class _Line:
    number: int  # physical line it starts on
    data: bytearray
    qp: bool = False
    blob: bool = False
    blob_size: int = 0


@dataclass
class _RawCard:
    number: int  # 1-based position in the file
    line: int  # physical line of BEGIN:VCARD
    props: list = field(default_factory=list)  # _Line, in file order
    truncated: bool = False
    offset: int = 0


@dataclass
class _ReadState:
    outside: int = 0  # non-blank lines outside any card
    offset: int = 0


def _cards(lines: Iterator[tuple[int, bytes, int]], state: _ReadState) -> Iterator[_RawCard]:
    """Cards with their logical lines (unfolded, QP soft breaks joined, blobs skipped)."""
    card: _RawCard | None = None
    current: _Line | None = None
    count = 0
    for number, line, offset in lines:
        if current is not None and current.blob and line[:1] in (b" ", b"\t"):
            _blob_add(current, line)  # fast path: most lines of a photo-heavy file are these
            continue
        state.offset = offset or state.offset
        stripped = line.strip()
        upper = stripped.upper()
        if upper == b"BEGIN:VCARD":
            if card is not None:
                _flush(card, current)
                card.truncated = True
                yield card
            count += 1
            card, current = _RawCard(count, number), None
            continue
        if card is None:
            if stripped:
                state.outside += 1
            continue
        if upper == b"END:VCARD":
            _flush(card, current)
            card.offset = state.offset
            yield card
            card = current = None
            continue
        if current is not None and _continues(current, line, stripped):
            continue
        _flush(card, current)
        current = _start(number, line) if stripped else None
    if card is not None:
        _flush(card, current)
        card.truncated = True
        card.offset = state.offset
        yield card


def _continues(current: _Line, line: bytes, stripped: bytes) -> bool:
    """Add `line` to the logical line being read if it continues it; False if it starts a new one."""
    if current.blob:
        if not stripped:
            return False  # a blank line ends a 2.1 base64 block
        if line[:1] in (b" ", b"\t") or b":" not in line:
            _blob_add(current, stripped)
            return True
        return False
    if current.qp and current.data.endswith(b"="):
        # A QP soft break: the next line continues the value whatever it starts with.
        del current.data[-1]
        current.data += _QP_START.sub(b"", line)
        return True
    if line[:1] in (b" ", b"\t"):
        current.data += line[1:]  # RFC folding: drop the one whitespace character
        return True
    return False


def _start(number: int, line: bytes) -> _Line:
    colon = line.find(b":")
    head = line if colon < 0 else line[:colon]
    name = re.split(rb"[;:]", head, maxsplit=1)[0].rsplit(b".", 1)[-1].strip().upper()
    current = _Line(number, bytearray())
    if name.decode("ascii", "replace") in BLOB_PROPERTIES or _BASE64_PARAM.search(head):
        current.blob = True
        current.data += head + b":"
        if colon >= 0:
            _blob_add(current, line[colon + 1:])
        return current
    current.data += line
    current.qp = b"QUOTED-PRINTABLE" in head.upper()
    return current


def _blob_add(current: _Line, piece: bytes) -> None:
    """Count a blob's bytes; keep only the start of a value that may be a link."""
    current.blob_size += len(piece)
    if current.blob_size <= _BLOB_KEEP:
        current.data += piece.strip()


def _flush(card: _RawCard, current: _Line | None) -> None:
    if current is not None:
        card.props.append(current)


# --- decoding ----------------------------------------------------------------------------------


class _Decoder:
    """Bytes of one value to text, and a record of which encodings were needed."""

    def __init__(self, detected: str, forced: bool):
        self.detected = detected
        self.forced = forced
        single = not detected.startswith(("utf-", "ascii"))
        # The file's own single-byte code page, the fallback for QP without CHARSET.
        self.code_page = detected if single else None
        self.used: Counter[str] = Counter()
        self.guessed: Counter[str] = Counter()
        self.damaged = 0

    def text(self, data: bytes, charset: str | None, qp: bool) -> tuple[str, bool]:
        """The text, and whether bytes had to be replaced."""
        if data.isascii():
            return data.decode("ascii"), False
        candidates = [charset] if charset else []
        if self.forced or (self.code_page and not qp):
            candidates.append(self.detected)
        else:
            candidates.append("utf-8")
        for name in candidates:
            try:
                text = data.decode(name)
            except (UnicodeDecodeError, LookupError):
                continue
            self.used[enc.normalize_name(name)] += 1
            return text, False
        if _mostly_utf8(data) or (charset and enc.normalize_name(charset) == "utf-8"):
            self.damaged += 1
            self.used["utf-8"] += 1
            return data.decode("utf-8", errors="replace"), True
        guess = self.code_page or _guess_single_byte(data)
        self.guessed[guess] += 1
        self.used[guess] += 1
        return data.decode(guess, errors="replace"), False

    def reported(self) -> str:
        if self.forced or not self.detected.startswith(("utf-8", "ascii")):
            return enc.normalize_name(self.detected)
        if self.detected == "utf-8" or not self.used:
            return self.detected
        return self.used.most_common(1)[0][0]

    def notes(self) -> list[str]:
        out = []
        for name, n in self.guessed.items():
            out.append(f"{n} value(s) neither declared nor UTF-8 read as {name}")
        if self.damaged:
            out.append(f"{self.damaged} value(s) with bytes that are not valid UTF-8 (replaced by �)")
        return out


def _mostly_utf8(data: bytes) -> bool:
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return good >= 2 and good >= 4 * bad


def _guess_single_byte(data: bytes) -> str:
    """cp1251 when the high bytes make Cyrillic words, else cp1252 (Reid’s, José)."""
    text = data.decode("cp1251", errors="replace")
    high = sum(1 for b in data if b >= 0x80)
    if sum(len(w) for w in _CYR_WORD.findall(text)) >= high * 0.5:
        return "cp1251"
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "cp1251"


@dataclass
class Prop:
    group: str | None  # Apple's item1., item2.
    name: str  # upper case
    params: dict[str, list[str]]  # keys upper case; 2.1 bare params (CELL, QUOTED-PRINTABLE) as TYPE/ENCODING
    value: str | None  # decoded (QP, charset) but not unescaped; None for a skipped blob
    blob: bool = False

    def types(self) -> list[str]:
        return [t.lower() for v in self.params.get("TYPE", []) for t in v.split(",") if t]

    @property
    def preferred(self) -> bool:
        return "pref" in self.types() or "1" in self.params.get("PREF", [])


def _parse(line: _Line, decoder: _Decoder) -> tuple[Prop | None, bool]:
    """A logical line as a property (None when it has no colon), and whether bytes were replaced."""
    data = bytes(line.data)
    colon = _find_colon(data)
    if colon < 0:
        return None, False
    head, _ = decoder.text(data[:colon], None, False)
    parts = _split_outside_quotes(head, ";")
    group, _, name = parts[0].strip().rpartition(".")
    params: dict[str, list[str]] = {}
    for param in parts[1:]:
        key, eq, value = param.strip().partition("=")
        if not eq:  # vCard 2.1: a bare TYPE or ENCODING value
            key, value = ("ENCODING" if key.upper() in _ENCODINGS else "TYPE"), key
        values = [_caret(v.strip().strip('"')) for v in _split_outside_quotes(value, ",")] if value else []
        params.setdefault(key.strip().upper(), []).extend(v for v in values if v)
    name = name.upper()
    if line.blob:
        raw = data[colon + 1:].strip()
        link = line.blob_size <= _BLOB_KEEP and re.match(rb"(?i)https?://", raw)
        return Prop(group or None, name, params, raw.decode("utf-8", "replace") if link else None, blob=True), False
    value = data[colon + 1:]
    qp = any(e.upper() == "QUOTED-PRINTABLE" for e in params.get("ENCODING", []))
    if qp:
        value = binascii.a2b_qp(value)
    charset = (params.get("CHARSET") or [None])[0]
    text, damaged = decoder.text(value, charset, qp)
    if qp:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Prop(group or None, name, params, text), damaged


def _find_colon(data: bytes) -> int:
    """The colon ending name and parameters: the first one outside double quotes."""
    colon = data.find(b":")
    if colon < 0 or data.find(b'"', 0, colon) < 0:
        return colon
    quoted = False
    for i, ch in enumerate(data):
        if ch == 0x22:
            quoted = not quoted
        elif ch == 0x3A and not quoted:
            return i
    return -1


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    out, piece, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(piece))
            piece = []
        else:
            piece.append(ch)
    out.append("".join(piece))
    return out


def _caret(value: str) -> str:
    """RFC 6868 parameter escapes: ^n new line, ^' double quote, ^^ caret."""
    if "^" not in value:
        return value
    return _CARET.sub(lambda m: {"n": "\n", "'": '"', "^": "^"}.get(m.group(1), m.group(0)), value)


def unescape(text: str) -> str:
    """\\, \\; \\: \\n \\\\ and \\" as the characters they stand for; other backslashes stay."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def components(text: str, sep: str = ";") -> list[str]:
    """Split at unescaped separators; the pieces are still escaped."""
    if "\\" not in text:
        return text.split(sep)
    out, start, i = [], 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == sep:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


# --- cards to records ----------------------------------------------------------------------------


def _batches(
    path: Path, encoding: str, cr_only: bool, decoder: _Decoder, info: TableInfo, result: ReadResult,
    progress: Progress,
) -> Iterator[pl.DataFrame]:
    seen: dict[str, str] = {}
    profiles: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    state = _ReadState()
    with open(path, "rb") as fh:
        rows: list[dict] = []
        for card in _cards(_physical_lines(fh, encoding, cr_only), state):
            props, damaged, unparsed = _props(card, decoder)
            record = _record(card, props, unparsed)
            if damaged:
                record["flags"].append("undecodable_bytes")
            rows.append(record)
            profile = _profile(props)
            if profile:
                profiles[profile] += 1
            for p in props:
                seen.setdefault(p.name, _target(p.name))
                if p.name == "VERSION" and p.value:
                    versions[p.value.strip()] += 1
                if p.blob:
                    counts["blobs"] += 1
            counts["truncated"] += card.truncated
            counts["unparsed"] += len(unparsed)
            if card.number % PROGRESS_CARDS == 0:
                progress(card.offset)
            if len(rows) >= BATCH_CARDS:
                info.rows += len(rows)
                yield batch_from_rows(rows)
                rows = []
        info.rows += len(rows)
        if rows:
            yield batch_from_rows(rows)
        progress(state.offset)
    info.columns = seen
    result.encoding = decoder.reported()
    result.profile = profiles.most_common(1)[0][0] if profiles else None
    result.notes.extend(_notes(versions, counts, state, decoder))


def _props(card: _RawCard, decoder: _Decoder) -> tuple[list[Prop], bool, list[str]]:
    props, damaged, unparsed = [], False, []
    for line in card.props:
        prop, bad = _parse(line, decoder)
        damaged |= bad
        if prop is None:
            unparsed.append(decoder.text(bytes(line.data[:200]), None, False)[0])
        else:
            props.append(prop)
    return props, damaged, unparsed


def _target(name: str) -> str:
    if name in BLOB_PROPERTIES:
        return "extra (content skipped)"
    if name in _TARGETS:
        return _TARGETS[name]
    return "ignored" if name in _IGNORED else "extra"


def _notes(versions: Counter, counts: Counter, state: _ReadState, decoder: _Decoder) -> list[str]:
    notes = []
    if versions:
        notes.append("vCard " + ", ".join(sorted(versions)))
    if counts["truncated"]:
        notes.append(f"{counts['truncated']} card(s) cut off (BEGIN:VCARD without END:VCARD), kept as read")
    if counts["unparsed"]:
        notes.append(f"{counts['unparsed']} line(s) inside cards are not properties (no colon); cards flagged")
    if counts["blobs"]:
        notes.append(f"{counts['blobs']} photo/logo/sound/key value(s) not stored")
    if state.outside:
        notes.append(f"{state.outside} line(s) outside BEGIN:VCARD … END:VCARD ignored")
    return notes + decoder.notes()


def _record(card: _RawCard, props: list[Prop], unparsed: list[str]) -> dict:
    by_name: dict[str, list[Prop]] = {}
    for p in props:
        by_name.setdefault(p.name, []).append(p)
    labels = {p.group: unescape(p.value or "").strip() for p in by_name.get("X-ABLABEL", []) if p.group}
    extra: dict = {}
    used: set[int] = set()

    def first(name: str) -> Prop | None:
        for p in by_name.get(name, []):
            if p.value and p.value.strip():
                used.add(id(p))
                return p
        return None

    record: dict = {"source_row": card.number, "line": card.line, "flags": []}
    record["full_name"] = _clean(unescape(p.value)) if (p := first("FN")) else None
    _name(record, first("N"), extra)
    _organization(record, by_name.get("ORG", []), extra, used)
    _titles(record, by_name, extra, used)
    record["birthday"] = _birthday(unescape(p.value)) if (p := first("BDAY")) else None
    _gender(record, first("GENDER") or first("X-GENDER"))
    record["source_key"] = _clean(unescape(p.value)) if (p := first("UID")) else None
    notes = [t for p in by_name.get("NOTE", []) if (t := _clean(unescape(p.value or "")))]
    used.update(id(p) for p in by_name.get("NOTE", []))
    record["note"] = "\n".join(notes) or None
    _addresses(record, by_name.get("ADR", []), extra, used)
    _websites(record, by_name.get("URL", []), extra, used)
    _phones(record, by_name.get("TEL", []), labels, extra, used)
    _emails(record, by_name.get("EMAIL", []), labels, used)
    _leftovers(props, labels, used, extra, has_address=bool(by_name.get("ADR")))
    record["entity_hint"] = _entity_hint(record, by_name)
    if unparsed:
        record["flags"].append("card_parse_error")
        extra["unparsed_lines"] = unparsed
    if card.truncated:
        record["flags"].append("card_truncated")
    record["extra"] = to_json(extra) if extra else None
    record["raw"] = to_json([[f"{p.group}.{p.name}" if p.group else p.name, p.params, p.value] for p in props])
    return record


def _name(record: dict, prop: Prop | None, extra: dict) -> None:
    """N: family;given;additional;prefix;suffix. Several values in one part (3.0 commas) joined by spaces."""
    values: list[str | None] = [None] * 5
    if prop is not None:
        for i, part in enumerate(components(prop.value or "")[:5]):
            words = [unescape(w).strip() for w in components(part, ",")]
            values[i] = _clean(" ".join(w for w in words if w))
    record["last_name"], record["first_name"], record["middle_name"] = values[:3]
    if values[3]:
        extra["name_prefix"] = values[3]
    if values[4]:
        extra["name_suffix"] = values[4]


def _organization(record: dict, orgs: list[Prop], extra: dict, used: set[int]) -> None:
    """ORG: company;department;further units. The first non-empty ORG wins; others go to extra."""
    record["company"] = record["department"] = None
    others = []
    for prop in orgs:
        used.add(id(prop))
        parts = [_clean(unescape(c)) for c in components(prop.value or "")]
        if not any(parts):
            continue
        if record["company"] is None and record["department"] is None:
            record["company"] = parts[0]
            record["department"] = parts[1] if len(parts) > 1 else None
            units = [u for u in parts[2:] if u]
            if units:
                extra["org_units"] = units
        else:
            others.append(", ".join(u for u in parts if u))
    if others:
        extra["other_orgs"] = others


def _titles(record: dict, by_name: dict[str, list[Prop]], extra: dict, used: set[int]) -> None:
    """TITLE is the job title; ROLE stands in when there is no TITLE, else goes to extra."""
    titles = [t for p in by_name.get("TITLE", []) if (t := _clean(unescape(p.value or "")))]
    roles = [t for p in by_name.get("ROLE", []) if (t := _clean(unescape(p.value or "")))]
    used.update(id(p) for p in by_name.get("TITLE", []) + by_name.get("ROLE", []))
    chosen = titles or roles
    record["job_title"] = chosen[0] if chosen else None
    if len(titles) > 1:
        extra["other_titles"] = titles[1:]
    rest = roles if titles else roles[1:]
    if rest:
        extra["role"] = rest[0] if len(rest) == 1 else rest


def _birthday(text: str) -> str | None:
    """ISO yyyy-mm-dd from 1980-03-22, 19800322, 1980-03-22T00:00:00Z; a date without a year
    (--0203, --02-03) and anything else as written."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?", text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            pass
    return text or None


def _gender(record: dict, prop: Prop | None) -> None:
    """GENDER (4.0: M, F, O, N, U;free text) or X-GENDER (male/female)."""
    record["gender"] = None
    if prop is None:
        return
    parts = [_clean(unescape(c)) for c in components(prop.value or "")]
    code = (parts[0] or "").lower()
    record["gender"] = {"m": "male", "male": "male", "f": "female", "female": "female"}.get(code) or next(
        (p for p in reversed(parts) if p), None
    )


def _address_text(prop: Prop) -> tuple[str | None, str | None]:
    """ADR (pobox;extended;street;locality;region;code;country) as one readable line, and the city.

    The extended part (suite, office; Google puts the whole address there) follows the street;
    a PO box is not part of the line.
    """
    parts = [_address_part(c) for c in components(prop.value or "")]
    parts += [None] * (7 - len(parts))
    ordered = [parts[2], parts[1], parts[3], parts[4], parts[5], parts[6]]
    line = ", ".join(p for p in ordered if p)
    return line or None, parts[3]


def _address_part(text: str) -> str | None:
    """One ADR part: its lines and comma-separated values joined by ", "."""
    pieces = [unescape(p) for p in components(text, ",")]
    lines = (x.strip(" \t,") for p in pieces for x in p.splitlines())
    return _clean(", ".join(x for x in lines if x))


def _addresses(record: dict, adrs: list[Prop], extra: dict, used: set[int]) -> None:
    record["address"] = record["city"] = None
    found = []
    for prop in adrs:
        used.add(id(prop))
        line, city = _address_text(prop)
        pobox = _clean(unescape(components(prop.value or "")[0]))
        if line or pobox:
            found.append((prop, line, city, pobox))
    if not found:
        return
    chosen = next((f for f in found if f[0].preferred), found[0])
    _, record["address"], record["city"], pobox = chosen
    if pobox:
        extra["po_box"] = pobox
    others = [f"{_kind_word(p.types())}{line}" for p, line, _, _ in found if p is not chosen[0] and line]
    if others:
        extra["other_addresses"] = others


def _kind_word(types: list[str]) -> str:
    kind = next((t for t in types if t in ("home", "work", "other")), None)
    return f"{kind}: " if kind else ""


def _websites(record: dict, urls: list[Prop], extra: dict, used: set[int]) -> None:
    values = []
    for prop in urls:
        used.add(id(prop))
        value = _clean(unescape(prop.value or ""))
        if value:
            values.append((prop.preferred, value))
    values.sort(key=lambda v: not v[0])  # a preferred URL first, otherwise file order
    record["website"] = values[0][1] if values else None
    if len(values) > 1:
        extra["other_websites"] = [v for _, v in values[1:]]


def _phones(record: dict, tels: list[Prop], labels: dict, extra: dict, used: set[int]) -> None:
    phones, kinds, custom = [], [], {}
    for prop in tels:
        used.add(id(prop))
        value = _clean(_tel_value(unescape(prop.value or "")))
        if not value:
            continue
        label = labels.get(prop.group) if prop.group else None
        kind = _label_kind(label) if label else None
        phones.append(value)
        kinds.append(kind or _type_kind(prop.types(), _PHONE_TYPES))
        if label and not _APPLE_LABEL.match(label):
            custom[value] = label
    record["phones"], record["phone_kinds"] = phones, kinds
    if custom:
        extra["phone_labels"] = custom


def _tel_value(value: str) -> str:
    """A 4.0 tel: URI as a plain number: tel:+1-418-656-9254;ext=102 -> +1-418-656-9254 ext. 102."""
    if value[:4].lower() != "tel:":
        return value
    number, _, params = value[4:].partition(";")
    ext = next((p[4:] for p in params.split(";") if p.lower().startswith("ext=")), None)
    return f"{number} ext. {ext}" if ext else number


def _emails(record: dict, emails: list[Prop], labels: dict, used: set[int]) -> None:
    values, kinds = [], []
    for prop in emails:
        used.add(id(prop))
        value = _clean(unescape(prop.value or ""))
        if not value:
            continue
        label = labels.get(prop.group) if prop.group else None
        kind = _label_kind(label) if label else None
        values.append(value)
        kinds.append(kind if kind in ("work", "home") else _type_kind(prop.types(), _EMAIL_TYPES))
    record["emails"], record["email_kinds"] = values, kinds


def _type_kind(types: list[str], table: tuple[tuple[str, str], ...]) -> str:
    for word, kind in table:
        if word in types:
            return kind
    return "other"


def _label_kind(label: str) -> str | None:
    """A kind from an Apple label (_$!<Mobile>!$_, _$!<WorkFAX>!$_) or a custom one ("раб. (Вектор)")."""
    m = _APPLE_LABEL.match(label)
    text = m.group(1) if m else label
    if text.lower() == "other":
        return "other"
    for pattern, kind in _LABEL_KINDS:
        if pattern.search(text):
            return kind
    return None


def _leftovers(props: list[Prop], labels: dict, used: set[int], extra: dict, has_address: bool) -> None:
    """Properties with no field of their own go to extra by lower-case name (NICKNAME -> nickname);
    a value repeated under one name becomes a list; an Apple label is added in brackets."""
    for prop in props:
        if id(prop) in used or prop.name in _IGNORED or prop.name in _TARGETS:
            continue
        if prop.name == "LABEL" and has_address:
            continue  # the printed form of an ADR already read
        key = prop.name.lower()
        if prop.blob:
            if prop.value:
                _put(extra, key, prop.value)
            else:
                extra.setdefault(key, True)
            continue
        value = _clean(unescape(prop.value or ""))
        if value is None:
            continue
        label = labels.get(prop.group) if prop.group else None
        if label:
            m = _APPLE_LABEL.match(label)
            value = f"{value} ({m.group(1) if m else label})"
        _put(extra, key, value)


def _put(extra: dict, key: str, value) -> None:
    if key not in extra or extra[key] is True:
        extra[key] = value
    elif isinstance(extra[key], list):
        if value not in extra[key]:
            extra[key].append(value)
    elif extra[key] != value:
        extra[key] = [extra[key], value]


def _entity_hint(record: dict, by_name: dict[str, list[Prop]]) -> str | None:
    """"company" for KIND:org, Apple's X-ABShowAs:COMPANY, or a card with an ORG and no person name;
    None otherwise (finalize derives the rest). A company's FN is its name, not a person's."""
    kind = next((p.value.strip().lower() for p in by_name.get("KIND", []) if p.value), "")
    show_as = next((p.value.strip().upper() for p in by_name.get("X-ABSHOWAS", []) if p.value), "")
    person_parts = any(record[f] for f in ("last_name", "first_name", "middle_name"))
    full_name = record["full_name"]
    if kind == "org" or show_as == "COMPANY":
        if record["company"] is None:
            record["company"], record["full_name"] = full_name, None
        elif full_name == record["company"]:
            record["full_name"] = None
        return "company"
    if record["company"] and not person_parts and (full_name is None or full_name == record["company"]):
        record["full_name"] = None
        return "company"
    return None


def _profile(props: list[Prop]) -> str | None:
    """The app that wrote a card, from PRODID and the X- properties it left."""
    prodid = next((p.value.lower() for p in props if p.name == "PRODID" and p.value), "")
    names = {p.name for p in props}
    version = next((p.value.strip() for p in props if p.name == "VERSION" and p.value), "")
    checks = (
        ("iphone", "iphone" in prodid or re.search(r"\bios\b", prodid)),
        ("android", "android" in prodid or any(n.startswith("X-ANDROID-") for n in names)),
        ("outlook", "outlook" in prodid or "microsoft" in prodid or any(n.startswith("X-MS-") for n in names)),
        ("google", "google" in prodid),
        ("macos", "address book" in prodid or "mac os" in prodid or "macos" in prodid or "X-ABUID" in names),
        ("evolution", "evolution" in prodid or any(n.startswith("X-EVOLUTION-") for n in names)),
        ("thunderbird", "thunderbird" in prodid or any(n.startswith("X-MOZILLA-") for n in names)),
    )
    for name, hit in checks:
        if hit:
            return name
    if prodid:
        return None
    qp_utf8 = any(
        "QUOTED-PRINTABLE" in (e.upper() for e in p.params.get("ENCODING", []))
        and "UTF-8" in (c.upper() for c in p.params.get("CHARSET", []))
        for p in props
    )
    if version == "2.1" and qp_utf8:
        return "android"  # Android's own export: 2.1, every non-ASCII value as UTF-8 QP
    if version == "3.0" and (any(n.startswith("X-PHONETIC-") for n in names) or "X-ABLABEL" in names):
        return "google"  # Google Contacts: Apple-style labels without Apple's PRODID
    return None
