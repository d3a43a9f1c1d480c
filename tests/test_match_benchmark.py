"""The matching benchmark's yardstick: the pairwise scorer and the ground-truth generator."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import match_data  # noqa: E402
import match_score  # noqa: E402
from match_score import false_merges_by_group, recall_by_tag, score  # noqa: E402

# --- scorer -----------------------------------------------------------------------------------

# truth: A = rows 1-4, B = rows 5-6, C = row 7  →  true pairs 6 + 1 + 0 = 7
TRUTH = {1: "A", 2: "A", 3: "A", 4: "A", 5: "B", 6: "B", 7: "C"}


@pytest.mark.parametrize(
    "case, pred, expected",
    [
        ("perfect", dict(TRUTH), {"precision": 1.0, "recall": 1.0, "f1": 1.0, "predicted_pairs": 7}),
        ("perfect, other labels", {1: "x", 2: "x", 3: "x", 4: "x", 5: "y", 6: "y", 7: "z"},
         {"precision": 1.0, "recall": 1.0, "f1": 1.0}),
        # no predicted pairs: nothing claimed, nothing wrong (precision 1 by convention), nothing found
        ("all singletons", {r: f"s{r}" for r in TRUTH}, {"precision": 1.0, "recall": 0.0, "f1": 0.0,
                                                         "predicted_pairs": 0, "correct_pairs": 0}),
        ("empty prediction", {}, {"precision": 1.0, "recall": 0.0, "unpredicted_rows": 7}),
        # one cluster of 7: C(7,2) = 21 predicted pairs, the 7 true ones among them
        ("one big cluster", {r: "all" for r in TRUTH}, {"precision": 7 / 21, "recall": 1.0, "predicted_pairs": 21,
                                                        "f1": 2 * (7 / 21) / (7 / 21 + 1)}),
        # X = {1,2}: 1 pair, right. Y = {3,4,5}: (3,4) right, (3,5) (4,5) wrong. Z = {6,7}: wrong.
        # predicted 5, correct 2, true 7 → P = 2/5, R = 2/7, F1 = 2·(2/5)(2/7)/((2/5)+(2/7)) = 1/3
        ("split and merge", {1: "X", 2: "X", 3: "Y", 4: "Y", 5: "Y", 6: "Z", 7: "Z"},
         {"precision": 0.4, "recall": 2 / 7, "f1": 1 / 3, "predicted_pairs": 5, "correct_pairs": 2,
          "false_pairs": 3, "missed_pairs": 5}),
        # A split in two halves: 2 of its 6 pairs found; B whole; nothing wrong
        ("pure split", {1: "X", 2: "X", 3: "Y", 4: "Y", 5: "B", 6: "B", 7: "C"},
         {"precision": 1.0, "recall": 3 / 7, "predicted_pairs": 3}),
        # B glued to C: 3 predicted pairs in {5,6,7}, 1 right; A whole
        ("pure merge", {1: "A", 2: "A", 3: "A", 4: "A", 5: "M", 6: "M", 7: "M"},
         {"precision": 7 / 9, "recall": 1.0, "predicted_pairs": 9, "false_pairs": 2}),
        # rows 5 and 6 missing from the prediction count alone; row 99 is not in the truth and is ignored
        ("missing and extra rows", {1: "A", 2: "A", 3: "A", 4: "A", 7: "C", 99: "A"},
         {"precision": 1.0, "recall": 6 / 7, "unpredicted_rows": 2, "rows": 7}),
    ],
)
def test_score_hand_cases(case, pred, expected):
    result = score(pred, TRUTH)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), (case, key, result)


def test_score_counts_entities_and_clusters():
    result = score({1: "X", 2: "X", 3: "Y", 4: "Y", 5: "Y", 6: "Z", 7: "Z"}, TRUTH)
    assert (result["rows"], result["true_entities"], result["predicted_clusters"], result["true_pairs"]) == (7, 3, 3, 7)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5))), max_size=25))
def test_counting_equals_enumerating_pairs(assignment):
    truth = {i + 1: f"T{t}" for i, (t, _) in enumerate(assignment)}
    pred = {i + 1: f"P{p}" for i, (_, p) in enumerate(assignment) if p is not None}
    result = score(pred, truth)
    alone = {r: f"alone{r}" for r in truth if r not in pred}
    cluster = {**alone, **pred}
    pairs = list(itertools.combinations(truth, 2))
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    same_pred = {p for p in pairs if cluster[p[0]] == cluster[p[1]]}
    assert result["true_pairs"] == len(same_true)
    assert result["predicted_pairs"] == len(same_pred)
    assert result["correct_pairs"] == len(same_true & same_pred)
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0


def _rows(pred, truth, **extra):
    return pl.DataFrame({"row": list(truth), "pred": [pred.get(r) for r in truth], "true": list(truth.values()),
                         **extra}, schema_overrides={"row": pl.Int64, "pred": pl.String, "true": pl.String})


def test_false_merges_by_group():
    # one predicted cluster of rows 1-5: persons a, a, b, c, d (9 false pairs of 10).
    # switchboard S on rows 1, 3, 4 → false pairs sharing it: (1,3) (1,4) (3,4) = 3
    # family F on rows 4, 5 → (4,5) = 1; union 4 (no pair shares both); the other 5 pairs chain
    truth = {1: "a", 2: "a", 3: "b", 4: "c", 5: "d"}
    rows = _rows({r: "K" for r in truth}, truth, switchboard=["S", None, "S", "S", None],
                 family=[None, None, None, "F", "F"])
    out = false_merges_by_group(rows, ["switchboard", "family"])
    assert out == {"switchboard": 3, "family": 1, "any_of_these": 4, "other": 5, "total": 9}


def test_false_merges_union_counts_a_pair_once():
    # rows 1 and 2 (different persons) share both the switchboard and the namesake key
    truth = {1: "a", 2: "b"}
    rows = _rows({1: "K", 2: "K"}, truth, switchboard=["S", "S"], namesake=["N", "N"])
    out = false_merges_by_group(rows, ["switchboard", "namesake"])
    assert (out["switchboard"], out["namesake"], out["any_of_these"], out["other"]) == (1, 1, 1, 0)


def test_recall_by_tag():
    # person a: rows 1 (translit), 2, 3 → pairs involving translit: (1,2) (1,3) = 2.
    # predicted: 1 alone, 2 and 3 together → translit pairs found 0; typo on row 2: (1,2) (2,3) → 1 found
    truth = {1: "a", 2: "a", 3: "a"}
    rows = _rows({1: "X", 2: "Y", 3: "Y"}, truth, tags=["translit", "typo;caps", None])
    out = recall_by_tag(rows)
    assert out["translit"] == {"rows": 1, "pairs": 2, "found": 0, "recall": 0.0}
    assert out["typo"] == {"rows": 1, "pairs": 2, "found": 1, "recall": 0.5}


# --- generator --------------------------------------------------------------------------------

REQUIRED_CONTACT_TAGS = {
    "order_fi", "order_if", "order_iof", "initials", "caps", "lower", "yo", "typo", "diminutive", "translit",
    "ext", "two_phones", "email_case", "work_email", "personal_email", "switchboard", "shared_email", "family",
    "namesake", "namesake_full", "changed_company", "only_phone", "only_email", "local_phone",
}
REQUIRED_COMPANY_TAGS = {"branch", "namesake", "no_inn", "full_form", "no_form", "inn_typo"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    a = tmp_path_factory.mktemp("gen_a")
    b = tmp_path_factory.mktemp("gen_b")
    c = tmp_path_factory.mktemp("gen_c")
    match_data.generate(2000, a, seed=7)
    match_data.generate(2000, b, seed=7)
    match_data.generate(2000, c, seed=8)
    return a, b, c


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path, delimiter: str = ",") -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


FILES = ["contacts.csv", "truth.csv", "annotations.csv", "companies.csv", "companies_truth.csv",
         "companies_annotations.csv"]


@pytest.mark.parametrize("name", FILES)
def test_generator_is_deterministic(generated, name):
    a, b, c = generated
    assert _digest(a / name) == _digest(b / name)


def test_generator_seed_matters(generated):
    a, _, c = generated
    assert _digest(a / "contacts.csv") != _digest(c / "contacts.csv")


def test_truth_covers_every_row(generated):
    folder = generated[0]
    contacts = _read(folder / "contacts.csv", ";")
    assert len(contacts) == 2000
    assert list(contacts[0]) == match_data.CONTACT_HEADER
    truth = _read(folder / "truth.csv")
    assert [int(r["source_row"]) for r in truth] == list(range(1, 2001))
    assert all(r["person_id"] for r in truth)
    notes = _read(folder / "annotations.csv")
    assert [int(r["source_row"]) for r in notes] == list(range(1, 2001))
    # no blank rows: crmtool does not number those, which would shift source_row
    assert all(any(v.strip() for v in row.values()) for row in contacts)
    companies = _read(folder / "companies.csv", ";")
    assert list(companies[0]) == match_data.COMPANY_HEADER
    ctruth = _read(folder / "companies_truth.csv")
    assert [int(r["source_row"]) for r in ctruth] == list(range(1, len(companies) + 1))
    assert 150 <= len(companies) <= 250  # ~10% of the records


def test_polars_reads_the_same_rows(generated):
    df = pl.read_csv(generated[0] / "contacts.csv", separator=";", infer_schema=False)
    assert df.height == 2000 and df.columns == match_data.CONTACT_HEADER


def test_rows_per_person(generated):
    truth = _read(generated[0] / "truth.csv")
    per_person = Counter(r["person_id"] for r in truth)
    assert set(per_person.values()) <= {1, 2, 3, 4}
    assert 1.45 <= 2000 / len(per_person) <= 1.8
    stats = json.loads((generated[0] / "stats.json").read_text(encoding="utf-8"))
    assert stats["contacts"]["persons"] == len(per_person)
    assert stats["contacts"]["true_pairs"] == sum(k * (k - 1) // 2 for k in per_person.values())


def test_every_dirt_kind_occurs_and_stats_count_them(generated):
    folder = generated[0]
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    for name, required, key in (("annotations.csv", REQUIRED_CONTACT_TAGS, "contacts"),
                                ("companies_annotations.csv", REQUIRED_COMPANY_TAGS, "companies")):
        counts = Counter(t for r in _read(folder / name) for t in r["tags"].split(";") if t)
        missing = required - set(counts)
        assert not missing, (name, missing)
        assert counts == Counter(stats[key]["tags"]), name


def test_traps_are_what_they_claim(generated):
    """Families and switchboards join different people; namesakes are different people with one name."""
    folder = generated[0]
    truth = {r["source_row"]: r["person_id"] for r in _read(folder / "truth.csv")}
    contacts = _read(folder / "contacts.csv", ";")
    groups = {g: defaultdict(set) for g in ("switchboard", "family", "namesake")}
    for r in _read(folder / "annotations.csv"):
        for g in groups:
            if r[g]:
                groups[g][r[g]].add(truth[r["source_row"]])
    for g, by_key in groups.items():
        assert any(len(people) > 1 for people in by_key.values()), g
    # a family shares one home phone: the same 10 digits in every member's row tagged family
    family_numbers = defaultdict(set)
    for r, c in zip(_read(folder / "annotations.csv"), contacts):
        if r["family"] and "family" in r["tags"].split(";") and "two_phones" not in r["tags"]:
            digits = "".join(ch for ch in c["Телефон"] if ch.isdigit())
            if "local_phone" not in r["tags"]:
                family_numbers[r["family"]].add(digits[-10:])
    assert family_numbers and all(len(nums) == 1 for nums in family_numbers.values())
    # rows with only a phone or only an e-mail carry nothing else
    for r, c in zip(_read(folder / "annotations.csv"), contacts):
        tags = r["tags"].split(";")
        if "only_phone" in tags:
            assert [k for k, v in c.items() if v] == ["Моб. тел."]
        if "only_email" in tags:
            assert [k for k, v in c.items() if v] == ["E-mail"]


def test_no_two_people_share_a_mobile_or_a_mailbox(generated):
    """Only the planted traps join people: otherwise the truth would call a real match a false merge."""
    folder = generated[0]
    truth = [r["person_id"] for r in _read(folder / "truth.csv")]
    tags = [r["tags"].split(";") for r in _read(folder / "annotations.csv")]
    owners = defaultdict(set)
    for person, row_tags, row in zip(truth, tags, _read(folder / "contacts.csv", ";")):
        mobile = "".join(ch for ch in row["Моб. тел."] if ch.isdigit())[-10:]
        if mobile:
            owners["tel:" + mobile].add(person)
        if "shared_email" not in row_tags:
            for address in re.findall(r"[\w.+-]+@[\w.-]+", row["E-mail"]):
                owners[match_data.mailbox(address)].add(person)
    assert not {k: v for k, v in owners.items() if len(v) > 1}
    # Yandex aliases and Gmail dots reach one mailbox
    assert match_data.mailbox("Ivan.Petrov@ya.ru") == match_data.mailbox("ivan-petrov@yandex.ru")
    assert match_data.mailbox("i.petrov@gmail.com") == match_data.mailbox("ipetrov@googlemail.com")
    assert match_data.mailbox("i.petrov@mail.ru") != match_data.mailbox("ipetrov@mail.ru")


def test_branches_share_inn_but_are_different_companies(generated):
    folder = generated[0]
    truth = {r["source_row"]: r["company_id"] for r in _read(folder / "companies_truth.csv")}
    notes = {r["source_row"]: r for r in _read(folder / "companies_annotations.csv")}
    by_inn = defaultdict(set)
    for n, row in enumerate(_read(folder / "companies.csv", ";"), 1):
        tags = notes[str(n)]["tags"].split(";")
        if row["ИНН"] and "inn_typo" not in tags:
            by_inn[row["ИНН"]].add((truth[str(n)], row["КПП"]))
    shared = [v for v in by_inn.values() if len({cid for cid, _ in v}) > 1]
    assert shared, "a branch and its head office: one ИНН, two companies"
    for members in shared:
        kpps = {kpp for _, kpp in members if kpp}
        assert len(kpps) == len({cid for cid, kpp in members if kpp})  # each company its own КПП


@pytest.mark.parametrize(
    "father, female, expected",
    [("Иван", False, "Иванович"), ("Иван", True, "Ивановна"), ("Сергей", False, "Сергеевич"),
     ("Юрий", False, "Юрьевич"), ("Дмитрий", True, "Дмитриевна"), ("Георгий", False, "Георгиевич"),
     ("Игорь", False, "Игоревич"), ("Николай", True, "Николаевна"), ("Илья", False, "Ильич"),
     ("Пётр", True, "Петровна"), ("Фёдор", False, "Фёдорович"), ("Михаил", False, "Михайлович")],
)
def test_patronymic(father, female, expected):
    assert match_data.patronymic(father, female) == expected


@pytest.mark.parametrize("male, female", [("Иванов", "Иванова"), ("Фёдоров", "Фёдорова"), ("Ильин", "Ильина"),
                                          ("Островский", "Островская"), ("Толстой", "Толстая"),
                                          ("Шевченко", "Шевченко"), ("Черных", "Черных")])
def test_surname_genders(male, female):
    assert match_data.feminine(male) == female
    assert match_data.masculine(female) == male


# --- the command line -------------------------------------------------------------------------


def test_score_cli_on_a_crosswalk(tmp_path, capsys):
    (tmp_path / "truth.csv").write_text("source_row,person_id\n1,A\n2,A\n3,B\n", encoding="utf-8")
    (tmp_path / "annotations.csv").write_text(
        "source_row,tags,switchboard,family,namesake\n1,switchboard,C1,,\n2,translit,,,\n3,switchboard,C1,,\n",
        encoding="utf-8")
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text(
        "source_file,source_row,entity,golden_id,company_golden_id\n"
        "/x/contacts.csv,1,contact,CT-1,\n/x/contacts.csv,2,contact,CT-1,\n/x/contacts.csv,3,contact,CT-1,\n"
        "/x/companies.csv,1,company,CO-1,\n", encoding="utf-8")
    assert match_score.main(["--truth", str(tmp_path), "--crosswalk", str(crosswalk), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    contacts = result["contacts"]
    assert (contacts["predicted_pairs"], contacts["correct_pairs"]) == (3, 1)
    assert contacts["precision"] == pytest.approx(1 / 3)
    assert contacts["false_merges"]["switchboard"] == 1  # rows 1 and 3: two people, one switchboard
    assert "companies" not in result  # no companies truth in the folder


def test_a_person_at_company_row_is_scored_as_a_company_by_its_company_golden_id(tmp_path):
    path = tmp_path / "crosswalk.csv"
    path.write_text("source_file,source_row,entity,golden_id,company_golden_id\n"
                    "d/companies.csv,1,company,CO-A,\n"
                    "d/companies.csv,2,contact,CT-P,CO-A\n"
                    "d/contacts.csv,1,contact,CT-P,\n", encoding="utf-8")
    cw = match_score.read_crosswalk(path)
    companies = cw.filter((pl.col("file") == "companies.csv") & (pl.col("entity") == "company"))
    assert dict(companies.select("source_row", "golden_id").iter_rows()) == {1: "CO-A", 2: "CO-A"}
    assert cw.filter(pl.col("entity") == "contact").height == 2
