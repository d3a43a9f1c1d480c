"""From scored pairs to clusters, without chaining errors.

Connected components over the auto-matched pairs would let one wrong link
(a shared home phone, a namesake) glue two people — and everyone linked to
them — together. So:

1. a pair with a hard conflict is never an auto-match, whatever its score:
   different genders are rejected, different full patronymics (a typo is
   possible) go to review;
2. connected components are taken over the remaining auto-matches
   (`pair_components`: a sparse-graph union in scipy);
3. a component that still holds people who cannot be the same (two genders,
   two different full patronymics among its members) is rebuilt greedily:
   its edges strongest first, a merge allowed only when the two sides'
   genders and patronymics are compatible. Only such components go through
   this Python step; they are few and small.
"""

from __future__ import annotations

import polars as pl

from crmtool.match.exact import pair_components
from crmtool.match.features import FIRST_DIFFERENT, NULL, SURNAME_DIFFERENT

GENDER_CONFLICT = 1  # features: gender level "conflict"
RARE_NAME = 6  # records with one surname + first name, beyond which names alone merge nothing
MIDDLE_CONFLICT = 2  # features: middle_name level "different"
DIFFERENT_MOBILES = 3  # features: phone level "different_mobiles"
SURNAME_SIMILAR = 3  # features: surname level "similar"
SHARED_WEAK = 1  # features: phone level "shared_weak" (a switchboard, a family's line)
PATRONYMIC_TYPO = 0.9  # Jaro-Winkler of two full patronymics at or above which one may be a typo
FIRST_ALIKE = 0.85  # Jaro-Winkler of two first names at or above which one may be a typo (Светлана / Светлна)
SMALL_CITY = 0.05  # share of the base's records beyond which sharing the city proves nothing


def hard_conflict() -> pl.Expr:
    """Pairs that must never be merged automatically."""
    return (pl.col("gender") == GENDER_CONFLICT) | (pl.col("middle_name") == MIDDLE_CONFLICT)


def other_father() -> pl.Expr:
    """Two full patronymics that are not one misspelt (Сергеевич / Сергевич is a typo,
    Сергеевич / Петрович two people): rejected, not sent to review."""
    return (pl.col("middle_name") == MIDDLE_CONFLICT) & (pl.col("middle_sim").fill_null(0.0) < PATRONYMIC_TYPO)


def identified() -> pl.Expr:
    """Evidence that names one person, not just a kind of person. Two "Мария" with
    nothing else in common are never merged automatically, however the weights add up:

    - the same line or e-mail, with no other first name;
    - the name at the same company: surname (or a close spelling) and first name, or
      first name and patronymic when one side has no surname;
    - the full ФИО (surname, first name, patronymic) while few records carry the name;
    - surname and first name in the same small city (≤ SMALL_CITY of the base), while
      few records carry the name and no e-mail or mobile disagrees.

    A big city is no evidence (a quarter of a base lives in Moscow, and two
    "Петров Николай" there are as likely two people); another company, another city or
    another personal mobile contradicts everything but a shared channel."""
    surname, first = pl.col("surname"), pl.col("first_name")
    same_company = pl.col("company").is_between(0, 1)
    mobiles_differ = pl.col("phone") == DIFFERENT_MOBILES
    contradicted = _contradicted()
    # A shared line with another first name is a relative or a colleague at the same desk.
    channel = ((pl.col("phone") == 0) | (pl.col("email") == 0)) & (first != FIRST_DIFFERENT)
    # the name at one company, or on one shared line (a switchboard, a family's phone): the
    # line is shared by many people, but by one person of that name
    at_company = (same_company | (pl.col("phone") == SHARED_WEAK)) & _one_name()
    # Names alone vouch for one person only while few records carry them: where a surname
    # and first name are common, two of them are as likely two people.
    rare = pl.col("name_count").fill_null(0) <= RARE_NAME
    names = surname.is_between(0, 2) & first.is_between(0, 2)
    full_name = names & (pl.col("middle_name") == 0) & rare
    small_city = (pl.col("city") == 0) & (pl.col("city_share").fill_null(1.0) <= SMALL_CITY)
    in_town = names & small_city & rare & (pl.col("email") != 1) & ~mobiles_differ
    return channel | ((at_company | full_name | in_town) & ~contradicted)


def _contradicted() -> pl.Expr:
    """Another company; or another personal mobile or another city, with no company shared."""
    return (pl.col("company") == 2) | _apart()


def _apart() -> pl.Expr:
    """Another personal mobile each, or another city with no company shared."""
    same_company = pl.col("company").is_between(0, 1)
    return (pl.col("phone") == DIFFERENT_MOBILES) | ((pl.col("city") == 1) & ~same_company)


def _one_name() -> pl.Expr:
    """Names that agree well enough to be one person where something else places them
    together: surname (or a close spelling) and first name, or first name and patronymic
    when one side has no surname."""
    surname, first = pl.col("surname"), pl.col("first_name")
    return (
        (surname.is_between(0, 2) & first.is_between(0, 2))
        | ((surname == SURNAME_SIMILAR) & first.is_between(0, 1))  # a typo: Гоношилова / Горношилова
        | (surname.is_null() | (surname == NULL)) & first.is_between(0, 1) & (pl.col("middle_name") == 0)
    )


def unsupported() -> pl.Expr:
    """Why a pair is not worth a person's time, whatever its probability: the reason, or null.

    Sent to review, these pairs would bury the few that are one person (on the generated 1M
    base: 500k of 544k review pairs, one in 25 of them one person).
    - names_differ, even with a shared line or e-mail: the same surname (or none on a side)
      and two first names that are neither forms of one name nor alike (Jaro-Winkler <
      FIRST_ALIKE; an initial that stands for neither is not alike): a family's home phone,
      a couple's mailbox, two people at one desk (1M: 2,224 such review pairs with both
      first names written out, 79 of them one person, most of those misparsed names);
    Without a shared line or e-mail:
    - names_differ: another surname or another first name (colleagues on one switchboard,
      relatives), or no name on either side;
    - contradicted: the name agrees, but each has a mobile of their own, or they live in two
      cities with no company shared, or work at two companies (unless the full ФИО is rare:
      people change jobs, and a person can judge that);
    - name_only: nothing places the two together (no shared line, company or small town)
      and the name is common, spelt only closely alike, missing on a side, or their e-mails
      differ. (Not a first name known only by an initial: at 100k a quarter of such review
      pairs, with the surname and nothing else in common, were one person.)
    """
    surname, first = pl.col("surname"), pl.col("first_name")
    channel = (pl.col("phone") == 0) | (pl.col("email") == 0)
    same_company = pl.col("company").is_between(0, 1)
    rare_full_name = (pl.col("middle_name") == 0) & (pl.col("name_count").fill_null(0) <= RARE_NAME)
    small_city = (pl.col("city") == 0) & (pl.col("city_share").fill_null(1.0) <= SMALL_CITY)
    together = (pl.col("phone") == SHARED_WEAK) | same_company | small_city
    thin = ((pl.col("name_count").fill_null(0) > RARE_NAME) | surname.is_between(2, 3) | (surname == NULL)
            | (pl.col("email") == 1))
    # first_sim is null where a side has only an initial: an initial that stands for neither name
    relatives = (surname.is_in([0, NULL]) & (first == FIRST_DIFFERENT)
                 & (pl.col("first_sim").fill_null(0.0) < FIRST_ALIKE))
    return (
        pl.when(relatives).then(pl.lit("names_differ"))
        .when(channel).then(pl.lit(None, dtype=pl.String))
        .when((surname == SURNAME_DIFFERENT) | (first == FIRST_DIFFERENT) | ((surname == NULL) & (first == NULL)))
        .then(pl.lit("names_differ"))
        .when(_apart() | ((pl.col("company") == 2) & ~rare_full_name)).then(pl.lit("contradicted"))
        .when(~together & thin).then(pl.lit("name_only"))
    )


def decide(scored: pl.DataFrame, upper: float, lower: float) -> pl.DataFrame:
    """decision auto | review | reject, and the reason, per pair."""
    p = pl.col("match_probability")
    conflict = hard_conflict()
    for column, dtype in (("name_count", pl.Int32), ("city_share", pl.Float32), ("middle_sim", pl.Float32),
                          ("first_sim", pl.Float32)):
        if column not in scored.columns:
            scored = scored.with_columns(pl.lit(None, dtype=dtype).alias(column))
    return scored.with_columns(
        # a man and a woman are two people whatever else they share (a family's phone)
        decision=pl.when(pl.col("gender") == GENDER_CONFLICT).then(pl.lit("reject"))
        # another father's name: two people (a patronymic that is a typo away is reviewed)
        .when(other_father()).then(pl.lit("reject"))
        .when(conflict & (p >= lower)).then(pl.lit("review"))
        .when((p >= lower) & ~identified() & unsupported().is_not_null()).then(pl.lit("reject"))
        .when((p >= upper) & ~identified()).then(pl.lit("review"))
        .when(p >= upper).then(pl.lit("auto"))
        .when(p >= lower).then(pl.lit("review"))
        .otherwise(pl.lit("reject")),
        reason=pl.when(conflict & (pl.col("gender") == GENDER_CONFLICT)).then(pl.lit("gender_conflict"))
        .when(conflict).then(pl.lit("patronymic_conflict"))
        .when((p >= lower) & ~identified() & unsupported().is_not_null()).then(unsupported())
        .when((p >= upper) & ~identified()).then(pl.lit("no_identifying_agreement"))
        .when(p >= upper).then(pl.lit("above_upper"))
        .when(p >= lower).then(pl.lit("uncertain"))
        .otherwise(pl.lit("below_lower")),
    )


def cluster(
    nodes: pl.Series, decided: pl.DataFrame, attributes: pl.DataFrame, cannot_link: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Label each node (record_id) with its cluster's smallest record_id.

    `attributes`: record_id, gender (М/Ж/None), middle_key (full patronymic or None).
    `cannot_link`: record_a, record_b pairs a person said are different people.
    """
    cannot = cannot_link if cannot_link is not None else pl.DataFrame(
        schema={"record_a": pl.Int64, "record_b": pl.Int64})
    auto = decided.filter(pl.col("decision") == "auto")
    labels = pair_components(nodes, auto)
    # Components that mix incompatible people.
    members = labels.join(attributes.rename({"record_id": "node"}), on="node", how="left")
    bad = members.group_by("label").agg(
        pl.col("gender").drop_nulls().n_unique().alias("genders"),
        pl.col("middle_key").drop_nulls().n_unique().alias("middles"),
        pl.len().alias("size"),
    ).filter((pl.col("genders") > 1) | (pl.col("middles") > 1)).select("label")
    # components holding two records a person said are different
    split_by_people = (
        cannot.join(labels.rename({"node": "record_a", "label": "la"}), on="record_a")
        .join(labels.rename({"node": "record_b", "label": "lb"}), on="record_b")
        .filter(pl.col("la") == pl.col("lb"))
        .select(pl.col("la").alias("label"))
    )
    bad = pl.concat([bad, split_by_people]).unique()
    if bad.is_empty():
        return labels
    bad_nodes = labels.join(bad, on="label")
    fixed = _rebuild(bad_nodes, auto, attributes, cannot)
    return labels.join(fixed, on="node", how="left").with_columns(
        label=pl.coalesce("new_label", "label")
    ).drop("new_label")


def _rebuild(bad_nodes: pl.DataFrame, auto: pl.DataFrame, attributes: pl.DataFrame, cannot: pl.DataFrame) -> pl.DataFrame:
    """Greedy union of the strongest edges first, refusing merges that would mix people."""
    nodes = set(bad_nodes["node"].to_list())
    attrs = {
        r: (g, m) for r, g, m in attributes.filter(pl.col("record_id").is_in(list(nodes))).select(
            "record_id", "gender", "middle_key").iter_rows()
    }
    edges = (
        auto.filter(pl.col("record_a").is_in(list(nodes)) & pl.col("record_b").is_in(list(nodes)))
        .with_columns(forced=(pl.col("reason") == "human_same").fill_null(False))
        # a person's "same" first and whatever the attributes say; then the strongest edges
        .sort(["forced", "match_weight"], descending=[True, True])
        .select("record_a", "record_b", "forced")
        .iter_rows()
    )
    parent = {n: n for n in nodes}
    genders = {n: {attrs.get(n, (None, None))[0]} - {None} for n in nodes}
    middles = {n: {attrs.get(n, (None, None))[1]} - {None} for n in nodes}
    members = {n: {n} for n in nodes}
    forbidden: dict[int, set[int]] = {n: set() for n in nodes}
    for a, b in cannot.select("record_a", "record_b").iter_rows():
        if a in forbidden and b in forbidden:
            forbidden[a].add(b)
            forbidden[b].add(a)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, forced in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        g, m = genders[ra] | genders[rb], middles[ra] | middles[rb]
        if forbidden[ra] & members[rb] or (not forced and (len(g) > 1 or len(m) > 1)):
            continue  # these two groups hold different people
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        parent[drop] = keep
        genders[keep], middles[keep] = g, m
        members[keep] |= members.pop(drop)
        forbidden[keep] |= forbidden.pop(drop)
    return pl.DataFrame(
        {"node": list(nodes), "new_label": [find(n) for n in nodes]},
        schema={"node": pl.Int64, "new_label": pl.Int64},
    )
