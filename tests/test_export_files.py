"""`vcard` and `mailing` targets: files read back by crmtool's own reader, vobject, and polars."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLES
from golden_frames import empty_frames, make
from readers import read_all

from crmtool.export.data import ExportData, load_export_data
from crmtool.export.mailing import consent_state, mailing_frame
from crmtool.export.targets import ExportOptions
from crmtool.export.vcard_file import write_vcard
from crmtool.match.stage import match_workspace
from crmtool.merge.stage import merge_workspace
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace


def build(db: Path, paths: list[Path]) -> ExportData:
    with Workspace.open(db) as ws:
        load_paths(ws, paths)
        normalize_workspace(ws)
        match_workspace(ws)
        merge_workspace(ws)
        return load_export_data(ws)


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[Path, ExportData]:
    db = tmp_path_factory.mktemp("vcard") / "ws.duckdb"
    return db, build(db, [SAMPLES])


@pytest.fixture
def frames(ws):
    """Empty golden frames with the workspace's own column types."""
    return empty_frames(ws)


def phone(value, kind="MOBILE", ext=None):
    return {"value": value, "ext": ext, "type": kind}


def email(value, kind="WORK"):
    return {"value": value, "type": kind}


# --- vcard -------------------------------------------------------------------------------------------


def physical_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")  # CRLF only
    return data[:-2].split(b"\r\n")


def test_vcard_file_shape(samples, cli, tmp_path):
    db, data = samples
    result = cli("export", "--db", db, "--out", tmp_path, "-t", "vcard", "--encoding", "windows-1251")
    assert result.code == 0, result.err
    path = tmp_path / "contacts.vcf"
    lines = physical_lines(path)
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # UTF-8 whatever --encoding says, and no letter cut in two by a fold
    text = path.read_bytes().decode("utf-8")
    cards = re.findall(r"BEGIN:VCARD\r\nVERSION:3\.0\r\n.*?END:VCARD\r\n", text, flags=re.S)
    assert len(cards) == data.contacts.height > 10
    assert "".join(cards) == text
    assert any(line.startswith(b" ") for line in lines)  # the samples' long addresses are folded
    assert all("\r\nN:" in c and "\r\nFN:" in c and "\r\nUID:CT-" in c for c in cards)


def test_vcard_reads_back_with_crmtool(samples, tmp_path):
    """Names, phones (with extensions), e-mails, company and title survive a round trip."""
    _, data = samples
    write_vcard(data, tmp_path, ExportOptions())
    with Workspace.open(tmp_path / "back.duckdb") as ws:
        summary = load_paths(ws, [tmp_path / "contacts.vcf"])
        assert summary.counts()["records_loaded"] == data.contacts.height
        assert summary.counts()["records_rejected"] == 0
        normalize_workspace(ws)
        back = ws.con.sql(
            "SELECT r.source_key AS golden_id, n.last_name, n.first_name, n.middle_name, n.phones, n.phone_exts,"
            " n.emails, r.company, r.job_title FROM records r JOIN normalized n USING (record_id)").pl()
    firsts = data.company_names().select("contact_id", pl.col("company_names").list.first().alias("company"))
    golden = data.contacts.join(firsts, left_on="golden_id", right_on="contact_id", how="left")
    back = {r["golden_id"]: r for r in back.to_dicts()}
    assert set(back) == set(golden["golden_id"])
    with_ext = 0
    for g in golden.to_dicts():
        b = back[g["golden_id"]]
        names = ("last_name", "first_name", "middle_name")
        assert [b[n] for n in names] == [g[n] for n in names]
        # the same number with and without an extension is one number when read back
        assert set(b["phones"]) == {p["value"] for p in g["phones"] or []}
        exts = {(p["value"], p["ext"]) for p in g["phones"] or [] if p["ext"]}
        assert exts <= set(zip(b["phones"], b["phone_exts"]))
        with_ext += len(exts)
        assert set(b["emails"]) == {e["value"] for e in g["emails"] or []}
        assert b["company"] == g["company"] and b["job_title"] == g["job_title"]
    assert with_ext >= 1


def test_vcard_reads_back_with_vobject(samples, tmp_path):
    vobject = pytest.importorskip("vobject")
    _, data = samples
    write_vcard(data, tmp_path, ExportOptions())
    cards = list(vobject.readComponents((tmp_path / "contacts.vcf").read_bytes().decode("utf-8")))
    assert len(cards) == data.contacts.height
    golden = {r["golden_id"]: r for r in data.contacts.to_dicts()}
    for card in cards:
        g = golden[card.uid.value]
        assert card.n.value.family == (g["last_name"] or "") and card.n.value.given == (g["first_name"] or "")
        tels = {t.value for t in card.contents.get("tel", [])}
        assert tels == {p["value"] + (f",{p['ext']}" if p["ext"] else "") for p in g["phones"] or []}
        assert {e.value for e in card.contents.get("email", [])} == {e["value"] for e in g["emails"] or []}


TRICKY_NOTE = "Звонить после 15:00; спросить Ивана, он в курсе\\не в курсе\nВторая строка\r\nТретья"
LONG_EMAIL = "petr.ilyich.ivanov.sales.department.moscow@very-long-subdomain.romashka-group.ru"
LONG_ADDRESS = "125047, Москва г, Лесная ул, дом № 12, офис 304 — вход со двора 🏢, код домофона 304К, этаж 3"


@pytest.fixture
def tricky(frames) -> ExportData:
    return make(
        frames,
        contacts=[
            {"golden_id": "CT-1", "last_name": "Иванов", "first_name": "Пётр", "middle_name": "Ильич",
             "job_title": "Директор, совладелец", "department": "Отдел продаж", "city": "Москва",
             "address": LONG_ADDRESS, "birthday": "15.03.1978", "note": TRICKY_NOTE, "records": 1,
             "phones": [phone("+79161234567"), phone("+74951234567", "WORK", "123"), phone("+74951112233", "FAX"),
                        phone("+74952223344", "OTHER")],
             "emails": [email("ivanov@romashka.ru"), email("petr@mail.ru", "HOME"), email("x@y.org", "OTHER"),
                        email(LONG_EMAIL, "OTHER")]},
            {"golden_id": "CT-2", "records": 1, "emails": [email("info@romashka.ru")]},
        ],
        companies=[{"golden_id": "CO-1", "name": "ООО «Ромашка; и партнёры»", "records": 1}],
        links=[{"contact_id": "CT-1", "company_id": "CO-1", "via": ["row"]}],
    )


def test_vcard_escapes_types_and_folds(tricky, tmp_path):
    path = write_vcard(tricky, tmp_path, ExportOptions())[0]
    lines = physical_lines(path)
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")
        assert (len(line) - len(line.rstrip(b"\\"))) % 2 == 0, line  # no escape cut in two
    text = path.read_bytes().decode("utf-8").replace("\r\n ", "")  # unfolded
    assert "\r\nN:Иванов;Пётр;Ильич;;\r\n" in text
    assert "\r\nFN:Иванов Пётр Ильич\r\n" in text
    assert "\r\nORG:ООО «Ромашка\\; и партнёры»;Отдел продаж\r\n" in text
    assert "\r\nTITLE:Директор\\, совладелец\r\n" in text
    assert ("\r\nTEL;TYPE=CELL:+79161234567\r\nTEL;TYPE=WORK:+74951234567\\,123\r\nTEL;TYPE=FAX:+74951112233\r\n"
            "TEL;TYPE=VOICE:+74952223344\r\n") in text
    assert ("\r\nEMAIL;TYPE=INTERNET,WORK:ivanov@romashka.ru\r\nEMAIL;TYPE=INTERNET,HOME:petr@mail.ru\r\n"
            f"EMAIL;TYPE=INTERNET:x@y.org\r\nEMAIL;TYPE=INTERNET:{LONG_EMAIL}\r\n") in text
    assert "\r\nBDAY:1978-03-15\r\n" in text
    assert ("\r\nNOTE:Звонить после 15:00\\; спросить Ивана\\, он в курсе\\\\не в курсе\\nВторая строка\\nТретья\r\n"
            in text)
    assert "\r\nADR:;;125047\\, Москва г\\, Лесная ул\\, дом № 12" in text
    assert "\r\nFN:info@romashka.ru\r\n" in text  # no name: the e-mail names the card
    assert sum(1 for line in lines if line.startswith(b" ")) >= 4  # ADR, NOTE and the long e-mail were folded


def test_vcard_tricky_values_read_back(tricky, tmp_path):
    path = write_vcard(tricky, tmp_path, ExportOptions())[0]
    frame, _ = read_all(path)
    first = frame.filter(pl.col("source_key") == "CT-1").to_dicts()[0]
    assert first["note"] == TRICKY_NOTE.replace("\r\n", "\n")
    assert first["company"] == "ООО «Ромашка; и партнёры»" and first["department"] == "Отдел продаж"
    assert first["job_title"] == "Директор, совладелец"
    assert first["address"].startswith(LONG_ADDRESS) and first["city"] == "Москва"
    assert first["birthday"] == "1978-03-15"
    vobject = pytest.importorskip("vobject")
    card = next(c for c in vobject.readComponents(path.read_bytes().decode("utf-8")) if c.uid.value == "CT-1")
    assert card.note.value == TRICKY_NOTE.replace("\r\n", "\n")
    assert card.adr.value.street == LONG_ADDRESS
    assert card.org.value == ["ООО «Ромашка; и партнёры»", "Отдел продаж"]
    assert LONG_EMAIL in {e.value for e in card.contents["email"]}
    assert LONG_EMAIL in first["emails"]


def test_vcard_of_no_contacts_is_an_empty_file(frames, tmp_path):
    path = write_vcard(make(frames), tmp_path, ExportOptions())[0]
    assert path.read_bytes() == b""
    assert not list(tmp_path.glob("*.part"))


# --- mailing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, state", [
    ("да", "yes"), ("Да ", "yes"), ("YES", "yes"), ("1", "yes"), ("+", "yes"), ("Согласен", "yes"),
    ("согласие получено", "yes"), ("Подписан", "yes"), ("opt-in", "yes"), ("✓", "yes"),
    ("нет", "no"), ("No", "no"), ("0", "no"), ("-", "no"), ("отписан", "no"), ("Отказ", "no"),
    ("согласие отозвано", "no"), ("не согласен", "no"), ("неподписан", "no"), ("unsubscribed", "no"),
    ("", None), (None, None), ("2023-05-01", "unclear"), ("см. договор", "unclear"),
])
def test_consent_values(value, state):
    frame = pl.DataFrame({"v": [value]}, schema={"v": pl.String})
    assert frame.select(consent_state(pl.col("v")).alias("v"))["v"][0] == state


def test_mailing_frame_keeps_consenting_reachable_contacts(frames):
    data = make(frames, contacts=[
        {"golden_id": "CT-1", "last_name": "Иванов", "first_name": "Иван", "consent": "да", "records": 1,
         "emails": [email("bad address"), email("ivanov@mail.ru")], "phones": [phone("+74951234567", "WORK")]},
        {"golden_id": "CT-2", "first_name": "Ольга", "consent": "Подписана", "records": 1,
         "phones": [phone("+74951234567", "WORK"), phone("+79161234567")]},
        {"golden_id": "CT-3", "last_name": "Петров", "consent": "yes", "records": 1,
         "emails": [email("p***@mail.ru")], "phones": [phone("+7 *** ***-45-67")]},  # masked: no channel
        {"golden_id": "CT-4", "last_name": "Сидоров", "consent": "нет", "records": 1, "emails": [email("s@mail.ru")]},
        {"golden_id": "CT-5", "last_name": "Орлов", "consent": None, "records": 1, "emails": [email("o@mail.ru")]},
        {"golden_id": "CT-6", "last_name": "Котов", "consent": "01.02.2023", "records": 1,
         "emails": [email("k@mail.ru")]},
        {"golden_id": "CT-7", "last_name": "Лисин", "consent": "1", "records": 1},
    ])
    frame, counts = mailing_frame(data)
    assert frame.columns == ["email", "phone", "name", "first_name", "middle_name", "golden_id"]
    assert frame.sort("golden_id").rows() == [
        ("ivanov@mail.ru", None, "Иванов Иван", "Иван", None, "CT-1"),
        (None, "+79161234567", "Ольга", "Ольга", None, "CT-2"),
    ]
    assert counts == {"no_consent": 1, "refused": 1, "unclear_consent": 1, "no_channel": 2}


def test_mailing_end_to_end_from_a_consent_column(tmp_path, cli):
    src = tmp_path / "subscribers.csv"
    src.write_text(
        "ФИО;Мобильный;E-mail;Согласие на рассылку\n"
        "Иванов Иван Иванович;+7 916 111-22-33;ivanov@example.ru;да\n"
        "Петрова Мария;+7 926 222-33-44;;Подписана\n"
        "Сидоров Пётр;;sidorov@example.ru;нет\n"
        "Орлова Анна;;orlova@example.ru;\n", encoding="utf-8")
    db = tmp_path / "ws.duckdb"
    assert cli("run", src, "--db", db, "--out", tmp_path / "run", "--quiet").code == 0
    result = cli("export", "--db", db, "--out", tmp_path / "out", "-t", "mailing")
    assert result.code == 0, result.err
    assert "1 no consent" in result.err and "1 refused" in result.err
    mailing = pl.read_csv(tmp_path / "out" / "mailing.csv", separator=";", infer_schema=False)
    assert mailing.sort("name").select("email", "phone", "name").rows() == [
        ("ivanov@example.ru", "+79161112233", "Иванов Иван Иванович"),
        (None, "+79262223344", "Петрова Мария"),
    ]
