"""Blocking on the bundled samples: named rules, diminutives, transliteration, weak keys."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import SAMPLES

from crmtool.match.blocking import RULES, block_contacts
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    db = tmp_path_factory.mktemp("block") / "ws.duckdb"
    with Workspace.open(db) as workspace:
        load_paths(workspace, [SAMPLES])
        normalize_workspace(workspace)
        yield workspace


def ids(ws, file_part: str, source_row: int) -> int:
    return ws.scalar(
        "SELECT r.record_id FROM records r JOIN sources s USING (source_id) WHERE s.path LIKE ? AND r.source_row = ?",
        [f"%{file_part}", source_row],
    )


def rules_of(blocks, a: int, b: int) -> list[str]:
    a, b = min(a, b), max(a, b)
    hit = blocks.pairs.filter((blocks.pairs["record_a"] == a) & (blocks.pairs["record_b"] == b))
    return hit["rules"].to_list()[0] if hit.height else []


def test_pairs_are_ordered_unique_and_named(ws):
    blocks = block_contacts(ws)
    pairs = blocks.pairs
    assert pairs.height > 0
    assert (pairs["record_a"] < pairs["record_b"]).all()
    assert pairs.select("record_a", "record_b").is_duplicated().sum() == 0
    used = {r for rules in pairs["rules"] for r in rules}
    assert used <= set(RULES) and {"phone", "email", "name"} <= used
    companies = ws.con.sql("SELECT record_id FROM normalized WHERE entity_hint = 'company'").pl()["record_id"]
    assert not pairs["record_a"].is_in(companies.implode()).any()


def test_same_person_across_files_is_a_candidate(ws):
    blocks = block_contacts(ws)
    # Иванов: Excel (phone stored as a number) and the 1C XML contact person share the mobile.
    assert "phone" in rules_of(blocks, ids(ws, "manager_ivanova.xlsx", 1), ids(ws, "counterparties.xml", 2))


def test_diminutive_and_transliteration_rules(ws):
    blocks = block_contacts(ws)
    kostya = ids(ws, "iphone.vcf", 6)  # «Костя Лебедев»
    konstantin = ids(ws, "manager_ivanova.xlsx", 10)  # Лебедев Константин
    assert ws.scalar("SELECT first_name FROM normalized WHERE record_id = ?", [kostya]) == "Костя"
    assert "Константин" in ws.scalar("SELECT first_name FROM normalized WHERE record_id = ?", [konstantin])
    assert "name" in rules_of(blocks, kostya, konstantin)
    latin = ws.scalar(
        "SELECT n.record_id FROM normalized n JOIN records r USING (record_id) WHERE r.last_name = 'Kuznetsov'"
    )
    cyrillic = ids(ws, "iphone.vcf", 2)  # Алексей Владимирович Кузнецов
    assert "translit" in rules_of(blocks, latin, cyrillic)


def test_a_phone_shared_by_many_surnames_is_weak_not_a_block(ws):
    switchboard = "+74951234567"  # ООО «Ромашка»: Иванов (доб. 123), Смирнова, Соколов…
    surnames = ws.scalar(
        "SELECT count(DISTINCT last_key) FROM normalized WHERE list_contains(phones, ?) AND entity_hint <> 'company'",
        [switchboard],
    )
    assert surnames >= 2
    strict = block_contacts(ws, max_names=1)
    weak = strict.weak_keys.filter((strict.weak_keys["rule"] == "phone") & (strict.weak_keys["key"] == switchboard))
    assert weak.height == 1 and 2 <= weak["surnames"][0] <= surnames
    sharing = ws.con.sql(
        f"SELECT record_id FROM normalized WHERE list_contains(phones, '{switchboard}') AND entity_hint <> 'company'"
    ).pl()["record_id"].to_list()
    phones = dict(ws.con.sql("SELECT record_id, phones FROM normalized").fetchall())
    only_switchboard = [
        (a, b) for a in sharing for b in sharing
        if a < b and set(phones[a]) & set(phones[b]) == {switchboard}
    ]
    assert only_switchboard
    # The block is small, so its pairs are still compared, but the shared number weighs as weak.
    from crmtool.match.features import compare, record_frame

    pairs = strict.pairs.filter(
        pl.struct("record_a", "record_b").is_in([{"record_a": a, "record_b": b} for a, b in only_switchboard])
    )
    assert pairs.height > 0
    levels = compare(pairs.select("record_a", "record_b"), record_frame(ws), weak["key"])
    assert set(levels["phone"].to_list()) == {1}
    # With too many records on it, a key generates no pairs at all.
    tiny = block_contacts(ws, max_block=1)
    assert tiny.sizes["phone"] == 0
    loose = block_contacts(ws, max_names=surnames + 1)
    assert loose.weak_keys.filter(loose.weak_keys["key"] == switchboard).height == 0


def test_oversized_name_blocks_are_split_or_dropped(ws):
    tight = block_contacts(ws, max_block=1)
    assert tight.sizes["name"] == 0 and tight.sizes["phone"] == 0
    assert tight.weak_keys.height > 0


def test_spellings_of_one_surname_count_as_one_person():
    from crmtool.match.blocking import _distinct_surnames

    # A typo and a transliteration of the same surname (same skeleton or close spelling) are one;
    # a colleague on the same switchboard is another.
    assert _distinct_surnames(["кузнецов|ksncf", "кузнецев|ksncf", "kuznetsov|ksncf"]) == 1
    assert _distinct_surnames(["чернобарсукова|a", "чернобарсуова|b"]) == 1
    assert _distinct_surnames(["иванов|ifnf", "смирнова|smrnf", "соколов|sklf"]) == 3
