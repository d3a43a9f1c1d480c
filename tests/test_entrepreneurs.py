"""An ИП is a company and a person: both golden records, linked (issue 5)."""

from __future__ import annotations

import polars as pl
import pytest

from crmtool.cli import main
from crmtool.export.data import load_export_data
from crmtool.workspace import Workspace

ROWS = """Наименование;ИНН;Телефон;E-mail
ИП Петров Пётр Петрович;500100732259;+7 (915) 111-22-33;
Индивидуальный предприниматель Сидорова А.В.;;8 916 222-33-44;
ИП «Ромашка»;;+7 495 333-44-55;
Козлов Игорь Викторович, ИП;;;kozlov@example.ru
ООО «Вектор»;7707083893;+7 495 444-55-66;
"""
PEOPLE = """ФИО;Телефон;Компания
Петров Пётр;+79151112233;
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ip")
    (root / "counterparties.csv").write_text(ROWS, encoding="utf-8")
    (root / "people.csv").write_text(PEOPLE, encoding="utf-8")
    db = root / "ws.duckdb"
    assert main(["run", str(root / "counterparties.csv"), str(root / "people.csv"), "--db", str(db),
                 "--out", str(root / "out"), "--quiet"]) == 0
    with Workspace.open(db, create=False) as ws:
        return load_export_data(ws)


def linked(data, company: str) -> pl.DataFrame:
    ids = data.companies.filter(pl.col("name").str.contains(company))["golden_id"]
    contact_ids = data.links.filter(pl.col("company_id").is_in(ids.implode()))["contact_id"]
    return data.contacts.filter(pl.col("golden_id").is_in(contact_ids.implode()))


def test_every_ip_is_a_company(data):
    names = data.companies["name"].to_list()
    assert any("Петров" in n for n in names) and any("Сидорова" in n for n in names)
    assert any("Ромашка" in n for n in names) and any("Вектор" in n for n in names)
    assert any("Козлов" in n for n in names)


def test_the_person_behind_an_ip_is_a_contact_linked_to_it(data):
    sidorova = linked(data, "Сидорова")
    assert sidorova.height == 1 and sidorova["last_name"][0] == "Сидорова"
    kozlov = linked(data, "Козлов")
    assert kozlov.height == 1 and kozlov["first_name"][0] == "Игорь"


def test_the_ip_person_and_the_same_person_elsewhere_are_one_contact(data):
    petrov = linked(data, "Петров")
    assert petrov.height == 1
    assert petrov["first_name"][0] == "Пётр" and petrov["middle_name"][0] == "Петрович"
    assert data.contacts.filter(pl.col("last_name") == "Петров").height == 1


def test_a_trade_name_ip_and_an_ooo_bring_no_contact(data):
    assert linked(data, "Ромашка").height == 0
    assert linked(data, "Вектор").height == 0
