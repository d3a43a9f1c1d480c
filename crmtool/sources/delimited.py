"""Delimited text: Outlook and Google contact exports, 1C lists, any CSV/TSV.

The file is decoded once (see `encoding.py`), the delimiter and the header row
are found on a sample with the csv module, and the body is parsed by polars'
CSV reader. When the body is not a clean table — a row with more cells than the
header — it is parsed again with the csv module so that such rows are kept,
flagged, with their extra cells in `extra`, instead of failing or being cut.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import polars as pl

from crmtool.errors import SourceError
from crmtool.sources import encoding as enc
from crmtool.sources.base import Progress, ReadOptions, ReadResult, no_progress
from crmtool.sources.headers import detect_profile, find_header_row, parse_user_columns
from crmtool.sources.schema import STR_LIST, empty_lists
from crmtool.sources.tabular import map_table

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_CHARS = 64 * 1024
HEADER_SEARCH_ROWS = 30

csv.field_size_limit(1 << 30)


def read_delimited(path: Path, options: ReadOptions, progress: Progress = no_progress) -> ReadResult:
    data = path.read_bytes()
    progress(len(data) // 4)
    encoding = options.encoding or enc.detect(data[: enc.SAMPLE_SIZE], complete=len(data) <= enc.SAMPLE_SIZE)
    if not encoding.startswith("utf-16") and not encoding.startswith("utf-32") and enc.looks_binary(data[:65536]):
        raise SourceError(str(path), "binary data, not a text table")
    body = _as_utf8(str(path), data, encoding)
    del data
    if not body.strip():
        raise SourceError(str(path), "the file is empty")
    sample = body[:SAMPLE_CHARS].decode("utf-8", errors="ignore")
    delimiter = options.delimiter or sniff_delimiter(sample)
    user = parse_user_columns(options.columns)
    header_index, header, header_line, header_start = _find_header(str(path), sample, delimiter, user, options)
    body = body[len(sample[:header_start].encode("utf-8")):]
    size = len(body)
    notes = []
    if header_index is None:
        notes.append("no header row recognised; the first row is used as the header")
    names = unique_names(header)
    frame, lines, flags = _parse_body(str(path), body, delimiter, names, header_line)
    del body
    progress(size)
    keep = ~pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in frame.columns)
    mask = frame.select(keep).to_series()
    blank = int((~mask).sum())
    if blank:
        notes.append(f"{blank} blank row(s) skipped")
        frame, lines, flags = frame.filter(mask), lines.filter(mask), flags.filter(mask)
    profile = detect_profile(header)
    batch, info = map_table(
        frame,
        profile=profile,
        user=user,
        first_row=1,
        lines=lines,
        reader_flags=flags,
        header_line=header_line,
    )
    return ReadResult(
        format="csv" if delimiter != "\t" else "tsv",
        batches=iter([batch]),
        encoding=enc.normalize_name(encoding),
        profile=profile.name if profile else None,
        tables=[info],
        notes=notes + [f"delimiter {delimiter!r}".replace("'\\t'", "tab")],
    )


def _as_utf8(path: str, data: bytes, encoding: str) -> bytes:
    """The file as UTF-8 bytes without BOM: UTF-8 files as they are (polars checks
    them), others decoded strictly and re-encoded."""
    _, bom = enc.bom_of(data)
    if encoding in ("utf-8", "ascii"):
        return data[bom:] if bom else data
    return enc.decode(data, encoding, path).encode("utf-8")


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the most sample rows into the same number (> 1) of cells."""
    sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
        except csv.Error:
            continue
        widths = Counter(len(r) for r in rows if len(r) > 1)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        if (count, width) > best_score:
            best, best_score = delimiter, (count, width)
    return best


def unique_names(header: list[str]) -> list[str]:
    """Column names from header cells as written (trimmed): blanks named by position,
    repeats numbered."""
    names, seen = [], Counter()
    for i, cell in enumerate(header):
        name = str(cell or "").strip() or f"column {i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _find_header(path: str, sample: str, delimiter: str, user, options: ReadOptions):
    """The header row: its index among rows, cells, physical line and start offset in the text."""
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    rows, starts = [], []
    line = 1
    try:
        for row in reader:
            rows.append(row)
            starts.append(line)
            line = reader.line_num + 1
            if len(rows) >= HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        pass  # a broken quote in the sample: look for the header among the rows read so far
    if not rows:
        raise SourceError(path, "no rows found")
    if options.header_row:
        index = next((i for i, s in enumerate(starts) if s >= options.header_row), None)
        if index is None:
            raise SourceError(path, f"--header-row {options.header_row} is beyond the first rows of the file")
    else:
        index = find_header_row(rows, user)
    chosen = index if index is not None else next(i for i, r in enumerate(rows) if any(c.strip() for c in r))
    header_line = starts[chosen]
    offset = _offset_of_line(sample, header_line)
    return index, rows[chosen], header_line, offset


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def _parse_body(path: str, body: bytes, delimiter: str, names: list[str], header_line: int):
    """Parse header + data rows (UTF-8): polars when the table is clean, the csv module otherwise."""
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            quote_char='"',
            new_columns=[f"c{i}" for i in range(len(names))],
        )
    except pl.exceptions.PolarsError:
        return _parse_body_slow(path, _text(path, body, header_line), delimiter, names, header_line)
    if frame.width != len(names):
        return _parse_body_slow(path, _text(path, body, header_line), delimiter, names, header_line)
    header_inner = sum(str(cell).count("\n") for cell in frame.row(0) if cell)
    frame = frame.slice(1)  # the header row itself
    frame.columns = names
    # Physical line of each row: rows start one line apart plus the new lines inside
    # quoted cells of the rows before.
    inner = pl.sum_horizontal(pl.col(c).str.count_matches("\n").fill_null(0) for c in names)
    lines = frame.select(
        (pl.int_range(0, pl.len(), dtype=pl.Int64) + header_line + header_inner + 1
         + inner.cum_sum().shift(1, fill_value=0)).alias("line")
    ).to_series()
    flags = empty_lists(frame.height)
    return frame, lines, flags


def _text(path: str, body: bytes, header_line: int) -> str:
    """Decode the body for the slow path; a byte that is not UTF-8 names its line."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = header_line + body.count(b"\n", 0, exc.start)
        raise SourceError(path, f"cannot decode as utf-8: byte 0x{body[exc.start]:02x} (pass --encoding if the file "
                          "uses another code page)", line=line) from None


def _parse_body_slow(path: str, body: str, delimiter: str, names: list[str], header_line: int):
    """The csv module's row-by-row parse, for tables with ragged rows or odd quoting.

    Rows with more cells than the header keep them in extra columns and are
    flagged `too_many_fields`; rows with fewer cells are padded.
    """
    reader = csv.reader(io.StringIO(body), delimiter=delimiter, strict=True)
    rows, lines, flags = [], [], []
    width = len(names)
    start = header_line
    try:
        next(reader)
        start = header_line + reader.line_num
        for row in reader:
            rows.append(row)
            lines.append(start)
            flags.append(["too_many_fields"] if len(row) > width else [])
            start = header_line + reader.line_num
    except csv.Error as exc:
        raise SourceError(path, f"broken quoting: {exc}", line=start) from None
    longest = max((len(r) for r in rows), default=width)
    all_names = names + [f"overflow {i + 1}" for i in range(longest - width)]
    columns = list(zip(*[r + [None] * (longest - len(r)) for r in rows])) if rows else [[] for _ in all_names]
    frame = pl.DataFrame({n: pl.Series(n, list(col), dtype=pl.String) for n, col in zip(all_names, columns)})
    return (
        frame,
        pl.Series("line", lines, dtype=pl.Int64),
        pl.Series("flags", flags, dtype=STR_LIST),
    )
