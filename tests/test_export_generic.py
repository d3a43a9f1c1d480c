"""`crmtool merge` and `crmtool export --target generic|crosswalk`: every format read back."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import SAMPLES


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from crmtool.cli import app
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("export")
    db = folder / "ws.duckdb"
    result = CliRunner().invoke(app, ["run", str(SAMPLES), "--db", str(db), "--out", str(folder / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    return db


def test_merge_command_reports_json(cli, workspace):
    result = cli("merge", "--db", workspace, "--json", "--rule", "frequent")
    assert result.code == 0
    counts = result.json()
    assert counts["contacts"] > 0 and counts["companies"] > 0 and counts["links"] > 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "jsonl"])
def test_generic_every_format_reads_back(cli, workspace, tmp_path, fmt):
    assert cli("merge", "--db", workspace, "--quiet").code == 0
    result = cli("export", "--target", "generic", "--format", fmt, "--out", tmp_path, "--db", workspace, "--json")
    assert result.code == 0, result.err
    read = {"csv": lambda p: pl.read_csv(p, separator=";"), "xlsx": pl.read_excel, "parquet": pl.read_parquet,
            "jsonl": pl.read_ndjson}[fmt]
    contacts = read(tmp_path / f"contacts.{fmt}")
    companies = read(tmp_path / f"companies.{fmt}")
    assert contacts.columns[:13] == ["golden_id", "last_name", "first_name", "middle_name", "gender", "phones",
                                     "emails", "company_ids", "companies", "job_title", "city", "owner", "department"]
    assert companies.columns[:10] == ["golden_id", "name", "opf", "inn", "kpp", "ogrn", "phones", "emails", "city",
                                      "address"]
    assert contacts["golden_id"].n_unique() == contacts.height > 0
    links = read(tmp_path / f"links.{fmt}")
    assert set(links["contact_id"]) <= set(contacts["golden_id"])
    assert set(links["company_id"]) <= set(companies["golden_id"])


def test_crosswalk_lists_every_record_and_unknown_targets_fail(cli, workspace, tmp_path):
    result = cli("export", "--target", "crosswalk", "--sep", ",", "--out", tmp_path, "--db", workspace)
    assert result.code == 0
    crosswalk = pl.read_csv(tmp_path / "crosswalk.csv")
    assert crosswalk.columns[:4] == ["source_file", "source_row", "entity", "golden_id"]
    assert crosswalk["golden_id"].null_count() == 0
    bad = cli("export", "--target", "fax", "--out", tmp_path, "--db", workspace)
    assert bad.code == 2 and "unknown export target" in bad.err
    bad = cli("export", "--target", "generic", "--encoding", "koi8-r", "--out", tmp_path, "--db", workspace)
    assert bad.code == 2 and "encoding" in bad.err
