"""Comparison levels across scripts, spellings and channels, on a real CSV through load and normalize."""

from __future__ import annotations

import polars as pl
import pytest

from crmtool.match.blocking import block_contacts
from crmtool.match.features import LEVELS, compare, record_frame
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace

ROWS = [
    ("Волков В. Л.", "+7 994 438-04-98", "", "Москва", ""),  # 1
    ("Vladislav Volkov", "8 (994) 438-04-98", "", "г.Москва", ""),  # 2
    ("Пуговгенко Елена Станиславовна", "+79953780830", "", "", ""),  # 3
    ("Pugovkenko Elena", "+79953780830", "", "Пермь", ""),  # 4
    ("Горнобобрская Вика", "+79476293110", "", "МСК", ""),  # 5
    ("Gornobobrskaya Viktoriya", "+79476293110", "", "Moscow", ""),  # 6
    ("Nostsev Serega", "+78435645073", "", "Казань", ""),  # 7
    ("Nostsev Sergey", "+78435645073", "", "Казань", ""),  # 8
    ("Кренделева Ольга", "+79161112233", "", "Тула", ""),  # 9: another mobile than 10
    ("Кренделева Ольга", "+79162223344", "", "Тула", ""),  # 10
    ("Кренделева Ольга", "+74951234567", "", "Тула", ""),  # 11: a desk phone
    ("Новотихонцев Андрей", "+79161230001", "", "", "ООО «Итконма»"),  # 12
    ("Новотихонцев А.", "+79161230001", "a.novotikhontsev@itkonma.ru", "", ""),  # 13: the company's domain
    ("Снегирин Женя", "+79060754045", "", "", ""),  # 14: Женя is Евгений
    ("Снегирин Е. В.", "+79060754045", "", "", ""),  # 15
    ("Снегирин Ж. В.", "+79060754045", "", "", ""),  # 16: Ж. as written
    ("Снегирин Э. В.", "+79060754045", "", "", ""),  # 17: Э is not Е as written
    ("Бобрищева Светлана", "+74957778899", "", "", ""),  # 18: a family's home phone
    ("Бобрищева Ирина", "+74957778899", "", "", ""),  # 19
    ("Бобрищева Светлна", "+74957778899", "", "", ""),  # 20: a typo
]


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    csv = folder / "people.csv"
    lines = ["ФИО;Телефон;E-mail;Город;Компания"] + [";".join(row) for row in ROWS]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(folder / "ws.duckdb") as ws:
        load_paths(ws, [csv])
        normalize_workspace(ws)
        blocks = block_contacts(ws)
        out = compare(blocks.pairs.select("record_a", "record_b"), record_frame(ws))
    rows = out.with_columns(a=pl.col("record_a") & 0xFFFFFFFF, b=pl.col("record_b") & 0xFFFFFFFF)
    return {(a, b): row for a, b, row in zip(rows["a"], rows["b"], rows.iter_rows(named=True))}


def level(levels, a: int, b: int, comparison: str) -> str:
    assert (a, b) in levels, f"rows {a} and {b} were never compared"
    return LEVELS[comparison][levels[(a, b)][comparison]]


def test_a_cyrillic_initial_meets_a_latin_first_name(levels):
    assert level(levels, 1, 2, "surname") == "translit"
    assert level(levels, 1, 2, "first_name") == "initial"
    assert level(levels, 1, 2, "city") == "same"  # Москва / г.Москва


def test_surname_typo_across_scripts_is_close(levels):
    assert level(levels, 3, 4, "surname") in ("close", "similar")
    assert level(levels, 3, 4, "first_name") == "diminutive_or_translit"  # Elena / Елена


def test_latin_and_cyrillic_diminutives_meet(levels):
    assert level(levels, 5, 6, "first_name") == "diminutive_or_translit"  # Вика / Viktoriya
    assert level(levels, 5, 6, "city") == "same"  # МСК / Moscow
    assert level(levels, 7, 8, "first_name") == "diminutive_or_translit"  # Serega / Sergey


def test_two_mobiles_differ_more_than_a_mobile_and_a_desk_phone(levels):
    assert level(levels, 9, 10, "phone") == "different_mobiles"
    assert level(levels, 9, 11, "phone") == "different"
    assert levels[(9, 10)]["city_share"] == pytest.approx(3 / 10)  # Тула: 3 of the 10 rows with a city


def test_a_company_name_meets_its_mail_domain(levels):
    assert level(levels, 12, 13, "company") == "domain"


def test_an_initial_meets_a_diminutive_by_its_full_forms(levels):
    assert level(levels, 14, 15, "first_name") == "initial"  # Женя (Евгений) / Е.
    assert level(levels, 14, 16, "first_name") == "initial"  # Женя / Ж.: the initial as written
    assert level(levels, 14, 17, "first_name") == "different"  # Женя / Э.


def test_first_names_under_one_surname_say_how_alike_they_are(levels):
    # two first names that are not forms of one name: a relative, or a typo (cluster.unsupported)
    assert level(levels, 18, 19, "first_name") == level(levels, 18, 20, "first_name") == "different"
    assert levels[(18, 19)]["first_sim"] < 0.85 <= levels[(18, 20)]["first_sim"]
    assert levels[(14, 17)]["first_sim"] is None  # Женя / Э.: no first name written out on one side
