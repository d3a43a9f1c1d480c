"""Write crmtool's demo/test sample files (and samples/README.md).

    .venv/bin/python samples/make_samples.py

A fictional Moscow/Tver client base: 14 people, 6 companies (plus one look-alike
company, the manager who owns the base, and one noise contact). Every person is
spread over 2-4 files with the variations real exports have, so the demo has
duplicates to find and look-alikes it must not merge.

Deterministic: no randomness, no clock. The xlsx files are re-zipped with fixed
timestamps so that re-running gives byte-identical output.

Layout of this file: checksum helpers, the cast, one data table per output file
(each record tagged with the cast keys it belongs to), one writer per format,
then main() which writes everything and the README with the ground-truth table.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import struct
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

OUT = Path(__file__).resolve().parent
EXPORT_DATE = dt.date(2024, 3, 14)
FIXED_TIME = dt.datetime(2024, 3, 14, 10, 15, 0)


# --------------------------------------------------------------------------- #
# Checksums of Russian requisites                                             #
# --------------------------------------------------------------------------- #

def _check(digits: str, weights: list[int]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights)) % 11 % 10)


def inn10(first9: str) -> str:
    """ИНН of a legal entity: 9 digits + check digit."""
    assert len(first9) == 9
    return first9 + _check(first9, [2, 4, 10, 3, 5, 9, 4, 6, 8])


def inn12(first10: str) -> str:
    """ИНН of a person / ИП: 10 digits + two check digits."""
    assert len(first10) == 10
    eleven = first10 + _check(first10, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
    return eleven + _check(eleven, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])


def ogrn13(first12: str) -> str:
    """ОГРН: 12 digits + (number mod 11) mod 10."""
    assert len(first12) == 12
    return first12 + str(int(first12) % 11 % 10)


def ogrnip15(first14: str) -> str:
    """ОГРНИП: 14 digits + (number mod 13) mod 10.

    Pick digits whose remainder is below 10: some validators (python-stdnum)
    compare the whole remainder, and then both readings agree.
    """
    assert len(first14) == 14 and int(first14) % 13 < 10
    return first14 + str(int(first14) % 13 % 10)


def kpp(inn: str) -> str:
    """КПП of a head office registered where its ИНН was issued."""
    return inn[:4] + "01001"


def guid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "crmtool-sample:" + key))


# --------------------------------------------------------------------------- #
# The cast (ground truth)                                                     #
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class Company:
    key: str
    name: str            # how the company calls itself
    full: str            # official name
    city: str
    inn: str
    kpp: str
    ogrn: str
    phone: str           # switchboard
    email: str
    address: tuple       # (индекс, регион, город, улица, дом, корпус, квартира/офис)
    note: str = ""


@dataclass(frozen=True)
class Person:
    key: str
    name: str            # Фамилия Имя Отчество
    company: str         # company key or ""
    mobile: str
    email: str
    note: str = ""


INN = {  # first digits = the tax office (7714 Москва, 6950/6952 Тверь); check digits computed
    "romashka": inn10("771412345"), "vector": inn10("772845678"), "tsm": inn10("695012003"),
    "meridian": inn10("695203344"), "technosnab": inn10("771956780"), "petrov_ip": inn12("6950123456"),
    "romashka_tver": inn10("695207788"),
}
COMPANIES = [
    Company("romashka", "ООО «Ромашка»", 'Общество с ограниченной ответственностью "Ромашка"', "Москва",
            INN["romashka"], kpp(INN["romashka"]), ogrn13("115774612345"),
            "+7 495 123-45-67", "info@romashka-msk.ru",
            ("125047", "Москва г", "Москва г", "Лесная ул", "12", "", "офис 304"),
            "switchboard +7 495 123-45-67 shared by Иванов (доб. 123), Смирнова, Соколов"),
    Company("vector", "ООО «Вектор»", 'Общество с ограниченной ответственностью "Вектор"', "Москва",
            INN["vector"], kpp(INN["vector"]), ogrn13("118774654321"),
            "+7 495 640-12-34", "office@vector-m.ru",
            ("117218", "Москва г", "Москва г", "Кржижановского ул", "14", "3", ""),
            "switchboard +7 495 640-12-34 shared by Кузнецов А.В. and Лебедев"),
    Company("tsm", "АО «ТверьСтройМонтаж»", 'Акционерное общество "ТверьСтройМонтаж"', "Тверь",
            INN["tsm"], kpp(INN["tsm"]), ogrn13("109695200417"),
            "+7 4822 55-44-33", "info@tsm-tver.ru",
            ("170100", "Тверская обл", "Тверь г", "Советская ул", "45", "", "офис 2"),
            "switchboard +7 4822 55-44-33 shared by Кузнецов А.И. and Волков"),
    Company("meridian", "ООО «Меридиан»", 'Общество с ограниченной ответственностью "Меридиан"', "Тверь",
            INN["meridian"], kpp(INN["meridian"]), ogrn13("116695201122"),
            "+7 4822 77-88-99", "office@meridian-tver.ru",
            ("170008", "Тверская обл", "Тверь г", "Фадеева ул", "8", "", ""),
            "switchboard +7 4822 77-88-99 shared by Григорьев and Морозова"),
    Company("technosnab", "ООО «ТехноСнаб»", 'Общество с ограниченной ответственностью "ТехноСнаб"', "Москва",
            INN["technosnab"], kpp(INN["technosnab"]), ogrn13("120774604711"),
            "+7 495 777-12-34", "sales@technosnab.ru",
            ("129626", "Москва г", "Москва г", "Мира пр-кт", "102", "1", ""),
            "Попова's work phone is the switchboard with extension 215"),
    Company("petrov_ip", "ИП Петров П.П.", "Индивидуальный предприниматель Петров Пётр Петрович", "Тверь",
            INN["petrov_ip"], "", ogrnip15("31669520001245"),
            "+7 920 555-66-77", "petrov.pp@yandex.ru",
            ("170023", "Тверская обл", "Тверь г", "Коминтерна ул", "95", "", "41"),
            "ИП: 12-digit ИНН, no КПП, ОГРНИП; its owner is the person Петров (petrov)"),
    # Not one of the six: same trade name as romashka, different legal entity.
    Company("romashka_tver", "ООО «Ромашка» (Тверь)", 'Общество с ограниченной ответственностью "Ромашка"', "Тверь",
            INN["romashka_tver"], kpp(INN["romashka_tver"]), ogrn13("121695200789"),
            "+7 4822 41-20-20", "romashka.tver@mail.ru",
            ("170001", "Тверская обл", "Тверь г", "Калинина пр-кт", "17", "", ""),
            "LOOK-ALIKE: same name as romashka, different ИНН/city; never merge with romashka"),
]
CO = {c.key: c for c in COMPANIES}

PEOPLE = [
    Person("ivanov", "Иванов Иван Иванович", "romashka", "+7 916 123-45-67", "ivanov@mail.ru",
           "коммерческий директор; work = switchboard доб. 123"),
    Person("smirnova", "Смирнова Мария Александровна", "romashka", "+7 926 210-11-22", "m.smirnova@romashka-msk.ru",
           "главный бухгалтер; also buh@romashka-msk.ru"),
    Person("sokolov", "Соколов Дмитрий Андреевич", "romashka", "+7 916 765-43-21", "d.sokolov@romashka-msk.ru",
           "менеджер по закупкам"),
    Person("kuznetsov_av", "Кузнецов Алексей Владимирович", "vector", "+7 903 111-22-33", "a.kuznetsov@vector-m.ru",
           "директор «Вектора» (Москва); NOT kuznetsov_ai"),
    Person("lebedev", "Лебедев Константин Олегович", "vector", "+7 926 333-44-55", "lebedev@vector-m.ru",
           "руководитель проектов; private k.lebedev@gmail.com"),
    Person("kuznetsov_ai", "Кузнецов Алексей Игоревич", "tsm", "+7 910 444-55-66", "kuznetsov.ai@tsm-tver.ru",
           "инженер по снабжению (Тверь); NOT kuznetsov_av"),
    Person("volkov", "Волков Андрей Николаевич", "tsm", "+7 910 932-10-54", "volkov@tsm-tver.ru",
           "начальник участка"),
    Person("fedorov", "Фёдоров Сергей Николаевич", "meridian", "+7 915 700-12-34", "fedorov.sn@meridian-tver.ru",
           "зам. директора; home +7 4822 35-67-89 shared with his wife fedorova; private s.fedorov@yandex.ru"),
    Person("fedorova", "Фёдорова Елена Викторовна", "", "+7 915 700-56-78", "elena.fedorova@mail.ru",
           "private client (1C физ. лицо); wife of fedorov, same home phone; NOT fedorov"),
    Person("grigoriev", "Григорьев Павел Сергеевич", "meridian", "+7 916 120-34-56", "grigoriev@meridian-tver.ru",
           "генеральный директор; his mobile lost its digits in the Excel base"),
    Person("morozova", "Морозова Татьяна Игоревна", "meridian", "+7 915 234-56-78", "morozova@meridian-tver.ru",
           "главный бухгалтер"),
    Person("petrov", "Петров Пётр Петрович", "petrov_ip", "+7 920 555-66-77", "petrov.pp@yandex.ru",
           "owner of ИП Петров П.П. (petrov_ip)"),
    Person("popova", "Попова Наталья Олеговна", "technosnab", "+7 985 600-70-80", "popova@technosnab.ru",
           "менеджер; work +7 495 777-12-34 доб. 215"),
    Person("nikitina", "Никитина Ольга Владимировна", "", "+7 985 777-88-99", "olga.nikitina@gmail.com",
           "private client, no company"),
    # Not clients:
    Person("manager", "Иванова Анна Сергеевна", "", "", "a.ivanova@td-alliance.ru",
           "the MANAGER who owns the Excel base (ТД «Альянс», our side): an owner value, not a client; "
           "NOT ivanov despite the surname"),
    Person("noise", "«Сантехник Михалыч»", "", "+7 903 000-12-12", "",
           "phone-book noise, not a client; appears once"),
]
PE = {p.key: p for p in PEOPLE}
CLIENTS = [p.key for p in PEOPLE if p.key not in ("manager", "noise")]


# --------------------------------------------------------------------------- #
# Data tables, one per output file. Each record is (who, data): `who` names   #
# the cast keys (people and companies) the record belongs to.                 #
# --------------------------------------------------------------------------- #

BLANK = ((), None)  # an empty row in a sheet

# 1. excel/manager_ivanova.xlsx ------------------------------------------------
EXCEL_TITLE = "Клиенты менеджера Ивановой А.С."
EXCEL_DATE_LINE = "Выгрузка от 14.03.2024"
EXCEL_HEADER = ["ФИО", "Компания", "Должность", "Телефон", "Моб. тел.", "E-mail", "Город",
                "Дата рождения", "Ответственный", "Комментарий"]
EXCEL_ROWS = [
    (("ivanov", "romashka"),
     ["Иванов Иван Иванович", "ООО «Ромашка»", "Коммерческий директор", "8 (495) 123-45-67 доб. 123",
      79161234567, "IVANOV@MAIL.RU", "Москва", dt.date(1978, 3, 15), "Иванова А.С.", "Ключевой клиент, ЛПР"]),
    (("smirnova", "romashka"),
     ["Смирнова Мария", "Ромашка, ООО", "Гл. бухгалтер", "8 (495) 123-45-67", "+7 926 210-11-22",
      "buh@romashka-msk.ru", "Москва", None, "Иванова А.С.", "Акты сверки раз в квартал"]),
    (("sokolov", "romashka"),
     ["Соколов Дмитрий Андреевич", "ООО Ромашка", "Менеджер по закупкам", "8 495 123-45-67, 8 916 765-43-21",
      None, "d.sokolov@romashka-msk.ru", "Москва", None, "Иванова А.С.", None]),
    (("kuznetsov_av", "vector"),
     ["Кузнецов Алексей Владимирович", 'ООО "Вектор"', "Директор", "8 (495) 640-12-34", "+7 903 111-22-33",
      "a.kuznetsov@vector-m.ru", "Москва", None, "Иванова А.С.", None]),
    (("kuznetsov_ai", "tsm"),
     ["Кузнецов Алексей", "АО «ТверьСтройМонтаж»", "Инженер по снабжению", "(4822) 55-44-33", 89104445566,
      "kuznetsov.ai@tsm-tver.ru", "Тверь", "05.11.1985", "Орлов М.В.", "Передан от Орлова"]),
    (("fedorov", "meridian"),
     ["Федоров Сергей Николаевич", "ООО «Меридиан»", "Зам. директора", "8 (4822) 35-67-89", "+7 915 700-12-34",
      "fedorov.sn@meridian-tver.ru", "Тверь", dt.date(1975, 7, 21), "Иванова А.С.", "Телефон домашний"]),
    BLANK,
    (("petrov", "petrov_ip"),
     ["Петров П.П.", "ИП Петров", "Владелец", None, 9205556677, "petrov.pp@yandex.ru", "Тверь", None,
      "Иванова А.С.", "Пиломатериалы, оплата по счёту"]),
    (("grigoriev", "meridian"),
     ["Григорьев Павел Сергеевич", "Меридиан", "Генеральный директор", "8 (4822) 77-88-99", "7,91612E+10",
      "grigoriev@meridian-tver.ru", "Тверь", None, "Иванова А.С.", None]),
    (("morozova", "meridian"),
     [" Морозова  Татьяна ", "ООО «Меридиан»", "Главный бухгалтер", "8 (4822) 77-88-99", "+7(915)2345678",
      "morozova@meridian-tver.ru", "Тверь", None, "Иванова А.С.", None]),
    (("lebedev", "vector"),
     ["Лебедев Константин", "ООО Вектор", "Руководитель проектов", "8 (495) 640-12-34", "8-926-333-44-55",
      "lebedev@vector-m", "Москва", None, "Иванова А.С.", None]),
    (("nikitina",),
     ["Никитина Ольга Владимировна", None, None, None, 79857778899, "olga.nikitina@gmail.com", "Москва", None,
      "Иванова А.С.", "Частный клиент, заказывала дважды"]),
    (("note",),
     [None, None, None, None, None, None, None, None, None, "Звонил мужчина из Твери, номер не оставил"]),
]

ARCHIVE_HEADER = ["Клиент", "Тел.", "Почта", "Организация"]
ARCHIVE_ROWS = [
    (("ivanov", "romashka"), ["Иванов И.И.", "916-123-45-67", "ivanov@mail.ry", "Ромашка"]),
    (("popova", "technosnab"), ["Попова Наталья", "8 (495) 777-12-34 доб. 215", "popova@technosnab.ru",
                                "ООО «ТехноСнаб»"]),
    (("kuznetsov_av", "vector"), ["Кузнецов А.", "+7(903)111-22-33", None, "Вектор"]),
    (("volkov", "tsm"), ["Волков А.Н.", "8(4822)55-44-33", "volkov@tsm-tver.ru", "ТСМ"]),
]

REFERENCE_HEADER = ["Город", "Код города", "Регион", "Доставка, дней"]
REFERENCE_ROWS = [
    ["Москва", "495", "Москва", 1],
    ["Тверь", "4822", "Тверская обл.", 2],
    ["Клин", "49624", "Московская обл.", 2],
    ["Конаково", "48242", "Тверская обл.", 3],
    ["Ржев", "48232", "Тверская обл.", 4],
]

# 2. outlook/outlook_en.csv -----------------------------------------------------
OUTLOOK_EN_HEADER = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business Street 2", "Business Street 3", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home Street 2", "Home Street 3",
    "Home City", "Home State", "Home Postal Code", "Home Country/Region", "Other Street", "Other Street 2",
    "Other Street 3", "Other City", "Other State", "Other Postal Code", "Other Country/Region",
    "Assistant's Phone", "Business Fax", "Business Phone", "Business Phone 2", "Callback", "Car Phone",
    "Company Main Phone", "Home Fax", "Home Phone", "Home Phone 2", "ISDN", "Mobile Phone", "Other Fax",
    "Other Phone", "Pager", "Primary Phone", "Radio Phone", "TTY/TDD Phone", "Telex", "Account",
    "Anniversary", "Assistant's Name", "Billing Information", "Birthday", "Business Address PO Box",
    "Categories", "Children", "Directory Server", "E-mail Address", "E-mail Type", "E-mail Display Name",
    "E-mail 2 Address", "E-mail 2 Type", "E-mail 2 Display Name", "E-mail 3 Address", "E-mail 3 Type",
    "E-mail 3 Display Name", "Gender", "Government ID Number", "Hobby", "Home Address PO Box", "Initials",
    "Internet Free Busy", "Keywords", "Language", "Location", "Manager's Name", "Mileage", "Notes",
    "Office Location", "Organizational ID Number", "Other Address PO Box", "Priority", "Private",
    "Profession", "Referred By", "Sensitivity", "Spouse", "User 1", "User 2", "User 3", "User 4", "Web Page",
]
OUTLOOK_EN_DEFAULTS = {"Anniversary": "0/0/00", "Birthday": "0/0/00", "Gender": "Unspecified",
                       "Priority": "Normal", "Private": "False", "Sensitivity": "Normal"}
OUTLOOK_EN_ROWS = [
    (("ivanov", "romashka"), {
        "First Name": "Ivan", "Last Name": "Ivanov", "Company": "Romashka LLC", "Job Title": "Commercial Director",
        "Business City": "Moscow", "Business Country/Region": "Russia",
        "Business Phone": "+7 (495) 123-45-67", "Mobile Phone": "+7 916 1234567",
        "Birthday": "3/15/1978", "E-mail Address": "ivanov@mail.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Ivan Ivanov (ivanov@mail.ru)", "Initials": "I.I.",
        "Notes": "Met at the Expo, March 2023.\r\nPrefers WhatsApp; no calls before 11:00.\r\n"
                 "Decides on all Romashka orders.",
        "Categories": "Clients"}),
    (("kuznetsov_av", "vector"), {
        "First Name": "Alexey", "Last Name": "Kuznetsov", "Company": "Vector LLC", "Job Title": "Director",
        "Business City": "Moscow", "Business Phone": "+7 (495) 640-12-34", "Mobile Phone": "+79031112233",
        "E-mail Address": "A.Kuznetsov@vector-m.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Alexey Kuznetsov (A.Kuznetsov@vector-m.ru)", "Initials": "A.K."}),
    (("lebedev", "vector"), {
        "First Name": "Konstantin", "Last Name": "Lebedev", "Company": "Vektor", "Job Title": "Project Manager",
        "Business Phone": "+7 495 6401234", "Mobile Phone": "+7 926 333 44 55",
        "E-mail Address": "lebedev@vector-m.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Konstantin Lebedev (lebedev@vector-m.ru)", "Initials": "K.L."}),
    (("popova", "technosnab"), {
        "First Name": "Наталья", "Last Name": "Попова", "Company": "ТехноСнаб", "Job Title": "Менеджер",
        "Business Phone": "+7 (495) 777-12-34 x215", "Mobile Phone": "+7 985 600 70 80",
        "E-mail Address": "popova@technosnab.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Наталья Попова (popova@technosnab.ru)", "Initials": "Н.П."}),
    (("sokolov", "romashka"), {
        "First Name": "Дмитрий", "Middle Name": "Андреевич", "Last Name": "Соколов", "Company": "ООО «Ромашка»",
        "Job Title": "Менеджер по закупкам", "Business City": "Москва",
        "Business Phone": "+7 (495) 123-45-67", "Mobile Phone": "+7 (916) 765-43-21",
        "E-mail Address": "d.sokolov@romashka-msk.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Дмитрий Соколов (d.sokolov@romashka-msk.ru)", "Initials": "Д.А.С.",
        "Categories": "Клиенты"}),
    (("morozova", "meridian"), {
        "First Name": "Tatiana", "Last Name": "Morozova", "Company": "Meridian", "Job Title": "Chief Accountant",
        "Business City": "Tver", "Business Phone": "+7 4822 778899", "Mobile Phone": "+7 915 234-56-78",
        "E-mail Address": "morozova@meridian-tver.ru", "E-mail Type": "SMTP",
        "E-mail Display Name": "Tatiana Morozova (morozova@meridian-tver.ru)", "Initials": "T.M."}),
]

# 3. outlook/outlook_ru.csv -----------------------------------------------------
OUTLOOK_RU_HEADER = [
    "Обращение", "Имя", "Отчество", "Фамилия", "Суффикс", "Организация", "Отдел", "Должность",
    "Улица (раб. адрес)", "Улица 2 (раб. адрес)", "Улица 3 (раб. адрес)", "Город (раб. адрес)",
    "Область (раб. адрес)", "Индекс (раб. адрес)", "Страна или регион (раб. адрес)", "Улица (дом. адрес)",
    "Улица 2 (дом. адрес)", "Улица 3 (дом. адрес)", "Город (дом. адрес)", "Область (дом. адрес)",
    "Почтовый код (дом.)", "Страна или регион (дом. адрес)", "Улица (другой адрес)",
    "Улица  2 (другой адрес)", "Улица  3 (другой адрес)", "Город  (другой адрес)",
    "Область  (другой адрес)", "Индекс  (другой адрес)", "Страна или регион  (другой адрес)",
    "Телефон помощника", "Рабочий факс", "Рабочий телефон", "Телефон раб. 2", "Обратный вызов",
    "Телефон в машине", "Основной телефон организации", "Домашний факс", "Домашний телефон",
    "Телефон дом. 2", "ISDN", "Телефон переносной", "Другой факс", "Другой телефон", "Пейджер",
    "Основной телефон", "Радиотелефон", "Телетайп/телефон с титрами", "Телекс", "Важность",
    "Веб-страница", "Годовщина", "День рождения", "Дети", "Заметки", "Имя помощника", "Инициалы",
    "Категории", "Ключевые слова", "Код организации", "Личный код", "Отложено", "Пол",
    "Пользователь 1", "Пользователь 2", "Пользователь 3", "Пользователь 4", "Пометка",
    "Почтовый ящик (дом. адрес)", "Почтовый ящик (другой адрес)", "Почтовый ящик (раб. адрес)",
    "Профессия", "Расположение", "Расположение комнаты", "Расстояние", "Руководитель",
    "Сведения о доступности в Интернете", "Сервер каталогов", "Супруг(а)", "Счет", "Счета", "Хобби",
    "Частное", "Адрес эл. почты", "Тип эл. почты", "Краткое имя эл. почты", "Адрес 2 эл. почты",
    "Тип 2 эл. почты", "Краткое 2 имя эл. почты", "Адрес 3 эл. почты", "Тип 3 эл. почты",
    "Краткое 3 имя эл. почты", "Язык",
]
OUTLOOK_RU_DEFAULTS = {"Годовщина": "0.0.00", "День рождения": "0.0.00", "Пол": "Не определен",
                       "Важность": "Обычная", "Пометка": "Обычная", "Частное": "Ложь"}
EXCHANGE_DN = ("/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
               "cn=7f3c2a9e41d84b6c9e05d1f2a3b4c5d6-a.ivanova")
OUTLOOK_RU_ROWS = [
    (("smirnova", "romashka"), {
        "Имя": "Мария", "Отчество": "Александровна", "Фамилия": "Смирнова", "Организация": "ООО «Ромашка»",
        "Должность": "Главный бухгалтер", "Город (раб. адрес)": "Москва",
        "Рабочий телефон": "+7 (495) 123-45-67", "Телефон переносной": "+7 (926) 210-11-22",
        "День рождения": "23.08.1985", "Инициалы": "М.А.С.",
        "Адрес эл. почты": "m.smirnova@romashka-msk.ru", "Тип эл. почты": "SMTP",
        "Краткое имя эл. почты": "Мария Смирнова (m.smirnova@romashka-msk.ru)",
        "Адрес 2 эл. почты": "buh@romashka-msk.ru", "Тип 2 эл. почты": "SMTP",
        "Краткое 2 имя эл. почты": "buh@romashka-msk.ru"}),
    (("kuznetsov_ai", "tsm"), {
        "Имя": "Алексей", "Фамилия": "Кузнецов", "Организация": "АО ТверьСтройМонтаж",
        "Должность": "Инженер по снабжению", "Город (раб. адрес)": "Тверь",
        "Рабочий телефон": "(4822) 55-44-33", "Телефон переносной": "8-910-444-55-66", "Инициалы": "А.К.",
        "Адрес эл. почты": "kuznetsov.ai@tsm-tver.ru", "Тип эл. почты": "SMTP",
        "Краткое имя эл. почты": "Алексей Кузнецов (kuznetsov.ai@tsm-tver.ru)"}),
    (("volkov", "tsm"), {
        "Имя": "Андрей", "Отчество": "Николаевич", "Фамилия": "Волков", "Организация": "ТверьСтройМонтаж",
        "Должность": "Начальник участка", "Основной телефон организации": "+7 (4822) 55-44-33",
        "Телефон переносной": "+7 910 932 10 54", "Инициалы": "А.Н.В.",
        "Адрес эл. почты": "volkov@tsm-tver.ru", "Тип эл. почты": "SMTP",
        "Краткое имя эл. почты": "Андрей Волков (volkov@tsm-tver.ru)"}),
    (("fedorova",), {
        "Имя": "Елена", "Фамилия": "Фёдорова", "Город (дом. адрес)": "Тверь",
        "Улица (дом. адрес)": "ул. Советская, д. 12, кв. 5",
        "Домашний телефон": "8 (4822) 35-67-89", "Телефон переносной": "+7 915 700-56-78",
        "Заметки": "Жена С.Н. Фёдорова (Меридиан). Частный заказ.", "Категории": "Частные клиенты",
        "Инициалы": "Е.Ф.", "Адрес эл. почты": "Elena.Fedorova@mail.ru", "Тип эл. почты": "SMTP",
        "Краткое имя эл. почты": "Елена Фёдорова (Elena.Fedorova@mail.ru)"}),
    (("grigoriev", "meridian"), {
        "Имя": "Павел", "Отчество": "Сергеевич", "Фамилия": "Григорьев", "Организация": 'ООО "Меридиан"',
        "Должность": "Генеральный директор", "Город (раб. адрес)": "Тверь",
        "Рабочий телефон": "+7 (4822) 77-88-99", "Телефон переносной": "+7 916 120-34-56",
        "Инициалы": "П.С.Г.", "Адрес эл. почты": "grigoriev@meridian-tver.ru", "Тип эл. почты": "SMTP",
        "Краткое имя эл. почты": "Павел Григорьев (grigoriev@meridian-tver.ru)"}),
    (("manager",), {
        "Имя": "Анна", "Отчество": "Сергеевна", "Фамилия": "Иванова", "Организация": "ТД «Альянс»",
        "Отдел": "Отдел продаж", "Должность": "Менеджер по продажам",
        "Рабочий телефон": "+7 (495) 500-10-20 доб. 104", "Инициалы": "А.С.И.",
        "Адрес эл. почты": EXCHANGE_DN, "Тип эл. почты": "EX",
        "Краткое имя эл. почты": "Иванова Анна Сергеевна"}),
]

# 4. google/google_contacts.csv -------------------------------------------------
GOOGLE_HEADER = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As", "Organization Name",
    "Organization Title", "Organization Department", "Birthday", "Notes", "Photo", "Labels",
    "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value",
    "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value",
    "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City",
    "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country",
    "Address 1 - Extended Address", "Website 1 - Label", "Website 1 - Value",
]
GOOGLE_ROWS = [
    (("sokolov", "romashka"), {
        "First Name": "Дмитрий", "Last Name": "Соколов", "Organization Name": "Ромашка",
        "Organization Title": "закупки", "Labels": "* myContacts ::: Клиенты",
        "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "d.sokolov@romashka-msk.ru",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+79167654321"}),
    (("lebedev", "vector"), {
        "First Name": "Константин", "Last Name": "Лебедев", "Organization Name": "Вектор",
        "Labels": "* myContacts ::: Клиенты",
        "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "lebedev@vector-m.ru",
        "E-mail 2 - Label": "Home", "E-mail 2 - Value": "k.lebedev@gmail.com",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+7 926 333-44-55 ::: 8-926-333-44-55",
        "Phone 2 - Label": "Work", "Phone 2 - Value": "+7 495 640-12-34"}),
    (("fedorov", "meridian"), {
        "First Name": "Сергей", "Middle Name": "Николаевич", "Last Name": "Фёдоров",
        "Organization Name": "Меридиан", "Birthday": "--07-21", "Labels": "* myContacts ::: Тверь",
        "E-mail 1 - Label": "* Home", "E-mail 1 - Value": "s.fedorov@yandex.ru",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+7 915 700-12-34",
        "Phone 2 - Label": "Home", "Phone 2 - Value": "+7 4822 35-67-89",
        "Address 1 - Label": "Home", "Address 1 - Formatted": "ул. Советская, д. 12, кв. 5\nТверь\n170100",
        "Address 1 - Street": "ул. Советская, д. 12, кв. 5", "Address 1 - City": "Тверь",
        "Address 1 - Postal Code": "170100", "Address 1 - Country": "Россия"}),
    (("petrov", "petrov_ip"), {
        "First Name": "Пётр", "Last Name": "Петров", "Organization Name": "ИП Петров",
        "Notes": "Пиломатериалы", "Labels": "* myContacts ::: Тверь",
        "E-mail 1 - Label": "* Other", "E-mail 1 - Value": "petrov.pp@yandex.ru",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "8 920 555 66 77"}),
    (("nikitina",), {
        "First Name": "Оля", "Last Name": "Никитина", "Labels": "* myContacts ::: Частные",
        "E-mail 1 - Label": "* Home", "E-mail 1 - Value": "Olga.Nikitina@gmail.com",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "8 985 777-88-99"}),
    (("grigoriev", "meridian"), {
        "First Name": "Павел", "Last Name": "Григорьев", "Organization Name": "ООО Меридиан",
        "Organization Title": "Генеральный директор", "Labels": "* myContacts ::: Тверь",
        "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "grigoriev@meridian-tver.ru",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+7 916 120-34-56",
        "Phone 2 - Label": "Work", "Phone 2 - Value": "+7 (4822) 77-88-99",
        "Website 1 - Label": "Work", "Website 1 - Value": "http://meridian-tver.ru"}),
]

# 5. vcard/android.vcf (vCard 2.1) ----------------------------------------------
# Properties are (name, value); a list value is a structured one (N, ORG).
# Non-ASCII values are written quoted-printable the way Android does.
ANDROID_CARDS = [
    (("ivanov",), [("N", ["", "Ваня", "", "", ""]), ("FN", "Ваня"), ("TEL;CELL", "8 (916) 123-45-67")]),
    (("kuznetsov_ai", "tsm"), [
        ("N", ["Кузнецов", "Алексей", "", "", ""]), ("FN", "Алексей Кузнецов"),
        ("TEL;CELL", "+79104445566"), ("TEL;WORK", "+74822554433"),
        ("EMAIL;WORK", "kuznetsov.ai@tsm-tver.ru"), ("ORG", ["ТверьСтройМонтаж"])]),
    (("volkov", "tsm"), [
        ("N", ["Волков", "Андрей ТСМ", "", "", ""]), ("FN", "Андрей ТСМ Волков"),
        ("TEL;CELL", "+7 910 932-10-54")]),
    (("fedorov",), [
        ("N", ["Федоров", "Сергей", "", "", ""]), ("FN", "Сергей Федоров"),
        ("TEL;CELL", "+7 915 700-12-34"), ("TEL;HOME", "8 4822 35-67-89")]),
    (("fedorova",), [
        ("N", ["Фёдорова", "Лена", "", "", ""]), ("FN", "Лена Фёдорова"),
        ("TEL;CELL", "8 915 700-56-78"), ("TEL;HOME", "8 (4822) 35-67-89"),
        ("EMAIL;HOME", "elena.fedorova@mail.ru"), ("NOTE", "жена Сергея Фёдорова, домашний общий")]),
    (("smirnova", "romashka"), [
        ("N", ["", "Маша бухгалтер Ромашка", "", "", ""]), ("FN", "Маша бухгалтер Ромашка"),
        ("TEL;WORK", "+74951234567"), ("TEL;CELL", "+7 926 210-11-22"),
        ("EMAIL;WORK", "buh@romashka-msk.ru")]),
    (("nikitina",), [
        ("N", ["Никитина", "Ольга", "Владимировна", "", ""]), ("FN", "Никитина Ольга Владимировна"),
        ("TEL;CELL", "+7 985 777-88-99"), ("EMAIL;HOME", "olga.nikitina@gmail.com"),
        ("NOTE", "Частный клиент, заказывала кухонный гарнитур дважды, просит звонить после 18:00")]),
    (("noise",), [
        ("N", ["", "Сантехник Михалыч", "", "", ""]), ("FN", "Сантехник Михалыч"),
        ("TEL;CELL", "+7 903 000-12-12")]),
]

# 6. vcard/iphone.vcf (vCard 3.0) -----------------------------------------------
# Raw content lines; "{PHOTO}" is replaced by the folded base64 JPEG.
IPHONE_CARDS = [
    (("sokolov", "romashka"), [
        "N:Соколов;Дмитрий;;;", "FN:Дмитрий Соколов", "ORG:ООО Ромашка;", "TITLE:Закупки",
        "item1.EMAIL;type=INTERNET;type=pref:d.sokolov@romashka-msk.ru",
        "TEL;type=CELL;type=VOICE;type=pref:+7 (916) 765-43-21",
        "TEL;type=WORK;type=VOICE:+7 (495) 123-45-67"]),
    (("kuznetsov_av", "vector"), [
        "N:Кузнецов;Алексей;Владимирович;;", "FN:Алексей Владимирович Кузнецов", "ORG:Вектор;",
        "TITLE:Директор", "item1.EMAIL;type=INTERNET;type=pref:a.kuznetsov@vector-m.ru",
        "item2.TEL:+7 903 111-22-33", "item2.X-ABLabel:_$!<Mobile>!$_",
        "TEL;type=WORK;type=VOICE:8 (495) 640-12-34"]),
    (("morozova", "meridian"), [
        "N:Морозова;Татьяна;Игоревна;;", "FN:Татьяна Игоревна Морозова", "ORG:Меридиан;Бухгалтерия",
        "TITLE:Главный бухгалтер", "item1.EMAIL;type=INTERNET;type=pref:morozova@meridian-tver.ru",
        "TEL;type=CELL;type=VOICE;type=pref:+79152345678", "TEL;type=WORK;type=VOICE:+7 (4822) 77-88-99",
        "{PHOTO}"]),
    (("nikitina",), [
        "N:Никитина;Ольга;;;", "FN:Ольга Никитина",
        "item1.EMAIL;type=INTERNET;type=pref:olga.nikitina@gmail.com",
        "TEL;type=CELL;type=VOICE;type=pref:+7 985 777-88-99",
        "item2.ADR;type=HOME;type=pref:;;ул. Профсоюзная\\, д. 56\\, кв. 18;Москва;;117393;Россия",
        "item2.X-ABADR:ru", "NOTE:Частный клиент"]),
    (("popova", "technosnab"), [
        "N:Попова;Наталья;;;", "FN:Наталья Попова", "ORG:Техноснаб;",
        "item1.EMAIL;type=INTERNET;type=pref:popova@technosnab.ru",
        "TEL;type=CELL;type=VOICE;type=pref:+7 985 600-70-80",
        "TEL;type=WORK;type=VOICE:+7 495 777-12-34,215"]),
    (("lebedev", "vector"), [
        "N:Лебедев;Костя;;;", "FN:Костя Лебедев", "ORG:Вектор;",
        "item1.EMAIL;type=INTERNET;type=pref:k.lebedev@gmail.com",
        "item2.TEL:+79263334455", "item2.X-ABLabel:_$!<Mobile>!$_",
        "item3.TEL:+7 495 640-12-34", "item3.X-ABLabel:раб. (Вектор)"]),
]

# 7. 1c/counterparties.xml (CommerceML 2.08) ------------------------------------
# The 2.08 schema has no top-level <Контрагенты>: counterparties live in
# Документ/Контрагенты (what 1C's site exchange sends with orders), each ending
# with <Роль>. True writes that schema-valid shape; False writes the flat
# КоммерческаяИнформация/Контрагенты that some hand-made exports use.
CML_IN_DOCUMENTS = True


@dataclass(frozen=True)
class Rep:
    """Представитель (contact person) of a counterparty."""
    who: str
    name: str                       # Наименование as typed in 1C
    last: str
    first: str
    middle: str
    position: str
    contacts: tuple                 # ((Тип, Значение), ...)


@dataclass(frozen=True)
class Counterparty:
    company: str                    # company key, or "" for a private person
    person: str                     # person key for a private person / ИП owner
    name: str                       # Наименование
    contacts: tuple                 # ((Тип, Значение), ...)
    reps: tuple = ()
    comment: str = ""


CML_COUNTERPARTIES = [
    Counterparty("romashka", "", "Ромашка ООО",
                 (("Телефон рабочий", "+7 (495) 123-45-67"), ("Почта", "info@romashka-msk.ru")),
                 (Rep("ivanov", "Иван Иванов", "Иванов", "Иван", "Иванович", "Коммерческий директор",
                      (("Телефон мобильный", "8 (916) 123-45-67"), ("Почта", "ivanov@mail.ru"))),
                  Rep("smirnova", "Смирнова М.А.", "Смирнова", "Мария", "Александровна", "Главный бухгалтер",
                      (("Телефон рабочий", "+7 495 123-45-67"), ("Почта", "buh@romashka-msk.ru"))))),
    Counterparty("tsm", "", "ТверьСтройМонтаж АО",
                 (("Телефон рабочий", "8 (4822) 55-44-33"), ("Почта", "info@tsm-tver.ru")),
                 (Rep("kuznetsov_ai", "Кузнецов Алексей Игоревич", "Кузнецов", "Алексей", "Игоревич",
                      "Инженер по снабжению", (("Телефон мобильный", "+7 910 444-55-66"),)),
                  Rep("volkov", "Волков Андрей", "Волков", "Андрей", "Николаевич", "Начальник участка",
                      (("Телефон мобильный", "89109321054"), ("Почта", "volkov@tsm-tver.ru"))))),
    Counterparty("meridian", "", "Меридиан ООО",
                 (("Телефон рабочий", "(4822) 77-88-99"), ("Почта", "office@meridian-tver.ru")),
                 (Rep("grigoriev", "Григорьев П.С.", "Григорьев", "Павел", "Сергеевич", "Генеральный директор",
                      (("Телефон мобильный", "+7-916-120-34-56"), ("Почта", "grigoriev@meridian-tver.ru"))),)),
    Counterparty("technosnab", "", "ТехноСнаб ООО",
                 (("Телефон рабочий", "+7 495 777-12-34"), ("Почта", "sales@technosnab.ru")),
                 (Rep("popova", "Попова Наталья Олеговна", "Попова", "Наталья", "Олеговна", "Менеджер",
                      (("Телефон рабочий", "+7 495 777-12-34 доб. 215"), ("Почта", "popova@technosnab.ru"))),)),
    Counterparty("petrov_ip", "petrov", "ИП Петров П.П.",
                 (("Телефон мобильный", "+7 (920) 555-66-77"), ("Почта", "petrov.pp@yandex.ru")),
                 comment="Пиломатериалы, доставка по Твери"),
    Counterparty("", "fedorova", "Фёдорова Елена Викторовна",
                 (("Телефон домашний", "+7 (4822) 35-67-89"), ("Телефон мобильный", "+7 915 700-56-78"),
                  ("Почта", "elena.fedorova@mail.ru")),
                 comment="Частное лицо, заказ с сайта"),
]
PRIVATE_PERSON_ADDRESS = ("170100", "Тверская обл", "Тверь г", "Советская ул", "12", "", "5")

# 8. 1c/kontragenty.xlsx ("Вывести список" of Справочник.Контрагенты) ----------
KONTRAGENTY_HEADER = ["Наименование", "Полное наименование", "Код", "ИНН", "КПП", "ОГРН", "Юр. / физ. лицо",
                      "Телефон", "Адрес электронной почты", "Основной менеджер покупателя", "Комментарий"]


def _k(who, name, full, code, kind, phone, email, manager, comment=""):
    """A list row; ИНН/КПП/ОГРН come from the company `who[0]` (empty for a private person)."""
    c = CO.get(who[0])
    return who, [name, full, code, c.inn if c else None, (c.kpp or None) if c else None,
                 c.ogrn if c else None, kind, phone, email, manager, comment or None]


KONTRAGENTY_ROWS = [
    ((), ["Покупатели", None, "00-000001", None, None, None, None, None, None, None, None]),  # a group row
    _k(("romashka",), "Ромашка", 'ООО "Ромашка"', "00-000012", "Юр. лицо", "+7 (495) 123-45-67",
       "info@romashka-msk.ru", "Иванова Анна Сергеевна"),
    _k(("vector",), "Вектор ООО", 'ООО "Вектор"', "00-000015", "Юр. лицо", "8 (495) 640-12-34",
       "office@vector-m.ru", "Иванова Анна Сергеевна"),
    _k(("tsm",), "ТверьСтройМонтаж", 'АО "ТверьСтройМонтаж"', "00-000021", "Юр. лицо", "8 (4822) 55-44-33",
       "info@tsm-tver.ru", "Орлов Михаил Викторович"),
    _k(("meridian",), "Меридиан", 'Общество с ограниченной ответственностью "Меридиан"', "00-000022", "Юр. лицо",
       "+7 4822 77-88-99", "office@meridian-tver.ru", "Иванова Анна Сергеевна"),
    _k(("technosnab",), "ТехноСнаб ООО", 'ООО "ТехноСнаб"', "00-000027", "Юр. лицо", "+7 (495) 777-12-34",
       "sales@technosnab.ru", "Иванова Анна Сергеевна"),
    _k(("petrov_ip", "petrov"), "ИП Петров П.П.", "Индивидуальный предприниматель Петров Петр Петрович", "00-000030",
       "Физ. лицо", "+7 920 555-66-77", "petrov.pp@yandex.ru", "Иванова Анна Сергеевна"),
    _k(("fedorova",), "Фёдорова Елена Викторовна", "Фёдорова Елена Викторовна", "00-000034", "Физ. лицо",
       "+7 (4822) 35-67-89", "elena.fedorova@mail.ru", "Иванова Анна Сергеевна", "Частное лицо"),
    _k(("romashka_tver",), "Ромашка ООО (Тверь)", 'ООО "Ромашка"', "00-000041", "Юр. лицо", "+7 (4822) 41-20-20",
       "romashka.tver@mail.ru", "Орлов Михаил Викторович", "Опт, Тверь"),
]


# --------------------------------------------------------------------------- #
# Ground-truth collector                                                       #
# --------------------------------------------------------------------------- #

SEEN: dict[str, dict[str, list[str]]] = defaultdict(dict)   # key -> file -> places in it


def seen(who, file: str, place: str) -> None:
    for key in who:
        if key in PE or key in CO:
            SEEN[key].setdefault(file, []).append(place)


def appearances(key: str) -> str:
    return "; ".join(f"{file}: {', '.join(places)}" for file, places in SEEN[key].items()) or "—"


# --------------------------------------------------------------------------- #
# Writers                                                                     #
# --------------------------------------------------------------------------- #

def _save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    """Save with fixed document properties and zip timestamps (reproducible bytes).

    openpyxl stamps dcterms:modified with the clock on save, so it is put back here.
    """
    wb.properties.creator = wb.properties.lastModifiedBy = "crmtool samples"
    wb.properties.created = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    stamp = FIXED_TIME.isoformat() + "Z"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)


def write_sheet_table(ws, header, rows, *, header_row: int, file: str, widths=None, bold_header=True) -> None:
    """Header at `header_row`, then one sheet row per record; BLANK leaves a row empty."""
    for col, title in enumerate(header, 1):
        cell = ws.cell(header_row, col, title)
        if bold_header:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for offset, (who, values) in enumerate(rows, 1):
        row = header_row + offset
        seen(who, file, f"{ws.title}!{row}")
        for col, value in enumerate(values or [], 1):
            if value is None:
                continue
            cell = ws.cell(row, col, value)
            if isinstance(value, dt.date):
                cell.number_format = "DD.MM.YYYY"
            elif isinstance(value, int) and value > 10**9:
                cell.number_format = "0"
    for col, width in enumerate(widths or [], 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def write_manager_excel(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Клиенты"
    ws["A1"] = EXCEL_TITLE
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(EXCEL_HEADER))
    seen(("manager",), path.name, "Клиенты!1 (title), column «Ответственный»")
    ws["A2"] = EXCEL_DATE_LINE
    ws["A2"].font = Font(italic=True)
    # row 3 stays blank; the header is on row 4
    write_sheet_table(ws, EXCEL_HEADER, EXCEL_ROWS, header_row=4, file=path.name,
                      widths=[32, 24, 22, 30, 16, 28, 10, 14, 14, 34])
    ws.freeze_panes = "A5"

    ref_ws = wb.create_sheet("Справочник")
    write_sheet_table(ref_ws, REFERENCE_HEADER, [((), r) for r in REFERENCE_ROWS], header_row=1,
                      file=path.name, widths=[14, 12, 18, 14])

    arch = wb.create_sheet("Архив")
    write_sheet_table(arch, ARCHIVE_HEADER, ARCHIVE_ROWS, header_row=1, file=path.name,
                      widths=[22, 28, 26, 20], bold_header=False)
    _save_workbook(wb, path)


def write_1c_list(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "TDSheet"  # the sheet name 1C gives a saved spreadsheet document
    write_sheet_table(ws, KONTRAGENTY_HEADER, KONTRAGENTY_ROWS, header_row=1, file=path.name,
                      widths=[28, 48, 11, 14, 11, 17, 14, 20, 26, 30, 18], bold_header=False)
    seen(("manager",), path.name, "column «Основной менеджер покупателя»")
    _save_workbook(wb, path)


def write_csv(path: Path, header, rows, *, encoding: str, quote_all: bool, defaults=None) -> None:
    """One record per row; every key must be a header column (catches typos)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    for n, (who, record) in enumerate(rows, 1):
        unknown = set(record) - set(header)
        assert not unknown, f"{path.name}: not in header: {unknown}"
        full = {**(defaults or {}), **record}
        writer.writerow([full.get(col, "") for col in header])
        seen(who, path.name, f"rec {n}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


# vCard 2.1 (Android) --------------------------------------------------------

QP_LINE = 69  # Android puts at most this many characters of encoded value on a line


def _qp(value: str) -> str:
    """Android-style quoted-printable: every byte as =XX, soft breaks between characters."""
    out, line = [], ""
    for ch in value:
        token = ch if ch == ";" else "".join(f"={b:02X}" for b in ch.encode("utf-8"))
        if line and len(line) + len(token) > QP_LINE:
            out.append(line + "=")
            line = ""
        line += token
    return "\r\n".join(out + [line])


def vcard21(props) -> str:
    lines = ["BEGIN:VCARD", "VERSION:2.1"]
    for name, value in props:
        text = ";".join(value) if isinstance(value, list) else value
        if text.isascii():
            lines.append(f"{name}:{text}")
        else:
            lines.append(f"{name};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(text)}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


# vCard 3.0 (iPhone) ---------------------------------------------------------

def _fold(line: str, limit: int = 75) -> list[str]:
    """RFC 2425 folding at `limit` octets, never inside a UTF-8 character."""
    parts, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(current)
            current, size = " ", 1
        current += ch
        size += n
    return parts + [current]


def vcard30(lines, eol: str) -> str:
    body = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//iPhone OS 17.3.1//EN", *lines, "END:VCARD"]
    return "".join(part + eol for line in body for part in _fold(line))


def tiny_jpeg(comment: str) -> bytes:
    """A valid baseline JPEG, 8x8 grey, built by hand (no imaging library needed).

    One quantisation table, one-symbol Huffman tables (DC category 0, AC EOB),
    three components whose single block is all-zero: the scan is 6 zero bits.
    """
    def seg(marker: int, payload: bytes) -> bytes:
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)
    return b"".join([
        b"\xff\xd8",
        seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"),
        seg(0xFE, comment.encode("utf-8")),
        seg(0xDB, b"\x00" + bytes([1] * 64)),
        seg(0xC0, struct.pack(">BHHB", 8, 8, 8, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"),
        seg(0xC4, b"\x00" + one_code + b"\x00" + b"\x10" + one_code + b"\x00"),
        seg(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"),
        b"\x03",  # 000000 + two padding 1-bits
        b"\xff\xd9",
    ])


PHOTO_JPEG = tiny_jpeg("crmtool sample contact photo, 8x8 grey placeholder. " * 4)


def write_vcards(path: Path, cards, render, *, track: bool = True) -> None:
    chunks = []
    for n, (who, card) in enumerate(cards, 1):
        chunks.append(render(card))
        if track:
            seen(who, path.name, f"card {n}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(chunks).encode("utf-8"))


def iphone_card(eol: str):
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.b64encode(PHOTO_JPEG).decode("ascii")
    return lambda lines: vcard30([photo if l == "{PHOTO}" else l for l in lines], eol)


# CommerceML --------------------------------------------------------------------

def xml_text(node, depth: int = 0) -> list[str]:
    """(tag, text) or (tag, [children]) or (tag, attrs, [children]) -> indented lines."""
    tag, *rest = node
    attrs = rest[0] if len(rest) == 2 else {}
    body = rest[-1]
    pad = "\t" * depth
    attr_text = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in attrs.items())
    if isinstance(body, str):
        return [f"{pad}<{tag}{attr_text}>{escape(body)}</{tag}>"]
    lines = [f"{pad}<{tag}{attr_text}>"]
    for child in body:
        lines += xml_text(child, depth + 1)
    return lines + [f"{pad}</{tag}>"]


ADDRESS_PARTS = ("Почтовый индекс", "Регион", "Город", "Улица", "Дом", "Корпус", "Квартира")
ADDRESS_SHOW = {"Дом": "дом № {}", "Корпус": "корпус {}", "Квартира": "кв. {}"}


def cml_address(tag: str, parts) -> tuple:
    """Адрес: 1C-style Представление plus one АдресноеПоле per known part."""
    index, region, city = parts[:3]
    typed = [(kind, value) for kind, value in zip(ADDRESS_PARTS, parts)
             if value and not (kind == "Регион" and region == city)]   # Москва is region and city
    shown = ", ".join(ADDRESS_SHOW.get(kind, "{}").format(value) if value.isdigit() else value
                      for kind, value in typed)
    fields = [("АдресноеПоле", [("Тип", "Страна"), ("Значение", "РОССИЯ")])]
    fields += [("АдресноеПоле", [("Тип", kind), ("Значение", value)]) for kind, value in typed]
    return (tag, [("Представление", shown)] + fields)


def cml_contacts(contacts) -> tuple:
    return ("Контакты", [("Контакт", [("Тип", t), ("Значение", v)]) for t, v in contacts])


def cml_counterparty(cp: Counterparty, index: int, file: str) -> tuple:
    """Element order follows cml:Контрагент in commerceml-2.08.xsd."""
    key = cp.company or cp.person
    children = [("Ид", guid(key)), ("Наименование", cp.name)]
    if cp.company:                      # РеквизитыЮрЛица (the ИП too)
        c = CO[cp.company]
        children += [("ОфициальноеНаименование", c.full), cml_address("ЮридическийАдрес", c.address),
                     ("ИНН", c.inn)]
        if c.kpp:
            children.append(("КПП", c.kpp))
    else:                               # РеквизитыФизЛица
        last, first, middle = PE[cp.person].name.split()
        children += [("ПолноеНаименование", PE[cp.person].name), ("Фамилия", last), ("Имя", first),
                     ("Отчество", middle), ("Пол", "Ж"),
                     cml_address("АдресРегистрации", PRIVATE_PERSON_ADDRESS)]
    if cp.comment:
        children.append(("Комментарий", cp.comment))
    children.append(cml_contacts(cp.contacts))
    seen((cp.company, cp.person), file, f"Контрагент {index}")
    if cp.reps:
        reps = []
        for m, rep in enumerate(cp.reps, 1):
            reps.append(("Представитель", [
                ("Ид", guid(rep.who)), ("Наименование", rep.name),
                ("ПолноеНаименование", f"{rep.last} {rep.first} {rep.middle}"),
                ("Фамилия", rep.last), ("Имя", rep.first), ("Отчество", rep.middle),
                ("Должность", rep.position), cml_contacts(rep.contacts), ("Отношение", "Контактное лицо")]))
            seen((rep.who,), file, f"Контрагент {index} / Представитель {m}")
        children.append(("Представители", reps))
    if CML_IN_DOCUMENTS:
        children.append(("Роль", "Покупатель"))
    return ("Контрагент", children)


def write_commerceml(path: Path) -> None:
    counterparties = [cml_counterparty(cp, n, path.name) for n, cp in enumerate(CML_COUNTERPARTIES, 1)]
    if CML_IN_DOCUMENTS:
        body = [("Документ", [
            ("Ид", guid(f"order-{n}")), ("Номер", f"ТД00-{100 + n:06d}"),
            ("Дата", (EXPORT_DATE - dt.timedelta(days=3 * (len(counterparties) - n))).isoformat()),
            ("ХозОперация", "Заказ товара"), ("Роль", "Продавец"), ("Валюта", "руб"), ("Курс", "1"),
            ("Сумма", f"{12500 + 3100 * n}.00"), ("Контрагенты", [cp]), ("Время", "12:00:00")])
            for n, cp in enumerate(counterparties, 1)]
    else:
        body = [("Контрагенты", counterparties)]
    root = ("КоммерческаяИнформация", {
        "xmlns": "urn:1C.ru:commerceml_2", "xmlns:xs": "http://www.w3.org/2001/XMLSchema",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "ВерсияСхемы": "2.08", "ДатаФормирования": FIXED_TIME.isoformat()}, body)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(xml_text(root)) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- #
# README                                                                      #
# --------------------------------------------------------------------------- #

FILES = [
    ("excel/manager_ivanova.xlsx", "xlsx, 3 sheets",
     "«Клиенты»: merged title row 1, date line 2, blank row 3, header on row 4; phones as numbers "
     "(79161234567, 89104445566, 9205556677) and text; «7,91612E+10» stored as text (digits lost); "
     "«доб. 123»; two phones in one cell; bad e-mail `lebedev@vector-m`; UPPER-CASE e-mail; "
     "blank row 11; row 17 holds only a comment; ФИО with extra spaces; dates as Excel dates and as text. "
     "«Справочник» is NOT a contact table (cities). «Архив» IS one, header on row 1 "
     "(Клиент, Тел., Почта, Организация), typo `ivanov@mail.ry`, `916-123-45-67`"),
    ("outlook/outlook_en.csv", "UTF-8 no BOM, comma, all quoted, CRLF, 92 columns",
     "English desktop-Outlook header; Latin names (Ivan Ivanov, Alexey Kuznetsov…), Latin/translit company "
     "names (Romashka LLC, Vektor); multi-line Notes (rec 1); `0/0/00`, `Unspecified`, `Normal`, `False` "
     "placeholders; `x215` extension; e-mail in mixed case"),
    ("outlook/outlook_ru.csv", "cp1251, comma, all quoted, CRLF, 92 columns",
     "Russian desktop-Outlook header (doubled spaces kept); `0.0.00`, `Ложь`, `Обычная`, `Не определен`; "
     "mobile in «Телефон переносной»; rec 6 «Адрес эл. почты» is an Exchange DN with «Тип эл. почты» = EX "
     "(the manager herself, not a client)"),
    ("google/google_contacts.csv", "UTF-8 with BOM, comma, CRLF, minimal quoting",
     "Google Contacts new layout; `* myContacts ::: …` labels; rec 2 Phone 1 holds two values joined by "
     "` ::: ` (the same number twice in two formats); diminutive «Оля»; birthday without year `--07-21`; "
     "multi-line formatted address"),
    ("vcard/android.vcf", "vCard 2.1, UTF-8, CRLF",
     "N/FN/ORG/NOTE as `CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE` with `=` soft line breaks; card 1 «Ваня» "
     "has only a first name and a phone; names with job/company glued in («Маша бухгалтер Ромашка», "
     "«Андрей ТСМ»); е instead of ё; card 8 is phone-book noise"),
    ("vcard/iphone.vcf", "vCard 3.0, UTF-8, CRLF",
     "`item1.EMAIL;type=INTERNET;type=pref`, `item2.TEL` + `item2.X-ABLabel:_$!<Mobile>!$_`, a custom "
     "Cyrillic X-ABLabel; ORG with department; card 3 has a folded base64 JPEG PHOTO; extension written "
     "iPhone-style as `,215`; «Костя» for Константин"),
    ("vcard/iphone_crcrlf.vcf", "vCard 3.0, UTF-8, CR CR LF",
     "byte-for-byte the same cards as iphone.vcf but with the CR CR LF endings real iPhone exports have"),
    ("1c/counterparties.xml", "CommerceML 2.08, UTF-8, no BOM",
     "validates against commerceml-2.08.xsd: counterparties sit in `Документ/Контрагенты` (orders from the "
     "site exchange), each ending in `<Роль>Покупатель</Роль>`; legal entities with Ид, ОфициальноеНаименование, "
     "ЮридическийАдрес (Представление + АдресноеПоле), ИНН, КПП, Контакты, Представители (Отношение = "
     "Контактное лицо); ИП with 12-digit ИНН and no КПП; a private person (ПолноеНаименование, "
     "Фамилия/Имя/Отчество, no ОфициальноеНаименование, no КПП)"),
    ("1c/kontragenty.xlsx", "xlsx, sheet TDSheet, header on row 1",
     "1C «Вывести список» of Контрагенты; row 2 is a catalogue GROUP («Покупатели»), not a counterparty; "
     "names differ from the XML and the Excel base, ИНН are the same; ИП listed as «Физ. лицо» "
     "(as 1C does) with ОГРНИП in the ОГРН column; one private person; row 10 is a DIFFERENT "
     "«Ромашка» (Tver, other ИНН)"),
]


def readme() -> str:
    out = ["# crmtool sample files", "",
           "Generated by `make_samples.py` (`.venv/bin/python samples/make_samples.py`); do not edit by hand: "
           "change the data tables in the script and re-run. All people, companies, phones, e-mails and "
           "addresses are fictional; ИНН/КПП/ОГРН are made up but checksum-valid.", "",
           "## Files", ""]
    out += [f"- `{name}` — {fmt}. {dirt}." for name, fmt, dirt in FILES]
    out += ["", "References below: `Sheet!row` (Excel row number), `rec N` (N-th data record after the "
            "CSV header; Notes can span lines), `card N` (N-th vCard), `Контрагент N` (N-th counterparty of "
            "the XML in document order). iphone_crcrlf.vcf repeats iphone.vcf and is not listed.", "",
            "## Cast: people (ground truth)", "",
            "Everything on one line is the same real person; different lines are different people, however "
            "alike they look. Each client appears in 2-4 files.", "",
            "| key | person | company | mobile / e-mail | notes | appears in |", "|---|---|---|---|---|---|"]
    for p in PEOPLE:
        company = CO[p.company].name if p.company else "—"
        refs = appearances(p.key)
        contact = " / ".join(x for x in (p.mobile, p.email) if x) or "—"
        out.append(f"| {p.key} | {p.name} | {company} | {contact} | {p.note} | {refs} |")
    out += ["", "## Cast: companies", "",
            "| key | company | ИНН | КПП | ОГРН | city | notes | appears in |", "|---|---|---|---|---|---|---|---|"]
    for c in COMPANIES:
        refs = appearances(c.key)
        out.append(f"| {c.key} | {c.name} | {c.inn} | {c.kpp or '—'} | {c.ogrn} | {c.city} | {c.note} | {refs} |")
    out += ["", "## Look-alikes that are NOT the same", "",
            "- **Two «Кузнецов Алексей»**: kuznetsov_av (Вектор, Москва, +7 903 111-22-33) and kuznetsov_ai "
            "(ТверьСтройМонтаж, Тверь, +7 910 444-55-66). The Excel base and Android both write the Tver one as "
            "just «Кузнецов Алексей»; «Кузнецов А.» in «Архив» is the Moscow one (by phone).",
            "- **Spouses** fedorov and fedorova share the home phone +7 4822 35-67-89: one phone, two people.",
            "- **Shared switchboards**: +7 495 123-45-67 (Ромашка: Иванов, Смирнова, Соколов), +7 495 640-12-34 "
            "(Вектор), +7 4822 55-44-33 (ТСМ), +7 4822 77-88-99 (Меридиан), +7 495 777-12-34 (ТехноСнаб). A "
            "shared work number alone never makes two records one person; it links them to the company.",
            "- **Two «Ромашка»**: romashka (Москва, ИНН " + CO["romashka"].inn + ") and romashka_tver (Тверь, "
            "ИНН " + CO["romashka_tver"].inn + "); only 1c/kontragenty.xlsx row 10 is the Tver one.",
            "- **Иванова А.С.** (manager) is the base's owner («Ответственный», «Основной менеджер покупателя», "
            "an Exchange contact in outlook_ru rec 6), not a client and not Иванов И.И.",
            "- **«7,91612E+10»** (Григорьев, manager_ivanova.xlsx Клиенты!13) is an unrecoverable number: its "
            "mantissa also fits Иванов's 79161234567; it must not link Григорьев to Иванов.",
            "- **ИП Петров П.П.** (company petrov_ip) and **Петров Пётр Петрович** (person petrov) are the "
            "same human in two roles: 1C lists the ИП as «Физ. лицо».",
            "- **«Сантехник Михалыч»** (android card 8) is noise, not a client.",
            "",
            "## Same person, different look (examples to check the demo against)", "",
            "- ivanov: «Иванов Иван Иванович» / «Иванов И.И.» / «Ivan Ivanov» / «Иван Иванов» / «Ваня»; "
            "79161234567 (a number) / 916-123-45-67 / +7 916 1234567 / 8 (916) 123-45-67; IVANOV@MAIL.RU / "
            "ivanov@mail.ry (typo).",
            "- fedorov: «Федоров» (Excel, Android) / «Фёдоров» (Google).",
            "- romashka: «ООО «Ромашка»», «Ромашка, ООО», «ООО Ромашка», «Romashka LLC», «Ромашка ООО», "
            "«ООО \"Ромашка\"» — one ИНН.",
            "- lebedev: «Лебедев Константин» / «Konstantin Lebedev» / «Константин Лебедев» / «Костя Лебедев»; "
            "bad `lebedev@vector-m` in Excel.",
            ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- #

def main() -> None:
    SEEN.clear()
    write_manager_excel(OUT / "excel" / "manager_ivanova.xlsx")
    write_csv(OUT / "outlook" / "outlook_en.csv", OUTLOOK_EN_HEADER, OUTLOOK_EN_ROWS,
              encoding="utf-8", quote_all=True, defaults=OUTLOOK_EN_DEFAULTS)
    write_csv(OUT / "outlook" / "outlook_ru.csv", OUTLOOK_RU_HEADER, OUTLOOK_RU_ROWS,
              encoding="cp1251", quote_all=True, defaults=OUTLOOK_RU_DEFAULTS)
    write_csv(OUT / "google" / "google_contacts.csv", GOOGLE_HEADER, GOOGLE_ROWS,
              encoding="utf-8-sig", quote_all=False)
    write_vcards(OUT / "vcard" / "android.vcf", ANDROID_CARDS, vcard21)
    write_vcards(OUT / "vcard" / "iphone.vcf", IPHONE_CARDS, iphone_card("\r\n"))
    # the CR CR LF twin repeats iphone.vcf; it is left out of the cast table
    write_vcards(OUT / "vcard" / "iphone_crcrlf.vcf", IPHONE_CARDS, iphone_card("\r\r\n"), track=False)
    write_commerceml(OUT / "1c" / "counterparties.xml")
    write_1c_list(OUT / "1c" / "kontragenty.xlsx")
    (OUT / "README.md").write_text(readme(), encoding="utf-8")
    for path in sorted(OUT.rglob("*")):
        if path.is_file() and path.suffix != ".py":
            print(f"{path.stat().st_size:8d}  {path.relative_to(OUT)}")


if __name__ == "__main__":
    main()
