"""Company clusters: ИНН first, КПП for branches, then the name where no ИНН says otherwise.

A company's identity is its ИНН; its КПП tells a branch from the head office,
so (ИНН, КПП) is one company and two КПП under one ИНН are two. Records with
no КПП join their ИНН's only КПП group (or stay the ИНН's own group when it
has several). Records with no valid ИНН — most of them in a CRM, whose
contacts name their company as text — join a group by the company's name key
only when that key points to exactly one ИНН group; otherwise records sharing
a name key (and not placed in different cities) form a group of their own.
Two different valid ИНН are never merged, so "ООО Ромашка" in Moscow and in
Tver with their own ИНН stay two companies, and a name shared by both cannot
chain them together.
"""

from __future__ import annotations

import polars as pl

from crmtool.match.exact import COMPANY_HINTS, write_clusters
from crmtool.normalize.cities import city_key
from crmtool.workspace import Workspace

_RECORDS = f"""
SELECT n.record_id, n.inn, n.kpp, n.company_key AS name_key, n.opf,
       regexp_matches(lower(coalesce(r.company, '')), 'филиал|представительство|обособленное') AS branch,
       -- a company record's own numbers and addresses (a contact's are the person's)
       CASE WHEN n.entity_hint = 'company' THEN n.phones ELSE []::VARCHAR[] END AS phones,
       CASE WHEN n.entity_hint = 'company' THEN n.email_keys ELSE []::VARCHAR[] END AS emails,
       r.city
FROM normalized n JOIN records r USING (record_id)
WHERE n.entity_hint IN {COMPANY_HINTS}
"""


def company_groups(records: pl.DataFrame) -> pl.DataFrame:
    """record_id → group key, by the rules in the module docstring."""
    with_inn = records.filter(pl.col("inn").is_not_null())
    kpps = (
        with_inn.filter(pl.col("kpp").is_not_null())
        .group_by("inn").agg(pl.col("kpp").unique().alias("kpps"))
    )
    # the ИНН's group for a record without КПП: its only КПП, or the ИНН alone
    inn_default = kpps.with_columns(
        default=pl.when(pl.col("kpps").list.len() == 1)
        .then(pl.concat_str([pl.col("inn"), pl.lit("|"), pl.col("kpps").list.first()]))
        .otherwise(pl.concat_str([pl.col("inn"), pl.lit("|")]))
    ).select("inn", "default")
    placed = with_inn.join(inn_default, on="inn", how="left").with_columns(
        group=pl.when(pl.col("kpp").is_not_null())
        .then(pl.concat_str([pl.col("inn"), pl.lit("|"), pl.col("kpp")]))
        # a branch written without its КПП is not the head office
        .when(pl.col("branch"))
        .then(pl.concat_str([pl.col("inn"), pl.lit("|branch|"), pl.col("name_key").fill_null("")]))
        .otherwise(pl.coalesce(pl.col("default"), pl.concat_str([pl.col("inn"), pl.lit("|")])))
    )
    # name key → the ИНН groups it appears in (with their cities)
    by_name = (
        placed.filter(pl.col("name_key").is_not_null())
        .group_by("name_key")
        .agg(pl.col("group").unique().alias("groups"))
        .filter(pl.col("groups").list.len() == 1)
        .select("name_key", pl.col("groups").list.first().alias("named_group"))
    )
    channels = placed.group_by("group").agg(
        pl.col("phones").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("group_phones"),
        pl.col("emails").list.explode(keep_nulls=False, empty_as_null=False).unique().alias("group_emails"),
    )
    no_inn = (
        records.filter(pl.col("inn").is_null())
        .join(by_name, on="name_key", how="left")
        .join(channels, left_on="named_group", right_on="group", how="left")
        # the same name but other phones or e-mails than the ИНН's company: a namesake or a
        # branch written without requisites; it does not join on the name alone
        .with_columns(
            named_group=pl.when(_disjoint("phones", "group_phones") | _disjoint("emails", "group_emails"))
            .then(None).otherwise(pl.col("named_group"))
        )
    )
    # Without a unique ИНН group: by name key and city (a record with no city joins its name's
    # only city, if there is exactly one).
    cities = (
        no_inn.filter(pl.col("named_group").is_null() & pl.col("name_key").is_not_null() & pl.col("city").is_not_null())
        .group_by("name_key").agg(pl.col("city").unique().alias("cities"))
    )
    # the same for legal forms: АО «Новаерла» and ООО «Новаерла» are two companies
    forms = (
        no_inn.filter(pl.col("named_group").is_null() & pl.col("name_key").is_not_null() & pl.col("opf").is_not_null())
        .group_by("name_key").agg(pl.col("opf").unique().alias("opfs"))
    )
    no_inn = no_inn.join(cities, on="name_key", how="left").join(forms, on="name_key", how="left").with_columns(
        city_for_key=pl.when(pl.col("city").is_not_null()).then(pl.col("city"))
        .when(pl.col("cities").list.len() == 1).then(pl.col("cities").list.first())
        .otherwise(pl.lit("")),
        opf_for_key=pl.when(pl.col("opf").is_not_null()).then(pl.col("opf"))
        .when(pl.col("opfs").list.len() == 1).then(pl.col("opfs").list.first())
        .otherwise(pl.lit("")),
    ).with_columns(
        group=pl.when(pl.col("named_group").is_not_null()).then(pl.col("named_group"))
        .when(pl.col("name_key").is_not_null())
        .then(pl.concat_str([pl.lit("name|"), pl.col("name_key"), pl.lit("|"), pl.col("city_for_key"),
                             pl.lit("|"), pl.col("opf_for_key")]))
        .otherwise(pl.concat_str([pl.lit("record|"), pl.col("record_id").cast(pl.String)]))
    )
    return pl.concat([placed.select("record_id", "group"), no_inn.select("record_id", "group")])


def _disjoint(own: str, group: str) -> pl.Expr:
    """Both sides have values and share none."""
    a, b = pl.col(own), pl.col(group)
    return (
        (a.list.len().fill_null(0) > 0) & (b.list.len().fill_null(0) > 0)
        & (a.list.set_intersection(b).list.len().fill_null(0) == 0)
    ).fill_null(False)


def cluster_companies(ws: Workspace) -> int:
    """Rebuild the company rows of `clusters`; returns the number of company clusters."""
    con = ws.con
    records = con.sql(_RECORDS).pl().with_columns(city=city_key(pl.col("city")))
    groups = company_groups(records)
    labels = groups.join(
        groups.group_by("group").agg(pl.col("record_id").min().alias("label")), on="group"
    ).select(pl.col("record_id").alias("node"), "label")
    with ws.transaction():
        con.execute("DELETE FROM clusters WHERE entity = 'company'")
        write_clusters(ws, labels, "company", "CO", "company_rules")
    return labels["label"].n_unique()
