from __future__ import annotations

import base64
import html
import json
import logging
import pickle
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from audit.config.loader import ConfigError, load_config
from audit.config.secrets import (
    MASK,
    REGISTRY,
    MaskingFilter,
    Secret,
    SecretRegistry,
    basic_credential,
    install_log_masking,
    mask,
    masked,
)

VALUE = "s3cr3t-Value+/=x9"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_secret_never_shows_its_value() -> None:
    s = Secret(VALUE, source="users[0].api_secret")
    assert repr(s) == "Secret('***')"
    assert str(s) == "***"
    assert f"{s}" == "***" and f"{s!r}" == "Secret('***')" and f"{s:>20}" == "***"
    assert VALUE not in repr([s, {"k": s}])
    assert s.reveal() == VALUE
    assert s.source == "users[0].api_secret"
    assert VALUE not in s.source


def test_secret_is_immutable_and_not_picklable() -> None:
    s = Secret(VALUE)
    with pytest.raises(AttributeError):
        s._value = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del s._value  # type: ignore[misc]
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_secret_equality_and_hash() -> None:
    assert Secret("a1") == Secret("a1", source="x")
    assert Secret("a1") != Secret("a2")
    assert len({Secret("a1"), Secret("a1")}) == 1
    assert not Secret("")
    assert len(Secret("abcd")) == 4


@pytest.mark.parametrize("form", [
    VALUE,
    quote(VALUE, safe=""),
    base64.b64encode(VALUE.encode()).decode(),
    base64.urlsafe_b64encode(VALUE.encode()).decode(),
])
def test_mask_replaces_every_form(form: str) -> None:
    assert mask(f"before {form} after", [Secret(VALUE)]) == f"before {MASK} after"


def test_mask_basic_header_pair() -> None:
    key, secret = Secret("key1234567"), Secret("sec7654321")
    header = "Basic " + base64.b64encode(b"key1234567:sec7654321").decode()
    out = mask(f"Authorization: {header}", [key, secret])
    assert "a2V5" not in out and out == f"Authorization: Basic {MASK}"


def test_mask_accepts_strings_and_ignores_empty() -> None:
    assert mask("token abc:def", ["abc", "def", ""]) == f"token {MASK}:{MASK}"
    assert mask("", ["abc"]) == ""
    assert mask("nothing here", []) == "nothing here"


def test_mask_prefers_longest_match() -> None:
    assert mask("abcdef", ["abc", "abcdef"]) == MASK


def test_mask_leaves_longer_words_alone() -> None:
    assert mask("api_secret: secret", ["secret"]) == f"api_secret: {MASK}"
    assert mask("xsecret secretx: secret.", ["secret"]) == f"xsecret secretx: {MASK}."
    assert mask("sid=ab+/cd=;", ["ab+/cd="]) == f"sid={MASK};"
    assert mask('"tok3n"', ["tok3n"]) == f'"{MASK}"'


TRICKY = 'p4ss"w\\rd</x>&y é'


@pytest.mark.parametrize(("label", "form"), [
    ("raw", TRICKY),
    ("url upper", quote(TRICKY, safe="")),
    ("url lower", re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(TRICKY, safe=""))),
    ("url plus", quote_plus(TRICKY, safe="")),
    ("base64", base64.b64encode(TRICKY.encode()).decode()),
    ("json", json.dumps(TRICKY)[1:-1]),
    ("json unicode", json.dumps(TRICKY, ensure_ascii=False)[1:-1]),
    ("html", html.escape(TRICKY)),
    ("html no quotes", html.escape(TRICKY, quote=False)),
])
def test_mask_covers_every_encoding_a_reply_can_carry(label: str, form: str) -> None:
    reg = SecretRegistry()
    reg.register(TRICKY)
    out = reg.mask(f"echo [{form}] end")
    assert out == f"echo [{MASK}] end", label


def test_mask_finds_secrets_inside_an_encoded_header() -> None:
    """An echoed ``Authorization`` header, URL-encoded or JSON-escaped as a whole."""
    reg = SecretRegistry()
    reg.register("key1234abcd")
    reg.register("sec5678efgh")
    header = "token key1234abcd:sec5678efgh"
    for echoed in (quote(header, safe=""), json.dumps(header + "\n"),
                   json.dumps("\n" + header), json.dumps('"' + header, ensure_ascii=True),
                   "\\u0022" + header):
        out = reg.mask(echoed)
        assert "key1234abcd" not in out and "sec5678efgh" not in out, echoed


def test_mask_takes_whole_secrets_only() -> None:
    """A password that is a plain word goes wherever it stands as a word of its own (a
    sentence quoting it too), never as a part of a longer word."""
    reg = SecretRegistry()
    reg.register("wrong")
    assert reg.mask("wrong password") == f"{MASK} password"
    assert reg.mask("Invalid login: the password is wrong today") == (
        f"Invalid login: the password is {MASK} today")
    assert reg.mask("wrongly") == "wrongly"
    assert reg.mask('{"usr": "a@b.c", "pwd": "wrong"}') == '{"usr": "a@b.c", "pwd": "***"}'
    assert reg.mask("usr=a%40b.c&pwd=wrong") == "usr=a%40b.c&pwd=***"
    assert reg.mask("wrong") == MASK


def test_longest_secret_wins_whatever_its_bounds() -> None:
    reg = SecretRegistry()
    for value in ("wrong", "wrong1x", "ab+/cd==", "ab+/cd"):
        reg.register(value)
    assert reg.mask("pwd=wrong1x;") == "pwd=***;"
    assert reg.mask("sid=ab+/cd==;") == "sid=***;"
    assert reg.mask("pwd=wrong;") == "pwd=***;"


def test_registry_masks_very_short_values_as_whole_tokens() -> None:
    reg = SecretRegistry()
    reg.register("abc")
    reg.register("")
    reg.register(":")  # an empty key and secret joined: no credential, and in every text
    assert len(reg) == 1 and reg.mask("abc") == MASK and reg.mask("pwd=abc;") == "pwd=***;"
    assert reg.mask("abcd xabc") == "abcd xabc"


def test_registry_masks_registered_values_and_encodings() -> None:
    reg = SecretRegistry()
    reg.register(Secret("tok-AAAA1111"))
    reg.register("tok-AAAA1111")  # twice is fine
    reg.register(None)
    reg.register("")
    assert len(reg) == 1
    encoded = base64.b64encode(b"tok-AAAA1111").decode()
    assert reg.mask(f"x tok-AAAA1111 y {encoded}") == f"x {MASK} y {MASK}"
    reg.clear()
    assert reg.mask("tok-AAAA1111") == "tok-AAAA1111"
    assert "tok" not in repr(reg)


def test_basic_credential_is_registered_globally() -> None:
    cred = basic_credential(Secret("bkey-998877"), Secret("bsec-112233"))
    assert base64.b64decode(cred.reveal()) == b"bkey-998877:bsec-112233"
    assert masked(f"Basic {cred.reveal()}") == f"Basic {MASK}"
    assert REGISTRY.mask("bkey-998877:bsec-112233") == MASK


def test_logging_filter_masks_message_args_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    reg = SecretRegistry()
    reg.register("log-secret-42")
    logger = logging.getLogger("test.secrets.filter")
    caplog.handler.addFilter(MaskingFilter(reg))
    try:
        with caplog.at_level(logging.DEBUG, logger="test.secrets.filter"):
            logger.warning("header was %s", "token key:log-secret-42")
            logger.info("dict %(v)s", {"v": "log-secret-42"})
            try:
                raise ValueError("bad log-secret-42")
            except ValueError:
                logger.exception("failed")
    finally:
        caplog.handler.filters.clear()
    assert "log-secret-42" not in caplog.text
    assert "token key:***" in caplog.text
    assert "ValueError: bad ***" in caplog.text


def test_install_log_masking_on_handler_is_idempotent() -> None:
    handler = logging.StreamHandler()
    first = install_log_masking(handler)
    install_log_masking(handler)
    assert handler.filters == [first]


def test_install_log_masking_default_targets_root() -> None:
    root = logging.getLogger()
    before_root = list(root.filters)
    before = {h: list(h.filters) for h in root.handlers}
    try:
        install_log_masking()
        assert any(isinstance(f, MaskingFilter) for f in root.filters)
        assert all(any(isinstance(f, MaskingFilter) for f in h.filters) for h in root.handlers)
    finally:
        root.filters[:] = before_root
        for h, filters in before.items():
            h.filters[:] = filters


# -- a configuration error never echoes a value ----------------------------------------------
USER = '[[users]]\nname = "bot"\nauth = "token"\napi_key = "k3y-abc"\napi_secret = "${S}"\n'


@pytest.mark.parametrize(("label", "text", "secret"), [
    ("numeric secret", '[site]\nurl = "https://erp.example.com"\n[[users]]\nname = "bot"\n'
     'auth = "token"\napi_key = "k3y-abc"\napi_secret = 987654321\n', "987654321"),
    ("float secret", '[site]\nurl = "https://erp.example.com"\n[[users]]\nname = "bot"\n'
     'auth = "password"\nusername = "a@b.c"\npassword = 31415.9265\n', "31415.9265"),
    ("https userinfo", '[site]\nurl = "https://admin:hunter2pass@erp.example.com"\n' + USER,
     "hunter2pass"),
    ("ftp userinfo", '[site]\nurl = "ftp://admin:hunter2pass@erp.example.com"\n' + USER,
     "hunter2pass"),
    ("odd scheme userinfo", '[site]\nurl = "erp+ssh://admin:hunter2pass@erp/x"\n' + USER,
     "hunter2pass"),
    ("no scheme", '[site]\nurl = "admin:hunter2pass@erp.example.com"\n' + USER, "hunter2pass"),
    ("query", '[site]\nurl = "https://erp.example.com/?api_secret=qs3cr3tqs"\n' + USER,
     "qs3cr3tqs"),
    ("fragment", '[site]\nurl = "https://erp.example.com/#tok=fr4gm3nt"\n' + USER, "fr4gm3nt"),
    ("bad port", '[site]\nurl = "https://u:hunter2pass@erp.example.com:99999"\n' + USER,
     "hunter2pass"),
    ("url from env", '[site]\nurl = "${URL}"\n' + USER, "envp4ssw0rd"),
])
def test_config_errors_never_echo_a_secret(tmp_path: Path, label: str, text: str,
                                           secret: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(text)
    env = {"S": "s3cret-from-env", "URL": "gopher://root:envp4ssw0rd@erp.example.com"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env, warn=lambda _: None)
    message = str(info.value)
    assert secret not in message, label
    assert str(path) in message and "\n" not in message


def test_erpnext_url_error_never_echoes_a_password() -> None:
    env = {"ERPNEXT_URL": "sftp://me:envp4ssw0rd@erp.example.com", "ERPNEXT_API_KEY": "k3y-abc",
           "ERPNEXT_API_SECRET": "s3cret-from-env"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert "envp4ssw0rd" not in str(info.value) and "ERPNEXT_URL" in str(info.value)


def test_max_reply_limits_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[site]\nurl = "https://erp.example.com"\nmax_reply_mb = 2\n'
                    'max_list_reply_mb = 32\n' + USER)
    site = load_config(path, env={"S": "s3cret-from-env"}).site
    assert (site.max_reply_mb, site.max_list_reply_mb) == (2, 32)
    path.write_text('[site]\nurl = "https://erp.example.com"\nmax_reply_mb = 0\n' + USER)
    with pytest.raises(ConfigError, match=r"site\.max_reply_mb: must be more than 0"):
        load_config(path, env={"S": "s3cret-from-env"})
