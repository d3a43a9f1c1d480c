"""Bitrix24 and amoCRM import files, and the owners → CRM user ids map, from the bundled samples."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from conftest import SAMPLES

from crmtool.cli import main
from crmtool.errors import CrmError
from crmtool.export.amocrm import write_amocrm
from crmtool.export.bitrix24 import company_titles, write_bitrix24
from crmtool.export.data import ExportData, load_export_data
from crmtool.export.layouts import AMOCRM_COMPANIES, AMOCRM_CONTACTS, BITRIX24_COMPANIES, BITRIX24_CONTACTS
from crmtool.export.targets import ExportOptions
from crmtool.export.users import load_users, resolve, responsible
from crmtool.workspace import Workspace


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """`crmtool run` on a copy of samples/: the workspace and its out/ folder."""
    root = tmp_path_factory.mktemp("crm")
    shutil.copytree(SAMPLES, root / "samples")
    code = main(["run", str(root / "samples"), "--out", str(root / "out"), "--db", str(root / "ws.duckdb"), "--quiet"])
    assert code == 0
    return root


@pytest.fixture(scope="module")
def data(built) -> ExportData:
    with Workspace.open(built / "ws.duckdb", create=False) as ws:
        return load_export_data(ws)


def read_csv(path: Path, encoding: str = "utf-8-sig", sep: str = ";") -> tuple[list[str], list[dict]]:
    with open(path, encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=sep))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def golden_by_email(data: ExportData, email: str) -> str:
    hits = data.contacts.filter(pl.col("emails").list.eval(pl.element().struct.field("value") == email).list.any())
    assert hits.height == 1, email
    return hits["golden_id"][0]


def by_golden(rows: list[dict]) -> dict[str, dict]:
    return {r["Дополнительно об источнике"].removeprefix("crmtool "): r for r in rows}


# --- Bitrix24 --------------------------------------------------------------------------------------

def test_run_writes_the_bitrix24_files_too(built, data):
    out = built / "out"
    assert (out / "bitrix24_contacts.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: auto-detected as UTF-8
    header, rows = read_csv(out / "bitrix24_contacts.csv")
    assert header == list(BITRIX24_CONTACTS.columns)
    assert len(rows) == data.contacts.height
    header, rows = read_csv(out / "bitrix24_companies.csv")
    assert header == list(BITRIX24_COMPANIES.columns)
    assert len(rows) == data.companies.height
    assert not list(out.glob("*.part"))


def test_every_golden_contact_once_with_separate_name_columns(tmp_path, data):
    write_bitrix24(data, tmp_path, ExportOptions())
    _, rows = read_csv(tmp_path / "bitrix24_contacts.csv")
    ids = [r["Дополнительно об источнике"] for r in rows]
    assert sorted(ids) == sorted(f"crmtool {g}" for g in data.contacts["golden_id"])
    ivanov = by_golden(rows)[golden_by_email(data, "ivanov@mail.ru")]
    assert (ivanov["Фамилия"], ivanov["Имя"], ivanov["Отчество"]) == ("Иванов", "Иван", "Иванович")
    assert ivanov["Дата рождения"] == "15.03.1978"


def test_every_row_has_a_first_or_last_name_as_the_import_requires(tmp_path, data):
    nikitina, popova = golden_by_email(data, "olga.nikitina@gmail.com"), golden_by_email(data, "popova@technosnab.ru")
    gid = pl.col("golden_id")
    contacts = data.contacts.with_columns(
        first_name=pl.when(gid.is_in([nikitina, popova])).then(None).otherwise(pl.col("first_name")),
        last_name=pl.when(gid.is_in([nikitina, popova])).then(None).otherwise(pl.col("last_name")),
        middle_name=pl.when(gid == nikitina).then(None).when(gid == popova).then(pl.lit("Михалыч"))
        .otherwise(pl.col("middle_name")),
    )
    write_bitrix24(data.with_frames(contacts=contacts), tmp_path, ExportOptions())
    _, rows = read_csv(tmp_path / "bitrix24_contacts.csv")
    assert all(r["Имя"] or r["Фамилия"] for r in rows)
    written = by_golden(rows)
    assert (written[nikitina]["Имя"], written[nikitina]["Отчество"]) == ("Без имени", "")
    assert (written[popova]["Имя"], written[popova]["Отчество"]) == ("Михалыч", "")  # a nickname, not a patronymic


def test_phones_and_emails_land_in_their_typed_columns(tmp_path, data):
    write_bitrix24(data, tmp_path, ExportOptions())
    rows = by_golden(read_csv(tmp_path / "bitrix24_contacts.csv")[1])
    ivanov = rows[golden_by_email(data, "ivanov@mail.ru")]
    assert ivanov["Мобильный телефон"] == "+79161234567"
    assert "+74951234567 доб. 123" in ivanov["Рабочий телефон"].split("; ")  # the switchboard with his extension
    assert ivanov["Частный e-mail"] == "ivanov@mail.ru" or ivanov["Рабочий e-mail"] == "ivanov@mail.ru"
    popova = rows[golden_by_email(data, "popova@technosnab.ru")]
    assert (popova["Рабочий телефон"], popova["Мобильный телефон"]) == ("+74957771234 доб. 215", "+79856007080")
    fedorov = rows[golden_by_email(data, "fedorov.sn@meridian-tver.ru")]
    assert fedorov["Домашний телефон"] == "+74822356789" and fedorov["Мобильный телефон"] == "+79157001234"
    assert fedorov["Дата рождения"] == "21.07.1975"  # 1975-07-21 in the source
    lebedev = rows[golden_by_email(data, "lebedev@vector-m.ru")]
    assert (lebedev["Рабочий e-mail"], lebedev["Частный e-mail"]) == ("lebedev@vector-m.ru", "k.lebedev@gmail.com")
    smirnova = rows[golden_by_email(data, "m.smirnova@romashka-msk.ru")]
    assert set(smirnova["Рабочий e-mail"].split("; ")) == {"m.smirnova@romashka-msk.ru", "buh@romashka-msk.ru"}


def test_contacts_name_companies_by_their_exact_titles(tmp_path, data):
    write_bitrix24(data, tmp_path, ExportOptions())
    _, companies = read_csv(tmp_path / "bitrix24_companies.csv")
    _, contacts = read_csv(tmp_path / "bitrix24_contacts.csv")
    titles = [c["Название компании"] for c in companies]
    assert len({t.lower() for t in titles}) == len(titles)
    used = {c["Компания"] for c in contacts if c["Компания"]}
    assert used and used <= set(titles)
    ivanov = by_golden(contacts)[golden_by_email(data, "ivanov@mail.ru")]
    # two links (his own row and 1C's representative): the better-evidenced one is the company, the other is noted
    assert ivanov["Компания"] == "ООО «Ромашка»"
    assert "Другие компании: Romashka LLC" in ivanov["Комментарий"]
    romashka = next(c for c in companies if c["Название компании"] == "ООО «Ромашка»")
    assert romashka["ИНН"] == "7714123459" and "crmtool CO-" in romashka["Комментарий"]


def test_companies_sharing_a_name_get_distinct_titles_in_both_files(tmp_path, data):
    tver = pl.col("inn") == "6952077880"  # ООО «Ромашка» (Тверь), a different company
    same_name = data.with_frames(companies=data.companies.with_columns(
        name=pl.when(tver).then(pl.lit("ООО «Ромашка»")).otherwise(pl.col("name"))))
    write_bitrix24(same_name, tmp_path, ExportOptions())
    _, companies = read_csv(tmp_path / "bitrix24_companies.csv")
    by_inn = {c["ИНН"]: c["Название компании"] for c in companies}
    assert by_inn["7714123459"] != by_inn["6952077880"]
    assert by_inn["7714123459"].startswith("ООО «Ромашка» (") and by_inn["6952077880"].startswith("ООО «Ромашка» (")
    _, contacts = read_csv(tmp_path / "bitrix24_contacts.csv")
    ivanov = by_golden(contacts)[golden_by_email(data, "ivanov@mail.ru")]
    assert ivanov["Компания"] == by_inn["7714123459"]


def test_title_suffixes_move_on_when_they_collide():
    companies = pl.DataFrame({
        "golden_id": ["CO-1", "CO-2", "CO-3", "CO-4"],
        "name": ["Альфа", "альфа ", "Альфа (Тверь)", "Бета"],
        "city": ["Тверь", "Тверь", None, None],
        "inn": [None, "6952077880", None, None],
    })
    titles = dict(company_titles(companies).iter_rows())
    # "Альфа (Тверь)" is taken by CO-3 and shared by CO-1 and CO-2: ИНН, then the golden id
    assert titles == {"CO-1": "Альфа (CO-1)", "CO-2": "альфа (ИНН 6952077880)", "CO-3": "Альфа (Тверь)",
                      "CO-4": "Бета"}


def test_windows_1251_with_commas_reads_back_and_reports_lost_characters(tmp_path, data, capsys):
    nikitina = golden_by_email(data, "olga.nikitina@gmail.com")
    note = pl.when(pl.col("golden_id") == nikitina).then(pl.lit("Первая строка; «кавычки» \"и\" запятые,\nвторая ☎"))
    changed = data.with_frames(contacts=data.contacts.with_columns(note=note.otherwise(pl.col("note"))))
    write_bitrix24(changed, tmp_path, ExportOptions(encoding="windows-1251", separator=","))
    raw = (tmp_path / "bitrix24_contacts.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header, rows = read_csv(tmp_path / "bitrix24_contacts.csv", encoding="cp1251", sep=",")
    assert header == list(BITRIX24_CONTACTS.columns) and len(rows) == data.contacts.height
    row = by_golden(rows)[nikitina]
    assert row["Комментарий"] == "Первая строка; «кавычки» \"и\" запятые,\nвторая ?"
    assert row["Фамилия"] == "Никитина"
    assert "1 characters have no windows-1251 equivalent" in capsys.readouterr().err


def test_birthday_without_a_year_goes_to_the_comment(tmp_path, data):
    nikitina = golden_by_email(data, "olga.nikitina@gmail.com")
    born = pl.when(pl.col("golden_id") == nikitina).then(pl.lit("--07-21")).otherwise(pl.col("birthday"))
    write_bitrix24(data.with_frames(contacts=data.contacts.with_columns(birthday=born)), tmp_path, ExportOptions())
    row = by_golden(read_csv(tmp_path / "bitrix24_contacts.csv")[1])[nikitina]
    assert row["Дата рождения"] == "" and "Дата рождения: --07-21" in row["Комментарий"]


# --- users map --------------------------------------------------------------------------------------

def test_users_map_gives_ids_and_keeps_unknown_owners_as_names(tmp_path, data, capsys):
    users = tmp_path / "users.csv"
    users.write_bytes("Ответственный;ID пользователя\nИванова  Анна Сергеевна;5\n".encode("cp1251"))
    options = ExportOptions(users=load_users(users))
    write_bitrix24(data, tmp_path, options)
    _, contacts = read_csv(tmp_path / "bitrix24_contacts.csv")
    owners = dict(data.contacts.select("golden_id", "owner").iter_rows())
    for gid, row in by_golden(contacts).items():
        if owners[gid] in ("Иванова А.С.", "Иванова Анна Сергеевна"):
            assert row["Ответственный"] == "5", owners[gid]
        else:
            assert row["Ответственный"] == (owners[gid] or "")
    assert any(r["Ответственный"] == "Орлов М.В." for r in contacts)
    assert "not in the users file" in capsys.readouterr().err


def test_owner_matching_tolerates_spelling_and_initials_only_when_unambiguous(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("owner,id\nИванова Анна Сергеевна,5\nОрлов Михаил Викторович,7\nОрлова Мария Петровна,8\n"
                     "Семёнов П.А.,9\n", encoding="utf-8")
    mapping = load_users(users)
    owners = pl.Series("owner", ["Иванова А.С.", "ИВАНОВА  анна сергеевна", "А.С. Иванова", "Орлов М.В.",
                                 "Орлов М.", "Семенов Павел Андреевич", "Петров П.П.", None])
    assert resolve(owners, mapping).to_list() == ["5", "5", "5", "7", "7", "9", None, None]
    assert responsible(owners, mapping).to_list()[-2:] == ["Петров П.П.", None]
    mapping["Иванова Алла Сергеевна"] = "6"  # two people are now "Иванова А.С."
    assert resolve(owners, mapping).to_list()[:3] == [None, "5", None]


@pytest.mark.parametrize("text, expected", [
    ("owner;id\nИванова А.С.;5\nОрлов М.В.;\n", r"users\.csv:3: owner 'Орлов М\.В\.' has no id"),
    ("owner;id\nИванова А.С.;5\n\nиванова а. с.;6\n", r"users\.csv:4: .*'6'.*line 2.*'5'"),
    ("name;phone\nИванова А.С.;+7\n", r"users\.csv:1: expected an owner column"),
    (";id\n;5\n", r"users\.csv:1: expected"),
])
def test_bad_users_file_names_file_and_line(tmp_path, text, expected):
    users = tmp_path / "users.csv"
    users.write_text(text, encoding="utf-8")
    with pytest.raises(CrmError, match=expected):
        load_users(users)


def test_same_owner_twice_with_one_id_is_fine(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("Менеджер,Код\nИванова А.С.,5\nИванова Анна Сергеевна,5\n", encoding="utf-8")
    assert load_users(users) == {"Иванова А.С.": "5", "Иванова Анна Сергеевна": "5"}


# --- amoCRM ----------------------------------------------------------------------------------------

def test_amocrm_csv_layout_full_names_and_external_ids(tmp_path, data):
    written = write_amocrm(data, tmp_path, ExportOptions(users={"Иванова А.С.": "101"}))
    assert [p.name for p in written] == ["amocrm_companies.csv", "amocrm_contacts.csv"]
    header, contacts = read_csv(tmp_path / "amocrm_contacts.csv", encoding="utf-8")
    assert header == list(AMOCRM_CONTACTS.columns)
    assert sorted(r["Внешний ID"] for r in contacts) == sorted(data.contacts["golden_id"])
    rows = {r["Внешний ID"]: r for r in contacts}
    ivanov = rows[golden_by_email(data, "ivanov@mail.ru")]
    assert ivanov["Полное имя контакта"] == "Иванов Иван Иванович"
    assert ivanov["Мобильный телефон"] == "+79161234567" and ivanov["Ответственный за контакт"] == "101"
    assert "Дата рождения: 15.03.1978" in ivanov["Примечание"]
    header, companies = read_csv(tmp_path / "amocrm_companies.csv", encoding="utf-8")
    assert header == list(AMOCRM_COMPANIES.columns) and len(companies) == data.companies.height
    assert {r["Компания контакта"] for r in contacts if r["Компания контакта"]} <= {c["Компания"] for c in companies}


def test_amocrm_xlsx(tmp_path, data):
    written = write_amocrm(data, tmp_path, ExportOptions(format="xlsx"))
    assert [p.name for p in written] == ["amocrm_companies.xlsx", "amocrm_contacts.xlsx"]
    for path, layout, height in ((written[0], AMOCRM_COMPANIES, data.companies.height),
                                 (written[1], AMOCRM_CONTACTS, data.contacts.height)):
        sheet = openpyxl.load_workbook(path, read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == list(layout.columns) and len(rows) == height + 1
    sheet = openpyxl.load_workbook(written[1], read_only=True).active
    names = {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert "Попова Наталья Олеговна" in names


# --- CLI -------------------------------------------------------------------------------------------

def test_cli_export_bitrix24_and_amocrm_with_users(built, tmp_path, cli):
    users = tmp_path / "users.csv"
    users.write_text("owner;id\nИванова Анна Сергеевна;5\n", encoding="utf-8")
    out = tmp_path / "crm"
    result = cli("export", "--target", "bitrix24", "--target", "amocrm", "--out", out, "--users", users,
                 "--db", built / "ws.duckdb", "--json")
    assert result.code == 0, result.err
    report = result.json()
    names = sorted(Path(p).name for p in report["written"])
    assert names == ["amocrm_companies.csv", "amocrm_contacts.csv", "bitrix24_companies.csv", "bitrix24_contacts.csv"]
    assert report["files"] == 4 and report["contacts"] > 0
    _, contacts = read_csv(out / "bitrix24_contacts.csv")
    assert "5" in {r["Ответственный"] for r in contacts}


def test_cli_export_with_a_bad_users_file_fails_cleanly(built, tmp_path, cli):
    users = tmp_path / "users.csv"
    users.write_text("owner;id\nИванова А.С.;\n", encoding="utf-8")
    result = cli("export", "--target", "bitrix24", "--out", tmp_path / "crm", "--users", users,
                 "--db", built / "ws.duckdb")
    assert result.code == 2 and "users.csv:2" in result.err and "Traceback" not in result.err
