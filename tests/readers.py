"""Read a file with a reader and collect its finalized records, as the loader would."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmtool.sources.base import ReadOptions, ReadResult
from crmtool.sources.loader import reader_for
from crmtool.sources.schema import finalize
from crmtool.sources.sniff import sniff


def read_all(path: Path, **options) -> tuple[pl.DataFrame, ReadResult]:
    result = reader_for(sniff(path))(path, ReadOptions(**options))
    batches = [finalize(b) for b in result.batches]
    return pl.concat(batches) if batches else pl.DataFrame(), result


def row(frame: pl.DataFrame, source_row: int) -> dict:
    return frame.filter(pl.col("source_row") == source_row).to_dicts()[0]
