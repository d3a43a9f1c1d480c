"""Company names: legal form found wherever it stands, core, display, match key, status."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtool.normalize import STATUSES
from crmtool.normalize.companies import FIX_REASONS, SCHEMA, form_table, normalize_companies

ROMASHKA = ("ООО", "Общество с ограниченной ответственностью")


def one(value: str | None) -> dict:
    out = normalize_companies(pl.Series([value], dtype=pl.String))
    assert out.height == 1
    return out.row(0, named=True)


# value → (opf, core, display, key, status, reason)
CASES = [
    ("ООО «Ромашка»", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "ok", None)),
    ("Ромашка, ООО", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_moved")),
    ("Ромашка ООО", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_moved")),
    ('Общество с ограниченной ответственностью "Ромашка"',
     ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_abbreviated")),
    ('ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "РОМАШКА"',
     ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_abbreviated")),
    ("OOO Romashka", ("ООО", "Romashka", "ООО «Romashka»", "romashka", "fixed", "form_normalized")),
    ("ооо ромашка", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_normalized")),
    ("О.О.О. Ромашка", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "form_normalized")),
    ('ООО "Ромашка"', ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_unified")),
    ('ООО"Ромашка"', ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_unified")),
    ("ООО 'Ромашка'", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_unified")),
    ("ООО “Ромашка”", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_unified")),
    ("ООО «Ромашка", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_unified")),
    ("ООО Ромашка", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "quotes_added")),
    ("ООО  «Ромашка»", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "reformatted")),
    ('ЗАО "ТД "Альянс""', ("ЗАО", "ТД «Альянс»", "ЗАО «ТД «Альянс»»", "тд альянс", "fixed", "quotes_unified")),
    ('ЗАО "ТД "Альянс"', ("ЗАО", "ТД «Альянс»", "ЗАО «ТД «Альянс»»", "тд альянс", "fixed", "quotes_unified")),
    ("АО «ТверьСтройМонтаж»", ("АО", "ТверьСтройМонтаж", "АО «ТверьСтройМонтаж»", "тверьстроймонтаж", "ok", None)),
    ("3AO Ромашка", ("ЗАО", "Ромашка", "ЗАО «Ромашка»", "ромашка", "fixed", "form_normalized")),
    ("ПАО Сбербанк", ("ПАО", "Сбербанк", "ПАО «Сбербанк»", "сбербанк", "fixed", "quotes_added")),
    ("ПАО СБЕРБАНК", ("ПАО", "Сбербанк", "ПАО «Сбербанк»", "сбербанк", "fixed", "case_fixed")),
    ("ОАО «РЖД»", ("ОАО", "РЖД", "ОАО «РЖД»", "ржд", "ok", None)),
    ("Банк ВТБ (ПАО)", ("ПАО", "Банк ВТБ", "ПАО «Банк ВТБ»", "банк втб", "fixed", "form_moved")),
    ("ГБУЗ ГКБ №1", ("ГБУЗ", "ГКБ №1", "ГБУЗ «ГКБ №1»", "гкб 1", "fixed", "quotes_added")),
    ("ГБУ «Жилищник»", ("ГБУ", "Жилищник", "ГБУ «Жилищник»", "жилищник", "ok", None)),
    ("ООО «СЕВЕРНЫЙ ВЕТЕР»", ("ООО", "Северный Ветер", "ООО «Северный Ветер»", "северный ветер", "fixed", "case_fixed")),
    ("ООО «СТРОЙ И КО»", ("ООО", "Строй и КО", "ООО «Строй и КО»", "строй и ко", "fixed", "case_fixed")),
    ("ООО «ДОМ И САД»", ("ООО", "ДОМ И САД", "ООО «ДОМ И САД»", "дом и сад", "ok", None)),
    ("ООО «Ромашка» (Тверь)", ("ООО", "Ромашка (Тверь)", "ООО «Ромашка» (Тверь)", "ромашка тверь", "ok", None)),
    ("Ромашка ООО (Тверь)", ("ООО", "Ромашка (Тверь)", "ООО «Ромашка» (Тверь)", "ромашка тверь", "fixed", "form_moved")),
    ("ООО «Ромашка» (филиал)", ("ООО", "Ромашка (филиал)", "ООО «Ромашка» (филиал)", "ромашка филиал", "ok", None)),
    ("ООО «Ромашка», г. Тверь", ("ООО", "Ромашка, г. Тверь", "ООО «Ромашка», г. Тверь", "ромашка г тверь", "ok", None)),
    ("ООО «Рога» и «Копыта»", ("ООО", "«Рога» и «Копыта»", "ООО «Рога» и «Копыта»", "рога и копыта", "ok", None)),
    ("ООО «585»", ("ООО", "585", "ООО «585»", "585", "ok", None)),
    ("Romashka LLC", ("LLC", "Romashka", "Romashka LLC", "romashka", "ok", None)),
    ("LLC Romashka", ("LLC", "Romashka", "Romashka LLC", "romashka", "fixed", "form_moved")),
    ("Vector Ltd.", ("Ltd", "Vector", "Vector Ltd", "vector", "fixed", "form_normalized")),
    ("Microsoft Corporation", ("Corp", "Microsoft", "Microsoft Corp", "microsoft", "fixed", "form_abbreviated")),
    ("Siemens AG", ("AG", "Siemens", "Siemens AG", "siemens", "ok", None)),
    ("Vector Ltd (London)", ("Ltd", "Vector (London)", "Vector Ltd (London)", "vector london", "ok", None)),
    ("Pомашка", (None, "Ромашка", "Ромашка", "ромашка", "fixed", "mixed_script")),
    ("OOO «Pомашка»", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "mixed_script")),
    ("ТехноSoft", (None, "ТехноSoft", "ТехноSoft", "техноsoft", "ok", None)),
    ("Рога и Копыта", (None, "Рога и Копыта", "Рога и Копыта", "рога и копыта", "ok", None)),
    ("«Ромашка»", (None, "Ромашка", "Ромашка", "ромашка", "fixed", "quotes_unified")),
    ("ТД «Альянс»", (None, "ТД «Альянс»", "ТД «Альянс»", "тд альянс", "ok", None)),
    ("Торговый дом «Альянс»", (None, "Торговый дом «Альянс»", "Торговый дом «Альянс»", "тд альянс", "ok", None)),
    ("АОН-Сервис", (None, "АОН-Сервис", "АОН-Сервис", "аон сервис", "ok", None)),
    ("Me Too", (None, "Me Too", "Me Too", "me too", "ok", None)),
    ("ООО «Ёлка»", ("ООО", "Ёлка", "ООО «Ёлка»", "елка", "ok", None)),
    ("ООО\n«Ромашка»", ("ООО", "Ромашка", "ООО «Ромашка»", "ромашка", "fixed", "reformatted")),
]


@pytest.mark.parametrize("value, expected", CASES, ids=[c[0] for c in CASES])
def test_company_cases(value, expected):
    row = one(value)
    got = (row["opf"], row["core"], row["display"], row["key"], row["status"], row["reason"])
    assert got == expected


# value → (opf, person_name, display, status, reason)
PERSONS = [
    ("ИП Петров П.П.", ("ИП", "Петров П.П.", "ИП Петров П.П.", "ok", None)),
    ("Индивидуальный предприниматель Петров Пётр Петрович",
     ("ИП", "Петров Пётр Петрович", "ИП Петров Пётр Петрович", "fixed", "form_abbreviated")),
    ("Петров П.П., ИП", ("ИП", "Петров П.П.", "ИП Петров П.П.", "fixed", "form_moved")),
    ("ИП ПЕТРОВ П.П.", ("ИП", "Петров П.П.", "ИП Петров П.П.", "fixed", "case_fixed")),
    ("ип иванова а.е.", ("ИП", "Иванова А.Е.", "ИП Иванова А.Е.", "fixed", "form_normalized")),
    ('ИП "Петров"', ("ИП", "Петров", "ИП Петров", "fixed", "quotes_unified")),
    ("КФХ Иванов И.И.", ("КФХ", "Иванов И.И.", "КФХ Иванов И.И.", "ok", None)),
    ("Глава КФХ Иванов Иван Иванович", ("КФХ", "Иванов Иван Иванович", "КФХ Иванов Иван Иванович", "fixed", "form_abbreviated")),
    ("Крестьянское (фермерское) хозяйство Иванова А.А.", ("КФХ", "Иванова А.А.", "КФХ Иванова А.А.", "fixed", "form_abbreviated")),
]


@pytest.mark.parametrize("value, expected", PERSONS, ids=[c[0] for c in PERSONS])
def test_sole_traders_are_persons(value, expected):
    row = one(value)
    assert row["is_person"] is True
    assert (row["opf"], row["person_name"], row["display"], row["status"], row["reason"]) == expected


def test_company_is_not_a_person():
    row = one("ООО «Ромашка»")
    assert row["is_person"] is False and row["person_name"] is None
    assert (row["opf"], row["opf_full"]) == ROMASHKA


# value → (status, reason, opf)
BAD = [
    (None, "missing", "empty", None),
    ("", "missing", "empty", None),
    ("   ", "missing", "empty", None),
    ("-", "invalid", "no_letters", None),
    ("123", "invalid", "no_letters", None),
    ("???", "invalid", "no_letters", None),
    ("ООО", "invalid", "form_only", "ООО"),
    ("ООО «»", "invalid", "form_only", "ООО"),
    ("Индивидуальный предприниматель", "invalid", "form_only", "ИП"),
    ("ИП 123", "invalid", "no_letters", "ИП"),
    ("нет", "missing", "placeholder", None),
    ("Частное лицо", "missing", "placeholder", None),
    ("Н/Д", "missing", "placeholder", None),
    ("ООО «Нет»", "ok", None, "ООО"),  # with a legal form it is a name
]


@pytest.mark.parametrize("value, status, reason, opf", BAD, ids=[repr(c[0]) for c in BAD])
def test_missing_and_invalid_values(value, status, reason, opf):
    row = one(value)
    assert (row["status"], row["reason"], row["opf"]) == (status, reason, opf)
    # Junk never becomes a name or a match key.
    if status != "ok":
        assert row["core"] is None and row["display"] is None and row["key"] is None


def test_branches_keep_apart_and_spellings_meet():
    out = normalize_companies(pl.Series([
        "ООО «Ромашка»", "Ромашка, ООО", "ооо ромашка", "OOO «Ромашка»",
        'Общество с ограниченной ответственностью "Ромашка"', "ООО «Ромашка» (Тверь)",
    ]))
    assert out["key"].to_list()[:5] == ["ромашка"] * 5
    assert out["key"][5] == "ромашка тверь"


def test_every_form_of_the_data_file_is_recognised():
    for form in form_table().forms:
        name = "Vector" if form.latin else "Ромашка"
        value = f"{name} {form.short}" if form.latin else f"{form.short} {name}"
        row = one(value)
        assert row["opf"] == form.short, value
        assert row["opf_full"] == form.full, value
        row = one(f"{name} {form.full}" if form.latin else f"{form.full} {name}")
        assert row["opf"] == form.short, form.full


def test_order_height_and_nulls_kept():
    values = pl.Series(["ИП Петров П.П.", None, "ООО «Ромашка»", "ИП Петров П.П.", ""])
    out = normalize_companies(values)
    assert out.columns == list(SCHEMA)
    assert out.schema == pl.Schema(SCHEMA)
    assert out["display"].to_list() == ["ИП Петров П.П.", None, "ООО «Ромашка»", "ИП Петров П.П.", None]
    assert out["is_person"].to_list() == [True, None, False, True, None]


def test_empty_and_non_string_input():
    assert normalize_companies(pl.Series([], dtype=pl.String)).height == 0
    assert normalize_companies(pl.Series([None, None])).height == 2
    assert normalize_companies(pl.Series([123, 4567])).get_column("status").to_list() == ["invalid", "invalid"]


def _blank(value: str | None) -> bool:
    """Nothing but spaces, control and zero-width characters."""
    return value is None or all(
        ch.isspace() or unicodedata.category(ch) == "Cc" or ch in "\u200b\u200c\u200d\u2060\ufeff" for ch in value
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40),
                          st.sampled_from(["ООО ", "ИП ", ", ООО", " LLC", "«", "»", '"', "(", ")", " ", "Ромашка", "O", " \x1f ", "\n"])),
                max_size=30))
def test_never_raises_and_never_loses_a_value(values):
    out = normalize_companies(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    assert out.schema == pl.Schema(SCHEMA)
    for value, row in zip(values, out.iter_rows(named=True)):
        assert row["status"] in STATUSES
        if _blank(value):
            assert row["status"] == "missing"
            continue
        if row["status"] == "missing":
            assert row["reason"] == "placeholder" and row["display"] is None
            continue
        # Every value gets a verdict; a usable one has a display name and a key, a bad one says why.
        assert row["status"] in ("ok", "fixed", "invalid"), (value, row)
        if row["status"] == "invalid":
            assert row["reason"] and row["display"] is None
        else:
            assert row["display"] and row["core"] and row["key"] is not None
            assert (row["reason"] is None) == (row["status"] == "ok")
            if row["status"] == "fixed":
                assert row["reason"] in FIX_REASONS
            if row["status"] == "ok":
                assert row["display"] == value.strip()


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[А-ЯЁ][а-яё]{2,12}( [А-ЯЁ]?[а-яё]{2,10})?", fullmatch=True),
       st.sampled_from(["ООО «{}»", "{}, ООО", "{} ООО", 'ООО "{}"', "ооо {}", "OOO {}", "Общество с ограниченной ответственностью «{}»"]))
def test_any_spelling_of_one_company_gives_one_key(name, shape):
    out = normalize_companies(pl.Series([f"ООО «{name}»", shape.format(name)]))
    assert out["opf"].to_list() == ["ООО", "ООО"]
    assert out["key"][0] == out["key"][1] == name.lower().replace("ё", "е")
    assert out["display"][1] == f"ООО «{name}»" or shape == "ооо {}"
