"""Forms of a secret a hostile or sloppy server sends back, and that must never show.

Each case is a text a real reply (or a proxy's redirect, or a gateway's envelope) can
carry; the secret, or enough of it to read it, must not survive the file form nor the
terminal form of the output boundary.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from audit.config.secrets import MASK, SecretRegistry
from audit.results.redact import Redactor

PASSPHRASE = "sunshinegarden"  # letters only: a passphrase, not a word of the sentence
TOKEN = "a1b2c3d4e5f6a7b8c9d0"
SPECIAL = "P@ss!w0rd(1)/~x y"


def _redactor(*secrets: str) -> Redactor:
    registry = SecretRegistry()
    for secret in secrets:
        registry.register(secret)
    return Redactor(registry, doctypes=())


def _shown(secret: str, text: str) -> list[str]:
    red = _redactor(secret)
    outputs = [red.text(text), red.terminal(text), red.terminal(text, colors=True)]
    return [o for o in outputs if secret in o or secret in o.replace("\r", "")]


@pytest.mark.parametrize("text", [
    f"Invalid password {PASSPHRASE} was rejected",
    f"{PASSPHRASE} is not your password",
    f"the password is {PASSPHRASE} today",
])
def test_a_letters_only_passphrase_is_masked_inside_a_sentence(text: str) -> None:
    assert _shown(PASSPHRASE, text) == []


@pytest.mark.parametrize("text", ["pwd=Ab1", "login failed for Ab1", '{"pwd": "Ab1"}'])
def test_a_short_secret_is_masked_as_a_whole_token(text: str) -> None:
    assert _shown("Ab1", text) == []
    red = _redactor("Ab1")
    assert red.text("Ab12 xAb1") == "Ab12 xAb1"  # never a part of a longer word


def _percent(value: str, keep: str, *, plus: bool = False, lower: bool = False) -> str:
    """An encoder of the wild: every byte but letters, digits and ``keep`` as %HH."""
    out = []
    for char in value:
        if char.isascii() and (char.isalnum() or char in keep):
            out.append(char)
        elif char == " " and plus:
            out.append("+")
        else:
            out.extend(f"%{b:02x}" if lower else f"%{b:02X}" for b in char.encode())
    return "".join(out)


@pytest.mark.parametrize(("label", "form"), [
    ("python quote(), / kept", quote(SPECIAL)),
    ("python quote_plus, / kept", quote_plus(SPECIAL, safe="/")),
    ("encodeURIComponent", _percent(SPECIAL, "-_.!~*'()")),
    ("encodeURI", _percent(SPECIAL, "-_.!~*'();/?:@&=+$,#")),
    ("RFC 1738 (tilde encoded)", _percent(SPECIAL, "-_.")),
    ("Java URLEncoder", _percent(SPECIAL, "-_.*", plus=True)),
    ("lower-case hex, tilde encoded", _percent(SPECIAL, "-_.", lower=True)),
])
def test_every_common_url_encoding_is_masked(label: str, form: str) -> None:
    text = f"Location: https://erp.example/login?redirect-to=%2Fapp&pwd={form}&x=1"
    assert _redactor(SPECIAL).text(text) == (
        f"Location: https://erp.example/login?redirect-to=%2Fapp&pwd={MASK}&x=1"), label


@pytest.mark.parametrize("prefix", ["", "p", "pw", "pwd=", "user@example.com:"])
def test_the_base64_of_a_text_holding_the_secret_does_not_carry_it(prefix: str) -> None:
    """``base64("pwd=" + secret)``: the secret's bytes sit at any of three alignments."""
    encoded = base64.b64encode(f"{prefix}{TOKEN};".encode()).decode()
    out = _redactor(TOKEN).text(f"X-Echo: {encoded}")
    clear = base64.b64encode(f"{prefix}{TOKEN};".encode()).decode()
    assert out != f"X-Echo: {clear}", prefix  # something of it was masked
    for start in range(3):  # no 12 bytes of the token decode from what is left
        piece = out.removeprefix("X-Echo: ").replace(MASK, "")[start:]
        piece = piece[:len(piece) - len(piece) % 4]
        decoded = base64.b64decode(piece + "=" * (-len(piece) % 4), validate=False)
        assert not any(TOKEN[i:i + 12].encode() in decoded for i in range(len(TOKEN) - 11))


@pytest.mark.parametrize("text", [f"X{TOKEN}", f"api_secret_{TOKEN}", f"{TOKEN}9",
                                  f"key{TOKEN}end"])
def test_a_long_secret_is_masked_even_glued_to_a_word(text: str) -> None:
    assert _shown(TOKEN, text) == []


@pytest.mark.parametrize("text", [
    f"PermissionError {TOKEN[:5]}\r{TOKEN[5:]}",
    f"{TOKEN[:7]}\x1b[0m{TOKEN[7:]}",
    f"{TOKEN[:7]}\x1b[31m{TOKEN[7:]} denied",
    f"{TOKEN[:3]}\x1b[2K{TOKEN[3:]}",
    f"{TOKEN[:4]}\x07{TOKEN[4:]}",
])
def test_the_terminal_never_rejoins_a_secret_the_mask_did_not_see(text: str) -> None:
    """A control or a colour code inside a secret: what a terminal (or a pipe, which drops
    the colours) shows must not read as the secret."""
    red = _redactor(TOKEN)
    for shown in (red.terminal(text), red.terminal(text, colors=True)):
        visible = shown.replace("\r", "")
        for code in ("\x1b[0m", "\x1b[31m", "\x1b[1;31m", "\x1b[33m", "\x1b[36m", "\x1b[34m"):
            visible = visible.replace(code, "")
        assert TOKEN not in visible, repr(shown)


def test_renderer_colours_stay_when_no_secret_is_near() -> None:
    red = _redactor(TOKEN)
    text = "\x1b[1;31mcritical\x1b[0m escalation-path bot"
    assert red.terminal(text, colors=True) == text
    assert red.terminal(f"\x1b[31mhigh\x1b[0m {TOKEN}", colors=True) == (
        f"\x1b[31mhigh\x1b[0m {MASK}")


def test_a_very_long_secret_is_registered_and_masked() -> None:
    """A JWT or an opaque token of thousands of characters (the trie must not recurse per
    character)."""
    jwt = "eyJ" + "aB3-_x9Q" * 500 + "/+=="
    red = _redactor(jwt)
    assert red.text(f"Authorization: Bearer {jwt}.") == f"Authorization: Bearer {MASK}."
    assert jwt not in red.text(f"redirect={quote(jwt, safe='')}") and (
        quote(jwt, safe="") not in red.text(f"redirect={quote(jwt, safe='')}"))
