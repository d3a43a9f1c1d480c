"""The match stage: block → compare → learn weights → score → decide → cluster.

Writes `pairs` (every candidate pair with its explanation) and the contact
rows of `clusters`; companies are clustered by ИНН/КПП and name rules
(`companies.py`). The learned model is kept in
`meta` as JSON so a run can be explained afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import polars as pl

from crmtool.match import model as fs
from crmtool.match.blocking import CONTACT_HINTS, block_contacts
from crmtool.match.cluster import cluster, decide
from crmtool.match.companies import cluster_companies
from crmtool.match.exact import write_clusters
from crmtool.match.features import compare, record_frame
from crmtool.match.mailbox import mailbox_names
from crmtool.match.review import DIFFERENT, SAME, undecided_count, verdicts
from crmtool.workspace import Workspace

UPPER, LOWER = 0.95, 0.5
COMPARE_SLICE = 500_000
MODEL_KEY = "match_model"
THRESHOLDS_KEY = "match_thresholds"  # the upper / lower the stored pairs were decided with

Stage = Callable[[str], None]


@dataclass
class MatchSummary:
    candidates: int
    auto: int
    review: int  # review pairs across two contacts
    reject: int
    contact_clusters: int
    company_clusters: int
    weak_keys: int
    model: fs.Model
    new_records: int | None = None   # set when only new records were matched (match_new_records)
    new_pairs: int | None = None
    review_joined: int = 0  # review pairs whose records other links joined: not asked
    questions: int = 0  # what people will be asked: one per two contacts review pairs link (review.QUESTIONS)

    def counts(self) -> dict[str, int]:
        counts = {
            "candidate_pairs": self.candidates, "auto_pairs": self.auto, "review_pairs": self.review,
            "review_pairs_joined": self.review_joined, "review_questions": self.questions,
            "rejected_pairs": self.reject, "contact_clusters": self.contact_clusters,
            "company_clusters": self.company_clusters, "weak_keys": self.weak_keys,
        }
        if self.new_records is not None:
            counts.update(incremental_new_records=self.new_records, incremental_new_pairs=self.new_pairs)
        return counts


def pairs_line(counts: dict) -> str:
    """The candidate pairs and what became of them, for people: the parts add up to the whole."""
    joined, questions = counts.get("review_pairs_joined", 0), counts.get("review_questions", counts["review_pairs"])
    notes = [f"{questions:,} questions, one per two contacts"] if questions != counts["review_pairs"] else []
    if joined:
        notes.append(f"{joined:,} more already joined by other links")
    return (f"{counts['candidate_pairs']:,} candidate pairs: {counts['auto_pairs']:,} merged, "
            f"{counts['review_pairs']:,} for review"
            + (f" ({'; '.join(notes)})" if notes else "")
            + f", {counts['rejected_pairs']:,} rejected")


def apply_verdicts(decided: pl.DataFrame, given: pl.DataFrame) -> pl.DataFrame:
    """People's verdicts override the model: "same" merges (even a pair no rule
    proposed), "different" rejects."""
    if given.is_empty():
        return decided
    joined = decided.join(given, on=["record_a", "record_b"], how="left").with_columns(
        decision=pl.when(pl.col("verdict") == SAME).then(pl.lit("auto"))
        .when(pl.col("verdict") == DIFFERENT).then(pl.lit("reject"))
        .otherwise(pl.col("decision")),
        reason=pl.when(pl.col("verdict").is_not_null()).then(pl.concat_str([pl.lit("human_"), pl.col("verdict")]))
        .otherwise(pl.col("reason")),
    ).drop("verdict")
    unproposed = given.filter(pl.col("verdict") == SAME).join(decided, on=["record_a", "record_b"], how="anti")
    if unproposed.is_empty():
        return joined
    extra = unproposed.select(
        "record_a", "record_b",
        rules=pl.lit(["human"], dtype=pl.List(pl.String)),
        match_weight=pl.lit(99.0), match_probability=pl.lit(1.0),
        decision=pl.lit("auto"), reason=pl.lit("human_same"),
    )
    return pl.concat([joined, extra], how="diagonal_relaxed")


INCREMENTAL_SHARE = 0.2  # new records beyond this share of the base: learn the weights again


def match_workspace(ws: Workspace, upper: float = UPPER, lower: float = LOWER, stage: Stage = lambda _: None,
                    incremental: bool = False) -> MatchSummary:
    """Match every contact record; with `incremental`, only the records no run has matched yet
    (see `match_new_records`) when that is possible."""
    if incremental:
        summary = match_new_records(ws, upper, lower, stage)
        if summary is not None:
            return summary
    stage("blocking")
    contact_ids = _contact_ids(ws)
    blocks, records, weak_phones = _blocks_and_records(ws, contact_ids)
    stage(f"comparing {blocks.pairs.height:,} pairs")
    # in slices: the joined pair table (both records' lists side by side) is the widest thing
    # the stage builds; the levels it leaves are a few bytes per pair
    levels = pl.concat([
        compare(blocks.pairs.slice(start, COMPARE_SLICE), records, weak_phones)
        for start in range(0, max(blocks.pairs.height, 1), COMPARE_SLICE)
    ])
    stage("learning weights")
    model = fs.fit(levels, fs.estimate_u(records, weak_phones))
    scored = fs.score(levels, model, fs.surname_frequencies(levels, records))
    decided = apply_verdicts(decide(scored, upper, lower), verdicts(ws))
    return _cluster_and_store(ws, contact_ids, decided, records, model, blocks, stage, keep_model=False,
                              thresholds=(upper, lower))


def _cluster_and_store(ws: Workspace, contact_ids: pl.Series, decided: pl.DataFrame, records: pl.DataFrame,
                       model: fs.Model, blocks, stage: Stage, *, keep_model: bool, thresholds: tuple[float, float],
                       **extra) -> MatchSummary:
    """Cluster the decided pairs (verdicts obeyed), store pairs, clusters, the thresholds that
    decided them and (unless kept) the model, then cluster the companies: the end of a full and
    of an incremental match alike."""
    con = ws.con
    stage("clustering")
    attributes = records.select("record_id", "gender", "middle_key")
    different = verdicts(ws).filter(pl.col("verdict") == DIFFERENT).select("record_a", "record_b")
    labels = cluster(contact_ids, decided, attributes, different)
    stage("storing")
    by_decision = dict(decided.group_by("decision").len().iter_rows())
    # what people will be asked: review pairs whose records other links did not join already
    review = decided.filter(pl.col("decision") == "review").select("record_a", "record_b")
    open_review = (review.join(labels.rename({"node": "record_a", "label": "la"}), on="record_a")
                   .join(labels.rename({"node": "record_b", "label": "lb"}), on="record_b")
                   .filter(pl.col("la") != pl.col("lb")).height)
    review_joined = review.height - open_review
    with ws.transaction():
        con.execute("DELETE FROM pairs WHERE entity = 'contact'")
        if decided.height:
            with ws.registered("_pairs", decided.with_columns(entity=pl.lit("contact"))):
                con.execute("INSERT INTO pairs BY NAME SELECT * FROM _pairs")
        write_clusters(ws, labels, "contact", "CT", "match")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [THRESHOLDS_KEY, json.dumps(list(thresholds))])
        if not keep_model:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [MODEL_KEY, json.dumps(model.as_dict())])
    stage("companies")
    company_clusters = cluster_companies(ws)
    return MatchSummary(
        candidates=decided.height,
        auto=by_decision.get("auto", 0),
        review=open_review,
        review_joined=review_joined,
        questions=undecided_count(ws),
        reject=by_decision.get("reject", 0),
        contact_clusters=labels["label"].n_unique(),
        company_clusters=company_clusters,
        weak_keys=blocks.weak_keys.height,
        model=model,
        **extra,
    )


def match_new_records(ws: Workspace, upper: float = UPPER, lower: float = LOWER,
                      stage: Stage = lambda _: None) -> MatchSummary | None:
    """Pair only the records no run has matched yet with the base (the blocks they are in),
    score those pairs with the weights learned before, and cluster again with the stored pairs
    and the verdicts. None — a full match is due — when there are no stored weights, when a
    matched record is gone, or when the new records are more than INCREMENTAL_SHARE of the base
    (the weights should be learned from them too), or when the stored pairs were decided with
    other thresholds."""
    con = ws.con
    stored_model = ws.scalar("SELECT value FROM meta WHERE key = ?", [MODEL_KEY])
    stored_thresholds = ws.scalar("SELECT value FROM meta WHERE key = ?", [THRESHOLDS_KEY])
    if not stored_model or stored_thresholds is None or json.loads(stored_thresholds) != [upper, lower]:
        return None
    contact_ids = _contact_ids(ws)
    matched = con.sql("SELECT record_id FROM clusters WHERE entity = 'contact'").pl()["record_id"]
    if matched.is_empty() or not matched.is_in(contact_ids.implode()).all():
        return None
    new_ids = contact_ids.filter(~contact_ids.is_in(matched.implode()))
    if new_ids.len() > INCREMENTAL_SHARE * max(contact_ids.len(), 1):
        return None
    stage(f"blocking {new_ids.len():,} new records")
    blocks, records, weak_phones = _blocks_and_records(ws, contact_ids, touching=new_ids)
    new = new_ids.implode()
    pairs = blocks.pairs.filter(pl.col("record_a").is_in(new) | pl.col("record_b").is_in(new))
    stage(f"comparing {pairs.height:,} new pairs")
    levels = compare(pairs, records, weak_phones)
    model = fs.Model.from_dict(json.loads(stored_model))
    scored = fs.score(levels, model, fs.surname_frequencies(levels, records))
    decided = apply_verdicts(pl.concat([_stored_pairs(ws), decide(scored, upper, lower)], how="diagonal_relaxed"),
                             verdicts(ws))
    return _cluster_and_store(ws, contact_ids, decided, records, model, blocks, stage, keep_model=True,
                              thresholds=(upper, lower), new_records=new_ids.len(), new_pairs=pairs.height)


def _contact_ids(ws: Workspace) -> pl.Series:
    return ws.con.sql(f"SELECT record_id FROM normalized WHERE entity_hint IN {CONTACT_HINTS}").pl()["record_id"]


def _blocks_and_records(ws: Workspace, contact_ids: pl.Series, touching: pl.Series | None = None):
    """(blocks, the contacts' comparison frame, the weak phones): what scoring starts from, the
    mailbox surnames read once for both."""
    mailbox = mailbox_names(ws)
    blocks = block_contacts(ws, touching=touching, mailbox=mailbox)
    records = record_frame(ws, mailbox).join(pl.DataFrame({"record_id": contact_ids}), on="record_id")
    return blocks, records, blocks.weak_keys.filter(pl.col("rule") == "phone")["key"]


def _stored_pairs(ws: Workspace) -> pl.DataFrame:
    """The stored contact pairs with people's marks taken off (a verdict's decision goes back
    to review; apply_verdicts puts the current verdicts back on)."""
    stored = ws.con.sql("SELECT * EXCLUDE (entity) FROM pairs WHERE entity = 'contact'").pl()
    return stored.with_columns(decision=pl.when(pl.col("reason").str.starts_with("human_"))
                               .then(pl.lit("review")).otherwise(pl.col("decision")))


def recluster_contacts(ws: Workspace) -> int:
    """Clusters again from the stored pairs and the current verdicts, without blocking or
    scoring anew (after `unmerge` or a review): returns the number of contact clusters."""
    con = ws.con
    contact_ids = _contact_ids(ws)
    given = verdicts(ws)
    # a verdict overrides the stored decision; pairs a person joined that no rule proposed come back too
    decided = apply_verdicts(_stored_pairs(ws), given)
    attributes = con.sql(
        "SELECT record_id, CASE WHEN gender IN ('М', 'Ж') THEN gender END AS gender, middle_key FROM normalized"
    ).pl()
    different = given.filter(pl.col("verdict") == DIFFERENT).select("record_a", "record_b")
    labels = cluster(contact_ids, decided, attributes, different)
    with ws.transaction():
        write_clusters(ws, labels, "contact", "CT", "match")
    return labels["label"].n_unique()
