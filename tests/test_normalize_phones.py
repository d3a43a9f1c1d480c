"""Phone normalization: the issue's cases, fast path vs phonenumbers, and properties."""

from __future__ import annotations

import random
import re

import phonenumbers as pn
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtool.normalize import STATUSES
from crmtool.normalize import phones as phones_module
from crmtool.normalize.phones import OUTPUT_SCHEMA, normalize_phones, phone_digits_key

M = "+79161234567"  # a Moscow-region mobile
MSK = "+74957771234"  # a Moscow fixed line


def _ok(e164, type_):
    return (e164, None, type_, "ok", None)


def _fixed(e164, type_, reason="reformatted", ext=None):
    return (e164, ext, type_, "fixed", reason)


def _invalid(reason, ext=None):
    return (None, ext, None, "invalid", reason)


# (raw cell, [(e164, ext, type, status, reason) for each number found])
CASES = [
    # --- prefixes: +7 / 8 / 7 / bare ten digits
    ("+79161234567", [_ok(M, "mobile")]),
    ("  +79161234567 ", [_ok(M, "mobile")]),
    ("+7 916 123-45-67", [_fixed(M, "mobile")]),
    ("8 (916) 123-45-67", [_fixed(M, "mobile")]),
    ("89161234567", [_fixed(M, "mobile")]),
    ("7 916 123 45 67", [_fixed(M, "mobile")]),
    ("9161234567", [_fixed(M, "mobile")]),
    ("8.916.123.45.67", [_fixed(M, "mobile")]),
    ("(495) 777-12-34", [_fixed(MSK, "fixed")]),
    ("+7 (4822) 35-67-89", [_fixed("+74822356789", "fixed")]),  # Tver, 4-digit area code
    ("8 (3012) 21-43-65", [_fixed("+73012214365", "fixed")]),  # Ulan-Ude
    ("8 812 123-45-67", [_fixed("+78121234567", "fixed")]),
    ("8-800-555-35-35", [_fixed("+78005553535", "toll_free")]),
    ("+7 (800) 100-00-00", [_fixed("+78001000000", "toll_free")]),
    ("8 809 505 05 05", [_fixed("+78095050505", "premium")]),
    ("79161234567.0", [_fixed(M, "mobile")]),  # went through a float
    ("٨٩١٦١٢٣٤٥٦٧", [_fixed(M, "mobile")]),  # Arabic-Indic digits
    # --- foreign numbers, and the Russian international prefix 8 10
    ("8 10 49 30 1234567", [_fixed("+49301234567", "fixed")]),
    ("00 49 30 1234567", [_fixed("+49301234567", "fixed")]),
    ("+375 29 123-45-67", [_fixed("+375291234567", "mobile")]),
    ("+375 17 123-45-67", [_fixed("+375171234567", "fixed")]),
    ("+1 212 555 0123", [_fixed("+12125550123", "fixed")]),  # FIXED_LINE_OR_MOBILE -> fixed
    ("+44 20 7946 0958", [_fixed("+442079460958", "fixed")]),
    ("+7 701 123 45 67", [_fixed("+77011234567", "mobile")]),  # Kazakhstan shares +7
    ("380501234567", [("+380501234567", None, "mobile", "suggested", "assumed_international")]),
    ("+89161234567", [(M, None, "mobile", "suggested", "plus_before_8")]),
    # --- extensions
    ("+7 495 777-12-34 доб. 215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("8 (495) 777-12-34 доб 215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("8 495 777 12 34 ДОБ.215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("8 495 777 12 34 вн. 12", [_fixed(MSK, "fixed", "extension", "12")]),
    ("8 495 777 12 34 внутр. 1234", [_fixed(MSK, "fixed", "extension", "1234")]),
    ("8 495 777 12 34 доп. 5", [_fixed(MSK, "fixed", "extension", "5")]),
    ("+7 495 777-12-34 ext. 215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("+7 495 777-12-34 ext 215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("+7 495 777-12-34 x215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("+7 495 777-12-34 #215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("+7 495 777-12-34*215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("+7 495 777-12-34,215", [_fixed(MSK, "fixed", "extension", "215")]),  # iPhone pause
    ("+7 495 777-12-34 (доб. 215)", [_fixed(MSK, "fixed", "extension", "215")]),
    ("8 (495) 777-12-34, доб. 215", [_fixed(MSK, "fixed", "extension", "215")]),
    ("доб. 215", [_invalid("extension_only", "215")]),
    # --- several numbers in one cell
    ("+7 916 123-45-67,+7 903 765-43-21", [_fixed(M, "mobile", "split"), _fixed("+79037654321", "mobile", "split")]),
    ("+7 916 123-45-67, 8 903 765-43-21", [_fixed(M, "mobile", "split"), _fixed("+79037654321", "mobile", "split")]),
    ("89161234567,89037654321", [_fixed(M, "mobile", "split"), _fixed("+79037654321", "mobile", "split")]),
    ("8 916 123-45-67; 8 903 765 43 21", [_fixed(M, "mobile", "split"), _fixed("+79037654321", "mobile", "split")]),
    ("8 916 123-45-67 / 8 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("8 916 123-45-67 \\ 8 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("8 916 123-45-67 или 8 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("+7 916 123-45-67 and +7 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("8 916 123-45-67\n8 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("+7 916 123-45-67 ::: +7 495 777-12-34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("8 916 123 45 67 8 495 777 12 34", [_fixed(M, "mobile", "split"), _fixed(MSK, "fixed", "split")]),
    ("8 495 123 45 67 / 68", [_fixed("+74951234567", "fixed", "split"), _fixed("+74951234568", "fixed", "short_tail")]),
    ("8 495 123-45-67, 68", [_fixed("+74951234567", "fixed", "split"), _fixed("+74951234568", "fixed", "short_tail")]),
    ("8 495 123-45-67/8/9", [
        _fixed("+74951234567", "fixed", "split"),
        _fixed("+74951234568", "fixed", "short_tail"),
        _fixed("+74951234569", "fixed", "short_tail"),
    ]),
    ("8 495 123-45-67 / 123", [  # three digits: maybe an extension, so only suggested
        _fixed("+74951234567", "fixed", "split"),
        ("+74951234123", None, "fixed", "suggested", "short_tail"),
    ]),
    ("8 495 777-12-34 доб. 215, 216", [
        _fixed(MSK, "fixed", "split", "215"),
        _fixed(MSK, "fixed", "short_tail", "216"),
    ]),
    ("8 916 123-45-67, 123-45-68", [_fixed(M, "mobile", "split"), _invalid("no_area_code")]),
    # --- text around numbers
    ("тел. 8 916 123-45-67 (Иван)", [_fixed(M, "mobile", "text_removed")]),
    ("моб: +7 916 123 45 67", [_fixed(M, "mobile", "text_removed")]),
    ("Phone: +1 650 253 0000", [_fixed("+16502530000", "fixed", "text_removed")]),
    ("8 916 123 45 67 Иван Петрович", [_fixed(M, "mobile", "text_removed")]),
    ("доп. 8 916 123 45 67", [_fixed(M, "mobile", "text_removed")]),
    ("8 916 123 45 67 (2 шт)", [_fixed(M, "mobile", "text_removed")]),
    ("тел/факс: 8 495 777-12-34", [_fixed(MSK, "fixed", "text_removed")]),
    # --- invalid
    ("123-45-67", [_invalid("no_area_code")]),  # never invent the area code
    ("35-67-89", [_invalid("no_area_code")]),
    ("1234", [_invalid("too_short")]),
    ("7,91612E+10", [_invalid("digits_lost")]),
    ("7.91612E+10", [_invalid("digits_lost")]),
    ("тел. 7,91612E+10", [_invalid("digits_lost")]),
    ("+7 123 456 78 90", [_invalid("not_a_number")]),  # no +7 1xx range
    ("8 916 123 45 6", [_invalid("too_short")]),
    ("8 916 123 45 678", [_invalid("too_long")]),
    ("+999 123 456 789", [_invalid("invalid_country_code")]),
    ("нет", [_invalid("no_digits")]),
    ("не указан", [_invalid("no_digits")]),
    # --- missing
    (None, [(None, None, None, "missing", "empty")]),
    ("", [(None, None, None, "missing", "empty")]),
    ("   ", [(None, None, None, "missing", "empty")]),
]


def _rows(df: pl.DataFrame) -> list[tuple]:
    return list(df.select("e164", "ext", "type", "status", "reason").iter_rows())


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
def test_cases(raw, expected):
    out = normalize_phones(pl.Series([raw], dtype=pl.String))
    assert _rows(out) == expected
    assert out["part"].to_list() == list(range(len(expected)))
    assert out["original"].to_list() == [raw] * len(expected)


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
def test_cases_slow_path_only(raw, expected):
    """The Python path alone gives the same answers (the fast path is only a shortcut)."""
    out = phones_module._normalize(pl.Series([raw], dtype=pl.String), fast=False)
    assert _rows(out) == expected


def test_all_cases_in_one_column_keep_positions():
    raws = [c[0] for c in CASES]
    out = normalize_phones(pl.Series(raws, dtype=pl.String))
    for i, (_, expected) in enumerate(CASES):
        assert _rows(out.filter(pl.col("index") == i)) == expected


def test_text_is_the_piece_the_number_came_from():
    out = normalize_phones(pl.Series(["8 495 123 45 67 / 68", "тел. 8 916 123-45-67 (Иван)", "  +79161234567 "]))
    assert out["text"].to_list() == ["8 495 123 45 67", "68", "тел. 8 916 123-45-67 (Иван)", "+79161234567"]


def test_output_schema_exact():
    out = normalize_phones(pl.Series(["+79161234567", None, "a, b"]))
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert out.columns == ["index", "part", "original", "text", "e164", "ext", "type", "status", "reason"]


def test_empty_series():
    out = normalize_phones(pl.Series([], dtype=pl.String))
    assert out.height == 0 and out.schema == pl.Schema(OUTPUT_SCHEMA)


def test_numbers_stored_as_numbers():
    out = normalize_phones(pl.Series([79161234567, None], dtype=pl.Int64))
    assert out["e164"].to_list() == [M, None]
    assert out["original"].to_list() == ["79161234567", None]


def test_other_default_region():
    out = normalize_phones(pl.Series(["030 1234567", "+7 916 123-45-67", "0151 12345678"]), default_region="DE")
    assert out["e164"].to_list() == ["+49301234567", M, "+4915112345678"]
    assert out["type"].to_list() == ["fixed", "mobile", "mobile"]


def test_same_values_repeated_and_in_order():
    values = ["8 916 123 45 67 / 68", None, "+79161234567"] * 1000
    out = normalize_phones(pl.Series(values))
    assert out.height == 4000
    assert out["index"].is_sorted()
    assert out.filter(pl.col("index") == 2999)["status"].to_list() == ["ok"]


def test_phone_digits_key():
    df = pl.DataFrame({"e164": ["+79161234567", None]})
    assert df.select(phone_digits_key(pl.col("e164")))["e164"].to_list() == ["79161234567", None]


# --- the fast path against phonenumbers --------------------------------------------------

_PN_TYPES = {
    pn.PhoneNumberType.FIXED_LINE: "fixed", pn.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
    pn.PhoneNumberType.MOBILE: "mobile", pn.PhoneNumberType.TOLL_FREE: "toll_free",
    pn.PhoneNumberType.PREMIUM_RATE: "premium", pn.PhoneNumberType.PERSONAL_NUMBER: "other",
}


def _random_ru_cells(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    cells, nationals = [], []
    for _ in range(n):
        national = rng.choice("3489") + "".join(rng.choice("0123456789") for _ in range(9))
        shape = rng.randrange(5)
        cells.append([
            f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}",
            f"+7{national}",
            f"7 {national[:3]} {national[3:]}",
            national,
            f"+7 {national[:3]} {national[3:]} доб. {rng.randrange(1, 999)}",
        ][shape])
        nationals.append(national)
    return cells, nationals


def test_fast_path_agrees_with_phonenumbers_on_random_numbers():
    cells, nationals = _random_ru_cells(20_000, seed=20240611)
    out = normalize_phones(pl.Series(cells)).filter(pl.col("part") == 0)
    assert out.height == len(cells)
    valid = 0
    for (e164, type_, status), national in zip(out.select("e164", "type", "status").iter_rows(), nationals):
        number = pn.parse("+7" + national)
        if pn.is_valid_number(number):
            valid += 1
            assert e164 == "+7" + national
            assert type_ == _PN_TYPES[pn.number_type(number)], national
        else:
            assert status == "invalid", national
            assert e164 is None
    assert valid > 5_000  # the sample really exercises valid ranges


def test_fast_path_takes_the_common_shapes():
    cells, nationals = _random_ru_cells(5_000, seed=7)
    df = pl.DataFrame({"text": cells})
    fast = phones_module._fast_columns(df)
    handled = fast["type"].is_not_null()
    for ok, national in zip(handled.to_list(), nationals):
        assert ok == pn.is_valid_number(pn.parse("+7" + national)), national


def test_fast_path_takes_labels_but_not_possible_lists():
    cells = ["тел. 8 916 123-45-67 (Иван)", "моб: +7 916 123 45 67", "Phone: 8-800-555-35-35",
             "Иван и Мария 8 916 123 45 67", "8 916 123 45 67, 68"]
    fast = phones_module._fast_columns(pl.DataFrame({"text": cells}))
    assert fast["type"].to_list() == ["mobile", "mobile", "toll_free", None, None]
    assert fast["lettered"].to_list()[:3] == [True, True, True]


def test_fast_and_slow_paths_agree_on_plain_shapes():
    cells, _ = _random_ru_cells(5_000, seed=11)
    cells += ["8 (916 123-45-67", "(8) 916 123 45 67", "+7(916)1234567 ДОБ.:12", "8 916 123 45 67 x 5",
              "тел.: 8 916 123-45-67 (Иван)", "Phone: +7 916 123 45 67", "моб.(916) 123-45-67", "x 8 916 123 45 67",
              "Иван и Мария 8 916 123 45 67", "8 916 123 45 67 и Мария", "тел.+8 916 123 45 67", "+7 916 123 45 67 (",
              "доб 8 916 123 45 67", "Ї 8 916 123 45 67", "8 916 123 45 67 ²"]
    s = pl.Series(cells)
    assert phones_module._normalize(s).equals(phones_module._normalize(s, fast=False))


# --- properties ---------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "8", "+7", "7", "+", "916", "495", "123", "45", "67", "0", " ", "-", "(", ")", ".", ",", ";", "/", "\\",
    "\n", " доб. ", "x", "#", "*", " или ", " и ", " and ", "тел.", "Иван", "E+10", "00", "810", "\u00a0", "٣",
    "моб: ", "Phone: ", "№", ":::", "²", "Ї", "9161234567", "4951234567",
])
_CELLS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.lists(_PIECES, max_size=25).map("".join),
)
_E164 = re.compile(r"^\+[1-9]\d{5,16}$")  # phonenumbers accepts some 16-digit German numbers


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELLS, max_size=30))
def test_property_never_raises_and_never_loses_a_value(cells):
    out = normalize_phones(pl.Series(cells, dtype=pl.String))
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert sorted(set(out["index"].to_list())) == list(range(len(cells)))
    for i, group in out.group_by("index", maintain_order=True):
        assert group["part"].to_list() == list(range(group.height))
        assert group["original"].to_list() == [cells[i[0]]] * group.height
    for e164, ext, type_, status, reason in out.select("e164", "ext", "type", "status", "reason").iter_rows():
        assert status in STATUSES
        assert (reason is None) == (status == "ok")
        assert (e164 is not None) == (status in ("ok", "fixed", "suggested"))
        assert (type_ is not None) == (e164 is not None)
        assert e164 is None or _E164.match(e164)
        assert ext is None or ext.isdigit()
    # The Python path alone agrees with the fast path on whatever the fast path took.
    assert out.equals(phones_module._normalize(pl.Series(cells, dtype=pl.String), fast=False))
