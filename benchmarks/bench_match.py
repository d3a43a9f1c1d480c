"""Duplicate matching against ground truth: speed, memory, pairwise precision/recall/F1.

    python benchmarks/bench_match.py --sizes 10k,100k,1m [--splink] [--details]

For each size the dirty data with its truth is generated once
(benchmarks/data/match_<size>/, by match_data.py, written to a `.part` folder
then renamed, regenerated when the seed or generator version changes). Then
`crmtool run contacts.csv companies.csv` runs in a fresh workspace in its own
process; its wall time and peak RSS are measured as in bench_load.py, and its
crosswalk.csv is scored by match_score.py.

Bars (issue 4, this 2-core machine): contacts precision >= 0.99 and recall
>= 0.95, companies precision >= 0.995; at 1M records <= 60 s and <= 4 GB.
Exit code 1 when a bar is missed.

--splink runs Splink (DuckDB backend) on the same contacts as a reference
point: the features are crmtool's own normalized values (surname, first name
with diminutives resolved, patronymic, E.164 phones, e-mail match keys, city,
company key) read from the workspace the crmtool run left, so the comparison
is of the matching step alone (Splink's time excludes load and normalize).
Blocking on a shared phone, a shared e-mail, surname + first initial;
comparisons on names (Jaro-Winkler), phones and e-mails (the first value
exact with term-frequency adjustment, then any shared value), city, company;
u by random sampling, m by EM; pairs at match probability >= 0.9, clustered
(connected components) at 0.9. Splink is not a dependency of crmtool:
`pip install splink` (pure Python; needs duckdb, pyarrow, sqlglot) into the
venv, or into a folder on PYTHONPATH.
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
SPLINK_THRESHOLD = 0.9

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


def run_crmtool(folder: Path, work: Path, src: Path | None) -> tuple[float, float]:
    env = dict(os.environ)
    if src is not None:  # benchmark another source tree (say, an export of HEAD) with the same venv
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "crmtool", "run", str(folder / "contacts.csv"), str(folder / "companies.csv"),
           "--db", str(work / "bench.duckdb"), "--out", str(work / "out"), "--quiet"]
    wall, rss, result = run_measured(cmd, env, cwd=work)  # not the checkout's cwd: `-m` would import from it first
    if result["rc"] != 0:
        raise SystemExit(f"crmtool run failed (exit {result['rc']}) on {folder}:\n{result['err']}")
    return wall, rss


# --- Splink --------------------------------------------------------------------------------------

_SPLINK_FEATURES = """
SELECT r.source_row AS unique_id,
       n.last_key AS surname,
       CASE WHEN len(n.first_keys) > 0 THEN n.first_keys[len(n.first_keys)] ELSE n.first_key END AS first_name,
       lower(n.first_initial) AS first_initial,
       n.middle_key AS middle_name,
       CASE WHEN len(n.phones) > 0 THEN n.phones END AS phones,
       CASE WHEN len(n.phones) > 0 THEN n.phones[1] END AS phone1,
       CASE WHEN len(n.email_keys) > 0 THEN n.email_keys END AS emails,
       CASE WHEN len(n.email_keys) > 0 THEN n.email_keys[1] END AS email1,
       nullif(lower(trim(regexp_replace(r.city, '^\\s*г\\.?\\s*', ''))), '') AS city,
       nullif(n.company_key, '') AS company
FROM records r
JOIN normalized n ON n.record_id = r.record_id
JOIN sources s ON s.source_id = r.source_id
WHERE s.path LIKE '%contacts.csv' AND r.entity_hint <> 'company'
"""


def splink_available() -> bool:
    try:
        import splink  # noqa: F401
    except ImportError:
        return False
    return True


def splink_worker(db: Path, out_csv: Path) -> None:
    """Dedupe the contacts of a crmtool workspace with Splink; write a crosswalk-shaped CSV."""
    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    with duckdb.connect(str(db), read_only=True) as con:
        table = con.sql(_SPLINK_FEATURES).pl().to_arrow()

    def shared(array: str, first: str):
        # Term frequencies need a scalar column: the first value gets them (a switchboard given by
        # fifty people weighs less than a mobile), any shared value is the next level down.
        return cl.CustomComparison(output_column_name=array, comparison_levels=[
            cll.NullLevel(array),
            cll.ExactMatchLevel(first).configure(tf_adjustment_column=first),
            cll.ArrayIntersectLevel(array, 1),
            cll.ElseLevel(),
        ])

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("surname", [0.95, 0.88]),
            cl.JaroWinklerAtThresholds("first_name", [0.95, 0.88]),
            cl.ExactMatch("middle_name"),
            shared("phones", "phone1"),
            shared("emails", "email1"),
            cl.ExactMatch("city"),
            cl.ExactMatch("company"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phones", arrays_to_explode=["phones"]),
            block_on("emails", arrays_to_explode=["emails"]),
            block_on("surname", "first_initial"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    if hasattr(db_api, "register"):  # Splink 5
        linker = Linker(db_api.register(table), settings, log_level=None)
    else:  # Splink 4
        linker = Linker(table, settings, db_api)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        ["l.surname = r.surname AND l.first_name = r.first_name AND l.middle_name = r.middle_name"], recall=0.6)
    training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    training.estimate_parameters_using_expectation_maximisation(block_on("surname", "first_name"))
    training.estimate_parameters_using_expectation_maximisation(block_on("phone1"))
    training.estimate_parameters_using_expectation_maximisation(block_on("email1"))
    pairs = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, SPLINK_THRESHOLD)
    rel = clusters.as_duckdbpyrelation()
    out = rel.pl().select(source_row="unique_id", golden_id="cluster_id")
    import polars as pl

    out.with_columns(source_file=pl.lit("contacts.csv"), entity=pl.lit("contact"),
                     golden_id=pl.lit("SP-") + pl.col("golden_id").cast(pl.String)).select(
        "source_file", "source_row", "entity", "golden_id").write_csv(out_csv)


def run_splink(work: Path) -> tuple[float, float, Path]:
    out_csv = work / "splink_crosswalk.csv"
    wall, rss, result = run_measured([sys.executable, str(Path(__file__).resolve()), "--splink-worker", str(work),
                                 "--splink-out", str(out_csv)])
    if result["rc"] != 0:
        raise RuntimeError(f"splink failed (exit {result['rc']}):\n{result['err']}")
    return wall, rss, out_csv


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


def _fmt(metrics: dict | None) -> str:
    if metrics is None:
        return f"{'—':>7}{'—':>7}{'—':>7}"
    return f"{metrics['precision']:>7.3f}{metrics['recall']:>7.3f}{metrics['f1']:>7.3f}"


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'size':<7}{'tool':<9}{'seconds':>9}{'peak MB':>9}   {'contacts P/R/F1':<21}  {'companies P/R/F1':<21}  bars")
    for r in rows:
        c = r["scores"].get("contacts")
        co = r["scores"].get("companies") if r["tool"] == "crmtool" else None
        verdict = "ok" if not r["missed"] else "MISSED: " + ", ".join(r["missed"])
        print(f"{r['size']:<7}{r['tool']:<9}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}   {_fmt(c)}  {_fmt(co)}  {verdict}")
    print(f"bars: contacts P >= {CONTACT_PRECISION}, R >= {CONTACT_RECALL}; companies P >= {COMPANY_PRECISION}; "
          f"at 1M: <= {TARGET_S:.0f} s, <= {MEMORY_TARGET_MB / 1024:.0f} GB · cpus: {os.cpu_count()}")
    if any(r["tool"] == "splink" for r in rows):
        print("splink: seconds and memory of the matching step only, on crmtool's normalized contacts")


def print_errors(row: dict) -> None:
    """One line per dataset: where the false merges come from."""
    for dataset, r in row["scores"].items():
        fm = r.get("false_merges")
        if not fm or not fm["total"]:
            continue
        parts = ", ".join(f"{k} {v / fm['total']:.0%}" for k, v in fm.items() if k not in ("total", "any_of_these"))
        print(f"  {row['size']} {row['tool']} {dataset}: {fm['total']:,} falsely merged pairs — the two rows share: "
              f"{parts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated record counts: 10k,100k,1m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--splink", action="store_true", help="also run Splink on the same contacts")
    parser.add_argument("--src", type=Path, help="run crmtool from this source tree (PYTHONPATH) instead")
    parser.add_argument("--details", action="store_true", help="print match_score's full report per run")
    parser.add_argument("--keep", type=Path, help="keep each run's workspace and outputs under this folder")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--splink-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--splink-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.splink_worker:
        splink_worker(args.splink_worker / "bench.duckdb", args.splink_out)
        return

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
            wall, rss = run_crmtool(folder, work, args.src)
            scores = match_score.evaluate(folder, match_score.read_crosswalk(work / "out" / "crosswalk.csv"),
                                          examples=args.details)
            rows.append({"size": label, "records": records, "tool": "crmtool", "seconds": wall, "peak_mb": rss,
                         "scores": scores,
                         "missed": bars(records, wall, rss, scores["contacts"], scores.get("companies"))})
            if args.details:
                for name, report in scores.items():
                    match_score._print_report(name, report)
            if use_splink:
                print(f"{label}: splink …", flush=True)
                try:
                    s_wall, s_rss, s_csv = run_splink(work)
                except RuntimeError as exc:
                    print(f"{label}: {exc}", file=sys.stderr)
                else:
                    s_scores = match_score.evaluate(folder, match_score.read_crosswalk(s_csv), examples=args.details)
                    s_scores.pop("companies", None)  # Splink was given the contacts only
                    rows.append({"size": label, "records": records, "tool": "splink", "seconds": s_wall,
                                 "peak_mb": s_rss, "scores": s_scores,
                                 "missed": bars(records, s_wall, s_rss, s_scores["contacts"], None)})
                    if args.details:
                        match_score._print_report("contacts (splink)", s_scores["contacts"])
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
