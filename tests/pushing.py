"""What the push tests share: a merged workspace of the samples, copied fresh per test."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

from conftest import SAMPLES

from crmtool.cli import main
from crmtool.export.data import load_export_data
from crmtool.push.ledger import Ledger
from crmtool.push.runner import push
from crmtool.push.targets import Limits, open_target
from crmtool.push.transport import RetryPolicy
from crmtool.workspace import Workspace

SYLLABLES = ["ба", "ве", "го", "да", "ке", "ло", "ми", "но", "пе", "ро", "са", "ти", "фе", "ху", "ча", "ше",
             "бу", "ви", "гу", "ду", "ку", "лу", "му", "ну", "пу", "ру", "су", "ту", "зу", "жу"]
ENDINGS = ["ов", "ев", "ин", "ский", "енко", "ук"]
FIRST = ["Иван", "Пётр", "Алексей", "Сергей", "Андрей", "Дмитрий", "Михаил", "Николай", "Анна", "Мария",
         "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана"]

def people(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    surnames: set[str] = set()
    while len(surnames) < n:
        stem = "".join(rng.choice(SYLLABLES) for _ in range(3))
        surnames.add((stem + rng.choice(ENDINGS)).capitalize())
    rows = []
    for i, surname in enumerate(sorted(surnames)):
        rows.append({"ФИО": f"{surname} {rng.choice(FIRST)}", "Телефон": f"+7 9{i // 10000 % 100:02d} {i % 10000:04d}-{rng.randrange(100):02d}",
                     "E-mail": f"user{i}@example{i % 50}.ru", "Город": "Москва"})
    return rows



def write_people(path: Path, n: int) -> Path:
    """A CSV of n distinct people: nothing in it for the matcher to merge."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["ФИО", "Телефон", "E-mail", "Город"], delimiter=";")
        writer.writeheader()
        writer.writerows(people(n))
    return path


FAST = Limits(rate=1000.0, burst=1000, retry=RetryPolicy(attempts=6, base=0.01, cap=0.05))


def build_samples(root: Path) -> Path:
    """`crmtool run` on a copy of samples/; returns the workspace file."""
    shutil.copytree(SAMPLES, root / "samples")
    db = root / "ws.duckdb"
    assert main(["run", str(root / "samples"), "--out", str(root / "out"), "--db", str(db), "--quiet"]) == 0
    return db


def build_people(root: Path, n: int) -> Path:
    """`crmtool run` on n distinct people; returns the workspace file (n golden contacts)."""
    source = write_people(root / "people.csv", n)
    db = root / "ws.duckdb"
    assert main(["run", str(source), "--db", str(db), "--out", str(root / "out"), "--quiet"]) == 0
    return db


def fresh_copy(db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ws.duckdb"
    shutil.copy(db, copy)
    return copy


def push_once(db: Path, target: str, secret: str, *, portal: str | None = None, mode: str = "merge",
              dry_run: bool = False, limits: Limits = FAST, users: dict | None = None):
    """One push through the library, as the command does it: (summary, ledger entries by entity)."""
    pusher = open_target(target, secret, portal=portal, users=users, limits=limits)
    try:
        with Workspace.open(db, create=False) as ws:
            ledger = Ledger(ws, pusher.identity)
            summary = push(pusher, ledger, load_export_data(ws), mode=mode, dry_run=dry_run)
            entries = {e: ledger.entries(e) for e in ("company", "contact")}
    finally:
        pusher.close()
    return summary, entries


def golden_counts(db: Path) -> tuple[int, int]:
    with Workspace.open(db, create=False) as ws:
        data = load_export_data(ws)
        return data.companies.height, data.contacts.height
