"""The normalize stage on the bundled samples: tables, nothing lost, profile, CLI."""

from __future__ import annotations

import pytest

from conftest import SAMPLES

from crmtool.normalize.profile import build_profile, ensure_normalized
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    db = tmp_path_factory.mktemp("norm") / "ws.duckdb"
    with Workspace.open(db) as ws:
        load_paths(ws, [SAMPLES])
        normalize_workspace(ws)
    return db


@pytest.fixture
def ws(loaded):
    with Workspace.open(loaded) as workspace:
        yield workspace


def record(ws, file_part: str, source_row: int) -> dict:
    rows = ws.fetch_dicts(
        "SELECT n.*, r.phones AS raw_phones, r.emails AS raw_emails FROM normalized n JOIN records r USING (record_id)"
        " JOIN sources s ON s.source_id = r.source_id WHERE s.path LIKE ? AND r.source_row = ?",
        [f"%{file_part}", source_row],
    )
    assert len(rows) == 1, (file_part, source_row)
    return rows[0]


def test_every_record_has_one_normalized_row(ws):
    assert ws.scalar("SELECT count(*) FROM normalized") == ws.scalar("SELECT count(*) FROM records")
    assert ws.scalar("SELECT count(*) FROM records r ANTI JOIN normalized n USING (record_id)") == 0


def test_no_value_is_lost(ws):
    """Each phone/e-mail a record holds is either normalized into its list or kept in field_checks."""
    for field, column, table_column in (("phone", "phones", "phones"), ("email", "emails", "emails")):
        given = ws.scalar(f"SELECT count(*) FROM (SELECT unnest({column}) FROM records)")
        counted = ws.scalar(f"SELECT sum(n) FROM field_stats WHERE field = '{field}' AND status <> 'missing'")
        assert counted >= given, field
        # A record with values but none valid has every one of them in field_checks.
        lost = ws.scalar(
            f"""SELECT count(*) FROM records r JOIN normalized n USING (record_id)
                WHERE len(r.{column}) > 0 AND len(n.{table_column}) = 0
                  AND NOT EXISTS (SELECT 1 FROM field_checks c WHERE c.record_id = r.record_id AND c.field = '{field}')"""
        )
        assert lost == 0, field


def test_phone_stored_as_a_number_in_excel_becomes_e164(ws):
    ivanov = record(ws, "manager_ivanova.xlsx", 1)
    assert "+79161234567" in ivanov["phones"]
    assert (ivanov["last_name"], ivanov["first_name"], ivanov["middle_name"]) == ("Иванов", "Иван", "Иванович")
    assert ivanov["gender"] == "М"


def test_email_typo_fixed_and_bad_email_flagged_with_original_kept(ws):
    checks = ws.fetch_dicts("SELECT original, value, status, reason FROM field_checks WHERE field = 'email'")
    by_original = {c["original"].strip().lower(): c for c in checks}
    assert by_original["ivanov@mail.ry"]["value"] == "ivanov@mail.ru"
    assert by_original["ivanov@mail.ry"]["status"] == "fixed"
    assert by_original["lebedev@vector-m"]["status"] == "invalid"
    assert by_original["lebedev@vector-m"]["value"] is None


def test_companies_get_legal_form_and_display(ws):
    rows = ws.fetch_dicts("SELECT company, opf, company_key FROM normalized WHERE inn = '7714123459' ORDER BY record_id")
    # 1C XML says "Ромашка ООО", the 1C list just "Ромашка": one key, the form where it was given.
    assert {r["company_key"] for r in rows} == {"ромашка"} and len(rows) == 2
    assert ("ООО «Ромашка»", "ООО") in {(r["company"], r["opf"]) for r in rows}


def test_rerun_replaces_the_stage_tables(ws):
    before = ws.con.sql("SELECT * FROM field_stats ORDER BY ALL").fetchall()
    normalize_workspace(ws)
    assert ws.con.sql("SELECT * FROM field_stats ORDER BY ALL").fetchall() == before
    assert ws.scalar("SELECT count(*) FROM normalized") == ws.scalar("SELECT count(*) FROM records")


def test_profile_adds_up(ws):
    ensure_normalized(ws)
    profile = build_profile(ws, top=50, examples=2)
    assert profile.total.records == ws.scalar("SELECT count(*) FROM records")
    assert sum(s.records for s in profile.sources) == profile.total.records
    for s in [*profile.sources, profile.total]:
        for name, f in s.fields.items():
            assert 0 <= f.filled <= s.records, (s.name, name)
            assert f.ok + f.fixed + f.suggested + f.invalid == f.values, (s.name, name)
    email = profile.total.fields["email"]
    assert email.invalid >= 1 and email.fixed >= 1
    no_channel = ws.scalar("SELECT count(*) FROM normalized WHERE len(phones) = 0 AND len(emails) = 0")
    assert profile.total.no_channel == no_channel
    assert any(p.field == "email" and p.status == "invalid" and p.examples for p in profile.problems)
    example = next(p for p in profile.problems if p.examples).examples[0]
    assert example["file"] and example["row"] >= 1


def test_profile_cli_json_and_table(tmp_path, cli):
    db = tmp_path / "ws.duckdb"
    assert cli("load", SAMPLES / "outlook", "--db", db, "--quiet").code == 0
    result = cli("profile", "--db", db, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["total"]["records"] == 12
    assert set(data["total"]["fields"]) == {"name", "phone", "email", "company", "inn", "kpp", "ogrn"}
    table = cli("profile", "--db", db)
    assert table.code == 0 and "Top problems" in table.out and "outlook_ru.csv" in table.out


def test_profile_without_workspace_is_a_clear_error(tmp_path, cli):
    result = cli("profile", "--db", tmp_path / "none.duckdb")
    assert result.code == 2 and "no workspace" in result.err


def test_normalize_cli_reports_counts(tmp_path, cli):
    db = tmp_path / "ws.duckdb"
    cli("load", SAMPLES / "vcard", "--db", db, "--quiet")
    result = cli("normalize", "--db", db, "--json")
    assert result.code == 0, result.err
    counts = result.json()
    assert counts["records_normalized"] == 20
    assert counts["values_ok"] + counts.get("values_fixed", 0) > 0


def test_corporate_domains_hint_at_the_company(ws):
    rows = ws.fetch_dicts(
        "SELECT emails, corporate_domains FROM normalized WHERE list_contains(emails, 'info@romashka-msk.ru')"
    )
    assert rows and all(r["corporate_domains"] == ["romashka-msk.ru"] for r in rows)
    private = ws.fetch_dicts("SELECT corporate_domains FROM normalized WHERE list_contains(emails, 'ivanov@mail.ru')")
    assert private and all(r["corporate_domains"] == [] for r in private)
