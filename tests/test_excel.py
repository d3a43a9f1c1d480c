"""Excel workbooks: header search, numbers as phones, several sheets, damaged files."""

import datetime
import json

import pytest

from builders import write_xls, write_xlsx
from readers import read_all, row

from crmtool.errors import SourceError

HEADER = ["ФИО", "Компания", "Телефон", "Моб. тел.", "E-mail", "Дата рождения"]


def manager_base(path):
    return write_xlsx(
        path,
        {
            "Клиенты": [
                ["Клиенты менеджера Ивановой А.С."],
                ["на", datetime.date(2026, 11, 1)],
                [],
                HEADER,
                ["Иванов Иван Иванович", "ООО «Ромашка»", 74951234567, 79161234567, "IVANOV@MAIL.RU",
                 datetime.datetime(1980, 5, 1)],
                ["Петрова Анна", None, "7,91612E+10", None, "anna@ya.ru", "01.02.1990"],
                [],
                ["Сидоров С.С.", None, 79161200000, None, None, None],
            ],
            "Справочник": [["Город", "Код"], ["Москва", 495], ["Тверь", 4822]],
            "Архив": [["Клиент", "Тел.", "Почта", "Организация"], ["Кузнецов Алексей", "8 903 111-22-33", "a@k.ru", "Лютик"]],
        },
        merges={"Клиенты": ["A1:F1"]},
    )


def test_header_found_below_title_date_blank_row_and_merged_cell(tmp_path):
    frame, result = read_all(manager_base(tmp_path / "m.xlsx"))
    first = result.tables[0]
    assert (first.name, first.header_line, first.rows) == ("Клиенты", 4, 3)
    assert frame.filter(frame["sheet"] == "Клиенты")["line"].to_list() == [5, 6, 8]


def test_phones_stored_as_numbers_come_back_as_exact_digits(tmp_path):
    frame, _ = read_all(manager_base(tmp_path / "m.xlsx"))
    ivanov = row(frame, 1)
    assert ivanov["phones"] == ["74951234567", "79161234567"]
    assert ivanov["phone_kinds"] == ["other", "mobile"]
    assert ivanov["birthday"] == "1980-05-01"
    assert ivanov["entity_hint"] == "person_at_company"


def test_lost_digits_are_flagged_and_kept(tmp_path):
    frame, _ = read_all(manager_base(tmp_path / "m.xlsx"))
    assert row(frame, 2)["phones"] == ["7,91612E+10"]
    assert row(frame, 2)["flags"] == ["phone_digits_lost"]
    assert row(frame, 3)["flags"] == ["phone_digits_maybe_lost"]


def test_every_contact_sheet_read_and_rows_numbered_across_the_file(tmp_path):
    frame, result = read_all(manager_base(tmp_path / "m.xlsx"))
    assert [t.name for t in result.tables] == ["Клиенты", "Архив"]
    assert any("'Справочник' skipped" in n for n in result.notes)
    assert frame["source_row"].to_list() == [1, 2, 3, 4]
    archive = row(frame, 4)
    assert (archive["sheet"], archive["line"], archive["full_name"], archive["company"]) == (
        "Архив", 2, "Кузнецов Алексей", "Лютик")


def test_old_xls_workbook(tmp_path):
    path = write_xls(tmp_path / "old.xls", {"Лист1": [[], ["ФИО", "Телефон", "Почта"], ["Иванов", 89161234567, "i@x.ru"]]})
    frame, result = read_all(path)
    assert result.format == "xls"
    assert row(frame, 1)["phones"] == ["89161234567"]
    assert row(frame, 1)["line"] == 3


def test_error_cells_flag_the_row(tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", {"S": [["ФИО", "Телефон"], ["Иванов", "#N/A"], ["Петров", "1"]]})
    frame, result = read_all(path)
    assert result.tables[0].rows == 2
    assert row(frame, 1)["flags"] == ["cell_error"]
    assert json.loads(row(frame, 1)["extra"]) == {"#errors": "Телефон: Error(NA)"}
    assert row(frame, 2)["flags"] == []


def test_truncated_workbook_is_a_file_error(tmp_path):
    good = manager_base(tmp_path / "m.xlsx").read_bytes()
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(SourceError) as exc:
        read_all(bad)
    assert "not a readable Excel workbook" in str(exc.value)


def test_workbook_without_a_contact_table_is_kept_whole(tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", {"Прайс": [["Товар", "Цена"], ["Коврик", 100]]})
    frame, result = read_all(path)
    assert frame.height == 1
    assert json.loads(row(frame, 1)["extra"]) == {"Товар": "Коврик", "Цена": "100"}
    assert any("first row as the header" in n for n in result.notes)


def test_sheet_option_limits_and_checks_names(tmp_path):
    path = manager_base(tmp_path / "m.xlsx")
    frame, _ = read_all(path, sheets=["Архив"])
    assert frame.height == 1
    with pytest.raises(SourceError, match="no sheet named 'Нет'"):
        read_all(path, sheets=["Нет"])
