"""Header synonyms, layout profiles and header-row detection."""

import pytest

from crmtool.sources.headers import (
    detect_profile,
    find_header_row,
    header_key,
    map_header,
    parse_user_columns,
)


def test_header_key_folds_case_yo_and_punctuation():
    assert header_key("  Эл. почта: ") == "эл почта"
    assert header_key("E-mail") == "e mail"
    assert header_key("Ёмкость") == "емкость"
    assert header_key("Улица  2 (другой адрес)") == "улица 2 другой адрес"


@pytest.mark.parametrize(
    "header, target",
    [
        ("ФИО", "full_name"),
        ("Ф.И.О.", "full_name"),
        ("Клиент", "full_name"),
        ("Контактное лицо", "full_name"),
        ("Тел.", "phones"),
        ("Моб. тел.", "phones:mobile"),
        ("Сотовый", "phones:mobile"),
        ("Почта", "emails"),
        ("E-mail", "emails"),
        ("Эл. почта", "emails"),
        ("Компания", "company"),
        ("Организация", "company"),
        ("Контрагент", "company"),
        ("ИНН", "inn"),
        ("Ответственный", "owner"),
        ("Менеджер", "owner"),
        ("Отдел", "department"),
        ("Город", "city"),
        ("Дата рождения", "birthday"),
        ("Согласие на рассылку", "consent"),
        ("Телефон 2", "phones"),
        ("E-mail 3", "emails"),
    ],
)
def test_generic_synonyms(header, target):
    assert str(map_header(header)) == target


def test_numbered_and_guessed_are_marked():
    assert map_header("Телефон 2").how == "numbered"
    guessed = map_header("Тел. сотовый (осн.)")
    assert (guessed.field, guessed.how) == ("phones", "guess")
    assert map_header("Любимый цвет").field == "extra"
    assert map_header("").field == "extra"


def test_google_numbered_groups():
    value, label = map_header("Phone 2 - Value"), map_header("Phone 2 - Label")
    assert (value.field, value.group) == ("phones", "phones2")
    assert (label.field, label.qualifier, label.group) == ("label", "phones", "phones2")
    assert map_header("E-mail 1 - Value").field == "emails"
    assert map_header("Organization 1 - Name").field == "company"
    assert map_header("Organization 1 - Title").field == "job_title"


def test_outlook_ru_profile_handles_doubled_spaces():
    headers = ["Имя", "Фамилия", "Рабочий телефон", "Телефон переносной", "Адрес эл. почты", "Город  (другой адрес)"]
    profile = detect_profile(headers)
    assert profile is not None and profile.name == "outlook-ru"
    assert str(map_header("Телефон переносной", profile)) == "phones:mobile"
    assert str(map_header("Город  (другой адрес)", profile)) == "city:other"


def test_outlook_en_title_is_salutation_not_job():
    headers = ["Title", "First Name", "Last Name", "Business Phone", "E-mail Address", "E-mail Display Name"]
    profile = detect_profile(headers)
    assert profile.name == "outlook-en"
    assert map_header("Title", profile).field == "extra"
    assert map_header("Title").field == "job_title"  # elsewhere "Title" is a job title


def test_user_mapping_wins():
    user = parse_user_columns({"Клиент": "company", "Доп. тел": "phones:work"})
    assert str(map_header("клиент", None, user)) == "company"
    assert map_header("Клиент", None, user).how == "user"
    assert str(map_header("Доп. тел", None, user)) == "phones:work"


def test_header_row_below_title_date_and_blank_rows():
    rows = [
        ["Клиенты менеджера Ивановой А.С.", None, None, None],
        ["на 01.11.2026", None, None, None],
        [None, None, None, None],
        ["ФИО", "Телефон", "E-mail", "Компания"],
        ["Иванов Иван", "89161234567", "ivanov@mail.ru", "Ромашка"],
    ]
    assert find_header_row(rows) == 3


def test_no_header_row_in_a_price_list():
    rows = [["Товар", "Цена", "Остаток"], ["Коврик", "100", "5"]]
    assert find_header_row(rows) is None


def test_a_data_row_does_not_beat_the_header():
    rows = [["Имя", "Телефон"], ["Телефон", "Телефон"]]
    assert find_header_row(rows) == 0
