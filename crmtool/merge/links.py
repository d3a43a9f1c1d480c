"""Contacts ↔ companies: which golden company each golden contact works for.

Three ways a link is found, all kept in `contact_company.via`:

- `row`: the company written on the contact's own row (Excel's "Компания",
  Outlook's "Organization");
- `representative`: 1С's contact persons (Представители / Контакты of a
  counterparty), whose records point at their counterparty's record;
- `domain`: the contact's corporate e-mail domain is the mail domain or web
  site of exactly one company (ivanov@romashka.ru → ООО «Ромашка»).

A contact may belong to several companies; each link lists the source
records that gave it.
"""

from __future__ import annotations

from crmtool.workspace import Workspace

_LINKS = """
WITH company_domains AS (
    -- a company's own mail domains and web site domain
    SELECT co.cluster_id AS company_id, unnest(n.corporate_domains) AS domain
    FROM clusters co JOIN normalized n USING (record_id) JOIN records r USING (record_id)
    WHERE co.entity = 'company' AND r.entity_hint = 'company'
    UNION
    SELECT co.cluster_id, lower(regexp_extract(r.website, '^(?:[a-z]+://)?(?:www\\.)?([^/:?#]+)', 1))
    FROM clusters co JOIN records r USING (record_id)
    WHERE co.entity = 'company' AND r.website IS NOT NULL
), one_company AS (
    SELECT domain, any_value(company_id) AS company_id FROM company_domains
    WHERE domain IS NOT NULL AND domain <> ''
    GROUP BY domain HAVING count(DISTINCT company_id) = 1
), found AS (
    SELECT k.cluster_id AS contact_id, co.cluster_id AS company_id, 'row' AS via, k.record_id
    FROM clusters k JOIN clusters co ON co.record_id = k.record_id AND co.entity = 'company'
    WHERE k.entity = 'contact'
    UNION ALL
    SELECT k.cluster_id, co.cluster_id, 'representative', r.record_id
    FROM records r JOIN clusters k ON k.record_id = r.record_id AND k.entity = 'contact'
    JOIN clusters co ON co.record_id = r.parent_record_id AND co.entity = 'company'
    WHERE r.parent_record_id IS NOT NULL
    UNION ALL
    SELECT k.cluster_id, d.company_id, 'domain', k.record_id
    FROM clusters k JOIN (SELECT record_id, unnest(corporate_domains) AS domain FROM normalized) n USING (record_id)
    JOIN one_company d USING (domain)
    WHERE k.entity = 'contact'
)
"""
# the kinds of evidence `found` gives, in the order `via` lists them (alphabetical). `via` is
# built from one flag per kind and the record ids are sorted after aggregating: list
# aggregates (list(DISTINCT … ORDER BY …) sorts group by group) were most of the query's time
VIAS = ("domain", "representative", "row")
_VIA = "list_concat(" + ", ".join(f"CASE WHEN bool_or(via = '{v}') THEN ['{v}'] ELSE [] END" for v in VIAS) + ")"
_LINKS += f"""
SELECT contact_id, company_id, {_VIA} AS via, list_sort(list_distinct(list(record_id))) AS record_ids
FROM found GROUP BY contact_id, company_id
ORDER BY contact_id, company_id  -- the order the files list links in (export.data reads them as stored)
"""


def link_contacts(ws: Workspace) -> int:
    """Rebuild `contact_company`; returns the number of links."""
    ws.con.execute("DELETE FROM contact_company")
    ws.con.execute(f"INSERT INTO contact_company {_LINKS}")
    return ws.scalar("SELECT count(*) FROM contact_company")
