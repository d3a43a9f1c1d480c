"""Speed and peak memory of `crmtool normalize` on 1M loaded records.

    python benchmarks/bench_normalize.py          # loads the generated 1M CSV once, then measures

Target (issue 3, this 2-core machine): 1M records normalized (names, phones,
e-mails, companies and requisites) in <= 20 s, peak memory <= 3 GB. The
workspace (the generated 1M CSV with ИНН and КПП columns) is loaded once (not timed) and copied for each run; every run is a
separate `crmtool normalize` process, whose wall time and peak RSS are
reported, best of --repeat. Per-family timings come from calling the family
functions in this process on the same records.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import ensure  # noqa: E402
from measure import run_measured  # noqa: E402

TARGET_S = 20.0
MEMORY_TARGET_MB = 3072


def measure(db: Path) -> tuple[float, float, dict]:
    wall, rss, result = run_measured([Path(sys.executable).with_name("crmtool"), "normalize", "--db", db, "--json"])
    if result["rc"] != 0:
        raise SystemExit(f"crmtool normalize failed: {result['err']}")
    return wall, rss, json.loads(result["out"])


def families(db: Path) -> dict[str, float]:
    """Seconds per family on the same records, in this process (for finding the slow one)."""
    import duckdb
    import polars as pl

    from crmtool.normalize.companies import normalize_companies
    from crmtool.normalize.emails import normalize_emails
    from crmtool.normalize.names import normalize_names
    from crmtool.normalize.phones import normalize_phones
    from crmtool.normalize.requisites import check_inn

    con = duckdb.connect(str(db), read_only=True)
    records = con.sql("SELECT full_name, last_name, first_name, middle_name, company, inn, phones, emails FROM records").pl()
    con.close()
    timings = {}
    for name, call in (
        ("names", lambda: normalize_names(records.select("full_name", "last_name", "first_name", "middle_name"))),
        ("phones", lambda: normalize_phones(records["phones"].explode().drop_nulls())),
        ("emails", lambda: normalize_emails(records["emails"].explode().drop_nulls())),
        ("companies", lambda: normalize_companies(records["company"])),
        ("inn", lambda: check_inn(records["inn"])),
    ):
        start = time.perf_counter()
        call()
        timings[name] = time.perf_counter() - start
    del pl
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-families", action="store_true", help="skip the per-family timings")
    args = parser.parse_args()
    source = ensure("csv_1m_requisites", ["--rows", "1000000", "--format", "csv", "--requisites"], "contacts_1m_requisites.csv")
    crmtool = Path(sys.executable).with_name("crmtool")
    with tempfile.TemporaryDirectory() as tmp:
        loaded = Path(tmp) / "loaded.duckdb"
        subprocess.run([str(crmtool), "load", str(source), "--db", str(loaded), "--quiet"], check=True)
        runs = []
        for i in range(args.repeat):
            db = Path(tmp) / f"run{i}.duckdb"
            shutil.copy(loaded, db)
            runs.append(measure(db))
        wall, _, counts = min(runs, key=lambda r: r[0])
        peak = max(r[1] for r in runs)
        timings = {} if args.no_families else families(loaded)
    ok = wall <= TARGET_S and peak <= MEMORY_TARGET_MB
    print(f"records {counts['records_normalized']:,}: best {wall:.2f} s (target {TARGET_S:.0f}), "
          f"peak {peak:.0f} MB (target {MEMORY_TARGET_MB}) {'ok' if ok else 'NOT OK'}")
    print("values: " + ", ".join(f"{k[7:]} {v:,}" for k, v in counts.items() if k.startswith("values_")))
    for name, seconds in timings.items():
        print(f"  {name:<10}{seconds:>7.2f} s")
    print(f"cpus: {os.cpu_count()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
