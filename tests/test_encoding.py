"""Encoding detection on the shapes Russian client files really have."""

import pytest

from crmtool.errors import SourceError
from crmtool.sources.encoding import decode, detect, looks_binary

TABLE = (
    "ФИО;Телефон;Почта;Компания\n"
    "Иванов Иван Иванович;8 (916) 123-45-67;ivanov@mail.ru;ООО \"Ромашка\"\n"
    "Петрова Анна Сергеевна;+7 903 765-43-21;anna@yandex.ru;ИП Петрова\n"
)
CAPS = "ФИО,ТЕЛЕФОН\nИВАНОВ ИВАН,123\nСИДОРОВ ПЕТР,555\nКУЗНЕЦОВА ОЛЬГА,777\n"


@pytest.mark.parametrize("text", [TABLE, CAPS, TABLE.lower()])
@pytest.mark.parametrize("codec", ["cp1251", "koi8_r"])
def test_single_byte_russian(text, codec):
    assert detect(text.encode(codec), complete=True) == codec


def test_utf8_with_and_without_bom():
    assert detect(TABLE.encode("utf-8")) == "utf-8"
    assert detect(b"\xef\xbb\xbf" + TABLE.encode("utf-8")) == "utf-8"


def test_utf8_sample_cut_inside_a_character_is_still_utf8():
    data = TABLE.encode("utf-8")
    cut = data[: data.index("Иванов".encode()) + 1]  # half of "И"
    assert detect(cut, complete=False) == "utf-8"


def test_utf16_with_and_without_bom():
    assert detect(b"\xff\xfe" + TABLE.encode("utf-16-le")) == "utf-16-le"
    assert detect(TABLE.encode("utf-16-le")) == "utf-16-le"
    assert detect(TABLE.encode("utf-16-be")) == "utf-16-be"


def test_western_text_is_cp1252_not_cyrillic():
    text = "Name,Company\nJosé Müller,Société Générale\nFrançois Ærø,Straße GmbH\n"
    assert detect(text.encode("cp1252"), complete=True) == "cp1252"


def test_binary_is_recognised():
    assert looks_binary(bytes(range(256)) * 4)
    assert not looks_binary(TABLE.encode("utf-8"))


def test_decode_error_names_line_and_byte():
    data = TABLE.encode("utf-8") + b"bad \xff byte\n"
    with pytest.raises(SourceError) as exc:
        decode(data, "utf-8", "f.csv")
    assert exc.value.line == 4
    assert "0xff" in str(exc.value) and str(exc.value).startswith("f.csv:4:")


def test_decode_strips_bom():
    assert decode(b"\xef\xbb\xbfabc", "utf-8", "f") == "abc"
    assert decode(b"\xff\xfea\x00", "utf-16-le", "f") == "a"
