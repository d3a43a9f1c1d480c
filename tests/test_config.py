"""crmtool.toml: every table and key good and bad, did-you-mean, globs, secrets refused,
and `crmtool init` writing a file that loads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from builders import write_csv

from crmtool.commands.init import example_config
from crmtool.config import TABLES, load_check_config, load_config, load_run_config
from crmtool.errors import CrmError
from crmtool.match.stage import LOWER, UPPER
from crmtool.merge.survivorship import FAMILIES


def config(tmp_path: Path, text: str, name: str = "crmtool.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(CrmError) as info:
        load_run_config(path)
    assert info.value.exit_code == 2
    return str(info.value)


# --- good ----------------------------------------------------------------------------------------


def test_empty_file_gives_the_defaults(tmp_path):
    cfg = load_run_config(config(tmp_path, ""))
    assert cfg.sources == [] and cfg.out is None and cfg.db is None and cfg.mapping is None
    assert cfg.region == "RU" and cfg.survivorship is None and cfg.push is None
    assert (cfg.match.upper, cfg.match.lower) == (UPPER, LOWER)
    assert cfg.export.targets == [] and (cfg.export.encoding, cfg.export.separator, cfg.export.format) == (
        "utf-8", ";", "csv")


def test_every_key_resolved_relative_to_the_config_file(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("mapping.toml", "roles.toml", "users.csv", "owners.csv"):
        (site / name).write_text("x", encoding="utf-8")
    config(site, """
[run]
sources = ["dumps", "extra/a.csv"]
out = "result"
db = "ws/crm.duckdb"
mapping = "mapping.toml"
region = "kz"

[check]
required_contact = ["Фамилия"]
required_company = "ИНН"
max_invalid = "2%"
max_duplicates = 3
max_no_channel = "10%"

[match]
upper = 0.9
lower = 0.4

[merge]
priority = ["Excel", "1c"]
rule = "recent"
mode = "replace"

[export]
targets = ["Bitrix24", "amocrm", "bitrix24"]
roles = "roles.toml"
users = "users.csv"
encoding = "windows-1251"
separator = "tab"
format = "xlsx"

[push]
target = "amoCRM"
portal = "https://acme.amocrm.ru/"
secret_env = "ACME_AMO_TOKEN"
mode = "skip"
rate = 3
burst = 5
users = "owners.csv"
""")
    monkeypatch.chdir(tmp_path)  # paths follow the config file, not the current folder
    cfg = load_run_config(Path("site/crmtool.toml"))
    assert cfg.sources == [Path("site/dumps"), Path("site/extra/a.csv")]
    assert (cfg.out, cfg.db, cfg.mapping) == (Path("site/result"), Path("site/ws/crm.duckdb"), Path("site/mapping.toml"))
    assert cfg.region == "KZ"
    assert cfg.check.required_contact == ["Фамилия"] and cfg.check.required_company == ["ИНН"]
    assert (cfg.check.max_invalid, cfg.check.max_duplicates, cfg.check.max_no_channel) == ("2%", "3", "10%")
    assert (cfg.match.upper, cfg.match.lower) == (0.9, 0.4)
    assert cfg.survivorship.priority == ("excel", "1c") and cfg.survivorship.rule == "recent"
    assert cfg.survivorship.mode == "replace"
    e = cfg.export
    assert e.targets == ["bitrix24", "amocrm"] and e.roles == Path("site/roles.toml") and e.users == Path("site/users.csv")
    assert (e.encoding, e.separator, e.format) == ("windows-1251", "\t", "xlsx")
    p = cfg.push
    assert (p.target, p.portal, p.secret_env, p.mode, p.rate, p.burst, p.users) == (
        "amocrm", "https://acme.amocrm.ru", "ACME_AMO_TOKEN", "skip", 3.0, 5, Path("site/owners.csv"))
    assert load_config is load_run_config  # the old name still works


def test_push_defaults_follow_the_target(tmp_path):
    cfg = load_run_config(config(tmp_path, '[push]\ntarget = "bitrix24"\n'))
    assert cfg.push.secret_env == "CRMTOOL_BITRIX24_WEBHOOK" and cfg.push.mode == "merge"
    assert cfg.push.rate is None and cfg.push.burst is None and cfg.push.portal is None
    assert load_run_config(config(tmp_path, '[push]\ntarget = "amocrm"\n')).push.secret_env == "CRMTOOL_AMOCRM_TOKEN"


def test_export_options_read_the_users_file(tmp_path):
    write_csv(tmp_path / "users.csv", [["owner", "id"], ["Иванов Иван", "7"]])
    cfg = load_run_config(config(tmp_path, '[export]\nusers = "users.csv"\nseparator = ","\n'))
    options = cfg.export.options()
    assert options.users == {"Иванов Иван": "7"} and options.separator == ","


# --- globs ---------------------------------------------------------------------------------------


def test_source_globs(tmp_path):
    for name in ("dumps/a.csv", "dumps/b.xlsx", "dumps/2024/c.csv", "dumps/2024/old/d.csv", "other/e.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    d = tmp_path / "dumps"
    cases = {
        '"dumps/*.csv"': [d / "a.csv"],
        '"dumps/**/*.csv"': [d / "2024/c.csv", d / "2024/old/d.csv", d / "a.csv"],
        '"dumps/*/*.csv"': [d / "2024/c.csv"],
        '"dumps/*"': [d / "2024", d / "a.csv", d / "b.xlsx"],
        '"dumps/**"': [d],  # the folder itself: it loads what is under it, nothing twice
        '"dumps", "dumps/a.csv", "other/*.csv"': [d, tmp_path / "other/e.csv"],
    }
    for sources, expected in cases.items():
        cfg = load_run_config(config(tmp_path, f"[run]\nsources = [{sources}]\n"))
        assert cfg.sources == expected, sources
        assert cfg.unmatched == []


def test_a_glob_that_matches_nothing_stays_to_be_reported(tmp_path, cli):
    (tmp_path / "dumps").mkdir()
    write_csv(tmp_path / "dumps" / "a.csv", [["ФИО", "E-mail"], ["Иванов Иван", "i@x.ru"]])
    path = config(tmp_path, '[run]\nsources = ["dumps/*.csv", "nightly/*.xlsx"]\nout = "out"\ndb = "ws.duckdb"\n')
    cfg = load_run_config(path)
    assert cfg.unmatched == ["nightly/*.xlsx"]
    assert cfg.sources == [tmp_path / "dumps/a.csv", tmp_path / "nightly/*.xlsx"]
    result = cli("run", "--config", path, "--quiet")
    assert result.code == 2 and "nightly/*.xlsx: no such file or folder" in result.err
    assert (tmp_path / "out" / "contacts.csv").exists()  # the other sources are still processed


# --- bad -----------------------------------------------------------------------------------------

BAD = [
    # [run]
    ('[run]\nsources = 5\n', "[run] sources must be a list of paths or glob patterns, got 5"),
    ('[run]\nout = 3\n', "[run] out must be a path (a string), got 3"),
    ('[run]\ndb = []\n', "[run] db must be a path (a string), got []"),
    ('[run]\nmapping = "nope.toml"\n', '[run] mapping = "nope.toml": '),
    ('[run]\nregion = "Russia"\n', '[run] region must be a two-letter country code such as "RU" or "KZ", got "Russia"'),
    ('[run]\nregion = 7\n', "[run] region must be a string, got 7"),
    ('run = "x"\n', "[run] must be a table"),
    # [check]
    ('[check]\nmax_invalid = "a lot"\n', "[check] max_invalid"),
    ('[check]\nmax_duplicates = true\n', "[check] max_duplicates must be a count or a percentage"),
    ('[check]\nmax_no_channel = "150%"\n', "[check] max_no_channel: a percentage is at most 100%"),
    ('[check]\nrequired_company = 5\n', "[check] required_company must be a list of column names"),
    # [match]
    ('[match]\nupper = "high"\n', '[match] upper must be a number between 0 and 1, got "high"'),
    ('[match]\nupper = 1.5\n', "[match] upper must be a number between 0 and 1, got 1.5"),
    ('[match]\nupper = 1\n', "[match] upper must be a number between 0 and 1, got 1"),
    ('[match]\nlower = 0\n', "[match] lower must be a number between 0 and 1, got 0"),
    ('[match]\nlower = true\n', "[match] lower must be a number between 0 and 1, got true"),
    ('[match]\nupper = 0.6\nlower = 0.6\n', "[match] lower must be below upper (0.6)"),
    ('[match]\nlower = 0.96\n', f"[match] lower must be below the default upper ({UPPER})"),
    # [merge]
    ('[merge]\nrule = "newest"\n', "[merge] survivorship rule 'newest'"),
    ('[merge]\npriority = ["fax"]\n', "[merge] source priority: unknown source kind(s) fax"),
    ('[merge]\nmode = 1\n', "[merge] mode must be a string"),
    # [export]
    ('[export]\ntargets = ["bitrix"]\n', '[export] targets: unknown target "bitrix"'),
    ('[export]\ntargets = 5\n', "[export] targets must be a list of export targets"),
    ('[export]\nroles = "roles.toml"\n', '[export] roles = "roles.toml": '),
    ('[export]\nencoding = "latin1"\n', '[export] encoding must be "utf-8", '),
    ('[export]\nseparator = "::"\n', '[export] separator must be one character: ";", "," or "tab", got "::"'),
    ('[export]\nformat = "xml"\n', '[export] format must be "csv", "xlsx", "parquet" or "jsonl", got "xml"'),
    # [push]
    ('[push]\nmode = "merge"\n', '[push] target is required in a [push] table: "bitrix24" or "amocrm"'),
    ('[push]\ntarget = "amo"\n', '[push] target must be "bitrix24" or "amocrm", got "amo" (did you mean amocrm?)'),
    ('[push]\ntarget = "bitrix24"\nportal = "my portal"\n', "[push] portal must be the portal's address"),
    ('[push]\ntarget = "bitrix24"\nsecret_env = "MY VAR"\n', "[push] secret_env must be the name of an environment variable"),
    ('[push]\ntarget = "bitrix24"\nmode = "replace"\n', '[push] mode must be "merge" or "skip", got "replace"'),
    ('[push]\ntarget = "bitrix24"\nrate = 0\n', "[push] rate must be a number of requests per second above 0, got 0"),
    ('[push]\ntarget = "bitrix24"\nrate = "fast"\n', '[push] rate must be a number of requests per second above 0, got "fast"'),
    ('[push]\ntarget = "bitrix24"\nburst = 1.5\n', "[push] burst must be a whole number of requests of at least 1, got 1.5"),
    ('[push]\ntarget = "bitrix24"\nburst = 0\n', "[push] burst must be a whole number of requests of at least 1, got 0"),
    ('[push]\ntarget = "bitrix24"\nusers = "users.csv"\n', '[push] users = "users.csv": '),
    ('[[push]]\ntarget = "bitrix24"\n', "[push] must be a table"),
    # the file itself
    ('[run\n', "not valid TOML"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[re.sub(r"\W+", "_", t)[:40] for t, _ in BAD])
def test_invalid_settings_name_the_key(tmp_path, text, message):
    path = config(tmp_path, text)
    error = refused(path)
    assert error.startswith(f"{path}: "), error
    assert message in error, error


def test_the_message_of_the_issue(tmp_path):
    path = config(tmp_path, '[match]\nupper = "high"\n')
    assert refused(path) == f'{path}: [match] upper must be a number between 0 and 1, got "high"'


def test_missing_files_say_where_they_were_looked_for(tmp_path):
    (tmp_path / "users.csv").mkdir()
    error = refused(config(tmp_path, '[export]\nusers = "users.csv"\n'))
    assert f"{tmp_path / 'users.csv'} is a folder, expected a file" in error
    error = refused(config(tmp_path, '[run]\nmapping = "m.toml"\n'))
    assert f"{tmp_path / 'm.toml'} not found (paths are relative to the config file)" in error


def test_unknown_tables_and_keys_with_did_you_mean(tmp_path):
    cases = {
        "[mach]\nupper = 0.9\n": "unknown table [mach] (did you mean [match]?); tables: [run], [check]",
        "[exports]\n": "unknown table [exports] (did you mean [export]?)",
        "[cron]\n": "unknown table [cron]; tables:",
        "[match]\nuper = 0.9\n": "[match] unknown setting(s): uper (did you mean upper?); known: upper, lower",
        "[run]\nsource = [\"a\"]\n": "[run] unknown setting(s): source (did you mean sources?)",
        "[run]\nupper = 0.9\n": "[run] unknown setting(s): upper (it belongs in [match])",
        "[push]\ntarget = \"amocrm\"\nrates = 2\n": "[push] unknown setting(s): rates (did you mean rate?)",
        "[export]\ntarget = [\"generic\"]\n": "[export] unknown setting(s): target (did you mean targets?)",
        "[check]\nmax_invalide = 1\n": "[check] unknown setting(s): max_invalide (did you mean max_invalid?)",
        "region = \"RU\"\n": "setting region is outside any table; it belongs in [run]",
        "colour = \"RU\"\n": "setting colour is outside any table",
    }
    for text, message in cases.items():
        assert message in refused(config(tmp_path, text)), text


def test_check_config_alone_reads_only_its_table(tmp_path):
    path = config(tmp_path, '[check]\nmax_invalid = 5\n[match]\nupper = "ignored here"\n')
    assert load_check_config(path).max_invalid == "5"
    assert "[match] upper" in refused(path)


def test_errors_reach_the_command_line_as_one_line(tmp_path, cli):
    path = config(tmp_path, '[run]\nsources = ["dumps"]\n[match]\nlower = 0.99\n')
    result = cli("run", "--config", path)
    assert result.code == 2 and "[match] lower must be below the default upper" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


# --- secrets -------------------------------------------------------------------------------------

WEBHOOK = "https://acme.bitrix24.ru/rest/1/q8w7e6r5t4y3u2i1/"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI0ZjU2In0.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize("text,secret,where", [
    (f'[push]\ntarget = "bitrix24"\nportal = "{WEBHOOK}"\n', "q8w7e6r5t4y3u2i1", "[push] portal is a webhook URL"),
    (f'[push]\ntarget = "bitrix24"\nsecret_env = "{WEBHOOK}"\n', "q8w7e6r5t4y3u2i1", "[push] secret_env is a webhook URL"),
    (f'[push]\ntarget = "amocrm"\nsecret_env = "{JWT}"\n', JWT, "[push] secret_env holds an access token"),
    ('[push]\ntarget = "bitrix24"\nsecret_env = "q8w7e6r5t4y3u2i1"\n', "q8w7e6r5t4y3u2i1",
     "[push] secret_env looks like a token, not a variable name"),
    ('[push]\ntarget = "bitrix24"\nportal = "a1b2c3d4e5f6a7b8c9d0e1f2"\n', "a1b2c3d4e5f6a7b8c9d0e1f2",
     "[push] portal looks like a token"),
    ('[push]\ntarget = "amocrm"\ntoken = "abc"\n', "abc", "[push] token looks like a secret"),
    ('[push]\ntarget = "bitrix24"\nwebhook = "x"\n', None, "[push] webhook looks like a secret"),
    ('[push]\ntarget = "bitrix24"\npassword = "hunter2"\n', "hunter2", "[push] password looks like a secret"),
    ('[push]\ntarget = "amocrm"\nportal = "https://acme.amocrm.ru/?access_token=zzz9"\n', "zzz9",
     "[push] portal holds an access token"),
    (f'[run]\nsources = ["dumps", "{WEBHOOK}"]\n', "q8w7e6r5t4y3u2i1", "[run] sources is a webhook URL"),
    ('[push]\ntarget = "bitrix24"\nportal = "acme.bitrix24.ru/rest/1/q8w7e6r5t4y3u2i1"\n', "q8w7e6r5t4y3u2i1",
     "[push] portal is a webhook URL"),
    (f'webhook = "{WEBHOOK}"\n', "q8w7e6r5t4y3u2i1", "webhook looks like a secret"),
])
def test_secrets_are_refused_without_being_repeated(tmp_path, text, secret, where):
    error = refused(config(tmp_path, text))
    assert where in error, error
    assert "environment variable" in error and "secret_env" in error
    if secret:
        assert secret not in error


def test_variable_names_addresses_and_paths_are_not_mistaken_for_secrets(tmp_path):
    cfg = load_run_config(config(tmp_path, '[run]\nsources = ["exports/rest/2024/clients.csv"]\n'))
    assert cfg.sources == [tmp_path / "exports/rest/2024/clients.csv"]
    for env in ("CRMTOOL_BITRIX24_WEBHOOK", "B24HOOKPRODUCTION2", "amo_token_2024"):
        text = f'[push]\ntarget = "bitrix24"\nsecret_env = "{env}"\nportal = "http://127.0.0.1:8080"\n'
        assert load_run_config(config(tmp_path, text)).push.secret_env == env
    text = '[push]\ntarget = "bitrix24"\nportal = "portal2024.bitrix24.ru"\n'
    assert load_run_config(config(tmp_path, text)).push.portal == "portal2024.bitrix24.ru"


# --- crmtool init --------------------------------------------------------------------------------


def _settings_in(text: str) -> dict[str, set[str]]:
    """Tables and keys the example names, set or commented out."""
    found: dict[str, set[str]] = {}
    table = None
    for line in text.splitlines():
        line = line.removeprefix("# ")
        if m := re.fullmatch(r"\[(\w+)\]", line):
            table = m.group(1)
            found.setdefault(table, set())
        elif (m := re.match(r"(\w+) = ", line)) and table:
            found[table].add(m.group(1))
    return found


def _uncommented(text: str) -> str:
    """The example with every commented-out setting and table switched on."""
    return re.sub(r"^# (\[\w+\]|\w+ = .*)$", r"\1", text, flags=re.M)


def test_init_writes_an_example_that_loads(cli, tmp_path):
    target = tmp_path / "site"
    target.mkdir()
    result = cli("init", target)
    assert result.code == 0 and "wrote" in result.err and "[run] sources" in result.err
    path = target / "crmtool.toml"
    text = path.read_text(encoding="utf-8")
    cfg = load_run_config(path)
    assert cfg.sources == [target / "dumps"] and cfg.db == target / "crm.duckdb" and cfg.out == target / "out"
    assert (cfg.match.upper, cfg.match.lower) == (UPPER, LOWER) and cfg.survivorship.priority == FAMILIES
    assert cfg.push is None
    assert _settings_in(text) == {table: set(keys) for table, keys in TABLES.items()}  # every table and key
    assert all(line.startswith("#") or line.isascii() for line in text.splitlines())  # comments in English


def test_init_example_with_everything_switched_on_loads(cli, tmp_path):
    path = tmp_path / "crmtool.toml"
    assert cli("init", path).code == 0
    for name in ("mapping.toml", "roles.toml", "users.csv"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    path.write_text(_uncommented(path.read_text(encoding="utf-8")), encoding="utf-8")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert {table: set(body) for table, body in data.items()} == {t: set(k) for t, k in TABLES.items()}
    cfg = load_run_config(path)
    assert cfg.mapping == tmp_path / "mapping.toml" and cfg.export.targets == ["bitrix24"]
    assert cfg.push.target == "bitrix24" and cfg.push.secret_env == "CRMTOOL_BITRIX24_WEBHOOK"
    assert (cfg.push.rate, cfg.push.burst) == (2.0, 50) and cfg.check.max_no_channel == "10%"


def test_init_refuses_to_overwrite_without_force(cli, tmp_path):
    path = tmp_path / "crmtool.toml"
    path.write_text("# mine\n", encoding="utf-8")
    result = cli("init", path)
    assert result.code == 2 and "already exists; pass --force" in result.err
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert cli("init", path, "--force").code == 0
    assert path.read_text(encoding="utf-8") == example_config()
    assert [p.name for p in tmp_path.iterdir()] == ["crmtool.toml"]  # no temporary file left


def test_init_default_path_is_here(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("init").code == 0
    assert load_run_config(tmp_path / "crmtool.toml").region == "RU"
