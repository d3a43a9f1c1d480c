"""Loading into the workspace: transactions per file, idempotency, discovery, mapping files."""

import json

import polars as pl
import pytest

from builders import write_csv, write_xlsx

from crmtool.errors import CrmError, SourceError
from crmtool.pipeline import load_paths
from crmtool.sources import loader
from crmtool.sources.base import ReadOptions, ReadResult
from crmtool.sources.mapping_file import load_mapping
from crmtool.sources.schema import batch_from_rows

ROWS = [["ФИО", "Телефон", "E-mail"], ["Иванов Иван", "89161234567", "i@x.ru"], ["Петров", "", "p@x.ru"]]


def count(ws, table, where="TRUE"):
    return ws.scalar(f"SELECT count(*) FROM {table} WHERE {where}")


def test_every_record_lands_in_raw_records_and_records(ws, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    summary = load_paths(ws, [path])
    assert summary.counts()["records_loaded"] == 2
    assert count(ws, "raw_records") == count(ws, "records") == 2
    src = ws.fetch_dicts("SELECT * FROM sources")[0]
    assert (src["name"], src["format"], src["rows"], src["encoding"]) == ("a.csv", "csv", 2, "utf-8")
    mapping = json.loads(src["mapping"])
    assert mapping["tables"][0]["columns"] == {"ФИО": "full_name", "Телефон": "phones", "E-mail": "emails"}
    raw = json.loads(ws.scalar("SELECT raw FROM raw_records WHERE source_row = 1"))
    assert raw == {"ФИО": "Иванов Иван", "Телефон": "89161234567", "E-mail": "i@x.ru"}


def test_same_content_under_another_name_is_skipped(ws, tmp_path):
    first = write_csv(tmp_path / "a.csv", ROWS)
    copy = tmp_path / "sub" / "copy of a.csv"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    load_paths(ws, [first])
    again = load_paths(ws, [first, copy])
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert "already loaded as source 1" in again.outcomes[1].message
    assert count(ws, "records") == 2 and count(ws, "sources") == 1


def test_replace_reloads_in_place(ws, tmp_path):
    path = write_csv(tmp_path / "a.csv", [["Клиент", "Тел"], ["ООО Лютик", "1"]])
    load_paths(ws, [path])
    assert ws.scalar("SELECT full_name FROM records") is None  # a legal form: taken as a company
    load_paths(ws, [path], options=ReadOptions(columns={"Клиент": "full_name"}), replace=True)
    assert count(ws, "sources") == 1 and count(ws, "records") == 1
    assert ws.scalar("SELECT source_id FROM records") == 1


def test_a_failing_file_leaves_nothing_and_others_still_load(ws, tmp_path, monkeypatch):
    good = write_csv(tmp_path / "good.csv", ROWS)
    bad = write_csv(tmp_path / "bad.csv", ROWS[:1] + [["Сидоров", "1", "s@x.ru"]])

    real = loader.reader_for("delimited")

    def half_then_fail(path, options, progress):
        if path.name != "bad.csv":
            return real(path, options, progress)

        def batches():
            yield batch_from_rows([{"source_row": 1, "full_name": "Сидоров"}])
            raise SourceError(str(path), "broken in the middle", line=3)

        return ReadResult(format="csv", batches=batches())

    monkeypatch.setitem(loader.READERS, "delimited", "tests_fake:reader")
    monkeypatch.setattr(loader, "reader_for", lambda kind: half_then_fail)
    summary = load_paths(ws, [bad, good])
    assert [o.status for o in summary.outcomes] == ["failed", "loaded"]
    assert summary.outcomes[0].message.endswith("bad.csv:3: broken in the middle")
    assert count(ws, "sources") == 1
    assert count(ws, "records", "full_name = 'Сидоров'") == 0
    assert count(ws, "raw_records") == 2


def test_folders_are_searched_for_known_types_only(ws, tmp_path):
    (tmp_path / "dump" / "deep").mkdir(parents=True)
    write_csv(tmp_path / "dump" / "deep" / "a.csv", ROWS)
    write_xlsx(tmp_path / "dump" / "b.xlsx", {"S": ROWS})
    (tmp_path / "dump" / "LICENSE").write_text("MIT")
    (tmp_path / "dump" / "~$b.xlsx").write_bytes(b"lock")
    (tmp_path / "dump" / ".hidden.csv").write_text("x")
    summary = load_paths(ws, [tmp_path / "dump", tmp_path / "missing"])
    statuses = {o.path.split("/")[-1]: o.status for o in summary.outcomes}
    assert statuses == {"missing": "failed", "a.csv": "loaded", "b.xlsx": "loaded"}
    assert [p.split("/")[-1] for p in summary.ignored] == ["LICENSE"]


def test_content_decides_the_format_not_the_name(ws, tmp_path):
    xlsx_named_csv = write_xlsx(tmp_path / "really_excel.csv", {"S": ROWS})
    csv_named_xls = write_csv(tmp_path / "really_csv.xls", ROWS, delimiter=";")
    summary = load_paths(ws, [xlsx_named_csv, csv_named_xls])
    assert [(o.status, o.format) for o in summary.outcomes] == [("loaded", "xlsx"), ("loaded", "csv")]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "the file is empty"),
        (bytes(range(256)) * 64, "binary data"),
        (b"PK\x03\x04" + b"\x00" * 100, "not a readable Excel workbook"),
        (b"<?xml version='1.0'?><root><a/></root>", "XML, but not CommerceML (root <root>)"),
        (b"<html><body><table></table></body></html>", "HTML page"),
    ],
)
def test_unreadable_files_give_one_clear_line(ws, tmp_path, content, reason):
    path = tmp_path / "f.dat"
    path.write_bytes(content)
    outcome = loader.load_file(ws, path, ReadOptions())
    assert outcome.status == "failed"
    assert outcome.message.startswith(str(path)) and reason in outcome.message
    assert "\n" not in outcome.message
    assert count(ws, "sources") == 0


def test_mapping_file_columns_read_settings_and_per_file_patterns(ws, tmp_path):
    rows = [["Отчёт"], ["Клиент", "Доп"], ["Иванов", "+7 916 000-00-00"]]
    write_csv(tmp_path / "m1.csv", rows, encoding="cp1251", delimiter=";")
    write_csv(tmp_path / "other.csv", rows + [[]], encoding="cp1251", delimiter=";")
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\n"Доп" = "phones:work"\n[read]\nheader_row = 2\n'
        '[files."m*.csv"]\ncolumns = { "Клиент" = "company" }\n', encoding="utf-8")
    load_paths(ws, [tmp_path / "m1.csv", tmp_path / "other.csv"], mapping=load_mapping(mapping))
    got = ws.fetch_dicts("SELECT s.name, r.company, r.full_name, r.phones, r.phone_kinds FROM records r "
                         "JOIN sources s USING (source_id) ORDER BY s.name")
    assert got == [
        {"name": "m1.csv", "company": "Иванов", "full_name": None, "phones": ["+7 916 000-00-00"], "phone_kinds": ["work"]},
        {"name": "other.csv", "company": None, "full_name": "Иванов", "phones": ["+7 916 000-00-00"], "phone_kinds": ["work"]},
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[columns]\n"Клиент" = "nonsense"\n', "unknown field; known:"),
        ("[colums]\n", "unknown section(s) colums"),
        ("[read]\nheader_row = 'x'\n", "header_row must be a int"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_bad_mapping_files_are_explained(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrmError) as exc:
        load_mapping(path)
    assert message in str(exc.value) and str(exc.value).startswith(str(path))


def test_row_flags_counted_in_sources(ws, tmp_path):
    path = write_csv(tmp_path / "r.csv", [["ФИО", "Телефон"], ["А", "7,91612E+10"], ["Б", "1", "лишнее"], ["В", "2"]])
    load_paths(ws, [path])
    assert ws.one("SELECT rows, rejected, flagged FROM sources") == (3, 1, 2)
    flags = dict(ws.con.execute("SELECT source_row, flags FROM records ORDER BY source_row").fetchall())
    assert flags == {1: ["phone_digits_lost"], 2: ["too_many_fields"], 3: []}
    extra = json.loads(ws.scalar("SELECT extra FROM records WHERE source_row = 2"))
    assert extra == {"overflow 1": "лишнее"}


def test_batches_with_lists_survive_the_trip(ws, tmp_path):
    path = write_csv(tmp_path / "g.csv", [["Name", "Phone 1 - Label", "Phone 1 - Value"], ["A", "Mobile", "89161234567 ::: +7 903 000-00-00"]])
    load_paths(ws, [path])
    frame = ws.con.sql("SELECT phones, phone_kinds FROM records").pl()
    assert frame.to_dicts() == [{"phones": ["89161234567", "+7 903 000-00-00"], "phone_kinds": ["mobile", "mobile"]}]
    assert isinstance(frame, pl.DataFrame)
