"""crmtool.toml: settings for unattended runs, so cron needs no arguments.

Every table and key is listed in `TABLES`; docs/config.md describes them and
`crmtool init` writes a commented example. Paths are relative to the config
file's folder. An invalid file is refused with one message naming the table and
key (a CrmError, exit 2), and secrets (webhook URLs, tokens) are refused
outright: the file names an environment variable instead.
"""

from __future__ import annotations

import difflib
import glob
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmtool.errors import CrmError
from crmtool.match.stage import LOWER, UPPER

if TYPE_CHECKING:
    from crmtool.export.targets import ExportOptions
    from crmtool.merge.survivorship import Survivorship

# table → its keys, in the order docs/config.md and `crmtool init` show them
TABLES: dict[str, tuple[str, ...]] = {
    "run": ("sources", "out", "db", "mapping", "region"),
    "check": ("required_contact", "required_company", "max_invalid", "max_duplicates", "max_no_channel"),
    "match": ("upper", "lower"),
    "merge": ("priority", "rule", "mode"),
    "export": ("targets", "roles", "users", "encoding", "separator", "format"),
    "push": ("target", "portal", "secret_env", "mode", "rate", "burst", "users"),
}
CHECK_KEYS = set(TABLES["check"])
DEFAULT_REGION = "RU"

# A secret never belongs in the file: keys named like one, Bitrix24 webhook URLs (the code after
# /rest/<user id>/ is the password), JWTs (amoCRM long-lived tokens) and URLs carrying a token.
SECRET_KEY = re.compile(r"secret|token|webhook|password|passwd|api_?key|credential", re.I)
WEBHOOK_URL = re.compile(r"(?:https?://[^\s/]+|\b[\w-]+(?:\.[\w-]+)+)(?:/[^\s]*)?/rest/\d+/[^\s/]+", re.I)
JWT = re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")
TOKEN_IN_URL = re.compile(r"[?&](?:access_token|auth|token|key)=", re.I)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class CheckConfig:
    """The [check] table; None means "not set here" (the command's default applies)."""

    required_contact: list[str] = field(default_factory=list)
    required_company: list[str] = field(default_factory=list)
    max_invalid: str | None = None  # "5" or "1%"; parsed by crmtool.check.report.Threshold
    max_duplicates: str | None = None
    max_no_channel: str | None = None


@dataclass
class MatchConfig:
    """The [match] table: the match probability at or above which a pair merges (`upper`),
    and below which it is a non-match (`lower`); between the two, a pair goes to review."""

    upper: float = UPPER
    lower: float = LOWER


@dataclass
class ExportConfig:
    """The [export] table: targets written after a run, and the options of `crmtool export`."""

    targets: list[str] = field(default_factory=list)
    roles: Path | None = None
    users: Path | None = None
    encoding: str = "utf-8"
    separator: str = ";"
    format: str = "csv"

    def options(self) -> "ExportOptions":
        """ExportOptions for the writers, with the users file read."""
        from crmtool.export.targets import ExportOptions
        from crmtool.export.users import load_users

        return ExportOptions(encoding=self.encoding, separator=self.separator, format=self.format,
                             users=load_users(self.users))


@dataclass
class PushConfig:
    """The [push] table. `secret_env` names the environment variable holding the webhook URL
    or token: the secret itself is never in the file."""

    target: str
    portal: str | None = None
    secret_env: str = ""
    mode: str = "merge"
    rate: float | None = None  # None: the portal's own limit
    burst: int | None = None
    users: Path | None = None


@dataclass
class RunConfig:
    """Everything a crmtool.toml says, resolved: paths are absolute or relative to the caller's
    folder as the config's own path was, globs expanded, defaults filled in."""

    sources: list[Path] = field(default_factory=list)
    out: Path | None = None  # None: not set here (the command's default applies)
    db: Path | None = None
    survivorship: "Survivorship | None" = None  # the [merge] table; None when absent
    mapping: Path | None = None
    region: str = DEFAULT_REGION
    check: CheckConfig = field(default_factory=CheckConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    push: PushConfig | None = None  # None when there is no [push] table
    unmatched: list[str] = field(default_factory=list)  # source patterns that matched no file
    path: Path | None = None  # the config file itself


# --- reading -------------------------------------------------------------------------------------


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text("utf-8-sig"))
    except FileNotFoundError:
        raise CrmError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise CrmError(f"{path}: is a folder, expected a crmtool.toml file") from None
    except UnicodeDecodeError:
        raise CrmError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CrmError(f"{path}: not valid TOML: {exc}") from None


def load_run_config(path: Path) -> RunConfig:
    """Read and check a whole crmtool.toml; a CrmError naming the table and key otherwise."""
    path = Path(path)
    data = _read(path)
    _refuse_secrets(path, data)
    _check_tables(path, data)
    base = path.parent
    run = _Table(path, "run", data.get("run", {}), base)
    sources, unmatched = _sources(run)
    region = run.string("region", DEFAULT_REGION)
    _check_region(run, region)
    cfg = RunConfig(
        sources=sources,
        unmatched=unmatched,
        out=run.path("out", must_exist=False),
        db=run.path("db", must_exist=False),
        mapping=run.path("mapping"),
        region=region.upper(),
        survivorship=_merge_table(path, data),
        check=_check_table(path, data.get("check", {})),
        match=_match_table(_Table(path, "match", data.get("match", {}), base)),
        export=_export_table(_Table(path, "export", data.get("export", {}), base)),
        push=_push_table(_Table(path, "push", data["push"], base)) if "push" in data else None,
        path=path,
    )
    return cfg


# The name tests and `crmtool run` have used since the [run] table came.
load_config = load_run_config


def load_check_config(path: Path) -> CheckConfig:
    """The [check] table of a crmtool.toml; other tables are not looked at."""
    return _check_table(Path(path), _read(Path(path)).get("check", {}))


# --- one table -----------------------------------------------------------------------------------


class _Table:
    """A table of the file with typed getters whose errors name the table and key."""

    def __init__(self, path: Path, name: str, body: Any, base: Path):
        if not isinstance(body, dict):
            raise CrmError(f"{path}: [{name}] must be a table, got {_show(body)}")
        self.file, self.name, self.body, self.base = path, name, body, base

    def fail(self, key: str, what: str, value: Any = ...) -> CrmError:
        got = "" if value is ... else f", got {_show(value)}"
        return CrmError(f"{self.file}: [{self.name}] {key} {what}{got}")

    def string(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str | None:
        value = self.body.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be {_one_of(choices) if choices else 'a string'}", value)
        if choices and value.lower() not in choices:
            raise CrmError(f"{self.file}: [{self.name}] {key} must be {_one_of(choices)}, got {_show(value)}"
                           f"{_did_you_mean(value.lower(), choices)}")
        return value.lower() if choices else value.strip()

    def strings(self, key: str, what: str) -> list[str]:
        value = self.body.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of {what}", value)
        return [v.strip() for v in value]

    def number(self, key: str, what: str, ok, default=None):
        value = self.body.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise self.fail(key, f"must be {what}", value)
        return value

    def path(self, key: str, *, must_exist: bool = True) -> Path | None:
        value = self.body.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a path (a string)", value)
        resolved = self.base / Path(value.strip()).expanduser()
        if must_exist and not resolved.is_file():
            state = "is a folder, expected a file" if resolved.is_dir() else "not found"
            raise self.fail(key, f"= {_show(value)}: {resolved} {state} (paths are relative to the config file)")
        return resolved


def _sources(run: _Table) -> tuple[list[Path], list[str]]:
    """Files, folders and glob patterns (`*`, `**`) relative to the config file. A pattern that
    matches nothing stays in the list as written, so the load reports it as a missing source;
    an entry already inside a listed folder is dropped (the folder loads it)."""
    found: list[Path] = []
    unmatched: list[str] = []
    for pattern in run.strings("sources", "paths or glob patterns"):
        target = run.base / Path(pattern).expanduser()
        if not glob.has_magic(pattern):
            found.append(target)
            continue
        matches = sorted(Path(p) for p in glob.glob(str(target), recursive=True))
        if matches:
            found += matches
        else:
            unmatched.append(pattern)
            found.append(target)
    unique = list(dict.fromkeys(found))
    folders = {p for p in unique if p.is_dir()}
    return [p for p in unique if not any(parent in folders for parent in p.parents)], unmatched


def _check_region(run: _Table, region: str) -> None:
    import phonenumbers

    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise run.fail("region", "must be a two-letter country code such as \"RU\" or \"KZ\"", region)


def _check_table(path: Path, check: Any) -> CheckConfig:
    from crmtool.check.report import Threshold

    if not isinstance(check, dict):
        raise CrmError(f"{path}: [check] must be a table")
    unknown = set(check) - CHECK_KEYS
    if unknown:
        raise CrmError(f"{path}: [check] {_unknown(sorted(unknown), TABLES['check'], 'check')}")
    cfg = CheckConfig()
    for key in ("required_contact", "required_company"):
        value = check.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise CrmError(f"{path}: [check] {key} must be a list of column names")
        setattr(cfg, key, value)
    for key in ("max_invalid", "max_duplicates", "max_no_channel"):
        value = check.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise CrmError(f"{path}: [check] {key} must be a count or a percentage like \"1%\", got {_show(value)}")
        Threshold.parse(value, f"{path}: [check] {key}")
        setattr(cfg, key, str(value))
    return cfg


def _match_table(table: _Table) -> MatchConfig:
    defaults = MatchConfig()
    between = lambda v: 0 < v < 1  # noqa: E731
    upper = table.number("upper", "a number between 0 and 1", between, defaults.upper)
    lower = table.number("lower", "a number between 0 and 1", between, defaults.lower)
    if lower >= upper:
        which = "upper" if "upper" in table.body else "the default upper"
        raise table.fail("lower", f"must be below {which} ({upper}): pairs between the two go to review", lower)
    return MatchConfig(upper=float(upper), lower=float(lower))


def _merge_table(path: Path, data: dict) -> "Survivorship | None":
    """The [merge] table as survivorship rules (None when absent)."""
    from crmtool.merge.survivorship import Survivorship

    table = data.get("merge")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise CrmError(f"{path}: [merge] must be a table")
    unknown = set(table) - set(TABLES["merge"])
    if unknown:
        raise CrmError(f"{path}: [merge] {_unknown(sorted(unknown), TABLES['merge'], 'merge')}")
    priority = table.get("priority", list(Survivorship().priority))
    if not isinstance(priority, list) or not all(isinstance(p, str) for p in priority):
        raise CrmError(f"{path}: [merge] priority must be a list of source kinds")
    for key in ("rule", "mode"):
        if key in table and not isinstance(table[key], str):
            raise CrmError(f"{path}: [merge] {key} must be a string")
    try:
        return Survivorship(priority=tuple(p.lower() for p in priority), rule=table.get("rule", "priority"),
                            mode=table.get("mode", "merge"))
    except CrmError as exc:
        raise CrmError(f"{path}: [merge] {exc}") from None


def _export_table(table: _Table) -> ExportConfig:
    from crmtool.export.targets import ENCODINGS, FORMATS, target_names

    known = tuple(target_names())
    targets = [t.lower() for t in table.strings("targets", f"export targets ({', '.join(known)})")]
    for name in targets:
        if name not in known:
            raise CrmError(f"{table.file}: [export] targets: unknown target {_show(name)}; targets: "
                           f"{', '.join(known)}{_did_you_mean(name, known)}")
    separator = table.body.get("separator", ";")
    if separator in ("tab", "\\t"):
        separator = "\t"
    if not isinstance(separator, str) or len(separator) != 1:
        raise table.fail("separator", "must be one character: \";\", \",\" or \"tab\"", separator)
    return ExportConfig(
        targets=list(dict.fromkeys(targets)),
        roles=table.path("roles"),
        users=table.path("users"),
        encoding=table.string("encoding", "utf-8", tuple(ENCODINGS)),
        separator=separator,
        format=table.string("format", "csv", FORMATS),
    )


def _push_table(table: _Table) -> PushConfig:
    from crmtool.push.runner import MODES
    from crmtool.push.secrets import ENV_NAMES
    from crmtool.push.targets import TARGETS

    if "target" not in table.body:
        raise table.fail("target", f"is required in a [push] table: {_one_of(TARGETS)}")
    target = table.string("target", None, TARGETS)
    secret_env = table.string("secret_env", ENV_NAMES[target])
    if not ENV_NAME.fullmatch(secret_env):  # the value is not quoted back: it may be a secret
        raise table.fail("secret_env", "must be the name of an environment variable (letters, digits and _), "
                                       f"like {ENV_NAMES[target]}; the secret itself goes into that variable")
    return PushConfig(
        target=target,
        portal=_portal(table),
        secret_env=secret_env,
        mode=table.string("mode", "merge", MODES),
        rate=_float(table.number("rate", "a number of requests per second above 0", lambda v: v > 0)),
        burst=table.number("burst", "a whole number of requests of at least 1",
                           lambda v: isinstance(v, int) and v >= 1),
        users=table.path("users"),
    )


def _portal(table: _Table) -> str | None:
    portal = table.string("portal")
    if portal is None:
        return None
    if not re.fullmatch(r"(https?://)?[\w.-]+(:\d+)?/?", portal):
        raise table.fail("portal", "must be the portal's address, like \"https://example.bitrix24.ru\"", portal)
    return portal.rstrip("/")


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- whole-file checks ---------------------------------------------------------------------------


def _check_tables(path: Path, data: dict) -> None:
    """Unknown tables and keys are errors, with the nearest known name when there is one."""
    for name, body in data.items():
        if name not in TABLES:
            if not isinstance(body, dict):
                home = [t for t, keys in TABLES.items() if name in keys]
                where = f"; it belongs in {' or '.join(f'[{t}]' for t in home)}" if home else ""
                raise CrmError(f"{path}: setting {name} is outside any table{where}")
            raise CrmError(f"{path}: unknown table [{name}]{_did_you_mean(name, tuple(TABLES), '[', ']')}; "
                           f"tables: {', '.join(f'[{t}]' for t in TABLES)}")
        if not isinstance(body, dict):
            raise CrmError(f"{path}: [{name}] must be a table, got {_show(body)}")
        unknown = [key for key in body if key not in TABLES[name]]
        if unknown:
            raise CrmError(f"{path}: [{name}] {_unknown(unknown, TABLES[name], name)}")


def _refuse_secrets(path: Path, data: dict) -> None:
    """A webhook URL, a token or a key named like a secret anywhere in the file is refused
    (without quoting it): the file is copied, backed up and committed; secrets live in the
    environment, named by [push] secret_env."""
    advice = ("keep secrets out of crmtool.toml: put it in an environment variable and name the variable "
              "in [push] secret_env (e.g. secret_env = \"CRMTOOL_BITRIX24_WEBHOOK\")")
    for where, key, value in _leaves(data):
        if key != "secret_env" and SECRET_KEY.search(key):
            raise CrmError(f"{path}: {where} looks like a secret; {advice}")
        if not isinstance(value, str):
            continue
        if WEBHOOK_URL.search(value):
            raise CrmError(f"{path}: {where} is a webhook URL with its secret code (/rest/<user>/<code>); {advice}")
        if JWT.search(value) or TOKEN_IN_URL.search(value):
            raise CrmError(f"{path}: {where} holds an access token; {advice}")
        if key in ("secret_env", "portal") and _looks_like_token(value):
            what = "a variable name" if key == "secret_env" else "an address"
            raise CrmError(f"{path}: {where} looks like a token, not {what}; {advice}")


def _leaves(data: dict, where: str = ""):
    """(where, key, value) for every value of the file, lists and nested tables included."""
    for key, value in data.items():
        here = f"{where} {key}".strip() if where else (f"[{key}]" if isinstance(value, dict) else key)
        if isinstance(value, dict):
            yield here, str(key), None
            yield from _leaves(value, here)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from _leaves(item, here)
                else:
                    yield here, str(key), item
        else:
            yield here, str(key), value


def _looks_like_token(value: str) -> bool:
    """A long run of lowercase letters and digits with no word structure: a Bitrix24 webhook
    code is 16 characters, OAuth tokens 32 and more; variable names have underscores, capitals
    or are short, host names have dots between words."""
    text = value.strip()
    if "_" in text or len(text) < 16 or not re.fullmatch(r"[\w.~+/=-]+", text):
        return False
    return (bool(re.search(r"\d", text)) and bool(re.search(r"[a-z]", text))
            and not re.search(r"[.]\w+\.\w", text))


# --- messages ------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as TOML would write it: "high", 1.5, true, ["a"]."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _one_of(choices: tuple[str, ...]) -> str:
    quoted = [f'"{c}"' for c in choices]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _did_you_mean(word: str, choices: tuple[str, ...], before: str = "", after: str = "") -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {before}{close[0]}{after}?)" if close else ""


def _unknown(keys: list[str], known: tuple[str, ...], table: str) -> str:
    """`unknown setting(s): a (did you mean b?)`, or where the key belongs instead."""
    parts = []
    for key in keys:
        hint = _did_you_mean(key, known)
        if not hint:
            home = [t for t, names in TABLES.items() if key in names and t != table]
            hint = f" (it belongs in {' or '.join(f'[{t}]' for t in home)})" if home else ""
        parts.append(f"{key}{hint}")
    return f"unknown setting(s): {', '.join(parts)}; known: {', '.join(known)}"
