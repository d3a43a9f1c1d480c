"""The files `crmtool run` always writes: contacts.csv, companies.csv, links.csv and
crosswalk.csv in crmtool's own layout (the `generic` and `crosswalk` targets, comma-
separated UTF-8), whose leading columns DESIGN.md's CLI contract fixes, and the
Bitrix24 import files (bitrix24_companies.csv, bitrix24_contacts.csv)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from crmtool.export.bitrix24 import write_bitrix24
from crmtool.export.data import ExportData
from crmtool.export.generic import write_crosswalk, write_generic
from crmtool.export.targets import ExportOptions

RUN_OPTIONS = ExportOptions(separator=",")


def _write_own_files(data: ExportData, out_dir: Path) -> None:
    write_generic(data, out_dir, RUN_OPTIONS)
    write_crosswalk(data, out_dir, RUN_OPTIONS)


def write_outputs(data: ExportData, out_dir: Path, delta: pl.DataFrame | None = None) -> dict[str, int]:
    """Write the files (and delta.csv when given); returns the number of data rows in each."""
    counts = {}
    if delta is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / "delta.csv.part"
        delta.write_csv(tmp)
        tmp.replace(out_dir / "delta.csv")
        counts["delta.csv"] = delta.height
    # the Bitrix24 files and crmtool's own files share nothing but the read-only frames: written
    # side by side, one's single-threaded steps overlap the other's
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(write_bitrix24, data, out_dir, ExportOptions()),
                pool.submit(_write_own_files, data, out_dir)]
        for job in jobs:
            job.result()
    return counts | {"contacts.csv": data.contacts.height, "companies.csv": data.companies.height,
            "links.csv": data.links.height, "crosswalk.csv": data.crosswalk.height,
            "bitrix24_contacts.csv": data.contacts.height, "bitrix24_companies.csv": data.companies.height}
