"""`mailing` target: mailing.csv, the contacts who agreed to mailings and can be reached.

A contact is on the list when its consent says yes and it has a usable
channel: an e-mail, or a mobile phone for SMS. Consent is free text in the
sources (a column "Согласие на рассылку", "Подписка", "Opt in"...), read like this:

- no: нет, no, false, 0, -, off, and anything that speaks of refusing or
  withdrawing (отказ, отписан, отозвано, не согласен, не подписан,
  unsubscribed, opt-out, declined, revoked): checked first, so
  "согласие отозвано" is a no;
- yes: да, yes, y, true, 1, +, on, x, v, ok, ✓, есть, and words starting
  согласен / согласие / подписан / подписка / opt-in / subscribed / agree / consent;
- empty: no consent. Anything else (a bare date, "см. договор") is counted as
  unclear and left out: a mailing to people who did not agree is the costly mistake.

The channel must be valid as written: an e-mail with one @, a dot in its
domain and no spaces or `*` (a masked `i***@mail.ru` is not an address), a
phone in E.164 typed MOBILE. The first such e-mail and phone are written.
Left-out contacts are counted by reason; `mailing_frame` returns the counts
and the writer prints them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool import console
from crmtool.export.data import ExportData
from crmtool.export.targets import ExportOptions, target

COLUMNS = ("email", "phone", "name", "first_name", "middle_name", "golden_id")
REASONS = ("no_consent", "refused", "unclear_consent", "no_channel")

_NO = (r"(?:^|[^\w])(?:нет|no|false|off)(?:$|[^\w])|^[-–—0](?:$|[^\w])|^[nf]$"
       r"|отказ|отпис|отозв|отзыв|unsub|opt-?out|withdr|revok|declin|refus"
       r"|не\s*(?:соглас|подпис|получ|дал|дан)|несоглас|неподп")
_YES = (r"^(?:(?:да|yes|y|true|t|1|on|x|v|ok|ок|есть)(?:$|[^\w])|[+✓✔☑]"
        r"|соглас|подпис|opt-?in|subscri|agree|consent|получен|дано|дала?(?:$|[^\w]))")
_EMAIL = r"^[^\s@*]+@[^\s@*]+\.[^\s@*.]{2,}$"
_PHONE = r"^\+[0-9]{10,15}$"


def consent_state(consent: pl.Expr) -> pl.Expr:
    """yes | no | unclear | null (nothing written) for a free-text consent value."""
    text = (consent.str.to_lowercase().str.replace_all("ё", "е", literal=True)
            .str.replace_all(r"\s+", " ").str.strip_chars())
    return (pl.when(text.is_null() | (text == "")).then(pl.lit(None, pl.String))
            .when(text.str.contains(_NO)).then(pl.lit("no"))
            .when(text.str.contains(_YES)).then(pl.lit("yes"))
            .otherwise(pl.lit("unclear")))


def _first_value(column: str, valid: pl.Expr) -> pl.Expr:
    """The first value of a typed list that passes `valid` (written over pl.element())."""
    values = pl.col(column).list.eval(pl.element().filter(valid).struct.field("value"))
    return values.list.first()


def mailing_frame(data: ExportData) -> tuple[pl.DataFrame, dict[str, int]]:
    """The mailing list and how many contacts were left out for each reason."""
    value = pl.element().struct.field("value").str.strip_chars()
    frame = data.contacts.select(
        "golden_id", "last_name", "first_name", "middle_name",
        consent_state(pl.col("consent")).alias("state"),
        _first_value("emails", value.str.contains(_EMAIL).fill_null(False)).alias("email"),
        _first_value("phones", (pl.element().struct.field("type") == "MOBILE").fill_null(False)
                     & value.str.contains(_PHONE).fill_null(False)).alias("phone"),
    ).with_columns(
        pl.when(pl.col("state").is_null()).then(pl.lit("no_consent"))
        .when(pl.col("state") == "no").then(pl.lit("refused"))
        .when(pl.col("state") == "unclear").then(pl.lit("unclear_consent"))
        .when(pl.col("email").is_null() & pl.col("phone").is_null()).then(pl.lit("no_channel"))
        .alias("reason"),
        pl.concat_str([pl.col(c).str.strip_chars() for c in ("last_name", "first_name", "middle_name")],
                      separator=" ", ignore_nulls=True).replace("", None).alias("name"),
    )
    counted = dict(frame.filter(pl.col("reason").is_not_null()).group_by("reason").len().iter_rows())
    counts = {reason: counted.get(reason, 0) for reason in REASONS}
    return frame.filter(pl.col("reason").is_null()).select(COLUMNS), counts


@target("mailing")
def write_mailing(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """mailing.csv (separator and encoding as for the other CSV files)."""
    from crmtool.export.generic import write_frame

    frame, counts = mailing_frame(data)
    path = write_frame(frame, out / "mailing.csv", options)
    left_out = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in counts.items() if n) or "none"
    console.info(f"mailing: {frame.height} contacts in {path}; left out: {left_out}")
    return [path]
