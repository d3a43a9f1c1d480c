"""Generate large dirty Russian contact dumps for the load benchmarks.

    python benchmarks/generate.py --rows 1000000 --format csv --out benchmarks/data/contacts_1m.csv
    python benchmarks/generate.py --rows 100000 --format xlsx --out benchmarks/data/contacts_100k.xlsx
    python benchmarks/generate.py --rows 100000 --format commerceml --out benchmarks/data/counterparties_100k.xml
    python benchmarks/generate.py --rows 100000 --format vcard --out benchmarks/data/phone_100k.vcf

The data looks like an SMB base: ФИО in several orders, phones in many
formats (some several per cell, some stored as numbers in Excel), e-mails with
case noise, companies with legal forms, multi-line comments. Deterministic for
a given --seed.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

LAST = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Васильев", "Фёдоров", "Морозов", "Волков",
        "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев"]
FIRST_M = ["Иван", "Пётр", "Алексей", "Сергей", "Андрей", "Дмитрий", "Михаил", "Николай", "Владимир", "Евгений"]
FIRST_F = ["Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Юлия", "Екатерина"]
MIDDLE_M = ["Иванович", "Петрович", "Сергеевич", "Алексеевич", "Андреевич", "Николаевич", "Владимирович"]
MIDDLE_F = ["Ивановна", "Петровна", "Сергеевна", "Алексеевна", "Андреевна", "Николаевна", "Владимировна"]
COMPANY = ["Ромашка", "Лютик", "Вектор", "Альфа-Строй", "ТехноСервис", "Северный ветер", "Меридиан", "Горизонт"]
FORMS = ["ООО «{}»", "{}, ООО", "ЗАО \"{}\"", "ИП {}", "АО {}", "{}"]
CITIES = ["Москва", "Тверь", "Санкт-Петербург", "Казань", "Новосибирск", "г. Екатеринбург"]
DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru"]
HEADER = ["ФИО", "Компания", "Должность", "Телефон", "Моб. тел.", "E-mail", "Город", "Дата рождения",
          "Ответственный", "Комментарий"]


# A real base of a million clients has hundreds of thousands of distinct ФИО and
# company names: build them from stems so the per-distinct-value work is measured
# at that scale, not on a few hundred names.
STEMS = ["Иван", "Петр", "Сидор", "Кузнец", "Смирн", "Поп", "Васильч", "Федот", "Мороз", "Волк", "Алексе",
         "Лебед", "Семён", "Егор", "Павл", "Козл", "Степан", "Николаш", "Орл", "Андре", "Соколь", "Медвед",
         "Зайц", "Белк", "Голуб", "Ворон", "Сорок", "Журавл", "Гус", "Утк", "Комар", "Жук", "Пчел", "Ос",
         "Бобр", "Барсук", "Лис", "Ёж", "Крот", "Щук", "Окун", "Карп", "Сом", "Лещ", "Ерш", "Пескар", "Глух",
         "Тетер", "Рябч", "Снегир", "Чиж", "Щегл", "Дрозд", "Скворц", "Клёст", "Филин", "Сыч", "Ястреб",
         "Сокол", "Кречет", "Беркут", "Орлан", "Грач", "Галк", "Стриж", "Ласточк", "Кукушк", "Дятл", "Иволг"]
ENDINGS_M = ["ов", "ев", "ин", "ский", "енко", "юк", "ович", "ых", "ицкий", "анов"]
FIRST_M += ["Олег", "Виктор", "Юрий", "Константин", "Павел", "Роман", "Артём", "Максим", "Кирилл", "Егор",
            "Станислав", "Вячеслав", "Григорий", "Борис", "Леонид", "Тимур", "Руслан", "Ильдар", "Фёдор", "Антон"]
FIRST_F += ["Валентина", "Галина", "Людмила", "Надежда", "Вера", "Любовь", "Ксения", "Дарья", "Алина", "Полина",
            "Софья", "Виктория", "Александра", "Евгения", "Маргарита", "Лариса", "Зоя", "Нина", "Алла", "Диана"]
MIDDLE_M += [f"{n}ович" for n in ("Олег", "Виктор", "Роман", "Максим", "Кирилл", "Антон", "Павл", "Борис", "Фёдор")]
MIDDLE_F += [f"{n}овна" for n in ("Олег", "Виктор", "Роман", "Максим", "Кирилл", "Антон", "Павл", "Борис", "Фёдор")]
CORE_WORDS = ["Строй", "Торг", "Снаб", "Сервис", "Техно", "Инвест", "Альфа", "Бета", "Гамма", "Вектор", "Ромашк",
              "Лютик", "Меридиан", "Горизонт", "Север", "Юг", "Восток", "Запад", "Урал", "Волга", "Нева", "Дон"]


def surname(rng: random.Random, female: bool) -> str:
    name = rng.choice(STEMS) + rng.choice(ENDINGS_M)
    if female and name.endswith(("ов", "ев", "ин", "ан")):
        name += "а"
    elif female and name.endswith("ий"):
        name = name[:-2] + "ая"
    if rng.random() < 0.03:  # a typo
        i = rng.randrange(1, len(name))
        name = name[:i] + rng.choice("аеиоуя") + name[i + 1:]
    return name


def company_name(rng: random.Random) -> str:
    core = rng.choice(CORE_WORDS) + rng.choice(["", "-", " "]).join(["", rng.choice(CORE_WORDS).lower()])
    if rng.random() < 0.5:
        core += f" {rng.randrange(1, 999)}"
    return rng.choice(FORMS).format(core)


def phone(rng: random.Random) -> str:
    n = f"9{rng.randrange(10**9):09d}"
    shape = rng.randrange(6)
    if shape == 0:
        return f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"
    if shape == 1:
        return f"+7 {n[:3]} {n[3:]}"
    if shape == 2:
        return f"7{n}"
    if shape == 3:
        return f"8{n}"
    if shape == 4:
        return f"+7 ({n[:3]}) {n[3:6]}-{n[6:]} доб. {rng.randrange(100, 999)}"
    return f"{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"


def person(rng: random.Random) -> list[object]:
    female = rng.random() < 0.5
    last = surname(rng, female)
    first = rng.choice(FIRST_F if female else FIRST_M)
    middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
    order = rng.randrange(4)
    name = [f"{last} {first} {middle}", f"{first} {last}", f"{last} {first[0]}.{middle[0]}.", f"{last.upper()} {first.upper()}"][order]
    company = company_name(rng) if rng.random() < 0.6 else ""
    phones = phone(rng) if rng.random() < 0.9 else ""
    if rng.random() < 0.05:
        phones += ", " + phone(rng)
    email = f"{rng.choice(['ivan', 'anna', 'info', 'sales', 'petrov', 'k.olga'])}{rng.randrange(10**6)}@{rng.choice(DOMAINS)}"
    email = email.upper() if rng.random() < 0.1 else email
    note = "перезвонить\nпосле обеда" if rng.random() < 0.02 else ("VIP" if rng.random() < 0.05 else "")
    birthday = f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.{rng.randrange(1950, 2005)}" if rng.random() < 0.3 else ""
    return [name, company, rng.choice(["", "директор", "менеджер", "бухгалтер"]), phones,
            phone(rng) if rng.random() < 0.3 else "", email if rng.random() < 0.8 else "", rng.choice(CITIES),
            birthday, rng.choice(["Иванова А.С.", "Петров П.П.", ""]), note]


def inn10(rng: random.Random) -> str:
    """A 10-digit ИНН: checksum-valid 9 times in 10, a typo otherwise."""
    digits = [rng.randrange(10) for _ in range(9)]
    digits[0] = rng.randrange(1, 10)
    check = sum(w * d for w, d in zip([2, 4, 10, 3, 5, 9, 4, 6, 8], digits)) % 11 % 10
    if rng.random() < 0.1:
        check = (check + 1) % 10
    return "".join(map(str, digits)) + str(check)


def write_csv(path: Path, rows: int, seed: int, encoding: str, requisites: bool = False) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding=encoding, newline="", errors="replace") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER + (["ИНН", "КПП"] if requisites else []))
        for _ in range(rows):
            row = person(rng)
            if requisites:
                inn = inn10(rng) if row[1] and rng.random() < 0.5 else ""
                row += [inn, f"{inn[:4]}01001" if inn else ""]
            writer.writerow(row)


def write_xlsx(path: Path, rows: int, seed: int) -> None:
    import openpyxl

    rng = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Клиенты")
    ws.append(["Клиентская база (выгрузка)"])
    ws.append([])
    ws.append(HEADER)
    for _ in range(rows):
        r = person(rng)
        digits = "".join(ch for ch in r[4] if ch.isdigit())
        if digits and len(digits) == 11 and rng.random() < 0.5:
            r[4] = int(digits)  # a phone stored as a number, as Excel users do
        ws.append(r)
    wb.save(path)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_commerceml(path: Path, rows: int, seed: int) -> None:
    """A 1C export: `rows` counterparties (70% companies with one contact person each)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">\n<Контрагенты>\n')
        for i in range(rows):
            name, company, title, tel, mobile, email, city, birthday, *_ = person(rng)
            contacts = "".join(
                f"<Контакт><Тип>{kind}</Тип><Значение>{_xml(value)}</Значение></Контакт>"
                for kind, value in (("Телефон рабочий", tel), ("Телефон мобильный", mobile), ("Почта", email)) if value
            )
            if rng.random() < 0.7:
                core = rng.choice(COMPANY)
                fh.write(
                    f"<Контрагент><Ид>{i}</Ид><Наименование>{_xml(core)} ООО</Наименование>"
                    f"<ОфициальноеНаименование>ООО «{_xml(core)}»</ОфициальноеНаименование>"
                    f"<ИНН>{rng.randrange(10**9, 10**10)}</ИНН><КПП>{rng.randrange(10**8, 10**9)}</КПП>"
                    f"<ЮридическийАдрес><Представление>{city}, ул. Ленина, д. {i % 200}</Представление></ЮридическийАдрес>"
                    f"<Контакты><Контакт><Тип>Телефон рабочий</Тип><Значение>{phone(rng)}</Значение></Контакт></Контакты>"
                    f"<Представители><Представитель><Ид>p{i}</Ид><Наименование>{_xml(name)}</Наименование>"
                    f"<Контакты>{contacts}</Контакты><Отношение>Контактное лицо</Отношение></Представитель></Представители>"
                    "<Роль>Покупатель</Роль></Контрагент>\n"
                )
            else:
                fh.write(
                    f"<Контрагент><Ид>{i}</Ид><Наименование>{_xml(name)}</Наименование>"
                    f"<ПолноеНаименование>{_xml(name)}</ПолноеНаименование><Контакты>{contacts}</Контакты>"
                    "<Роль>Покупатель</Роль></Контрагент>\n"
                )
        fh.write("</Контрагенты>\n</КоммерческаяИнформация>\n")


def _qp(text: str) -> str:
    return "".join(f"={b:02X}" for b in text.encode("utf-8"))


def write_vcard(path: Path, rows: int, seed: int) -> None:
    """A phone's address book: Android-style 2.1 cards with quoted-printable Cyrillic, some with a photo."""
    rng = random.Random(seed)
    photo = "/9j/4AAQSkZJRgABAQAAAQABAAD" + "A" * 3000
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for _ in range(rows):
            name, company, title, tel, mobile, email, *_ = person(rng)
            parts = name.split()
            lines = ["BEGIN:VCARD", "VERSION:2.1",
                     f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(parts[0])};{_qp(' '.join(parts[1:]))};;;",
                     f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(name)}"]
            if tel:
                lines.append(f"TEL;CELL:{tel.split(',')[0]}")
            if mobile:
                lines.append(f"TEL;WORK:{mobile}")
            if email:
                lines.append(f"EMAIL;HOME:{email}")
            if company:
                lines.append(f"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{_qp(company)}")
            if rng.random() < 0.05:
                lines.append("PHOTO;ENCODING=BASE64;JPEG:" + photo[:70])
                lines.extend(" " + photo[i:i + 72] for i in range(70, len(photo), 72))
                lines.append("")
            lines.append("END:VCARD")
            fh.write("\r\n".join(lines) + "\r\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--format", choices=["csv", "xlsx", "commerceml", "vcard"], required=True)
    parser.add_argument("--encoding", default="utf-8", help="for csv: utf-8 or cp1251")
    parser.add_argument("--requisites", action="store_true", help="for csv: add ИНН and КПП columns")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "csv":
        write_csv(args.out, args.rows, args.seed, args.encoding, args.requisites)
    elif args.format == "xlsx":
        write_xlsx(args.out, args.rows, args.seed)
    elif args.format == "commerceml":
        write_commerceml(args.out, args.rows, args.seed)
    else:
        write_vcard(args.out, args.rows, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
