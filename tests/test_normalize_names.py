"""Person-name normalization: splitting and ordering ФИО, fixes, gender, company names, match keys."""

from __future__ import annotations

import iuliia
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmtool.normalize import STATUSES
from crmtool.normalize import name_keys as nk
from crmtool.normalize.names import OUTPUT_SCHEMA, normalize_names

COLUMNS = ("full_name", "last_name", "first_name", "middle_name")


def run(rows: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}, orient="row")
    return normalize_names(frame)


def one(full=None, last=None, first=None, middle=None) -> dict:
    return run([(full, last, first, middle)]).row(0, named=True)


def parts(row: dict) -> tuple:
    return (row["last_name"], row["first_name"], row["middle_name"], row["gender"], row["status"], row["reason"])


# (full_name, (last, first, middle, gender, status, reason))
FULL_NAME_CASES = [
    ("Иванов Иван Иванович", ("Иванов", "Иван", "Иванович", "М", "ok", None)),
    ("иванов иван иванович", ("Иванов", "Иван", "Иванович", "М", "fixed", "case_fixed")),
    ("ИВАНОВ ИВАН", ("Иванов", "Иван", None, "М", "fixed", "case_fixed")),
    ("Иван Иванов", ("Иванов", "Иван", None, "М", "fixed", "reordered")),
    ("Иван Иванович Иванов", ("Иванов", "Иван", "Иванович", "М", "fixed", "reordered")),
    ("Иванов И.О.", ("Иванов", "И.", "О.", "М", "ok", None)),
    ("Иванов И. О.", ("Иванов", "И.", "О.", "М", "ok", None)),
    ("И.О. Иванов", ("Иванов", "И.", "О.", "М", "fixed", "reordered")),
    ("И. Иванов", ("Иванов", "И.", None, "М", "fixed", "reordered")),
    ("Жуков Г К", ("Жуков", "Г.", "К.", "М", "ok", None)),
    ("Иванов  Иван   Иванович", ("Иванов", "Иван", "Иванович", "М", "ok", None)),
    ("  Петрова, Анна  ", ("Петрова", "Анна", None, "Ж", "ok", None)),
    ("Петрова Анна Сергеевна", ("Петрова", "Анна", "Сергеевна", "Ж", "ok", None)),
    ("Анна Сергеевна", (None, "Анна", "Сергеевна", "Ж", "ok", None)),
    ("Кузьмина Ольга Ильинична", ("Кузьмина", "Ольга", "Ильинична", "Ж", "ok", None)),
    ("Иванoв Иван", ("Иванов", "Иван", None, "М", "fixed", "mixed_script_fixed")),  # Latin o
    ("Cидоров Пётр", ("Сидоров", "Пётр", None, "М", "fixed", "mixed_script_fixed")),  # Latin C
    ("Fёdor Kuznetsov", ("Kuznetsov", "Fedor", None, "М", "fixed", "mixed_script_fixed")),  # a kept ё in Latin
    ("Фёдоров Пётр Алексеевич", ("Фёдоров", "Пётр", "Алексеевич", "М", "ok", None)),
    ("иванов-петров сергей", ("Иванов-Петров", "Сергей", None, "М", "fixed", "case_fixed")),
    ("фон Браун Вернер", ("фон Браун", "Вернер", None, "М", "ok", None)),
    ("Вернер фон Браун", ("фон Браун", "Вернер", None, "М", "fixed", "reordered")),
    ("Алиев Рашид Гасан оглы", ("Алиев", "Рашид", "Гасан оглы", "М", "ok", None)),
    ("Мамедова Лейла Гасан кызы", ("Мамедова", "Лейла", "Гасан кызы", "Ж", "ok", None)),
    ("Шостакович Дмитрий Дмитриевич", ("Шостакович", "Дмитрий", "Дмитриевич", "М", "ok", None)),
    ("Лев Толстой", ("Толстой", "Лев", None, "М", "fixed", "reordered")),
    # a surname in -ович whose stem is no first name is not a patronymic, and says nothing of gender
    ("Наталья Любович", ("Любович", "Наталья", None, "Ж", "fixed", "reordered")),
    ("Новодемидович А. С.", ("Новодемидович", "А.", "С.", "НД", "ok", None)),
    ("Anna Tikhobobrovich", ("Tikhobobrovich", "Anna", None, "Ж", "ok", None)),
    ("Иван Петрович", (None, "Иван", "Петрович", "М", "ok", None)),
    ("Никита Ильич", (None, "Никита", "Ильич", "М", "ok", None)),
    ("Саша Иванова", ("Иванова", "Саша", None, "Ж", "fixed", "reordered")),
    ("Марина Иванова", ("Иванова", "Марина", None, "Ж", "fixed", "reordered")),
    ("Кузнец Иван", ("Кузнец", "Иван", None, "М", "ok", None)),
    ("Женя", (None, "Женя", None, "НД", "ok", None)),
    ("Ирина", (None, "Ирина", None, "Ж", "ok", None)),
    ("Иванова", ("Иванова", None, None, "Ж", "ok", None)),
    ("Евлампий Сидоров", ("Сидоров", "Евлампий", None, "М", "fixed", "reordered")),  # name known to pymorphy only
    ("Ivan Ivanov", ("Ivanov", "Ivan", None, "М", "ok", None)),
    ("John Doe", ("Doe", "John", None, "М", "ok", None)),
    ("JOHN DOE", ("Doe", "John", None, "М", "fixed", "case_fixed")),
    ("Mary Ann Smith", ("Smith", "Mary", "Ann", "Ж", "ok", None)),
    ("Alexey Kuznetsov", ("Kuznetsov", "Alexey", None, "М", "ok", None)),
    ("O'NEIL MARY", ("O'Neil", "Mary", None, "Ж", "fixed", "case_fixed")),
    ("Сантехник Михалыч", (None, None, "Михалыч", "М", "suggested", "extra_words")),
    ("Иван (менеджер)", (None, "Иван", None, "М", "suggested", "extra_words")),
    ("Иванов Иван 89161234567", ("Иванов", "Иван", None, "М", "suggested", "extra_words")),
    ("г-н Петров", ("Петров", None, None, "М", "suggested", "extra_words")),
    ("Тётя Маша", (None, "Маша", None, "Ж", "suggested", "extra_words")),
    ("89161234567", (None, None, None, "НД", "invalid", "not_a_name")),
    ("ivan@mail.ru", (None, None, None, "НД", "invalid", "not_a_name")),
    ("Ромашка", (None, None, None, "НД", "invalid", "not_a_name")),
    ("И.И.", (None, "И.", "И.", "НД", "invalid", "only_initials")),
    ("ООО Ромашка", (None, None, None, "НД", "invalid", "is_company")),
    ("ИП Петров", (None, None, None, "НД", "invalid", "is_company")),
    ("Ромашка LLC", (None, None, None, "НД", "invalid", "is_company")),
    ("«Ромашка»", (None, None, None, "НД", "invalid", "is_company")),
    ("", (None, None, None, "НД", "missing", "empty")),
    ("  -  ", (None, None, None, "НД", "missing", "empty")),
    (None, (None, None, None, "НД", "missing", "empty")),
]


@pytest.mark.parametrize("full, expected", FULL_NAME_CASES, ids=[repr(c[0]) for c in FULL_NAME_CASES])
def test_full_name(full, expected):
    assert parts(one(full=full)) == expected


# ((full, last, first, middle), (last, first, middle, gender, status, reason))
PART_CASES = [
    ((None, "Иванов", "Иван", "Иванович"), ("Иванов", "Иван", "Иванович", "М", "ok", None)),
    ((None, "Иван", "Иванов", None), ("Иванов", "Иван", None, "М", "fixed", "reordered")),
    ((None, "Саша", "Иванова", None), ("Иванова", "Саша", None, "Ж", "fixed", "reordered")),
    ((None, "Петрович", "Иван", "Сидоров"), ("Сидоров", "Иван", "Петрович", "М", "fixed", "reordered")),
    ((None, None, "Иван Иванович", None), (None, "Иван", "Иванович", "М", "fixed", "split_parts")),
    ((None, "Иванов Иван Иванович", None, None), ("Иванов", "Иван", "Иванович", "М", "fixed", "split_parts")),
    ((None, "ИВАНОВА", "АННА", None), ("Иванова", "Анна", None, "Ж", "fixed", "case_fixed")),
    ((None, "Иванов", "И.", "И."), ("Иванов", "И.", "И.", "М", "ok", None)),
    ((None, None, "И.И.", None), (None, "И.", "И.", "НД", "invalid", "only_initials")),
    ((None, "Doe", "John", None), ("Doe", "John", None, "М", "ok", None)),
    ((None, "ИП Петров", None, None), (None, None, None, "НД", "invalid", "is_company")),
    # both: the parts win, the full name only completes them
    (("Иванов Иван Иванович", "Иванов", "Иван", None), ("Иванов", "Иван", "Иванович", "М", "fixed", "split_from_full_name")),
    (("Вася", "Пупкин", None, None), ("Пупкин", "Вася", None, "М", "fixed", "split_from_full_name")),
    (("Петров Пётр Петрович", "Иванов", "Иван", None), ("Иванов", "Иван", None, "М", "ok", None)),
    (("ООО «Ромашка»", "Иванов", "Иван", None), ("Иванов", "Иван", None, "М", "ok", None)),
    (("Сидоров Сидор", "-", None, None), ("Сидоров", "Сидор", None, "М", "ok", None)),
]


@pytest.mark.parametrize("row, expected", PART_CASES, ids=[repr(c[0]) for c in PART_CASES])
def test_part_columns(row, expected):
    assert parts(one(*row)) == expected


def test_at_least_forty_table_cases():
    assert len(FULL_NAME_CASES) + len(PART_CASES) >= 40


@pytest.mark.parametrize(
    "full, first_initial, middle_initial",
    [("Иванов Иван Иванович", "И", "И"), ("Петров П. С.", "П", "С"), ("иванов и. о.", "И", "О"), ("Doe John", "J", None),
     ("Алиев Рашид Гасан оглы", "Р", "Г"), ("Иванов", None, None)],
)
def test_initials(full, first_initial, middle_initial):
    row = one(full=full)
    assert (row["first_initial"], row["middle_initial"]) == (first_initial, middle_initial)


def test_an_initial_is_never_expanded():
    row = one(full="Сидоров А.")
    assert row["first_name"] == "А." and row["first_key"] is None and row["first_keys"] == []


@pytest.mark.parametrize(
    "full, gender",
    [
        ("Женя Иванович", "М"),  # the patronymic decides when the first name is both
        ("Саша Петрова", "Ж"),  # then the surname
        ("Петров Мария", "Ж"),  # the first name comes before the surname
        ("Иванова Саша Сергеевна", "Ж"),
        ("Алиев Гасан оглы", "М"),
        ("Алиева Лейла Гасан кызы", "Ж"),
        ("Петровский", "М"),
        ("Петровская", "Ж"),
        ("Белых", "НД"),  # a surname of both genders
        ("Мария Ивановна", "Ж"),
        ("Kim Lee", "НД"),
        ("Ivanova Olga", "Ж"),
    ],
)
def test_gender(full, gender):
    assert one(full=full)["gender"] == gender


def test_company_names_are_flagged_not_split():
    row = one(full="ООО «Ромашка»")
    assert row["is_company"] is True and row["status"] == "invalid" and row["reason"] == "is_company"
    assert all(row[c] is None for c in ("last_name", "first_name", "middle_name", "last_key", "skeleton"))
    assert one(full="Иванов Иван")["is_company"] is False


# ---------------------------------------------------------------- keys


def test_keys_fold_yo_and_keep_display():
    row = one(full="Фёдоров Пётр Семёнович")
    assert (row["last_name"], row["first_name"], row["middle_name"]) == ("Фёдоров", "Пётр", "Семёнович")
    assert (row["last_key"], row["first_key"], row["middle_key"]) == ("федоров", "петр", "семенович")


def test_keys_drop_hyphens_and_spaces():
    row = one(full="Иванова-Петрова Анна-Мария")
    assert (row["last_key"], row["first_key"]) == ("ивановапетрова", "аннамария")
    assert one(full="фон Браун Вернер")["last_key"] == "фонбраун"
    assert one(full="Алиев Рашид Гасан оглы")["middle_key"] == "гасаноглы"


@pytest.mark.parametrize(
    "full, expected",
    [
        ("Иванов Саша", ["саша", "александр"]),  # male by the surname
        ("Иванова Саша", ["саша", "александра"]),
        ("Саша", ["саша", "александр", "александра"]),
        ("Женя", ["женя", "евгений", "евгения"]),
        ("Иванов Ваня", ["ваня", "иван"]),
        ("Костя", ["костя", "константин"]),
        ("Оля", ["оля", "ольга"]),
        ("Маша", ["маша", "мария"]),
        ("Лена", ["лена", "елена"]),
        ("Дима", ["дима", "дмитрий"]),
        ("Лёша", ["леша", "алексей"]),
        ("Алёша", ["алеша", "алексей"]),
        ("Таня", ["таня", "татьяна"]),
        ("Наташа", ["наташа", "наталья", "наталия"]),
        ("Александр", ["александр"]),
        ("John", ["john"]),
    ],
)
def test_first_keys(full, expected):
    assert one(full=full)["first_keys"] == expected


def test_first_keys_slava_many_full_names():
    keys = one(full="Слава Петров")["first_keys"]
    assert keys[0] == "слава"
    assert {"вячеслав", "ярослав", "святослав", "станислав", "владислав", "мирослав"} <= set(keys)
    assert not {"ярослава", "мирослава"} & set(keys)  # a man: female names left out


def test_diminutives_never_rewrite_the_value():
    row = one(full="Иванов Саша")
    assert (row["first_name"], row["first_key"]) == ("Саша", "саша")


def test_diminutive_table_is_curated():
    rows = nk.diminutive_rows()
    assert len(rows) >= 150
    assert all(g in ("М", "Ж") for _, _, g in rows)
    shorts = {s for s, _, _ in rows}
    assert {"саша", "женя", "слава", "ваня", "костя", "оля", "маша", "лена", "дима", "леша", "алеша", "таня", "наташа"} <= shorts


def shared(a: str, b: str) -> set:
    return set(one(full=a)["translit_keys"]) & set(one(full=b)["translit_keys"])


@pytest.mark.parametrize(
    "cyrillic, latin",
    [
        ("Иванов Иван", "Ivan Ivanov"),
        ("Иванов Иван", "Ivanov Ivan"),
        ("Кузнецов Алексей", "Alexey Kuznetsov"),
        ("Кузнецов Алексей", "Aleksei Kuznetsov"),
        ("Кузнецов Алексей", "Alexei Kuznetcov"),
        ("Фёдоров", "Fedorov"),
        ("Фёдоров", "Fyodorov"),
        ("Щукин", "Shchukin"),
        ("Щукин", "Schukin"),
        ("Юлия Андреева", "Yulia Andreyeva"),
        ("Наталья Петрова", "Natalia Petrova"),
        ("Дмитрий Соколов", "Dmitry Sokolov"),
        ("Евгений Цветков", "Yevgeniy Tsvetkov"),
    ],
)
def test_translit_keys_meet_latin_spellings(cyrillic, latin):
    assert shared(cyrillic, latin)


@pytest.mark.parametrize("a, b", [("Иванов Иван", "Ivanov Petr"), ("Щукин", "Shukin"), ("Фёдоров", "Sidorov")])
def test_translit_keys_keep_different_names_apart(a, b):
    assert not shared(a, b)


def test_translit_keys_hold_each_scheme():
    keys = one(full="Кузнецов Алексей")["translit_keys"]
    assert "aleksei kuznetsov" in keys  # ICAO 9303
    assert "aleksei kuznetcov" in keys  # ГОСТ 52535
    assert "aleksey kuznetsov" in keys  # МВД 782 and BGN/PCGN
    assert "aleksei kuznecov" in keys  # the folding
    assert keys == list(dict.fromkeys(keys))  # no duplicates
    assert one(full="Ivan Ivanov")["translit_keys"] == ["ivan ivanov"]
    assert one(full="Иванов И.И.")["translit_keys"] == ["ivanov"]  # an initial is not transliterated
    assert one(full="ООО Ромашка")["translit_keys"] == []


WORDS = ["фёдоров", "щукин", "кузнецов", "алексей", "наталья", "евгений", "юлия", "дмитриев", "объедков",
         "хабибуллин", "андреев", "мусаев", "татьяна", "цой", "вьюгин", "подъячев", "эдуард", "ильинична"]


@pytest.mark.parametrize("scheme", nk.TRANSLIT_SCHEMES)
def test_vectorized_translit_matches_iuliia(scheme):
    got = pl.DataFrame({"w": WORDS}).select(nk.translit_expr(pl.col("w"), scheme).alias("w"))["w"].to_list()
    schema = getattr(iuliia, scheme.upper())
    expected = ["".join(ch for ch in schema.translate(w).lower() if "a" <= ch <= "z") for w in WORDS]
    if scheme == "bgn_pcgn":  # iuliia's BGN leaves ё Cyrillic; we read it as e
        expected = [e if "ё" not in w else got[i] for i, (w, e) in enumerate(zip(WORDS, expected))]
        assert got[0] == "fedorov"
    assert got == expected


@pytest.mark.parametrize(
    "spellings",
    [("Alexey", "Aleksei", "Alexei", "Aleksej"), ("Fyodorov", "Fedorov"), ("Shchukin", "Schukin"),
     ("Natalia", "Natalya", "Natal'ya"), ("Dmitry", "Dmitriy", "Dmitrii"), ("Yevgeny", "Evgenii", "Evgeniy"),
     ("Kuznetsov", "Kuznetcov"), ("Andreev", "Andreyev"), ("Khabibullin", "Habibullin"), ("Xenia", "Ksenia", "Kseniya")],
)
def test_latin_folding_meets_spellings(spellings):
    assert len({nk.fold_latin(s) for s in spellings}) == 1


def test_polars_folding_equals_python_folding():
    words = ["alexey", "fyodorov", "shchukin", "natal'ya", "dmitriy", "yevgeny", "kuznetcov", "andreyev", "xenia",
             "tchaikovsky", "illarion", "yolkin", "aaaron", "phillip", "wolfgang", "mueller"]
    got = pl.DataFrame({"w": words}).select(nk.fold_expr(pl.col("w")).alias("w"))["w"].to_list()
    assert got == [nk.fold_latin(w) for w in words]


@pytest.mark.parametrize(
    "group",
    [("Сидоров", "Сидорова", "Sidorov", "Sidorova"), ("Ивановский", "Ивановская", "Ivanovsky", "Ivanovskaya"),
     ("Толстой", "Толстая", "Tolstoy"), ("Фёдоров", "Федорова", "Fyodorov"), ("Кузнецов", "Kuznetsova")],
)
def test_skeleton_shared_by_forms_of_a_surname(group):
    skeletons = {one(full=s)["skeleton"] for s in group}
    assert len(skeletons) == 1 and None not in skeletons


def test_skeleton_separates_other_surnames():
    assert one(full="Сидоров")["skeleton"] != one(full="Петров")["skeleton"]
    assert one(full="Сидоров")["skeleton"] == "strf"  # s + d r v, voiced → voiceless


# ---------------------------------------------------------------- the frame as a whole


def test_output_columns_height_and_order():
    rows = [("Петров Пётр", None, None, None), (None, "Иванов", "Иван", None), ("", None, None, None)] * 3
    out = run(rows)
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert out.height == 9
    assert out["last_name"].to_list() == ["Петров", "Иванов", None] * 3


def test_missing_columns_and_other_dtypes_are_tolerated():
    out = normalize_names(pl.DataFrame({"full_name": ["Иванов Иван", None], "phone": ["1", "2"]}))
    assert out["last_name"].to_list() == ["Иванов", None]
    assert normalize_names(pl.DataFrame({"last_name": [1, None]}))["status"].to_list() == ["invalid", "missing"]
    assert normalize_names(pl.DataFrame(schema={c: pl.String for c in COLUMNS})).schema == pl.Schema(OUTPUT_SCHEMA)


NAME_BITS = ["Иванов", "иванова", "ИВАН", "Иван", "Саша", "Петрович", "Ивановна", "И.", "О.", "И.О.", "фон", "оглы",
             "Ivan", "John", "Doe", "ООО", "«Ромашка»", "Иванoв", "-", ",", "  ", "89161234567", "@", "Анна-Мария"]
cell = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(st.sampled_from(NAME_BITS), max_size=5).map(" ".join),
)
rows_strategy = st.lists(st.tuples(cell, cell, cell, cell), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_strategy)
def test_property_never_raises_and_keeps_every_row(rows):
    out = run(rows)
    assert out.height == len(rows)
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    for row, res in zip(rows, out.iter_rows(named=True)):
        assert res["status"] in STATUSES
        assert (res["reason"] is None) == (res["status"] == "ok")
        has_text = any(c is not None and any(ch.isalpha() or ch.isdigit() for ch in c) for c in row)
        has_part = any(res[c] is not None for c in ("last_name", "first_name", "middle_name"))
        if has_text:
            assert res["status"] != "missing"
            assert has_part or res["reason"] is not None
        for c in ("last_name", "first_name", "middle_name"):
            assert res[c] is None or res[c].strip() == res[c] != ""
        for c in ("first_initial", "middle_initial"):
            assert res[c] is None or len(res[c]) >= 1
        if res["first_key"] is not None:
            assert res["first_keys"][0] == res["first_key"]


@settings(max_examples=60, deadline=None)
@given(rows_strategy)
def test_property_a_row_does_not_depend_on_its_neighbours(rows):
    together = run(rows).to_dicts()
    alone = [run([r]).row(0, named=True) for r in rows]
    assert together == alone


def test_python_work_is_per_distinct_word():
    nk.token_info.cache_clear()
    rows = [("Иванов Иван Иванович", None, None, None), ("Петрова Анна", None, None, None), (None, "Сидоров", "Пётр", None)]
    out = run(rows * 2000)
    assert out.height == 6000
    assert nk.token_info.cache_info().misses == 7  # the distinct words, not the 6000 rows


def test_hash_grouping_equals_exact_grouping():
    from crmtool.normalize.distinct import _exact, distinct_rows

    rows = [("a", None, "b", None), (None, "a", None, "b"), ("", None, None, None), (None, None, None, None),
            ("a", None, "b", None), ("ab", None, None, None), ("a", "b", None, None), (None, None, None, None)]
    source = pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}, orient="row")
    fast, fast_ids = distinct_rows(source)
    exact, exact_ids = _exact(source)
    assert fast.rows() == exact.rows()
    assert fast_ids.to_list() == exact_ids.to_list() == [0, 1, 2, 3, 0, 4, 5, 3]
