"""The review loop: uncertain pairs out to a workbook, people's verdicts back in.

`export_review` writes the pairs the matcher left for review, most likely
first, each as one row with both records side by side, the explanation
(rules, levels, probability, reason) and an empty "verdict" column.
`import_review` reads the verdicts back into the `decisions` table (so does the
terminal review, `review_session.py`, through the same `record_verdicts`); the match
stage obeys them on every later run: "same" merges the pair, "different"
keeps the two apart even when other links would join them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import polars as pl

from crmtool.errors import CrmError
from crmtool.match.features import LEVELS
from crmtool.workspace import Workspace, current_user

SAME, DIFFERENT = "same", "different"
VERDICTS = {
    "same": SAME, "да": SAME, "yes": SAME, "y": SAME, "1": SAME, "+": SAME, "дубль": SAME, "один": SAME,
    "different": DIFFERENT, "нет": DIFFERENT, "no": DIFFERENT, "n": DIFFERENT, "0": DIFFERENT, "-": DIFFERENT,
    "разные": DIFFERENT,
}
# `contact`: the contact (golden id) the record is in now, for `crmtool explain` and its other records
SIDE_FIELDS = ("contact", "file", "row", "name", "phones", "emails", "company", "city")
HEADER = (
    "pair", "probability", "weight", "links", "reason", "rules", "explanation",
    *(f"a_{f}" for f in SIDE_FIELDS), *(f"b_{f}" for f in SIDE_FIELDS), "verdict",
)

# One question per two contacts. A review pair asks whether its two records' contacts are one
# person, so of the review pairs between the same two contacts only the strongest is asked
# (`links` counts them all); none is asked once a person has given a verdict on any pair between
# those two contacts (before `match` applies it too), nor when other links joined them into one
# contact (`unmerge` splits). The questions follow the clusters: when a run changes them, the
# pairs between the new contacts are asked again. On the generated bases this asks 20 % fewer
# questions than there are review pairs (100k records: 1,619 instead of 2,008).
QUESTIONS = """
questions AS (
    SELECT p.*, ca.cluster_id AS contact_a, cb.cluster_id AS contact_b,
           least(ca.cluster_id, cb.cluster_id) AS contact_x, greatest(ca.cluster_id, cb.cluster_id) AS contact_y,
           count(*) OVER (PARTITION BY contact_x, contact_y) AS links
    FROM pairs p
    JOIN clusters ca ON ca.entity = 'contact' AND ca.record_id = p.record_a
    JOIN clusters cb ON cb.entity = 'contact' AND cb.record_id = p.record_b
    WHERE p.entity = 'contact' AND p.decision = 'review' AND ca.cluster_id <> cb.cluster_id
      AND (least(ca.cluster_id, cb.cluster_id), greatest(ca.cluster_id, cb.cluster_id)) NOT IN (
          SELECT (least(da.cluster_id, db.cluster_id), greatest(da.cluster_id, db.cluster_id))
          FROM decisions d
          JOIN clusters da ON da.entity = 'contact' AND da.record_id = d.record_a
          JOIN clusters db ON db.entity = 'contact' AND db.record_id = d.record_b
          WHERE d.entity = 'contact')
    QUALIFY row_number() OVER (PARTITION BY contact_x, contact_y
                               ORDER BY p.match_weight DESC, p.record_a, p.record_b) = 1
)"""
# Most likely first: by match weight, not probability, which is 1.0 to four places for most
# review pairs (on the generated 1M base the top tenth of the questions by weight is 75 % one
# person, the last 5 %; ordering by the sum of a question's links, or by more links first, did
# worse). `after` continues strictly past a row in this order (keyset), so a long session reads
# the questions page by page and verdicts given meanwhile shift nothing. The page is picked from
# `pairs` and `clusters` alone, then joined to its records (tens of thousands of review pairs at
# 1M records: joining them all first would cost seconds a page).
_PAIRS = f"""
WITH {QUESTIONS},
page AS (
    SELECT * FROM questions p
    WHERE ($w IS NULL OR p.match_weight < $w
           OR (p.match_weight = $w AND (p.record_a > $a OR (p.record_a = $a AND p.record_b > $b))))
    ORDER BY p.match_weight DESC, p.record_a, p.record_b
    LIMIT $limit
),
side AS (
    SELECT r.record_id, s.path AS file, r.source_row AS row,
           nullif(concat_ws(' ', n.last_name, n.first_name, n.middle_name), '') AS name,
           array_to_string(n.phones, '; ') AS phones, array_to_string(n.emails, '; ') AS emails,
           n.company, r.city, n.last_key IS NULL AS no_surname
    FROM records r JOIN normalized n USING (record_id) JOIN sources s ON s.source_id = r.source_id
    WHERE r.record_id IN (SELECT record_a FROM page UNION ALL SELECT record_b FROM page)
)
SELECT p.record_a || ':' || p.record_b AS pair, p.record_a, p.record_b, p.match_weight,
       round(p.match_probability, 4) AS probability, round(p.match_weight, 2) AS weight, p.links, p.reason,
       array_to_string(p.rules, ', ') AS rules,
       p.surname, p.first_name, p.middle_name, p.gender, p.phone, p.email, p.company AS company_level, p.city AS city_level,
       p.contact_a AS a_contact, a.file AS a_file, a.row AS a_row, a.name AS a_name, a.phones AS a_phones, a.emails AS a_emails,
       a.company AS a_company, a.city AS a_city,
       p.contact_b AS b_contact, b.file AS b_file, b.row AS b_row, b.name AS b_name, b.phones AS b_phones, b.emails AS b_emails,
       b.company AS b_company, b.city AS b_city, a.no_surname OR b.no_surname AS surname_from_mailbox
FROM page p JOIN side a ON a.record_id = p.record_a JOIN side b ON b.record_id = p.record_b
ORDER BY p.match_weight DESC, p.record_a, p.record_b
"""
_LEVEL_COLUMNS = {"surname": "surname", "first_name": "first_name", "middle_name": "middle_name",
                  "gender": "gender", "phone": "phone", "email": "email", "company": "company_level",
                  "city": "city_level"}


def review_pairs(ws: Workspace, limit: int, after: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Up to `limit` undecided questions, most likely first (past `after`, a row returned
    before): each the strongest review pair between two contacts, a dict with both sides, the
    number of review pairs between the two contacts (`links`) and an `explanation`: the one
    query behind the workbook and the terminal review."""
    params = {"limit": limit, "w": None, "a": None, "b": None}
    if after is not None:
        params.update(w=after["match_weight"], a=after["record_a"], b=after["record_b"])
    rows = ws.fetch_dicts(_PAIRS, params)
    for r in rows:
        levels = {name: LEVELS[name][r[col]] for name, col in _LEVEL_COLUMNS.items() if r[col] is not None and r[col] >= 0}
        from_mailbox = r.pop("surname_from_mailbox")  # a side with no surname: its surname read from its address
        if "surname" in levels and from_mailbox:
            levels["surname"] += " (read from the e-mail address)"
        r["explanation"] = ", ".join(f"{name}: {level}" for name, level in levels.items())
    return rows


def undecided_count(ws: Workspace) -> int:
    """How many questions (two contacts a review pair links) still wait for a verdict."""
    return ws.scalar(f"WITH {QUESTIONS} SELECT count(*) FROM questions")


def record_verdicts(ws: Workspace, decided: Iterable[tuple[int, int, str]], source: str, entity: str = "contact") -> int:
    """Store verdicts (record, record, same|different) together, replacing earlier ones
    on the same pair: the one way verdicts get in, from a workbook, the terminal or
    `unmerge` (which also splits companies: `entity`)."""
    user, now = current_user(), datetime.now()
    rows = []
    for a, b, verdict in decided:
        if verdict not in (SAME, DIFFERENT):
            raise ValueError(f"verdict {verdict!r} is neither {SAME!r} nor {DIFFERENT!r}")
        rows.append([min(a, b), max(a, b), verdict, user, now, source, entity])
    if rows:
        with ws.transaction():
            ws.con.executemany('INSERT OR REPLACE INTO decisions (record_a, record_b, verdict, "user", decided_at, source, '
                               'entity) VALUES (?, ?, ?, ?, ?, ?, ?)', rows)
    return len(rows)


def withdraw_verdict(ws: Workspace, a: int, b: int) -> None:
    """Forget the verdict on a pair (an undo): it is back in review."""
    ws.con.execute("DELETE FROM decisions WHERE record_a = ? AND record_b = ? AND entity = 'contact'", [min(a, b), max(a, b)])


def export_review(ws: Workspace, path: Path, limit: int = 1000) -> int:
    """Write up to `limit` undecided questions (the strongest review pair between two contacts)
    to an .xlsx; returns how many."""
    import openpyxl
    from openpyxl.styles import Font

    rows = review_pairs(ws, limit)
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "review"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([
            r["pair"], r["probability"], r["weight"], r["links"], r["reason"], r["rules"], r["explanation"],
            *(r[f"a_{f}"] for f in SIDE_FIELDS), *(r[f"b_{f}"] for f in SIDE_FIELDS), None,
        ])
    sheet.freeze_panes = "B2"
    help_sheet = wb.create_sheet("how to")
    for line in (
        "Fill the 'verdict' column: same / да / 1 when both rows are one person, different / нет / 0 when not.",
        "Leave it empty when unsure: the pair stays in review.",
        "Each row stands for two contacts: the strongest of the 'links' review pairs between them. "
        "The verdict answers for all of them.",
        "a_contact and b_contact are the two contacts: `crmtool explain ID` shows all their records.",
        "Then: crmtool review import THIS_FILE.xlsx, and crmtool match (or run) again.",
    ):
        help_sheet.append([line])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    wb.save(tmp)
    tmp.replace(path)
    return len(rows)


def import_review(ws: Workspace, path: Path) -> dict[str, int]:
    """Store the filled verdicts; returns counts. A verdict that cannot be read stops
    the import (nothing stored) with the row number, so no answer is silently lost."""
    import fastexcel

    try:
        frame = fastexcel.read_excel(str(path)).load_sheet("review", dtypes="string").to_polars()
    except Exception as exc:
        raise CrmError(f"{path}: not a review workbook ({str(exc).splitlines()[0]})") from None
    missing = {"pair", "verdict"} - set(frame.columns)
    if missing:
        raise CrmError(f"{path}: sheet 'review' has no column {', '.join(sorted(missing))}")
    decided = []
    for i, (pair, verdict) in enumerate(frame.select("pair", "verdict").iter_rows(), start=2):
        if verdict is None or not str(verdict).strip():
            continue
        word = VERDICTS.get(str(verdict).strip().lower())
        if word is None:
            raise CrmError(f"{path}: row {i}: verdict {verdict!r} is not one of same/да/1 or different/нет/0")
        try:
            a, b = (int(x) for x in str(pair).split(":"))
        except ValueError:
            raise CrmError(f"{path}: row {i}: pair {pair!r} is not 'record:record'") from None
        decided.append((a, b, word))
    record_verdicts(ws, decided, str(path))
    return {"verdicts": len(decided), "same": sum(1 for d in decided if d[2] == SAME),
            "different": sum(1 for d in decided if d[2] == DIFFERENT), "rows": frame.height}


def verdicts(ws: Workspace) -> pl.DataFrame:
    return ws.con.sql("SELECT record_a, record_b, verdict FROM decisions WHERE entity = 'contact'").pl()

