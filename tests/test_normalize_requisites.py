"""ИНН, КПП, ОГРН/ОГРНИП: check digits, safe cleaning, 1C/Excel number quirks."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

from crmtool.normalize import STATUSES
from crmtool.normalize.requisites import check_inn, check_kpp, check_ogrn


def one(fn, value) -> dict:
    out = fn(pl.Series([value], dtype=pl.String))
    assert out.height == 1
    return out.row(0, named=True)


# value → (inn, kind, status, reason)
INN = [
    ("7707083893", ("7707083893", "legal", "ok", None)),  # ПАО Сбербанк
    ("7736207543", ("7736207543", "legal", "ok", None)),
    ("7707083830", ("7707083830", "legal", "ok", None)),  # remainder 10 → check digit 0
    ("500100732259", ("500100732259", "individual", "ok", None)),
    ("012345678943", ("012345678943", "individual", "ok", None)),
    ("0274062111", ("0274062111", "legal", "ok", None)),  # region 02 keeps its zero as text
    ("  7707083893 ", ("7707083893", "legal", "ok", None)),
    ("7707 083 893", ("7707083893", "legal", "fixed", "cleaned")),
    ("7707-083-893", ("7707083893", "legal", "fixed", "cleaned")),
    ("ИНН 7707083893", ("7707083893", "legal", "fixed", "cleaned")),
    ("ИНН: 7707083893", ("7707083893", "legal", "fixed", "cleaned")),
    ("7707083893.0", ("7707083893", "legal", "fixed", "cleaned")),
    ("\ufeff7707083893", ("7707083893", "legal", "fixed", "cleaned")),  # a BOM glued to the first cell
    ("7707083893/773601001", ("7707083893", "legal", "fixed", "kpp_removed")),
    ("274062111", ("0274062111", "legal", "fixed", "leading_zero_restored")),  # a number cell dropped the 0
    ("12345678943", ("012345678943", "individual", "fixed", "leading_zero_restored")),
    ("274062112", (None, None, "invalid", "bad_length")),  # no zero makes it valid
    ("7707083894", (None, None, "invalid", "bad_checksum")),
    ("500100732250", (None, None, "invalid", "bad_checksum")),
    ("500100732269", (None, None, "invalid", "bad_checksum")),  # first check digit right, second wrong
    ("770708389", (None, None, "invalid", "bad_length")),
    ("77070838931", (None, None, "invalid", "bad_length")),
    ("0000000000", (None, None, "invalid", "all_zeros")),
    ("000000000000", (None, None, "invalid", "all_zeros")),
    ("7.707083893E9", (None, None, "invalid", "digits_lost")),
    ("7,70708E+09", (None, None, "invalid", "digits_lost")),
    ("77O7083893", (None, None, "invalid", "not_digits")),
    ("нет", (None, None, "invalid", "not_digits")),
    (None, (None, None, "missing", "empty")),
    ("", (None, None, "missing", "empty")),
    ("   ", (None, None, "missing", "empty")),
]


@pytest.mark.parametrize("value, expected", INN, ids=[repr(c[0]) for c in INN])
def test_inn(value, expected):
    row = one(check_inn, value)
    assert (row["inn"], row["kind"], row["status"], row["reason"]) == expected


# value → (kpp, status, reason)
KPP = [
    ("773601001", ("773601001", "ok", None)),
    ("7736AB001", ("7736AB001", "ok", None)),  # reason code in Latin capitals (2019 rules)
    ("7736 01 001", ("773601001", "fixed", "cleaned")),
    ("КПП 773601001", ("773601001", "fixed", "cleaned")),
    ("7736ab001", ("7736AB001", "fixed", "cleaned")),
    ("7736АВ001", ("7736AB001", "fixed", "cyrillic_letters")),
    ("7707083893/773601001", ("773601001", "fixed", "inn_removed")),
    ("27401001", ("027401001", "fixed", "leading_zero_restored")),
    ("07736010", (None, "invalid", "bad_length")),  # a zero in front already: not a dropped one
    ("7736010", (None, "invalid", "bad_length")),
    ("7736010011", (None, "invalid", "bad_length")),
    ("77360100A", (None, "invalid", "bad_format")),
    ("A73601001", (None, "invalid", "bad_format")),
    ("7736Ж1001", (None, "invalid", "not_digits")),
    ("000000000", (None, "invalid", "all_zeros")),
    ("003601001", (None, "invalid", "bad_region")),
    ("7.73601E8", (None, "invalid", "digits_lost")),
    (None, (None, "missing", "empty")),
]


@pytest.mark.parametrize("value, expected", KPP, ids=[repr(c[0]) for c in KPP])
def test_kpp(value, expected):
    row = one(check_kpp, value)
    assert (row["kpp"], row["status"], row["reason"]) == expected


# ОГРНИП check digits with (first 14 digits mod 13) = 10, 11, 12: the check digit is that mod 10.
OGRNIP_REMAINDER_10 = "304500116000050"
OGRNIP_REMAINDER_11 = "304500116000061"
OGRNIP_REMAINDER_12 = "304500116000072"

# value → (ogrn, kind, status, reason)
OGRN = [
    ("1027700132195", ("1027700132195", "ogrn", "ok", None)),  # ПАО Сбербанк
    ("1037739010891", ("1037739010891", "ogrn", "ok", None)),
    ("5077746887312", ("5077746887312", "ogrn", "ok", None)),
    ("1027700132240", ("1027700132240", "ogrn", "ok", None)),  # mod 11 remainder 10 → 0
    ("304500116000157", ("304500116000157", "ogrnip", "ok", None)),
    (OGRNIP_REMAINDER_10, (OGRNIP_REMAINDER_10, "ogrnip", "ok", None)),
    (OGRNIP_REMAINDER_11, (OGRNIP_REMAINDER_11, "ogrnip", "ok", None)),
    (OGRNIP_REMAINDER_12, (OGRNIP_REMAINDER_12, "ogrnip", "ok", None)),
    ("ОГРН 1027700132195", ("1027700132195", "ogrn", "fixed", "cleaned")),
    ("ОГРНИП: 304500116000157", ("304500116000157", "ogrnip", "fixed", "cleaned")),
    ("1027700132194", (None, None, "invalid", "bad_checksum")),
    ("304500116000051", (None, None, "invalid", "bad_checksum")),
    ("2027700132194", (None, None, "invalid", "bad_first_digit")),  # a ГРН, not an ОГРН
    ("102770013219", (None, None, "invalid", "bad_length")),
    ("1.0277E12", (None, None, "invalid", "digits_lost")),
    ("0000000000000", (None, None, "invalid", "all_zeros")),
    ("I027700132195", (None, None, "invalid", "not_digits")),
    ("", (None, None, "missing", "empty")),
]


@pytest.mark.parametrize("value, expected", OGRN, ids=[repr(c[0]) for c in OGRN])
def test_ogrn(value, expected):
    row = one(check_ogrn, value)
    assert (row["ogrn"], row["kind"], row["status"], row["reason"]) == expected


def test_stdnum_rejects_the_valid_ogrnip_we_accept():
    """Why we do not call python-stdnum for ОГРН: it drops the final mod 10 for ОГРНИП."""
    for number in (OGRNIP_REMAINDER_10, OGRNIP_REMAINDER_11, OGRNIP_REMAINDER_12):
        assert int(number[:14]) % 13 % 10 == int(number[14])
        assert one(check_ogrn, number)["status"] == "ok"


def test_columns_and_order():
    values = pl.Series(["7707083893", None, "bad", "500100732259"])
    inn = check_inn(values)
    assert inn.columns == ["inn", "kind", "status", "reason"]
    assert inn["inn"].to_list() == ["7707083893", None, None, "500100732259"]
    assert check_kpp(values).columns == ["kpp", "status", "reason"]
    assert check_ogrn(values).columns == ["ogrn", "kind", "status", "reason"]
    assert all(df.height == 4 for df in (inn, check_kpp(values), check_ogrn(values)))


def test_numbers_and_empty_input():
    assert check_inn(pl.Series([7707083893, None])).get_column("status").to_list() == ["ok", "missing"]
    for fn in (check_inn, check_kpp, check_ogrn):
        assert fn(pl.Series([], dtype=pl.String)).height == 0


# --- properties ---------------------------------------------------------------------------

def _ogrn_reference(number: str) -> bool:
    if len(number) == 13:
        return number[0] in "15" and int(number[:12]) % 11 % 10 == int(number[12])
    if len(number) == 15:
        return number[0] == "3" and int(number[:14]) % 13 % 10 == int(number[14])
    return False


digits = st.text(alphabet="0123456789", min_size=8, max_size=16)
messy = st.one_of(
    st.none(), digits, st.text(max_size=20),
    st.builds(lambda d, sep: sep.join([d[:4], d[4:]]), digits, st.sampled_from([" ", "-", " - ", "\u00a0"])),
    st.builds(lambda d: f"ИНН {d}", digits),
)


def _blank(value: str | None) -> bool:
    """Nothing but spaces, control and invisible format characters."""
    return value is None or all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _check_contract(fn, value_column, values):
    out = fn(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    for value, row in zip(values, out.iter_rows(named=True)):
        assert row["status"] in STATUSES
        if _blank(value):
            assert row["status"] == "missing"
        elif row["status"] == "invalid":
            assert row[value_column] is None and row["reason"]
        else:
            assert row["status"] in ("ok", "fixed")
            assert row[value_column]
            assert (row["reason"] is None) == (row["status"] == "ok")
            if row["status"] == "ok":
                assert row[value_column] == value.strip(), value
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(messy, max_size=40))
def test_inn_contract(values):
    out = _check_contract(check_inn, "inn", values)
    for row in out.iter_rows(named=True):
        if row["inn"] is not None:
            assert stdnum_inn.is_valid(row["inn"])
            assert row["kind"] == {10: "legal", 12: "individual"}[len(row["inn"])]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=10, max_size=10) | st.text(alphabet="0123456789", min_size=12, max_size=12), max_size=40))
def test_inn_agrees_with_stdnum(values):
    out = check_inn(pl.Series(values, dtype=pl.String))
    for value, status in zip(values, out["status"]):
        expected = stdnum_inn.is_valid(value) and not value.startswith("00")
        assert (status == "ok") == expected, value


@settings(max_examples=300, deadline=None)
@given(st.lists(messy, max_size=40))
def test_kpp_contract(values):
    out = _check_contract(check_kpp, "kpp", values)
    for kpp in out["kpp"].drop_nulls():
        assert len(kpp) == 9 and kpp[:4].isdigit() and kpp[6:].isdigit()


@settings(max_examples=300, deadline=None)
@given(st.lists(messy, max_size=40))
def test_ogrn_contract(values):
    out = _check_contract(check_ogrn, "ogrn", values)
    for row in out.iter_rows(named=True):
        if row["ogrn"] is not None:
            assert _ogrn_reference(row["ogrn"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(10**12, 10**13 - 1) | st.integers(3 * 10**14, 4 * 10**14 - 1), max_size=40))
def test_ogrn_agrees_with_reference(numbers):
    values = [str(n) for n in numbers]
    out = check_ogrn(pl.Series(values, dtype=pl.String))
    for value, status in zip(values, out["status"]):
        assert (status == "ok") == _ogrn_reference(value), value
        if len(value) == 13 and value[0] in "15":
            assert (status == "ok") == stdnum_ogrn.is_valid(value), value
