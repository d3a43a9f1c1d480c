"""Write real files in real formats for tests: xlsx (openpyxl), xls (xlwt), CSV (csv module)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

Rows = Sequence[Sequence[object]]


def write_xlsx(path: Path, sheets: dict[str, Rows], merges: dict[str, list[str]] | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    wb.save(path)
    return path


def write_xls(path: Path, sheets: dict[str, Rows]) -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        ws = wb.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    wb.save(str(path))
    return path


def csv_text(rows: Rows, delimiter: str = ",", quote_all: bool = False, newline: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(
        buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buf.getvalue()


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8", bom: bool = False, **kwargs) -> Path:
    data = csv_text(rows, **kwargs).encode(encoding)
    if bom:
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe"}[encoding] + data
    path.write_bytes(data)
    return path
