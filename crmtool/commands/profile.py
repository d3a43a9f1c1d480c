"""`crmtool profile`: data quality per source and per field, for the consultant and for scripts."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from crmtool import console
from crmtool.normalize.profile import Profile, SourceProfile, build_profile, ensure_normalized
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Region
from crmtool.workspace import Workspace, journaled

_FIELD_TITLES = {"name": "ФИО", "phone": "phones", "email": "e-mails", "company": "company",
                 "inn": "ИНН", "kpp": "КПП", "ogrn": "ОГРН"}


def profile(
    db: Db = DEFAULT_DB_PATH,
    region: Region = "RU",
    top: Annotated[int, typer.Option("--top", min=1, help="How many problem kinds to list.")] = 10,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Examples shown per problem.")] = 3,
    as_json: Json = False,
) -> None:
    """Per source and per field: filled %, valid %, fixed %, invalid %, top problems with examples,
    and records with no contact channel at all.

    Normalizes first if the loaded files changed since the last `crmtool normalize`.
    """
    with Workspace.open(db, create=False) as ws:
        if ensure_stale_normalized(ws, region.upper()) and not as_json:
            console.info("normalized the workspace first (sources changed since the last run)")
        result = build_profile(ws, top=top, examples=examples)
    if as_json:
        console.out.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    _print(result)


def ensure_stale_normalized(ws: Workspace, region: str) -> bool:
    """Normalize first when the sources changed; that changes the workspace, so it is journaled."""
    from crmtool.normalize.runner import SIGNATURE_KEY, signature

    if ws.scalar("SELECT value FROM meta WHERE key = ?", [SIGNATURE_KEY]) == signature(ws, region):
        return False
    with journaled(ws, "normalize", {"region": region, "by": "profile"}) as counts:
        ensure_normalized(ws, region)
        counts["records_normalized"] = ws.scalar("SELECT count(*) FROM normalized")
    return True


def _print(result: Profile) -> None:
    if not result.total.records:
        console.info("no records loaded yet")
        return
    table = Table("source", "records", "field", "filled", "valid", "fixed", "suggested", "invalid",
                  title="Data quality (valid/fixed/invalid: share of the values present)", title_justify="left")
    for i, p in enumerate([*result.sources, result.total]):
        _rows(table, p, last=i == len(result.sources))
    console.out.print(table)
    reach = Table("source", "records", "no phone and no e-mail", title="Records no one can reach", title_justify="left")
    for p in [*result.sources, result.total]:
        reach.add_row(p.name, f"{p.records:,}", _count_pct(p.no_channel, p.records),
                      style="bold" if p.source_id is None else None)
    console.out.print(reach)
    if result.problems:
        problems = Table("field", "status", "reason", "count", "examples (file:row  original → value)",
                         title="Top problems", title_justify="left")
        for pr in result.problems:
            shown = "\n".join(_example(e) for e in pr.examples)
            problems.add_row(_FIELD_TITLES.get(pr.field, pr.field), pr.status, pr.reason or "", f"{pr.count:,}", shown)
        console.out.print(problems)


def _rows(table: Table, p: SourceProfile, last: bool) -> None:
    for j, (field, fp) in enumerate(p.fields.items()):
        d = fp.as_dict()
        table.add_row(
            p.name if j == 0 else "", f"{p.records:,}" if j == 0 else "", _FIELD_TITLES.get(field, field),
            _pct(d["filled_pct"]), _pct(d["valid_pct"]), _pct(d["fixed_pct"]), _pct(d["suggested_pct"]),
            _pct(d["invalid_pct"]), style="bold" if last else None, end_section=j == len(p.fields) - 1,
        )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _count_pct(n: int, d: int) -> str:
    return f"{n:,} ({100.0 * n / d:.1f}%)" if d else "0"


def _example(e: dict) -> str:
    where = f"{e.get('file', '?')}:{e.get('row', '?')}"
    shown = f"{where}  {e.get('original')!s}"
    if e.get("value") and e.get("value") != e.get("original"):
        shown += f" → {e['value']}"
    if e.get("suggestion"):
        shown += f" (maybe {e['suggestion']})"
    return shown
