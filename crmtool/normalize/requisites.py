"""Requisites: ИНН, КПП, ОГРН/ОГРНИП checked by their check digits, cleaned where it is safe.

Two companies with one valid ИНН are one company, so a wrong ИНН is worse than
none: anything not provably right is `invalid` with its value column null (the
original stays with the caller). What is safely repaired is `fixed`: labels,
spaces and dashes ("ИНН 7701-234-567"), the `.0` Excel adds to a number, and
the leading zero a number cell drops (ИНН of regions 01–09: 9 or 11 digits
left) when the check digits prove the repair. A number Excel turned into
"7,71412E+09" has lost digits for good: `invalid`, `digits_lost`.

All checks are integer arithmetic over whole columns (of the distinct values); nothing runs per
value in Python.
ОГРНИП's check digit is (first 14 digits mod 13) mod 10: python-stdnum 2.2
omits the final mod 10 and rejects valid numbers whose remainder is 10–12.
"""

from __future__ import annotations

import functools
from typing import Callable

import polars as pl

from crmtool.normalize.distinct import distinct_positions

INN_WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_WEIGHTS_12_FIRST = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_WEIGHTS_12_SECOND = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$"
_LABEL = r"(?i)^(?:инн\s*/\s*кпп|огрнип|огрн|инн|кпп|inn|kpp|ogrnip|ogrn|psrn)\s*(?:[:№#.=]\s*)?"
_SEPARATORS = r"[\s\u00a0\u200b\-‐‑–—_]"
# КПП reason codes use Latin capitals (2019 rules); Cyrillic twins typed instead are read as Latin.
_CYR_TO_LAT = dict(zip("АВЕКМНОРСТУХ", "ABEKMHOPCTYX"))


def _text(values: pl.Series) -> pl.Series:
    return values if values.dtype == pl.String else values.cast(pl.String)


def _per_distinct(check: Callable[[pl.Series], pl.DataFrame]) -> Callable[[pl.Series], pl.DataFrame]:
    """`check` run once per distinct value and spread back to every row: a requisites column
    repeats a few thousand companies' numbers and is mostly empty, and a value's verdict
    depends on the value alone."""

    @functools.wraps(check)
    def run(values: pl.Series) -> pl.DataFrame:
        distinct, positions = distinct_positions(_text(values))
        return check(distinct).select(pl.all().gather(positions))

    return run


def _prepared(values: pl.Series) -> pl.DataFrame:
    """raw; trimmed; missing; scientific; cleaned (label, separators and Excel's ".0" removed).

    A value of digits only — most of them — skips the cleaning regexes.
    """
    raw = pl.col("raw")
    df = pl.DataFrame({"raw": _text(values)}).with_columns(plain=raw.str.contains(r"^\d+$").fill_null(False))
    # Control and invisible format characters (zero-width space, BOM) count as spaces.
    other = pl.when(~pl.col("plain")).then(raw)
    s = other.str.replace_all(r"[\p{Cc}\p{Cf}]", " ").str.strip_chars()
    df = df.with_columns(s=s)
    s = pl.col("s")
    cleaned = s.str.replace(_LABEL, "").str.replace(r"[.,]0+$", "").str.replace_all(_SEPARATORS, "")
    return df.with_columns(
        missing=raw.is_null() | (s == "").fill_null(False),
        scientific=s.str.contains(_SCIENTIFIC).fill_null(False),
        cleaned=pl.coalesce(cleaned, raw),
        trimmed=raw.str.strip_chars(),
    )


def _weighted(digits: list[pl.Expr], weights: tuple[int, ...]) -> pl.Expr:
    return pl.sum_horizontal([w * d for w, d in zip(weights, digits)]) % 11 % 10


def inn_checksum_ok(digits: pl.Expr) -> pl.Expr:
    """True for a 10- or 12-digit string whose check digits are right; False otherwise.

    The number is read as an integer and its 12 digits taken by division, once; a 10-digit
    ИНН is the last 10 of them.
    """
    n = digits.cast(pl.Int64, strict=False)
    length = digits.str.len_chars()
    d = [(n // 10 ** (11 - i)) % 10 for i in range(12)]
    ok10 = _weighted(d[2:11], INN_WEIGHTS_10) == d[11]
    ok12 = (_weighted(d[:10], INN_WEIGHTS_12_FIRST) == d[10]) & (_weighted(d[:11], INN_WEIGHTS_12_SECOND) == d[11])
    return (
        pl.when(length == 10).then(ok10).when(length == 12).then(ok12).otherwise(pl.lit(False)).fill_null(False)
    )


def ogrn_checksum_ok(digits: pl.Expr) -> pl.Expr:
    """ОГРН: (first 12 digits mod 11) mod 10; ОГРНИП: (first 14 digits mod 13) mod 10."""
    n = digits.cast(pl.Int64, strict=False)
    length = digits.str.len_chars()
    body, check = n // 10, n % 10
    return (
        pl.when(length == 13).then(body % 11 % 10 == check)
        .when(length == 15).then(body % 13 % 10 == check)
        .otherwise(pl.lit(False))
        .fill_null(False)
    )


def _finish(df: pl.DataFrame, value: str, extra: dict[str, pl.Expr] | None = None) -> pl.DataFrame:
    """From columns `candidate`, `invalid_reason`, `fix_reason` to the public value/status/reason columns."""
    status = (
        pl.when(pl.col("missing")).then(pl.lit("missing"))
        .when(pl.col("invalid_reason").is_not_null()).then(pl.lit("invalid"))
        .when(pl.col("fix_reason").is_not_null()).then(pl.lit("fixed"))
        .otherwise(pl.lit("ok"))
    )
    df = df.with_columns(status=status)
    valid = pl.col("status").is_in(["ok", "fixed"])
    reason = (
        pl.when(pl.col("status") == "missing").then(pl.lit("empty"))
        .when(pl.col("status") == "invalid").then(pl.col("invalid_reason"))
        .when(pl.col("status") == "fixed").then(pl.col("fix_reason"))
    )
    columns = [pl.when(valid).then(pl.col("candidate")).alias(value)]
    columns += [pl.when(valid).then(expr).alias(name) for name, expr in (extra or {}).items()]
    return df.select(*columns, pl.col("status"), reason.alias("reason"))


@_per_distinct
def check_inn(values: pl.Series) -> pl.DataFrame:
    """Columns: inn (10 or 12 digits, null unless valid), kind (legal | individual), status, reason."""
    df = _prepared(values)
    cleaned = pl.col("cleaned")
    # "7701234567/770101001", "ИНН 7701234567 КПП 770101001": the ИНН/КПП pair of 1C lists.
    pair = cleaned.str.extract(r"(?i)^(\d{10})(?:/|\\|кпп:?|kpp:?)\d{9}$", 1)
    digits = pl.coalesce(pair, cleaned)
    df = df.with_columns(digits=digits, pair=pair.is_not_null())
    digits = pl.col("digits")
    df = df.with_columns(is_digits=digits.str.contains(r"^\d+$"), length=digits.str.len_chars())
    # 9 or 11 digits not starting with 0: a number cell may have dropped a leading zero (regions 01–09).
    # Tried with the zero; kept only if the check digits then prove it.
    df = df.with_columns(short=pl.col("is_digits") & pl.col("length").is_in([9, 11]) & ~digits.str.starts_with("0"))
    df = df.with_columns(candidate=pl.when(pl.col("short")).then(pl.lit("0") + digits).otherwise(digits))
    candidate = pl.col("candidate")
    df = df.with_columns(checks=inn_checksum_ok(candidate))
    checks, short = pl.col("checks"), pl.col("short")
    invalid = (
        pl.when(pl.col("scientific")).then(pl.lit("digits_lost"))
        .when(~pl.col("is_digits")).then(pl.lit("not_digits"))
        .when(candidate.str.contains(r"^0+$")).then(pl.lit("all_zeros"))
        .when(~candidate.str.len_chars().is_in([10, 12]) | short & ~checks).then(pl.lit("bad_length"))
        .when(~checks).then(pl.lit("bad_checksum"))
        .when(candidate.str.starts_with("00")).then(pl.lit("bad_region"))
    )
    fix = (
        pl.when(short).then(pl.lit("leading_zero_restored"))
        .when(pl.col("pair")).then(pl.lit("kpp_removed"))
        .when(candidate != pl.col("trimmed")).then(pl.lit("cleaned"))
    )
    df = df.with_columns(invalid_reason=invalid, fix_reason=fix)
    kind = pl.when(candidate.str.len_chars() == 10).then(pl.lit("legal")).otherwise(pl.lit("individual"))
    return _finish(df, "inn", {"kind": kind})


@_per_distinct
def check_kpp(values: pl.Series) -> pl.DataFrame:
    """Columns: kpp (9 characters: 4 digits, 2 digits or Latin capitals, 3 digits; null unless valid), status, reason."""
    df = _prepared(values)
    cleaned = pl.col("cleaned")
    # An ИНН/КПП pair in the КПП column: the КПП is the second half.
    pair = cleaned.str.extract(r"(?i)^\d{10}(?:/|\\|кпп:?|kpp:?)(\d{4}[0-9A-Za-zА-Яа-я]{2}\d{3})$", 1)
    digits = pl.coalesce(pair, cleaned)
    upper = digits.str.to_uppercase()
    latin = upper.str.replace_many(_CYR_TO_LAT)
    df = df.with_columns(pair=pair.is_not_null(), upper=upper, latin=latin)
    restorable = pl.col("latin").str.contains(r"^[1-9]\d{7}$")
    df = df.with_columns(
        restored=restorable.fill_null(False),
        candidate=pl.when(restorable).then(pl.lit("0") + pl.col("latin")).otherwise(pl.col("latin")),
    )
    candidate = pl.col("candidate")
    invalid = (
        pl.when(pl.col("scientific")).then(pl.lit("digits_lost"))
        .when(~candidate.str.contains(r"^[0-9A-Z]+$")).then(pl.lit("not_digits"))
        .when(candidate.str.contains(r"^0+$")).then(pl.lit("all_zeros"))
        .when(candidate.str.len_chars() != 9).then(pl.lit("bad_length"))
        .when(~candidate.str.contains(r"^\d{4}[0-9A-Z]{2}\d{3}$")).then(pl.lit("bad_format"))
        .when(candidate.str.starts_with("00")).then(pl.lit("bad_region"))
    )
    fix = (
        pl.when(pl.col("restored")).then(pl.lit("leading_zero_restored"))
        .when(pl.col("pair")).then(pl.lit("inn_removed"))
        .when(pl.col("latin") != pl.col("upper")).then(pl.lit("cyrillic_letters"))
        .when(candidate != pl.col("trimmed")).then(pl.lit("cleaned"))
    )
    df = df.with_columns(invalid_reason=invalid, fix_reason=fix)
    return _finish(df, "kpp")


@_per_distinct
def check_ogrn(values: pl.Series) -> pl.DataFrame:
    """Columns: ogrn (13 or 15 digits, null unless valid), kind (ogrn | ogrnip), status, reason.

    The first digit tells what the number is: 1 or 5 an ОГРН, 3 an ОГРНИП;
    2, 4, 6–9 are ГРН (numbers of later registry entries), not ОГРН.
    """
    df = _prepared(values).with_columns(candidate=pl.col("cleaned"))
    candidate = pl.col("candidate")
    length = candidate.str.len_chars()
    first = candidate.str.slice(0, 1)
    invalid = (
        pl.when(pl.col("scientific")).then(pl.lit("digits_lost"))
        .when(~candidate.str.contains(r"^\d+$")).then(pl.lit("not_digits"))
        .when(candidate.str.contains(r"^0+$")).then(pl.lit("all_zeros"))
        .when(~length.is_in([13, 15])).then(pl.lit("bad_length"))
        .when(~ogrn_checksum_ok(candidate)).then(pl.lit("bad_checksum"))
        .when((length == 13) & ~first.is_in(["1", "5"]) | (length == 15) & (first != "3")).then(pl.lit("bad_first_digit"))
    )
    fix = pl.when(candidate != pl.col("trimmed")).then(pl.lit("cleaned"))
    df = df.with_columns(invalid_reason=invalid, fix_reason=fix)
    kind = pl.when(length == 13).then(pl.lit("ogrn")).otherwise(pl.lit("ogrnip"))
    return _finish(df, "ogrn", {"kind": kind})
