"""City keys: "г. Москва", "Москва г", "МСК" and "Moscow" are one city.

Matching compares cities (and companies group by name + city), so the key
folds what people type: case, ё, the "г."/"город" marks, and everyday
aliases of the big cities (city_aliases.toml). Pure polars over a column.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import polars as pl

_ALIASES = Path(__file__).with_name("city_aliases.toml")


@cache
def aliases() -> dict[str, str]:
    """alias → city key."""
    table = tomllib.loads(_ALIASES.read_text(encoding="utf-8"))
    return {alias: city for city, spellings in table.items() for alias in spellings}


def city_key(city: pl.Expr) -> pl.Expr:
    """The comparable key of a city column (null when empty)."""
    text = (
        city.str.to_lowercase()
        .str.replace_all("ё", "е", literal=True)
        .str.replace(r"^\s*(?:г\.\s*|г\s+|город\s+)", "")
        .str.replace(r"\s+г\.?\s*$", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,.")
    )
    mapping = aliases()
    keyed = text.replace(list(mapping), list(mapping.values()))
    return pl.when(keyed.str.len_chars() > 0).then(keyed)


def with_city_key(frame: pl.DataFrame, column: str = "city") -> pl.DataFrame:
    """`frame` with `column` replaced by its `city_key`, worked out once per distinct value: a
    million records name a few thousand cities, and the key's regexes over every row cost most of
    a second."""
    distinct = frame.select(pl.col(column).unique()).with_columns(_key=city_key(pl.col(column)))
    return (frame.join(distinct, on=column, how="left", maintain_order="left", nulls_equal=True)
            .with_columns(pl.col("_key").alias(column)).drop("_key"))


@cache
def known_cities() -> frozenset[str]:
    """The city keys of the alias table (the big cities)."""
    return frozenset(aliases().values())


@cache
def latin_city_prefixes(shortest: int = 4) -> frozenset[str]:
    """Latin spellings of the known cities, letters only, with every prefix of at least
    `shortest` letters (kazan, novosi, yekate: how mailboxes of regional offices are named)."""
    from crmtool.normalize.name_keys import TRANSLIT_SCHEMES, translit_expr

    keys = sorted(known_cities())
    latin = {a for a in aliases() if a.isascii()}
    spelled = pl.DataFrame({"city": keys}).select(
        [translit_expr(pl.col("city"), scheme).alias(scheme) for scheme in TRANSLIT_SCHEMES])
    latin.update(v for col in spelled.columns for v in spelled[col].to_list() if v)
    letters = {"".join(ch for ch in name if "a" <= ch <= "z") for name in latin}
    prefixes = {name[:n] for name in letters for n in range(shortest, len(name) + 1)}
    return frozenset(prefixes | letters)
