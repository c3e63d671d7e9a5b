from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from audit.config.loader import (
    AuditConfig,
    ConfigError,
    CrawlConfig,
    SiteConfig,
    UserConfig,
    is_loopback_host,
    load_config,
)
from audit.config.secrets import REGISTRY, Secret
from audit.model import AuthMethod, Mode, Operation

ENV = {
    "BOT_KEY": "botkey000111", "BOT_SECRET": "botsecret222333", "OPS_PASSWORD": "opspass444",
    "TOKEN": "bearer555666", "REFRESH": "refresh777888", "URL": "https://erp.example.com",
}

SITE = '[site]\nurl = "https://erp.example.com"\n'
TOKEN_USER = '[[users]]\nname = "bot"\nauth = "token"\napi_key = "${BOT_KEY}"\n' \
             'api_secret = "${BOT_SECRET}"\n'


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str, name: str = "audit.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None,
         warnings: list[str] | None = None) -> AuditConfig:
    sink = warnings if warnings is not None else []
    return load_config(write(tmp_path, text), env=ENV if env is None else env, warn=sink.append)


FULL = """
[site]
url = "https://erp.example.com/"
verify_tls = false
timeout = 12.5
host = "erp.example.com"

[crawl]
mode = "passive"
concurrency = 8
rate_limit = 5
doctypes = ["Sales Invoice", "Customer"]
exclude = ["ToDo"]
ask_only = ["Payment Entry"]

[auditor]
auth = "token"
api_key = "${BOT_KEY}"
api_secret = "${BOT_SECRET}"

[[users]]
name = "integration-bot"
auth = "token"
api_key = "${BOT_KEY}"
api_secret = "${BOT_SECRET}"
expect = { "Sales Invoice" = ["read", "create"], "Customer" = ["read"] }

[[users]]
name = "ops-desk"
auth = "password"
username = "ops@example.com"
password = "${OPS_PASSWORD}"

[[users]]
name = "partner-app"
auth = "oauth"
access_token = "${TOKEN}"
refresh_token = "${REFRESH}"
client_id = "a1b2c3"

[[users]]
name = "legacy-script"
auth = "basic"
api_key = "${BOT_KEY}"
api_secret = "${BOT_SECRET}"
"""


def test_full_config(tmp_path: Path) -> None:
    warnings: list[str] = []
    cfg = load(tmp_path, FULL, warnings=warnings)
    assert warnings == []
    assert cfg.site == SiteConfig(url="https://erp.example.com", verify_tls=False, timeout=12.5,
                                  host="erp.example.com")
    assert cfg.crawl == CrawlConfig(mode=Mode.PASSIVE, allow_active=False, concurrency=8,
                                    rate_limit=5.0, doctypes=("Sales Invoice", "Customer"),
                                    exclude=("ToDo",), ask_only=("Payment Entry",))
    assert [u.name for u in cfg.users] == ["integration-bot", "ops-desk", "partner-app",
                                           "legacy-script"]
    assert cfg.auditor is not None and cfg.auditor.name == "auditor"
    bot = cfg.user("integration-bot")
    assert bot.auth is AuthMethod.TOKEN
    assert bot.api_secret == Secret("botsecret222333")
    assert bot.api_secret is not None and bot.api_secret.source == "users[0].api_secret"
    assert bot.expect == {"Sales Invoice": frozenset({Operation.READ, Operation.CREATE}),
                          "Customer": frozenset({Operation.READ})}
    ops = cfg.user("ops-desk")
    assert ops.username == "ops@example.com" and ops.login_name == "ops@example.com"
    oauth = cfg.user("partner-app")
    assert oauth.client_id == "a1b2c3" and oauth.refresh_token == Secret("refresh777888")
    assert cfg.path == tmp_path / "audit.toml"
    # secrets never show in the dataclass repr and are registered for masking
    assert "botsecret222333" not in repr(cfg)
    assert REGISTRY.mask("opspass444") == "***"


def test_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + TOKEN_USER)
    assert cfg.site == SiteConfig(url="https://erp.example.com", verify_tls=True, timeout=30.0,
                                  host=None)
    assert cfg.crawl == CrawlConfig(mode=Mode.SAFE, allow_active=False, concurrency=4,
                                    rate_limit="auto", doctypes=("*",), exclude=(), ask_only=())
    assert cfg.auditor is None
    assert cfg.users[0].expect is None


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + TOKEN_USER)
    with pytest.raises(AttributeError):
        cfg.site.url = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.users[0].expect = None  # type: ignore[misc]


def test_expect_mapping_is_read_only(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + TOKEN_USER + 'expect = { "ToDo" = ["read"] }\n')
    expect = cfg.users[0].expect
    assert expect is not None
    with pytest.raises(TypeError):
        expect["Other"] = frozenset()  # type: ignore[index]


def test_auth_defaults_to_token(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + '[[users]]\nname = "x"\napi_key = "${BOT_KEY}"\n'
                               'api_secret = "${BOT_SECRET}"\n')
    assert cfg.users[0].auth is AuthMethod.TOKEN


def test_literal_secret_warns_once_per_key(tmp_path: Path) -> None:
    warnings: list[str] = []
    cfg = load(tmp_path, SITE + '[[users]]\nname = "x"\napi_key = "plainkey"\n'
                               'api_secret = "plainsecret1"\n', warnings=warnings)
    path = tmp_path / "audit.toml"
    assert warnings == [f"{path}: users[0].api_secret holds a literal secret; use ${{VAR}}"]
    assert cfg.users[0].api_secret == Secret("plainsecret1")


def test_variable_inside_text(tmp_path: Path) -> None:
    cfg = load(tmp_path, '[site]\nurl = "${URL}/"\n' + TOKEN_USER.replace(
        '"${BOT_SECRET}"', '"pre-${BOT_SECRET}-post"'))
    assert cfg.site.url == "https://erp.example.com"
    assert cfg.users[0].api_secret == Secret("pre-botsecret222333-post")


def test_unused_credentials_warn(tmp_path: Path) -> None:
    warnings: list[str] = []
    load(tmp_path, SITE + TOKEN_USER + 'password = "${OPS_PASSWORD}"\n', warnings=warnings)
    assert warnings == [f'{tmp_path / "audit.toml"}: users[0].password is not used with '
                        'auth = "token"']


def test_verify_tls_bundle_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    cfg = load(tmp_path, SITE + 'verify_tls = "ca.pem"\n' + TOKEN_USER)
    assert cfg.site.verify_tls == str(tmp_path / "ca.pem")


def test_active_mode_with_permission(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + '[crawl]\nmode = "active"\nallow_active = true\n' + TOKEN_USER)
    assert cfg.crawl.mode is Mode.ACTIVE and cfg.crawl.allow_active


def test_oauth_refresh_only(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + '[[users]]\nname = "o"\nauth = "oauth"\n'
                               'refresh_token = "${REFRESH}"\nclient_id = "c1"\n')
    assert cfg.users[0].access_token is None


def test_basic_with_email_is_recorded_not_refused(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + '[[users]]\nname = "b"\nauth = "basic"\n'
                               'api_key = "clerk@example.com"\napi_secret = "${OPS_PASSWORD}"\n')
    assert cfg.users[0].basic_with_email
    assert not load(tmp_path, FULL).user("legacy-script").basic_with_email


def test_user_lookup_error(tmp_path: Path) -> None:
    cfg = load(tmp_path, SITE + TOKEN_USER)
    with pytest.raises(ConfigError) as info:
        cfg.user("nobody")
    assert str(info.value) == f"{tmp_path / 'audit.toml'}: users: no user named 'nobody' " \
                              "(configured: bot)"


# -- errors: (document, key, reason fragment) ---------------------------------------------
U = "[[users]]\n"
BAD: list[tuple[str, str, str, str]] = [
    ("unknown top key", SITE + TOKEN_USER + "[extra]\n", "extra", "unknown key"),
    ("unknown site key", SITE + "port = 1\n" + TOKEN_USER, "site.port", "unknown key"),
    ("unknown crawl key", SITE + "[crawl]\nspeed = 1\n" + TOKEN_USER, "crawl.speed",
     "unknown key"),
    ("unknown user key", SITE + TOKEN_USER + "role = 1\n", "users[0].role", "unknown key"),
    ("expect on auditor", SITE + '[auditor]\napi_key = "${BOT_KEY}"\napi_secret = "${BOT_KEY}"\n'
     'expect = {}\n' + TOKEN_USER, "auditor.expect", "unknown key"),
    ("no site", TOKEN_USER, "site", "missing"),
    ("no url", "[site]\ntimeout = 3\n" + TOKEN_USER, "site.url", "missing"),
    ("site not table", 'site = "x"\n' + TOKEN_USER, "site", "expected a table"),
    ("ftp url", '[site]\nurl = "ftp://erp.example.com"\n' + TOKEN_USER, "site.url",
     "must start with http:// or https://"),
    ("no scheme", '[site]\nurl = "erp.example.com"\n' + TOKEN_USER, "site.url", "must start"),
    ("no host", '[site]\nurl = "https://"\n' + TOKEN_USER, "site.url", "names no host"),
    ("creds in url", '[site]\nurl = "https://u:p@erp.example.com"\n' + TOKEN_USER, "site.url",
     "credentials do not belong"),
    ("query in url", '[site]\nurl = "https://erp.example.com/?a=1"\n' + TOKEN_USER, "site.url",
     "query"),
    ("bad port", '[site]\nurl = "https://erp.example.com:99999"\n' + TOKEN_USER, "site.url",
     "invalid port"),
    ("url wrong type", "[site]\nurl = 5\n" + TOKEN_USER, "site.url", "expected a string"),
    ("timeout string", SITE + 'timeout = "30"\n' + TOKEN_USER, "site.timeout",
     "expected a number"),
    ("timeout bool", SITE + "timeout = true\n" + TOKEN_USER, "site.timeout", "expected a number"),
    ("timeout zero", SITE + "timeout = 0\n" + TOKEN_USER, "site.timeout", "more than 0"),
    ("verify_tls number", SITE + "verify_tls = 1\n" + TOKEN_USER, "site.verify_tls",
     "CA bundle path"),
    ("verify_tls missing file", SITE + 'verify_tls = "nope.pem"\n' + TOKEN_USER,
     "site.verify_tls", "does not exist"),
    ("host with scheme", SITE + 'host = "https://x"\n' + TOKEN_USER, "site.host",
     "not a host name"),
    ("mode unknown", SITE + '[crawl]\nmode = "loud"\n' + TOKEN_USER, "crawl.mode",
     "unknown mode 'loud' (expected passive, safe, active)"),
    ("active refused", SITE + '[crawl]\nmode = "active"\n' + TOKEN_USER, "crawl.mode",
     "allow_active = true"),
    ("allow_active string", SITE + '[crawl]\nallow_active = "yes"\n' + TOKEN_USER,
     "crawl.allow_active", "expected true or false"),
    ("concurrency 0", SITE + "[crawl]\nconcurrency = 0\n" + TOKEN_USER, "crawl.concurrency",
     "between 1 and 64"),
    ("concurrency 65", SITE + "[crawl]\nconcurrency = 65\n" + TOKEN_USER, "crawl.concurrency",
     "between 1 and 64"),
    ("concurrency float", SITE + "[crawl]\nconcurrency = 2.5\n" + TOKEN_USER,
     "crawl.concurrency", "whole number"),
    ("rate 0", SITE + "[crawl]\nrate_limit = 0\n" + TOKEN_USER, "crawl.rate_limit",
     "at least 0.001"),
    ("rate negative", SITE + "[crawl]\nrate_limit = -1.5\n" + TOKEN_USER, "crawl.rate_limit",
     "at least 0.001"),
    ("rate word", SITE + '[crawl]\nrate_limit = "fast"\n' + TOKEN_USER, "crawl.rate_limit",
     'expected "auto" or a number'),
    ("doctypes string", SITE + '[crawl]\ndoctypes = "*"\n' + TOKEN_USER, "crawl.doctypes",
     "list of DocType names"),
    ("doctypes empty", SITE + "[crawl]\ndoctypes = []\n" + TOKEN_USER, "crawl.doctypes",
     "at least one"),
    ("doctype item number", SITE + "[crawl]\nexclude = [1]\n" + TOKEN_USER,
     "crawl.exclude[0]", "expected a string"),
    ("no users", SITE, "users", "missing"),
    ("users table", SITE + '[users]\nname = "x"\n', "users", "array of tables"),
    ("users empty", "users = []\n" + SITE, "users", "empty"),
    ("user not table", 'users = ["x"]\n' + SITE, "users[0]", "expected a table"),
    ("no name", SITE + U + 'api_key = "${BOT_KEY}"\napi_secret = "${BOT_SECRET}"\n',
     "users[0].name", "missing"),
    ("name with comma", SITE + TOKEN_USER.replace('"bot"', '"a,b"'), "users[0].name",
     "commas"),
    ("duplicate names", SITE + TOKEN_USER + TOKEN_USER, "users[1].name",
     "duplicate user name 'bot' (also users[0])"),
    ("unknown auth", SITE + TOKEN_USER.replace('"token"', '"jwt"'), "users[0].auth",
     "unknown auth method 'jwt' (expected token, basic, password, oauth)"),
    ("token without secret", SITE + U + 'name = "x"\napi_key = "${BOT_KEY}"\n',
     "users[0].api_secret", 'auth = "token" needs api_key and api_secret'),
    ("basic without key", SITE + U + 'name = "x"\nauth = "basic"\napi_secret = "${BOT_KEY}"\n',
     "users[0].api_key", "needs api_key and api_secret"),
    ("password without password", SITE + U + 'name = "x"\nauth = "password"\nusername = "a@b"\n',
     "users[0].password", "needs username and password"),
    ("password without username", SITE + U + 'name = "x"\nauth = "password"\n'
     'password = "${OPS_PASSWORD}"\n', "users[0].username", "needs username and password"),
    ("oauth nothing", SITE + U + 'name = "x"\nauth = "oauth"\n', "users[0].access_token",
     "needs access_token, or refresh_token and client_id"),
    ("oauth refresh without client", SITE + U + 'name = "x"\nauth = "oauth"\n'
     'refresh_token = "${REFRESH}"\n', "users[0].client_id", "refresh_token and client_id"),
    ("secret not string", SITE + U + 'name = "x"\napi_key = 5\napi_secret = "${BOT_KEY}"\n',
     "users[0].api_key", "expected a string"),
    ("missing variable", SITE + TOKEN_USER.replace("BOT_SECRET", "NOPE_SECRET"),
     "users[0].api_secret", "environment variable NOPE_SECRET is not set"),
    ("malformed variable", SITE + TOKEN_USER.replace("${BOT_SECRET}", "${BOT_SECRET"),
     "users[0].api_secret", "malformed variable reference"),
    ("empty literal", SITE + TOKEN_USER.replace('"${BOT_SECRET}"', '""'),
     "users[0].api_secret", "must not be empty"),
    ("expect not table", SITE + TOKEN_USER + 'expect = ["read"]\n', "users[0].expect",
     "expected a table of DocType = [ops]"),
    ("expect value string", SITE + TOKEN_USER + 'expect = { "Sales Invoice" = "read" }\n',
     'users[0].expect."Sales Invoice"', "expected a list of ops"),
    ("expect nested table", SITE + TOKEN_USER + "expect = { ToDo = { read = true } }\n",
     "users[0].expect.ToDo", "expected a list of ops"),
    ("expect unknown op", SITE + TOKEN_USER + 'expect = { ToDo = ["read", "print"] }\n',
     "users[0].expect.ToDo[1]", "unknown op 'print' (expected read, write, create, delete, "
     "submit, cancel)"),
    ("expect op number", SITE + TOKEN_USER + "expect = { ToDo = [1] }\n",
     "users[0].expect.ToDo[0]", "expected an op name"),
    ("expect empty doctype", SITE + TOKEN_USER + 'expect = { "" = ["read"] }\n',
     'users[0].expect.""', "must not be empty"),
]


@pytest.mark.parametrize(("label", "document", "key", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_config(tmp_path: Path, label: str, document: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, document)
    err = info.value
    path = str(tmp_path / "audit.toml")
    assert err.file == path
    assert err.key == key, str(err)
    assert reason in err.reason, str(err)
    assert str(err) == f"{path}: {key}: {err.reason}"
    assert "\n" not in str(err)
    for secret in ENV.values():
        assert secret not in str(err) or secret == ENV["URL"]


def test_empty_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, SITE + TOKEN_USER, env={**ENV, "BOT_SECRET": ""})
    assert info.value.key == "users[0].api_secret"
    assert "BOT_SECRET is empty" in info.value.reason


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, SITE + TOKEN_USER + "name = \n")
    assert "TOML syntax error" in str(info.value)
    assert "line 8" in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.toml", env=ENV)
    assert str(info.value).startswith(f"{tmp_path / 'missing.toml'}: cannot read the file: ")
    assert info.value.key == ""


def test_not_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_bytes(b"\xff\xfe[site]")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert "cannot read the file" in str(info.value)


# -- no file: the environment describes one token user ------------------------------------
def test_environment_only() -> None:
    env = {"ERPNEXT_URL": "https://erp.example.com/", "ERPNEXT_API_KEY": "envkey123",
           "ERPNEXT_API_SECRET": "envsecret456"}
    cfg = load_config(None, env=env)
    assert cfg.path is None
    assert cfg.site.url == "https://erp.example.com"
    assert cfg.users == (UserConfig(name="default", auth=AuthMethod.TOKEN,
                                    api_key=Secret("envkey123"),
                                    api_secret=Secret("envsecret456")),)
    assert cfg.user("default").api_key == Secret("envkey123")
    assert cfg.crawl == CrawlConfig()
    assert REGISTRY.mask("envsecret456") == "***"


@pytest.mark.parametrize("missing", ["ERPNEXT_URL", "ERPNEXT_API_KEY", "ERPNEXT_API_SECRET"])
def test_environment_missing(missing: str) -> None:
    env = {"ERPNEXT_URL": "https://erp.example.com", "ERPNEXT_API_KEY": "k",
           "ERPNEXT_API_SECRET": "s"}
    del env[missing]
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert info.value.key == missing
    assert str(info.value).startswith(f"environment: {missing}: not set")


def test_environment_bad_url() -> None:
    env = {"ERPNEXT_URL": "erp.example.com", "ERPNEXT_API_KEY": "k", "ERPNEXT_API_SECRET": "s"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert info.value.key == "ERPNEXT_URL"


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("audit.localhost", True), ("erp.example.com", False),
    ("10.0.0.1", False), ("localhost.example.com", False),
])
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


# -- the command line: a config error is exit 2 and one line on stderr ---------------------
def test_cli_config_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:


    monkeypatch.setenv("BOT_KEY", "k1")
    path = write(tmp_path, SITE + TOKEN_USER.replace('"token"', '"jwt"'))
    line, output = _check_auth_error(path)
    assert f"{path}: users[0].auth: unknown auth method 'jwt'" in line
    assert "Traceback" not in output


def test_email_api_key_is_not_masked(tmp_path: Path) -> None:
    load(tmp_path, SITE + '[[users]]\nname = "b"\nauth = "basic"\n'
                          'api_key = "mailuser@example.com"\napi_secret = "${OPS_PASSWORD}"\n')
    assert REGISTRY.mask("as mailuser@example.com") == "as mailuser@example.com"
    assert REGISTRY.mask("opspass444") == "***"


# -- a URL in an error: scheme and host at most, never what could be a credential ----------
HOSTILE_URLS = [
    "htps://admin:Sup3r/Secret@erp.example.com",
    "ftp://bob:pa/ss99@h",
    "https://admin:Sup3r/Secret@erp.example.com",
    "https://admin:Sup3r?Secret@erp.example.com",
    "https://admin:Sup3r#Secret@erp.example.com",
    "https://admin:Sup3r@Secret@erp.example.com",
    "https://admin:Sup3r:Secret@erp.example.com",
    "https://admin:Sup3r%2FSecret@erp.example.com",
    "https://admin%40corp:Sup3rSecret@erp.example.com",
    "https://admin:Sup3rSecret@[::1]:8000",
    "https://[::1]:8000/?token=Sup3rSecret",
    "https://erp.example.com/#Sup3rSecret",
    "https://erp.example.com:Sup3rSecret",
    "https://admin:Sup3rSecret",
    "https://admin:Sup3r\\Secret@erp.example.com",
    "admin:Sup3rSecret@erp.example.com",
    "//admin:Sup3rSecret@erp.example.com",
    "Sup3rSecret",
    "https://Sup3rSecret\x1b[0m@erp.example.com",
    "https:// admin:Sup3rSecret@erp.example.com",
]


def _fragments(url: str) -> list[str]:
    return ["Sup3r", "Secret", "pa/ss", "ss99", "bob", "admin"] if "@" in url else ["Sup3r"]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_url_error_never_shows_credentials(tmp_path: Path, url: str) -> None:
    documents = [('[site]\nurl = "${URL}"\n' + TOKEN_USER, {**ENV, "URL": url})]
    if url.isprintable():  # a TOML string holds no control character
        documents.append(("[site]\nurl = '''" + url + "'''\n" + TOKEN_USER, ENV))
    for document, env in documents:
        with pytest.raises(ConfigError) as info:
            load(tmp_path, document, env=env)
        assert info.value.key == "site.url"
        for fragment in _fragments(url):
            assert fragment not in str(info.value), str(info.value)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_environment_url_error_never_shows_credentials(url: str) -> None:
    env = {"ERPNEXT_URL": url, "ERPNEXT_API_KEY": "k", "ERPNEXT_API_SECRET": "s"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert info.value.key == "ERPNEXT_URL"
    for fragment in _fragments(url):
        assert fragment not in str(info.value), str(info.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("ftp://erp.example.com/x?y", "URL 'ftp://erp.example.com' must start with http"),
    ("https://erp.example.com:99999/app", "URL 'https://erp.example.com' has an invalid port"),
    ("https://[::1]:99999", "URL 'https://[::1]' has an invalid port"),
    ("https://erp.example.com/?token=abc", "URL 'https://erp.example.com' must not carry"),
    ("https://", "the URL names no host"),
    ("erp.example.com", "the URL must start with http"),
])
def test_url_error_shows_scheme_and_host_when_safe(url: str, shown: str) -> None:
    env = {"ERPNEXT_URL": url, "ERPNEXT_API_KEY": "k", "ERPNEXT_API_SECRET": "s"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert shown in str(info.value)


@pytest.mark.parametrize("url", ["https://[::1", "https://erp[.example.com", "https://[x]y"])
def test_unparsable_url_is_a_config_error(url: str) -> None:
    env = {"ERPNEXT_URL": url, "ERPNEXT_API_KEY": "k", "ERPNEXT_API_SECRET": "s"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert info.value.key == "ERPNEXT_URL"


# -- a secret's value is never quoted, not even the name of a variable inside it -----------
FRAGMENT = "Qx7Lm2Vz"  # distinctive: in no key name, message or path
MALFORMED_SECRETS = [  # (TOML value, what of it must never appear)
    (f"'{FRAGMENT}${{'", [FRAGMENT]),
    (f"'{FRAGMENT}${{NOPE'", [FRAGMENT, "NOPE"]),
    (f"'${{{FRAGMENT}'", [FRAGMENT]),
    (f"'{FRAGMENT}${{}}'", [FRAGMENT]),
    (f"'{FRAGMENT}${{1AB}}'", [FRAGMENT]),
    (f"'{FRAGMENT}$${{X}}'", [FRAGMENT]),
    ("'Qx7${Lm2Vz}'", ["Qx7", "Lm2Vz"]),
    (f"'Tr0ub${{{FRAGMENT}}}4x&3'", ["Tr0ub", FRAGMENT, "4x&3"]),
    (f"'{FRAGMENT}${{UNSET_ZZ}}'", [FRAGMENT, "UNSET_ZZ"]),
    (f"'${{UNSET_ZZ}}{FRAGMENT}'", [FRAGMENT, "UNSET_ZZ"]),
    (f"'{FRAGMENT}${{EMPTY_ZZ}}'", [FRAGMENT, "EMPTY_ZZ"]),
    ("'${EMPTY_ZZ}${EMPTY_ZZ}'", ["EMPTY_ZZ"]),
    ("'${BOT_KEY}${UNSET_ZZ}'", ["UNSET_ZZ", ENV["BOT_KEY"]]),
    ("73917391", ["73917391"]),
    ("7391.7391", ["7391"]),
    (f"['{FRAGMENT}']", [FRAGMENT]),
    (f"{{ v = '{FRAGMENT}' }}", [FRAGMENT]),
    ("1979-05-27T07:32:00", ["1979", "07:32"]),
    ("true", ["true"]),
    ("''", []),
]
SECRET_KEYS = ("api_key", "api_secret", "password", "access_token", "refresh_token")


@pytest.mark.parametrize("section", ["users[0]", "auditor"])
@pytest.mark.parametrize("secret_key", SECRET_KEYS)
@pytest.mark.parametrize(("value", "hidden"), MALFORMED_SECRETS,
                         ids=[str(i) for i in range(len(MALFORMED_SECRETS))])
def test_a_bad_secret_is_never_quoted(tmp_path: Path, section: str, secret_key: str,
                                      value: str, hidden: list[str]) -> None:
    table = "[[users]]\nname = \"bot\"\n" if section == "users[0]" else "[auditor]\n"
    document = SITE + table + f"{secret_key} = {value}\n"
    if section == "auditor":
        document += TOKEN_USER
    with pytest.raises(ConfigError) as info:
        load(tmp_path, document, env={**ENV, "EMPTY_ZZ": ""})
    text = str(info.value)
    assert info.value.key == f"{section}.{secret_key}", text
    assert text.startswith(f"{tmp_path / 'audit.toml'}: {section}.{secret_key}: ")
    assert "\n" not in text
    for part in hidden:
        assert part not in text, text


@pytest.mark.parametrize("secret_key", SECRET_KEYS)
def test_a_secret_that_is_one_variable_names_it(tmp_path: Path, secret_key: str) -> None:
    for env, reason in (({}, "environment variable NOPE_ZZ is not set"),
                        ({"NOPE_ZZ": ""}, "environment variable NOPE_ZZ is empty")):
        with pytest.raises(ConfigError) as info:
            load(tmp_path, SITE + f'[[users]]\nname = "bot"\n{secret_key} = "${{NOPE_ZZ}}"\n',
                 env={**ENV, **env})
        assert info.value.reason == reason


def test_a_variable_inside_a_secret_is_not_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, SITE + '[[users]]\nname = "ops"\nauth = "password"\n'
                              'username = "ops@example.com"\npassword = "Tr0ub${Dor}4x&3"\n')
    assert info.value.key == "users[0].password"
    assert "${...}" in info.value.reason
    assert "environment variable" in info.value.reason
    assert "Dor" not in str(info.value)


def test_a_variable_inside_a_url_with_credentials_is_not_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, '[site]\nurl = "https://admin:Tr0ub${Dor}4x@erp.example.com"\n'
             + TOKEN_USER)
    assert info.value.key == "site.url"
    for part in ("Tr0ub", "Dor", "4x", "admin"):
        assert part not in str(info.value)


def test_a_variable_in_a_plain_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, '[site]\nurl = "${NOPE_URL}/erp"\n' + TOKEN_USER)
    assert info.value.reason == "environment variable NOPE_URL is not set"


def test_cli_bad_secret_is_one_line_without_the_secret(tmp_path: Path) -> None:


    path = write(tmp_path, SITE + '[[users]]\nname = "ops"\nauth = "password"\n'
                                  'username = "ops@example.com"\npassword = "Tr0ub${Dor}4x&3"\n')
    line, output = _check_auth_error(path)
    assert f"{path}: users[0].password: " in line
    for part in ("Tr0ub", "Dor", "4x&3"):
        assert part not in output


@pytest.mark.parametrize("quote", ['"', "'''"])
def test_toml_error_does_not_quote_a_character_of_a_secret(tmp_path: Path, quote: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(SITE + f'[[users]]\nname = "bot"\napi_secret = {quote}Qx7\x01Lm2{quote}\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    text = str(info.value)
    assert "TOML syntax error: an illegal character (at line 5, column" in text, text
    assert "\\x01" not in text and "\x01" not in text and "Qx7" not in text


def _check_auth_error(path: Path) -> tuple[str, str]:
    """``check-auth -c path``'s one line of error (exit 2), and all it printed."""
    from click.testing import CliRunner

    from audit.cli import cli

    result = CliRunner().invoke(cli, ["check-auth", "-c", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0], result.output + result.stderr
