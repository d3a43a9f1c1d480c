"""The stages strung together, for `crmtool load` and `crmtool run`.

Commands parse arguments and print; the work lives here and in the stage
packages, so tests call the same functions the commands do.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import polars as pl

from crmtool import console
from crmtool.export.csv_files import write_outputs
from crmtool.export.data import ExportData, load_export_data
from crmtool.match.stage import LOWER, UPPER, MatchSummary, match_workspace
from crmtool.merge.stage import merge_stage
from crmtool.merge.survivorship import Survivorship
from crmtool.normalize.runner import NormalizeSummary, normalize_workspace
from crmtool.sources.base import ReadOptions
from crmtool.sources.loader import FileOutcome, discover, load_file
from crmtool.sources.mapping_file import MappingFile
from crmtool.workspace import Workspace


@dataclass
class LoadSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def counts(self) -> dict[str, int]:
        by = lambda s: sum(1 for o in self.outcomes if o.status == s)  # noqa: E731
        return {
            "files_loaded": by("loaded"),
            "files_skipped": by("skipped"),
            "files_failed": by("failed"),
            "records_loaded": sum(o.rows for o in self.outcomes if o.status == "loaded"),
            "records_rejected": sum(o.rejected for o in self.outcomes if o.status == "loaded"),
            "records_flagged": sum(o.flagged for o in self.outcomes if o.status == "loaded"),
            "errors": by("failed"),
        }


def load_paths(
    ws: Workspace,
    paths: Sequence[str | Path],
    *,
    mapping: MappingFile | None = None,
    options: ReadOptions | None = None,
    replace: bool = False,
    run_id: int | None = None,
    on_outcome=None,
) -> LoadSummary:
    """Load every file found under `paths`, each in its own transaction."""
    found = discover(paths)
    summary = LoadSummary(ignored=[str(p) for p in found.ignored])
    for missing in found.missing:
        outcome = FileOutcome(missing, "failed", f"{missing}: no such file or folder")
        summary.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    sizes = [f.stat().st_size for f in found.files]
    with console.progress_bar() as bar:
        task = bar.add_task("loading", total=sum(sizes) or 1)
        done = 0
        for path, size in zip(found.files, sizes):
            bar.update(task, description=path.name, completed=done)
            file_options = mapping.options_for(path, options) if mapping else (options or ReadOptions())
            outcome = load_file(
                ws, path, file_options, run_id=run_id, replace=replace,
                progress=lambda pos, base=done, size=size: bar.update(task, completed=base + min(pos, size)),
                stage=lambda text: bar.update(task, description=text),
            )
            done += size
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return summary


def normalize_stage(ws: Workspace, default_region: str = "RU", incremental: bool = False) -> NormalizeSummary:
    """The normalize stage with a progress bar naming its steps."""
    with console.progress_bar() as bar:
        task = bar.add_task("normalizing", total=None)
        return normalize_workspace(ws, default_region, stage=lambda s: bar.update(task, description=s),
                                   incremental=incremental)


def match_stage(ws: Workspace, upper: float = UPPER, lower: float = LOWER, incremental: bool = False) -> MatchSummary:
    """The match stage with a progress bar naming its steps."""
    with console.progress_bar() as bar:
        task = bar.add_task("matching", total=None)
        return match_workspace(ws, upper, lower, stage=lambda s: bar.update(task, description=s),
                               incremental=incremental)


@dataclass
class RunSummary:
    load: LoadSummary
    stages: dict[str, dict]        # normalize / match / merge counts; the last run's when up to date
    outputs: dict[str, int]
    out_dir: Path
    delta: pl.DataFrame            # what changed in the golden records (merge.delta)
    data: ExportData               # the golden records as written, for the run's other targets and push
    up_to_date: bool = False       # nothing new since the last run: stages skipped
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage


RUN_SIGNATURE_KEY = "run_signature"
RUN_STAGES_KEY = "run_stages"


def run_signature(ws: Workspace, default_region: str, upper: float, lower: float,
                  rules: Survivorship | None) -> str:
    """What the golden records depend on: the loaded files (by content), the settings, the
    human verdicts and this crmtool. Equal signatures → the stages would give the same result."""
    from crmtool import __version__

    files = ws.con.execute("SELECT list(sha256 ORDER BY sha256) FROM sources").fetchone()[0] or []
    decided = ws.con.execute("SELECT count(*), max(decided_at)::VARCHAR FROM decisions").fetchone()
    text = json.dumps([__version__, files, default_region, upper, lower, repr(rules), list(decided)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_pipeline(
    ws: Workspace,
    sources: Sequence[str | Path],
    out_dir: Path,
    *,
    mapping: MappingFile | None = None,
    options: ReadOptions | None = None,
    run_id: int | None = None,
    on_outcome=None,
    default_region: str = "RU",
    rules: Survivorship | None = None,
    upper: float = UPPER,
    lower: float = LOWER,
    full: bool = False,
) -> RunSummary:
    """Load → normalize → match → merge → write contacts.csv, companies.csv, links.csv,
    crosswalk.csv, the Bitrix24 import files and delta.csv.

    When nothing the golden records depend on changed since the last run (same files, settings
    and verdicts), the three middle stages are skipped: a nightly run over unchanged dumps costs
    the load check and the files. Otherwise only the new files' records are normalized, and only
    the blocks they fall in are matched again, with the weights learned before (unless `full`,
    the thresholds changed, or the new records are a large share of the base: see
    match.stage.match_new_records). Golden ids persist across runs, so a new file changes only
    the golden records it touches; delta.csv lists them."""
    from crmtool.merge import delta as golden_delta

    clock = _Clock()
    loaded = clock("load", lambda: load_paths(ws, sources, mapping=mapping, options=options, run_id=run_id,
                                               on_outcome=on_outcome))
    signature = run_signature(ws, default_region, upper, lower, rules)
    last = ws.scalar("SELECT value FROM meta WHERE key = ?", [RUN_SIGNATURE_KEY])
    stored = ws.scalar("SELECT value FROM meta WHERE key = ?", [RUN_STAGES_KEY])
    if not full and last == signature and stored and ws.scalar("SELECT count(*) FROM clusters"):
        changes = pl.DataFrame(schema=golden_delta.SCHEMA)
        data, outputs = clock("export", lambda: _write_files(ws, out_dir, changes))
        return RunSummary(loaded, json.loads(stored), outputs, out_dir, changes, data, True, clock.seconds)
    before = golden_delta.snapshot(ws)
    normalized = clock("normalize", lambda: normalize_stage(ws, default_region, incremental=not full))
    matched = clock("match", lambda: match_stage(ws, upper, lower, incremental=not full))
    merged = clock("merge", lambda: merge_stage(ws, rules))
    changes = golden_delta.compare(ws, before)
    data, outputs = clock("export", lambda: _write_files(ws, out_dir, changes))
    stages = {"normalize": normalized.counts(), "match": matched.counts(), "merge": merged.counts()}
    ws.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?), (?, ?)",
                   [RUN_SIGNATURE_KEY, signature, RUN_STAGES_KEY, json.dumps(stages)])
    return RunSummary(loaded, stages, outputs, out_dir, changes, data, False, clock.seconds)


def _write_files(ws: Workspace, out_dir: Path, changes: pl.DataFrame) -> tuple[ExportData, dict[str, int]]:
    """The golden records read once, and the files every run writes from them."""
    data = load_export_data(ws)
    return data, write_outputs(data, out_dir, changes)


class _Clock:
    """Runs stages and keeps each one's wall time (reported by `run --json`, read by benchmarks)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, work):
        start = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)
