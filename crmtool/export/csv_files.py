"""contacts.csv, companies.csv and crosswalk.csv from the golden records.

Column order follows DESIGN.md's CLI contract: contacts.csv starts with
golden_id, last_name, first_name, middle_name, gender, phones, emails,
company_ids, companies, job_title, city, owner, department; companies.csv with
golden_id, name, opf, inn, kpp, ogrn, phones, emails, city, address.
Multi-valued cells are joined with "; " (phones in E.164, e-mails
normalized, in the order the sources first gave them). Values that failed
validation never reach a golden record but stay in the workspace
(`field_checks`, `crmtool profile`).
"""

from __future__ import annotations

from pathlib import Path

from crmtool.workspace import Workspace


def joined(column: str, alias: str | None = None) -> str:
    """A typed list column (phones / e-mails) as "; "-joined values."""
    return f"nullif(array_to_string(list_transform({column}, lambda x: x.value), '; '), '') AS {alias or column}"


CONTACTS_SQL = f"""
WITH links AS (
    SELECT l.contact_id, list(l.company_id ORDER BY l.company_id) AS ids,
           list(coalesce(co.name, co.golden_id) ORDER BY l.company_id) AS names
    FROM contact_company l JOIN companies co ON co.golden_id = l.company_id
    GROUP BY l.contact_id
)
SELECT c.golden_id, c.last_name, c.first_name, c.middle_name, c.gender,
       {joined('c.phones', 'phones')}, {joined('c.emails', 'emails')},
       nullif(array_to_string(links.ids, '; '), '') AS company_ids,
       nullif(array_to_string(links.names, '; '), '') AS companies,
       c.job_title, c.city, c.owner, c.department, c.birthday, c.address, c.consent, c.note,
       c.records AS source_records
FROM contacts c LEFT JOIN links ON links.contact_id = c.golden_id
ORDER BY c.golden_id
"""

COMPANIES_SQL = f"""
SELECT golden_id, name, opf, inn, kpp, ogrn, {joined('phones')}, {joined('emails')}, city, address,
       website, full_name, is_person, owner, note, records AS source_records
FROM companies
ORDER BY golden_id
"""

CROSSWALK_SQL = """
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

OUTPUTS = {"contacts.csv": CONTACTS_SQL, "companies.csv": COMPANIES_SQL, "crosswalk.csv": CROSSWALK_SQL}


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
