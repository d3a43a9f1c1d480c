"""Masked values for role exports: enough to recognise a contact, not enough to use it.

A phone keeps its country's first digit and its last four digits
(`+7 *** ***-45-67`), an e-mail the first letter of its mailbox and its domain
(`i***@mail.ru`), any other text its first letter (`И***`). Every mask is a
polars expression, so a million contacts are masked without a Python loop;
the scalar helpers exist for tests and docs.
"""

from __future__ import annotations

import polars as pl

STARS = "***"


def phone_mask(value: pl.Expr) -> pl.Expr:
    """`+79161234567` → `+7 *** ***-45-67`; numbers of fewer than 7 digits → `***`."""
    digits = value.str.replace_all(r"[^0-9]", "")
    tail = digits.str.slice(-4, 2) + pl.lit("-") + digits.str.slice(-2, 2)
    head = pl.when(value.str.strip_chars().str.starts_with("+")).then(
        pl.lit("+") + digits.str.slice(0, 1) + pl.lit(" ")).otherwise(pl.lit(""))
    masked = (pl.when(digits.str.len_chars() >= 7).then(head + pl.lit(f"{STARS} {STARS}-") + tail)
              .otherwise(pl.lit(STARS)))
    return pl.when(value.is_null()).then(pl.lit(None, pl.String)).otherwise(masked)


def email_mask(value: pl.Expr) -> pl.Expr:
    """`ivanov@mail.ru` → `i***@mail.ru`; text without an `@` is masked as text."""
    trimmed = value.str.strip_chars()
    local = trimmed.str.extract(r"^(.+)@[^@]+$", 1)
    domain = trimmed.str.extract(r"@([^@]+)$", 1)
    masked = local.str.slice(0, 1) + pl.lit(f"{STARS}@") + domain
    return pl.when(local.is_not_null() & domain.is_not_null()).then(masked).otherwise(text_mask(value))


def text_mask(value: pl.Expr) -> pl.Expr:
    """`Иванов` → `И***`: the first letter stays so a person can still tell rows apart."""
    trimmed = value.str.strip_chars()
    return (pl.when(trimmed.str.len_chars() > 0).then(trimmed.str.slice(0, 1) + pl.lit(STARS))
            .when(value.is_not_null()).then(pl.lit(STARS)))


def mask_typed_list(column: str, fields: list[str], mask) -> pl.Expr:
    """Mask the `value` of every {value, ext?, type} in a phones / e-mails list (the struct
    has `fields`). The type stays (a masked mobile is still a mobile); an extension is dropped."""
    updates = [mask(pl.field("value")).alias("value")]
    if "ext" in fields:
        updates.append(pl.lit(None, pl.String).alias("ext"))
    return pl.col(column).list.eval(pl.element().struct.with_fields(*updates)).alias(column)


def _scalar(expr, value: str | None) -> str | None:
    return pl.DataFrame({"v": [value]}, schema={"v": pl.String}).select(expr(pl.col("v")).alias("v"))["v"][0]


def mask_phone(value: str | None) -> str | None:
    return _scalar(phone_mask, value)


def mask_email(value: str | None) -> str | None:
    return _scalar(email_mask, value)


def mask_text(value: str | None) -> str | None:
    return _scalar(text_mask, value)
