"""`crmtool report`: one self-contained HTML file whose numbers are the workspace's, with personal
data masked, every value escaped, and a page a real browser renders without errors in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from conftest import SAMPLES

from crmtool.cli import main
from crmtool.match.review import undecided_count
from crmtool.report import collect, write_report
from crmtool.workspace import Workspace

HOSTILE_COMPANY = "ООО «Ромашка» <b>"
HOSTILE_FILE = "clients <img src=x onerror=alert(1)>.csv"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """`crmtool run` on a copy of samples/, then `crmtool report`: the folder holding both."""
    root = tmp_path_factory.mktemp("report")
    shutil.copytree(SAMPLES, root / "samples")
    code = main(["run", str(root / "samples"), "--out", str(root / "out"), "--db", str(root / "ws.duckdb"), "--quiet"])
    assert code == 0
    assert main(["report", "--db", str(root / "ws.duckdb"), "--out", str(root / "report.html"), "--quiet"]) == 0
    return root


@pytest.fixture(scope="module")
def page(built) -> str:
    return (built / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A base whose file name and company name are HTML: a person twice at `ООО «Ромашка» <b>`,
    and a sole proprietor (a company named after a person) twice."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "in").mkdir()
    (root / "in" / HOSTILE_FILE).write_text(
        "ФИО;Телефон;E-mail;Компания\n"
        f"Петров Пётр Петрович;+7 916 555-12-34;petrov@example.ru;{HOSTILE_COMPANY}\n"
        f"Петров Пётр;8 (916) 555-12-34;petrov@example.ru;{HOSTILE_COMPANY}\n"
        "Сидорова Анна;+7 903 111-22-33;anna@example.ru;ИП Сидорова Анна Сергеевна\n"
        "Сидорова Анна Сергеевна;+7 903 111-22-33;anna@example.ru;ИП Сидорова Анна Сергеевна\n",
        encoding="utf-8")
    assert main(["run", str(root / "in"), "--out", str(root / "out"), "--db", str(root / "ws.duckdb"), "--quiet"]) == 0
    assert main(["report", "--db", str(root / "ws.duckdb"), "--out", str(root / "report.html"), "--quiet"]) == 0
    return root


def tile(page: str, key: str) -> int:
    found = re.search(rf'data-total="{key}"><b>([\d\u202f]+)</b>', page)
    assert found, key
    return int(found.group(1).replace("\u202f", ""))


# --- numbers -----------------------------------------------------------------------------------------

def test_summary_numbers_are_the_workspace_counts(built, page):
    with Workspace.open(built / "ws.duckdb", create=False) as ws:
        records, sources, contacts, companies, in_contacts = ws.one(
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM sources), (SELECT count(*) FROM contacts), "
            "(SELECT count(*) FROM companies), (SELECT sum(records) FROM contacts)")
        # questions: two contacts linked by review pairs (none of them with a verdict), records that other
        # links did not already put in one contact
        pending = ws.scalar(
            "SELECT count(DISTINCT (least(ca.cluster_id, cb.cluster_id), greatest(ca.cluster_id, cb.cluster_id))) "
            "FROM pairs p JOIN clusters ca ON ca.record_id = p.record_a AND ca.entity = 'contact' "
            "JOIN clusters cb ON cb.record_id = p.record_b AND cb.entity = 'contact' WHERE decision = 'review' "
            "AND ca.cluster_id <> cb.cluster_id AND NOT EXISTS (SELECT 1 FROM decisions d "
            "WHERE d.record_a = p.record_a AND d.record_b = p.record_b)")
        in_review = ws.scalar("SELECT count(*) FROM pairs WHERE decision = 'review'")
    assert (records, sources) == (75, 9)
    assert tile(page, "records") == records
    assert tile(page, "sources") == sources
    assert tile(page, "contacts") == contacts
    assert tile(page, "companies") == companies
    assert tile(page, "merged_records") == in_contacts - contacts
    assert tile(page, "review_pending") == pending
    assert in_review >= 1  # the samples' one review pair is already joined by other links: nothing to ask


def test_parts_agree_with_sql_over_the_tables(built):
    with Workspace.open(built / "ws.duckdb", create=False) as ws:
        data = collect(ws)
        per_source = dict(ws.con.execute("SELECT s.name, count(*) FROM records r JOIN sources s USING (source_id) "
                                         "GROUP BY ALL").fetchall())
        sizes = Counter(n for (n,) in ws.con.execute(
            "SELECT count(*) FROM clusters WHERE entity = 'contact' GROUP BY cluster_id").fetchall())
        members = ws.con.execute("SELECT c.cluster_id, r.source_id, s.name FROM clusters c JOIN records r USING "
                                 "(record_id) JOIN sources s ON s.source_id = r.source_id "
                                 "WHERE c.entity = 'contact'").fetchall()
        phones = ws.con.execute("SELECT c.cluster_id, unnest(n.phones) FROM normalized n JOIN clusters c "
                                "ON c.record_id = n.record_id AND c.entity = 'contact'").fetchall()
        stats = dict(ws.con.execute("SELECT status, sum(n) FROM field_stats WHERE field = 'phone' "
                                    "AND status <> 'missing' GROUP BY ALL").fetchall())
        assert data["review"]["pending"] == undecided_count(ws) == sum(b["n"] for b in data["review"]["bands"])
    assert {s["label"]: s["records"] for s in data["sources"]} == per_source
    assert all(sum(s["kinds"].values()) == s["records"] for s in data["sources"])
    # cluster sizes: the buckets hold every cluster, 1–5 one size each
    buckets = data["duplicates"]["sizes"]["contact"]
    assert sum(b["clusters"] for b in buckets) == sum(sizes.values())
    assert [b["clusters"] for b in buckets[:5]] == [sizes.get(k, 0) for k in range(1, 6)]
    # source pairs, counted here in Python: clusters holding both files (one file: two of its records)
    by_cluster: dict[str, Counter] = {}
    for cluster, _sid, name in members:
        by_cluster.setdefault(cluster, Counter())[name] += 1
    pairs = Counter()
    for files in by_cluster.values():
        for a, b in combinations(sorted(files), 2):
            pairs[frozenset((a, b))] += 1
        for a, n in files.items():
            if n > 1:
                pairs[frozenset((a,))] += 1
    shown = data["duplicates"]["source_pairs"]
    assert shown and all(p["clusters"] == pairs[frozenset((p["a"], p["b"]))] for p in shown)
    assert sum(p["clusters"] for p in shown) + data["duplicates"]["other_pair_clusters"] == sum(pairs.values())
    # shared phones: held by more than one contact, most contacts first
    holders: dict[str, set] = {}
    for cluster, phone in phones:
        holders.setdefault(phone, set()).add(cluster)
    shared = sorted((len(c) for c in holders.values() if len(c) > 1), reverse=True)
    assert data["shared"]["phone"]["shared"] == len(shared)
    assert [v["contacts"] for v in data["shared"]["phone"]["top"]] == shared[:10]
    # phones: every checked value in exactly one outcome
    outcomes = data["channels"]["phone"]["outcomes"]
    assert sum(outcomes.values()) == sum(stats.values()) == data["channels"]["phone"]["values"]
    assert outcomes["invalid"] == stats.get("invalid", 0) >= 1


def test_both_languages_are_in_the_file_russian_first(built, page):
    assert '<html lang="ru" data-lang="ru">' in page
    assert "<title>Отчёт о клиентской базе</title>" in page
    for ru, en in (("Записи по источникам", "Records per source"), ("Найденные дубли", "Duplicates found"),
                   ("Примеры объединений", "Example merges")):
        assert f'<span lang="ru">{ru}</span><span lang="en">{en}</span>' in page
    english = built / "report_en.html"
    assert main(["report", "--db", str(built / "ws.duckdb"), "--out", str(english), "--lang", "en", "--quiet"]) == 0
    text = english.read_text(encoding="utf-8")
    assert '<html lang="en" data-lang="en">' in text and "<title>Client base report</title>" in text
    assert "Записи по источникам" in text  # the Russian is still there, one click away


def test_self_contained_no_external_address(page):
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"https?://", page)
    assert "url(" not in page and "@import" not in page and "<link" not in page
    assert "<svg" in page and page.count("<script>") == 1


def test_personal_data_is_masked(built, page):
    with Workspace.open(built / "ws.duckdb", create=False) as ws:
        phones = {p for (p,) in ws.con.execute("SELECT DISTINCT unnest(phones) FROM normalized").fetchall()}
        emails = {e for (e,) in ws.con.execute("SELECT DISTINCT unnest(emails) FROM normalized").fetchall()}
        surnames = {s for (s,) in ws.con.execute("SELECT DISTINCT last_name FROM contacts WHERE records > 1 "
                                                  "AND length(last_name) > 3").fetchall()}
    assert phones and emails and surnames
    assert not [p for p in phones if p in page or p.removeprefix("+") in page]
    assert not [e for e in emails if e in page]
    assert not [s for s in surnames if s in page]
    # masked as role exports mask: a phone's last four digits, a mailbox's first letter and domain
    assert "+7 *** ***-45-67" in page  # +74951234567, the office line several people share
    assert re.search(r"[a-z]\*\*\*@[a-z0-9.-]+\.ru", page)
    assert re.search(r"<td class=\"masked\">[А-ЯЁA-Z]\*\*\* [А-ЯЁA-Z]\*\*\*", page)


def test_hostile_names_are_escaped_and_a_sole_proprietor_masked(hostile):
    page = (hostile / "report.html").read_text(encoding="utf-8")
    assert "ООО «Ромашка» &lt;b&gt;" in page and "«Ромашка» <b>" not in page
    assert "clients &lt;img src=x onerror=alert(1)&gt;.csv" in page and "<img" not in page
    assert "Сидорова" not in page and "Петров" not in page  # ИП Сидорова А. С. is a person's name
    assert "И*** С*** А*** С***" in page


def test_a_workspace_not_merged_yet_gets_sources_and_quality(tmp_path, cli):
    db = tmp_path / "ws.duckdb"
    assert cli("load", SAMPLES, "--db", db, "--quiet").code == 0
    assert cli("normalize", "--db", db, "--quiet").code == 0
    result = cli("report", "--db", db, "--out", tmp_path / "r.html")
    assert result.code == 0
    assert "not been merged yet" in result.err and "sources and data quality" in result.err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="sources"' in page and 'id="quality"' in page and 'id="channels"' in page
    assert 'id="duplicates"' not in page and 'id="examples"' not in page
    assert "Поиск дублей ещё не выполнялся" in page
    assert tile(page, "records") == 75 and 'data-total="contacts"' not in page
    assert not list(tmp_path.glob("*.part"))


def test_json_summary_and_a_clear_error_without_a_workspace(built, tmp_path, cli):
    result = cli("report", "--db", built / "ws.duckdb", "--out", tmp_path / "r.html", "--json")
    assert result.code == 0
    info = result.json()
    assert info["bytes"] == (tmp_path / "r.html").stat().st_size > 10_000
    assert info["stages"] == {"loaded": True, "normalized": True, "matched": True, "merged": True, "stale": False}
    missing = cli("report", "--db", tmp_path / "none.duckdb", "--out", tmp_path / "x.html")
    assert missing.code == 2 and "no workspace here" in missing.err and not (tmp_path / "x.html").exists()
    assert cli("report", "--db", built / "ws.duckdb", "--lang", "de", "--out", tmp_path / "y.html").code == 2


def test_files_changed_since_normalize_are_said(built, tmp_path, cli):
    db = tmp_path / "ws.duckdb"
    shutil.copy(built / "ws.duckdb", db)
    with Workspace.open(db, create=False) as ws:
        ws.con.execute("UPDATE meta SET value = 'RU|another-file' WHERE key = 'normalized_sources'")
    result = cli("report", "--db", db, "--out", tmp_path / "r.html")
    assert result.code == 0 and "files changed since the last normalize" in result.err
    assert "Файлы менялись после последней проверки данных" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Файлы менялись" not in (built / "report.html").read_text(encoding="utf-8")


def test_the_file_is_written_whole_or_not_at_all(built, tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("the previous report", encoding="utf-8")
    import crmtool.report as report

    def broken(data, lang):
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "render", broken)
    with Workspace.open(built / "ws.duckdb", create=False) as ws, pytest.raises(RuntimeError):
        write_report(ws, out)
    assert out.read_text(encoding="utf-8") == "the previous report"
    assert not list(tmp_path.glob("*.part"))


def test_many_files_make_one_other_files_row():
    from crmtool.report.data import MAX_SOURCES, _capped
    from crmtool.report.html import _sources

    rows = [{"source_id": i, "label": f"file{i}.csv", "records": 100 - i, "kinds": {"person": 100 - i}}
            for i in range(40)]
    capped = _capped(rows)
    assert len(capped) == MAX_SOURCES and capped[-1]["others"] == 40 - (MAX_SOURCES - 1)
    assert sum(s["records"] for s in capped) == sum(r["records"] for r in rows)
    html = _sources({"sources": capped})
    assert f"остальные файлы ({40 - MAX_SOURCES + 1})" in html and "file23.csv" in html and "file24.csv" not in html


# --- in a real browser -------------------------------------------------------------------------------

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


needs_chromium = pytest.mark.skipif(chromium() is None, reason="no Chromium here (`.ci/run` installs Debian's "
                                    "chromium package; `apt-get install chromium` on a Debian machine)")


def render(url: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM after headless Chromium loaded `url` and ran its scripts, and every console line
    it logged (messages, warnings, errors and uncaught exceptions all log as `CONSOLE`)."""
    done = subprocess.run(
        [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={profile}", "--no-first-run", "--dump-dom", url],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


@needs_chromium
def test_the_console_check_catches_an_uncaught_error(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><title>broken</title><p>x</p><script>noSuchFunction()</script>", encoding="utf-8")
    dom, console = render(broken.as_uri(), tmp_path / "profile")
    assert "<title>broken</title>" in dom
    assert any("Uncaught ReferenceError" in line and "noSuchFunction" in line for line in console), console


@needs_chromium
def test_renders_without_console_errors_in_russian(built, tmp_path):
    dom, console = render((built / "report.html").as_uri(), tmp_path / "profile")
    assert console == []
    assert "<title>Отчёт о клиентской базе</title>" in dom
    assert 'data-lang="ru"' in dom and 'data-set-lang="ru" aria-pressed="true"' in dom


@needs_chromium
def test_the_address_hash_switches_to_english(built, tmp_path):
    dom, console = render((built / "report.html").as_uri() + "#en", tmp_path / "profile")
    assert console == []
    assert "<title>Client base report</title>" in dom
    assert re.search(r'<html lang="en" data-lang="en"|<html data-lang="en" lang="en"', dom)
    assert 'data-set-lang="en" aria-pressed="true"' in dom


@needs_chromium
def test_the_button_switches_to_english(built, tmp_path):
    page = (built / "report.html").read_text(encoding="utf-8")
    clicked = tmp_path / "clicked.html"
    clicked.write_text(page.replace(
        "</body>", '<script>document.querySelector(\'[data-set-lang="en"]\').click()</script></body>'),
        encoding="utf-8")
    dom, console = render(clicked.as_uri(), tmp_path / "profile")
    assert console == []
    assert "<title>Client base report</title>" in dom and 'data-lang="en"' in dom


@needs_chromium
def test_hostile_report_renders_clean(hostile, tmp_path):
    dom, console = render((hostile / "report.html").as_uri(), tmp_path / "profile")
    assert console == []
    assert "<img" not in dom and "<title>Отчёт о клиентской базе</title>" in dom
