"""Role partitions: no role's folder holds a record outside its filter or a field it may not see."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLES
from golden_frames import empty_frames, make

from crmtool.errors import CrmError
from crmtool.export.data import ExportData, load_export_data
from crmtool.export.masking import mask_email, mask_phone, mask_text
from crmtool.export.roles import Role, load_roles, partition
from crmtool.match.stage import match_workspace
from crmtool.merge.stage import merge_workspace
from crmtool.normalize.cities import city_key
from crmtool.normalize.runner import normalize_workspace
from crmtool.pipeline import load_paths
from crmtool.workspace import Workspace

ROLES = """
[roles.sales_msk]
description = "Moscow sales of Ivanova: names, masked channels, companies"
filter = { city = ["г. Москва"], owner = "ИВАНОВА*" }
fields = ["last_name", "first_name", "middle_name", "phones", "emails", "companies", "job_title", "city", "owner",
          "sources"]
masked = ["phones", "emails"]

[roles.tver]
filter = { city = "Тверь", source = ["1c", "*.VCF"] }
hidden = ["note", "birthday", "emails", "address", "inn", "kpp", "ogrn", "website"]
masked = ["last_name"]

[roles.romashka]
filter = { company = "ооо «ромашка»", inn = "7714123459" }
fields = ["last_name", "first_name", "companies", "inn"]

[roles.auditor]
export = false
"""
# what each role sees, written out here rather than taken from roles.py
CONTACT_COLUMNS = {
    "sales_msk": {"golden_id", "last_name", "first_name", "middle_name", "phones", "emails", "company_ids",
                  "companies", "job_title", "city", "owner", "sources", "phone_types", "email_types"},
    "tver": {"golden_id", "last_name", "first_name", "middle_name", "gender", "job_title", "department", "city",
             "owner", "consent", "phones", "records", "source_records", "sources", "company_ids", "companies",
             "phone_types"},
    "romashka": {"golden_id", "last_name", "first_name", "company_ids", "companies"},
}
COMPANY_COLUMNS = {
    "sales_msk": {"golden_id", "name", "phones", "emails", "city", "owner", "sources", "phone_types", "email_types"},
    "tver": {"golden_id", "name", "full_name", "opf", "is_person", "city", "owner", "phones", "records",
             "source_records", "sources", "phone_types"},
    "romashka": {"golden_id", "name", "inn"},
}
MASKED_PHONE = re.compile(r"^\+\d \*\*\* \*\*\*-\d\d-\d\d$")
MASKED_EMAIL = re.compile(r"^\w\*\*\*@[\w.-]+$")


# --- the workspace and the exports ---------------------------------------------------------------


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> tuple[Path, ExportData]:
    folder = tmp_path_factory.mktemp("roles")
    db = folder / "ws.duckdb"
    with Workspace.open(db) as ws:
        load_paths(ws, [SAMPLES])
        normalize_workspace(ws)
        match_workspace(ws)
        merge_workspace(ws)
        data = load_export_data(ws)
    (folder / "roles.toml").write_text(ROLES, encoding="utf-8")
    return db, data


@pytest.fixture(scope="module", params=["csv", "jsonl"])
def exported(request, golden, tmp_path_factory) -> tuple[Path, str]:
    from crmtool.cli import main

    db, _ = golden
    out = tmp_path_factory.mktemp(f"out-{request.param}")
    code = main(["export", "--db", str(db), "--out", str(out), "--roles", str(db.parent / "roles.toml"),
                 "--format", request.param, "--quiet",
                 "-t", "generic", "-t", "vcard", "-t", "crosswalk", "-t", "mailing"])
    assert code == 0
    return out, request.param


def read(path: Path) -> pl.DataFrame:
    if path.suffix == ".jsonl":
        return pl.read_ndjson(path) if path.stat().st_size else pl.DataFrame()
    return pl.read_csv(path, separator=";", infer_schema=False)


def texts(folder: Path) -> dict[str, str]:
    """Every file of a role's folder as text; vCard lines unfolded, so a folded value is whole."""
    return {p.name: p.read_bytes().decode("utf-8").replace("\r\n ", "") for p in folder.iterdir()}


def values(frame: pl.DataFrame, column: str) -> list[str]:
    """The plain values of a golden column (typed lists: their `value`s)."""
    series = frame[column]
    if isinstance(series.dtype, pl.List) and isinstance(series.dtype.inner, pl.Struct):
        series = series.explode().struct.field("value")
    elif isinstance(series.dtype, pl.List):
        series = series.explode()
    return [str(v) for v in series.drop_nulls().to_list()]


def present(value: str, text: str) -> bool:
    """Is a value in a file, as written in CSV / JSON or escaped in a vCard?"""
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1],
             value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")}
    return any(f in text for f in forms)


# --- what each role should get, computed here from the full golden data ---------------------------


def expected_contacts(role: str, data: ExportData) -> set[str]:
    c = data.contacts.with_columns(city_key(pl.col("city")).alias("key"))
    if role == "sales_msk":
        rows = c.filter((pl.col("key") == "москва") & pl.col("owner").str.to_lowercase().str.starts_with("иванова"))
    elif role == "tver":
        from_vcf = data.crosswalk.filter(pl.col("source_file").str.ends_with(".vcf"))["golden_id"]
        rows = c.filter((pl.col("key") == "тверь")
                        & (pl.col("sources").list.contains("1c") | pl.col("golden_id").is_in(from_vcf.to_list())))
    else:
        romashka = data.companies.filter((pl.col("inn") == "7714123459") & (pl.col("name") == "ООО «Ромашка»"))
        linked = data.links.filter(pl.col("company_id").is_in(romashka["golden_id"].to_list()))["contact_id"]
        rows = c.filter(pl.col("golden_id").is_in(linked.to_list()))
    return set(rows["golden_id"])


def allowed_companies(role: str, data: ExportData, contacts: set[str]) -> set[str]:
    """Linked to the role's contacts, or matching the filter by themselves."""
    linked = set(data.links.filter(pl.col("contact_id").is_in(list(contacts)))["company_id"])
    co = data.companies.with_columns(city_key(pl.col("city")).alias("key"))
    if role == "sales_msk":
        own = co.filter((pl.col("key") == "москва") & pl.col("owner").str.to_lowercase().str.starts_with("иванова"))
    elif role == "tver":
        own = co.filter(pl.col("key") == "тверь")  # a subset: source is checked by the contacts
    else:
        own = co.filter(pl.col("inn") == "7714123459")
    return linked | set(own["golden_id"])


# --- the tests -----------------------------------------------------------------------------------


def test_each_role_gets_exactly_its_filter(golden, exported):
    _, data = golden
    out, fmt = exported
    assert sorted(p.name for p in out.iterdir()) == ["romashka", "sales_msk", "tver"]  # auditor: nothing
    seen = {}
    for role in ("sales_msk", "tver", "romashka"):
        contacts = read(out / role / f"contacts.{fmt}")
        expected = expected_contacts(role, data)
        assert expected, role
        assert set(contacts["golden_id"]) == expected, role
        seen[role] = expected
        cards = (out / role / "contacts.vcf").read_bytes().decode("utf-8")
        assert set(re.findall(r"^UID:(\S+)\r$", cards, flags=re.M)) == expected
    assert len({frozenset(s) for s in seen.values()}) == 3
    assert len(data.contacts) > max(len(s) for s in seen.values())


def test_companies_links_and_crosswalk_stay_inside_the_role(golden, exported):
    _, data = golden
    out, fmt = exported
    for role in ("sales_msk", "tver", "romashka"):
        contacts = set(read(out / role / f"contacts.{fmt}")["golden_id"])
        companies = set(read(out / role / f"companies.{fmt}")["golden_id"])
        assert companies, role
        assert companies <= allowed_companies(role, data, contacts), role
        links = read(out / role / f"links.{fmt}")
        assert set(links["contact_id"]) <= contacts and set(links["company_id"]) <= companies
        crosswalk = read(out / role / f"crosswalk.{fmt}")
        if role == "romashka":  # does not see sources: no crosswalk rows, no record ids
            assert crosswalk.height == 0
            assert links["record_ids"].null_count() == links.height
            continue
        assert crosswalk.height > 0
        assert set(crosswalk["golden_id"]) <= contacts | companies
        assert set(crosswalk["company_golden_id"].drop_nulls()) <= companies
        # every record of its contacts is there
        full = data.crosswalk.filter(pl.col("golden_id").is_in(list(contacts)))
        assert set(full["record_id"].cast(pl.String)) <= set(crosswalk["record_id"].cast(pl.String))


def test_no_file_holds_an_outside_record_or_a_hidden_field(golden, exported):
    _, data = golden
    out, fmt = exported
    everyone = set(data.contacts["golden_id"]) | set(data.companies["golden_id"])
    for role in ("sales_msk", "tver", "romashka"):
        files = texts(out / role)
        contacts = read(out / role / f"contacts.{fmt}")
        companies = read(out / role / f"companies.{fmt}")
        inside = set(contacts["golden_id"]) | set(companies["golden_id"])
        for outsider in everyone - inside:
            assert not any(outsider in t for t in files.values()), (role, outsider)
        for frame, columns in ((contacts, CONTACT_COLUMNS[role]), (companies, COMPANY_COLUMNS[role])):
            for column in set(frame.columns) - columns:
                assert frame[column].null_count() == frame.height, (role, column)
        # hidden values of the role's own records appear nowhere (unless also a visible value)
        mine_c = data.contacts.filter(pl.col("golden_id").is_in(list(inside)))
        mine_co = data.companies.filter(pl.col("golden_id").is_in(list(inside)))
        visible = [v for f, cols in ((mine_c, CONTACT_COLUMNS[role]), (mine_co, COMPANY_COLUMNS[role]))
                   for c in f.columns if c in cols and c not in ("phones", "emails") for v in values(f, c)]
        hidden = [v for f, cols in ((mine_c, CONTACT_COLUMNS[role]), (mine_co, COMPANY_COLUMNS[role]))
                  for c in f.columns if c not in cols and c not in ("records", "is_person") for v in values(f, c)]
        if role in ("sales_msk", "romashka"):  # masked or hidden: no real phone or e-mail anywhere
            hidden += [v for f in (mine_c, mine_co) for c in ("phones", "emails") for v in values(f, c)]
        if role == "tver":
            hidden += [v for v in values(mine_c, "last_name")]
        checked = 0
        for value in hidden:
            for piece in value.split("\n"):
                if len(piece) < 5 or any(piece in v for v in visible):
                    continue
                checked += 1
                for name, text in files.items():
                    assert not present(piece, text), (role, name, piece)
        assert checked >= 5, role


def test_masked_values_appear_only_masked(golden, exported):
    _, data = golden
    out, fmt = exported
    contacts = read(out / "sales_msk" / f"contacts.{fmt}")
    if fmt == "jsonl":
        phones = contacts["phones"].explode().struct.field("value").drop_nulls().to_list()
        emails = contacts["emails"].explode().struct.field("value").drop_nulls().to_list()
    else:
        phones = [p for cell in contacts["phones"].drop_nulls() for p in cell.split("; ")]
        emails = [e for cell in contacts["emails"].drop_nulls() for e in cell.split("; ")]
    assert phones and all(MASKED_PHONE.match(p) for p in phones), phones
    assert emails and all(MASKED_EMAIL.match(e) for e in emails), emails
    cards = (out / "sales_msk" / "contacts.vcf").read_bytes().decode("utf-8")
    tels = re.findall(r"^TEL;TYPE=\w+:(.*)\r$", cards, flags=re.M)
    assert tels and all(MASKED_PHONE.match(t) for t in tels)
    assert not read(out / "sales_msk" / "mailing.csv").height  # masked channels cannot be mailed
    tver = read(out / "tver" / f"contacts.{fmt}")
    assert all(re.match(r"^\w\*\*\*$", n) for n in tver["last_name"].drop_nulls())
    assert tver["last_name"].drop_nulls().len() > 0


def test_a_role_that_may_not_export_leaves_an_old_folder_with_a_warning(golden, tmp_path, cli):
    db, _ = golden
    (tmp_path / "auditor").mkdir()
    result = cli("export", "--db", db, "--out", tmp_path, "--roles", db.parent / "roles.toml", "-t", "crosswalk")
    assert result.code == 0
    assert "auditor" in result.err and "earlier export" in result.err
    assert not list((tmp_path / "auditor").iterdir())


# --- filters on hand-made data ---------------------------------------------------------------------


@pytest.fixture
def frames(ws):
    """Empty golden frames with the workspace's own column types."""
    return empty_frames(ws)


def person(gid, **fields):
    return {"golden_id": gid, "records": 1, "sources": ["excel"], **fields}


@pytest.fixture
def small(frames):
    return make(
        frames,
        contacts=[
            person("CT-1", last_name="Фёдорова", department="Отдел продаж", city="г. Москва", owner="Иванова А.С.",
                   phones=[{"value": "+79161234567", "ext": None, "type": "MOBILE"}],
                   emails=[{"value": "fedorova@romashka.ru", "type": "WORK"}], note="VIP"),
            person("CT-2", last_name="Петров", department="отдел  ПРОДАЖ", city="Moscow", owner="Орлов",
                   sources=["1c"]),
            person("CT-3", last_name="Сидоров", department="Бухгалтерия", city="Тверь", owner=None),
            person("CT-4", last_name="Федорова", department=None, city="СПб", owner="иванова анна"),
        ],
        companies=[
            {"golden_id": "CO-1", "name": "ООО «Ромашка»", "inn": "7714123459", "city": "Москва", "records": 1,
             "owner": "Орлов", "sources": ["1c"]},
            {"golden_id": "CO-2", "name": "АО «Вектор»", "inn": "7700000000", "city": "Тверь", "records": 1,
             "owner": "Иванова А.С.", "sources": ["excel"]},
        ],
        links=[{"contact_id": "CT-1", "company_id": "CO-1", "via": ["row"], "record_ids": [1]},
               {"contact_id": "CT-3", "company_id": "CO-2", "via": ["row"], "record_ids": [3]}],
        crosswalk=[
            {"source_file": "in/Ivanova.xlsx", "source_row": 1, "entity": "contact", "golden_id": "CT-1",
             "company_golden_id": "CO-1", "record_id": 1, "entity_hint": "person_at_company"},
            {"source_file": "in/1c/export.xml", "source_row": 1, "entity": "contact", "golden_id": "CT-2",
             "record_id": 2, "entity_hint": "person"},
            {"source_file": "in/phone.vcf", "source_row": 1, "entity": "contact", "golden_id": "CT-3",
             "record_id": 3, "entity_hint": "person"},
            {"source_file": "in/1c/export.xml", "source_row": 2, "entity": "company", "golden_id": "CO-1",
             "record_id": 4, "entity_hint": "company"},
        ],
    )


def ids(part: ExportData | None) -> tuple[set[str], set[str]]:
    assert part is not None
    return set(part.contacts["golden_id"]), set(part.companies["golden_id"])


@pytest.mark.parametrize("filt, contacts", [
    ({"department": ("отдел продаж",)}, {"CT-1", "CT-2"}),  # case and spacing
    ({"last_name": ("Федорова",)}, {"CT-1", "CT-4"}),  # ё = е
    ({"city": ("Москва",)}, {"CT-1", "CT-2"}),  # "г. Москва", "Moscow"
    ({"city": ("мск", "Тверь")}, {"CT-1", "CT-2", "CT-3"}),  # a list is any of
    ({"owner": ("Иванова*",)}, {"CT-1", "CT-4"}),  # a glob
    ({"owner": ("",)}, {"CT-3"}),  # "" = empty
    ({"owner": ("Иванова*",), "city": ("Москва",)}, {"CT-1"}),  # keys combine with AND
    ({"source": ("1c",)}, {"CT-2"}),  # a source family
    ({"source": ("*.vcf", "ivanova.XLSX")}, {"CT-1", "CT-3"}),  # a file glob, a file name
    ({"source": ("in/1c/*",)}, {"CT-2"}),  # a path glob
    ({"phones": ("+7 916*",)}, {"CT-1"}),
    ({"emails": ("*@ROMASHKA.ru",)}, {"CT-1"}),
    ({"company": ("ооо «ромашка»",)}, {"CT-1"}),  # a linked company's name
    ({"inn": ("7700000000",)}, {"CT-3"}),
    ({"records": (1,)}, {"CT-1", "CT-2", "CT-3", "CT-4"}),
    ({}, {"CT-1", "CT-2", "CT-3", "CT-4"}),
])
def test_filter_keys(small, filt, contacts):
    assert ids(partition(small, Role("r", filter=filt)))[0] == contacts


def test_companies_come_linked_or_by_their_own_match(small):
    # linked to a contact of the role
    assert ids(partition(small, Role("r", filter={"department": ("Бухгалтерия",)}))) == ({"CT-3"}, {"CO-2"})
    # the filter applies to companies too when all its keys do
    assert ids(partition(small, Role("r", filter={"owner": ("Орлов",)}))) == ({"CT-2"}, {"CO-1"})
    assert ids(partition(small, Role("r", filter={"inn": ("7714123459",)}))) == ({"CT-1"}, {"CO-1"})
    # a role without `companies` gets none, and no links
    part = partition(small, Role("r", fields=frozenset({"last_name", "phones"})))
    assert part.companies.height == 0 and part.links.height == 0
    assert part.company_names().height == 0


def test_crosswalk_only_for_roles_that_see_sources(small):
    part = partition(small, Role("r", filter={"city": ("Тверь",)}))
    assert set(part.crosswalk["record_id"]) == {3}
    part = partition(small, Role("r", filter={"department": ("Отдел продаж",)}))
    assert set(part.crosswalk["golden_id"]) == {"CT-1", "CT-2", "CO-1"}  # CO-1: CT-1's company
    # a company the role does not see is not named in the crosswalk either
    part = partition(small, Role("r", fields=frozenset({"last_name", "sources"})))
    assert part.crosswalk["company_golden_id"].null_count() == part.crosswalk.height == 3
    hidden = partition(small, Role("r", fields=frozenset({"last_name", "companies"})))
    assert hidden.crosswalk.height == 0 and hidden.links["record_ids"].null_count() == hidden.links.height == 2


def test_hidden_fields_are_null_and_masked_ones_masked(small):
    role = Role("r", fields=frozenset({"last_name", "phones", "emails", "companies"}),
                masked=frozenset({"phones", "emails", "companies"}))
    part = partition(small, role)
    assert part.contacts.columns == small.contacts.columns  # every column kept, for every target
    first = part.contacts.filter(pl.col("golden_id") == "CT-1").row(0, named=True)
    assert first["last_name"] == "Фёдорова"
    assert first["phones"] == [{"value": "+7 *** ***-45-67", "ext": None, "type": "MOBILE"}]
    assert first["emails"] == [{"value": "f***@romashka.ru", "type": "WORK"}]
    assert first["note"] is None and first["city"] is None and first["owner"] is None and first["sources"] is None
    assert first["records"] is None
    company = part.companies.filter(pl.col("golden_id") == "CO-1").row(0, named=True)
    assert company["name"] == "О***" and company["inn"] is None
    assert sorted(part.company_names()["company_names"].to_list()) == [["А***"], ["О***"]]


def test_unknown_columns_are_hidden(small):
    contacts = small.contacts.with_columns(pl.lit("secret").alias("passport"))
    part = partition(small.with_frames(contacts=contacts), Role("r"))
    assert part.contacts["passport"].null_count() == part.contacts.height


def test_may_not_export():
    assert partition(None, Role("r", export=False)) is None  # type: ignore[arg-type]


# --- masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, masked", [
    ("+79161234567", "+7 *** ***-45-67"), ("+380441234567", "+3 *** ***-45-67"), ("12-34", "***"), (None, None)])
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize("value, masked", [
    ("ivanov@mail.ru", "i***@mail.ru"), ("a@b.ru", "a***@b.ru"), ("nomail", "n***"), (None, None)])
def test_mask_email(value, masked):
    assert mask_email(value) == masked


def test_mask_text():
    assert mask_text("Иванов") == "И***" and mask_text(None) is None


# --- roles.toml --------------------------------------------------------------------------------------


def test_load_roles_reads_the_documented_example(tmp_path):
    example = Path(__file__).resolve().parent.parent / "docs" / "roles.md"
    toml = re.search(r"```toml\n(.*?)```", example.read_text(encoding="utf-8"), flags=re.S).group(1)
    path = tmp_path / "roles.toml"
    path.write_text(toml, encoding="utf-8")
    roles = load_roles(path)
    assert len(roles) >= 3 and any(not r.export for r in roles)


def test_roles_file_defaults(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[roles.all]\n[roles.no_notes]\nhidden = ["note"]\nmasked = ["phones"]\n', encoding="utf-8")
    everything, no_notes = load_roles(path)
    assert everything.export and not everything.filter and everything.sees("note") and everything.sees("companies")
    assert not no_notes.sees("note") and no_notes.sees("phones") and no_notes.masked == {"phones"}


BAD = [
    ("[roles.a]\nfiltr = {}\n", "'filtr'"),
    ("[roles.a]\nfields = [\"phone\"]\n", "'phone'"),
    ("[roles.a]\nhidden = [\"phones\"]\nmasked = [\"phones\"]\n", "both hidden and masked"),
    ("[roles.a]\nfields = [\"last_name\"]\nmasked = [\"phones\"]\n", "masked but not in fields"),
    ("[roles.a]\nfields = [\"records\"]\nmasked = [\"records\"]\n", "cannot be masked"),
    ("[roles.a]\nfields = []\nhidden = []\n", "not both"),
    ("[roles.\"\"]\n", "empty name"),
    ("[roles.\"../up\"]\n", "'../up'"),
    ("[roles.\"a b\"]\n", "folder name"),
    ("[roles.con]\n", "'con'"),
    ("[roles.Sales]\n[roles.sales]\n", "share one folder"),
    ("[roles.a]\nfilter = { dept = \"x\" }\n", "'dept'"),
    ("[roles.a]\nfilter = { inn = 7714123459 }\n", "filter.inn"),
    ("[roles.a]\nfilter = { city = [] }\n", "filter.city"),
    ("[roles.a]\nfilter = { sources = \"excel.xlsx\" }\n", "filter.source"),
    ("[roles.a]\nexport = \"no\"\n", "export must be true or false"),
    ("[roles.a]\nfields = \"phones\"\n", "fields must be a list"),
    ("[roles.a]\nfields = [\"golden_id\"]\n", "golden_id"),
    ("[role.a]\n", "'role'"),
    ("# nothing\n", "no roles"),
    ("[roles.a\n", "not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m for _, m in BAD])
def test_bad_roles_files_fail_with_the_key_named(tmp_path, text, message):
    path = tmp_path / "roles.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrmError, match=re.escape(message)) as info:
        load_roles(path)
    assert str(path) in str(info.value)


def test_bad_roles_file_exits_2_and_writes_nothing(golden, tmp_path, cli):
    db, _ = golden
    path = tmp_path / "roles.toml"
    path.write_text("[roles.sales]\nfields = [\"phones\", \"emial\"]\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("export", "--db", db, "--out", out, "--roles", path, "-t", "generic")
    assert result.code == 2
    assert "role 'sales'" in result.err and "'emial'" in result.err and "'emails'" in result.err
    assert "Traceback" not in result.err and not out.exists()
