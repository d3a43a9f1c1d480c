"""Surnames read from mailboxes: records with no surname meet the people their address names."""

from __future__ import annotations

import pytest

from crmtool.match.mailbox import read_mailbox
from crmtool.match.review import review_pairs
from crmtool.workspace import Workspace


@pytest.mark.parametrize("mailbox, expected", [
    ("a.dolgoslavko", ("dolgoslavko", "A")),
    ("dolgoslavko.aleksey", ("dolgoslavko", "A")),
    ("y.malopeskarovich", ("malopeskarovich", "Y")),
    ("tikhoborev72", ("tihoborev", None)),  # folded Latin: kh → h, as every Latin surname is compared
    ("yasnopilenkoilya", ("iasnopilenko", "I")),  # a surname and a first name in one word
    ("mariyapetrova", ("petrova", "M")),
    ("kirillova", ("kirilova", None)),  # a surname made from a first name, not Kirill + "ova"
    ("ivan_ivanov", ("ivanov", "I")),
    ("andreyd1988", None),  # a first name and an initial: no surname
    ("natalyab", None),
    ("ilya", None),
    ("ab", None),
    ("ivanov.petrov", None),  # two candidate surnames: which one?
])
def test_a_mailbox_reads_as_a_surname_and_an_initial(mailbox, expected):
    assert read_mailbox(mailbox) == expected


BASE = """ФИО;Телефон;E-mail;Компания;Город
Долгославко Алексей Петрович;+7 932 159-91-62;;АО «Виполон-Плюс»;Казань
;;a.dolgoslavko@vipolon-plyus.ru;;
Золотоолхук Антонина Сергеевна;+7 916 555-10-20;;ООО «Ромашка»;Тула
Антонина;;a.zolotoolkhuk@mail.ru;;
Тихоборев Георгий Ильич;+7 903 111-22-33;;ООО «Анит-Плюс»;Казань
;;tikhoborev@anit-plyus.ru;;
Тихоборева Анна Сергеевна;+7 903 444-55-66;;ООО «Кварц»;Тверь
Красноволова Евгения Евгеньевна;;star6737@inbox.ru;;
;;star6737@inbox.ru;;
;;info@vipolon-plyus.ru;;
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from crmtool.cli import main

    root = tmp_path_factory.mktemp("mailbox")
    (root / "in").mkdir()
    (root / "in" / "book.csv").write_text(BASE, encoding="utf-8")
    assert main(["run", str(root / "in"), "--db", str(root / "ws.duckdb"), "--out", str(root / "out"), "--quiet"]) == 0
    with Workspace.open(root / "ws.duckdb", create=False) as workspace:
        yield workspace


def _id(ws, row: int) -> int:
    return ws.scalar("SELECT record_id FROM records WHERE source_row = ?", [row])


def _pair(ws, a: int, b: int) -> dict | None:
    ra, rb = sorted((_id(ws, a), _id(ws, b)))
    rows = ws.fetch_dicts("SELECT * FROM pairs WHERE record_a = ? AND record_b = ?", [ra, rb])
    return rows[0] if rows else None


def _cluster(ws, row: int) -> str:
    return ws.scalar("SELECT cluster_id FROM clusters WHERE entity = 'contact' AND record_id = ?", [_id(ws, row)])


def test_an_address_alone_meets_the_person_it_names(ws):
    # a.dolgoslavko@vipolon-plyus.ru: the surname in Latin, the initial, and the company's domain
    pair = _pair(ws, 1, 2)
    assert "skeleton" in pair["rules"] and (pair["surname"], pair["first_name"], pair["company"]) == (1, 2, 1)
    assert pair["decision"] == "auto" and _cluster(ws, 1) == _cluster(ws, 2)


def test_a_first_name_with_an_address_meets_the_full_name(ws):
    # "Антонина" at a.zolotoolkhuk@mail.ru and Золотоолхук Антонина: nothing else shared, so a person decides
    pair = _pair(ws, 3, 4)
    assert pair is not None and (pair["surname"], pair["first_name"]) == (1, 0)
    assert pair["decision"] == "review"
    # and is told where the surname came from
    asked = {(r["a_row"], r["b_row"]): r for r in review_pairs(ws, 100)}
    assert "surname: translit (read from the e-mail address)" in asked[(3, 4)]["explanation"]
    without_surname = {2, 4, 6, 9, 10}
    assert all({r["a_row"], r["b_row"]} & without_surname for r in asked.values() if "e-mail address" in r["explanation"])


def test_a_surname_without_initial_is_paired_through_its_skeleton(ws):
    pair = _pair(ws, 5, 6)
    assert pair is not None and pair["rules"] == ["mailbox"] and pair["surname"] == 1
    # the mailbox rule pairs a record that has no surname, never two records that have their own
    assert _pair(ws, 5, 7) is None or "mailbox" not in _pair(ws, 5, 7)["rules"]


def test_a_nickname_is_not_held_against_a_shared_address(ws):
    # star6737@… reads like a surname "star", but it only counts where it agrees
    pair = _pair(ws, 8, 9)
    assert pair["surname"] == -1 and pair["email"] == 0
    assert _cluster(ws, 8) == _cluster(ws, 9)


def test_the_surname_read_is_never_a_name_in_the_golden_record(ws):
    golden = ws.fetch_dicts(
        """SELECT c.last_name, c.first_name FROM contacts c JOIN clusters k ON k.entity = 'contact'
           AND k.cluster_id = c.golden_id WHERE k.record_id = ?""", [_id(ws, 6)])
    assert golden and golden[0]["last_name"] is None
    # a role mailbox reads as nobody
    assert all(not p["rules"] or "mailbox" not in p["rules"] for p in ws.fetch_dicts(
        "SELECT rules FROM pairs WHERE ? IN (record_a, record_b)", [_id(ws, 10)]))
