"""Every word of the client report, in Russian and English.

A text is an `L` (one string per language). The report carries both languages and
a switch shows one; numbers, file names and masked values are the same in both.
Codes the pipeline stores (reasons, comparison levels) are looked up here and,
when unknown, shown as the code with spaces, so a new code never breaks a report.
"""

from __future__ import annotations

from typing import NamedTuple

LANGS = ("ru", "en")


class L(NamedTuple):
    ru: str
    en: str

    def format(self, *args, **kwargs) -> "L":
        return L(self.ru.format(*args, **kwargs), self.en.format(*args, **kwargs))


TITLE = L("Отчёт о клиентской базе", "Client base report")
SWITCH = L("English", "Русский")
GENERATED = L("Составлен {when} по рабочей базе {db}.", "Made {when} from the workspace {db}.")
HOW_TO_READ = L(
    "Все числа посчитаны по всем записям базы; персональные данные в примерах скрыты (видна первая буква, "
    "последние цифры телефона, домен почты).",
    "Every number is counted over all records of the base; personal data in the examples is masked (the first "
    "letter, a phone's last digits, an e-mail's domain stay).",
)

# stages
NOT_NORMALIZED = L(
    "Данные ещё не проверены (нормализация не запускалась): показаны только загруженные файлы. "
    "Запустите `crmtool normalize` или `crmtool run`.",
    "The data has not been checked yet (normalize has not run): only the loaded files are shown. "
    "Run `crmtool normalize` or `crmtool run`.",
)
NOT_MATCHED = L(
    "Поиск дублей ещё не выполнялся: разделы о дублях и примерах объединений пусты. "
    "Запустите `crmtool match` и `crmtool merge` (или `crmtool run`).",
    "Duplicates have not been searched for yet: the sections on duplicates and example merges are empty. "
    "Run `crmtool match` and `crmtool merge` (or `crmtool run`).",
)
NOT_MERGED = L(
    "Дубли найдены, но ещё не объединены: итоговых контактов и примеров объединений пока нет. "
    "Запустите `crmtool merge`.",
    "Duplicates are found but not merged yet: there are no final contacts or example merges so far. "
    "Run `crmtool merge`.",
)
STALE = L(
    "Файлы менялись после последней проверки данных: отчёт показывает прошлое состояние. "
    "Запустите `crmtool run`, чтобы обновить.",
    "Files changed after the data was last checked: the report shows the earlier state. "
    "Run `crmtool run` to refresh it.",
)
NO_RECORDS = L("В рабочей базе нет записей: загрузите файлы (`crmtool load`).",
               "The workspace holds no records: load files first (`crmtool load`).")

# summary tiles
TILE_RECORDS = L("записей загружено", "records loaded")
TILE_SOURCES = L("файлов-источников", "source files")
TILE_CONTACTS = L("контактов после объединения", "contacts after merging")
TILE_COMPANIES = L("компаний после объединения", "companies after merging")
TILE_MERGED = L("записей-дублей объединено", "duplicate records merged")
TILE_REVIEW = L("вопросов ждут проверки человеком", "questions wait for a person's check")

# sections
SEC_SOURCES = L("Записи по источникам", "Records per source")
SEC_SOURCES_NOTE = L(
    "Сколько записей дал каждый файл и что в них: люди, компании или человек вместе с компанией.",
    "How many records each file gave and what they are: people, companies, or a person with a company.",
)
SEC_QUALITY = L("Заполненность и правильность полей", "Field completeness and validity")
SEC_QUALITY_NOTE = L(
    "Заполнено — доля записей, где поле есть. Верно — доля значений, которые прошли проверку "
    "(в том числе после исправления).",
    "Filled: the share of records that have the field. Valid: the share of the values present that passed "
    "the checks (after fixing, where it could be fixed).",
)
FILLED = L("Заполнено", "Filled")
VALID = L("Верно", "Valid")
NO_CHANNEL = L("Нет ни телефона, ни e-mail", "Neither a phone nor an e-mail")
NO_CHANNEL_NOTE = L("Записи, с которыми нельзя связаться.", "Records no one can reach.")
TOP_PROBLEMS = L("Частые проблемы", "Most common problems")
SEC_CHANNELS = L("Телефоны и e-mail: исправлено и неверно", "Phones and e-mails: fixed and invalid")
SEC_CHANNELS_NOTE = L(
    "Каждое значение проверено: верно как есть, приведено к единому виду, исправлено, предложено исправление "
    "или неверно (такие не теряются, но в CRM не попадут как телефон или e-mail).",
    "Every value was checked: right as it was, brought to one format, fixed, a fix suggested, or invalid "
    "(kept, but not sent to the CRM as a phone or e-mail).",
)
SEC_DUPES = L("Найденные дубли", "Duplicates found")
SEC_DUPES_NOTE = L(
    "Сколько записей собралось в один контакт. 1 — дублей нет; 2 и больше — эти записи описывают одного человека.",
    "How many records came together into one contact. 1: no duplicates; 2 or more: those records describe "
    "one person.",
)
CONTACT_SIZES = L("Контакты: записей в одном контакте", "Contacts: records per contact")
COMPANY_SIZES = L("Компании: записей, где упомянута компания", "Companies: records that mention the company")
SOURCE_PAIRS = L("Какие файлы дублируют друг друга", "Which files duplicate each other")
SOURCE_PAIRS_NOTE = L(
    "Число контактов, собранных из записей обоих файлов (для одного файла — дубли внутри него).",
    "The number of contacts made of records from both files (for one file: duplicates inside it).",
)
SAME_FILE = L("внутри файла", "within the file")
SEC_REVIEW = L("Ждут решения человека", "Waiting for a person's decision")
SEC_REVIEW_NOTE = L(
    "Пары контактов, про которые программа не уверена, один ли это человек: по одному вопросу на пару "
    "(самая сильная связь между ними). Их проверяют командой `crmtool review`.",
    "Pairs of contacts the program is not sure are one person, one question each (the strongest link "
    "between them). They are checked with `crmtool review`.",
)
REVIEW_PENDING = L("ждут решения", "waiting")
REVIEW_SAME = L("решено: один человек", "decided: one person")
REVIEW_DIFFERENT = L("решено: разные люди", "decided: different people")
REVIEW_NONE = L("Проверять нечего: все вопросы решены.", "Nothing to check: every question is decided.")
PROBABILITY = L("Ждут решения, по вероятности, что это один человек",
                "Waiting, by the probability that it is one person")
SEC_SHARED = L("Общие телефоны и e-mail", "Shared phones and e-mails")
SEC_SHARED_NOTE = L(
    "Один номер или адрес у нескольких разных людей: общий телефон офиса, семьи, общий ящик. "
    "Такие совпадения не считаются доказательством, что это один человек.",
    "One number or address held by several different people: an office switchboard, a family phone, a shared "
    "mailbox. Such a match alone is not taken as proof of one person.",
)
SHARED_PHONES = L("Телефоны", "Phones")
SHARED_EMAILS = L("E-mail", "E-mails")
SHARED_TOTAL = L("всего общих: {n}", "shared in all: {n}")
PEOPLE = L("людей", "people")
RECORDS = L("записей", "records")
NONE_SHARED = L("Общих нет.", "None shared.")
SEC_EXAMPLES = L("Примеры объединений", "Example merges")
SEC_EXAMPLES_NOTE = L(
    "Несколько контактов, собранных из разных файлов, и почему программа решила, что это один человек.",
    "A few contacts made of records from several files, and why the program decided it is one person.",
)
EX_CONTACT = L("Контакт {id} · записей: {n} · файлов: {s}", "Contact {id} · records: {n} · files: {s}")
EX_RECORD = L("запись", "record")
EX_NAME = L("ФИО", "name")
EX_PHONES = L("телефоны", "phones")
EX_EMAILS = L("e-mail", "e-mails")
EX_COMPANY = L("компания", "company")
EX_WHY = L("Почему объединены", "Why merged")
EX_MORE = L("и ещё {n}", "and {n} more")
EX_COMPANY_LINK = L("Компания: {name}", "Company: {name}")
EX_NONE = L("Объединений пока нет.", "No merges so far.")
OTHER_SOURCES = L("остальные файлы ({n})", "other files ({n})")
OTHER_PAIRS = L("Ещё пар файлов: {pairs}, в них контактов: {n}.", "{pairs} more pairs of files, with {n} contacts.")
EMPTY = L("Нет данных.", "No data.")
FOOTER = L(
    "Отчёт составлен программой crmtool. Он не содержит записей целиком — только итоги и несколько "
    "примеров со скрытыми данными.",
    "Made by crmtool. It holds no whole records: only totals and a few examples with masked data.",
)

# records per source: entity hints
ENTITY = {
    "person": L("человек", "person"),
    "person_at_company": L("человек и компания", "person with company"),
    "company": L("компания", "company"),
    "unknown": L("не понять", "unclear"),
}

# fields of the quality table
FIELD = {
    "name": L("ФИО", "Name"),
    "phone": L("Телефоны", "Phones"),
    "email": L("E-mail", "E-mails"),
    "company": L("Компания", "Company"),
    "inn": L("ИНН", "INN (tax no.)"),
    "kpp": L("КПП", "KPP"),
    "ogrn": L("ОГРН", "OGRN"),
}
SOURCE = L("Файл", "File")
ALL_SOURCES = L("Все файлы", "All files")

# what became of each phone / e-mail
OUTCOME = {
    "as_is": L("верно как есть", "right as it was"),
    "tidied": L("приведено к виду", "reformatted"),
    "fixed": L("исправлено", "fixed"),
    "suggested": L("предложено исправление", "fix suggested"),
    "invalid": L("неверно", "invalid"),
}
STATUS = {
    "fixed": L("исправлено", "fixed"),
    "suggested": L("предложено", "suggested"),
    "invalid": L("неверно", "invalid"),
    "ok": L("верно", "valid"),
}

# reasons the normalize stage stores (field_stats / field_checks)
REASON = {
    "reformatted": L("записан в формате +7", "written as +7 …"),
    "extension": L("добавочный отделён", "extension split off"),
    "assumed_international": L("код страны подставлен", "country code assumed"),
    "leading_zero_restored": L("восстановлен первый 0", "leading 0 restored"),
    "digits_lost": L("цифры потеряны (Excel)", "digits lost (Excel)"),
    "no_area_code": L("нет кода города", "no area code"),
    "extension_only": L("только добавочный", "extension only"),
    "too_short": L("слишком короткий", "too short"),
    "too_long": L("слишком длинный", "too long"),
    "not_a_number": L("не номер", "not a number"),
    "no_digits": L("нет цифр", "no digits"),
    "bad_region": L("неверный код", "wrong code"),
    "invalid_country_code": L("неверный код страны", "wrong country code"),
    "case_trimmed": L("регистр и пробелы", "case and spaces"),
    "mailto_removed": L("убрано mailto:", "mailto: removed"),
    "punctuation_removed": L("убраны лишние знаки", "stray punctuation removed"),
    "display_name_removed": L("убрано имя перед адресом", "display name removed"),
    "comment_removed": L("убран комментарий", "comment removed"),
    "spaces_removed": L("убраны пробелы", "spaces removed"),
    "idn_decoded": L("домен .рф раскодирован", "IDN domain decoded"),
    "split": L("разделены несколько", "several split"),
    "typo_fixed": L("опечатка в домене исправлена", "domain typo fixed"),
    "layout_fixed": L("раскладка исправлена", "keyboard layout fixed"),
    "homoglyph_fixed": L("похожие буквы исправлены", "look-alike letters fixed"),
    "mixed_script_fixed": L("смесь алфавитов исправлена", "mixed alphabets fixed"),
    "domain_typo_suspected": L("похоже на опечатку в домене", "domain typo suspected"),
    "tld_typo_suspected": L("похоже на опечатку в зоне", "top-level domain typo suspected"),
    "layout_suspected": L("похоже на другую раскладку", "other keyboard layout suspected"),
    "exchange_dn": L("адрес Exchange, не e-mail", "an Exchange address, not an e-mail"),
    "bad_domain": L("неверный домен", "bad domain"),
    "no_at": L("нет @", "no @"),
    "several_at": L("несколько @", "several @"),
    "no_domain": L("нет домена", "no domain"),
    "no_local_part": L("нет имени ящика", "no mailbox name"),
    "bad_local_part": L("неверное имя ящика", "bad mailbox name"),
    "domain_invalid": L("неверный домен", "invalid domain"),
    "cyrillic_letters": L("русские буквы в адресе", "Cyrillic letters in the address"),
    "extra_words": L("лишние слова", "extra words"),
    "not_a_name": L("не похоже на имя", "not a name"),
    "only_initials": L("только инициалы", "initials only"),
    "bad_checksum": L("неверная контрольная сумма", "bad check digit"),
    "bad_length": L("неверная длина", "wrong length"),
    "bad_format": L("неверный формат", "bad format"),
    "form_moved": L("форма собственности перенесена", "legal form moved"),
    "quotes_added": L("добавлены кавычки", "quotes added"),
    "quotes_unified": L("кавычки выровнены", "quotes unified"),
    "form_abbreviated": L("форма сокращена", "legal form abbreviated"),
    "form_normalized": L("форма приведена", "legal form normalized"),
    "empty": L("пусто", "empty"),
}

# why two records were judged one person: comparison levels (crmtool.match.features.LEVELS)
COMPARISON = {
    "surname": L("фамилия", "surname"),
    "first_name": L("имя", "first name"),
    "middle_name": L("отчество", "patronymic"),
    "gender": L("пол", "gender"),
    "phone": L("телефон", "phone"),
    "email": L("e-mail", "e-mail"),
    "company": L("компания", "company"),
    "city": L("город", "city"),
}
LEVEL = {
    "exact": L("совпадает", "the same"),
    "same": L("совпадает", "the same"),
    "shared": L("общий", "shared"),
    "shared_weak": L("общий, но офисный", "shared, but an office line"),
    "translit": L("совпадает в латинице", "the same in Latin letters"),
    "diminutive_or_translit": L("уменьшительное или латиница", "a short form or Latin spelling"),
    "close": L("почти совпадает", "almost the same"),
    "similar": L("похожа", "similar"),
    "initial": L("совпадает инициал", "the initial matches"),
    "domain": L("тот же домен почты", "the same e-mail domain"),
    "different": L("разные", "different"),
    "different_mobiles": L("разные мобильные", "different mobiles"),
    "conflict": L("разный", "different"),
}
DECISION = {
    "auto": L("объединены автоматически", "merged automatically"),
    "review": L("на проверке", "waiting for review"),
    "reject": L("напрямую не похожи, связаны через другие записи", "not alike directly, joined through other records"),
}
VERDICT = L("решение человека: {v}", "a person's decision: {v}")


def code_text(table: dict[str, L], code: str | None) -> L:
    """The words for a stored code; the code itself (with spaces) when this module does not know it."""
    if code is None:
        return L("—", "—")
    if code in table:
        return table[code]
    plain = code.replace("_", " ")
    return L(plain, plain)
