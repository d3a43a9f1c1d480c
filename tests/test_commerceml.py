"""CommerceML reader: real 1C/Bitrix exchange files and hand-made dirty exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import DATA, SAMPLES, SHARED_SAMPLES
from readers import read_all, row

from crmtool.errors import SourceError
from crmtool.pipeline import load_paths
from crmtool.sources.sniff import sniff

CML = DATA / "commerceml"
SHARED = SHARED_SAMPLES / "commerceml"


def counterparties_in(path: Path, encoding: str = "utf-8") -> int:
    """Counted independently of the reader: opening tags of counterparties and representatives."""
    text = path.read_bytes().decode(encoding)
    return len(re.findall(r"<Контрагент[ >]", text)) - len(re.findall(r"<Представитель>\s*<Контрагент[ >]", text)) + len(
        re.findall(r"<Представитель[ >]", text)
    )


def test_companies_representatives_and_private_persons():
    frame, result = read_all(CML / "counterparties.xml")
    assert (result.format, result.profile, result.encoding) == ("commerceml", "2.08", "utf-8")
    # Every counterparty and representative is a record, plus the catalogue's owner.
    assert frame.height == counterparties_in(CML / "counterparties.xml") + 1
    assert frame["source_row"].to_list() == list(range(1, frame.height + 1))

    owner = row(frame, 1)
    assert (owner["entity_hint"], owner["company"], owner["inn"], owner["kpp"]) == ("company", "ТД Альянс ООО", "5032517506", "503201001")
    assert json.loads(owner["extra"])["Роль"] == "Владелец"

    veter = row(frame, 2)
    assert veter["entity_hint"] == "company" and veter["line"] == 24
    assert veter["source_key"] == "a3c5e7f9-1b2d-4f60-8a9c-b1d3f5a7c9e1"
    assert veter["phones"] == ["+7 (812) 325-10-20", "+7 (812) 325-10-21", "+7 (812) 325-10-29"]
    assert veter["phone_kinds"] == ["work", "work", "fax"]
    assert veter["emails"] == ["zakaz@sev-veter.ru"] and veter["website"] == "www.sev-veter.ru"
    assert veter["address"].startswith("197022, Санкт-Петербург г, Каменноостровский")
    assert veter["city"] == "Санкт-Петербург г"
    extra = json.loads(veter["extra"])
    assert extra["ICQ"] == "123456789" and extra["Прочее"] == "Telegram @sevveter"
    assert "Орлов Виктор Семёнович" in extra["Руководитель"]
    # The second address has no Представление: composed from its fields in address order.
    assert extra["Адрес"] == "191028, Санкт-Петербург г, Литейный пр-кт, д. 7"
    assert veter["note"] == "Оптовый покупатель, отсрочка 14 дней"


def test_representatives_are_people_at_their_company():
    frame, _ = read_all(CML / "counterparties.xml")
    zaitseva, belov = row(frame, 3), row(frame, 4)
    for person in (zaitseva, belov):
        assert person["entity_hint"] == "person_at_company"
        assert person["parent_row"] == 2 and person["company"] == "Северный ветер ООО"
    assert (zaitseva["last_name"], zaitseva["first_name"], zaitseva["middle_name"]) == ("Зайцева", "Ольга", "Викторовна")
    assert zaitseva["full_name"] == "Зайцева Ольга Викторовна" and zaitseva["job_title"] == "Менеджер по закупкам"
    assert (zaitseva["phones"], zaitseva["phone_kinds"]) == (["8 (921) 555-12-34"], ["mobile"])
    assert belov["phones"] == ["+7 (812) 325-10-20 доб. 305"] and belov["line"] == 138


def test_nested_representative_and_branch_office():
    frame, _ = read_all(CML / "counterparties.xml")
    kovalev, branch = row(frame, 6), row(frame, 7)
    # 2.03 form Представитель/Контрагент/{Ид, Наименование, Отношение}.
    assert kovalev["full_name"] == "Ковалёв Денис Андреевич" and kovalev["parent_row"] == 5
    assert kovalev["source_key"] == "c8e0a2b4-6d7f-4e83-8f1b-a6c8e0a2b4d6"
    assert kovalev["entity_hint"] == "person_at_company"
    # A representative with legal-entity details is a company (a branch), still linked.
    assert branch["entity_hint"] == "company" and branch["parent_row"] == 5
    assert branch["company"] == "Балтийские системы АО (филиал Тверь)" and branch["kpp"] == "695043001"


def test_private_persons_and_sole_traders():
    frame, _ = read_all(CML / "counterparties.xml")
    solovyov = row(frame, 8)
    assert solovyov["entity_hint"] == "person" and solovyov["company"] is None
    assert solovyov["birthday"] == "1984-07-21" and solovyov["gender"] == "Мужской"
    assert solovyov["phone_kinds"] == ["mobile", "home", "pager"]
    assert solovyov["emails"] == ["m.solovyov@mail.ru"] and solovyov["email_kinds"] == ["other"]
    assert solovyov["address"].startswith("194044, Санкт-Петербург г")
    # An ИП: 1C keeps it as a private person; its name with a legal form is the company.
    kravtsov = row(frame, 9)
    assert kravtsov["company"] == "ИП Кравцов А.Н." and kravtsov["full_name"] == "Кравцов Андрей Николаевич"
    assert kravtsov["entity_hint"] == "person_at_company" and "name_is_company" in kravtsov["flags"]


def test_a_counterparty_without_a_name_is_kept_and_flagged():
    frame, _ = read_all(CML / "counterparties.xml")
    guest = row(frame, 10)
    assert guest["emails"] == ["guest-1187@example.ru"]
    assert "no_name" in guest["flags"] and guest["entity_hint"] == "unknown"
    assert json.loads(guest["raw"])["Контакты"]["Контакт"]["Значение"] == "guest-1187@example.ru"


def test_windows_1251_commerceml_3_with_contacts_in_address_fields():
    path = CML / "counterparties-cp1251.xml"
    frame, result = read_all(path)
    assert (result.encoding, result.profile) == ("cp1251", "3.1")
    assert frame.height == counterparties_in(path, "cp1251")
    elka, darya, shchukin = (row(frame, i) for i in (1, 2, 3))
    assert elka["company"] == "Ёлка ООО" and elka["city"] == "Тверь г" and elka["emails"] == ["office@elka-tver.ru"]
    assert darya["full_name"] == "Ёлкина Дарья" and darya["parent_row"] == 1
    # Бitrix exports put the buyer's e-mail among the address fields.
    assert shchukin["emails"] == ["p.shchukin@yandex.ru"] and shchukin["full_name"] == "Щукин Пётр"
    assert shchukin["source_key"] == "1#admin# admin"
    assert json.loads(shchukin["extra"])["Наименование"] == "admin"


def test_the_bundled_sample_loads_with_people_linked_to_companies():
    path = SAMPLES / "1c" / "counterparties.xml"
    frame, _ = read_all(path)
    assert frame.height == counterparties_in(path)
    linked = frame.filter(frame["parent_row"].is_not_null())
    parents = frame.filter(frame["source_row"].is_in(linked["parent_row"].implode()))
    assert set(parents["entity_hint"]) == {"company"}
    assert set(linked["entity_hint"]) <= {"person_at_company", "company"}


@pytest.mark.parametrize("name", ["import0_1.xml", "import0_1_with_nested_groups.xml", "offers0_1.xml"])
def test_catalogue_and_offers_files_give_their_owner_only(name):
    frame, result = read_all(SHARED / name)
    assert frame.height == 1
    owner = row(frame, 1)
    assert owner["entity_hint"] == "company" and owner["company"] and owner["inn"]
    assert any("no counterparties" in n for n in result.notes)
    assert any("repeated" in n for n in result.notes)  # Классификатор and Каталог name the same owner


def test_bitrix_order_exchange_in_windows_1251():
    frame, result = read_all(SHARED / "bitrix-query-response-full.xml")
    assert result.encoding == "cp1251" and frame.height == counterparties_in(SHARED / "bitrix-query-response-full.xml", "cp1251")
    # The shop sent empty buyers: kept, flagged, never invented.
    assert all("no_name" in f for f in frame["flags"])
    empty, result = read_all(SHARED / "bitrix-query-response-empty.xml")
    assert empty.height == 0 and any("no counterparties" in n for n in result.notes)


def test_malformed_xml_names_the_line():
    with pytest.raises(SourceError) as err:
        read_all(CML / "malformed.xml")
    assert err.value.line == 21 and "malformed XML" in err.value.reason


def test_enterprise_data_and_foreign_xml_are_refused_clearly():
    with pytest.raises(SourceError, match="EnterpriseData XML is not supported"):
        read_all(CML / "enterprise-data.xml")
    with pytest.raises(SourceError, match="not CommerceML"):
        read_all(CML / "yandex-market.xml")
    with pytest.raises(SourceError, match="not CommerceML"):
        read_all(SHARED / "commerceml-2.08.xsd")


def test_wrong_declared_encoding_suggests_the_option(tmp_path):
    good = (CML / "counterparties-cp1251.xml").read_bytes()
    liar = tmp_path / "liar.xml"
    liar.write_bytes(good.replace(b'encoding="windows-1251"', b'encoding="UTF-8"'))
    with pytest.raises(SourceError, match="--encoding"):
        read_all(liar)
    frame, _ = read_all(liar, encoding="cp1251")
    assert row(frame, 1)["company"] == "Ёлка ООО"


def test_large_file_streams_in_batches(tmp_path):
    """Thousands of counterparties: several batches, numbered without gaps."""
    one = (
        "<Контрагент><Ид>{i}</Ид><Наименование>Фирма {i} ООО</Наименование>"
        "<ОфициальноеНаименование>ООО Фирма {i}</ОфициальноеНаименование><Контакты><Контакт><Тип>Почта</Тип>"
        "<Значение>f{i}@x.ru</Значение></Контакт></Контакты><Представители><Представитель><Ид>p{i}</Ид>"
        "<Наименование>Лицо {i}</Наименование><Отношение>Контактное лицо</Отношение></Представитель>"
        "</Представители></Контрагент>\n"
    )
    n = 6000
    body = "".join(one.format(i=i) for i in range(n))
    path = tmp_path / "big.xml"
    path.write_text(f'<?xml version="1.0"?>\n<КоммерческаяИнформация ВерсияСхемы="2.10"><Контрагенты>\n{body}</Контрагенты></КоммерческаяИнформация>')
    from crmtool.sources.base import ReadOptions
    from crmtool.sources.commerceml import read_commerceml

    result = read_commerceml(path, ReadOptions())
    batches = list(result.batches)
    assert len(batches) > 1
    assert sum(b.height for b in batches) == 2 * n == result.tables[0].rows
    last = batches[-1].tail(1).to_dicts()[0]
    assert (last["source_row"], last["parent_row"], last["line"]) == (2 * n, 2 * n - 1, n + 2)


def test_sniffed_and_loaded_into_the_workspace(ws):
    assert sniff(CML / "counterparties.xml") == "commerceml"
    summary = load_paths(ws, [CML / "counterparties.xml"])
    assert summary.outcomes[0].status == "loaded"
    assert ws.scalar("SELECT count(*) FROM records") == 10
    links = ws.con.sql(
        "SELECT c.source_row, p.source_row FROM records c JOIN records p ON c.parent_record_id = p.record_id ORDER BY 1"
    ).fetchall()
    assert links == [(3, 2), (4, 2), (6, 5), (7, 5)]
    src = ws.fetch_dicts("SELECT format, rows, flagged, rejected FROM sources")[0]
    assert (src["format"], src["rows"], src["rejected"]) == ("commerceml/2.08", 10, 1)
