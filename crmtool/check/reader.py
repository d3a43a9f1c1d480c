"""Read a file to check as a table of text cells, with the line each row has in a spreadsheet.

Unlike the loader's readers this maps nothing: a check is about the file as
the CRM will see it, so the header is taken as written (row 1) and every
cell stays text. Lines are numbered as a spreadsheet shows them: the header
is line 1, the first data row line 2 (a CSV cell holding a line break does not
shift the numbers); JSON Lines count their own lines, Parquet its rows.
Anything that keeps the file from being read raises `SourceError` (exit 2).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from crmtool.errors import CrmError, SourceError
from crmtool.sources import encoding as enc
from crmtool.sources.delimited import sniff_delimiter, unique_names
from crmtool.sources.sniff import COMMERCEML, EXCEL, VCARD, sniff

SAMPLE_CHARS = 64 * 1024
SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


@dataclass
class Table:
    """A file's rows as text, blank rows dropped, with their spreadsheet line numbers."""

    path: str
    format: str  # csv | xlsx | xls | ods | parquet | jsonl
    header: list[str]
    frame: pl.DataFrame  # one String column per header cell
    lines: pl.Series  # Int64, the line of each row of `frame`
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    @property
    def rows(self) -> int:
        return self.frame.height


def read_table(path: Path, encoding: str | None = None, sep: str | None = None) -> Table:
    """The file as a table (`sep`: one character, see `parse_separator`);
    SourceError names the file and what keeps it from being read."""
    shown = str(path)
    if not path.exists():
        raise SourceError(shown, "no such file")
    if path.is_dir():
        raise SourceError(shown, "is a folder; name the export files to check")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"PAR1"):
            table = _read_parquet(path)
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            table = _read_jsonl(path)
        else:
            kind = sniff(path)
            if kind == EXCEL:
                table = _read_excel(path)
            elif kind in (VCARD, COMMERCEML):
                raise SourceError(shown, f"a {kind} file, not a table an import expects")
            else:
                table = _read_delimited(path, encoding, sep)
    except OSError as exc:
        raise SourceError(shown, f"cannot read: {exc.strerror or exc}") from None
    if not table.header:
        raise SourceError(shown, "no header row")
    if table.rows == 0:
        raise SourceError(shown, "no data rows below the header")
    return table


def parse_separator(sep: str | None) -> str | None:
    """--sep as given: one character, or tab / semicolon / comma / pipe by name."""
    if sep is None:
        return None
    value = SEPARATOR_NAMES.get(sep.lower(), sep)
    if len(value) != 1:
        raise CrmError(f"--sep: a separator is one character (or tab), not {sep!r}")
    return value


def _read_delimited(path: Path, encoding: str | None, sep: str | None) -> Table:
    shown = str(path)
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(shown, "the file is empty")
    encoding = encoding or enc.detect(data[: enc.SAMPLE_SIZE], complete=len(data) <= enc.SAMPLE_SIZE)
    if not encoding.startswith(("utf-16", "utf-32")) and enc.looks_binary(data[:65536]):
        raise SourceError(shown, "binary data, not a text table")
    text = enc.decode(data, encoding, shown)  # strict: a byte that does not fit names its line
    del data
    sample = text[:SAMPLE_CHARS]
    delimiter = sep or sniff_delimiter(sample)
    header_cells = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    header = unique_names(header_cells)
    if not any(c.strip() for c in header_cells):
        raise SourceError(shown, "the first line is empty: the header must be line 1", line=1)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=delimiter, has_header=True, new_columns=header,
            infer_schema=False, quote_char='"',
        )
    except pl.exceptions.PolarsError as exc:
        raise _ragged(shown, text, delimiter, len(header)) or SourceError(
            shown, f"not a well-formed {_sep_name(delimiter)}-separated table ({_first_line(exc)})") from None
    lines = pl.Series("line", range(2, frame.height + 2), dtype=pl.Int64)
    frame, lines = _drop_blank(frame, lines)
    return Table(shown, "csv", header, frame, lines, enc.normalize_name(encoding), delimiter)


def _ragged(path: str, text: str, delimiter: str, width: int) -> SourceError | None:
    """The first record with more cells than the header (only on the error path: Python per row)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            if len(row) > width:
                return SourceError(path, f"{len(row)} cells, the header has {width} "
                                         f"(a stray {_sep_name(delimiter)} or an unclosed quote?)", line=number)
    except csv.Error as exc:
        return SourceError(path, f"broken CSV: {exc}", line=reader.line_num)
    return None


def _sep_name(delimiter: str) -> str:
    return {"\t": "tab", ";": "';'", ",": "','", "|": "'|'"}.get(delimiter, repr(delimiter))


def _read_excel(path: Path) -> Table:
    """The first sheet with content; its first non-empty row is the header."""
    import fastexcel

    shown = str(path)
    try:
        reader = fastexcel.read_excel(str(path))
        names = reader.sheet_names
    except Exception as exc:  # calamine reports damage with its own exception types
        raise SourceError(shown, f"not a readable Excel workbook ({_first_line(exc)})") from None
    for name in names:
        try:
            sheet_data = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
            batch, _errors = sheet_data.to_arrow_with_errors()
        except Exception as exc:
            raise SourceError(shown, f"sheet {name!r} cannot be read ({_first_line(exc)})") from None
        sheet = pl.from_arrow(batch)
        assert isinstance(sheet, pl.DataFrame)
        if not sheet.width:
            continue
        filled = sheet.select(~_blank_row(sheet.columns)).to_series()
        if not filled.any():
            continue
        first = int(filled.arg_true()[0])
        header = unique_names([c for c in sheet.row(first)])
        frame = sheet.slice(first + 1).select(pl.all().cast(pl.String))  # an empty column may come as Null
        frame.columns = header
        lines = pl.Series("line", range(first + 2, first + 2 + frame.height), dtype=pl.Int64)
        frame, lines = _drop_blank(frame, lines)
        fmt = path.suffix.lower().lstrip(".") if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods") else "xlsx"
        return Table(shown, fmt, header, frame, lines, sheet=name)
    raise SourceError(shown, "every sheet is empty")


def _read_parquet(path: Path) -> Table:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise SourceError(str(path), f"not a readable Parquet file ({_first_line(exc)})") from None
    return _typed_table(path, "parquet", frame, first_line=1)


def _read_jsonl(path: Path) -> Table:
    if not path.read_bytes().strip():
        raise SourceError(str(path), "the file is empty")
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except Exception as exc:
        raise SourceError(str(path), f"not valid JSON Lines ({_first_line(exc)})") from None
    return _typed_table(path, "jsonl", frame, first_line=1)


def _typed_table(path: Path, fmt: str, frame: pl.DataFrame, first_line: int) -> Table:
    """Typed columns as the text an import would get: lists joined with "; " like crmtool's CSVs."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, (pl.List, pl.Array)):
            col = col.cast(pl.List(pl.String)).list.join("; ")
        elif isinstance(dtype, pl.Struct):
            col = col.struct.json_encode()
        elif dtype != pl.String:
            col = col.cast(pl.String)
        columns.append(col.alias(name))
    frame = frame.select(columns)
    lines = pl.Series("line", range(first_line, first_line + frame.height), dtype=pl.Int64)
    frame, lines = _drop_blank(frame, lines)
    return Table(str(path), fmt, list(frame.columns), frame, lines)


def _blank_row(columns: list[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in columns)


def _drop_blank(frame: pl.DataFrame, lines: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """Blank rows are skipped by every CRM import: not checked, but the others keep their lines."""
    if not frame.width:
        return frame, lines
    keep = frame.select(~_blank_row(frame.columns)).to_series()
    if keep.all():
        return frame, lines
    return frame.filter(keep), lines.filter(keep)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
