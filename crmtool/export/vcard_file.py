"""`vcard` target: contacts.vcf, vCard 3.0 (RFC 2426) for phones and mail clients.

One card per golden contact: N (Фамилия;Имя;Отчество;;), FN, ORG (the first
linked company, the department as its unit), TITLE, TEL and EMAIL with their
types, ADR, BDAY, NOTE and UID (the golden id, so a re-import updates the
card instead of adding a second one). UTF-8, CRLF line ends.

Decisions:
- Text values escape `\\ , ;` and new lines (RFC 2426 §4). Phone numbers are
  E.164; an extension follows an escaped comma (`+74955001020\\,104`): phones
  dial the comma as a pause, and readers that treat an unescaped comma as a
  list separator (vobject) would drop the extension. crmtool reads it back as
  the same number and extension.
- Lines longer than 75 octets are folded (CRLF + space). The cut never splits a
  UTF-8 letter or an escape: a long line is cut every 74 / width units, where a
  unit is a letter or an escape pair and width is the most bytes a unit of the
  line takes (2 for ASCII and Cyrillic, 3 for `№` or `—`, 4 for emoji), so a
  piece is never longer than 74 octets. Pieces can be shorter than they might
  be; readers join them back, so nothing is lost.
- Every card is built by polars expressions over the whole frame; only the
  lines over 75 octets go through the folding regexes (641k cards: 3.4 s
  instead of 26 s), and polars writes the file (one unquoted CSV column), so
  a million cards never sit in memory as one Python string.
- Only contacts get cards: a company is a contact's ORG, not a card of its own.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool.export.data import ExportData
from crmtool.export.targets import ExportOptions, target

CRLF = "\r\n"
MAX_OCTETS = 75
TEL_TYPES = {"MOBILE": "CELL", "WORK": "WORK", "HOME": "HOME", "FAX": "FAX"}  # anything else: VOICE
EMAIL_TYPES = {"WORK": "INTERNET,WORK", "HOME": "INTERNET,HOME"}  # anything else: INTERNET


def escape(value: pl.Expr) -> pl.Expr:
    """RFC 2426 text escaping: backslash, comma, semicolon, new lines (CRLF, CR, LF) as \\n.
    Two passes: CRLF to LF, then every character at once (a pass per character cost most of
    the cards' time)."""
    return (value.str.replace_all("\r\n", "\n", literal=True)
            .str.replace_many(["\\", ",", ";", "\r", "\n"], ["\\\\", "\\,", "\\;", "\\n", "\\n"]))


def fold(line: pl.Expr) -> pl.Expr:
    """Lines over 75 octets cut into pieces of at most 74 octets, each continued on a line
    that starts with a space; a piece holds whole letters only."""
    long = pl.when(line.str.len_bytes() > MAX_OCTETS).then(line)
    width = (pl.when(long.str.contains(r"[\x{10000}-\x{10FFFF}]")).then(4)
             .when(long.str.contains(r"[\x{800}-\x{FFFF}]")).then(3)
             .when(long.str.contains(r"[^\x00-\x7F]")).then(2)
             .otherwise(1))
    # an escape (`\,`) is one unit of two bytes, so a fold never separates its backslash
    pieces = [pl.when(width == w).then(long)
              .str.extract_all(f"(?s)(?:\\\\.|.){{1,{(MAX_OCTETS - 1) // max(w, 2)}}}").list.join(CRLF + " ")
              for w in (1, 2, 3, 4)]
    return pl.coalesce(*pieces, line)


def fold_lines(lines: pl.Series) -> pl.Series:
    """`fold` applied only to the lines that need it: most lines are short, and the regexes
    of `fold` then run over a few rows instead of all of them."""
    if lines.dtype == pl.List(pl.String):  # TEL / EMAIL: several lines per card
        needs = lines.list.eval(pl.element().str.len_bytes() > MAX_OCTETS).list.any()
        joined = lines.list.join(CRLF)
        rows = needs.fill_null(False).arg_true()
        if rows.len():
            folded = lines.gather(rows).to_frame("l").select(pl.col("l").list.eval(fold(pl.element())).list.join(CRLF))
            joined = joined.scatter(rows, folded.to_series())
        return joined.replace("", None)
    rows = (lines.str.len_bytes() > MAX_OCTETS).fill_null(False).arg_true()
    if not rows.len():
        return lines
    return lines.clone().scatter(rows, lines.gather(rows).to_frame("l").select(fold(pl.col("l"))).to_series())


def prop(name: str, value: pl.Expr) -> pl.Expr:
    """`NAME:value`; null when the value is null or empty."""
    return pl.when(value.str.len_bytes() > 0).then(pl.lit(f"{name}:") + value)


def _typed_lines(column: str, name: str, types: dict[str, str], default: str, value: pl.Expr) -> pl.Expr:
    """TEL / EMAIL lines of one typed list (empty values left out)."""
    kind = pl.element().struct.field("type").replace_strict(types, default=default, return_dtype=pl.String)
    line = pl.lit(f"{name};TYPE=") + kind + pl.lit(":") + value
    return pl.col(column).list.eval(line.filter(value.str.len_bytes() > 0))


def _phone_value() -> pl.Expr:
    value = pl.element().struct.field("value").str.replace_all(r"[\r\n]", " ")
    ext = pl.element().struct.field("ext")
    return pl.when(ext.str.len_bytes() > 0).then(value + pl.lit("\\,") + ext).otherwise(value)


def _birthday(value: pl.Expr) -> pl.Expr:
    """ISO yyyy-mm-dd from yyyy-mm-dd or dd.mm.yyyy; anything else is left out."""
    text = value.str.strip_chars()
    dotted = text.str.extract_groups(r"^(\d{2})\.(\d{2})\.(\d{4})$")
    return (pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(text)
            .when(dotted.struct.field("3").is_not_null())
            .then(pl.concat_str([dotted.struct.field("3"), dotted.struct.field("2"), dotted.struct.field("1")],
                                separator="-")))


def _text(column: str) -> pl.Expr:
    return escape(pl.col(column).cast(pl.String).str.strip_chars())


def _nonempty(value: pl.Expr) -> pl.Expr:
    return value.replace("", None)


def card_values() -> list[pl.Expr]:
    """What the card lines are made of, escaped, one column each (`_`-prefixed). They are
    computed in a select of their own: polars evaluates a sub-expression once per use, and
    `prop` uses its value twice."""
    full = pl.concat_str([pl.col(c).str.strip_chars() for c in ("last_name", "first_name", "middle_name")],
                         separator=" ", ignore_nulls=True)
    org = pl.col("company_names").list.first().str.strip_chars()
    first_email = pl.col("emails").list.first().struct.field("value")
    first_phone = pl.col("phones").list.first().struct.field("value")
    display = pl.coalesce(*(_nonempty(e) for e in (full, org, first_email, first_phone)), pl.col("golden_id"))
    return [
        *(_text(c).alias(f"_{c}") for c in ("last_name", "first_name", "middle_name", "department", "job_title",
                                            "address", "city", "note")),
        escape(display).alias("_display"),
        escape(org).alias("_org"),
        _birthday(pl.col("birthday")).alias("_birthday"),
        escape(pl.col("golden_id")).alias("_uid"),
        pl.col("phones"), pl.col("emails"),
    ]


def card_lines() -> list[pl.Expr]:
    """The properties of a card, in order, unfolded (over the columns of `card_values`); a null
    property is left out of the card."""
    names = [pl.col(f"_{c}") for c in ("last_name", "first_name", "middle_name")]
    department = pl.col("_department")
    unit = pl.when(department.str.len_bytes() > 0).then(pl.lit(";") + department).otherwise(pl.lit(""))
    address, city = pl.col("_address"), pl.col("_city")
    has_adr = pl.any_horizontal(c.str.len_bytes() > 0 for c in (address, city))
    adr = pl.concat_str([pl.lit(";;"), address.fill_null(""), pl.lit(";"), city.fill_null(""), pl.lit(";;;")])
    return [
        pl.lit("N:") + pl.concat_str([n.fill_null("") for n in names] + [pl.lit(""), pl.lit("")], separator=";"),
        prop("FN", pl.col("_display")),
        prop("ORG", pl.col("_org") + unit),
        prop("TITLE", pl.col("_job_title")),
        _typed_lines("phones", "TEL", TEL_TYPES, "VOICE", _phone_value()),
        _typed_lines("emails", "EMAIL", EMAIL_TYPES, "INTERNET", escape(pl.element().struct.field("value"))),
        pl.when(has_adr).then(prop("ADR", adr)),
        prop("BDAY", pl.col("_birthday")),
        prop("NOTE", pl.col("_note")),
        prop("UID", pl.col("_uid")),
    ]


def vcard_cards(data: ExportData) -> pl.Series:
    """One vCard text per golden contact (CRLF line ends; the last line's CRLF is the writer's)."""
    frame = data.contacts.join(data.company_names(), left_on="golden_id", right_on="contact_id", how="left",
                               maintain_order="left")
    lines = frame.select(card_values()).select([e.alias(f"p{i}") for i, e in enumerate(card_lines())])
    folded = pl.DataFrame([fold_lines(lines[c]) for c in lines.columns])
    card = pl.concat_str([pl.lit("BEGIN:VCARD"), pl.lit("VERSION:3.0"), *folded.columns, pl.lit("END:VCARD")],
                         separator=CRLF, ignore_nulls=True)
    return folded.select(card.alias("card"))["card"]


@target("vcard")
def write_vcard(data: ExportData, out: Path, options: ExportOptions) -> list[Path]:
    """contacts.vcf: every golden contact as a vCard 3.0, UTF-8 whatever --encoding says
    (phones and mail clients expect UTF-8 in 3.0 cards). polars writes the cards as one-column
    CSV rows, unquoted, each ended by CRLF: no file-sized text in Python."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "contacts.vcf"
    tmp = path.with_name(path.name + ".part")
    vcard_cards(data).to_frame().write_csv(tmp, include_header=False, quote_style="never", line_terminator=CRLF)
    tmp.replace(path)
    return [path]
