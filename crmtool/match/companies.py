"""Company clusters: ИНН first, КПП for branches, then names backed by phones and e-mails.

A company's identity is its ИНН; its КПП tells a branch from the head office,
so (ИНН, КПП) is one company and two КПП under one ИНН are two. A КПП whose
reason code (digits 5–6) is a branch's (43 and the other "обособленное
подразделение" codes) marks a branch, as does a name saying "филиал". A record
with no КПП joins its ИНН's only head-office КПП group, or the ИНН's own group.

Records with no valid ИНН — most of them in a CRM, whose contacts name their
company as text — are where namesakes hide (ООО «Янтарь-Центр» in Tula and in
Petersburg). So:

- records with phones or e-mails group by name key + legal form *and* a shared
  phone or e-mail; such a group joins the ИНН company of the same name only when
  it shares a phone or e-mail with it (a name alone is as often a namesake or a
  branch written without requisites);
- records with no channel at all (a contact's "ООО Ромашка") join the one group
  that carries their name, and form a name + city + form group of their own
  when the name is carried by several.

Two different valid ИНН are never merged, and a name shared by two companies
cannot chain them together.
"""

from __future__ import annotations

import polars as pl

from crmtool.match.exact import COMPANY_HINTS, connected_components, write_clusters
from crmtool.normalize.cities import city_key, known_cities, latin_city_prefixes, with_city_key
from crmtool.workspace import Workspace

_RECORDS = f"""
SELECT n.record_id, n.inn, n.kpp, n.company_key AS name_key, n.opf,
       regexp_matches(lower(coalesce(r.company, '')), 'филиал|представительство|обособленное') AS branch,
       r.company AS company_name,
       -- a company record's own numbers and addresses (a contact's are the person's)
       CASE WHEN n.entity_hint = 'company' THEN n.phones ELSE []::VARCHAR[] END AS phones,
       CASE WHEN n.entity_hint = 'company' THEN n.email_keys ELSE []::VARCHAR[] END AS emails,
       r.city
FROM normalized n JOIN records r USING (record_id)
WHERE n.entity_hint IN {COMPANY_HINTS}
"""

# КПП reason codes (digits 5–6) of a separate subdivision (обособленное подразделение)
BRANCH_KPP_CODES = ("02", "03", "04", "05", "31", "32", "43", "44", "45")
_NOTHING = pl.lit([], dtype=pl.List(pl.String))


BRANCH_MAILBOXES = ("filial", "branch", "otdelenie", "predstavitelstvo")


def branch_marked(name: pl.Expr, emails: pl.Expr) -> pl.Expr:
    """A branch that does not say "филиал": a city in brackets after the name
    (ООО «Италва» (Ростов-на-Дону)), or a mailbox named for a branch or a city
    (filial@, kazan@, novosi@italva.ru)."""
    bracketed = name.str.extract_all(r"\([^()]+\)").list.eval(
        city_key(pl.element().str.strip_chars("()")).is_in(list(known_cities()))).list.any()
    local = emails.list.eval(pl.element().str.split("@").list.first().str.replace_all("[^a-z]", ""))
    mailbox = local.list.eval(
        pl.element().is_in(list(latin_city_prefixes())) | pl.element().str.starts_with(BRANCH_MAILBOXES[0])
        | pl.element().is_in(list(BRANCH_MAILBOXES))).list.any()
    return bracketed.fill_null(False) | mailbox.fill_null(False)


def company_groups(records: pl.DataFrame) -> pl.DataFrame:
    """record_id → group key, by the rules in the module docstring."""
    records = records.with_columns(
        branch=pl.col("branch").fill_null(False) | pl.col("kpp").str.slice(4, 2).is_in(BRANCH_KPP_CODES).fill_null(False),
        channels=_channels(records),
    )
    placed = _inn_groups(records.filter(pl.col("inn").is_not_null()))
    no_inn = records.filter(pl.col("inn").is_null()).with_columns(_form_and_city(records.filter(pl.col("inn").is_null())))
    with_channels = _channel_groups(no_inn.filter(pl.col("channels").list.len() > 0), placed)
    named = pl.concat([placed.select("group", "name_key", "opf"), with_channels.select("group", "name_key", "opf")])
    bare = _name_only_groups(no_inn.filter(pl.col("channels").list.len() == 0), named)
    return pl.concat([placed.select("record_id", "group"), with_channels.select("record_id", "group"),
                      bare.select("record_id", "group")])


def _channels(records: pl.DataFrame) -> pl.Expr:
    """A record's phones and e-mail addresses, tagged by kind. Not the mail domain: a
    company's branches write from its domain too (moskva@, office@)."""
    return pl.concat_list(
        pl.col("phones").fill_null(_NOTHING).list.eval(pl.lit("p:") + pl.element()),
        pl.col("emails").fill_null(_NOTHING).list.eval(pl.lit("e:") + pl.element()),
    )


def _inn_groups(with_inn: pl.DataFrame) -> pl.DataFrame:
    """(ИНН, КПП) groups; a record without КПП joins the ИНН's only head-office КПП,
    unless its phones and e-mails are all other than the head office's (a branch
    written without its КПП)."""
    heads = (
        with_inn.filter(pl.col("kpp").is_not_null() & ~pl.col("branch"))
        .group_by("inn").agg(
            pl.col("kpp").unique().alias("kpps"),
            pl.col("channels").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("head_channels"),
        )
        .filter(pl.col("kpps").list.len() == 1)
        .select("inn", "head_channels", default=pl.concat_str([pl.col("inn"), pl.lit("|"), pl.col("kpps").list.first()]))
    )
    with_inn = with_inn.join(heads, on="inn", how="left").with_columns(
        default=pl.when(~_disjoint("channels", "head_channels")).then(pl.col("default"))
    )
    return with_inn.with_columns(
        group=pl.when(pl.col("kpp").is_not_null())
        .then(pl.concat_str([pl.col("inn"), pl.lit("|"), pl.col("kpp")]))
        # a branch written without its КПП is not the head office
        .when(pl.col("branch"))
        .then(pl.concat_str([pl.col("inn"), pl.lit("|branch|"), pl.col("name_key").fill_null("")]))
        .otherwise(pl.coalesce(pl.col("default"), pl.concat_str([pl.col("inn"), pl.lit("|")])))
    )


def _disjoint(own: str, other: str) -> pl.Expr:
    """Both sides have values and share none."""
    a, b = pl.col(own), pl.col(other)
    return (
        (a.list.len().fill_null(0) > 0) & (b.list.len().fill_null(0) > 0)
        & (a.list.set_intersection(b).list.len().fill_null(0) == 0)
    ).fill_null(False)


def _form_and_city(no_inn: pl.DataFrame) -> list[pl.Expr]:
    """A missing legal form or city read from the name's only one, for name keys."""
    def only(column: str) -> pl.Expr:
        values = pl.col(column).drop_nulls().unique().over("name_key", mapping_strategy="join")
        return pl.coalesce(pl.col(column), pl.when(values.list.len() == 1).then(values.list.first()), pl.lit(""))
    return [only("opf").alias("opf_key"), only("city").alias("city_key")]


def _channel_groups(records: pl.DataFrame, placed: pl.DataFrame) -> pl.DataFrame:
    """Records without ИНН but with channels: one group per name (and form) and connected
    channels, then attached to the ИНН company of that name that the channels point to."""
    if records.is_empty():
        return records.with_columns(group=pl.lit(None, dtype=pl.String))
    prefix = pl.concat_str([pl.col("name_key").fill_null("#" + pl.col("record_id").cast(pl.String)), pl.lit("|"),
                            pl.col("opf_key"), pl.lit("|")])
    edges = records.select(pl.col("record_id").alias("node"), prefix.alias("prefix"), "channels").explode("channels")
    edges = edges.select("node", key=pl.col("prefix") + pl.col("channels"))
    labels = connected_components(records["record_id"], edges)
    grouped = records.join(labels.rename({"node": "record_id"}), on="record_id")
    sub = grouped.group_by("label").agg(
        pl.col("name_key").first(), pl.col("opf_key").first(),
        pl.col("channels").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("sub_channels"),
    )
    # the ИНН companies of the same name, with all their channels
    inn_side = placed.filter(pl.col("name_key").is_not_null()).group_by("group").agg(
        pl.col("name_key").first(), pl.col("opf").first().alias("inn_opf"),
        pl.col("channels").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("inn_channels"),
    )
    candidates = sub.join(inn_side, on="name_key").filter(
        (pl.col("opf_key") == "") | pl.col("inn_opf").is_null() | (pl.col("opf_key") == pl.col("inn_opf"))
    ).with_columns(
        shared=pl.col("sub_channels").list.set_intersection(pl.col("inn_channels")).list.len() > 0,
    )
    per_label = candidates.group_by("label").agg(
        pl.col("group").filter(pl.col("shared")).alias("sharing"),
    ).with_columns(
        target=pl.when(pl.col("sharing").list.len() == 1).then(pl.col("sharing").list.first())
    )
    return grouped.join(per_label.select("label", "target"), on="label", how="left").with_columns(
        group=pl.coalesce(pl.col("target"), pl.lit("ch|") + pl.col("label").cast(pl.String)),
        opf=pl.when(pl.col("opf_key") != "").then(pl.col("opf_key")),
    )


def _name_only_groups(records: pl.DataFrame, named: pl.DataFrame) -> pl.DataFrame:
    """Records with a name and nothing else join the one group carrying that name (and a
    compatible form); otherwise a name + city + form group of their own."""
    carriers = named.filter(pl.col("name_key").is_not_null()).unique(["group", "name_key", "opf"])
    options = records.select("record_id", "name_key", "opf_key").join(carriers, on="name_key").filter(
        (pl.col("opf_key") == "") | pl.col("opf").is_null() | (pl.col("opf") == pl.col("opf_key"))
    ).group_by("record_id").agg(pl.col("group").unique().alias("options"))
    return records.join(options, on="record_id", how="left").with_columns(
        group=pl.when(pl.col("options").list.len() == 1).then(pl.col("options").list.first())
        .when(pl.col("name_key").is_not_null())
        .then(pl.concat_str([pl.lit("name|"), pl.col("name_key"), pl.lit("|"), pl.col("city_key"), pl.lit("|"),
                             pl.col("opf_key")]))
        .otherwise(pl.concat_str([pl.lit("record|"), pl.col("record_id").cast(pl.String)]))
    )


def apart(groups: pl.DataFrame, different: pl.DataFrame) -> pl.DataFrame:
    """Records a person said are different companies (`crmtool unmerge`) leave their group:
    while a group holds such a pair, the record in most of them (the later one on a tie)
    gets a group of its own — detaching one record from three moves that one record."""
    if different.is_empty():
        return groups
    while True:
        g = groups.select("record_id", "group")
        clash = (
            different.join(g.rename({"record_id": "record_a", "group": "ga"}), on="record_a")
            .join(g.rename({"record_id": "record_b", "group": "gb"}), on="record_b")
            .filter(pl.col("ga") == pl.col("gb"))
        )
        if clash.is_empty():
            return groups
        counts = pl.concat([clash.select(pl.col("record_a").alias("record_id"), pl.col("ga").alias("group")),
                            clash.select(pl.col("record_b").alias("record_id"), pl.col("ga").alias("group"))])
        leaving = (counts.group_by("group", "record_id").len()
                   .sort(["group", "len", "record_id"], descending=[False, True, True])
                   .unique("group", keep="first")["record_id"])
        groups = groups.with_columns(
            group=pl.when(pl.col("record_id").is_in(leaving.implode()))
            .then(pl.lit("apart|") + pl.col("record_id").cast(pl.String)).otherwise(pl.col("group"))
        )


def cluster_companies(ws: Workspace) -> int:
    """Rebuild the company rows of `clusters`; returns the number of company clusters."""
    con = ws.con
    records = with_city_key(con.sql(_RECORDS).pl()).with_columns(
        branch=pl.col("branch") | branch_marked(pl.col("company_name"), pl.col("emails")),
    )
    groups = apart(company_groups(records), con.sql(
        "SELECT record_a, record_b FROM decisions WHERE verdict = 'different' AND entity = 'company'").pl())
    labels = groups.join(
        groups.group_by("group").agg(pl.col("record_id").min().alias("label")), on="group"
    ).select(pl.col("record_id").alias("node"), "label")
    with ws.transaction():
        write_clusters(ws, labels, "company", "CO", "company_rules")
    return labels["label"].n_unique()
