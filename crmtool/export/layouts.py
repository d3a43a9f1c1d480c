"""Column layouts of the files CRMs import, shared by the exporters and `crmtool check`.

Bitrix24 maps a CSV column to a CRM field by its localized label (or field
id), case-insensitively; phones and e-mails are separate columns per type.
amoCRM maps columns in its import UI; the names of its own export make the
mapping automatic. Sources: docs/formats.md ("Bitrix24 CRM import",
"amoCRM import") and docs/exports.md. Bitrix24 has no import column for an
outside id: the golden id travels in a contact's "Дополнительно об источнике"
(SOURCE_DESCRIPTION) and, as companies have no source fields, in a company's
"Комментарий"; amoCRM gets a "Внешний ID" column to map to a custom field or
skip. The company import labels its OPENED column "Доступен для всех" (as
contacts do).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# golden phone / e-mail types (merge stage) → Bitrix24 column
BITRIX24_PHONE_COLUMNS = {
    "WORK": "Рабочий телефон",
    "MOBILE": "Мобильный телефон",
    "FAX": "Номер факса",
    "HOME": "Домашний телефон",
    "OTHER": "Другой телефон",
}
BITRIX24_EMAIL_COLUMNS = {
    "WORK": "Рабочий e-mail",
    "HOME": "Частный e-mail",
    "OTHER": "Другой e-mail",
}
AMOCRM_PHONE_COLUMNS = {
    "WORK": "Рабочий телефон",
    "MOBILE": "Мобильный телефон",
    "FAX": "Факс",
    "HOME": "Домашний телефон",
    "OTHER": "Другой телефон",
}
AMOCRM_EMAIL_COLUMNS = {"WORK": "Рабочий email", "HOME": "Личный email", "OTHER": "Другой email"}


@dataclass(frozen=True)
class Layout:
    """One import file: its columns in order, which of them a row needs (any of `one_of`),
    and which hold phones and e-mails (for validation)."""

    target: str
    entity: str  # contact | company
    columns: tuple[str, ...]
    one_of: tuple[str, ...]  # a row needs at least one of these filled
    phone_columns: tuple[str, ...] = ()
    email_columns: tuple[str, ...] = ()
    name_columns: tuple[str, ...] = ()
    company_column: str | None = None
    inn_column: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.target}-{self.entity}"


BITRIX24_CONTACTS = Layout(
    target="bitrix24", entity="contact",
    columns=("Обращение", "Имя", "Фамилия", "Отчество", "Дата рождения", "Компания", "Должность",
             *BITRIX24_PHONE_COLUMNS.values(), *BITRIX24_EMAIL_COLUMNS.values(),
             "Адрес", "Город", "Комментарий", "Тип контакта", "Источник", "Дополнительно об источнике",
             "Ответственный", "Доступен для всех"),
    one_of=("Имя", "Фамилия"),
    phone_columns=tuple(BITRIX24_PHONE_COLUMNS.values()),
    email_columns=tuple(BITRIX24_EMAIL_COLUMNS.values()),
    name_columns=("Фамилия", "Имя", "Отчество"),
    company_column="Компания",
)
BITRIX24_COMPANIES = Layout(
    target="bitrix24", entity="company",
    columns=("Название компании", "Тип компании", *BITRIX24_PHONE_COLUMNS.values(), *BITRIX24_EMAIL_COLUMNS.values(),
             "Корпоративный сайт", "Фактический адрес", "Юридический адрес", "ИНН", "КПП", "ОГРН",
             "Комментарий", "Ответственный", "Доступен для всех"),
    one_of=("Название компании",),
    phone_columns=tuple(BITRIX24_PHONE_COLUMNS.values()),
    email_columns=tuple(BITRIX24_EMAIL_COLUMNS.values()),
    company_column="Название компании",
    inn_column="ИНН",
)
AMOCRM_CONTACTS = Layout(
    target="amocrm", entity="contact",
    columns=("Полное имя контакта", "Имя", "Фамилия", "Компания контакта", "Ответственный за контакт",
             *AMOCRM_PHONE_COLUMNS.values(), *AMOCRM_EMAIL_COLUMNS.values(),
             "Должность", "Адрес", "Город", "Теги", "Примечание", "Внешний ID"),
    one_of=("Полное имя контакта", "Имя", "Фамилия"),
    phone_columns=tuple(AMOCRM_PHONE_COLUMNS.values()),
    email_columns=tuple(AMOCRM_EMAIL_COLUMNS.values()),
    name_columns=("Полное имя контакта",),
    company_column="Компания контакта",
)
AMOCRM_COMPANIES = Layout(
    target="amocrm", entity="company",
    columns=("Компания", "Ответственный", *AMOCRM_PHONE_COLUMNS.values(), *AMOCRM_EMAIL_COLUMNS.values(),
             "Web", "Адрес", "Город", "ИНН", "КПП", "ОГРН", "Теги", "Примечание", "Внешний ID"),
    one_of=("Компания",),
    phone_columns=tuple(AMOCRM_PHONE_COLUMNS.values()),
    email_columns=tuple(AMOCRM_EMAIL_COLUMNS.values()),
    company_column="Компания",
    inn_column="ИНН",
)

LAYOUTS = {layout.key: layout for layout in (BITRIX24_CONTACTS, BITRIX24_COMPANIES, AMOCRM_CONTACTS, AMOCRM_COMPANIES)}


def detect(columns: list[str]) -> Layout | None:
    """The layout a file's header belongs to: the one whose columns it covers best
    (at least its required ones and half of all), case-insensitively."""
    have = {c.strip().lower() for c in columns}
    best, best_share = None, 0.0
    for layout in LAYOUTS.values():
        wanted = [c.lower() for c in layout.columns]
        if not any(c.lower() in have for c in layout.one_of):
            continue
        share = sum(c in have for c in wanted) / len(wanted)
        if share >= 0.5 and share > best_share:
            best, best_share = layout, share
    return best
