"""Shared fixtures: a fresh workspace, the CLI in-process, paths to sample files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmtool.cli import main
from crmtool.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"
# Real files from public projects (../shared/samples, copied with their licences so a clean
# clone tests against them wherever it is checked out).
SHARED_SAMPLES = DATA / "shared"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ws.duckdb"


@pytest.fixture
def ws(db: Path):
    with Workspace.open(db) as workspace:
        yield workspace


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run `crmtool ARGS` in-process; returns exit code and captured output."""

    def run(*args: str | Path) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
