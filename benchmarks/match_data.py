"""Dirty Russian CRM data WITH ground truth, for the matching benchmark.

    python benchmarks/match_data.py --records 100000 --out benchmarks/data/match_100k

A matcher is only as good as the yardstick it is measured with. This writes
what a consultant gets after concatenating several managers' bases and a 1C
dump, and, beside it, who is really who:

- contacts.csv (`;`, UTF-8): ФИО;Телефон;Моб. тел.;E-mail;Компания;Должность;Город;ИНН.
  Each person appears 1–4 times, each time written differently; the traps a
  matcher must not fall into are here on purpose (shared switchboards, a
  family's home phone, namesakes, people who changed company).
- truth.csv: source_row,person_id (source_row is the 1-based data row, as
  crmtool numbers it).
- annotations.csv: source_row,tags,switchboard,family,namesake: the dirt on
  each row (tags `;`-joined) and the group keys of the traps it carries, so a
  scorer can say which false merges came from which trap.
- companies.csv: a 1C list of counterparties with duplicates, branches (same
  ИНН, other КПП: different companies) and same-name companies;
  companies_truth.csv and companies_annotations.csv (tags, branch, namesake).
- stats.json: how many rows carry each kind of dirt, true duplicate pairs.

Everything is deterministic for --seed. Plain Python, one pass per person.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

import iuliia

ROOT = Path(__file__).resolve().parent.parent
DIMINUTIVES_CSV = ROOT / "crmtool" / "normalize" / "diminutives.csv"
GENERATOR_VERSION = 3

CONTACT_HEADER = ["ФИО", "Телефон", "Моб. тел.", "E-mail", "Компания", "Должность", "Город", "ИНН"]
COMPANY_HEADER = ["Наименование", "Полное наименование", "ИНН", "КПП", "Телефон", "Адрес электронной почты",
                  "Юр. / физ. лицо"]

# --- rates (per rendered row unless said otherwise) -----------------------------------------

APPEAR_P = 0.61  # geometric, truncated at 4 (the rest of the tail lands on 4): 1.6 rows per person
COMPANY_APPEAR = (0.15, 0.60, 0.18, 0.07)  # rows per company in the 1C dump: 0, 1, 2, 3
EMPLOYED = 0.68  # persons with a company
CHANGED_COMPANY = 0.08  # of employed persons with 2+ rows
FAMILY = 0.03  # a new person starts a family (spouse, sometimes a grown-up child)
NAMESAKE = 0.035  # a new person is a namesake of an earlier one
NAMESAKE_SAME_MIDDLE = 0.35
ONLY_CONTACT = 0.02  # a row with only a phone or only an e-mail
TRANSLIT, INITIALS, FIRST_ONLY = 0.045, 0.09, 0.015
DIMINUTIVE, TYPO, CAPS, LOWER, SPACES = 0.08, 0.04, 0.04, 0.03, 0.03
YO_DROP, YO_ADD = 0.55, 0.30  # "Фёдоров" written "Федоров"; a plain "Федоров" written with ё
SWITCHBOARD, SWITCHBOARD_EXT, HOME_PHONE = 0.35, 0.6, 0.6
MOBILE_COLUMN, TWO_PHONES, LOCAL_PHONE = 0.55, 0.04, 0.03
SHARED_EMAIL, EMAIL_CASE, EMAIL_TYPO = 0.03, 0.10, 0.01
INN_IN_CONTACTS = 0.2
BRANCH, COMPANY_NAMESAKE, ENTREPRENEUR = 0.04, 0.04, 0.08
COMPANY_NO_INN, INN_TYPO = 0.25, 0.02

# --- names ------------------------------------------------------------------------------------

TOP_SURNAMES = """Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров Зайцев
Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов Александров Дмитриев Королёв Гусев
Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов
Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов
Власов Мельников Денисов Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов
Мартынов Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев Воронин
Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев
Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов
Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов
Юдин Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронцов Зуев Зимин Шубин
Рыбаков Шевченко Бондаренко Ткаченко Коваленко Кравченко Полищук Мельничук Лысенко Савченко Руденко Тимошенко
Черных Белых Седых Долгих Горбатых Островский Покровский Вишневский Каменский Ковальский Жилинский Яблонский
Полянский Рождественский Успенский Левицкий Высоцкий Соломатин Толстой Трубецкой Лановой Крутой""".split()
STEMS = """Иван Петр Сидор Кузнец Смирн Поп Васильч Федот Мороз Волк Лебед Семён Егор Павл Козл Степан Николаш Орл
Андре Соколь Медвед Зайц Белк Голуб Ворон Сорок Журавл Гус Утк Комар Жук Пчел Бобр Барсук Лис Ёж Крот Щук Окун
Карп Сом Лещ Ерш Пескар Глух Тетер Рябч Снегир Чиж Щегл Дрозд Скворц Клёст Филин Сыч Ястреб Сокол Кречет Беркут
Орлан Грач Галк Стриж Ласточк Кукушк Дятл Иволг Берёз Дуб Клён Рябин Калин Малин Вишн Груш Яблон Осин Ольх Сосн
Кедр Лыс Рыж Бород Усат Нос Зуб Кочет Петух Баран Бык Кон Коз Кот Мыш Хомяк Гор Лес Пол Луг Бор Дол Рек Озер Мост
Кузьм Фом Демид Харит Тихон Лук Марк Савел Анис Прох Елис Зах Мир Свет Добр Люб Мил Слав Ярил Буд Вол Грез Дым
Звон Колок Молот Серп Плуг Сох Топор Пил Гвозд Шил Игл Нитк Пуговк Кафт Шуб Шапк Сапож Лапт Валенк Рукав Ворот""".split()
PREFIXES = ["Бело", "Черно", "Ново", "Старо", "Красно", "Добро", "Мало", "Велико", "Широко",
            "Долго", "Быстро", "Остро", "Золото", "Сребро", "Медно", "Ясно", "Тихо", "Крепко", "Мягко", "Горно"]
ENDINGS = ["ов", "ов", "ев", "ин", "ин", "ский", "енко", "юк", "ых", "цев", "анов", "ович", "ук", "ко", "ышев"]

FIRST_M = """Александр:9 Сергей:8 Дмитрий:8 Андрей:7 Алексей:7 Максим:5 Евгений:5 Иван:5 Михаил:5 Артём:4
Владимир:5 Николай:4 Олег:4 Павел:4 Роман:4 Игорь:4 Виктор:3 Юрий:3 Константин:3 Денис:4 Антон:3 Илья:3 Кирилл:3
Никита:3 Егор:2 Вадим:2 Василий:2 Геннадий:2 Станислав:2 Вячеслав:2 Григорий:1 Борис:1 Леонид:1 Тимур:1 Руслан:2
Фёдор:1 Пётр:2 Анатолий:2 Валерий:2 Семён:1 Степан:1 Георгий:1 Ярослав:1 Виталий:2 Эдуард:1 Даниил:1 Матвей:1
Лев:1 Тимофей:1 Валентин:1 Аркадий:1 Владислав:2 Глеб:1 Ростислав:1 Всеволод:1 Ильдар:1 Марат:1""".split()
FIRST_F = """Елена:8 Ольга:7 Наталья:7 Татьяна:7 Ирина:7 Светлана:6 Анна:6 Мария:6 Екатерина:6 Юлия:5 Анастасия:5
Марина:4 Галина:3 Людмила:3 Надежда:3 Валентина:2 Любовь:2 Вера:2 Ксения:3 Дарья:3 Алина:2 Полина:2 Софья:1
Виктория:3 Александра:2 Евгения:2 Маргарита:1 Лариса:2 Нина:1 Алла:1 Оксана:2 Жанна:1 Кристина:2 Алёна:2 Диана:1
Лилия:1 Тамара:1 Раиса:1 Зоя:1 Инна:1 Елизавета:1 Вероника:1 Варвара:1 Антонина:1 Клавдия:1 Лидия:1""".split()
FATHERS = """Александр Сергей Дмитрий Андрей Алексей Евгений Иван Михаил Владимир Николай Олег Павел Роман Игорь
Виктор Юрий Константин Василий Геннадий Анатолий Валерий Пётр Фёдор Семён Степан Георгий Виталий Борис Леонид
Григорий Аркадий Валентин Вячеслав Станислав Эдуард Илья Никита Лев Тимофей Матвей Артём Даниил""".split()
_PATRONYMIC_EXCEPTIONS = {"Илья": ("Ильич", "Ильинична"), "Никита": ("Никитич", "Никитична"),
                          "Пётр": ("Петрович", "Петровна"), "Лев": ("Львович", "Львовна"),
                          "Павел": ("Павлович", "Павловна"), "Михаил": ("Михайлович", "Михайловна")}


def patronymic(father: str, female: bool) -> str:
    """The patronymic of a child of `father` (Сергей → Сергеевич/Сергеевна, Юрий → Юрьевич)."""
    if father in _PATRONYMIC_EXCEPTIONS:
        return _PATRONYMIC_EXCEPTIONS[father][female]
    if father.endswith("ий"):
        stem = father[:-2]
        vowels = "аеёиоуыэюя"  # two consonants before -ий: Дмитриевич; else Юрьевич
        stem += "и" if stem[-1].lower() not in vowels and stem[-2].lower() not in vowels else "ь"
        return stem + ("евна" if female else "евич")
    if father.endswith(("ей", "ай")):
        return father[:-1] + ("евна" if female else "евич")
    if father.endswith("ь"):
        return father[:-1] + ("евна" if female else "евич")
    return father + ("овна" if female else "ович")


def feminine(surname: str) -> str:
    """Иванов → Иванова, Островский → Островская, Шевченко → Шевченко."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith(("ой", "ый")):
        return surname[:-2] + "ая"
    return surname


def masculine(surname: str) -> str:
    """Иванова → Иванов, Островская → Островский, Толстая → Толстой (the family's other gender)."""
    if surname.endswith(("ская", "цкая")):
        return surname[:-2] + "ий"
    if surname.endswith("ая"):
        return surname[:-2] + "ой"
    if surname.endswith(("ова", "ева", "ёва", "ина", "ына")):
        return surname[:-1]
    return surname


def _weighted(spec: list[str]) -> tuple[list[str], list[int]]:
    names, cum, total = [], [], 0
    for item in spec:
        name, weight = item.split(":")
        total += int(weight)
        names.append(name)
        cum.append(total)
    return names, cum


def _load_diminutives() -> dict[tuple[str, bool], list[str]]:
    out: dict[tuple[str, bool], list[str]] = {}
    with open(DIMINUTIVES_CSV, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault((row["full"], row["gender"] == "Ж"), []).append(row["short"])
    return out


# --- places, companies ------------------------------------------------------------------------

# name, weight, phone area code, region code (ИНН/КПП), spellings seen in bases
CITIES = [
    ("Москва", 30, "495", "77", ["Москва", "г. Москва", "москва", "МСК", "г.Москва"]),
    ("Санкт-Петербург", 12, "812", "78", ["Санкт-Петербург", "СПб", "г. Санкт-Петербург", "С.-Петербург", "Питер"]),
    ("Новосибирск", 5, "383", "54", ["Новосибирск", "г. Новосибирск", "Новосиб"]),
    ("Екатеринбург", 5, "343", "66", ["Екатеринбург", "г. Екатеринбург", "Екб"]),
    ("Казань", 5, "843", "16", ["Казань", "г. Казань", "казань"]),
    ("Нижний Новгород", 4, "831", "52", ["Нижний Новгород", "Н. Новгород", "г. Нижний Новгород"]),
    ("Челябинск", 3, "351", "74", ["Челябинск", "г. Челябинск"]),
    ("Самара", 3, "846", "63", ["Самара", "г. Самара"]),
    ("Омск", 3, "3812", "55", ["Омск", "г. Омск"]),
    ("Ростов-на-Дону", 3, "863", "61", ["Ростов-на-Дону", "Ростов", "г. Ростов-на-Дону"]),
    ("Уфа", 3, "347", "02", ["Уфа", "г. Уфа"]),
    ("Краснодар", 3, "861", "23", ["Краснодар", "г. Краснодар"]),
    ("Воронеж", 3, "473", "36", ["Воронеж", "г. Воронеж"]),
    ("Пермь", 3, "342", "59", ["Пермь", "г. Пермь"]),
    ("Тверь", 3, "4822", "69", ["Тверь", "г. Тверь", "тверь"]),
    ("Тула", 2, "4872", "71", ["Тула", "г. Тула"]),
    ("Ярославль", 2, "4852", "76", ["Ярославль", "г. Ярославль"]),
]
CITY_CUM = []
_t = 0
for _c in CITIES:
    _t += _c[1]
    CITY_CUM.append(_t)

CORE_A = """Строй Торг Снаб Сервис Техно Инвест Альфа Бета Гамма Дельта Вектор Ромашк Лютик Меридиан Горизонт Север
Юг Восток Запад Урал Волга Нева Дон Гранит Кварц Сибирь Байкал Алтай Енисей Ока Кама Полюс Арктик Форвард Прогресс
Импульс Спектр Контур Профи Мега Гига Оптима Максима Стандарт Эталон Капитал Ресурс Регион Феникс Пегас Атлант Титан
Орион Вега Сириус Аврора Заря Рассвет Радуга Берег Маяк Парус Якорь Фрегат Крона Лидер Успех Партнёр Союз Альянс
Интер Евро Росс Транс Авто Агро Энерго Электро Тепло Газ Нефть Хим Фарм Мед Био Эко Агат Янтарь Изумруд Рубин""".split()
CORE_B = """строй торг снаб сервис техно инвест групп пром маркет логистик трейд холдинг плюс центр систем монтаж
проект комплект поставка дизайн консалт софт телеком медиа ресурс лайн тех мастер инжиниринг девелопмент стиль""".split()
SYLLABLES = """ла ми текс рон вит ал ком ин тек ар ос ма ви та ро кс нова лайт мир дар гран стар бел лон тех сан
вел кор зен ник мет пол сиб уни кон ри ва тра дис эл ан он ер ус ит ис про гео ле му на фа тим""".split()
CORE_SUFFIX = ["", "", "", "", "", "", " М", "-М", " Плюс", "-Плюс", " 2000", "-Групп", " Про", "-Юг", "-Север",
               " Экспресс", "-Центр", " СПб", "-Урал", " Н"]
FORMS = {  # abbreviation, full wording, weight
    "ООО": ("Общество с ограниченной ответственностью", 70),
    "АО": ("Акционерное общество", 12),
    "ЗАО": ("Закрытое акционерное общество", 5),
    "ПАО": ("Публичное акционерное общество", 3),
}
FORM_NAMES = list(FORMS)
FORM_CUM = []
_t = 0
for _f in FORM_NAMES:
    _t += FORMS[_f][1]
    FORM_CUM.append(_t)
TITLES = [["Генеральный директор", "ген. директор", "Директор", "директор"],
          ["Главный бухгалтер", "гл. бухгалтер", "Бухгалтер", "бухгалтерия"],
          ["Менеджер по продажам", "менеджер", "Менеджер", "продажи"],
          ["Менеджер по закупкам", "закупки", "Снабженец", "менеджер по снабжению"],
          ["Инженер", "инженер", "Главный инженер"], ["Юрист", "юрист", "Юрисконсульт"],
          ["Коммерческий директор", "ком. директор", "Коммерческий дир."],
          ["Офис-менеджер", "секретарь", "Секретарь", "Ресепшн"],
          ["Начальник отдела", "нач. отдела", "Руководитель отдела"], ["Логист", "логист"],
          ["Кладовщик", "Заведующий складом", "склад"], ["Специалист", "специалист"]]
PERSONAL_DOMAINS = ["mail.ru"] * 7 + ["yandex.ru"] * 5 + ["gmail.com"] * 4 + ["bk.ru", "inbox.ru", "list.ru",
                                                                              "rambler.ru", "ya.ru"]
MAILBOX_DOMAINS = {"ya.ru": "yandex.ru", "yandex.com": "yandex.ru", "yandex.by": "yandex.ru",
                   "yandex.kz": "yandex.ru", "yandex.ua": "yandex.ru", "googlemail.com": "gmail.com"}
EMAIL_TYPOS = {"mail.ru": "mail.ry", "gmail.com": "gmial.com", "yandex.ru": "yandx.ru", "bk.ru": "bk.ry",
               "inbox.ru": "inbox.ry", "list.ru": "lsit.ru", "rambler.ru": "rambler.ry", "ya.ru": "ya.ry"}
NEIGHBOURS = {"а": "ао", "о": "ао", "е": "еи", "и": "иые", "ы": "ыи", "у": "ую", "я": "яа", "ш": "шщ", "щ": "щш",
              "с": "сз", "з": "зс", "т": "тд", "д": "дт", "в": "вф", "ф": "фв", "к": "кг", "г": "гк", "н": "нм",
              "м": "мн", "л": "лр", "р": "рл", "п": "пб", "б": "бп", "ч": "чщ", "й": "йи", "ё": "ёе", "ь": "ьъ"}

# --- phone and e-mail renderings -------------------------------------------------------------

MOBILE_FORMATS = [
    ("plus7_brackets", lambda n: f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"),
    ("8_brackets", lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"),
    ("plus7_spaces", lambda n: f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}"),
    ("8_digits", lambda n: f"8{n}"),
    ("7_digits", lambda n: f"7{n}"),
    ("plus7_digits", lambda n: f"+7{n}"),
    ("bare10", lambda n: n),
    ("8_dashes", lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"),
    ("bare_dashes", lambda n: f"{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"),
    ("8_spaces", lambda n: f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"),
    ("plus7_block", lambda n: f"+7 {n[:3]} {n[3:]}"),
    ("8_tight_brackets", lambda n: f"8({n[:3]}){n[3:]}"),
]


def _landline_formats(code: str):
    k = len(code)  # 3- or 4-digit area code; the rest of the 10 digits is the local number
    if k == 3:
        return [
            ("plus7_brackets", lambda n: f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"),
            ("8_brackets", lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"),
            ("brackets", lambda n: f"({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"),
            ("8_digits", lambda n: f"8{n}"),
            ("plus7_spaces", lambda n: f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"),
            ("8_dashes", lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"),
        ]
    return [
        ("plus7_brackets", lambda n: f"+7 ({n[:4]}) {n[4:6]}-{n[6:8]}-{n[8:]}"),
        ("8_brackets", lambda n: f"8 ({n[:4]}) {n[4:6]}-{n[6:8]}-{n[8:]}"),
        ("brackets", lambda n: f"({n[:4]}) {n[4:6]}-{n[6:8]}-{n[8:]}"),
        ("8_digits", lambda n: f"8{n}"),
        ("plus7_spaces", lambda n: f"+7 {n[:4]} {n[4:]}"),
        ("8_dashes", lambda n: f"8-{n[:4]}-{n[4:6]}-{n[6:8]}-{n[8:]}"),
    ]


LANDLINE_FORMATS = {code: _landline_formats(code) for _, _, code, _, _ in CITIES}
EXT_FORMATS = [" доб. {}", ", доб. {}", " доб.{}", " (доб. {})", " вн. {}", " ext. {}", " x{}", " доп. {}"]

TRANSLIT_SCHEMAS = [iuliia.WIKIPEDIA, iuliia.MVD_782, iuliia.ICAO_DOC_9303, iuliia.BGN_PCGN, "folk"]


@lru_cache(maxsize=None)
def translit(text: str, schema: int = 0) -> str:
    """Latin rendering of a Cyrillic name; schema 4 is the folk "Alexey/Alexandr" spelling."""
    if schema == 4:
        out = iuliia.WIKIPEDIA.translate(text).replace("ks", "x").replace("Ks", "X")
        return out.replace("iy", "y").replace("yo", "e")
    return TRANSLIT_SCHEMAS[schema].translate(text).replace("·", "")  # BGN/PCGN's т·с separator


@lru_cache(maxsize=None)
def login_part(text: str) -> str:
    """Lower-case ASCII for e-mail logins and domains."""
    out = iuliia.WIKIPEDIA.translate(text.lower()).replace("'", "")
    return "".join(ch for ch in out if ch.isascii() and (ch.isalnum() or ch in "-."))


def mailbox(email: str) -> str:
    """The mailbox an address reaches: case, Yandex's domain aliases and dash = dot, Gmail's dots.

    Two people must never share one, or the truth would call a real match a false merge.
    """
    login, domain = email.lower().split("@")
    domain = MAILBOX_DOMAINS.get(domain, domain)
    if domain == "gmail.com":
        login = login.replace(".", "")
    elif domain == "yandex.ru":
        login = login.replace("-", ".")
    return f"{login}@{domain}"


# --- the world ----------------------------------------------------------------------------------


class Company:
    __slots__ = ("cid", "form", "core", "inn", "kpp", "city", "phone", "domain", "email", "parent", "branch_of",
                 "owner", "rows", "branch_label")

    def __init__(self, cid: str):
        self.cid = cid
        self.parent = None  # the head office's Company for a branch
        self.branch_of = None  # group key shared by a head office and its branches
        self.owner = None  # (last, first, middle, female) for an ИП
        self.rows = 0  # rows in the 1C dump
        self.branch_label = ""


class Person:
    __slots__ = ("pid", "female", "last", "last_alt", "first", "first_alt", "middle", "middle_alt", "company",
                 "company2", "city", "mobile", "home", "family", "ext", "ext2", "email", "work_email", "work_email2",
                 "title", "rows", "namesake")

    def __init__(self, pid: str):
        self.pid = pid
        self.company = self.company2 = None
        self.home = None
        self.family = ""
        self.email = self.work_email = self.work_email2 = None
        self.ext = self.ext2 = ""
        self.namesake = ""


class World:
    """Companies and people with their true attributes; `render_*` writes one dirty row of them."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.used_numbers: set[str] = set()
        self.used_emails: set[str] = set()
        # a company's domain is never a mail provider's, nor one a normalizer would take for a typo of one
        self.used_domains: set[str] = {*PERSONAL_DOMAINS, *EMAIL_TYPOS.values(), "main.ru", "mali.ru", "gmail.ru"}
        self.used_inns: set[str] = set()
        self.dims = _load_diminutives()
        self.first_m = _weighted(FIRST_M)
        self.first_f = _weighted(FIRST_F)
        self.top_cum = [int(1000 / (i + 8) ** 0.9) for i in range(len(TOP_SURNAMES))]
        for i in range(1, len(self.top_cum)):
            self.top_cum[i] += self.top_cum[i - 1]
        self.plain = [s + e for s in STEMS for e in ENDINGS]
        self.prefixed = [p + s.lower() + e for p in PREFIXES for s in STEMS for e in ENDINGS]
        self.companies: list[Company] = []
        self.employers: list[Company] = []  # not ИП: where hired staff work
        self.persons: list[Person] = []

    # -- primitives --

    def city(self) -> tuple:
        return self.rng.choices(CITIES, cum_weights=CITY_CUM)[0]

    def number(self, prefix: str) -> str:
        """A fresh 10-digit national number starting with `prefix` (a mobile 9xx or an area code)."""
        rnd = self.rng.randrange
        rest = 9 - len(prefix)
        while True:  # a local number never starts with 0 or 1
            n = prefix + str(rnd(2, 10)) + str(rnd(10 ** rest)).zfill(rest)
            if n not in self.used_numbers:
                self.used_numbers.add(n)
                return n

    def unique_email(self, login: str, domain: str) -> str:
        """An address no one else has, counting provider aliases as one mailbox."""
        email = f"{login}@{domain}"
        rnd = self.rng.randrange
        while mailbox(email) in self.used_emails:
            email = f"{login}{rnd(1, 1000)}@{domain}"
        self.used_emails.add(mailbox(email))
        return email

    def inn(self, region: str, length: int = 10) -> str:
        rnd = self.rng.randrange
        while True:
            digits = [int(ch) for ch in region] + [rnd(10) for _ in range(7 if length == 10 else 8)]
            if length == 10:
                digits.append(sum(w * d for w, d in zip([2, 4, 10, 3, 5, 9, 4, 6, 8], digits)) % 11 % 10)
            else:
                digits.append(sum(w * d for w, d in zip([7, 2, 4, 10, 3, 5, 9, 4, 6, 8], digits)) % 11 % 10)
                digits.append(sum(w * d for w, d in zip([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], digits)) % 11 % 10)
            value = "".join(map(str, digits))
            if value not in self.used_inns:
                self.used_inns.add(value)
                return value

    def surname(self, female: bool) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.2:  # a few surnames are very common (Иванов, Смирнов…), most are rare
            name = rng.choices(TOP_SURNAMES, cum_weights=self.top_cum)[0]
        elif r < 0.35:
            name = self.plain[rng.randrange(len(self.plain))]
        else:
            name = self.prefixed[rng.randrange(len(self.prefixed))]
        return feminine(name) if female else name

    def first_name(self, female: bool) -> str:
        names, cum = self.first_f if female else self.first_m
        return self.rng.choices(names, cum_weights=cum)[0]

    def yo(self, name: str) -> tuple[str, str | None]:
        """(canonical, the other ё/е spelling or None); one in five ё-names is documented without ё."""
        if "ё" not in name:
            return name, None
        plain = name.replace("ё", "е")
        return (plain, name) if self.rng.random() < 0.2 else (name, plain)

    # -- companies --

    def core_name(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.65:  # a made-up word: Ламитекс, Сибтрон
            core = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3)))).capitalize()
            if rng.random() < 0.3:
                core += " " + rng.choice(CORE_A)
            core += rng.choice(CORE_SUFFIX)
            return core
        core = rng.choice(CORE_A)
        r = rng.random()
        if r < 0.55:
            core += rng.choice(CORE_B)
        elif r < 0.7:
            core += "-" + rng.choice(CORE_B).capitalize()
        elif r < 0.8:
            core += " " + rng.choice(CORE_A)
        core += rng.choice(CORE_SUFFIX)
        if rng.random() < 0.4:
            core += f" {rng.randrange(1, 100)}" if rng.random() < 0.5 else f"-{rng.randrange(1, 1000)}"
        return core

    def domain(self, core: str, city: tuple) -> str:
        rng = self.rng
        base = login_part(core.replace(" ", "-"))
        base = base.replace("--", "-").strip("-.") or "firma"
        tld = ".ru" if rng.random() < 0.85 else ".com"
        domain = base + tld
        while domain in self.used_domains:
            domain = f"{base}-{login_part(city[0])[:3]}{rng.randrange(1, 100)}{tld}"
        self.used_domains.add(domain)
        return domain

    def new_company(self) -> Company:
        rng = self.rng
        c = Company(f"C{len(self.companies) + 1:07d}")
        r = rng.random()
        employers = self.employers
        if r < BRANCH and len(employers) > 20:
            head = employers[rng.randrange(len(employers))]
            while head.parent is not None:
                head = head.parent
            c.parent = head
            head.branch_of = c.branch_of = head.cid
            c.form, c.core, c.inn, c.domain = head.form, head.core, head.inn, head.domain
            c.city = self.city()
            while c.city[0] == head.city[0]:
                c.city = self.city()
            c.kpp = f"{c.city[3]}{rng.randrange(1, 40):02d}43001"  # a branch's КПП: its own tax office, reason 43
            c.branch_label = rng.choice([" (филиал {})", " филиал {}", ", {} филиал", " ({})"]).format(
                c.city[4][0].replace("г. ", ""))
            c.email = self.unique_email(rng.choice(["filial", login_part(c.city[0])[:6], "office2"]), c.domain)
        else:
            if r < BRANCH + COMPANY_NAMESAKE and len(employers) > 20:
                other = employers[rng.randrange(len(employers))]
                c.core = other.core  # the same name, a different company elsewhere
                c.form = other.form if rng.random() < 0.7 else rng.choices(FORM_NAMES, cum_weights=FORM_CUM)[0]
                c.city = self.city()
                while c.city[0] == other.city[0]:
                    c.city = self.city()
            elif r < BRANCH + COMPANY_NAMESAKE + ENTREPRENEUR:
                c.form = "ИП"
                female = rng.random() < 0.4
                c.owner = (self.surname(female), self.first_name(female),
                           patronymic(rng.choice(FATHERS), female), female)
                c.core = " ".join(c.owner[:3])
                c.city = self.city()
            else:
                c.core = self.core_name()
                c.form = rng.choices(FORM_NAMES, cum_weights=FORM_CUM)[0]
                c.city = self.city()
            if c.form == "ИП":
                c.inn, c.kpp = self.inn(c.city[3], 12), ""
                c.domain = None
                c.email = None
            else:
                c.inn = self.inn(c.city[3])
                c.kpp = c.inn[:4] + "01001"
                c.domain = self.domain(c.core, c.city)
                c.email = self.unique_email(rng.choice(["info", "info", "office", "mail", "sales", "zakaz"]), c.domain)
        c.phone = self.number(c.city[2])
        if c.form == "ИП":
            c.email = self.unique_email(login_part(c.owner[0]) + str(rng.randrange(10, 100)),
                                        rng.choice(PERSONAL_DOMAINS))
        self.companies.append(c)
        if c.form != "ИП":
            self.employers.append(c)
        return c

    def build_companies(self, target_rows: int) -> None:
        rng = self.rng
        rows = 0
        while rows < target_rows:
            c = self.new_company()
            r = rng.random()
            k = 0 if r < COMPANY_APPEAR[0] else 1 if r < sum(COMPANY_APPEAR[:2]) else (
                2 if r < sum(COMPANY_APPEAR[:3]) else 3)
            c.rows = min(k, target_rows - rows)
            rows += c.rows

    # -- people --

    def employer(self) -> Company:
        employers = self.employers
        return employers[int(len(employers) * self.rng.random() ** 1.3)]

    def fill_person(self, p: Person, female: bool, last: str, first: str, middle: str, company: Company | None):
        rng = self.rng
        p.female = female
        p.last, p.last_alt = self.yo(last)
        p.first, p.first_alt = self.yo(first)
        p.middle, p.middle_alt = self.yo(middle)
        p.company = company
        p.city = company.city if company is not None and rng.random() < 0.92 else self.city()
        p.mobile = self.number("9" + str(rng.randrange(10)))
        p.title = rng.randrange(len(TITLES)) if company is not None else -1
        if company is not None:
            p.ext = str(rng.randrange(100, 1000) if rng.random() < 0.8 else rng.randrange(10, 100))
        lat_last, lat_first = login_part(p.last), login_part(p.first)
        if rng.random() < 0.8:
            r = rng.random()
            if r < 0.25:
                login = f"{lat_last}.{lat_first}"
            elif r < 0.45:
                login = f"{lat_first}.{lat_last}"
            elif r < 0.6:
                login = f"{lat_first[0]}.{lat_last}"
            elif r < 0.75:
                login = f"{lat_last}{rng.randrange(60, 100)}"
            elif r < 0.88:
                login = f"{lat_first}{lat_last[0]}{rng.randrange(1960, 2005)}"
            else:
                login = rng.choice(["sunny", "kotik", "star", "alex", "zvezda", "volk", "tiger", "boss", "lucky"])
                login += rng.choice(["_", ".", ""]) + str(rng.randrange(1, 10000))
            p.email = self.unique_email(login, rng.choice(PERSONAL_DOMAINS))
        if company is not None and company.domain and rng.random() < 0.75:
            p.work_email = self.work_email(p, company)

    def work_email(self, p: Person, company: Company) -> str:
        rng = self.rng
        lat_last, lat_first = login_part(p.last), login_part(p.first)
        r = rng.random()
        if r < 0.35:
            login = f"{lat_first[0]}.{lat_last}"
        elif r < 0.6:
            login = lat_last
        elif r < 0.8:
            login = f"{lat_first}.{lat_last}"
        else:
            login = f"{lat_last}.{lat_first[0]}{login_part(p.middle)[:1]}"
        return self.unique_email(login, company.domain)

    def new_person(self, female: bool | None = None) -> Person:
        rng = self.rng
        p = Person(f"P{len(self.persons) + 1:07d}")
        if female is None:
            female = rng.random() < 0.5
        company = self.employer() if rng.random() < EMPLOYED and self.employers else None
        self.fill_person(p, female, self.surname(female), self.first_name(female),
                         patronymic(rng.choice(FATHERS), female), company)
        self.persons.append(p)
        return p

    def family(self, root: Person) -> list[Person]:
        """A spouse and sometimes a grown-up child: same surname stem, same home phone, other first names."""
        rng = self.rng
        home = self.number(root.city[2])
        root.home, root.family = home, f"F{root.pid[1:]}"
        members = [root]
        stem = root.last_alt if root.last_alt and "ё" in root.last_alt else root.last
        male_last = masculine(stem) if root.female else stem
        if rng.random() < 0.9:
            spouse = Person(f"P{len(self.persons) + 1:07d}")
            female = not root.female
            company = self.employer() if rng.random() < EMPLOYED * 0.8 else None
            self.fill_person(spouse, female, feminine(male_last) if female else male_last,
                             self.first_name(female), patronymic(rng.choice(FATHERS), female), company)
            self.persons.append(spouse)
            members.append(spouse)
        if rng.random() < 0.4:
            father = root if not root.female else (members[1] if len(members) > 1 else None)
            child = Person(f"P{len(self.persons) + 1:07d}")
            female = rng.random() < 0.5
            company = self.employer() if rng.random() < EMPLOYED * 0.6 else None
            father_name = (father.first_alt if father and father.first_alt and "ё" in father.first_alt
                           else father.first) if father else rng.choice(FATHERS)
            self.fill_person(child, female, feminine(male_last) if female else male_last,
                             self.first_name(female), patronymic(father_name, female), company)
            self.persons.append(child)
            members.append(child)
        for m in members:
            m.home, m.family = home, root.family
            m.city = root.city
        return members

    def namesake(self) -> Person:
        """Someone with the name of an earlier person (sometimes the patronymic too), living another life."""
        rng = self.rng
        other = self.persons[rng.randrange(len(self.persons))]
        p = Person(f"P{len(self.persons) + 1:07d}")
        company = self.employer() if rng.random() < EMPLOYED else None
        middle = other.middle if rng.random() < NAMESAKE_SAME_MIDDLE else patronymic(rng.choice(FATHERS), other.female)
        self.fill_person(p, other.female, other.last, other.first, middle, company)
        p.last_alt, p.first_alt = other.last_alt, other.first_alt
        if p.company is not None and other.company is not None and p.company.city[0] == other.company.city[0]:
            p.city = self.city()
        self.persons.append(p)
        return p

    def build_people(self, target_rows: int) -> None:
        rng = self.rng
        rows = 0

        def appearances() -> int:
            k = 1
            while k < 4 and rng.random() > APPEAR_P:
                k += 1
            return k

        # ИП owners come first: they are the contact people of their own businesses.
        for c in self.companies:
            if c.owner is not None and rng.random() < 0.7:
                last, first, middle, female = c.owner
                p = Person(f"P{len(self.persons) + 1:07d}")
                self.fill_person(p, female, last, first, middle, None)
                p.company = c
                p.city = c.city
                self.persons.append(p)
        for p in self.persons:
            p.rows = min(appearances(), max(target_rows - rows, 0))
            rows += p.rows
        while rows < target_rows:
            r = rng.random()
            if r < FAMILY:
                batch = self.family(self.new_person())
            elif r < FAMILY + NAMESAKE and len(self.persons) > 50:
                batch = [self.namesake()]
            else:
                batch = [self.new_person()]
            for p in batch:
                p.rows = min(appearances(), target_rows - rows)
                rows += p.rows
                if p.rows >= 2 and p.company is not None and p.company.form != "ИП" and rng.random() < CHANGED_COMPANY:
                    p.company2 = self.employer()
                    if p.company2 is p.company:
                        p.company2 = None
                    else:
                        p.ext2 = str(rng.randrange(100, 1000))
                        if p.company2.domain and p.work_email:
                            p.work_email2 = self.work_email(p, p.company2)
        self.persons = [p for p in self.persons if p.rows > 0]
        self.mark_namesakes()

    def mark_namesakes(self) -> None:
        """Namesakes, whether planted or by chance: people with the same surname and first name (ё = е)."""
        groups: dict[tuple[str, str], list[Person]] = {}
        full: Counter = Counter()
        for p in self.persons:
            groups.setdefault((p.last.replace("ё", "е"), p.first.replace("ё", "е")), []).append(p)
            full[(p.last.replace("ё", "е"), p.first.replace("ё", "е"), p.middle.replace("ё", "е"))] += 1
        for members in groups.values():
            if len(members) > 1:
                for p in members:
                    p.namesake = "N" + members[0].pid[1:]
        self.full_namesakes = {key for key, n in full.items() if n > 1}

    def is_full_namesake(self, p: Person) -> bool:
        """Someone else has the same surname, first name and patronymic."""
        return (p.last.replace("ё", "е"), p.first.replace("ё", "е"), p.middle.replace("ё", "е")) in self.full_namesakes

    # -- rendering: contacts --

    def render_name(self, p: Person, tags: list[str]) -> str:
        rng = self.rng
        rnd = rng.random
        last, first, middle = p.last, p.first, p.middle
        if p.last_alt and rnd() < (YO_DROP if "ё" in last else YO_ADD):
            last = p.last_alt
            tags.append("yo")
        if p.first_alt and rnd() < (YO_DROP if "ё" in first else YO_ADD):
            first = p.first_alt
            if "yo" not in tags:
                tags.append("yo")
        if p.middle_alt and rnd() < (YO_DROP if "ё" in middle else YO_ADD):
            middle = p.middle_alt
            if "yo" not in tags:
                tags.append("yo")
        if rnd() < TYPO:
            last = self.typo(last)
            tags.append("typo")
        diminutive = False
        if rnd() < DIMINUTIVE:
            full = p.first_alt if p.first_alt and "ё" in p.first_alt else p.first
            shorts = self.dims.get((full, p.female))
            if shorts:
                first = shorts[rng.randrange(len(shorts))]
                diminutive = True
                tags.append("diminutive")
        mode = rnd()
        if mode < TRANSLIT:
            schema = rng.randrange(len(TRANSLIT_SCHEMAS))
            lat_first, lat_last = translit(first, schema), translit(last, schema)
            tags.append("translit")
            r = rnd()
            if r < 0.6:
                return f"{lat_first} {lat_last}"
            if r < 0.9:
                return f"{lat_last} {lat_first}"
            return f"{lat_last} {lat_first}".upper()
        if mode < TRANSLIT + INITIALS and not diminutive:
            tags.append("initials")
            r = rnd()
            f0, m0 = first[0], middle[0]
            if r < 0.4:
                name = f"{last} {f0}.{m0}."
            elif r < 0.55:
                name = f"{last} {f0}. {m0}."
            elif r < 0.8:
                name = f"{f0}.{m0}. {last}"
            elif r < 0.9:
                name = f"{last} {f0}."
            else:
                name = f"{last} {first} {m0}."
        elif mode < TRANSLIT + INITIALS + FIRST_ONLY:
            tags.append("first_only")
            name = first
        else:
            r = rnd()
            if diminutive:
                r = 0.55 + r * 0.34  # nobody writes "Саша Иванович": Ф И or И Ф
            if r < 0.55:
                name = f"{last} {first} {middle}"
            elif r < 0.75:
                name = f"{last} {first}"
                tags.append("order_fi")
            elif r < 0.89:
                name = f"{first} {last}"
                tags.append("order_if")
            elif r < 0.97:
                name = f"{first} {middle} {last}"
                tags.append("order_iof")
            else:
                name = f"{first} {middle}"
                tags.append("order_io")
        r = rnd()
        if r < CAPS:
            name = name.upper()
            tags.append("caps")
        elif r < CAPS + LOWER:
            name = name.lower()
            tags.append("lower")
        if rnd() < SPACES:
            name = name.replace(" ", "  ", 1) + " " if rng.random() < 0.5 else " " + name
            tags.append("spaces")
        return name

    def typo(self, name: str) -> str:
        """One or two slips of the hand, never in the first letter."""
        rng = self.rng
        for _ in range(2 if rng.random() < 0.25 else 1):
            if len(name) < 3:
                break
            i = rng.randrange(1, len(name))
            ch = name[i]
            kind = rng.random()
            if kind < 0.45:
                choices = NEIGHBOURS.get(ch, "аое").replace(ch, "") or "о"
                name = name[:i] + choices[rng.randrange(len(choices))] + name[i + 1:]
            elif kind < 0.65:
                name = name[:i] + name[i + 1:]
            elif kind < 0.8:
                name = name[:i] + ch + name[i:]
            elif i + 1 < len(name):
                name = name[:i] + name[i + 1] + ch + name[i + 2:]
            else:
                name = name[:i] + rng.choice("аоеи") + name[i:]
        return name

    def mobile(self, n: str, formats: Counter) -> str:
        kind, fmt = MOBILE_FORMATS[self.rng.randrange(len(MOBILE_FORMATS))]
        formats["mobile_" + kind] += 1
        return fmt(n)

    def landline(self, n: str, code: str, formats: Counter, ext: str = "", tags: list[str] | None = None) -> str:
        rng = self.rng
        if rng.random() < LOCAL_PHONE:
            formats["landline_local_only"] += 1
            if tags is not None:
                tags.append("local_phone")
            local = n[len(code):]
            text = f"{local[:-4]}-{local[-4:-2]}-{local[-2:]}"
        else:
            kind, fmt = LANDLINE_FORMATS[code][rng.randrange(6)]
            formats["landline_" + kind] += 1
            text = fmt(n)
        if ext:
            text += EXT_FORMATS[rng.randrange(len(EXT_FORMATS))].format(ext)
            if tags is not None:
                tags.append("ext")
        return text

    def email_text(self, email: str, tags: list[str]) -> str:
        rng = self.rng
        r = rng.random()
        if r < EMAIL_CASE:
            tags.append("email_case")
            login, domain = email.split("@")
            email = email.upper() if rng.random() < 0.4 else ".".join(
                part.capitalize() for part in login.split(".")) + "@" + domain.capitalize()
        elif r < EMAIL_CASE + EMAIL_TYPO:
            domain = email.split("@")[1]
            if domain in EMAIL_TYPOS:
                tags.append("email_typo")
                email = email.replace(domain, EMAIL_TYPOS[domain])
        elif r < EMAIL_CASE + EMAIL_TYPO + 0.02:
            email = rng.choice([" {} ", "{} ", "mailto:{}", "<{}>"]).format(email)
            tags.append("email_noise")
        return email

    def company_text(self, c: Company, tags: list[str] | None, contacts: bool) -> str:
        """The company as a person typed it (contacts) or as it sits in 1C's Наименование."""
        rng = self.rng
        r = rng.random()
        if c.form == "ИП":
            last, first, middle, _ = c.owner
            if r < 0.4:
                return f"ИП {last} {first[0]}.{middle[0]}."
            if r < 0.65:
                return f"ИП {last} {first} {middle}"
            if r < 0.8:
                return f"Индивидуальный предприниматель {last} {first} {middle}"
            if r < 0.92:
                return f"{last} {first[0]}.{middle[0]}., ИП"
            return f"ИП {last}"
        core, form = c.core, c.form
        if c.branch_label and rng.random() < (0.3 if contacts else 0.4):
            core += c.branch_label
        if r < 0.3:
            text = f"{form} «{core}»"
        elif r < 0.42:
            text = f'{form} "{core}"'
        elif r < 0.52:
            text = f"{form} {core}"
        elif r < 0.6:
            text = f"{core} {form}"
        elif r < 0.66:
            text = f"{core}, {form}"
        elif r < (0.82 if contacts else 0.72):
            text = core
            if tags is not None:
                tags.append("no_form")
        elif r < (0.85 if contacts else 0.8):
            text = f"{FORMS[form][0]} «{core}»"
            if tags is not None:
                tags.append("full_form")
        elif r < 0.9:
            text = f"{form} «{core.upper()}»"
            if tags is not None:
                tags.append("company_case")
        elif r < 0.94:
            text = f"{form} «{core}»".lower()
            if tags is not None:
                tags.append("company_case")
        else:
            text = f"{form} «{core}»"
        return text

    def render_contact(self, p: Person, j: int, formats: Counter) -> tuple[list[str], list[str], str, str]:
        """One dirty row of person p; returns (cells, tags, switchboard key, family key)."""
        rng = self.rng
        rnd = rng.random
        tags: list[str] = []
        switch = family = ""
        company, ext, work_email = p.company, p.ext, p.work_email
        if p.company2 is not None and j > 0 and rnd() < 0.6:
            company, ext, work_email = p.company2, p.ext2, p.work_email2
            tags.append("changed_company")
        if rnd() < ONLY_CONTACT:
            email = work_email or p.email
            if email and rnd() < 0.5:
                tags.append("only_email")
                return ["", "", "", self.email_text(email, tags), "", "", "", ""], tags, switch, family
            tags.append("only_phone")
            return ["", "", self.mobile(p.mobile, formats), "", "", "", "", ""], tags, switch, family
        name = self.render_name(p, tags)
        mob = tel = ""
        tel_is_mobile = False
        if rnd() < MOBILE_COLUMN:
            mob = self.mobile(p.mobile, formats)
        r = rnd()
        employed = company is not None and company.form != "ИП"
        if employed and r < SWITCHBOARD:
            tel = self.landline(company.phone, company.city[2], formats, ext if rnd() < SWITCHBOARD_EXT else "", tags)
            tags.append("switchboard")
            switch = company.cid
        elif company is not None and company.form == "ИП" and r < 0.3:
            tel = self.landline(company.phone, company.city[2], formats, "", tags)
            tags.append("company_phone")
        elif p.home and r < HOME_PHONE:
            tel = self.landline(p.home, p.city[2], formats, "", tags)
            tags.append("family")
            family = p.family
        elif not mob and r < 0.85:
            tel = self.mobile(p.mobile, formats)
            tel_is_mobile = True
        if tel and rnd() < TWO_PHONES:  # a second number in the same cell
            tags.append("two_phones")
            if not tel_is_mobile:
                second = self.mobile(p.mobile, formats)
            elif p.home:
                second = self.landline(p.home, p.city[2], formats)
                tags.append("family")
                family = p.family
            else:
                second = self.mobile(p.mobile, formats)  # the same number twice, in two formats
            tel += rng.choice([", ", "; ", " / ", " или "]) + second
        # e-mail
        email = ""
        r = rnd()
        personal = p.email
        if employed and company.email and rnd() < SHARED_EMAIL:
            email = self.email_text(company.email, tags)
            tags.append("shared_email")
            switch = company.cid
        elif personal and work_email:
            if r < 0.12:
                email = self.email_text(work_email, tags) + rng.choice(["; ", ", ", " "]) + \
                    self.email_text(personal, tags)
                tags += ["work_email", "personal_email"]
            elif r < 0.5:
                email = self.email_text(work_email, tags)
                tags.append("work_email")
            elif r < 0.78:
                email = self.email_text(personal, tags)
                tags.append("personal_email")
        elif personal or work_email:
            if r < 0.7:
                email = self.email_text(personal or work_email, tags)
                tags.append("personal_email" if personal else "work_email")
        company_cell = inn = title = ""
        if company is not None and rnd() < 0.85:
            company_cell = self.company_text(company, tags, True)
            if rnd() < INN_IN_CONTACTS:
                inn = company.inn
        if p.title >= 0 and rnd() < 0.7:
            variants = TITLES[p.title]
            title = variants[0] if rnd() < 0.5 else variants[rng.randrange(len(variants))]
        city = ""
        if rnd() < 0.8:
            spellings = p.city[4]
            city = spellings[0] if rnd() < 0.6 else spellings[rng.randrange(len(spellings))]
        if not (name or tel or mob or email):  # never a blank row: crmtool does not number those
            mob = self.mobile(p.mobile, formats)
        return [name, tel, mob, email, company_cell, title, city, inn], tags, switch, family

    # -- rendering: companies --

    def render_company(self, c: Company, formats: Counter) -> tuple[list[str], list[str]]:
        rng = self.rng
        rnd = rng.random
        tags: list[str] = []
        short = self.company_text(c, tags, False)
        full = ""
        r = rnd()
        if c.form == "ИП":
            last, first, middle, _ = c.owner
            if r < 0.6:
                full = f"Индивидуальный предприниматель {last} {first} {middle}"
            elif r < 0.8:
                full = short
        elif r < 0.6:
            full = f"{FORMS[c.form][0]} «{c.core}»"
            if c.branch_label and rnd() < 0.5:
                full += c.branch_label
        elif r < 0.75:
            full = short
        inn = kpp = ""
        if rnd() >= COMPANY_NO_INN:
            inn = c.inn
            if rnd() < INN_TYPO:
                i = rng.randrange(2, len(inn))
                inn = inn[:i] + str((int(inn[i]) + rng.randrange(1, 10)) % 10) + inn[i + 1:]
                tags.append("inn_typo")
            kpp = c.kpp if c.kpp and rnd() < 0.9 else ""
        else:
            tags.append("no_inn")
        phone = self.landline(c.phone, c.city[2], formats, "", tags) if rnd() < 0.8 else ""
        email = ""
        if c.email and rnd() < 0.7:
            email = self.email_text(c.email, tags)
        kind = "Физ. лицо" if c.form == "ИП" and rnd() < 0.7 else "Юр. лицо"
        if c.parent is not None:
            tags.append("branch")
        elif c.branch_of:
            tags.append("head_office")
        return [short, full, inn, kpp, phone, email, kind], tags


# --- output -----------------------------------------------------------------------------------


def _cell(value: str) -> str:
    if '"' in value or ";" in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _pairs(sizes) -> int:
    return sum(k * (k - 1) // 2 for k in sizes)


def generate(records: int, out: Path, seed: int = 42, companies_share: float = 0.1) -> dict:
    """Write contacts.csv, companies.csv, the truth and annotation files and stats.json into `out`."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    world = World(seed)
    rng = world.rng
    company_rows = max(1, round(records * companies_share))
    world.build_companies(company_rows)
    world.build_people(records)

    formats: Counter = Counter()
    tag_counts: Counter = Counter()
    order = list(range(records))
    rng.shuffle(order)
    lines: list[str] = [""] * records
    truth: list[str] = [""] * records
    notes: list[str] = [""] * records
    i = 0
    appear = Counter()
    for p in world.persons:
        appear[p.rows] += 1
        full_namesake = bool(p.namesake) and world.is_full_namesake(p)
        for j in range(p.rows):
            cells, tags, switch, family = world.render_contact(p, j, formats)
            if p.namesake:
                tags.append("namesake")
                if full_namesake:
                    tags.append("namesake_full")
            tags = list(dict.fromkeys(tags))
            tag_counts.update(tags)
            pos = order[i]
            lines[pos] = ";".join(map(_cell, cells))
            truth[pos] = p.pid
            notes[pos] = f"{';'.join(tags)},{switch},{family},{p.namesake}"
            i += 1
    assert i == records, (i, records)
    with open(out / "contacts.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(";".join(CONTACT_HEADER) + "\r\n")
        for start in range(0, records, 100_000):
            fh.write("\r\n".join(lines[start:start + 100_000]) + "\r\n")
    del lines
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("source_row,person_id\n")
        fh.write("".join(f"{n},{pid}\n" for n, pid in enumerate(truth, 1)))
    with open(out / "annotations.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("source_row,tags,switchboard,family,namesake\n")
        fh.write("".join(f"{n},{note}\n" for n, note in enumerate(notes, 1)))
    del truth, notes

    # companies: the 1C dump
    core_groups: dict[str, list[Company]] = {}
    for c in world.companies:
        core_groups.setdefault(c.core.lower(), []).append(c)
    namesake_of = {}
    for members in core_groups.values():
        if len(members) > 1:
            for c in members:
                namesake_of[c.cid] = "N" + members[0].cid[1:]
    crows = []
    for c in world.companies:
        for _ in range(c.rows):
            cells, tags = world.render_company(c, formats)
            if c.cid in namesake_of:
                tags.append("namesake")
            crows.append((";".join(map(_cell, cells)), c.cid, f"{';'.join(tags)},{c.branch_of or ''},"
                                                              f"{namesake_of.get(c.cid, '')}", tags))
    rng.shuffle(crows)
    ctag_counts: Counter = Counter()
    with open(out / "companies.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(";".join(COMPANY_HEADER) + "\r\n")
        fh.write("".join(line + "\r\n" for line, *_ in crows))
    with open(out / "companies_truth.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("source_row,company_id\n")
        fh.write("".join(f"{n},{cid}\n" for n, (_, cid, _, _) in enumerate(crows, 1)))
    with open(out / "companies_annotations.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("source_row,tags,branch,namesake\n")
        fh.write("".join(f"{n},{note}\n" for n, (_, _, note, _) in enumerate(crows, 1)))
    for *_, tags in crows:
        ctag_counts.update(tags)

    persons = world.persons
    company_sizes = Counter(cid for _, cid, _, _ in crows)
    employees = Counter(p.company.cid for p in persons if p.company is not None)
    stats = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "records": records,
        "contacts": {
            "rows": records,
            "persons": len(persons),
            "rows_per_person": {str(k): appear[k] for k in sorted(appear)},
            "true_pairs": _pairs(p.rows for p in persons),
            "tags": dict(sorted(tag_counts.items())),
            "persons_employed": sum(p.company is not None for p in persons),
            "persons_changed_company": sum(p.company2 is not None for p in persons),
            "families": len({p.family for p in persons if p.family}),
            "persons_in_families": sum(bool(p.family) for p in persons),
            "namesake_groups": len({p.namesake for p in persons if p.namesake}),
            "persons_with_namesake": sum(bool(p.namesake) for p in persons),
            "persons_with_full_namesake": sum(bool(p.namesake) and world.is_full_namesake(p) for p in persons),
            "switchboard_companies": len(employees),
            "largest_company_staff": max(employees.values(), default=0),
        },
        "companies": {
            "rows": len(crows),
            "companies": len(company_sizes),
            "companies_in_world": len(world.companies),
            "true_pairs": _pairs(company_sizes.values()),
            "tags": dict(sorted(ctag_counts.items())),
            "branches": sum(c.parent is not None and c.rows > 0 for c in world.companies),
            "namesake_groups": len({v for k, v in namesake_of.items() if company_sizes.get(k)}),
            "entrepreneurs": sum(c.form == "ИП" and c.rows > 0 for c in world.companies),
        },
        "phone_formats": dict(sorted(formats.items())),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, required=True, help="rows of contacts.csv")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--companies-share", type=float, default=0.1,
                        help="rows of companies.csv as a share of --records (default 0.1)")
    args = parser.parse_args()
    stats = generate(args.records, args.out, args.seed, args.companies_share)
    c, co = stats["contacts"], stats["companies"]
    print(f"wrote {args.out}/: contacts.csv {c['rows']:,} rows of {c['persons']:,} persons "
          f"({c['true_pairs']:,} true pairs); companies.csv {co['rows']:,} rows of {co['companies']:,} companies "
          f"({co['true_pairs']:,} true pairs) in {stats['seconds']} s")


if __name__ == "__main__":
    main()
