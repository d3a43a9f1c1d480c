"""Excel workbooks (.xlsx, .xlsm, .xls, and .ods as a bonus) through calamine.

Every sheet that holds a contact table is read; sheets that do not (price
lists, lookup tables) are skipped with a note. The header row is found even
below title lines, dates, blank rows and merged cells. Numbers are read as
text the way Excel shows them without formatting, so a phone stored as the
number 79161234567 comes back as exactly those digits; cells whose digits
Excel had already lost ("7,91612E+10") are flagged by the table mapper.
"""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from crmtool.errors import SourceError
from crmtool.sources.base import Progress, ReadOptions, ReadResult, TableInfo, no_progress
from crmtool.sources.delimited import unique_names
from crmtool.sources.headers import Target, detect_profile, find_header_row, parse_user_columns
from crmtool.sources.schema import STR_LIST
from crmtool.sources.tabular import map_table

HEADER_SEARCH_ROWS = 30
ERRORS_COLUMN = "#errors"  # its key, "errors", matches no synonym or guess
_EXTRA = Target("extra", how="reader")


def read_excel(path: Path, options: ReadOptions, progress: Progress = no_progress) -> ReadResult:
    fmt = _format_of(path)
    try:
        reader = fastexcel.read_excel(str(path))
        sheet_names = reader.sheet_names
    except Exception as exc:  # calamine reports corrupt files with its own exception types
        raise SourceError(str(path), f"not a readable Excel workbook ({_short(exc)})") from None
    user = parse_user_columns(options.columns)
    wanted = options.sheets
    if wanted:
        missing = [s for s in wanted if s not in sheet_names]
        if missing:
            raise SourceError(str(path), f"no sheet named {', '.join(map(repr, missing))}; sheets: {', '.join(sheet_names)}")
    size = path.stat().st_size
    notes: list[str] = []
    batches: list[pl.DataFrame] = []
    tables: list[TableInfo] = []
    profiles: list[str] = []
    loaded: list[tuple[str, pl.DataFrame, list]] = []
    for i, name in enumerate(sheet_names):
        if wanted and name not in wanted:
            continue
        frame, errors = _load_sheet(path, reader, name)
        progress(size * (i + 1) // (len(sheet_names) + 1))
        loaded.append((name, frame, errors))
    first_row = 1
    found_any = False
    for name, frame, errors in loaded:
        rows = frame.head(HEADER_SEARCH_ROWS).rows()
        index = options.header_row - 1 if options.header_row else find_header_row(rows, user)
        if index is None or index >= frame.height:
            if frame.height:
                notes.append(f"sheet {name!r} skipped: no contact table found")
            continue
        found_any = True
        batch, info, profile = _table(frame, errors, index, name, user, first_row)
        first_row += batch.height
        batches.append(batch)
        tables.append(info)
        if profile:
            profiles.append(profile)
        notes.extend(_blank_note(name, info, frame, index))
    if not found_any:
        # Nothing looks like a contact table: keep the first non-empty sheet as it is
        # rather than lose it, with its first non-empty row as the header.
        for name, frame, errors in loaded:
            nonblank = [i for i, r in enumerate(frame.rows()) if any(c is not None and str(c).strip() for c in r)]
            if nonblank:
                batch, info, profile = _table(frame, errors, nonblank[0], name, user, 1)
                batches, tables = [batch], [info]
                notes = [n for n in notes if not n.startswith(f"sheet {name!r}")]
                notes.append(f"no header row recognised; sheet {name!r} read with its first row as the header")
                break
    progress(size)
    return ReadResult(
        format=fmt,
        batches=iter(batches),
        profile=profiles[0] if len(set(profiles)) == 1 and len(profiles) == len(tables) else None,
        tables=tables,
        notes=notes,
    )


def _format_of(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in ("xlsx", "xlsm", "ods", "xlsb") else "xlsx"


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _load_sheet(path: Path, reader, name: str) -> tuple[pl.DataFrame, list]:
    """All cells of a sheet as text, row 0 being the sheet's row 1, plus cell errors."""
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        batch, errors = sheet.to_arrow_with_errors()
    except Exception as exc:
        raise SourceError(str(path), f"sheet {name!r} cannot be read ({_short(exc)})") from None
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return frame, list(errors.errors) if errors else []


def _table(frame: pl.DataFrame, errors: list, index: int, sheet: str, user, first_row: int):
    header = [c for c in frame.row(index)]
    names = unique_names(header)
    data = frame.slice(index + 1)
    data.columns = names
    lines = pl.Series("line", range(index + 2, index + 2 + data.height), dtype=pl.Int64)
    flags, error_notes = _cell_errors(errors, index, names, data.height)
    data = data.with_columns(error_notes)
    keep = data.select(
        ~pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in data.columns)
    ).to_series()
    data, lines, flags = data.filter(keep), lines.filter(keep), flags.filter(keep)
    profile = detect_profile(header)
    user = {**(user or {}), "errors": _EXTRA}
    batch, info = map_table(
        data, profile=profile, user=user, first_row=first_row, lines=lines, reader_flags=flags,
        sheet=sheet, name=sheet, header_line=index + 1,
    )
    info.columns.pop(ERRORS_COLUMN, None)
    return batch, info, profile.name if profile else None


def _cell_errors(errors: list, header_index: int, names: list[str], height: int) -> tuple[pl.Series, pl.Series]:
    """Rows holding error cells (#N/A, #DIV/0!…): flagged, with which cell said what."""
    per_row: dict[int, dict[str, str]] = {}
    for err in errors:
        row, col = err.position
        r = row - header_index - 1
        if 0 <= r < height and 0 <= col < len(names):
            per_row.setdefault(r, {})[names[col]] = err.detail.replace("Expected string but got ", "").strip("'")
    found = pl.DataFrame(
        {"r": list(per_row), "note": [", ".join(f"{k}: {v}" for k, v in d.items()) for d in per_row.values()]},
        schema={"r": pl.Int64, "note": pl.String},
    )
    rows = pl.DataFrame({"r": pl.int_range(0, height, eager=True, dtype=pl.Int64)})
    joined = rows.join(found, on="r", how="left", maintain_order="left")
    flags = joined.select(
        pl.when(pl.col("note").is_not_null())
        .then(pl.lit(["cell_error"], dtype=STR_LIST))
        .otherwise(pl.lit([], dtype=STR_LIST))
        .alias("flags")
    ).to_series()
    return flags, joined.get_column("note").alias(ERRORS_COLUMN)


def _blank_note(sheet: str, info: TableInfo, frame: pl.DataFrame, index: int) -> list[str]:
    blank = frame.height - index - 1 - info.rows
    return [f"sheet {sheet!r}: {blank} blank row(s) skipped"] if blank > 0 else []

