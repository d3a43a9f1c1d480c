"""The review loop: export uncertain pairs, import verdicts, and the matcher obeys them."""

from __future__ import annotations

import openpyxl
import pytest

from conftest import SAMPLES

from crmtool.errors import CrmError
from crmtool.match.review import HEADER, export_review, import_review
from crmtool.match.stage import match_workspace
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        load_paths(workspace, [SAMPLES])
        normalize_workspace(workspace)
        match_workspace(workspace)
        yield workspace


def record(ws, file_part: str, row: int) -> int:
    return ws.scalar(
        "SELECT r.record_id FROM records r JOIN sources s USING (source_id) WHERE s.path LIKE ? AND r.source_row = ?",
        [f"%{file_part}", row],
    )


def cluster(ws, record_id: int) -> str:
    return ws.scalar("SELECT cluster_id FROM clusters WHERE entity = 'contact' AND record_id = ?", [record_id])


def workbook(path, rows):
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "review"
    sheet.append(["pair", "verdict"])
    for r in rows:
        sheet.append(list(r))
    wb.save(path)
    return path


# Thresholds that leave the samples more review pairs than the defaults' one.
WIDE = (0.999, 0.05)
_ACROSS = """SELECT p.record_a || ':' || p.record_b, p.match_weight, ca.cluster_id, cb.cluster_id FROM pairs p
             JOIN clusters ca ON ca.record_id = p.record_a AND ca.entity = 'contact'
             JOIN clusters cb ON cb.record_id = p.record_b AND cb.entity = 'contact'
             WHERE p.decision = 'review' AND ca.cluster_id {op} cb.cluster_id"""


def test_export_lists_review_pairs_side_by_side(ws, tmp_path):
    counts = match_workspace(ws, *WIDE).counts()
    n = export_review(ws, tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["review"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADER and len(rows) == n + 1
    first = dict(zip(HEADER, rows[1]))
    assert first["a_file"] and first["b_file"] and first["explanation"] and first["verdict"] is None
    # each side names the contact its record is in now (for `crmtool explain`)
    a, b = (int(x) for x in first["pair"].split(":"))
    assert (first["a_contact"], first["b_contact"]) == (cluster(ws, a), cluster(ws, b))
    assert first["a_contact"] != first["b_contact"]
    # one question per two contacts a review pair links: the strongest such pair (ties by records), with
    # the number of them; none for pairs that other links already joined
    exported = {r[0]: dict(zip(HEADER, r))["links"] for r in rows[1:]}
    across = ws.con.execute(_ACROSS.format(op="<>")).fetchall()
    joined = {r[0] for r in ws.con.execute(_ACROSS.format(op="=")).fetchall()}
    by_contacts = {}
    for pair, weight, ca, cb in across:
        a, b = (int(x) for x in pair.split(":"))
        by_contacts.setdefault(tuple(sorted((ca, cb))), []).append((-weight, a, b, pair))
    expected = {min(links)[3]: len(links) for links in by_contacts.values()}
    assert exported == expected and n > 0 and joined and not set(exported) & joined
    assert max(expected.values()) > 1  # the samples at WIDE have two contacts linked by several pairs
    # the summary says the same, and its parts add up to the candidates
    assert (counts["review_pairs"], counts["review_pairs_joined"], counts["review_questions"]) \
        == (len(across), len(joined), len(expected))
    assert counts["auto_pairs"] + counts["review_pairs"] + counts["review_pairs_joined"] + counts["rejected_pairs"] \
        == counts["candidate_pairs"]
    # most likely first: by weight (the probabilities of most review pairs are 1.0 to four places)
    weights = [dict(zip(HEADER, r))["weight"] for r in rows[1:]]
    assert weights == sorted(weights, reverse=True) and len(set(weights)) > 1


def test_verdicts_merge_and_separate(ws, tmp_path):
    # A pair left for review, answered "да": merged on the next match.
    pair = ws.one(
        """SELECT p.record_a, p.record_b FROM pairs p
           JOIN clusters ca ON ca.record_id = p.record_a AND ca.entity = 'contact'
           JOIN clusters cb ON cb.record_id = p.record_b AND cb.entity = 'contact'
           WHERE p.decision <> 'auto' AND ca.cluster_id <> cb.cluster_id
           ORDER BY p.match_probability DESC LIMIT 1"""
    )
    assert pair and cluster(ws, pair[0]) != cluster(ws, pair[1])
    # Иванов in Excel and in the 1C XML, merged by the model, answered "нет": kept apart, with no chain around.
    excel, xml = record(ws, "manager_ivanova.xlsx", 1), record(ws, "counterparties.xml", 2)
    assert cluster(ws, excel) == cluster(ws, xml)
    book = workbook(tmp_path / "v.xlsx", [(f"{pair[0]}:{pair[1]}", "да"), (f"{xml}:{excel}", "нет"), ("1:2", None)])
    counts = import_review(ws, book)
    assert counts == {"verdicts": 2, "same": 1, "different": 1, "rows": 3}
    match_workspace(ws)
    assert cluster(ws, pair[0]) == cluster(ws, pair[1])
    assert cluster(ws, excel) != cluster(ws, xml)
    assert ws.scalar("SELECT reason FROM pairs WHERE record_a = ? AND record_b = ?", list(pair)) == "human_same"
    # decided pairs are not exported again
    export_review(ws, tmp_path / "again.xlsx")
    again = [r[0] for r in openpyxl.load_workbook(tmp_path / "again.xlsx")["review"].iter_rows(values_only=True)]
    assert f"{pair[0]}:{pair[1]}" not in again


def _links(ws):
    """Review pairs between two contacts, by the two contacts: what one question stands for."""
    found = {}
    for pair, _, ca, cb in ws.con.execute(_ACROSS.format(op="<>")).fetchall():
        found.setdefault(tuple(sorted((ca, cb))), set()).add(pair)
    return found


@pytest.mark.parametrize("verdict", ["same", "different"])
def test_one_verdict_answers_for_the_two_contacts(ws, tmp_path, verdict):
    match_workspace(ws, *WIDE)
    several = [(contacts, pairs) for contacts, pairs in _links(ws).items() if len(pairs) > 1]
    assert several
    contacts, pairs = several[0]
    export_review(ws, tmp_path / "r.xlsx")
    shown = [r[0] for r in openpyxl.load_workbook(tmp_path / "r.xlsx")["review"].iter_rows(values_only=True)]
    asked = pairs & set(shown)
    assert len(asked) == 1  # the strongest of them stands for all
    import_review(ws, workbook(tmp_path / "v.xlsx", [(asked.pop(), verdict)]))
    # before `match` applies it, and after: nothing more is asked about these two contacts
    for rematch in (False, True):
        if rematch:
            match_workspace(ws, *WIDE)
        export_review(ws, tmp_path / "again.xlsx")
        again = {r[0] for r in openpyxl.load_workbook(tmp_path / "again.xlsx")["review"].iter_rows(values_only=True)}
        assert not again & pairs
    a, b = (int(x) for x in sorted(pairs)[0].split(":"))
    assert (cluster(ws, a) == cluster(ws, b)) == (verdict == "same")


def test_an_unreadable_verdict_stops_the_import_with_its_row(ws, tmp_path):
    book = workbook(tmp_path / "bad.xlsx", [("1:2", "да"), ("3:4", "может быть")])
    with pytest.raises(CrmError, match="row 3"):
        import_review(ws, book)
    assert ws.scalar("SELECT count(*) FROM decisions") == 0


def test_review_cli_round_trip(tmp_path, cli):
    db = tmp_path / "ws.duckdb"
    assert cli("run", SAMPLES, "--db", db, "--out", tmp_path / "out", "--quiet").code == 0
    upper, lower = WIDE
    assert cli("match", "--db", db, "--upper", upper, "--lower", lower, "--quiet").code == 0
    out = tmp_path / "review.xlsx"
    result = cli("review", "export", "--db", db, "--out", out, "--json")
    assert result.code == 0 and result.json()["pairs"] >= 1
    # a limit below the queue says how many wait in all
    text = cli("review", "export", "--db", db, "--out", tmp_path / "top.xlsx", "--limit", 1)
    assert text.code == 0 and f"wrote 1 question of {result.json()['undecided']:,} undecided" in text.err
    assert result.json()["undecided"] == result.json()["pairs"] > 1
    assert cli("review", "import", out, "--db", db, "--json").json()["verdicts"] == 0
    assert cli("review", "import", tmp_path / "none.xlsx", "--db", db).code == 2
