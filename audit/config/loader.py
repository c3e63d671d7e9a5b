"""The audit configuration: TOML plus environment variables, validated in one pass.

Precedence of secrets, written down once: a value ``"${VAR}"`` is read from the
environment (missing or empty: an error naming VAR and the key, or only the key when
the reference is part of a longer secret, since its name is then part of the secret; there
is no escape for a literal ``${``); a literal value
works but draws a warning naming the key. With no file at all, ``ERPNEXT_URL``,
``ERPNEXT_API_KEY`` and ``ERPNEXT_API_SECRET`` describe one token user named
``default``. Secrets never come from the command line.

Every mistake is a :class:`ConfigError` whose text is one line: file, key, reason.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from audit.config.secrets import REGISTRY, Secret
from audit.model import AuthMethod, Mode, Operation, Severity
from audit.status import not_regular

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONCURRENCY = 4
# the bounds of the numbers a config may give (beyond them a wait or a size overflows)
MAX_TIMEOUT = 86_400.0  # seconds
MAX_REPLY_MB = 100_000.0
MIN_RATE, MAX_RATE = 0.001, 1_000_000.0  # requests per second
DEFAULT_RATE_LIMIT: float | Literal["auto"] = "auto"  # pace to the site (audit/http/pacing.py)
DEFAULT_MAX_REPLY_MB = 8.0
DEFAULT_MAX_LIST_REPLY_MB = 64.0
MAX_CONCURRENCY = 64
ENV_SOURCE = "environment"

# what of a URL an error may quote: a scheme, and a host name or bracketed IP address
_SHOWN_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}")
_SHOWN_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
_QUOTED_CHAR = re.compile(r"(?:Illegal|Found invalid) character '[^']*'")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# the loader has no escape for a literal "${": such a secret comes whole from a variable
_WHOLE_SECRET = ('a secret holding a literal "${" must come whole from an environment '
                 'variable: write "${NAME}"')
_SECRET_KEYS = ("api_key", "api_secret", "password", "access_token", "refresh_token")
_WARN_LITERAL = ("api_secret", "password", "access_token", "refresh_token")
_USER_KEYS = frozenset({"name", "auth", "username", "client_id", "expect", *_SECRET_KEYS})
_NEEDS: dict[AuthMethod, tuple[str, ...]] = {
    AuthMethod.TOKEN: ("api_key", "api_secret"),
    AuthMethod.BASIC: ("api_key", "api_secret"),
    AuthMethod.PASSWORD: ("username", "password"),
    AuthMethod.OAUTH: ("access_token", "refresh_token", "client_id"),
}


class ConfigError(Exception):
    """A configuration mistake: which file, which key, and why (one line)."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        return REGISTRY.mask(": ".join([*parts, self.reason]))


@dataclass(frozen=True)
class SiteConfig:
    url: str
    verify_tls: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    host: str | None = None
    max_reply_mb: float = DEFAULT_MAX_REPLY_MB  # a probe's reply
    max_list_reply_mb: float = DEFAULT_MAX_LIST_REPLY_MB  # lists and DocType metas (discovery)


@dataclass(frozen=True)
class CrawlConfig:
    mode: Mode = Mode.SAFE
    allow_active: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    rate_limit: float | Literal["auto"] = DEFAULT_RATE_LIMIT  # requests/s, or "auto"
    doctypes: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    ask_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserConfig:
    name: str
    auth: AuthMethod
    api_key: Secret | None = None
    api_secret: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    access_token: Secret | None = None
    refresh_token: Secret | None = None
    client_id: str | None = None
    expect: Mapping[str, frozenset[Operation]] | None = None

    @property
    def basic_with_email(self) -> bool:
        """A Basic user whose api_key looks like an e-mail (``email:password``, refused)."""
        key = self.api_key.reveal() if self.api_key else ""
        return self.auth is AuthMethod.BASIC and looks_like_email(key)

    @property
    def login_name(self) -> str | None:
        """The account a password login uses (what Frappe's lockout counts)."""
        return self.username if self.auth is AuthMethod.PASSWORD else None


@dataclass(frozen=True)
class AuditConfig:
    path: Path | None
    site: SiteConfig
    crawl: CrawlConfig
    auditor: UserConfig | None
    users: tuple[UserConfig, ...]
    # [findings] severity = { rule = "low" }: per-rule overrides (analysis only lowers)
    severity: Mapping[str, Severity] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.path) if self.path else ENV_SOURCE

    def user(self, name: str) -> UserConfig:
        for user in self.users:
            if user.name == name:
                return user
        known = ", ".join(u.name for u in self.users) or "none"
        raise ConfigError(self.source, "users", f"no user named {name!r} (configured: {known})")


def load_config(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> AuditConfig:
    """Read and validate the configuration; ``path=None`` reads ERPNEXT_* from ``env``."""
    import os

    environ: Mapping[str, str] = os.environ if env is None else env
    emit: Callable[[str], None] = warn if warn is not None else log.warning
    if path is None:
        return _from_env(environ)
    path = Path(path)
    odd = not_regular(path)
    if odd:
        raise ConfigError(str(path), "", f"cannot read the file: {odd}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(str(path), "", f"cannot read the file: {reason}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib quotes an illegal character, which may be one of a secret's
        reason = _QUOTED_CHAR.sub("an illegal character", str(exc))
        raise ConfigError(str(path), "", f"TOML syntax error: {reason}") from None
    return _Loader(path, environ, emit).build(raw)


def _from_env(env: Mapping[str, str]) -> AuditConfig:
    names = ("ERPNEXT_URL", "ERPNEXT_API_KEY", "ERPNEXT_API_SECRET")
    for name in names:
        if not env.get(name):
            raise ConfigError(
                ENV_SOURCE, name,
                "not set: give a config file with -c, or set ERPNEXT_URL, ERPNEXT_API_KEY "
                "and ERPNEXT_API_SECRET for one token user",
            )
    url = _check_url(ENV_SOURCE, "ERPNEXT_URL", env["ERPNEXT_URL"])
    key = Secret(env["ERPNEXT_API_KEY"], "ERPNEXT_API_KEY")
    secret = Secret(env["ERPNEXT_API_SECRET"], "ERPNEXT_API_SECRET")
    REGISTRY.register(key)
    REGISTRY.register(secret)
    user = UserConfig(name="default", auth=AuthMethod.TOKEN, api_key=key, api_secret=secret)
    return AuditConfig(path=None, site=SiteConfig(url=url), crawl=CrawlConfig(),
                       auditor=None, users=(user,))


def _check_url(file: str, key: str, value: str) -> str:
    """The normalised site URL; an error never repeats credentials, a query or a fragment."""
    shown = _shown_url(value)
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # an unbalanced "[" (not an IPv6 address)
        return _url_error(file, key, "is not a valid URL", shown)
    if parts.scheme not in ("http", "https") or "://" not in value:
        return _url_error(file, key, "must start with http:// or https://", shown)
    if "@" in value:  # a "/" in a password moves it out of netloc: look at the whole text
        raise ConfigError(file, key, "credentials do not belong in the URL; use [[users]]")
    if not parts.hostname:
        return _url_error(file, key, "names no host", shown)
    if parts.query or parts.fragment:
        return _url_error(file, key, "must not carry a query or fragment", shown)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return _url_error(file, key, "has an invalid port", shown)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _shown_url(value: str) -> str:
    """``scheme://host`` of a URL, nothing more (no user, password, port, path, query or
    fragment); "" when even that cannot be shown safely: an ``@`` anywhere (where urlsplit
    puts a password holding ``/ ? #`` is no guide), no ``scheme://``, or a host that is not
    a plain name or bracketed address."""
    text = value.strip()
    if "@" in text or "://" not in text:
        return ""
    scheme, rest = text.split("://", 1)
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = authority[:authority.find("]") + 1] if authority.startswith("[") \
        else authority.split(":", 1)[0]
    if not (_SHOWN_SCHEME.fullmatch(scheme) and _SHOWN_HOST.fullmatch(host)):
        return ""
    return f"{scheme}://{host}"


def _url_error(file: str, key: str, reason: str, shown: str) -> NoReturn:
    raise ConfigError(file, key, f"URL {shown!r} {reason}" if shown else f"the URL {reason}")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


class _Loader:
    """One validation pass over the parsed TOML document."""

    def __init__(self, path: Path, env: Mapping[str, str], warn: Callable[[str], None]) -> None:
        self.path = path
        self.file = str(path)
        self.env = env
        self.warn = warn

    def error(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.file, key, reason)

    # -- generic checks ------------------------------------------------------------
    def table(self, value: Any, key: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {_kind(value)}")
        for name in value:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(f"{key}.{_toml_key(name)}" if key else _toml_key(name),
                                 f"unknown key (expected one of: {known})")
        return value

    def expand(self, value: str, key: str, secret: bool = False) -> tuple[str, bool]:
        """Substitute ``${VAR}``; return the text and whether it came from a variable.

        For a ``secret`` value an error quotes nothing of it: a variable is named only when
        it is the whole value (a name inside a literal is part of the secret)."""
        whole = _VAR.fullmatch(value) is not None

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            problem = "not set" if name not in self.env else "empty" if not self.env[name] else ""
            if not problem:
                return self.env[name]
            if secret and not whole:
                raise self.error(key, f"holds a ${{...}} reference to an environment variable "
                                      f"that is {problem}; {_WHOLE_SECRET}")
            raise self.error(key, f"environment variable {name} is {problem}")

        rest = _VAR.sub("", value)
        if "${" in rest:
            hint = f"; {_WHOLE_SECRET}" if secret else ""
            raise self.error(key, f"malformed variable reference: write ${{NAME}}{hint}")
        return _VAR.sub(lookup, value), _VAR.search(value) is not None

    def string(self, value: Any, key: str, secret: bool = False) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_kind(value)}")
        text, _ = self.expand(value, key, secret=secret)
        if not text.strip():
            raise self.error(key, "must not be empty")
        return text

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_kind(value)}")
        return value

    def number(self, value: Any, key: str, most: float = math.inf) -> float:
        """A finite number (inf and nan are TOML numbers too) of at most ``most``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {value}")
        if value > most:
            raise self.error(key, f"must be at most {most:g}, got {value:g}")
        return float(value)

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of DocType names, got {_kind(value)}")
        out: list[str] = []
        for i, item in enumerate(value):
            out.append(self.string(item, f"{key}[{i}]").strip())
        return tuple(out)

    # -- sections ------------------------------------------------------------------
    def build(self, raw: dict[str, Any]) -> AuditConfig:
        self.table(raw, "", frozenset({"site", "crawl", "auditor", "users", "findings"}))
        if "site" not in raw:
            raise self.error("site", "missing: add a [site] table with url = \"https://...\"")
        site = self.site(raw["site"])
        crawl = self.crawl(raw.get("crawl", {}))
        auditor = None
        if "auditor" in raw:
            auditor = self.user(raw["auditor"], "auditor", default_name="auditor")
        users = self.users(raw.get("users"))
        severity = self.findings(raw.get("findings", {}))
        return AuditConfig(path=self.path, site=site, crawl=crawl, auditor=auditor, users=users,
                           severity=severity)

    def findings(self, value: Any) -> Mapping[str, Severity]:
        """``[findings] severity = { "no-ip-restriction" = "info" }``: lower a rule's severity."""
        from audit.analysis.catalogue import RULES

        t = self.table(value, "findings", frozenset({"severity"}))
        raw = self.table(t.get("severity", {}), "findings.severity", frozenset(RULES))
        words = ", ".join(s.value for s in Severity)
        out: dict[str, Severity] = {}
        for rule, word in raw.items():
            key = f"findings.severity.{_toml_key(rule)}"
            try:
                level = Severity(word) if isinstance(word, str) else None
            except ValueError:
                level = None
            if level is None:
                raise self.error(key, f"unknown severity {word!r} (expected {words})")
            if level.rank > RULES[rule].rank:
                raise self.error(key, f"{word} is above the rule's {RULES[rule].value}: a "
                                      "severity can only be lowered")
            out[rule] = level
        return MappingProxyType(out)

    def site(self, value: Any) -> SiteConfig:
        t = self.table(value, "site", frozenset({"url", "verify_tls", "timeout", "host",
                                                 "max_reply_mb", "max_list_reply_mb"}))
        if "url" not in t:
            raise self.error("site.url", "missing: the site's base URL, e.g. https://erp.example.com")
        raw = t["url"]  # with an @ it may hold a password: expanded as a secret
        secret = isinstance(raw, str) and "@" in raw
        url = _check_url(self.file, "site.url", self.string(raw, "site.url", secret=secret))
        verify: bool | str = True
        if "verify_tls" in t:
            verify = self.verify_tls(t["verify_tls"])
        timeout = DEFAULT_TIMEOUT
        if "timeout" in t:
            timeout = self.number(t["timeout"], "site.timeout", MAX_TIMEOUT)
            if timeout <= 0:
                raise self.error("site.timeout", "must be more than 0 seconds")
        host = None
        if "host" in t:
            host = self.string(t["host"], "site.host").strip()
            if re.search(r"[\s/]", host) or "://" in host:
                raise self.error("site.host", f"{host!r} is not a host name (e.g. erp.example.com)")
        limits = {}
        for key in ("max_reply_mb", "max_list_reply_mb"):
            if key in t:
                limits[key] = self.number(t[key], f"site.{key}", MAX_REPLY_MB)
                if limits[key] <= 0:
                    raise self.error(f"site.{key}", "must be more than 0 (megabytes)")
        return SiteConfig(url=url, verify_tls=verify, timeout=timeout, host=host, **limits)

    def verify_tls(self, value: Any) -> bool | str:
        if isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise self.error("site.verify_tls", f"expected true, false or a CA bundle path, "
                                                f"got {_kind(value)}")
        bundle = Path(self.string(value, "site.verify_tls")).expanduser()
        if not bundle.is_absolute():
            bundle = self.path.parent / bundle
        if not bundle.exists():
            raise self.error("site.verify_tls", f"CA bundle {str(bundle)!r} does not exist")
        return str(bundle)

    def crawl(self, value: Any) -> CrawlConfig:
        allowed = frozenset({"mode", "allow_active", "concurrency", "rate_limit", "doctypes",
                             "exclude", "ask_only"})
        t = self.table(value, "crawl", allowed)
        mode = Mode.SAFE
        if "mode" in t:
            text = self.string(t["mode"], "crawl.mode")
            try:
                mode = Mode(text)
            except ValueError:
                raise self.error("crawl.mode", f"unknown mode {text!r} "
                                               "(expected passive, safe, active)") from None
        allow_active = self.boolean(t.get("allow_active", False), "crawl.allow_active")
        if mode is Mode.ACTIVE and not allow_active:
            raise self.error("crawl.mode", "active mode creates and deletes documents; it is "
                                           "refused unless [crawl] allow_active = true")
        concurrency = t.get("concurrency", DEFAULT_CONCURRENCY)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise self.error("crawl.concurrency",
                             f"expected a whole number, got {_kind(concurrency)}")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise self.error("crawl.concurrency", f"must be between 1 and {MAX_CONCURRENCY}, "
                                                  f"got {concurrency}")
        rate = DEFAULT_RATE_LIMIT
        if t.get("rate_limit") == "auto":
            rate = "auto"
        elif "rate_limit" in t:
            if isinstance(t["rate_limit"], str):
                raise self.error("crawl.rate_limit", 'expected "auto" or a number of requests '
                                                     f"per second, got {t['rate_limit']!r}")
            rate = self.number(t["rate_limit"], "crawl.rate_limit", MAX_RATE)
            if rate < MIN_RATE:
                raise self.error("crawl.rate_limit", f"must be at least {MIN_RATE:g} requests "
                                 "per second")
        doctypes = self.names(t.get("doctypes", ["*"]), "crawl.doctypes")
        if not doctypes:
            raise self.error("crawl.doctypes", 'must name at least one DocType, or "*" for all')
        return CrawlConfig(
            mode=mode, allow_active=allow_active, concurrency=concurrency, rate_limit=rate,
            doctypes=doctypes, exclude=self.names(t.get("exclude", []), "crawl.exclude"),
            ask_only=self.names(t.get("ask_only", []), "crawl.ask_only"),
        )

    def users(self, value: Any) -> tuple[UserConfig, ...]:
        if value is None:
            raise self.error("users", "missing: add at least one [[users]] table")
        if not isinstance(value, list):
            raise self.error("users",
                             f"expected an array of tables ([[users]]), got {_kind(value)}")
        if not value:
            raise self.error("users", "empty: add at least one [[users]] table")
        users: list[UserConfig] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(value):
            user = self.user(item, f"users[{i}]")
            if user.name in seen:
                raise self.error(f"users[{i}].name", f"duplicate user name {user.name!r} "
                                                     f"(also users[{seen[user.name]}])")
            seen[user.name] = i
            users.append(user)
        return tuple(users)

    def user(self, value: Any, key: str, default_name: str | None = None) -> UserConfig:
        allowed = _USER_KEYS - {"expect"} if default_name else _USER_KEYS
        t = self.table(value, key, allowed)
        if "name" in t:
            name = self.string(t["name"], f"{key}.name").strip()
        elif default_name:
            name = default_name
        else:
            raise self.error(f"{key}.name", "missing: each user needs a name")
        if re.search(r"[\s,]", name):
            raise self.error(f"{key}.name", f"{name!r} must not contain spaces or commas "
                                            "(--users takes a comma-separated list)")
        method_text = self.string(t.get("auth", "token"), f"{key}.auth")
        try:
            method = AuthMethod(method_text)
        except ValueError:
            raise self.error(f"{key}.auth", f"unknown auth method {method_text!r} "
                                            "(expected token, basic, password, oauth)") from None
        secrets = {k: self.secret(t[k], f"{key}.{k}") for k in _SECRET_KEYS if k in t}
        plain = {k: self.string(t[k], f"{key}.{k}").strip()
                 for k in ("username", "client_id") if k in t}
        self.check_credentials(key, method, t)
        expect = self.expect(t["expect"], f"{key}.expect") if "expect" in t else None
        return UserConfig(
            name=name, auth=method, api_key=secrets.get("api_key"),
            api_secret=secrets.get("api_secret"), username=plain.get("username"),
            password=secrets.get("password"), access_token=secrets.get("access_token"),
            refresh_token=secrets.get("refresh_token"), client_id=plain.get("client_id"),
            expect=expect,
        )

    def secret(self, value: Any, key: str) -> Secret:
        if not isinstance(value, str):  # the value itself is never repeated: it is a secret
            raise self.error(key, f"expected a string, got {_kind(value, show=False)}; "
                                  'quote it, or better use "${VAR}"')
        text, from_env = self.expand(value, key, secret=True)
        if not text:
            raise self.error(key, "must not be empty")
        secret = Secret(text, source=key)
        if not (key.endswith(".api_key") and looks_like_email(text)):
            REGISTRY.register(secret)
        if not from_env and key.rsplit(".", 1)[-1] in _WARN_LITERAL:
            self.warn(f"{self.file}: {key} holds a literal secret; use ${{VAR}}")
        return secret

    def check_credentials(self, key: str, method: AuthMethod, t: dict[str, Any]) -> None:
        given = {k for k in (*_SECRET_KEYS, "username", "client_id") if k in t}
        if method is AuthMethod.OAUTH:
            if "access_token" not in given and not {"refresh_token", "client_id"} <= given:
                missing = "access_token" if "refresh_token" not in given else "client_id"
                raise self.error(f"{key}.{missing}", 'missing: auth = "oauth" needs access_token, '
                                                     "or refresh_token and client_id")
        else:
            for needed in _NEEDS[method]:
                if needed not in given:
                    wanted = " and ".join(_NEEDS[method])
                    raise self.error(f"{key}.{needed}",
                                     f'missing: auth = "{method}" needs {wanted}')
        for extra in sorted(given - set(_NEEDS[method])):
            self.warn(f'{self.file}: {key}.{extra} is not used with auth = "{method}"')

    def expect(self, value: Any, key: str) -> Mapping[str, frozenset[Operation]]:
        if not isinstance(value, dict):
            raise self.error(key, "expected a table of DocType = [ops], e.g. "
                                  '{ "Sales Invoice" = ["read", "create"] }')
        ops_known = ", ".join(op.value for op in Operation)
        out: dict[str, frozenset[Operation]] = {}
        for doctype, ops in value.items():
            sub = f"{key}.{_toml_key(doctype)}"
            if not doctype.strip():
                raise self.error(sub, "a DocType name must not be empty")
            if not isinstance(ops, list):
                raise self.error(sub, f"expected a list of ops ({ops_known}), got {_kind(ops)}")
            parsed: set[Operation] = set()
            for i, op in enumerate(ops):
                if not isinstance(op, str):
                    raise self.error(f"{sub}[{i}]", f"expected an op name, got {_kind(op)}")
                try:
                    parsed.add(Operation(op))
                except ValueError:
                    raise self.error(f"{sub}[{i}]", f"unknown op {op!r} "
                                                    f"(expected {ops_known})") from None
            out[doctype] = frozenset(parsed)
        return MappingProxyType(out)


def looks_like_email(text: str) -> bool:
    """An api_key that is really a user name: not masked (it names who, proves nothing)."""
    return re.fullmatch(r"[^@\s:]+@[^@\s:]+\.[^@\s:]+", text) is not None


def _kind(value: Any, show: bool = True) -> str:
    """What a value is, for an error line; ``show=False`` never includes the value."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})" if show else "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value})" if show else "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def is_loopback_host(host: str) -> bool:
    """True for localhost, ``*.localhost`` and loopback addresses."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
