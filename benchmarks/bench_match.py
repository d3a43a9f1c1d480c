"""Duplicate matching against ground truth: speed, memory, pairwise precision/recall/F1.

    python benchmarks/bench_match.py --sizes 10k,100k,1m [--splink] [--details]

For each size the dirty data with its truth is generated once
(benchmarks/data/match_<size>/, by match_data.py, written to a `.part` folder
then renamed, regenerated when the seed or generator version changes). Then
`crmtool run contacts.csv companies.csv` runs in a fresh workspace in its own
process; its wall time and peak RSS are measured as in bench_load.py, and its
crosswalk.csv is scored by match_score.py.

Bars (issue 4, this 2-core machine): contacts precision >= 0.99 and recall
>= 0.95, companies precision >= 0.995; at 1M records <= 60 s and <= 4 GB,
and, when Splink ran end to end, >= 6x faster than Splink on the same file.
Exit code 1 when a bar is missed.

--splink runs Splink 5 (DuckDB backend) on the same contacts.csv in the same
run, in its own measured process (benchmarks/splink_pipeline.py): read the
raw CSV, prepare it in DuckDB SQL as a careful Splink user would (names split
and guessed into surname / first name / patronymic, phones to digits, e-mails
split and lower-cased, city and company cleaned; no crmtool code), train
(u by random sampling of 1e7 pairs, m by EM on three blockings), predict,
cluster and write a crosswalk. Its wall time and peak RSS cover all of that;
the report prints Splink seconds / crmtool seconds per size.
--splink-mode features keeps the older, narrower reference: Splink's
matching step alone on crmtool's own normalized values from the workspace.
Splink is not a dependency of crmtool: `pip install splink` (pure Python;
needs duckdb, pyarrow, sqlglot) into the venv, or into a folder on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

import match_score  # noqa: E402
from match_data import GENERATOR_VERSION  # noqa: E402
from measure import run_measured  # noqa: E402

CONTACT_PRECISION, CONTACT_RECALL, COMPANY_PRECISION = 0.99, 0.95, 0.995
BIG = 1_000_000  # the size the time and memory bars apply to
TARGET_S, MEMORY_TARGET_MB = 60.0, 4096
SPLINK_SPEEDUP = 6.0  # crmtool >= 6x faster than Splink on the same file at 1M (issue 4)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def ensure_data(label: str, records: int, seed: int) -> Path:
    """The generated folder for this size, made if missing or stale."""
    folder = DATA / f"match_{label}"
    stats = folder / "stats.json"
    if stats.exists():
        meta = json.loads(stats.read_text(encoding="utf-8"))
        if (meta.get("records"), meta.get("seed"), meta.get("generator_version")) == (
                records, seed, GENERATOR_VERSION):
            return folder
    if folder.exists():  # stale, or a folder left without its stats.json
        shutil.rmtree(folder)
    part = folder.with_name(folder.name + ".part")  # a failed generation leaves nothing that looks complete
    if part.exists():
        shutil.rmtree(part)
    print(f"generating {folder.name} ({records:,} records) …", flush=True)
    subprocess.run([sys.executable, str(HERE / "match_data.py"), "--records", str(records), "--seed", str(seed),
                    "--out", str(part)], check=True)
    part.rename(folder)
    return folder


def run_crmtool(folder: Path, work: Path, src: Path | None) -> tuple[float, float, dict]:
    """Wall seconds, peak MB and the seconds per stage `run --json` reports (the client report,
    which matching does not need, is left out: --no-report)."""
    env = dict(os.environ)
    if src is not None:  # benchmark another source tree (say, an export of HEAD) with the same venv
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "crmtool", "run", str(folder / "contacts.csv"), str(folder / "companies.csv"),
           "--db", str(work / "bench.duckdb"), "--out", str(work / "out"), "--json", "--no-report"]
    wall, rss, result = run_measured(cmd, env, cwd=work)  # not the checkout's cwd: `-m` would import from it first
    if result["rc"] != 0:
        raise SystemExit(f"crmtool run failed (exit {result['rc']}) on {folder}:\n{result['err']}")
    try:
        stages = json.loads(result["out"]).get("seconds", {})
    except ValueError:
        stages = {}
    return wall, rss, stages


# --- Splink --------------------------------------------------------------------------------------


def splink_available() -> bool:
    try:
        import splink  # noqa: F401
    except ImportError:
        return False
    return True


def run_splink(folder: Path, work: Path, mode: str, threshold: float | None,
               u_pairs: float | None = None) -> tuple[float, float, Path, list[str]]:
    """Splink in its own measured process: `file` from contacts.csv, `features` from crmtool's workspace.

    Also returns the pipeline's stage lines ("[splink   54.0 s] u estimated"): where its time goes.
    """
    out_csv = work / f"splink_{mode}_crosswalk.csv"
    source = folder / "contacts.csv" if mode == "file" else work / "bench.duckdb"
    cmd = [sys.executable, str(HERE / "splink_pipeline.py"), mode, str(source), str(out_csv)]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    if u_pairs is not None and mode == "file":
        cmd += ["--u-pairs", str(u_pairs)]
    wall, rss, result = run_measured(cmd, cwd=work)
    if result["rc"] != 0:
        raise RuntimeError(f"splink failed (exit {result['rc']}):\n{result['err']}")
    stages = [line for line in result["err"].splitlines() if line.startswith("[splink")]
    return wall, rss, out_csv, stages


# --- report --------------------------------------------------------------------------------------


def bars(records: int, wall: float | None, rss: float | None, contacts: dict, companies: dict | None) -> list[str]:
    """The bars this run misses (empty: all met)."""
    missed = []
    if contacts["precision"] < CONTACT_PRECISION:
        missed.append(f"contacts P<{CONTACT_PRECISION}")
    if contacts["recall"] < CONTACT_RECALL:
        missed.append(f"contacts R<{CONTACT_RECALL}")
    if companies is not None and companies["precision"] < COMPANY_PRECISION:
        missed.append(f"companies P<{COMPANY_PRECISION}")
    if records >= BIG and wall is not None and wall > TARGET_S:
        missed.append(f">{TARGET_S:.0f} s")
    if records >= BIG and rss is not None and rss > MEMORY_TARGET_MB:
        missed.append(f">{MEMORY_TARGET_MB / 1024:.0f} GB")
    return missed


def speed_bar(records: int, ratio: float | None) -> list[str]:
    """The "faster than Splink on the same file" bar, at 1M, when Splink ran end to end."""
    if records >= BIG and ratio is not None and ratio < SPLINK_SPEEDUP:
        return [f"<{SPLINK_SPEEDUP:.0f}x faster than Splink ({ratio:.1f}x)"]
    return []


def _fmt(metrics: dict | None) -> str:
    if metrics is None:
        return f"{'—':>7}{'—':>7}{'—':>7}"
    return f"{metrics['precision']:>7.3f}{metrics['recall']:>7.3f}{metrics['f1']:>7.3f}"


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'size':<7}{'tool':<13}{'seconds':>9}{'peak MB':>9}   {'contacts P/R/F1':<21}  {'companies P/R/F1':<21}  "
          "bars")
    for r in rows:
        c = r["scores"].get("contacts")
        co = r["scores"].get("companies") if r["tool"] == "crmtool" else None
        verdict = "ok" if not r["missed"] else "MISSED: " + ", ".join(r["missed"])
        print(f"{r['size']:<7}{r['tool']:<13}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}   {_fmt(c)}  {_fmt(co)}  "
              f"{verdict}")
    print(f"bars: contacts P >= {CONTACT_PRECISION}, R >= {CONTACT_RECALL}; companies P >= {COMPANY_PRECISION}; "
          f"at 1M: <= {TARGET_S:.0f} s, <= {MEMORY_TARGET_MB / 1024:.0f} GB, >= {SPLINK_SPEEDUP:.0f}x faster than "
          f"Splink (when run) · cpus: {os.cpu_count()}")
    for r in rows:
        if r.get("splink_over_crmtool") is not None:
            print(f"{r['size']}: Splink {r['seconds']:.1f} s / crmtool {r['crmtool_seconds']:.1f} s = "
                  f"{r['splink_over_crmtool']:.1f}x")
    if any(r["tool"] == "splink" for r in rows):
        print("splink: the whole process, from reading contacts.csv to writing its crosswalk (contacts only; "
              "crmtool's seconds also cover companies.csv)")
    if any(r["tool"] == "splink:feat" for r in rows):
        print("splink:feat: the matching step only, on crmtool's normalized contacts (not the issue's comparison)")


def print_errors(row: dict) -> None:
    """One line per dataset: where the false merges come from."""
    for dataset, r in row["scores"].items():
        fm = r.get("false_merges")
        if not fm or not fm["total"]:
            continue
        parts = ", ".join(f"{k} {v / fm['total']:.0%}" for k, v in fm.items() if k not in ("total", "any_of_these"))
        print(f"  {row['size']} {row['tool']} {dataset}: {fm['total']:,} falsely merged pairs — the two rows share: "
              f"{parts}")


def splink_row(label: str, records: int, folder: Path, work: Path, args, crmtool: dict) -> dict | None:
    """Run Splink on this size, score it, and hold crmtool to the speed bar (file mode)."""
    print(f"{label}: splink ({args.splink_mode}) …", flush=True)
    try:
        wall, rss, out_csv, stages = run_splink(folder, work, args.splink_mode, args.splink_threshold, args.splink_u_pairs)
    except RuntimeError as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return None
    scores = match_score.evaluate(folder, match_score.read_crosswalk(out_csv), examples=args.details)
    scores.pop("companies", None)  # Splink was given the contacts only
    if args.details:
        match_score._print_report(f"contacts (splink, {args.splink_mode})", scores["contacts"])
        print("\n".join(stages))
    row = {"size": label, "records": records, "tool": "splink" if args.splink_mode == "file" else "splink:feat",
           "seconds": wall, "peak_mb": rss, "scores": scores, "stages": stages,
           "missed": bars(records, wall, rss, scores["contacts"], None)}
    if args.splink_mode == "file":  # the comparison: the same file, end to end, in the same run
        row["crmtool_seconds"] = crmtool["seconds"]
        row["splink_over_crmtool"] = wall / crmtool["seconds"]
        crmtool["missed"] += speed_bar(records, row["splink_over_crmtool"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated record counts: 10k,100k,1m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--splink", action="store_true", help="also run Splink on the same contacts")
    parser.add_argument("--splink-mode", choices=["file", "features"], default="file",
                        help="file: Splink end to end from contacts.csv (default); features: its matching step "
                             "only, on crmtool's normalized values")
    parser.add_argument("--splink-threshold", type=float,
                        help="Splink's match probability for pairs and clusters (default: file 0.95, features 0.9)")
    parser.add_argument("--splink-u-pairs", type=float,
                        help="file mode: pairs Splink samples to estimate u (default 1e7; at 1M, 1e8 took 313 s "
                             "and scored the same)")
    parser.add_argument("--src", type=Path, help="run crmtool from this source tree (PYTHONPATH) instead")
    parser.add_argument("--details", action="store_true", help="print match_score's full report per run")
    parser.add_argument("--keep", type=Path, help="keep each run's workspace and outputs under this folder")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()

    use_splink = args.splink and splink_available()
    if args.splink and not use_splink:
        print("splink is not installed: skipping it. It is on PyPI (splink 5, pure Python, needs duckdb, pyarrow "
              "and sqlglot): `.venv/bin/pip install splink`, or `pip install --target DIR splink sqlglot "
              "--no-deps` and PYTHONPATH=DIR. crmtool does not depend on it.", file=sys.stderr)
    DATA.mkdir(exist_ok=True)
    rows = []
    for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        records = parse_size(label)
        folder = ensure_data(label, records, args.seed)
        with tempfile.TemporaryDirectory(prefix="bench_match_") as tmp:
            work = Path(tmp)
            print(f"{label}: crmtool run …", flush=True)
            wall, rss, stages = run_crmtool(folder, work, args.src)
            print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
                  + (f"; load + normalize + match {sum(stages.get(k, 0) for k in ('load', 'normalize', 'match')):.1f} s"
                     if stages else ""), flush=True)
            scores = match_score.evaluate(folder, match_score.read_crosswalk(work / "out" / "crosswalk.csv"),
                                          examples=args.details)
            crmtool = {"size": label, "records": records, "tool": "crmtool", "seconds": wall, "peak_mb": rss,
                       "scores": scores, "stages": stages,
                       "missed": bars(records, wall, rss, scores["contacts"], scores.get("companies"))}
            rows.append(crmtool)
            if args.details:
                for name, report in scores.items():
                    match_score._print_report(name, report)
            if use_splink:
                row = splink_row(label, records, folder, work, args, crmtool)
                if row is not None:
                    rows.append(row)
            if args.keep:
                target = args.keep / label
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(work, target)
    print_table(rows)
    print()
    for row in rows:
        print_errors(row)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    sys.exit(1 if any(r["missed"] for r in rows) else 0)


if __name__ == "__main__":
    main()
