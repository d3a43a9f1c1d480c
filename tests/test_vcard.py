"""vCard: real exports from many apps, the project's phone samples, and the quirks of the wild."""

import json
import re
from pathlib import Path

import pytest

from conftest import SAMPLES, SHARED_SAMPLES
from readers import read_all, row

from crmtool.errors import SourceError
from crmtool.pipeline import load_paths
from crmtool.sources.base import ReadOptions
from crmtool.sources.schema import ERROR_FLAGS
from crmtool.sources.vcard import read_vcard

VCARD_DIR = SHARED_SAMPLES / "vcard"
SHARED_FILES = sorted(VCARD_DIR.glob("*.vcf"))
PROJECT_FILES = sorted((SAMPLES / "vcard").glob("*.vcf"))
BASE64_JPEG = re.compile(r"/9j/4AAQ|/9j/4QFa")  # how every JPEG in base64 begins


def cards_in(path: Path) -> int:
    """Count cards without crmtool: lines that begin a card."""
    return len(re.findall(rb"^BEGIN:VCARD", path.read_bytes(), flags=re.M | re.I))


def extra(record: dict) -> dict:
    return json.loads(record["extra"]) if record["extra"] else {}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- every real file ------------------------------------------------------------------------------


def test_the_sample_sets_are_there():
    assert len(SHARED_FILES) >= 19 and len(PROJECT_FILES) == 3


@pytest.mark.parametrize("path", SHARED_FILES + PROJECT_FILES, ids=lambda p: p.name)
def test_every_sample_loads_one_record_per_card(path):
    frame, result = read_all(path)
    expected = cards_in(path)
    assert expected >= 1
    assert result.format == "vcard"
    assert frame.height == result.tables[0].rows == expected
    assert frame.get_column("source_row").to_list() == list(range(1, expected + 1))
    assert frame.get_column("line").is_sorted() and frame.get_column("line")[0] == 1
    for r in frame.to_dicts():
        # Every card yields something to identify it by, and no blob ever reaches the workspace.
        assert r["full_name"] or r["last_name"] or r["company"] or r["emails"] or r["phones"], r
        assert len(r["phones"]) == len(r["phone_kinds"]) and len(r["emails"]) == len(r["email_kinds"])
        assert set(r["phone_kinds"]) <= {"mobile", "work", "home", "fax", "pager", "other"}
        assert set(r["email_kinds"]) <= {"work", "home", "other"}
        assert not BASE64_JPEG.search(r["raw"]) and not BASE64_JPEG.search(r["extra"] or "")
        assert "card_truncated" not in r["flags"] and "card_parse_error" not in r["flags"]
        assert all(v != "" for k, v in r.items() if isinstance(v, str)), r
        json.loads(r["raw"])


# Field values as the files hold them (open the .vcf next to the test to check).
JOHN_DOE = {
    "John_Doe_IPHONE.vcf": {
        "last_name": "Doe", "first_name": "John", "middle_name": "Richter James", "company": "IBM",
        "department": "Accounting", "job_title": "Money Counter", "birthday": "2012-06-06",
        "emails": ["john.doe@ibm.com"], "website": "http://www.ibm.com",
        "phones": ["905-555-1234", "905-666-1234", "905-777-1234", "905-888-1234", "905-999-1234",
                   "905-111-1234", "905-222-1234"],
        "phone_kinds": ["mobile", "home", "work", "fax", "fax", "pager", "other"],
        "address": "Silicon Alley 5, New York, New York, 12345, United States of America", "city": "New York",
    },
    "John_Doe_MAC_ADDRESS_BOOK.vcf": {
        "full_name": "Mr. John Richter,James Doe Sr.", "company": "IBM", "emails": ["john.doe@ibm.com"],
        "email_kinds": ["work"], "phones": ["905-777-1234", "905-666-1234", "905-555-1234", "905-888-1234",
                                           "905-999-1234", "905-111-1234", "905-222-1234"],
        "phone_kinds": ["work", "home", "mobile", "fax", "fax", "pager", "other"],
        "address": "Silicon Alley 5, New York, New York, 12345, United States of America",
    },
    "John_Doe_MS_OUTLOOK.vcf": {
        "last_name": "Doe", "first_name": "John", "company": "IBM", "department": "Accounting",
        "job_title": "Money Counter", "birthday": "1980-03-22", "emails": ["john.doe@ibm.cm"],
        "phones": ["(905) 555-1234", "(905) 666-1234"], "phone_kinds": ["work", "home"],
        "address": "Cresent moon drive, Albaney, New York, 12345, United States of America",
        "website": "http://www.ibm.com",
    },
    "John_Doe_EVOLUTION.vcf": {
        "source_key": "477343c8e6bf375a9bac1f96a5000837", "full_name": "Mr. John Richter, James Doe Sr.",
        "middle_name": "Richter, James", "company": "IBM", "department": "Accounting",
        "phones": ["905-666-1234", "905-555-1234"], "phone_kinds": ["mobile", "work"],
        "emails": ["john.doe@ibm.com"], "email_kinds": ["work"], "birthday": "1980-03-22",
        "address": "15 Crescent moon drive, Albaney, New York, 12345, United States of America",
    },
    "John_Doe_GMAIL.vcf": {
        "full_name": "Mr. John Richter, James Doe Sr.", "company": "IBM", "emails": ["john.doe@ibm.com"],
        "email_kinds": ["home"], "phones": ["905-555-1234", "905-666-1234"], "phone_kinds": ["mobile", "home"],
        "website": "http://www.ibm.com",
        "address": "Crescent moon drive, 555-asd, Nice Area, Albaney, New York 12345, United States of America",
    },
    "John_Doe_LOTUS_NOTES.vcf": {
        "source_key": "0e7602cc-443e-4b82-b4b1-90f62f99a199", "company": "IBM", "department": "SUN",
        "job_title": "Generic Accountant", "emails": ["john.doe@ibm.com", "billy_bob@gmail.com"],
        "phones": ["+1 (212) 204-34456", "00-1-212-555-7777"], "phone_kinds": ["mobile", "fax"],
        "birthday": "1980-05-21",
    },
    "John_Doe_BLACK_BERRY.vcf": {
        "full_name": "John Doe", "last_name": "Doe", "first_name": "john", "company": "Acme Solutions",
        "phones": ["+96123456789"], "phone_kinds": ["mobile"], "note": None,
    },
    "outlook-2003.vcf": {
        "full_name": "John Doe III", "company": "Company, The", "department": "TheDepartment",
        "job_title": "The Job Title", "birthday": "1980-03-21", "emails": ["jdoe@hotmail.com"],
        "phones": ["BusinessPhone", "HomePhone", "MobilePhone", "BusinessFaxPhone"],
        "phone_kinds": ["work", "home", "mobile", "fax"],
        "note": "This is the note field!!\nSecond line\n\nThird line is empty",
        "address": "123 Main St, TheOffice, Austin, TX, 12345, United States of America",
    },
    "outlook-2007.vcf": {
        "full_name": "Mr. Michael Angstadt Jr.", "company": "TheCompany", "birthday": "1922-03-10",
        "emails": ["mike.angstadt@gmail.com"], "phone_kinds": ["work", "home", "mobile", "fax"],
        "note": "This is the NOTE field\t\nI assume it encodes this text inside a NOTE vCard type.\n"
                "But I'm not sure because there's text formatting going on here.\nIt does not preserve the formatting",
    },
    "quopri-encoding-test.vcf": {
        "full_name": "Firstnamer Test", "phones": ["+15554441234"], "phone_kinds": ["home"],
        "note": "1 St. Albans Brook apt 5 \n\n\nReid’s place :\n364 3rd St. in Jersey City",
    },
    "rfc6350-example.vcf": {
        "full_name": "Simon Perreault", "gender": "male", "birthday": "--0203", "company": "Viagenie",
        "phones": ["+1-418-656-9254 ext. 102", "+1-418-262-6501"], "phone_kinds": ["work", "mobile"],
        "emails": ["simon.perreault@viagenie.ca"], "email_kinds": ["work"], "website": "http://nomis80.org",
        "address": "2875 Laurier, Suite D2-630, Quebec, QC, G1V 2M2, Canada",
    },
    "thunderbird-MoreFunctionsForAddressBook-extension.vcf": {
        "full_name": "John Doe", "company": "TheOrganization", "department": "TheDepartment",
        "job_title": "TheTitle", "phone_kinds": ["work", "home", "mobile", "fax", "pager"],
        "emails": ["doe.john@hotmail.com", "additional-email@company.com", "additional-email1@company.com",
                   "additional-email2@company.com", "additional-email3@company.com"],
        "note": 'This is the notes field.\nSecond Line\n\nFourth Line\nYou can put anything in the "note" field; '
                "even curse words.",
    },
    "fullcontact.vcf": {
        "last_name": "LastName", "first_name": "FirstName", "middle_name": "MiddleName", "gender": "male",
        "company": "Organization1", "department": "Department1", "job_title": "Title1", "birthday": "2016-08-01",
        "emails": ["home@example.com", "work@example.com", "school@example.com", "other@example.com",
                   "custom@example.com"], "email_kinds": ["home", "work", "other", "other", "other"],
        "phone_kinds": ["home", "work", "mobile", "mobile", "other", "fax", "fax", "other", "other"],
        "note": "Notes line 1\nNotes line 2", "city": "HomeCity",
    },
    "issue114.vcf": {
        "full_name": "Dummy, Dummy", "company": "Dummy GmbH", "phones": ["+49 1234 56789", "+49 9876 54321"],
        "phone_kinds": ["mobile", "work"], "emails": ["dummy.dummy@dummy.com"], "city": "Bad Homburg",
        "source_key": "8b574c60-fd7f-4e99-b584-c5db131ae687",
    },
    "gmail-single.vcf": {
        "full_name": "Greg Dartmouth", "company": "TheCompany", "job_title": "TheJobTitle",
        "birthday": "1960-09-10", "phones": ["555 555 1111", "555 555 2222"], "phone_kinds": ["mobile", "other"],
        "emails": ["gdartmouth@hotmail.com"], "address": "123 Home St, Home City, HM 12345",
        "website": "http://TheProfile.com",
    },
}


@pytest.mark.parametrize("name", sorted(JOHN_DOE))
def test_single_card_files_read_their_values(name):
    frame, _ = read_all(VCARD_DIR / name)
    record = row(frame, 1)
    for field, value in JOHN_DOE[name].items():
        assert record[field] == value, field


def test_iphone_export_with_cr_cr_lf_labels_and_a_photo():
    frame, result = read_all(VCARD_DIR / "John_Doe_IPHONE.vcf")
    assert b"\r\r\n" in (VCARD_DIR / "John_Doe_IPHONE.vcf").read_bytes()
    assert result.profile == "iphone"
    record = row(frame, 1)
    more = extra(record)
    assert more["photo"] is True and more["nickname"] == "Johny"
    assert more["other_addresses"] == ["work: Street4, Building 6, Floor 8, New York, 12345, USA"]
    photo = [p for p in json.loads(record["raw"]) if p[0] == "PHOTO"]
    assert photo == [["PHOTO", {"ENCODING": ["b"], "TYPE": ["JPEG"]}, None]]


def test_android_two_one_with_quoted_printable_soft_breaks():
    frame, result = read_all(VCARD_DIR / "John_Doe_ANDROID.vcf")
    assert result.profile == "android" and result.encoding == "utf-8"
    assert [r["emails"] for r in frame.head(2).to_dicts()] == [["john.doe@company.com"], ["jane.doe@company.com"]]
    # "=C3=91=20" repeated, continued after "=" soft breaks on lines without a leading space.
    assert row(frame, 4)["last_name"] == " ".join(["Ñ"] * 11)
    assert row(frame, 4)["phones"] == ["123456", "234567", "3456789", "45678901"]
    assert row(frame, 4)["phone_kinds"] == ["mobile", "home", "mobile", "home"]
    bob = row(frame, 5)
    assert bob["emails"][0] == "bob@company.com" and bob["email_kinds"][0] == "work"
    assert bob["phone_kinds"] == ["mobile", "work", "fax"]
    assert extra(bob)["photo"] is True
    assert bob["company"] == "Ñ" * 12
    # Card 6: an ORG whose QP ends in "=80", not UTF-8: kept, the bad byte replaced, the card flagged.
    henry = row(frame, 6)
    assert henry["company"] == "Ñ" * 44 and henry["emails"] == ["henry@company.com"]
    assert "undecodable_bytes" in henry["flags"]
    assert extra(henry)["other_orgs"][0].endswith("Ñ\ufffd")


def test_outlook_keeps_leftovers_in_extra_and_skips_the_key_and_photo():
    frame, result = read_all(VCARD_DIR / "outlook-2007.vcf")
    assert result.profile == "outlook"
    record = row(frame, 1)
    more = extra(record)
    assert more["key"] is True and more["photo"] is True
    assert more["role"] == "TheProfession" and more["nickname"] == "Mike"
    assert more["x-ms-imaddress"] == "im@aim.com" and more["x-ms-tel"] == "(111) 555-4444"
    assert "label" not in more  # the printed form of the ADR already read
    assert "x-ms-ol-design" not in more
    frame, _ = read_all(VCARD_DIR / "outlook-2003.vcf")
    assert extra(row(frame, 1))["key"] is True  # a KEY indented by four spaces, then blank lines
    assert "MIIDITCCAoqgAwIBAgIQT52W2" not in row(frame, 1)["raw"]


def test_google_and_apple_leftovers():
    frame, result = read_all(VCARD_DIR / "gmail-single.vcf")
    assert result.profile == "google"
    more = extra(row(frame, 1))
    assert more["x-phonetic-first-name"] == "Grregg" and more["x-phonetic-last-name"] == "Dart-mowth"
    assert more["x-abrelatednames"] == ["MySpouse (Spouse)", "MyCustom (CustomRelationship)"]
    assert more["phone_labels"] == {"555 555 2222": "GRAND_CENTRAL"}
    assert more["other_addresses"] == ["321 Custom St, Custom City, TX, 98765, USA"]
    frame, _ = read_all(VCARD_DIR / "fullcontact.vcf")
    more = extra(row(frame, 1))
    assert more["impp"][:2] == ["xmpp:gtalk", "skype:skype"]
    assert more["photo"][0] == "https://d3m0kzytmr41b1.cloudfront.net/c335e945d1b60edd9d75eb4837c432f637e95c8a"
    assert more["other_orgs"] == ["Organization2, Department2"] and more["other_titles"] == ["Title2"]
    frame, _ = read_all(VCARD_DIR / "John_Doe_LOTUS_NOTES.vcf")
    more = extra(row(frame, 1))
    assert more["nickname"] == "Johny,JayJay" and more["role"] == "Counting Money"
    assert "profile" not in more and "class" not in more


def test_rfc_examples_lowercase_begin_and_folded_addresses():
    frame, _ = read_all(VCARD_DIR / "rfc2426-example.vcf")
    dawson, howes = row(frame, 1), row(frame, 2)
    assert (dawson["full_name"], dawson["company"]) == ("Frank Dawson", "Lotus Development Corporation")
    assert dawson["address"] == "6544 Battleford Drive, Raleigh, NC, 27613-3502, U.S.A."
    assert dawson["phone_kinds"] == ["work", "fax"]
    assert dawson["emails"] == ["Frank_Dawson@Lotus.com", "fdawson@earthlink.net"]
    assert howes["line"] == 13 and howes["city"] == "Mountain View"
    assert howes["phones"] == ["+1-415-937-3419", "+1-415-528-4164"]
    frame, _ = read_all(VCARD_DIR / "rfc6350-example.vcf")
    more = extra(row(frame, 1))
    assert more["key"] == "http://www.viagenie.ca/simon.perreault/simon.asc"  # a link, not a blob
    assert more["lang"] == ["fr", "en"]


def test_gmail_list_three_contacts():
    frame, _ = read_all(VCARD_DIR / "gmail-list.vcf")
    assert frame.select("full_name", "emails").rows() == [
        ("Arnold Smith", ["asmithk@gmail.com"]),
        ("Chris Beatle", ["chrisy55d@yahoo.com"]),
        ("Doug White", ["dwhite@gmail.com"]),
    ]
    assert set(frame.get_column("entity_hint")) == {"person"}


# --- the project's own phone exports (samples/README.md) ------------------------------------------


def test_android_sample_cyrillic_from_quoted_printable():
    frame, result = read_all(SAMPLES / "vcard" / "android.vcf")
    assert (result.label, result.encoding) == ("vcard/android", "utf-8")
    assert frame.height == 8
    vanya = row(frame, 1)
    assert (vanya["full_name"], vanya["first_name"], vanya["last_name"]) == ("Ваня", "Ваня", None)
    assert vanya["phones"] == ["8 (916) 123-45-67"] and vanya["phone_kinds"] == ["mobile"]
    kuznetsov = row(frame, 2)
    assert (kuznetsov["last_name"], kuznetsov["first_name"]) == ("Кузнецов", "Алексей")
    assert kuznetsov["full_name"] == "Алексей Кузнецов"  # "=D0=BD=" soft break inside the word
    assert kuznetsov["company"] == "ТверьСтройМонтаж" and kuznetsov["entity_hint"] == "person_at_company"
    assert kuznetsov["phones"] == ["+79104445566", "+74822554433"]
    assert kuznetsov["phone_kinds"] == ["mobile", "work"]
    assert kuznetsov["emails"] == ["kuznetsov.ai@tsm-tver.ru"] and kuznetsov["email_kinds"] == ["work"]
    fedorova = row(frame, 5)
    assert fedorova["last_name"] == "Фёдорова"
    assert fedorova["note"] == "жена Сергея Фёдорова, домашний общий"
    assert fedorova["phone_kinds"] == ["mobile", "home"] and fedorova["email_kinds"] == ["home"]
    nikitina = row(frame, 7)
    assert (nikitina["last_name"], nikitina["first_name"], nikitina["middle_name"]) == (
        "Никитина", "Ольга", "Владимировна")
    assert nikitina["note"].endswith("просит звонить после 18:00")
    assert row(frame, 8)["full_name"] == "Сантехник Михалыч"
    assert frame.get_column("line").to_list() == [1, 7, 19, 27, 36, 49, 59, 77]


def test_iphone_sample_labels_department_photo_address():
    frame, result = read_all(SAMPLES / "vcard" / "iphone.vcf")
    assert (result.label, result.encoding) == ("vcard/iphone", "utf-8")
    sokolov = row(frame, 1)
    assert (sokolov["last_name"], sokolov["first_name"], sokolov["company"]) == ("Соколов", "Дмитрий", "ООО Ромашка")
    assert sokolov["job_title"] == "Закупки" and sokolov["emails"] == ["d.sokolov@romashka-msk.ru"]
    assert sokolov["phones"] == ["+7 (916) 765-43-21", "+7 (495) 123-45-67"]
    kuznetsov = row(frame, 2)
    assert kuznetsov["middle_name"] == "Владимирович"
    assert kuznetsov["phones"] == ["+7 903 111-22-33", "8 (495) 640-12-34"]
    assert kuznetsov["phone_kinds"] == ["mobile", "work"]  # item2.X-ABLabel:_$!<Mobile>!$_
    morozova = row(frame, 3)
    assert (morozova["company"], morozova["department"]) == ("Меридиан", "Бухгалтерия")
    assert extra(morozova) == {"photo": True}
    nikitina = row(frame, 4)
    assert nikitina["address"] == "ул. Профсоюзная, д. 56, кв. 18, Москва, 117393, Россия"  # folded inside "кв."
    assert nikitina["city"] == "Москва" and nikitina["company"] is None
    assert row(frame, 5)["phones"] == ["+7 985 600-70-80", "+7 495 777-12-34,215"]
    lebedev = row(frame, 6)
    assert lebedev["first_name"] == "Костя" and lebedev["phone_kinds"] == ["mobile", "work"]  # "раб. (Вектор)"
    assert extra(lebedev)["phone_labels"] == {"+7 495 640-12-34": "раб. (Вектор)"}
    assert any("photo" in n for n in result.notes)


def test_iphone_cr_cr_lf_reads_exactly_like_crlf():
    crlf, _ = read_all(SAMPLES / "vcard" / "iphone.vcf")
    crcrlf, result = read_all(SAMPLES / "vcard" / "iphone_crcrlf.vcf")
    assert b"\r\r\n" in (SAMPLES / "vcard" / "iphone_crcrlf.vcf").read_bytes()
    assert crcrlf.equals(crlf)
    assert result.profile == "iphone"


# --- synthetic edge cases ---------------------------------------------------------------------------


def test_cr_cr_lf_and_qp_soft_breaks_in_cp1251_without_charset(tmp_path):
    name = "Сергей Петрович Кузнецов".encode("cp1251")
    qp = "".join(f"={b:02X}" for b in name)
    folded = qp[:40] + "=\r\r\n" + qp[40:]  # a soft break in the middle of a letter's bytes
    data = (
        "BEGIN:VCARD\r\r\nVERSION:2.1\r\r\n"
        f"FN;ENCODING=QUOTED-PRINTABLE:{folded}\r\r\n"
        "n;quoted-printable:=CA=F3=E7=ED=E5=F6=EE=E2;=D1=E5=F0=E3=E5=E9\r\r\n"
        "TEL;CELL;WORK:+7 916 000-00-01\r\r\n"
        "END:VCARD\r\r\n"
    ).encode("ascii")
    frame, result = read_all(write(tmp_path, "tb.vcf", data))
    record = row(frame, 1)
    assert record["full_name"] == "Сергей Петрович Кузнецов"
    assert (record["last_name"], record["first_name"]) == ("Кузнецов", "Сергей")
    assert record["phone_kinds"] == ["mobile"]  # bare 2.1 params: CELL wins over WORK
    assert result.encoding == "cp1251"
    assert any("read as cp1251" in n for n in result.notes)


def test_declared_charset_and_raw_cp1251_file(tmp_path):
    data = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=WINDOWS-1251:Смирнова;Мария;Александровна\r\n"
        "ORG:ООО «Ромашка»;Бухгалтерия\r\n"
        "NOTE;CHARSET=windows-1251;ENCODING=QUOTED-PRINTABLE:=E3=EB=E0=E2=ED=FB=E9 =E1=F3=F5=E3=E0=EB=F2=E5=F0\r\n"
        "END:VCARD\r\n"
    ).encode("cp1251")
    frame, result = read_all(write(tmp_path, "ansi.vcf", data))
    record = row(frame, 1)
    assert (record["last_name"], record["first_name"], record["middle_name"]) == ("Смирнова", "Мария", "Александровна")
    assert (record["company"], record["department"]) == ("ООО «Ромашка»", "Бухгалтерия")
    assert record["note"] == "главный бухгалтер"
    assert result.encoding == "cp1251"


def test_utf16_with_bom_and_cr_only_line_ends(tmp_path):
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ольга Никитина\r\nEMAIL:olga@x.ru\r\nEND:VCARD\r\n"
    frame, result = read_all(write(tmp_path, "u16.vcf", text.encode("utf-16")))
    assert row(frame, 1)["full_name"] == "Ольга Никитина" and result.encoding.startswith("utf-16")
    frame, _ = read_all(write(tmp_path, "mac.vcf", text.replace("\r\n", "\r").encode("utf-8")))
    assert row(frame, 1)["emails"] == ["olga@x.ru"]
    frame, _ = read_all(write(tmp_path, "bom.vcf", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert row(frame, 1)["full_name"] == "Ольга Никитина"


def test_rfc_folding_may_split_a_utf8_letter(tmp_path):
    encoded = "NOTE:Позвонить после обеда".encode("utf-8")
    cut = encoded.index("обеда".encode("utf-8")) + 1  # inside "о"
    data = b"BEGIN:VCARD\nVERSION:3.0\nFN:X\n" + encoded[:cut] + b"\n " + encoded[cut:] + b"\nEND:VCARD\n"
    frame, _ = read_all(write(tmp_path, "fold.vcf", data))
    assert row(frame, 1)["note"] == "Позвонить после обеда"


def test_truncated_card_and_begin_inside_a_card(tmp_path):
    data = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Первый\nTEL:111-11-11\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Второй\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Третий\nTEL;TYPE=CELL:+7 903 000-00-03\nEMAIL:tre"
    ).encode("utf-8")
    path = write(tmp_path, "cut.vcf", data)
    frame, result = read_all(path)
    assert frame.height == cards_in(path) == 3
    first, second, third = row(frame, 1), row(frame, 2), row(frame, 3)
    assert (first["full_name"], first["phones"], first["flags"]) == ("Первый", ["111-11-11"], ["card_truncated"])
    assert (second["full_name"], second["flags"]) == ("Второй", [])
    assert third["full_name"] == "Третий" and third["phones"] == ["+7 903 000-00-03"]
    assert third["emails"] == ["tre"] and third["flags"] == ["card_truncated"]
    assert [r["line"] for r in frame.to_dicts()] == [1, 5, 9]
    assert any("2 card(s) cut off" in n for n in result.notes)


def test_line_without_colon_flags_the_card_and_keeps_the_rest(tmp_path):
    data = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Волков Андрей\r\nэто не свойство\r\n"
        "TEL;TYPE=CELL:+7 910 932-10-54\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Лебедев\r\nEND:VCARD\r\n"
    ).encode("utf-8")
    frame, result = read_all(write(tmp_path, "bad.vcf", data))
    volkov = row(frame, 1)
    assert volkov["flags"] == ["card_parse_error"] and "card_parse_error" in ERROR_FLAGS
    assert volkov["full_name"] == "Волков Андрей" and volkov["phones"] == ["+7 910 932-10-54"]
    assert extra(volkov)["unparsed_lines"] == ["это не свойство"]
    assert row(frame, 2)["flags"] == []
    assert any("not properties" in n for n in result.notes)


def test_text_outside_cards_is_ignored_with_a_note(tmp_path):
    data = b"BEGIN:VCARD\nFN:A\nEND:VCARD\nsome trailer\n\nBEGIN:VCARD\nFN:B\nEND:VCARD\n-- end --\n"
    frame, result = read_all(write(tmp_path, "t.vcf", data))
    assert frame.get_column("full_name").to_list() == ["A", "B"]
    assert frame.get_column("line").to_list() == [1, 6]
    assert any("2 line(s) outside" in n for n in result.notes)


def test_a_file_without_any_card_is_an_error(tmp_path):
    path = write(tmp_path, "empty.vcf", b"VERSION:3.0\nFN:Nobody\nEND:VCARD\n")
    with pytest.raises(SourceError, match=r"no vCard \(BEGIN:VCARD\) found"):
        read_vcard(path, ReadOptions())


def test_company_cards(tmp_path):
    data = (
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:ООО «Вектор»\nTEL;TYPE=work:+7 495 640-12-34\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:2.1\nN:;;;;\nFN:ТехноСнаб\nORG:ТехноСнаб\nTEL;WORK:+7 495 777-12-34\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nN:Попова;Наталья;;;\nFN:Наталья Попова\nORG:ТехноСнаб;\nX-ABShowAs:COMPANY\n"
        "END:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nN:Попова;Наталья;;;\nFN:Наталья Попова\nORG:ТехноСнаб;\nEND:VCARD\n"
    ).encode("utf-8")
    frame, _ = read_all(write(tmp_path, "org.vcf", data))
    vector, technosnab, shown_as_company, popova = (row(frame, i) for i in range(1, 5))
    assert (vector["entity_hint"], vector["company"], vector["full_name"]) == ("company", "ООО «Вектор»", None)
    assert (technosnab["entity_hint"], technosnab["company"], technosnab["full_name"]) == (
        "company", "ТехноСнаб", None)
    assert technosnab["phone_kinds"] == ["work"]
    assert (shown_as_company["entity_hint"], shown_as_company["company"]) == ("company", "ТехноСнаб")
    assert (popova["entity_hint"], popova["department"]) == ("person_at_company", None)


def test_iphone_labels_give_kinds(tmp_path):
    data = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.3.1//EN\r\nFN:Кузнецов\r\n"
        "item1.TEL:+7 903 111-22-33\r\nitem1.X-ABLabel:_$!<Mobile>!$_\r\n"
        "item2.TEL:+7 495 640-12-34\r\nitem2.X-ABLabel:_$!<WorkFAX>!$_\r\n"
        "item3.TEL:+7 495 640-00-00\r\nitem3.X-ABLabel:_$!<Home>!$_\r\n"
        "item4.TEL:+7 916 000-00-00\r\nitem4.X-ABLabel:сотовый жены\r\n"
        "item5.TEL:+7 495 111-11-11\r\nitem5.X-ABLabel:_$!<Other>!$_\r\n"
        "TEL;type=WORK;type=VOICE:8 (495) 640-12-34\r\n"
        "item6.EMAIL;type=INTERNET:a@vector-m.ru\r\nitem6.X-ABLabel:_$!<Work>!$_\r\n"
        "item7.EMAIL;type=INTERNET:a@gmail.com\r\nitem7.X-ABLabel:_$!<Home>!$_\r\n"
        "EMAIL;type=INTERNET;type=pref:x@x.ru\r\n"
        "END:VCARD\r\n"
    ).encode("utf-8")
    frame, result = read_all(write(tmp_path, "labels.vcf", data))
    record = row(frame, 1)
    assert record["phone_kinds"] == ["mobile", "fax", "home", "mobile", "other", "work"]
    assert record["email_kinds"] == ["work", "home", "other"]
    assert extra(record) == {"phone_labels": {"+7 916 000-00-00": "сотовый жены"}}
    assert result.profile == "iphone"
    assert result.tables[0].columns["X-ABLABEL"] == "phone_kinds, email_kinds"


def test_folded_photo_is_skipped_in_every_style(tmp_path):
    blob = "/9j/4AAQSkZJRgABAQAAAQABAAD" + "A" * 70
    data = (
        # 3.0: folded with a leading space.
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Один\r\n"
        "PHOTO;ENCODING=b;TYPE=JPEG:" + blob + "\r\n" + "".join(f" {blob}\r\n" for _ in range(50))
        + "TEL:111\r\nEND:VCARD\r\n"
        # 2.1: base64 lines without indentation, ended by a blank line.
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Два\r\nPHOTO;JPEG;ENCODING=BASE64:\r\n"
        + "".join(f"{blob}\r\n" for _ in range(50)) + "\r\nTEL;CELL:222\r\nEND:VCARD\r\n"
        # Outlook's business-card picture, also base64.
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Три\r\nX-MS-CARDPICTURE;TYPE=JPEG;ENCODING=BASE64:\r\n"
        + "".join(f" {blob}\r\n" for _ in range(50)) + "\r\nEMAIL:3@x.ru\r\nEND:VCARD\r\n"
    ).encode("utf-8")
    frame, result = read_all(write(tmp_path, "photo.vcf", data))
    one, two, three = row(frame, 1), row(frame, 2), row(frame, 3)
    assert (one["phones"], two["phones"], three["emails"]) == (["111"], ["222"], ["3@x.ru"])
    assert two["phone_kinds"] == ["mobile"]
    assert extra(one) == {"photo": True} and extra(two) == {"photo": True}
    assert extra(three) == {"x-ms-cardpicture": True}
    for r in (one, two, three):
        assert "/9j/" not in r["raw"] and r["flags"] == []
    assert result.tables[0].columns["PHOTO"] == "extra (content skipped)"
    assert any("3 photo/logo/sound/key" in n for n in result.notes)


def test_escapes_structured_values_and_dates(tmp_path):
    data = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Иванов\\, Иван\nN:Иванов;Иван;Иванович;;\n"
        "ORG:ООО «Ромашка»\\; филиал;Отдел продаж;Группа 2\n"
        "NOTE:Строка 1\\nСтрока 2\\, с запятой\\; и точкой с запятой\\\\\n"
        "ADR;TYPE=work:;;ул. Ленина\\, 1;Тверь;Тверская обл.;170000;Россия\n"
        "ADR;TYPE=home,pref:;;пр. Мира\\, 5;Москва;;129090;\n"
        "BDAY:19800322\nURL:https://romashka.ru\nUID:urn:uuid:1234\nNICKNAME:Ваня\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Без года\nBDAY:--07-21\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Текст\nBDAY;VALUE=text:circa 1980\nNOTE:\nTITLE:  \nEND:VCARD\n"
    ).encode("utf-8")
    frame, _ = read_all(write(tmp_path, "esc.vcf", data))
    ivanov = row(frame, 1)
    assert ivanov["full_name"] == "Иванов, Иван" and ivanov["middle_name"] == "Иванович"
    assert (ivanov["company"], ivanov["department"]) == ("ООО «Ромашка»; филиал", "Отдел продаж")
    assert ivanov["note"] == "Строка 1\nСтрока 2, с запятой; и точкой с запятой\\"
    assert ivanov["address"] == "пр. Мира, 5, Москва, 129090" and ivanov["city"] == "Москва"  # the preferred one
    assert ivanov["birthday"] == "1980-03-22" and ivanov["website"] == "https://romashka.ru"
    assert ivanov["source_key"] == "urn:uuid:1234"
    more = extra(ivanov)
    assert more["other_addresses"] == ["work: ул. Ленина, 1, Тверь, Тверская обл., 170000, Россия"]
    assert more["org_units"] == ["Группа 2"] and more["nickname"] == "Ваня"
    assert row(frame, 2)["birthday"] == "--07-21"
    text = row(frame, 3)
    assert (text["birthday"], text["note"], text["job_title"]) == ("circa 1980", None, None)
    raw = json.loads(ivanov["raw"])
    assert ["UID", {}, "urn:uuid:1234"] in raw


def test_progress_reaches_the_end_of_the_file(tmp_path):
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Клиент {i}\r\nTEL:+7 900 000-{i:04d}\r\nEND:VCARD\r\n"
    data = "".join(card.format(i=i) for i in range(1, 2501)).encode("utf-8")
    path = write(tmp_path, "big.vcf", data)
    seen = []
    result = read_vcard(path, ReadOptions(), seen.append)
    batches = list(result.batches)
    assert sum(b.height for b in batches) == 2500 and len(batches) == 2
    assert seen == sorted(seen) and seen[-1] == len(data) and len(seen) > 2
    assert batches[1].get_column("source_row")[0] == 2001


def test_load_into_the_workspace(cli, db, tmp_path):
    path = SAMPLES / "vcard" / "android.vcf"
    result = cli("load", path, "--db", db, "--json")
    assert result.code == 0, result.err
    assert result.json()["records_loaded"] == cards_in(path)
    from crmtool.workspace import Workspace

    with Workspace.open(db) as ws:
        assert ws.scalar("SELECT count(*) FROM records") == cards_in(path) == 8
        assert ws.scalar("SELECT count(*) FROM raw_records") == 8
        src = ws.fetch_dicts("SELECT format, encoding, rows, mapping FROM sources")[0]
        assert (src["format"], src["encoding"], src["rows"]) == ("vcard/android", "utf-8", 8)
        assert json.loads(src["mapping"])["tables"][0]["columns"]["TEL"] == "phones"
        names = ws.fetch_dicts("SELECT last_name, phones FROM records WHERE source_row = 2")[0]
        assert names == {"last_name": "Кузнецов", "phones": ["+79104445566", "+74822554433"]}


def test_load_paths_counts_flagged_and_rejected_cards(ws, tmp_path):
    data = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:A\nбез двоеточия\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:B\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:C\n"
    ).encode("utf-8")
    summary = load_paths(ws, [write(tmp_path, "flags.vcf", data)])
    outcome = summary.outcomes[0]
    assert (outcome.status, outcome.rows, outcome.rejected, outcome.flagged) == ("loaded", 3, 1, 2)
    assert ws.scalar("SELECT count(*) FROM records") == 3
