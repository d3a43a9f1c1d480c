"""The command line end to end: run on the samples, exit codes, JSON, no tracebacks."""

import csv
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest

from builders import write_csv
from conftest import SAMPLES

from crmtool import __version__

CONTACT_COLUMNS = ["golden_id", "last_name", "first_name", "middle_name", "gender", "phones", "emails", "company_ids",
                   "companies", "job_title", "city", "owner", "department"]
COMPANY_COLUMNS = ["golden_id", "name", "opf", "inn", "kpp", "ogrn", "phones", "emails", "city", "address"]
# Header rows of the sample workbooks' contact sheets (see samples/README.md).
SAMPLE_HEADER_ROWS = {("manager_ivanova.xlsx", "Клиенты"): 4, ("manager_ivanova.xlsx", "Архив"): 1,
                      ("kontragenty.xlsx", "TDSheet"): 1}


def records_in_file(path: Path) -> int:
    """Count a sample's records with other tools than crmtool's readers."""
    if path.suffix == ".csv":
        encoding = "cp1251" if "outlook_ru" in path.name else "utf-8-sig"
        with open(path, encoding=encoding, newline="") as fh:
            rows = list(csv.reader(fh))
        return sum(1 for r in rows[1:] if any(c.strip() for c in r))
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        total = 0
        for (name, sheet), header in SAMPLE_HEADER_ROWS.items():
            if name == path.name:
                rows = wb[sheet].iter_rows(min_row=header + 1, values_only=True)
                total += sum(1 for r in rows if any(c is not None and str(c).strip() for c in r))
        return total
    if path.suffix == ".vcf":
        return len(re.findall(rb"^BEGIN:VCARD", path.read_bytes(), flags=re.M | re.I))
    if path.suffix == ".xml":
        tags = [el.tag.split("}")[-1] for el in ET.parse(path).iter()]
        nested = sum(1 for el in ET.parse(path).iter() if el.tag.endswith("Представитель")
                     for child in el if child.tag.endswith("Контрагент"))
        return tags.count("Контрагент") - nested + tags.count("Представитель") + tags.count("Владелец")
    raise AssertionError(path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`crmtool run` on a copy of samples/, the way the README runs it."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(SAMPLES, root / "samples")
    proc = subprocess.run([sys.executable, "-m", "crmtool", "run", "--out", "out"], cwd=root,
                          capture_output=True, text=True, env={**os.environ, "CRMTOOL_DB": ""})
    return root, proc


def sample_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "samples").rglob("*") if p.suffix in (".csv", ".xlsx", ".vcf", ".xml"))


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_on_samples_succeeds_and_writes_the_contract_files(demo):
    root, proc = demo
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = root / "out"
    with open(out / "contacts.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh))[: len(CONTACT_COLUMNS)] == CONTACT_COLUMNS
    with open(out / "companies.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh))[: len(COMPANY_COLUMNS)] == COMPANY_COLUMNS
    with open(out / "crosswalk.csv", encoding="utf-8") as fh:
        assert next(csv.reader(fh))[:4] == ["source_file", "source_row", "entity", "golden_id"]
    assert (root / "crm.duckdb").exists()


def test_row_accounting_file_workspace_crosswalk(demo):
    root, _ = demo
    crosswalk = read_csv(root / "out" / "crosswalk.csv")
    per_file: dict[str, list[int]] = {}
    for r in crosswalk:
        per_file.setdefault(r["source_file"], []).append(int(r["source_row"]))
    files = sample_files(root)
    assert len(files) == len(per_file) >= 8  # at least one file per format the issue names
    for path in files:
        rows = per_file[str(path.relative_to(root))]
        expected = records_in_file(path)
        assert sorted(rows) == list(range(1, expected + 1)), path.name
    import duckdb

    con = duckdb.connect(str(root / "crm.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM records").fetchall()[0][0] == len(crosswalk)
    assert con.execute("SELECT sum(rows) FROM sources").fetchall()[0][0] == len(crosswalk)
    assert all(r["golden_id"] for r in crosswalk)
    con.close()


def test_duplicates_across_files_share_a_golden_id(demo):
    root, _ = demo
    contacts = read_csv(root / "out" / "contacts.csv")
    # Иванов's mobile 79161234567 appears as a number in Excel and as text elsewhere.
    ivanov = [c for c in contacts if "ivanov@mail.ru" in (c["emails"] or "").lower()]
    assert ivanov and int(ivanov[0]["source_records"]) >= 2
    crosswalk = read_csv(root / "out" / "crosswalk.csv")
    assert len({r["golden_id"] for r in crosswalk if r["entity"] == "contact"}) < sum(
        1 for r in crosswalk if r["entity"] == "contact")


def test_second_run_loads_nothing_and_keeps_ids(demo):
    root, _ = demo
    before = (root / "out" / "crosswalk.csv").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crmtool", "run", "--out", "out", "--json"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    import json

    summary = json.loads(proc.stdout)
    assert summary["files_loaded"] == 0 and summary["files_skipped"] == len(sample_files(root))
    assert (root / "out" / "crosswalk.csv").read_text(encoding="utf-8") == before


def test_version_and_help(cli):
    assert cli("--version").out.strip() == f"crmtool {__version__}"
    result = cli("--help")
    assert result.code == 0 and "load" in result.out and "run" in result.out
    assert cli("load", "--help").code == 0


def test_the_command_list_rewraps_docstrings():
    # the list of commands shows each docstring's first paragraph: on one line, so that rich wraps it
    # to the terminal instead of keeping the source's line breaks
    from crmtool.cli import build_app

    built = build_app()
    helps = [c.short_help for c in built.registered_commands]
    helps += [c.short_help for group in built.registered_groups for c in group.typer_instance.registered_commands]
    assert len(helps) > 10 and all(h and "\n" not in h and "  " not in h for h in helps)
    assert any("the pair evidence that joined them, where every field came from" in h for h in helps)
    assert any(h.startswith("Write the undecided questions") for h in helps)  # `review export`, a group's command


def test_usage_errors_exit_2(cli):
    assert cli("load").code == 2
    assert cli("no-such-command").code == 2


def test_load_exit_codes_and_json(cli, db, tmp_path):
    good = write_csv(tmp_path / "good.csv", [["ФИО", "Телефон"], ["Иванов", "89161234567"]])
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04garbage")
    result = cli("load", good, bad, "--db", db, "--json")
    assert result.code == 2
    summary = result.json()
    assert (summary["files_loaded"], summary["files_failed"], summary["records_loaded"]) == (1, 1, 1)
    assert "bad.xlsx: not a readable Excel workbook" in result.err
    again = cli("load", good, "--db", db)
    assert again.code == 0 and "already loaded" in again.err
    listing = cli("sources", "--db", db, "--json").json()
    assert [(s["path"], s["rows"]) for s in listing] == [(str(good), 1)]
    assert listing[0]["mapping"]["tables"][0]["columns"] == {"ФИО": "full_name", "Телефон": "phones"}


def test_quiet_keeps_errors(cli, db, tmp_path):
    good = write_csv(tmp_path / "good.csv", [["ФИО"], ["Иванов"]])
    result = cli("load", good, tmp_path / "missing.csv", "--db", db, "--quiet")
    assert result.code == 2
    assert "loaded" not in result.err and "missing.csv: no such file or folder" in result.err


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[columns]\n'ФИО' = 'nonsense'\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crmtool", "load", str(tmp_path), "--db", str(tmp_path / "w.duckdb"),
                           "--mapping", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "nonsense" in proc.stderr


def test_sources_on_a_missing_workspace(cli, tmp_path):
    result = cli("sources", "--db", tmp_path / "none.duckdb")
    assert result.code == 2 and "no workspace here" in result.err
    assert not (tmp_path / "none.duckdb").exists()


def test_run_without_sources_or_samples_explains(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run")
    assert result.code == 2 and "no sources given" in result.err


def test_run_with_config_file(cli, tmp_path):
    (tmp_path / "dumps").mkdir()
    write_csv(tmp_path / "dumps" / "a.csv", [["ФИО", "E-mail"], ["Иванов", "I@X.RU"], ["Иван Иванов", "i@x.ru"]])
    config = tmp_path / "crmtool.toml"
    config.write_text('[run]\nsources = ["dumps"]\nout = "result"\ndb = "ws.duckdb"\n', encoding="utf-8")
    result = cli("run", "--config", config, "--quiet")
    assert result.code == 0, result.err
    contacts = read_csv(tmp_path / "result" / "contacts.csv")
    assert len(contacts) == 1 and contacts[0]["source_records"] == "2"
    assert (tmp_path / "ws.duckdb").exists()


def test_run_config_merge_table(cli, tmp_path):
    (tmp_path / "dumps").mkdir()
    write_csv(tmp_path / "dumps" / "a.csv", [["ФИО", "E-mail", "Должность"], ["Иванов Иван", "i@x.ru", "Директор"]])
    write_csv(tmp_path / "dumps" / "b.csv", [["ФИО", "E-mail", "Должность"], ["Иван Иванов", "i@x.ru", "Генеральный директор"]])
    config = tmp_path / "crmtool.toml"
    config.write_text('[run]\nsources = ["dumps"]\nout = "result"\ndb = "ws.duckdb"\n[merge]\nrule = "recent"\n',
                      encoding="utf-8")
    assert cli("run", "--config", config, "--quiet").code == 0
    contacts = read_csv(tmp_path / "result" / "contacts.csv")
    assert len(contacts) == 1 and contacts[0]["job_title"] == "Генеральный директор"  # b.csv was loaded last
    config.write_text('[merge]\nrule = "newest"\n', encoding="utf-8")
    result = cli("run", "--config", config)
    assert result.code == 2 and "[merge]" in result.err and "newest" in result.err
    config.write_text('[merge]\nsurvivor = "x"\n', encoding="utf-8")
    result = cli("run", "--config", config)
    assert result.code == 2 and "[merge] unknown setting(s): survivor" in result.err
