"""Score a crmtool crosswalk against the generator's ground truth.

    python benchmarks/match_score.py --truth benchmarks/data/match_100k --crosswalk out/crosswalk.csv [--json]

Pairwise precision, recall and F1, separately for contacts (rows of
contacts.csv that the crosswalk calls `contact`) and companies (rows of
companies.csv that it calls `company`). A pair is two records in the same
predicted cluster (predicted pair) or of the same true entity (true pair).
Pairs are never enumerated: they are counted as n·(n−1)/2 per cluster, per
entity and per (cluster, entity) cell, so 1M rows score in seconds.

Beyond the three numbers it says where the errors come from, using the
generator's annotations: how many falsely merged pairs share a switchboard,
a family home phone or a namesake (companies: a branch's ИНН or a same-name
company), the largest impure clusters, and recall per kind of dirt (of the
true pairs that involve a transliterated row, how many were found…).

A row of the truth that the crosswalk lacks, or files under the other
entity, counts as a cluster of its own.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import polars as pl

# file in the truth folder → (truth file, id column, annotations file, crosswalk entity, display columns)
DATASETS = {
    "contacts": ("contacts.csv", "truth.csv", "person_id", "annotations.csv", "contact",
                 ["ФИО", "Телефон", "Моб. тел.", "E-mail", "Компания", "Город"]),
    "companies": ("companies.csv", "companies_truth.csv", "company_id", "companies_annotations.csv", "company",
                  ["Наименование", "ИНН", "КПП", "Телефон", "Адрес электронной почты"]),
}
EXAMPLES = 5


def _pairs(n: pl.Expr) -> pl.Expr:
    n = n.cast(pl.Int64)
    return n * (n - 1) // 2


def _sum_pairs(df: pl.DataFrame, keys: list[str]) -> int:
    """Σ over groups of `keys` of n·(n−1)/2."""
    if df.is_empty():
        return 0
    return int(df.group_by(keys).len().select(_pairs(pl.col("len")).sum()).item() or 0)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def with_singletons(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows (row, pred, true) with a missing prediction made a cluster of its own."""
    return rows.with_columns(
        pred=pl.coalesce(pl.col("pred"), pl.lit("__alone__") + pl.col("row").cast(pl.String))
    )


def score_frame(rows: pl.DataFrame) -> dict:
    """Pairwise metrics of a frame with columns row, pred (null = not predicted), true."""
    unpredicted = int(rows.get_column("pred").null_count())
    rows = with_singletons(rows)
    true_pairs = _sum_pairs(rows, ["true"])
    pred_pairs = _sum_pairs(rows, ["pred"])
    correct = _sum_pairs(rows, ["pred", "true"])
    precision, recall = _ratio(correct, pred_pairs), _ratio(correct, true_pairs)
    return {
        "rows": rows.height,
        "true_entities": rows.get_column("true").n_unique(),
        "predicted_clusters": rows.get_column("pred").n_unique(),
        "unpredicted_rows": unpredicted,
        "true_pairs": true_pairs,
        "predicted_pairs": pred_pairs,
        "correct_pairs": correct,
        "false_pairs": pred_pairs - correct,
        "missed_pairs": true_pairs - correct,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def score(pred: dict[int, str], truth: dict[int, str]) -> dict:
    """Pairwise precision/recall/F1 of `pred` (row → cluster) against `truth` (row → entity).

    Only the rows of `truth` are scored; a row missing from `pred` is a cluster of its own.
    """
    rows = pl.DataFrame({"row": list(truth), "true": list(truth.values())},
                        schema={"row": pl.Int64, "true": pl.String})
    predicted = pl.DataFrame({"row": list(pred), "pred": list(pred.values())},
                             schema={"row": pl.Int64, "pred": pl.String})
    return score_frame(rows.join(predicted, on="row", how="left"))


# --- where the errors come from -------------------------------------------------------------


def false_merges_by_group(rows: pl.DataFrame, groups: list[str]) -> dict[str, int]:
    """Falsely merged pairs whose two rows share each group key, their union, and the rest.

    A pair "shares switchboard" when both rows carry the same switchboard key
    (a key is null when the row has none). Union by inclusion–exclusion over
    the subsets of the group columns, still by counting.
    """
    rows = with_singletons(rows)
    false_total = _sum_pairs(rows, ["pred"]) - _sum_pairs(rows, ["pred", "true"])

    def shared(cols: tuple[str, ...]) -> int:
        sub = rows.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in cols]))
        return _sum_pairs(sub, ["pred", *cols]) - _sum_pairs(sub, ["pred", *cols, "true"])

    out = {g: shared((g,)) for g in groups}
    union = 0
    for k in range(1, len(groups) + 1):
        for subset in itertools.combinations(groups, k):
            union += (-1) ** (k + 1) * (out[subset[0]] if k == 1 else shared(subset))
    out["any_of_these"] = union
    out["other"] = false_total - union
    out["total"] = false_total
    return out


def false_merge_examples(rows: pl.DataFrame, group: str, limit: int = EXAMPLES) -> list[dict]:
    """Up to `limit` (cluster, group key) cells holding 2+ true entities, worst first: two rows of each."""
    sub = with_singletons(rows).filter(pl.col(group).is_not_null())
    cells = (
        sub.group_by("pred", group)
        .agg(entities=pl.col("true").n_unique(), n=pl.len(), rows=pl.col("row").sort_by("row"),
             trues=pl.col("true").sort_by("row"))
        .filter(pl.col("entities") > 1)
        .sort(["entities", "n", "pred"], descending=[True, True, False])
        .head(limit)
    )
    out = []
    for cell in cells.iter_rows(named=True):
        first_true = cell["trues"][0]
        other = next(i for i, t in enumerate(cell["trues"]) if t != first_true)
        out.append({"cluster": cell["pred"], group: cell[group], "entities": cell["entities"],
                    "rows": [cell["rows"][0], cell["rows"][other]], "true": [first_true, cell["trues"][other]]})
    return out


def impure_clusters(rows: pl.DataFrame, limit: int = EXAMPLES) -> list[dict]:
    """The predicted clusters holding the most true entities."""
    return (
        with_singletons(rows).group_by("pred")
        .agg(rows=pl.len(), entities=pl.col("true").n_unique(), first_rows=pl.col("row").sort().head(3))
        .filter(pl.col("entities") > 1)
        .sort(["entities", "rows", "pred"], descending=[True, True, False])
        .head(limit)
        .rename({"pred": "cluster"})
        .to_dicts()
    )


def recall_by_tag(rows: pl.DataFrame) -> dict[str, dict]:
    """Per dirt tag: true pairs with at least one row of that tag, and how many of them were found.

    Per entity with n rows of which t are tagged, C(n,2) − C(n−t,2) pairs involve the
    tag; the same within each (entity, cluster) cell gives the found ones.
    """
    rows = with_singletons(rows)
    tagged = (
        rows.select("row", "pred", "true", tag=pl.col("tags").str.split(";"))
        .explode("tag")
        .filter(pl.col("tag").is_not_null() & (pl.col("tag") != ""))
    )
    if tagged.is_empty():
        return {}
    n = rows.group_by("true").agg(n=pl.len())
    m = rows.group_by("true", "pred").agg(m=pl.len())
    involving = (
        tagged.group_by("tag", "true").agg(t=pl.len()).join(n, on="true")
        .group_by("tag").agg(pairs=(_pairs(pl.col("n")) - _pairs(pl.col("n") - pl.col("t"))).sum())
    )
    found = (
        tagged.group_by("tag", "true", "pred").agg(t=pl.len()).join(m, on=["true", "pred"])
        .group_by("tag").agg(found=(_pairs(pl.col("m")) - _pairs(pl.col("m") - pl.col("t"))).sum())
    )
    rowcount = tagged.group_by("tag").agg(rows=pl.len())
    table = involving.join(found, on="tag", how="left").join(rowcount, on="tag").fill_null(0).sort("tag")
    return {
        r["tag"]: {"rows": r["rows"], "pairs": r["pairs"], "found": r["found"],
                   "recall": _ratio(r["found"], r["pairs"])}
        for r in table.iter_rows(named=True)
    }


# --- reading --------------------------------------------------------------------------------


def read_crosswalk(path: Path) -> pl.DataFrame:
    """file name, source_row, entity, golden_id of every crosswalk row."""
    header = pl.read_csv(path, n_rows=0).columns
    wanted = ["source_file", "source_row", "entity", "golden_id"]
    wanted += ["company_golden_id"] if "company_golden_id" in header else []
    cw = pl.read_csv(path, columns=wanted, schema_overrides={
        "source_file": pl.String, "source_row": pl.Int64, "entity": pl.String, "golden_id": pl.String,
        "company_golden_id": pl.String})
    if "company_golden_id" in cw.columns:
        # a person at a company (an ИП's own row, too) is a contact whose company is the
        # company_golden_id: as a company record it is scored by that
        company_rows = cw.filter(pl.col("company_golden_id").is_not_null()).with_columns(
            entity=pl.lit("company"), golden_id=pl.col("company_golden_id"))
        cw = pl.concat([cw, company_rows]).drop("company_golden_id")
    return cw.with_columns(file=pl.col("source_file").str.replace(r"^.*[/\\]", ""))


def read_truth(folder: Path, dataset: str) -> pl.DataFrame | None:
    """row, true and the annotation columns (tags, group keys) of one dataset, or None if absent."""
    _, truth_name, id_col, ann_name, *_ = DATASETS[dataset]
    truth_path = folder / truth_name
    if not truth_path.exists():
        return None
    truth = pl.read_csv(truth_path, schema_overrides={"source_row": pl.Int64, id_col: pl.String}).rename(
        {"source_row": "row", id_col: "true"})
    ann_path = folder / ann_name
    if ann_path.exists():
        ann = pl.read_csv(ann_path, infer_schema_length=0).with_columns(pl.col("source_row").cast(pl.Int64))
        truth = truth.join(ann.rename({"source_row": "row"}), on="row", how="left")
    return truth


def row_texts(folder: Path, dataset: str, wanted: set[int]) -> dict[int, str]:
    """`a | b | c` of the interesting cells of the given data rows, for showing examples."""
    data_name, *_, columns = DATASETS[dataset]
    if not wanted or not (folder / data_name).exists():
        return {}
    df = (
        pl.scan_csv(folder / data_name, separator=";", infer_schema=False, quote_char='"')
        .with_row_index("row", offset=1)
        .filter(pl.col("row").is_in(sorted(wanted)))
        .select("row", *columns)
        .collect()
    )
    return {r[0]: " | ".join(v for v in r[1:] if v) for r in df.iter_rows()}


def evaluate(folder: Path, crosswalk: pl.DataFrame, examples: bool = True) -> dict:
    """Metrics and error analysis for each dataset present in `folder`."""
    result = {}
    for dataset, (data_name, _, _, _, entity, _) in DATASETS.items():
        truth = read_truth(folder, dataset)
        if truth is None:
            continue
        pred = crosswalk.filter((pl.col("file") == data_name) & (pl.col("entity") == entity)).select(
            row=pl.col("source_row"), pred=pl.col("golden_id"))
        rows = truth.join(pred, on="row", how="left")
        report = score_frame(rows.select("row", "pred", "true"))
        groups = [c for c in rows.columns if c not in ("row", "pred", "true", "tags")]
        if groups:
            report["false_merges"] = false_merges_by_group(rows, groups)
        report["impure_clusters"] = impure_clusters(rows.select("row", "pred", "true"))
        if "tags" in rows.columns:
            report["recall_by_tag"] = recall_by_tag(rows)
        if examples and groups:
            report["examples"] = {g: false_merge_examples(rows, g) for g in groups}
            wanted = {r for exs in report["examples"].values() for e in exs for r in e["rows"]}
            texts = row_texts(folder, dataset, wanted)
            for exs in report["examples"].values():
                for e in exs:
                    e["text"] = [texts.get(r, "") for r in e["rows"]]
        result[dataset] = report
    return result


# --- printing -------------------------------------------------------------------------------


def _print_report(name: str, r: dict) -> None:
    print(f"{name}: {r['rows']:,} rows, {r['true_entities']:,} true entities, "
          f"{r['predicted_clusters']:,} predicted clusters"
          + (f" ({r['unpredicted_rows']:,} rows missing from the crosswalk: counted alone)" if r["unpredicted_rows"] else ""))
    print(f"  pairs: true {r['true_pairs']:,} · predicted {r['predicted_pairs']:,} · correct {r['correct_pairs']:,}")
    print(f"  precision {r['precision']:.4f}   recall {r['recall']:.4f}   F1 {r['f1']:.4f}")
    fm = r.get("false_merges")
    if fm and fm["total"]:
        print(f"  false merges: {fm['total']:,} pairs; the two rows share …")
        for key, value in fm.items():
            if key == "total":
                continue
            label = {"any_of_these": "(any of these)", "other": "none of these (chains)"}.get(key, key)
            print(f"    {label:<24}{value:>14,}  {value / fm['total']:6.1%}")
    for cl in r.get("impure_clusters", [])[:3]:
        print(f"  impure cluster {cl['cluster']}: {cl['rows']:,} rows of {cl['entities']:,} entities "
              f"(rows {', '.join(map(str, cl['first_rows']))}…)")
    for group, exs in (r.get("examples") or {}).items():
        if exs:
            print(f"  false merges sharing {group}, e.g.:")
        for e in exs:
            print(f"    {e['cluster']}: row {e['rows'][0]} ({e['true'][0]}) «{e['text'][0]}»")
            print(f"    {'':{len(e['cluster'])}}  row {e['rows'][1]} ({e['true'][1]}) «{e['text'][1]}»")
    tags = r.get("recall_by_tag")
    if tags:
        print("  recall by dirt kind (true pairs involving a row of that kind):")
        for tag, t in sorted(tags.items(), key=lambda kv: kv[1]["recall"]):
            if t["pairs"]:
                print(f"    {tag:<18}{t['recall']:7.3f}  {t['found']:>10,} / {t['pairs']:<10,} ({t['rows']:,} rows)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--truth", type=Path, required=True, help="folder written by match_data.py")
    parser.add_argument("--crosswalk", type=Path, required=True, help="crosswalk.csv of `crmtool run`")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-examples", action="store_true", help="skip reading rows for the examples")
    args = parser.parse_args(argv)
    result = evaluate(args.truth, read_crosswalk(args.crosswalk), examples=not args.no_examples)
    if not result:
        print(f"{args.truth}: no truth.csv or companies_truth.csv here (a folder written by match_data.py?)",
              file=sys.stderr)
        return 2
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for name, report in result.items():
            _print_report(name, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
