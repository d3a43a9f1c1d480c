"""City keys: the spellings people type meet; unknown cities pass through folded."""

import polars as pl
import pytest

from crmtool.normalize.cities import aliases, city_key


def key(value):
    return pl.select(city_key(pl.lit(value, dtype=pl.String))).item()


@pytest.mark.parametrize("typed, expected", [
    ("Москва", "москва"), ("г.Москва", "москва"), ("г. Москва", "москва"), ("Москва г.", "москва"),
    ("город Москва", "москва"), ("МСК", "москва"), ("Moscow", "москва"),
    ("С.-Петербург", "санкт-петербург"), ("Питер", "санкт-петербург"), ("СПб", "санкт-петербург"),
    ("Н. Новгород", "нижний новгород"), ("Нижний  Новгород", "нижний новгород"),
    ("Ростов", "ростов-на-дону"), ("Екб", "екатеринбург"), ("Новосиб", "новосибирск"),
    ("Орёл", "орел"), ("Гродно", "гродно"), ("Глазов", "глазов"),
    ("", None), ("   ", None), (None, None),
])
def test_city_key(typed, expected):
    assert key(typed) == expected


def test_aliases_point_at_cities_not_at_other_aliases():
    table = aliases()
    assert not set(table.values()) & set(table), "an alias that is also a city key would chain"
    for alias in table:
        assert alias == alias.lower() and "ё" not in alias
