"""Delimited text: encodings, delimiters, header rows, multi-line cells, bad rows."""

import json

import pytest

from builders import write_csv
from readers import read_all, row

from crmtool.errors import SourceError


def test_cp1251_semicolon_with_title_blank_rows_and_multiline_cell(tmp_path):
    text = (
        "Отчёт по клиентам;;;\r\n"
        "\r\n"
        "ФИО;Телефон;Почта;Примечание\r\n"
        'Иванов Иван;8 916 123-45-67;IVAN@MAIL.RU;"звонить\r\nпосле обеда"\r\n'
        "\r\n"
        "Петров Пётр;+79161112233, 8 495 123-45-67 доб. 12;p@x.ru;\r\n"
        "Сидоров;1234567;s@x.ru;заметка;лишнее;ещё\r\n"
    )
    path = tmp_path / "base.csv"
    path.write_bytes(text.encode("cp1251"))
    frame, result = read_all(path)
    assert (result.format, result.encoding) == ("csv", "cp1251")
    assert result.tables[0].header_line == 3
    assert frame.get_column("source_row").to_list() == [1, 2, 3]
    assert frame.get_column("line").to_list() == [4, 7, 8]
    ivanov, petrov, sidorov = row(frame, 1), row(frame, 2), row(frame, 3)
    assert ivanov["full_name"] == "Иванов Иван"
    assert ivanov["note"] == "звонить\r\nпосле обеда"
    assert ivanov["emails"] == ["IVAN@MAIL.RU"]
    assert petrov["phones"] == ["+79161112233", "8 495 123-45-67 доб. 12"]
    assert petrov["phone_kinds"] == ["other", "other"]
    # A row with more cells than the header: kept, flagged, surplus cells in extra.
    assert sidorov["flags"] == ["too_many_fields"]
    assert json.loads(sidorov["extra"]) == {"overflow 1": "лишнее", "overflow 2": "ещё"}
    assert json.loads(sidorov["raw"])["Примечание"] == "заметка"
    assert any("blank row" in n for n in result.notes)


def test_koi8r_tab_separated(tmp_path):
    path = write_csv(
        tmp_path / "k.txt",
        [["Фамилия", "Имя", "Отчество", "Мобильный"], ["Щукина", "Юлия", "Эдуардовна", "+7 916 000-11-22"]],
        encoding="koi8_r",
        delimiter="\t",
    )
    frame, result = read_all(path)
    assert result.encoding == "koi8-r" and result.format == "tsv"
    r = row(frame, 1)
    assert (r["last_name"], r["first_name"], r["middle_name"]) == ("Щукина", "Юлия", "Эдуардовна")
    assert (r["phones"], r["phone_kinds"]) == (["+7 916 000-11-22"], ["mobile"])
    assert r["entity_hint"] == "person"


def test_google_old_utf16_with_typed_multi_values(tmp_path):
    header = ["Name", "Given Name", "Family Name", "Group Membership", "E-mail 1 - Type", "E-mail 1 - Value",
              "Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Organization 1 - Name"]
    rows = [header, ["Ivan Ivanov", "Ivan", "Ivanov", "* My Contacts", "* Work", "ivan@firm.ru ::: ivan@gmail.com",
                     "Mobile", "+7 916 123-45-67 ::: +7 903 000-00-00", "Work Fax", "+7 495 111-22-33", "Firm"]]
    path = write_csv(tmp_path / "google.csv", rows, encoding="utf-16-le", bom=True)
    frame, result = read_all(path)
    assert (result.encoding, result.profile) == ("utf-16-le", "google-old")
    r = row(frame, 1)
    assert r["full_name"] == "Ivan Ivanov" and r["company"] == "Firm"
    assert r["emails"] == ["ivan@firm.ru", "ivan@gmail.com"] and r["email_kinds"] == ["work", "work"]
    assert r["phones"] == ["+7 916 123-45-67", "+7 903 000-00-00", "+7 495 111-22-33"]
    assert r["phone_kinds"] == ["mobile", "mobile", "fax"]
    assert r["entity_hint"] == "person_at_company"


def test_generic_comma_file_with_duplicate_headers_and_company_as_name(tmp_path):
    rows = [["ФИО", "Телефон", "Телефон", "E-mail"],
            ["ООО «Ромашка»", "84951234567", "", "info@romashka.ru"],
            ["Анна", "", "89031112233", ""]]
    frame, result = read_all(write_csv(tmp_path / "a.csv", rows))
    assert list(result.tables[0].columns) == ["ФИО", "Телефон", "Телефон (2)", "E-mail"]
    company, anna = row(frame, 1), row(frame, 2)
    assert (company["entity_hint"], company["company"], company["full_name"]) == ("company", "ООО «Ромашка»", None)
    assert "name_is_company" in company["flags"]
    assert anna["phones"] == ["89031112233"]


def test_1c_list_export_persons_and_companies(tmp_path):
    rows = [["Наименование", "Полное наименование", "ИНН", "КПП", "Юр. / физ. лицо", "Телефон",
             "Основной менеджер покупателя"],
            ["Ромашка ООО", "Общество с ограниченной ответственностью \"Ромашка\"", "7707083893", "770701001",
             "Юр. лицо", "+7 495 123-45-67", "Иванова А.С."],
            ["Петров П.П.", "Петров Петр Петрович", "500100732259", "", "Физ. лицо", "8 916 555-44-33", ""]]
    frame, result = read_all(write_csv(tmp_path / "1c.csv", rows, delimiter=";"))
    assert result.profile == "1c-table"
    company, person = row(frame, 1), row(frame, 2)
    assert (company["entity_hint"], company["company"], company["inn"], company["kpp"], company["owner"]) == (
        "company", "Ромашка ООО", "7707083893", "770701001", "Иванова А.С.")
    assert json.loads(company["extra"])["Полное наименование"].startswith("Общество")
    assert (person["entity_hint"], person["full_name"], person["company"]) == ("person", "Петров Петр Петрович", None)


def test_user_mapping_overrides_synonyms(tmp_path):
    path = write_csv(tmp_path / "m.csv", [["Клиент", "Тел"], ["ООО Лютик", "123"]])
    frame, result = read_all(path, columns={"Клиент": "company"})
    assert result.tables[0].columns["Клиент"] == "company (user)"
    assert row(frame, 1)["company"] == "ООО Лютик"


def test_unterminated_quote_is_a_file_error_with_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('ФИО,Телефон\nИванов,1\n"Петров,2\nСидоров,3\n', encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        read_all(path)
    assert exc.value.line == 3 and "quot" in exc.value.reason


def test_only_a_header_gives_zero_records(tmp_path):
    frame, result = read_all(write_csv(tmp_path / "h.csv", [["ФИО", "Телефон"]]))
    assert frame.height == 0 and result.tables[0].rows == 0


def test_unknown_headers_keep_everything_in_extra(tmp_path):
    frame, result = read_all(write_csv(tmp_path / "u.csv", [["Поле А", "Поле Б"], ["x", "y"]]))
    assert any("no header row recognised" in n for n in result.notes)
    assert json.loads(row(frame, 1)["extra"]) == {"Поле А": "x", "Поле Б": "y"}


def test_polars_and_csv_module_paths_agree(tmp_path):
    """The fast path and the fallback must produce the same records for a clean table."""
    rows = [["ФИО", "Телефон", "Примечание"], ["А", "1", 'с "кавычками"'], ["Б", "2", "много\nстрок"], ["В", "3", ""]]
    clean, _ = read_all(write_csv(tmp_path / "clean.csv", rows))
    ragged, _ = read_all(write_csv(tmp_path / "ragged.csv", rows + [["Г", "4", "", "лишнее"]]))
    cols = ["source_row", "line", "full_name", "phones", "note", "raw"]
    assert ragged.head(3).select(cols).to_dicts() == clean.select(cols).to_dicts()



def test_1c_group_rows_are_kept_flagged_and_not_companies(tmp_path):
    rows = [["Наименование", "Код", "ИНН", "Юр. / физ. лицо", "Телефон"],
            ["Покупатели", "00-000001", "", "", ""],
            ["Ромашка ООО", "00-000002", "7707083893", "Юр. лицо", "+7 495 123-45-67"],
            ["Без ИНН ООО", "00-000003", "", "Юр. лицо", ""]]
    frame, _ = read_all(write_csv(tmp_path / "1c.csv", rows, delimiter=";"))
    group, company, bare = row(frame, 1), row(frame, 2), row(frame, 3)
    assert (group["entity_hint"], group["company"], group["flags"]) == ("unknown", None, ["group_row"])
    assert json.loads(group["extra"])["group"] == "Покупатели" and group["source_key"] == "00-000001"
    assert company["entity_hint"] == "company" and company["flags"] == []
    assert (bare["entity_hint"], bare["company"], bare["flags"]) == ("company", "Без ИНН ООО", [])
