"""contacts.csv, companies.csv and crosswalk.csv straight from the clusters.

Column order follows DESIGN.md's CLI contract. Until the merge stage lands,
a cluster's value for a one-value field is its earliest member's non-empty
value, and phones/e-mails are every distinct valid value its members gave,
normalized (E.164, e-mails cleaned). Names, company names and requisites
come from `normalized`; values that failed validation are not exported but
stay in the workspace (`field_checks`, `crmtool profile`).
"""

from __future__ import annotations

from pathlib import Path

from crmtool.workspace import Workspace


def _first(field: str) -> str:
    return f"arg_min({field}, record_id) FILTER (WHERE {field} IS NOT NULL) AS {field}"


def _joined(field: str, source: str | None = None) -> str:
    """Every distinct value of a list field over the cluster in the order members gave them, `; `-joined."""
    values = f"flatten(list({source or field} ORDER BY record_id))"
    first_seen = f"list_filter({values}, lambda v, i: list_position({values}, v) = i)"
    return f"nullif(array_to_string({first_seen}, '; '), '') AS {field}"


_CONTACTS = f"""
WITH m AS (
    SELECT c.cluster_id, r.record_id, r.job_title, r.city, r.owner, r.department, r.full_name, r.birthday,
           r.address, n.last_name, n.first_name, n.middle_name,
           CASE WHEN n.gender IN ('М', 'Ж') THEN n.gender END AS gender, n.phones, n.emails
    FROM clusters c JOIN records r USING (record_id) JOIN normalized n USING (record_id)
    WHERE c.entity = 'contact'
), links AS (
    SELECT k.cluster_id, list_sort(list_distinct(list(co.cluster_id))) AS ids,
           list_distinct(list(n.company ORDER BY n.record_id)) AS names
    FROM clusters k
    JOIN clusters co ON co.record_id = k.record_id AND co.entity = 'company'
    JOIN normalized n ON n.record_id = k.record_id
    WHERE k.entity = 'contact'
    GROUP BY k.cluster_id
)
SELECT m.cluster_id AS golden_id,
       {_first('last_name')}, {_first('first_name')}, {_first('middle_name')}, {_first('gender')},
       {_joined('phones')}, {_joined('emails')},
       nullif(array_to_string(any_value(links.ids), '; '), '') AS company_ids,
       nullif(array_to_string(any_value(links.names), '; '), '') AS companies,
       {_first('job_title')}, {_first('city')}, {_first('owner')}, {_first('department')},
       {_first('full_name')}, {_first('birthday')}, {_first('address')},
       count(*) AS source_records
FROM m LEFT JOIN links USING (cluster_id)
GROUP BY m.cluster_id
ORDER BY m.cluster_id
"""

_COMPANIES = f"""
WITH m AS (
    SELECT c.cluster_id, r.record_id, r.city, r.website, n.company, n.opf, n.inn, n.kpp, n.ogrn,
           -- a person-at-company record's phones and e-mails are the person's, not the company's
           CASE WHEN r.entity_hint = 'company' THEN n.phones ELSE []::VARCHAR[] END AS own_phones,
           CASE WHEN r.entity_hint = 'company' THEN n.emails ELSE []::VARCHAR[] END AS own_emails,
           CASE WHEN r.entity_hint = 'company' THEN r.address END AS own_address
    FROM clusters c JOIN records r USING (record_id) JOIN normalized n USING (record_id)
    WHERE c.entity = 'company'
)
SELECT cluster_id AS golden_id,
       arg_min(company, record_id) FILTER (WHERE company IS NOT NULL) AS name,
       arg_min(opf, record_id) FILTER (WHERE company IS NOT NULL AND opf IS NOT NULL) AS opf,
       {_first('inn')}, {_first('kpp')}, {_first('ogrn')},
       {_joined('phones', 'own_phones')}, {_joined('emails', 'own_emails')},
       {_first('city')},
       arg_min(own_address, record_id) FILTER (WHERE own_address IS NOT NULL) AS address,
       {_first('website')},
       count(*) AS source_records
FROM m
GROUP BY cluster_id
ORDER BY cluster_id
"""

_CROSSWALK = """
SELECT s.path AS source_file, r.source_row,
       CASE WHEN r.entity_hint = 'company' THEN 'company' ELSE 'contact' END AS entity,
       own.cluster_id AS golden_id,
       CASE WHEN r.entity_hint = 'person_at_company' THEN co.cluster_id END AS company_golden_id,
       raw.sheet, raw.line, r.record_id, r.entity_hint,
       nullif(array_to_string(r.flags, '; '), '') AS flags
FROM records r
JOIN sources s USING (source_id)
JOIN raw_records raw USING (record_id)
LEFT JOIN clusters own ON own.record_id = r.record_id
     AND own.entity = CASE WHEN r.entity_hint = 'company' THEN 'company' ELSE 'contact' END
LEFT JOIN clusters co ON co.record_id = r.record_id AND co.entity = 'company'
ORDER BY s.source_id, r.source_row
"""

OUTPUTS = {"contacts.csv": _CONTACTS, "companies.csv": _COMPANIES, "crosswalk.csv": _CROSSWALK}


def write_outputs(ws: Workspace, out_dir: Path) -> dict[str, int]:
    """Write the three files; returns the number of data rows in each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, sql in OUTPUTS.items():
        target = out_dir / name
        tmp = target.with_suffix(".csv.part")
        counts[name] = ws.scalar(f"COPY ({sql}) TO '{_sql_path(tmp)}' (HEADER, DELIMITER ',', QUOTE '\"')")
        tmp.replace(target)  # readers of the folder never see a half-written file
    return counts


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
