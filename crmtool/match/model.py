"""Fellegi–Sunter weights learned from the data itself, no labels needed.

For each comparison level: m = P(level | same person), u = P(level | different
people). u comes from random record pairs (almost all of them are different
people); m and the share of true matches among the candidates come from EM on
the candidate pairs, u held fixed. A pair's match weight is
log2(prior odds) + Σ log2(m/u) over its comparable levels; its probability is
1 / (1 + 2^-weight). Term frequencies adjust the exact-surname level: sharing
"Иванов" says less than sharing "Дроздецкий", so its u is that surname's
share of all records instead of the average.

Everything is array arithmetic (numpy); EM runs over the distinct level patterns
weighted by their counts, not over every pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from crmtool.match.features import COMPARISONS, LEVELS, NULL, compare

EPS = 1e-6
RANDOM_PAIRS = 200_000
EM_ITERATIONS = 25
M_PSEUDO = 100.0  # pseudo-pairs behind each m estimate
U_PSEUDO = 1000.0  # pseudo-pairs behind each u estimate


@dataclass
class Model:
    m: dict[str, np.ndarray]  # comparison -> m per level
    u: dict[str, np.ndarray]  # comparison -> u per level
    prior: float  # share of true matches among candidate pairs
    iterations: int = 0
    history: list[float] = field(default_factory=list)  # prior after each iteration

    def weights(self) -> dict[str, list[float]]:
        """log2(m/u) per level: what each level adds to a pair's match weight."""
        return {c: [round(math.log2(m / u), 3) for m, u in zip(self.m[c], self.u[c])] for c in COMPARISONS}

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        """The model `as_dict` wrote (meta), to score new pairs with the weights already learned."""
        levels = data["levels"]
        return cls(m={c: np.array([lv["m"] for lv in levels[c]], dtype=np.float64) for c in COMPARISONS},
                   u={c: np.array([lv["u"] for lv in levels[c]], dtype=np.float64) for c in COMPARISONS},
                   prior=float(data["prior"]), iterations=int(data.get("iterations", 0)))

    def as_dict(self) -> dict:
        return {
            "prior": self.prior,
            "iterations": self.iterations,
            "levels": {
                c: [
                    {"level": name, "m": float(self.m[c][i]), "u": float(self.u[c][i]),
                     "weight": self.weights()[c][i]}
                    for i, name in enumerate(LEVELS[c])
                ]
                for c in COMPARISONS
            },
        }


def estimate_u(records: pl.DataFrame, weak_phones: pl.Series, n_pairs: int = RANDOM_PAIRS, seed: int = 7) -> dict[str, np.ndarray]:
    """Level frequencies among random record pairs: the non-match distribution."""
    n = records.height
    rng = np.random.default_rng(seed)
    if n < 2:
        return {c: np.full(len(LEVELS[c]), 1.0 / len(LEVELS[c])) for c in COMPARISONS}
    k = min(n_pairs, n * (n - 1) // 2)
    a = rng.integers(0, n, size=k)
    b = rng.integers(0, n, size=k)
    keep = a != b
    # sorted: the frame's row order is not fixed (a join without maintain_order), the sample must be
    ids = np.sort(records["record_id"].to_numpy())
    pairs = pl.DataFrame({"record_a": ids[a[keep]], "record_b": ids[b[keep]]})
    levels = compare(pairs, records, weak_phones)
    return {c: _frequencies(levels[c].to_numpy(), len(LEVELS[c])) for c in COMPARISONS}


def _frequencies(levels: np.ndarray, count: int) -> np.ndarray:
    """Level shares among random pairs, pulled towards `_default_u` by U_PSEUDO pseudo-pairs:
    negligible for a real base, decisive for a file of ten records (where "no random pair
    shares a phone" must not make a shared phone infinitely strong or weak)."""
    known = levels[levels != NULL]
    counts = np.bincount(known.astype(np.int64), minlength=count)[:count].astype(float)
    return (counts + U_PSEUDO * _default_u(count)) / (counts.sum() + U_PSEUDO)


def _default_u(count: int) -> np.ndarray:
    """Two different people mostly disagree: the mirror image of `_initial_m`'s shape."""
    return _default_m(count)[::-1].copy()


def _default_m(count: int) -> np.ndarray:
    start = np.array([0.9 * (0.1 ** i) for i in range(count)], dtype=float)
    start[-1] = max(start[-1], 0.02)
    return start / start.sum()


def _initial_m() -> dict[str, np.ndarray]:
    """A starting point for EM: true matches mostly agree (strongest level)."""
    m = {}
    for c, names in LEVELS.items():
        m[c] = _default_m(len(names))
    return m


# Training sessions: the pairs a group of blocking rules found, and the comparisons
# learned from them. A comparison is never learned from pairs that were selected
# *because* it agreed (pairs blocked on a shared phone all share a phone): on such
# a sample EM takes every candidate for a match. Names are learned where pairs
# were found by phone or e-mail, channels where they were found by name.
FIT_SAMPLE = 1_000_000  # pairs per EM session and for the prior

SESSIONS = (
    (("phone", "email"), ("surname", "first_name", "middle_name", "gender")),
    (("name", "translit", "skeleton", "given"), ("phone", "email", "company", "city")),
)


def fit(levels: pl.DataFrame, u: dict[str, np.ndarray], prior: float = 0.1, iterations: int = EM_ITERATIONS) -> Model:
    """m per comparison from the training sessions, then the prior over all candidates (m, u fixed)."""
    model = Model(m=_initial_m(), u=u, prior=prior)
    if levels.height == 0:
        return model
    for rules, learned in SESSIONS:
        sample = levels.filter(pl.col("rules").list.eval(pl.element().is_in(list(rules))).list.any()) if "rules" in levels.columns else levels
        sample = _at_most(sample, FIT_SAMPLE)
        if sample.height < 10:
            continue
        blocked_on = [c for c in COMPARISONS if c not in learned]
        session = _em(sample.with_columns(pl.lit(NULL, dtype=pl.Int8).alias(c) for c in blocked_on), model, prior, iterations)
        for c in learned:
            model.m[c] = session.m[c]
    arrays, counts = _patterns(_at_most(levels, FIT_SAMPLE))
    for i in range(iterations):
        new_prior = float(np.clip(_weighted_mean(_posterior(arrays, model), counts), EPS, 1 - EPS))
        model.history.append(new_prior)
        converged = abs(new_prior - model.prior) < 1e-5
        model.prior, model.iterations = new_prior, i + 1
        if converged:
            break
    return model


def _at_most(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """A fixed random sample of at most n rows: m and the prior settle long before
    millions of pairs, and the same input gives the same model."""
    return frame if frame.height <= n else frame.sample(n, seed=0)


def _em(levels: pl.DataFrame, start: Model, prior: float, iterations: int) -> Model:
    """EM for m and the prior over one sample of pairs, u fixed."""
    arrays, counts = _patterns(levels)
    model = Model(m={c: v.copy() for c, v in start.m.items()}, u=start.u, prior=prior)
    for i in range(iterations):
        p = _posterior(arrays, model)
        new_prior = float(np.clip(_weighted_mean(p, counts), EPS, 1 - EPS))
        expected = p * counts  # expected true matches among the pairs of each pattern
        for c in COMPARISONS:
            lv = arrays[c]
            known = lv != NULL
            weights = np.bincount(lv[known], weights=expected[known], minlength=len(LEVELS[c]))[: len(LEVELS[c])]
            # pseudo-pairs shaped like the starting m: a level no candidate showed is rare, not
            # impossible, and a dozen candidates cannot teach that a shared phone means nothing
            model.m[c] = (weights + M_PSEUDO * _default_m(len(weights))) / (weights.sum() + M_PSEUDO)
        model.history.append(new_prior)
        converged = abs(new_prior - model.prior) < 1e-5
        model.prior = new_prior
        model.iterations = i + 1
        if converged:
            break
    return model


def _patterns(levels: pl.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The distinct combinations of levels among the pairs, and how many pairs show each.
    A pair's posterior depends on its levels alone, so EM over a few thousand patterns
    weighted by their counts is EM over the millions of pairs, at a fraction of the cost."""
    grouped = levels.group_by(list(COMPARISONS)).agg(pl.len().alias("n")).sort(list(COMPARISONS), nulls_last=True)
    return {c: grouped[c].fill_null(NULL).to_numpy().astype(np.int64) for c in COMPARISONS}, grouped["n"].to_numpy().astype(np.float64)


def _weighted_mean(values: np.ndarray, counts: np.ndarray) -> float:
    return float((values * counts).sum() / max(counts.sum(), 1.0))


def _log_odds(arrays: dict[str, np.ndarray], model: Model, u_override: dict[str, np.ndarray] | None = None) -> np.ndarray:
    n = len(next(iter(arrays.values())))
    total = np.full(n, math.log2(model.prior / (1 - model.prior)))
    for c in COMPARISONS:
        lv = arrays[c]
        known = lv != NULL
        w = np.log2(np.maximum(model.m[c], EPS) / np.maximum(model.u[c], EPS))
        contrib = np.zeros(n)
        contrib[known] = w[lv[known]]
        if u_override and c in u_override:
            # per-pair u (term frequency) replaces the level's average u where given
            tf = u_override[c]
            use = known & ~np.isnan(tf)
            contrib[use] = np.log2(np.maximum(model.m[c][lv[use]], EPS) / np.maximum(tf[use], EPS))
        total += contrib
    return total


def _posterior(arrays: dict[str, np.ndarray], model: Model) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-_log_odds(arrays, model)))


def score(levels: pl.DataFrame, model: Model, surname_tf: pl.Series | None = None) -> pl.DataFrame:
    """Add match_weight and match_probability to the pairs' level table.

    `surname_tf`: per pair, the share of records carrying the pair's surname when
    the surname level is exact (null otherwise) — the term-frequency u.
    """
    arrays = {c: levels[c].to_numpy().astype(np.int64) for c in COMPARISONS}
    override = None
    if surname_tf is not None:
        tf = surname_tf.cast(pl.Float64).fill_null(np.nan).to_numpy()
        # a common surname counts for less, a rare one for more, within 4x of the average u
        base = model.u["surname"][0]
        tf = np.where(np.isnan(tf), np.nan, np.clip(tf, base / 4, base * 4))
        tf[arrays["surname"] != 0] = np.nan
        override = {"surname": tf}
    weight = _log_odds(arrays, model, override)
    return levels.with_columns(
        match_weight=pl.Series(weight, dtype=pl.Float64),
        match_probability=pl.Series(1.0 / (1.0 + np.exp2(-weight)), dtype=pl.Float64),
    )


def surname_frequencies(levels: pl.DataFrame, records: pl.DataFrame) -> pl.Series:
    """Per pair: the share of records with record_a's surname (used when surnames agree exactly)."""
    counts = records.group_by("last_key").agg(pl.len().alias("n")).drop_nulls("last_key")
    total = max(records.height, 1)
    shares = counts.with_columns(share=pl.col("n") / total)
    keyed = levels.select("record_a").join(
        records.select(pl.col("record_id").alias("record_a"), "last_key"), on="record_a", how="left"
    ).join(shares.select("last_key", "share"), on="last_key", how="left")
    return keyed["share"]
