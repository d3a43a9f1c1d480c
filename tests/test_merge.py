"""Golden records: survivorship, phones and e-mails united with types, provenance, links, stable ids."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest

from conftest import SAMPLES

from crmtool.match.stage import match_workspace
from crmtool.merge.stage import merge_workspace
from crmtool.merge.survivorship import Survivorship, source_family
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace

HEADER = ["ФИО", "Телефон", "Моб. тел.", "E-mail", "Компания", "Должность", "Город"]
EXCEL_ROWS = [
    ["Иванов Александр Петрович", "+7 495 111-22-33", "+7 916 123-45-67", "a.ivanov@romashka.ru", "ООО «Ромашка»",
     "Директор", "Москва"],
    ["Петрова Мария", "", "+7 926 000-11-22", "", "", "Бухгалтер", "Тверь"],
]
CSV_ROWS = [
    ["Саша Иванов", "", "8 916 123 45 67", "sasha.ivanov@mail.ru", "", "Генеральный директор", "г. Москва"],
    ["Сидоров Пётр", "", "+7 903 555-66-77", "p.sidorov@romashka.ru", "", "", ""],
]


def write_files(folder: Path) -> tuple[Path, Path]:
    xlsx = folder / "manager.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for row in EXCEL_ROWS:
        wb.active.append(row)
    wb.save(xlsx)
    csv = folder / "phone_book.csv"
    csv.write_text("\n".join(";".join(r) for r in [HEADER, *CSV_ROWS]) + "\n", encoding="utf-8")
    return xlsx, csv


@contextmanager
def build(folder: Path, paths: list[Path], rules: Survivorship | None = None) -> Iterator[Workspace]:
    with Workspace.open(folder / "ws.duckdb") as ws:
        load_paths(ws, paths)
        normalize_workspace(ws)
        match_workspace(ws)
        merge_workspace(ws, rules)
        yield ws


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path)


def golden_of(ws: Workspace, file_part: str, row: int) -> dict:
    golden_id = ws.scalar(
        "SELECT c.cluster_id FROM clusters c JOIN records r USING (record_id) JOIN sources s ON s.source_id = r.source_id"
        " WHERE c.entity = 'contact' AND s.path LIKE ? AND r.source_row = ?", [f"%{file_part}", row])
    return ws.fetch_dicts("SELECT * FROM contacts WHERE golden_id = ?", [golden_id])[0]


def test_formal_name_wins_and_channels_are_united_with_types(tmp_path, files):
    with build(tmp_path, list(files)) as ws:
        ivanov = golden_of(ws, "phone_book.csv", 1)
        assert ivanov["golden_id"] == golden_of(ws, "manager.xlsx", 1)["golden_id"]
        assert (ivanov["last_name"], ivanov["first_name"], ivanov["middle_name"]) == ("Иванов", "Александр", "Петрович")
        phones = {p["value"]: p["type"] for p in ivanov["phones"]}
        assert phones == {"+79161234567": "MOBILE", "+74951112233": "WORK"}
        emails = {e["value"]: e["type"] for e in ivanov["emails"]}
        assert emails == {"a.ivanov@romashka.ru": "WORK", "sasha.ivanov@mail.ru": "HOME"}
        assert ivanov["records"] == 2 and sorted(ivanov["sources"]) == ["csv", "excel"]


def test_source_priority_and_rules(tmp_path, files):
    for sub in "abc":
        (tmp_path / sub).mkdir()
    with build(tmp_path / "a", list(files)) as ws:
        assert golden_of(ws, "manager.xlsx", 1)["job_title"] == "Директор"  # Excel before CSV by default
    rules = Survivorship(priority=("csv", "excel"))
    with build(tmp_path / "b", list(files), rules) as ws:
        assert golden_of(ws, "manager.xlsx", 1)["job_title"] == "Генеральный директор"
    with build(tmp_path / "c", list(files), Survivorship(rule="recent")) as ws:  # the CSV was loaded last
        assert golden_of(ws, "manager.xlsx", 1)["job_title"] == "Генеральный директор"


def test_replace_and_skip_take_one_record_whole(tmp_path, files):
    (tmp_path / "r").mkdir()
    with build(tmp_path / "r", list(files), Survivorship(mode="replace", priority=("csv", "excel"))) as ws:
        ivanov = golden_of(ws, "manager.xlsx", 1)
        # everything from the CSV row: its diminutive, its only phone and e-mail, no patronymic
        assert (ivanov["first_name"], ivanov["middle_name"], ivanov["job_title"]) == ("Саша", None, "Генеральный директор")
        assert [p["value"] for p in ivanov["phones"]] == ["+79161234567"]
    (tmp_path / "s").mkdir()
    with build(tmp_path / "s", list(files), Survivorship(mode="skip")) as ws:
        ivanov = golden_of(ws, "manager.xlsx", 1)
        assert ivanov["job_title"] in ("Директор", "Генеральный директор")
        assert len(ivanov["phones"]) in (1, 2) and ivanov["records"] == 2


def test_every_golden_field_traces_to_member_records(tmp_path, files):
    with build(tmp_path, list(files)) as ws:
        orphans = ws.scalar("""
            SELECT count(*) FROM provenance p
            JOIN clusters c ON c.cluster_id = p.golden_id
            WHERE NOT list_contains((SELECT list(record_id) FROM clusters c2 WHERE c2.cluster_id = p.golden_id),
                                    p.record_ids[1])
        """)
        assert orphans == 0
        # each filled field of a golden record made of several records has a chosen provenance
        # row with its value (a one-record golden record's values are all that record's: explain)
        for field in ("last_name", "first_name", "job_title", "city"):
            missing = ws.scalar(f"""
                SELECT count(*) FROM contacts g WHERE g.records > 1 AND g.{field} IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM provenance p WHERE p.entity = 'contact' AND p.golden_id = g.golden_id
                    AND p.field = '{field}' AND p.chosen AND p.value = g.{field})
            """)
            assert missing == 0, field
        ivanov = golden_of(ws, "manager.xlsx", 1)
        rows = ws.fetch_dicts("SELECT value, chosen, len(record_ids) AS n FROM provenance WHERE golden_id = ? "
                              "AND field = 'first_name' ORDER BY value", [ivanov["golden_id"]])
        assert rows == [{"value": "Александр", "chosen": True, "n": 1}, {"value": "Саша", "chosen": False, "n": 1}]
        from crmtool.merge.explain import explain

        petrova = golden_of(ws, "manager.xlsx", 2)
        assert petrova["records"] == 1
        told = {(p["field"], p["value"]): p["from"] for p in explain(ws, petrova["golden_id"])["provenance"]}
        assert told[("last_name", "Петрова")] == ["manager.xlsx:2"] == told[("phones", "+79260001122")]


def test_contacts_link_to_companies_by_row_and_domain(tmp_path, files):
    with build(tmp_path, list(files)) as ws:
        links = ws.fetch_dicts("""
            SELECT c.last_name, co.name, l.via FROM contact_company l
            JOIN contacts c ON c.golden_id = l.contact_id JOIN companies co ON co.golden_id = l.company_id
            ORDER BY c.last_name
        """)
        by_name = {(r["last_name"], r["name"]): r["via"] for r in links}
        assert "row" in by_name[("Иванов", "ООО «Ромашка»")]
        # Сидоров wrote no company, but his mail is at romashka.ru: only Ромашка's own records
        # carry that domain when it is a company record's; here it is Иванов's work address
        assert all(name != "ООО «Ромашка»" or "domain" in via or "row" in via for (_, name), via in by_name.items())


def test_golden_ids_are_stable_and_a_new_file_touches_only_its_people(tmp_path, files):
    xlsx, csv = files
    (tmp_path / "one").mkdir()
    with build(tmp_path / "one", [xlsx]) as ws:
        before = {r["golden_id"]: r["last_name"] for r in ws.fetch_dicts("SELECT golden_id, last_name FROM contacts")}
    (tmp_path / "two").mkdir()
    with build(tmp_path / "two", [xlsx]) as ws:
        assert {r["golden_id"] for r in ws.fetch_dicts("SELECT golden_id FROM contacts")} == set(before)
        load_paths(ws, [csv])
        normalize_workspace(ws)
        match_workspace(ws)
        merge_workspace(ws)
        after = {r["golden_id"]: r["last_name"] for r in ws.fetch_dicts("SELECT golden_id, last_name FROM contacts")}
    assert set(before) <= set(after)  # Иванов gained a record, Петрова untouched: both keep their ids
    assert len(after) == len(before) + 1  # Сидоров is new


def test_samples_merge_keeps_every_contact_record(tmp_path):
    with build(tmp_path, [SAMPLES]) as ws:
        assert ws.scalar("SELECT sum(records) FROM contacts") == ws.scalar(
            "SELECT count(*) FROM clusters WHERE entity = 'contact'")
        assert ws.scalar("SELECT sum(records) FROM companies") == ws.scalar(
            "SELECT count(*) FROM clusters WHERE entity = 'company'")


@pytest.mark.parametrize("fmt, family", [
    ("commerceml/2.08", "1c"), ("xlsx/1c-table", "1c"), ("xlsx", "excel"), ("csv/outlook-ru", "outlook"),
    ("csv/google-new", "google"), ("vcard/iphone", "vcard"), ("csv", "csv"),
])
def test_source_families(fmt, family):
    assert source_family(fmt) == family


def test_bad_rules_are_refused():
    from crmtool.errors import CrmError

    with pytest.raises(CrmError, match="rule"):
        Survivorship(rule="newest")
    with pytest.raises(CrmError, match="unknown source"):
        Survivorship(priority=("1c", "erp"))
