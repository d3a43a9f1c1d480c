"""1C CommerceML 2.x/3.x XML: counterparties and their contact persons, streamed.

pyexpat rather than ElementTree.iterparse, because it gives every element's
line, which `raw_records.line` and error messages point to. Only counterparty
elements are kept in memory, as nested dicts and one at a time; the rest of the
document (catalogues of 100k goods, order lines) is skimmed with character data
switched off, so memory stays flat whatever the file size.

Records in document order: each `Контрагент` (top-level `Контрагенты`,
`Документ/Контрагенты`, anywhere) and each catalogue/offers owner
(`Классификатор|Каталог|ПакетПредложений/Владелец`, a company), each followed by
its `Представители/Представитель` (flat, or the 2.03 nested
`Представитель/Контрагент`). See docs/commerceml.md for the decisions.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterator
from xml.parsers import expat

import polars as pl

from crmtool.errors import SourceError
from crmtool.sources import encoding as enc
from crmtool.sources.base import Progress, ReadOptions, ReadResult, TableInfo, no_progress
from crmtool.sources.schema import BATCH_SCHEMA, COMPANY_NAME_RE, STR_LIST, to_json
from crmtool.sources.tabular import split_emails, split_phones

CHUNK = 1 << 20
HEAD_CHUNK = 64 * 1024
BATCH_SIZE = 5000
TABLE_NAME = "Контрагенты"
LIST_COLUMNS = ("phones", "phone_kinds", "emails", "email_kinds", "flags")

ROOT = "КоммерческаяИнформация"
ENTERPRISE_DATA_ROOT = "Message"
COUNTERPARTY, OWNER = "Контрагент", "Владелец"
OWNER_PARENTS = frozenset({"Классификатор", "Каталог", "ПакетПредложений"})
REPS, REP = "Представители", "Представитель"
REP_PREFIX = f"{REPS}/{REP}/"

# Which branch of the schema's choice (РеквизитыЮрЛица | РеквизитыФизЛица) an
# element took. The heads count when present even empty (the exporter chose the
# branch); the other markers only when filled.
LEGAL_HEAD, PERSON_HEAD = "ОфициальноеНаименование", "ПолноеНаименование"
LEGAL_MARKS = frozenset({
    "КПП", "ЮридическийАдрес", "ОГРН", "ОГРНИП", "ОКПО", "КодПоОКПО", "ЕГРПО", "ОКВЭД", "ОКДП", "ОКОПФ",
    "ОКФС", "ОсновнойВидДеятельности", "Руководитель", "РасчетныеСчета",
})
PERSON_MARKS = frozenset({"Фамилия", "Имя", "Отчество", "ДатаРождения", "Пол", "Обращение", "МестоРождения", "УдостоверениеЛичности"})
NAME_PARTS = (("Фамилия", "last_name"), ("Имя", "first_name"), ("Отчество", "middle_name"))

# Addresses in order of preference for `address`; the others go to extra.
ADDRESS_KEYS = ("ЮридическийАдрес", "АдресРегистрации", "Адрес", "ФактическийАдрес")
# АдресноеПоле types in the order a composed address lists them, with the
# prefix a bare number gets ("12" → "д. 12").
ADDRESS_PARTS = {
    "почтовыйиндекс": (0, ""), "индекс": (0, ""), "страна": (1, ""), "регион": (2, ""), "район": (3, ""),
    "город": (4, ""), "населенныйпункт": (5, ""), "улица": (6, ""), "дом": (7, "д. "), "корпус": (8, "корп. "),
    "строение": (9, "стр. "), "квартира": (10, "кв. "), "офис": (10, "оф. "),
}
CITY_PARTS = ("город", "населенныйпункт")

# Контакт/Тип values (and element names used in their place), normalized by _norm.
# Kind None: the record's default (work for companies and their people, other for private persons).
CONTACT_TYPES: dict[str, tuple[str, str | None]] = {
    **{k: ("phones", "work") for k in ("телефонрабочий", "рабочийтелефон", "телефонвнутренний", "внутреннийтелефон")},
    **{k: ("phones", "mobile") for k in ("телефонмобильный", "мобильныйтелефон", "мобильный", "телефонсотовый", "сотовыйтелефон", "сотовый")},
    **{k: ("phones", "home") for k in ("телефондомашний", "домашнийтелефон")},
    **{k: ("phones", "fax") for k in ("факс", "телефонфакс")},
    "пейджер": ("phones", "pager"),
    **{k: ("phones", None) for k in ("телефон", "телефоны", "контактныйтелефон", "тел", "phone")},
    **{k: ("emails", None) for k in (
        "почта", "электроннаяпочта", "элпочта", "адресэлектроннойпочты", "email", "емейл", "емэйл", "mail",
    )},
    **{k: ("website", None) for k in ("вебсайт", "сайт", "website", "url", "www")},
}

# Keys read into canonical fields (or dealt with on purpose); any other child goes to extra.
HANDLED = frozenset({
    "Ид", "Наименование", LEGAL_HEAD, PERSON_HEAD, "ИНН", "КПП", "ОГРН", "ОГРНИП", "ДатаРождения", "Пол",
    "Комментарий", "Контакты", REPS, "Должность", "Организация", "МестоРаботы", COUNTERPARTY, *ADDRESS_KEYS,
    *(k for k, _ in NAME_PARTS),
})
IDENTITY = frozenset({"Ид", "Наименование", LEGAL_HEAD, PERSON_HEAD, "ИНН", *(k for k, _ in NAME_PARTS)})

_COMPANY_NAME = re.compile(COMPANY_NAME_RE)
_NOT_WORD = re.compile(r"[^0-9a-zа-я]+")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|T)")
_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_INVALID_TOKEN = expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]


def read_commerceml(path: Path, options: ReadOptions, progress: Progress = no_progress) -> ReadResult:
    """Check the root now (so a wrong file fails before the load starts); stream the records later."""
    head = _Scanner(str(path), options.encoding, stop_at_root=True)
    with open(path, "rb") as fh:
        while head.root is None:
            chunk = fh.read(HEAD_CHUNK)
            head.feed(chunk, final=not chunk)
    table = TableInfo(name=TABLE_NAME)
    notes: list[str] = []
    return ReadResult(
        format="commerceml",
        batches=_batches(path, options.encoding, progress, table, notes),
        encoding=enc.normalize_name(options.encoding or head.declared or head.bom or "utf-8"),
        profile=head.version,
        tables=[table],
        notes=notes,
    )


def _batches(path: Path, encoding: str | None, progress: Progress, table: TableInfo, notes: list[str]) -> Iterator[pl.DataFrame]:
    """Parse 1 MB at a time and hand out ~BATCH_SIZE records per batch."""
    scanner = _Scanner(str(path), encoding)
    maker = _RowMaker()
    rows: list[dict] = []
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            for element in scanner.feed(chunk, final=not chunk):
                rows.extend(maker.rows(element))
            progress(fh.tell())
            if rows and (len(rows) >= BATCH_SIZE or not chunk):
                yield _frame(rows)
                rows = []
            if not chunk:
                break
    table.rows = maker.count
    table.columns = {path: ", ".join(targets) for path, targets in maker.used.items()}
    notes.extend(maker.notes())


def _frame(rows: list[dict]) -> pl.DataFrame:
    """A batch from records. List columns travel as NUL-joined strings (XML text cannot
    hold NUL): polars builds them ten times faster that way than from Python lists."""
    scalars = {k: t for k, t in BATCH_SCHEMA.items() if k not in LIST_COLUMNS}
    frame = pl.DataFrame({k: [r.get(k) for r in rows] for k in scalars}, schema=scalars)
    joined = [pl.Series(k, ["\0".join(r[k]) if r[k] else None for r in rows], dtype=pl.String) for k in LIST_COLUMNS]
    empty = pl.lit([], dtype=STR_LIST)
    frame = frame.with_columns(pl.when(s.is_null()).then(empty).otherwise(s.str.split("\0")).alias(s.name) for s in joined)
    return frame.select(list(BATCH_SCHEMA))


class _RootSeen(Exception):
    """Stops the head scan once the root element has been checked."""


class _Scanner:
    """Expat callbacks: skim the document, keep each counterparty element as nested dicts.

    Outside counterparties only a stack of element names is kept and character
    data is not delivered at all; the handlers are swapped when a counterparty
    starts and ends. Finished elements wait in `found` as
    (kind, line, content, lines of its Представитель elements).
    """

    def __init__(self, path: str, encoding: str | None, stop_at_root: bool = False):
        self.path = path
        self.encoding = encoding
        self.stop_at_root = stop_at_root
        self.parser = expat.ParserCreate(encoding)
        self.parser.buffer_text = True
        self.parser.buffer_size = 1 << 16
        self.parser.XmlDeclHandler = self._declaration
        self.root: str | None = None
        self.version: str | None = None
        self.declared: str | None = None
        self.bom: str | None = None
        self.outer: list[str] = []
        self.frames: list[list] = []
        self.text: list[str] = []
        self.kind = ""
        self.line = 0
        self.rep_lines: list[int] = []
        self.found: list[tuple[str, int, Any, list[int]]] = []
        self._skim()
        self.parser.StartElementHandler = self._root_start
        self._started = False

    def feed(self, data: bytes, final: bool = False) -> list[tuple[str, int, Any, list[int]]]:
        if not self._started:
            self.bom = enc.bom_of(data)[0]
            self._started = True
        try:
            self.parser.Parse(data, final)
        except _RootSeen:
            pass
        except expat.ExpatError as exc:
            raise self._malformed(exc) from None
        except LookupError as exc:  # an encoding Python does not know either
            raise SourceError(self.path, f"{exc}; pass --encoding (e.g. cp1251)", line=1) from None
        found, self.found = self.found, []
        return found

    def _declaration(self, _version: str, encoding: str | None, _standalone: int) -> None:
        self.declared = encoding

    def _root_start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        line = self.parser.CurrentLineNumber
        if local == ENTERPRISE_DATA_ROOT:
            raise SourceError(self.path, "1C EnterpriseData XML is not supported yet", line=line)
        if local != ROOT:
            raise SourceError(self.path, f"XML, but not CommerceML (root <{local}>)", line=line)
        self.root = local
        self.version = next((v.strip() or None for k, v in attrs.items() if k.rpartition(":")[2] == "ВерсияСхемы"), None)
        self.outer.append(local)
        self.parser.StartElementHandler = self._outer_start
        if self.stop_at_root:
            raise _RootSeen

    def _skim(self) -> None:
        p = self.parser
        p.StartElementHandler = self._outer_start
        p.EndElementHandler = self._outer_end
        p.CharacterDataHandler = None

    def _outer_start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == COUNTERPARTY or (local == OWNER and self.outer[-1] in OWNER_PARENTS):
            self._capture(local, attrs)
        else:
            self.outer.append(local)

    def _outer_end(self, _name: str) -> None:
        self.outer.pop()

    def _capture(self, local: str, attrs: dict[str, str]) -> None:
        p = self.parser
        self.kind = local
        self.line = p.CurrentLineNumber
        self.rep_lines = []
        self.text = []
        # Each frame: name, children (None until the first child or attribute), where its text starts.
        self.frames = [[local, _attributes(attrs), 0]]
        p.StartElementHandler = self._inner_start
        p.EndElementHandler = self._inner_end
        p.CharacterDataHandler = self.text.append  # a builtin: no Python call per text run

    def _inner_start(self, name: str, attrs: dict[str, str]) -> None:
        frames = self.frames
        local = name.rpartition(":")[2]
        if len(frames) == 2 and local == REP and frames[1][0] == REPS:
            self.rep_lines.append(self.parser.CurrentLineNumber)
        frames.append([local, _attributes(attrs) if attrs else None, len(self.text)])

    def _inner_end(self, _name: str) -> None:
        local, content, start = self.frames.pop()
        text = self.text
        if content is None:
            value: Any = "".join(text[start:])
        else:
            value = content
            if all(k[0] == "@" for k in content) and "".join(text[start:]).strip():
                content["#text"] = "".join(text[start:])
        del text[start:]
        if not self.frames:
            self.found.append((self.kind, self.line, value, self.rep_lines))
            self._skim()
            return
        parent = self.frames[-1]
        siblings = parent[1]
        if siblings is None:
            siblings = parent[1] = {}
        if local in siblings:
            previous = siblings[local]
            if type(previous) is list:
                previous.append(value)
            else:
                siblings[local] = [previous, value]
        else:
            siblings[local] = value

    def _malformed(self, exc: expat.ExpatError) -> SourceError:
        reason = f"malformed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})"
        if exc.code == _INVALID_TOKEN and self._non_ascii_at(self.parser.ErrorByteIndex):
            name = self.encoding or self.declared or "utf-8"
            reason += f"; the bytes there are not {name}: if the file is in another encoding, pass --encoding (e.g. cp1251)"
        return SourceError(self.path, reason, line=exc.lineno)

    def _non_ascii_at(self, index: int) -> bool:
        if index < 0:
            return False
        with open(self.path, "rb") as fh:
            fh.seek(index)
            return fh.read(1) >= b"\x80"


def _attributes(attrs: dict[str, str]) -> dict[str, str] | None:
    """Attributes as "@name" keys (namespace declarations left out); None when there are none."""
    if not attrs:
        return None
    kept = {f"@{k.rpartition(':')[2]}": v for k, v in attrs.items() if not k.startswith("xmlns")}
    return kept or None


class _RowMaker:
    """Turns captured elements into numbered records and keeps the file's column map."""

    def __init__(self) -> None:
        self.count = 0
        self.owners: list[Any] = []  # contents of the owners loaded: one file holds two or three at most
        self.repeated_owners = 0
        self.used: dict[str, dict[str, None]] = {}

    def rows(self, element: tuple[str, int, Any, list[int]]) -> list[dict]:
        kind, line, content, rep_lines = element
        owner = kind == OWNER
        if owner and content in self.owners:
            # The same owner in Классификатор and in Каталог/ПакетПредложений: one company.
            self.repeated_owners += 1
            return []
        if owner:
            self.owners.append(content)
        parent = _Record(self.used, "")
        _fill_counterparty(parent, content, owner)
        parent_row = self.count + 1
        rows = [parent.row(parent_row, line, content)]
        for rep, rep_line in zip(_representatives(content), rep_lines):
            record = _Record(self.used, REP_PREFIX)
            _fill_representative(record, rep, parent)
            rows.append(record.row(parent_row + len(rows), rep_line, rep, parent_row))
        self.count += len(rows)
        return rows

    def notes(self) -> list[str]:
        notes = []
        if self.repeated_owners:
            notes.append(f"{self.repeated_owners} repeated copy(ies) of the owner (Владелец) with the same content skipped")
        if not self.count:
            notes.append("no counterparties in this CommerceML file (a catalogue or offers file?)")
        elif self.count == len(self.owners):
            notes.append(
                "no counterparties in this CommerceML file (a catalogue or offers file?); "
                "only the owner (Владелец) of its catalogue or offers, loaded as a company"
            )
        return notes


class _Record:
    """The canonical fields of one record, filled as its element's content is read."""

    def __init__(self, used: dict[str, dict[str, None]], prefix: str):
        self.used = used
        self.prefix = prefix
        self.values: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {"phones": [], "phone_kinds": [], "emails": [], "email_kinds": []}
        self.extra: dict[str, str] = {}
        self.flags: list[str] = []
        self.hint = "unknown"

    def put(self, field: str, value: str | None, path: str) -> None:
        if value is None or field in self.values:
            return
        self.values[field] = value
        self.used.setdefault(self.prefix + path, {})[field] = None

    def put_extra(self, key: str, value: str | None, path: str | None = None) -> None:
        if value is None:
            return
        self.extra[key] = f"{self.extra[key]}; {value}" if key in self.extra else value
        self.used.setdefault(self.prefix + (path or key), {})["extra"] = None

    def add(self, field: str, values: list[str], kind: str, path: str) -> None:
        self.lists[field].extend(values)
        self.lists[field[:-1] + "_kinds"].extend([kind] * len(values))
        self.used.setdefault(self.prefix + path, {})[f"{field}:{kind}"] = None

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    @property
    def company_side(self) -> bool:
        """Companies and their people get work phones and e-mails by default; private persons other."""
        return self.hint in ("company", "person_at_company")

    def row(self, source_row: int, line: int, content: Any, parent_row: int | None = None) -> dict:
        if not any(self.values.get(f) for f in ("company", "full_name", "last_name", "first_name", "middle_name")):
            self.flag("no_name")
        return {
            **self.values,
            **self.lists,
            "source_row": source_row,
            "line": line,
            "parent_row": parent_row,
            "entity_hint": self.hint,
            "extra": to_json(self.extra) if self.extra else None,
            "raw": to_json(content),
            "flags": self.flags,
        }


# --- reading one element ----------------------------------------------------


def _fill_counterparty(rec: _Record, content: Any, owner: bool) -> None:
    d = _as_element(rec, content)
    branch = "legal" if owner else _branch(d)
    _names(rec, d, branch)
    if owner:
        rec.put_extra("Роль", "Владелец")
    _details(rec, d)


def _fill_representative(rec: _Record, content: Any, parent: _Record) -> None:
    """A contact person (or a branch office: a representative in the legal branch) of `parent`."""
    inner = content.get(COUNTERPARTY) if isinstance(content, dict) else None
    if isinstance(inner, dict):  # the 2.03 form: Представитель/Контрагент/{Ид, Наименование, Отношение}
        content = {**inner, **{k: v for k, v in content.items() if k != COUNTERPARTY and k not in inner}}
    d = _as_element(rec, content)
    _names(rec, d, _branch(d), representative=True)
    company = parent.values.get("company")
    if rec.hint == "person" and company:
        rec.hint = "person_at_company"
        rec.values["company"] = company
    _details(rec, d)


def _as_element(rec: _Record, content: Any) -> dict:
    """The element's children; an element we cannot read as a counterparty is flagged, its text taken as a name."""
    if isinstance(content, dict) and IDENTITY.intersection(content):
        return content
    rec.flag("element_parse_error")
    if isinstance(content, dict):
        return content
    return {"Наименование": content}


def _branch(d: dict) -> str | None:
    """"legal" or "person" by which elements are present (never by the name); None when neither shows."""
    if LEGAL_HEAD in d or any(_filled(d[k]) for k in LEGAL_MARKS.intersection(d)) or _legal_inn(d):
        return "legal"
    if PERSON_HEAD in d or any(_filled(d[k]) for k in PERSON_MARKS.intersection(d)):
        return "person"
    return None


def _legal_inn(d: dict) -> bool:
    """A 10-digit ИНН belongs to an organisation; people (and ИП) have 12 digits."""
    inn = _text(d.get("ИНН"))
    return bool(inn) and inn.isdigit() and len(inn) == 10


def _names(rec: _Record, d: dict, branch: str | None, representative: bool = False) -> None:
    """company or the person's names by the schema branch. With no branch to go by, a
    counterparty is a person unless its name has a legal form, and is flagged; for a
    representative (a contact person by default) that is no news."""
    name, official, full = _text(d.get("Наименование")), _text(d.get(LEGAL_HEAD)), _text(d.get(PERSON_HEAD))
    rec.put_extra(LEGAL_HEAD, official)
    if branch == "legal":
        rec.hint = "company"
        rec.put("company", name, "Наименование")
        rec.put("company", official, LEGAL_HEAD)
        rec.put("company", full, PERSON_HEAD)
        rec.put_extra(PERSON_HEAD, full)
        return
    if branch is None and not name:
        return  # nothing says what it is: entity_hint stays unknown
    if branch is None and not representative:
        rec.flag("entity_type_guessed")
    _person_names(rec, d, name, full)


def _person_names(rec: _Record, d: dict, name: str | None, full: str | None) -> None:
    """The private-person branch. A name with a legal form is a company all the same
    (1C keeps an ИП as a private person); with a person's name too, a person at it."""
    legal = next(((n, k) for n, k in ((name, "Наименование"), (full, PERSON_HEAD)) if n and _is_company_name(n)), None)
    person = next(((n, k) for n, k in ((full, PERSON_HEAD), (name, "Наименование")) if n and not _is_company_name(n)), None)
    has_parts = False
    for key, field in NAME_PARTS:
        value = _text(d.get(key))
        rec.put(field, value, key)
        has_parts = has_parts or value is not None
    rec.hint = "person"
    if legal:
        rec.flag("name_is_company")
        rec.put("company", *legal)
        rec.hint = "person_at_company" if person or has_parts else "company"
    if person:
        rec.put("full_name", *person)
    if name and name not in {pair[0] for pair in (legal, person) if pair}:
        rec.put_extra("Наименование", name)


def _details(rec: _Record, d: dict) -> None:
    """Everything but the names: ids, addresses, contacts, the rest to extra."""
    rec.put("source_key", _text(d.get("Ид")), "Ид")
    rec.put("inn", _text(d.get("ИНН")), "ИНН")
    rec.put("kpp", _text(d.get("КПП")), "КПП")
    rec.put("ogrn", _text(d.get("ОГРН")), "ОГРН")
    rec.put("ogrn", _text(d.get("ОГРНИП")), "ОГРНИП")
    if rec.hint != "company":
        rec.put("birthday", _iso_date(_text(d.get("ДатаРождения"))), "ДатаРождения")
        rec.put("gender", _text(d.get("Пол")), "Пол")
        rec.put("job_title", _text(d.get("Должность")), "Должность")
        _workplace(rec, d)
    rec.put("note", _text(d.get("Комментарий")), "Комментарий")
    for key in ADDRESS_KEYS:
        for value in _all(d, key):
            _address(rec, key, value)
    for contacts in _all(d, "Контакты"):
        _contacts(rec, contacts)
    _leftovers(rec, d)


def _workplace(rec: _Record, d: dict) -> None:
    """МестоРаботы of a private person (Организация, or a МестоРаботы element, with legal-entity
    details, and Должность): they become a person at that company."""
    org = d.get("Организация") or d.get("МестоРаботы")
    if isinstance(org, dict) and isinstance(org.get("Организация"), dict):
        rec.put("job_title", _text(org.get("Должность")), "МестоРаботы/Должность")
        org = org["Организация"]
    if not isinstance(org, dict):
        return
    name = _text(org.get("Наименование")) or _text(org.get(LEGAL_HEAD))
    if name and "company" not in rec.values:
        rec.put("company", name, "Организация")
        rec.hint = "person_at_company"


def _leftovers(rec: _Record, d: dict) -> None:
    """Children with no canonical field: contact-like names (Телефон, Email) are contacts, the rest extra."""
    for key, value in d.items():
        if key in HANDLED or key[0] in "@#":
            continue
        if _norm(key) in CONTACT_TYPES:
            for item in value if isinstance(value, list) else [value]:
                _contact(rec, key, _text(item), None, key)
        else:
            rec.put_extra(key, _flat(value))
    if rec.hint == "company":
        for key in ("Фамилия", "Имя", "Отчество", "ДатаРождения", "Пол", "Должность", "Организация", "МестоРаботы"):
            rec.put_extra(key, _flat(d.get(key)))


def _address(rec: _Record, key: str, value: Any) -> None:
    """`address` from the first filled address (Представление, else the АдресноеПоле parts); others to extra."""
    if isinstance(value, str):
        text, city = _text(value), None
        path = key
    else:
        text = _text(value.get("Представление"))
        path = f"{key}/Представление"
        composed, city = _address_fields(rec, key, value)
        if not text and composed:
            text, path = composed, f"{key}/АдресноеПоле"
    if text and "address" not in rec.values:
        rec.put("address", text, path)
    else:
        rec.put_extra(key, text, path)
    rec.put("city", city, f"{key}/АдресноеПоле[Город]")


def _address_fields(rec: _Record, key: str, value: dict) -> tuple[str | None, str | None]:
    """The АдресноеПоле parts joined in address order, and the city. Real exports put
    e-mails and phones in АдресноеПоле too: those become contacts."""
    parts: list[tuple[int, str]] = []
    cities: dict[str, str] = {}
    for field in _all(value, "АдресноеПоле"):
        if not isinstance(field, dict):
            continue
        kind, text = _text(field.get("Тип")) or "", _text(field.get("Значение"))
        if not text:
            continue
        norm = _norm(kind)
        if norm in CONTACT_TYPES:
            _contact(rec, kind, text, None, f"{key}/АдресноеПоле[{kind}]")
            continue
        order, prefix = ADDRESS_PARTS.get(norm, (99, ""))
        parts.append((order, prefix + text if prefix and text[0].isdigit() else text))
        if norm in CITY_PARTS:
            cities.setdefault(norm, text)
    parts.sort(key=lambda p: p[0])
    composed = ", ".join(text for _, text in parts) or None
    return composed, cities.get("город") or cities.get("населенныйпункт")


def _contacts(rec: _Record, contacts: Any) -> None:
    if not isinstance(contacts, dict):
        return
    for key, value in contacts.items():
        for item in value if isinstance(value, list) else [value]:
            if key == "Контакт" and isinstance(item, dict):
                kind = _text(item.get("Тип"))
                text = _text(item.get("Значение")) or _text(item.get("Представление"))
                _contact(rec, kind, text, _text(item.get("Комментарий")), f"Контакты/Контакт[{kind or '?'}]")
            elif key == "Контакт":
                _contact(rec, None, _text(item), None, "Контакты/Контакт")
            elif key[0] not in "@#":
                _contact(rec, key, _text(item), None, f"Контакты/{key}")


def _contact(rec: _Record, kind: str | None, value: str | None, comment: str | None, path: str) -> None:
    """One Контакт by its Тип: phones and e-mails with their kinds, a web site, the rest to extra."""
    if not value:
        return
    target, qualifier = CONTACT_TYPES.get(_norm(kind or ""), (None, None))
    if kind is None:  # no Тип at all: tell by the value
        target = "emails" if "@" in value else "phones" if sum(c.isdigit() for c in value) >= 5 else None
    default = "work" if rec.company_side else "other"
    if target == "phones":
        rec.add("phones", split_phones(value), qualifier or default, path)
    elif target == "emails":
        rec.add("emails", split_emails(value), qualifier or default, path)
    elif target == "website" and "website" not in rec.values:
        rec.put("website", value, path)
    else:
        rec.put_extra(kind or "Контакт", value, path)
    if comment:
        rec.put_extra("Комментарий к контакту", f"{value}: {comment}")


def _representatives(content: Any) -> list[Any]:
    return [rep for reps in _all(content, REPS) for rep in _all(reps, REP)]


# --- small helpers ------------------------------------------------------------


def _all(d: Any, key: str) -> list[Any]:
    """A child's values as a list (a repeated child is a list already)."""
    if not isinstance(d, dict) or key not in d:
        return []
    value = d[key]
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    """A leaf's text, stripped; None when empty or not a leaf."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _text(value.get("#text"))
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    return None


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _flat(value: Any) -> str | None:
    """A nested value as one line: a person's name parts joined by spaces, other leaves by ", "."""
    if isinstance(value, list):
        return "; ".join(t for t in map(_flat, value) if t) or None
    if not isinstance(value, dict):
        return _text(value)
    name = " ".join(t for t in (_text(value.get(k)) for k, _ in NAME_PARTS) if t)
    rest = [_flat(v) for k, v in value.items() if k not in ("Фамилия", "Имя", "Отчество") and k[0] != "@"]
    return ", ".join(t for t in (name, *rest) if t) or None


@functools.lru_cache(maxsize=1024)
def _norm(name: str) -> str:
    """A Тип or element name for lookups: "Телефон рабочий", "ТелефонРабочий" → "телефонрабочий"."""
    return _NOT_WORD.sub("", name.lower().replace("ё", "е"))


def _is_company_name(name: str) -> bool:
    return bool(_COMPANY_NAME.search(name))


def _iso_date(text: str | None) -> str | None:
    """1C dates as ISO; 1C's empty date 0001-01-01 is no date; anything else as written."""
    if not text:
        return None
    m = _ISO_DATE.match(text)
    if m:
        return None if m.group(1) == "0001" else "-".join(m.groups())
    m = _RU_DATE.match(text)
    if m:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    return text
