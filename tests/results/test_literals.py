"""The RE2 pre-scan put before the secret and name patterns (by the writers, the
redactor and the registry's own mask): it may only skip a text that cannot hold a match.
Checked against a plain substring search on hostile words and texts (non-ASCII, surrogates,
NUL), and end to end on long batches that hide a secret or a secret name in one text among
thousands of plain ones."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audit.config.secrets import Literals, SecretRegistry
from audit.results.files import _Cleaner
from audit.results.redact import Redactor

CHARS = st.sampled_from(["a", "b", "Z", "0", "9", "-", ":", "%", "\x00", "é", "ü", "€",
                         "😀", "\ud800", "\udfff", "\u202e", " "])
WORDS = st.lists(st.lists(CHARS, min_size=1, max_size=8).map("".join), min_size=1,
                 max_size=12)
TEXT = st.lists(CHARS, max_size=60).map("".join)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDS, TEXT, TEXT, st.booleans())
@example(["é"], "e\u0301", "", False)  # an accent as a combining mark: no é in the text
@example(["€"], "\u20ac", "", True)
@example(["\ud800"], "x", "y", True)
@example(["a\x00b"], "", "", True)
def test_it_never_skips_a_text_that_holds_a_word(words: list[str], before: str,
                                                 after: str, insert: bool) -> None:
    text = before + (words[-1] if insert else "") + after
    holds = any(w in text for w in words)
    if holds:
        assert Literals(words).may_hold(text)
    if not Literals(words).may_hold(text):
        assert not holds


def test_it_skips_what_holds_no_word() -> None:
    times = "\x00".join(f"2026-12-02T10:00:{i % 60:02d}.{i:06d}Z" for i in range(500))
    hexes = [f"{n:015x}" for n in range(10**14, 10**14 + 300 * 7919, 7919)]
    assert all(any(c in "abcdef" for c in h) for h in hexes)
    assert not Literals(hexes).may_hold(times)
    assert Literals([*hexes, "02T10"]).may_hold(times)  # one word's bytes all there
    assert Literals(["zz"]).may_hold("z") is False  # the word, not its bytes, is looked for
    assert Literals(["zz"]).may_hold("azzb") is True
    assert Literals(["ab"]).may_hold("a\x00b") is False  # as in a batch joined by NUL
    assert Literals(["é"]).may_hold("e\u0301") is False and Literals(["é"]).may_hold("cé")
    assert Literals([]).may_hold("any text") is False  # no word: no text holds one
    assert Literals([""]).may_hold("any text") is False  # nor the empty word (no pattern has it)


SECRET = "bd1c0a9f4e2b7d3"  # hex, as an API secret
NAME = "b7e55f0ac1d2e3f4a5b6"  # a secret-bearing document's name (OAuth token)


def _forms() -> list[str]:
    return [SECRET, quote(f"x={SECRET}"), json.dumps({"k": SECRET}),
            base64.b64encode(f"key:{SECRET}".encode()).decode(),
            f"&lt;{SECRET}&gt;", f"see {NAME} here", NAME]


def _redactor() -> Redactor:
    registry = SecretRegistry()
    registry.register(SECRET)
    registry.register("key")
    redactor = Redactor(registry)
    redactor.learn(NAME)
    return redactor


PLAIN = [f"2026-12-02T10:{i % 60:02d}:{i % 59:02d}.{i:06d}Z" for i in range(2_000)]


@pytest.mark.parametrize("hidden", _forms())
@pytest.mark.parametrize("where", [0, 999, 1_999])
def test_a_long_batch_hiding_one_secret_is_not_unchanged(hidden: str, where: int) -> None:
    texts = [*PLAIN]
    texts[where] = hidden
    assert len("\x00".join(texts)) >= Literals.SCAN_MIN
    redactor = _redactor()
    assert redactor.unchanged()(PLAIN) is True  # the plain times: skipped by their bytes
    assert redactor.unchanged()(texts) is False
    clean = _Cleaner(redactor)
    for formed in (clean.csv_batch(texts), clean.fragment_batch("at")(texts)):
        assert formed is None  # declined: each text is then redacted on its own
    column = clean.column(texts, {}, clean.fragment("at"), batch=clean.fragment_batch("at"))
    written = b"".join(column).decode()
    assert SECRET not in written and NAME not in written
    assert written.count("2026-12-02T10:") == len(PLAIN) - 1


def test_a_secret_registered_after_a_scan_is_found_in_the_next() -> None:
    """The byte sets follow the registry: a secret of digits only is then looked for."""
    registry = SecretRegistry()
    registry.register(SECRET)
    redactor = Redactor(registry, doctypes=())
    digits = "000123"
    texts = [*PLAIN[:1_000], f"2026-12-02T10:00:00 {digits}"]
    assert redactor.unchanged()(texts) is True
    registry.register(digits)
    assert redactor.unchanged()(texts) is False


def test_a_name_learned_after_a_scan_is_found_in_the_next() -> None:
    redactor = Redactor(SecretRegistry(), doctypes=())
    redactor.learn("qxqxqxqxqx")  # another secret name (bytes the texts lack): a pattern exists
    texts = [*PLAIN[:1_000], f"token {NAME} revoked"]
    assert redactor.unchanged()(texts) is True
    redactor.learn(NAME)
    assert redactor.unchanged()(texts) is False


@pytest.mark.parametrize("hidden", _forms())
def test_a_long_text_hiding_a_secret_is_redacted_one_by_one(hidden: str) -> None:
    """The scan before each pattern, text by text: a text long enough to be scanned first."""
    text = f"{PLAIN[0]} {PLAIN[1]} {hidden} {PLAIN[2]}"
    assert len(text) >= Literals.SCAN_MIN
    redactor = _redactor()
    for redact in (redactor.text, redactor.frozen()):
        out = redact(text)
        assert SECRET not in out and NAME not in out and out != text
        assert redact(f"{PLAIN[0]} {PLAIN[1]} {PLAIN[2]}") == f"{PLAIN[0]} {PLAIN[1]} {PLAIN[2]}"
    registry = SecretRegistry()
    registry.register(SECRET)
    if NAME not in hidden:
        assert SECRET not in registry.mask(text) and registry.mask(text) != text


def test_texts_primed_by_batch_are_redacted_as_one_by_one() -> None:
    """prime() puts a batch in the writers' memo as it is only when redaction leaves every
    text of it so: a secret, a secret name, a control character among thousands of plain
    texts (each hidden in a batch of its own) still comes out redacted."""
    plain = [f"finding {i}: user{i % 50} may write DocType {i % 97} at {PLAIN[i % 2_000]}"
             for i in range(14_000)]
    for where in (0, 1_999, 2_000):
        texts = [*plain]
        for k, hidden in enumerate([*_forms(), "bell\x07rings", "bidi \u202e here"]):
            texts[(where + k * 2_003) % len(texts)] = hidden
        redactor = _redactor()
        reference = _redactor()
        redactor.prime(texts)
        redact = redactor.frozen()
        for text in texts:
            assert redact(text) == reference.text(text)
        assert not any(SECRET in redact(t) or NAME in redact(t) for t in texts)


def test_words_beyond_re2s_memory_bound_leave_every_text_to_the_pattern(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When RE2 refuses the words (a site with very many secret names), no text is skipped."""
    monkeypatch.setattr(Literals, "MAX_MEM", 1 << 12)
    words = [f"name{i:05d}-of-a-token" for i in range(5_000)]
    assert Literals(words).may_hold("holds none of them") is True
    redactor = Redactor(SecretRegistry(), doctypes=())
    redactor.learn(*words)
    text = f"{PLAIN[0]} revoked name04321-of-a-token at {PLAIN[1]}"
    assert "name04321-of-a-token" not in redactor.text(text)
    assert redactor.unchanged()([*PLAIN[:100], text]) is False
