"""`crmtool export`: golden records to files a CRM imports, optionally one folder per role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmtool import console
from crmtool.errors import CrmError
from crmtool.export.data import load_export_data
from crmtool.export.targets import FORMATS, ExportOptions, target_names, writer_for
from crmtool.options import DEFAULT_DB_PATH, Db, Json, Quiet
from crmtool.workspace import Workspace, journaled


def export(
    targets: Annotated[list[str], typer.Option(
        "--target", "-t", help="bitrix24, amocrm, generic, vcard, crosswalk, mailing; repeat for several.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into (created if missing).", file_okay=False)],
    fmt: Annotated[str, typer.Option("--format", help=f"generic / amocrm file format: {', '.join(FORMATS)}.")] = "csv",
    encoding: Annotated[str, typer.Option("--encoding", help="CSV encoding: utf-8 or windows-1251.")] = "utf-8",
    separator: Annotated[str, typer.Option("--sep", help="CSV separator: ';' (default) or ','.")] = ";",
    users: Annotated[Optional[Path], typer.Option(
        "--users", help="CSV mapping owners as the sources write them to CRM user ids (columns: owner, id).",
        exists=True, dir_okay=False)] = None,
    roles: Annotated[Optional[Path], typer.Option(
        "--roles", help="roles.toml: one folder per role, with only the records and fields it may see.",
        exists=True, dir_okay=False)] = None,
    db: Db = DEFAULT_DB_PATH,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Write golden contacts and companies for a CRM (Bitrix24, amoCRM) or as plain files.

    Every target is written whole to a temporary name, then renamed. With --roles each
    role gets its own folder under --out holding only what its filter and fields allow.
    """
    console.set_quiet(quiet or as_json)
    wanted = list(dict.fromkeys(t.lower() for t in targets))
    known = target_names()
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise CrmError(f"unknown export target(s) {', '.join(unknown)}; targets: {', '.join(known)}")
    from crmtool.export.users import load_users

    options = ExportOptions(encoding=encoding, separator="\t" if separator in ("\\t", "tab") else separator,
                            format=fmt.lower(), users=load_users(users))
    args = {"targets": wanted, "out": str(out), "format": options.format, "encoding": encoding,
            "roles": str(roles) if roles else None}
    with Workspace.open(db, create=False) as ws, journaled(ws, "export", args) as counts:
        data = load_export_data(ws)
        written = write_targets(data, wanted, out, options, roles)
        counts.update(files=len(written), contacts=data.contacts.height, companies=data.companies.height)
    if as_json:
        console.out.print_json(json.dumps({**counts, "written": [str(p) for p in written]}, ensure_ascii=False))
    else:
        for path in written:
            console.info(f"wrote {path}")


def write_targets(data, targets: list[str], out: Path, options: ExportOptions, roles: Path | None = None) -> list[Path]:
    """Every target into `out`, or into `out/<role>/` for each role that may export."""
    if roles is None:
        return [p for t in targets for p in writer_for(t)(data, out, options)]
    from crmtool.export.roles import load_roles, partition

    written = []
    for role in load_roles(roles):
        part = partition(data, role)
        folder = out / role.name
        if part is None:
            console.info(f"role {role.name}: may not export, nothing written")
            if folder.exists():
                console.warn(f"role {role.name} may not export, but {folder} is there from an earlier export;"
                             " remove it if it should not be shared")
            continue
        console.info(f"role {role.name}: {part.contacts.height} contacts, {part.companies.height} companies → {folder}")
        written += [p for t in targets for p in writer_for(t)(part, folder, options)]
    return written
