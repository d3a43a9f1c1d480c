"""Webhook URLs and tokens: from an environment variable or a file outside the workspace.

A secret must never reach the workspace, the journal, a log or a report: callers keep
it in memory only, identify the portal by its host, and pass every message that may
quote a URL through `redact`.
"""

from __future__ import annotations

import os
from pathlib import Path

from crmtool.errors import CrmError

ENV_NAMES = {"bitrix24": "CRMTOOL_BITRIX24_WEBHOOK", "amocrm": "CRMTOOL_AMOCRM_TOKEN"}


def read_secret(target: str, *, env: str | None, file: Path | None, workspace: Path) -> str:
    """The secret for `target`: the file's first non-blank line when --secret-file is given,
    else the environment variable `env` (default per target). A file inside the workspace's
    folder is refused, so a secret never travels with the workspace."""
    if file is not None:
        folder = Path(workspace).resolve().parent
        where = Path(file).resolve()
        if where.is_relative_to(folder):
            raise CrmError(f"{file}: the secret file is inside the workspace folder {folder}; keep it elsewhere "
                           f"(or use the {env or ENV_NAMES[target]} environment variable)")
        try:
            lines = [line.strip() for line in where.read_text(encoding="utf-8-sig").splitlines()]
        except OSError as exc:
            raise CrmError(f"{file}: cannot read the secret file ({exc.strerror})") from None
        value = next((line for line in lines if line and not line.startswith("#")), "")
        if not value:
            raise CrmError(f"{file}: the secret file is empty")
        return value
    name = env or ENV_NAMES[target]
    value = os.environ.get(name, "").strip()
    if not value:
        raise CrmError(f"no credentials for {target}: set the {name} environment variable "
                       f"(or --secret-env NAME, --secret-file FILE)")
    return value


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret (and the path part of a webhook URL) replaced by ***."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        if "/rest/" in secret:
            code = secret.rstrip("/").rsplit("/", 1)[-1]   # the webhook's secret part
            if code:
                text = text.replace(code, "***")
    return text
