"""Merge and every file export at scale: seconds and peak memory per step.

    python benchmarks/bench_merge.py --size 1m [--db WORKSPACE]

Issue 5's bar: "Merge + all file exports of 1M records <= 30 s on this machine".
The workspace is the matched benchmark data (benchmarks/data/match_<size>/,
made by match_data.py through bench_match.ensure_data): `crmtool run` builds it
once (or --db reuses one); then `crmtool merge` and `crmtool export` with every
file target (bitrix24, amocrm csv, generic csv, vcard, crosswalk, mailing) run
each in its own measured process. A copy of the workspace is used, so the
source workspace is never changed. Exit 1 when the bar is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_match import ensure_data, parse_size  # noqa: E402
from measure import run_measured  # noqa: E402

TARGETS = ("bitrix24", "amocrm", "generic", "vcard", "crosswalk", "mailing")
BAR_S = 30.0


def crmtool(*args) -> list[str]:
    return [sys.executable, "-m", "crmtool", *map(str, args)]


def measured(label: str, cmd: list[str], cwd: Path) -> tuple[float, float]:
    wall, rss, result = run_measured(cmd, cwd=cwd)
    if result["rc"] != 0:
        raise SystemExit(f"{label} failed (exit {result['rc']}):\n{result['err']}")
    print(f"  {label:<28}{wall:>8.1f} s{rss:>9.0f} MB", flush=True)
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, help="a matched workspace to copy instead of building one")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    records = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="bench_merge_") as tmp:
        work = Path(tmp)
        db = work / "bench.duckdb"
        if args.db:
            shutil.copy(args.db, db)
        else:
            folder = ensure_data(args.size, records, args.seed)
            print(f"{args.size}: building the workspace (crmtool run) …", flush=True)
            measured("run (setup, not counted)", crmtool("run", folder / "contacts.csv", folder / "companies.csv",
                                                         "--db", db, "--out", work / "run", "--quiet"), work)
        print(f"{args.size}: merge and exports", flush=True)
        steps = {"merge": measured("merge", crmtool("merge", "--db", db, "--quiet"), work)}
        for target in TARGETS:
            steps[target] = measured(f"export {target}", crmtool(
                "export", "--target", target, "--out", work / "export", "--db", db, "--quiet"), work)
        together = measured("export all targets at once", crmtool(
            "export", *[a for t in TARGETS for a in ("--target", t)], "--out", work / "all", "--db", db, "--quiet"),
            work)
    total = steps["merge"][0] + together[0]
    peak = max(rss for _, rss in [*steps.values(), together])
    verdict = "ok" if total <= BAR_S else f"MISSED (> {BAR_S:.0f} s)"
    print(f"merge + all file exports: {total:.1f} s, peak {peak:.0f} MB — bar {BAR_S:.0f} s: {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, "steps": {k: {"seconds": w, "peak_mb": r}
                                                                       for k, (w, r) in steps.items()},
                                         "all_exports": {"seconds": together[0], "peak_mb": together[1]},
                                         "total_seconds": total}, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if total <= BAR_S else 1)


if __name__ == "__main__":
    main()
