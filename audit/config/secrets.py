"""Secrets that never show: a value wrapper, masking, and a process-wide registry.

Every credential read from the configuration becomes a :class:`Secret`; its
``repr`` and ``str`` are ``***``. Each one is also registered with
:data:`REGISTRY`, whose :meth:`SecretRegistry.mask` (and the logging filter built
on it) replaces the value, and every form a request or an echoing reply carries it in
(base64 of ``key:secret`` in a Basic header, URL-encoding of either hex case,
JSON and HTML escaping), with ``***`` anywhere it would otherwise be printed, logged or
written. A short secret is masked as a whole token only (never a part of a longer word);
a long one, and its base64 inside a longer encoded text, wherever it stands. The output
boundary applies it
through :class:`audit.results.redact.Redactor`.
"""

from __future__ import annotations

import base64
import hmac
import html
import json as jsonlib
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, Protocol
from urllib.parse import quote, quote_plus

MASK = "***"


class Secret:
    """An immutable secret value; ``repr`` and ``str`` never show it."""

    __slots__ = ("_source", "_value")
    _source: str
    _value: str

    def __init__(self, value: str, source: str = "") -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_source", source)

    @property
    def source(self) -> str:
        """Where the value came from, e.g. ``users[0].api_secret`` (never the value)."""
        return self._source

    def reveal(self) -> str:
        """The value itself: only for building a request."""
        return self._value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


def _value_of(item: Secret | str) -> str:
    return item.reveal() if isinstance(item, Secret) else str(item)


def _b64_forms(raw: str) -> set[str]:
    data = raw.encode("utf-8")
    std = base64.b64encode(data).decode("ascii")
    url = base64.urlsafe_b64encode(data).decode("ascii")
    return {std, std.rstrip("="), url, url.rstrip("=")}


B64_CORE_MIN = 8  # base64 characters of a secret inside a longer encoded text that are masked


def _b64_cores(raw: str) -> set[str]:
    """The base64 characters that encode only the secret's bytes when it is a part of a
    longer encoded text (``base64("pwd=" + secret)``): its bytes start at any of three
    alignments, and the characters that also encode a neighbouring byte are left out."""
    data = raw.encode("utf-8")
    out: set[str] = set()
    for shift in range(3):
        total = shift + len(data)
        first = -(-shift * 8 // 6)  # characters that also hold the bytes before it
        last = total // 3 * 4 + (total % 3 * 8) // 6  # characters holding its last bytes
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(b"\x00" * shift + data + b"\x00\x00").decode("ascii")[first:last]
            if len(core) >= B64_CORE_MIN:
                out.add(core)
    return out


_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def url_forms(value: str) -> set[str]:
    """Percent-encoded, with upper- and lower-case hex digits (both are valid on the wire)."""
    upper = {quote(value, safe=""), quote_plus(value, safe="")}
    lower = {_HEX_ESCAPE.sub(lambda m: m.group(0).lower(), u) for u in upper}
    return upper | lower


# what URL encoders of the wild leave as it is, besides letters and digits: RFC 3986's
# unreserved characters (Python's quote), RFC 1738's (the tilde encoded), Python's quote
# default (the slash kept), JavaScript's encodeURIComponent and encodeURI, Java's
# URLEncoder and PHP's urlencode (the asterisk kept, a space as +)
_URL_KEPT = ("-_.~", "-_.", "-_.~/", "-_.!~*'()", "-_.!~*'();/?:@&=+$,#", "-_.*")


def _percent(value: str, kept: str, plus: bool, lower: bool) -> str:
    hexes = "%{:02x}" if lower else "%{:02X}"
    out = []
    for char in value:
        if (char.isascii() and char.isalnum()) or char in kept:
            out.append(char)
        elif char == " " and plus:
            out.append("+")
        else:
            out.extend(hexes.format(b) for b in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _url_variants(value: str) -> set[str]:
    """:func:`url_forms`, and every way the common encoders write the value."""
    return url_forms(value) | {_percent(value, kept, plus, lower) for kept in _URL_KEPT
                               for plus in (False, True) for lower in (False, True)}


def _text_forms(value: str) -> set[str]:
    """How a value reads inside JSON (escaped quotes, backslashes, non-ASCII) or HTML."""
    json_forms = {jsonlib.dumps(value)[1:-1], jsonlib.dumps(value, ensure_ascii=False)[1:-1]}
    html_forms = {html.escape(value), html.escape(value, quote=False),
                  value.replace("'", "&#x27;").replace('"', "&quot;")}
    return json_forms | html_forms | {h.replace("&#x27;", "&#39;") for h in html_forms}


def _forms(value: str) -> set[str]:
    """The text forms one value takes on the wire and in replies: raw, URL-encoded (by any
    common encoder, either hex case), base64, JSON-escaped, HTML-escaped."""
    return {value} | _url_variants(value) | _b64_forms(value) | _text_forms(value)


LOOSE_MIN = 12  # a secret this long is masked wherever it stands, even glued to a word


def _loose_forms(value: str) -> set[str]:
    """The forms masked wherever they stand, even glued to a word: a long secret's."""
    return _forms(value) if len(value) >= LOOSE_MIN else set()


# What may stand before a secret that starts with a word character, checked once its first
# character is matched (a pattern that starts with literals is scanned for them in C; one
# that starts with a lookbehind is tried at every position): not a word character, or an
# escape, which is a boundary too: %20 (URL), \n or \u0022 (JSON).
_AFTER_FIRST = (r"(?:(?<=%[0-9A-Fa-f]{2}[\s\S])|(?<=\\[nrtbf/][\s\S])"
                r"|(?<=\\u[0-9A-Fa-f]{4}[\s\S])|(?<!\w[\s\S]))")


def _bounds(form: str) -> tuple[str, str]:
    """The lookarounds that make ``form`` match as a whole secret only, never part of a word:
    the one checked after its first character, and the one after its end.

    ``secret`` must not turn ``api_secret`` into ``api_***``: a short secret travels as a
    whole token (after ``:``, ``=``, a space, a quote), never glued to other letters. (A
    long one is masked wherever it stands: :func:`_loose_forms`.)
    """
    head = _AFTER_FIRST if re.match(r"\w", form[0]) else ""
    tail = r"(?!\w)" if re.match(r"\w", form[-1]) else ""
    return head, tail


def trie_pattern(words: Iterable[str], tails: Mapping[str, str] | None = None) -> str:
    """One regex alternative for many literal words, as a trie: at each position only one
    branch is followed, so matching stays fast with hundreds of words. The longest word
    wins; ``tails`` gives a word the lookahead that must hold where it ends."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = (tails or {}).get(word, "")

    def emit(node: dict[str, Any]) -> str:
        branches = [chain(c, child) for c, child in sorted(node.items()) if c]
        if "" in node:  # a word ends here: tried after every longer one
            branches.append(node[""])
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    def chain(char: str, node: dict[str, Any]) -> str:
        """A run of characters with one way on is walked, not recursed into (a token may
        be thousands of characters long)."""
        run = [char]
        while len(node) == 1 and "" not in node:
            (char, node), = node.items()
            run.append(char)
        return re.escape("".join(run)) + emit(node)

    return emit(trie)


def _pattern(forms: Iterable[str], loose: Iterable[str] = (),
             cores: Iterable[str] = ()) -> re.Pattern[str] | None:
    """Every form, grouped by the lookbehind it needs; each group one trie whose word ends
    carry their lookaheads. The ``loose`` forms (masked wherever they stand) go first: a
    long secret may hold a short one. The base64 ``cores`` go last: a longer encoded form
    (the Basic header's ``key:secret``) that starts where one does is taken whole."""
    anywhere = {f for f in loose if f}
    groups: list[tuple[str, dict[str, str]]] = [("", dict.fromkeys(anywhere, ""))]
    bounded: dict[str, dict[str, str]] = {}
    for form in {f for f in forms if f} - anywhere:
        head, tail = _bounds(form)
        bounded.setdefault(head, {})[form] = tail
    groups += [*bounded.items(), ("", dict.fromkeys({c for c in cores if c} - anywhere, ""))]
    # one alternative per first character, each a literal: the regex engine then skips, in
    # C, every position no secret can start at (a lookbehind or a group first defeats it)
    after: dict[str, list[str]] = {}
    for head, tails in groups:
        rests: dict[str, dict[str, str]] = {}
        for form, tail in tails.items():
            rests.setdefault(form[0], {})[form[1:]] = tail
        for first, rest in rests.items():
            after.setdefault(first, []).append(head + trie_pattern(rest, rest))
    if not after:
        return None
    return re.compile("|".join(
        re.escape(first) + (ways[0] if len(ways) == 1 else "(?:" + "|".join(ways) + ")")
        for first, ways in sorted(after.items())))


class Literals:
    """Whether a text holds any of many literal words, found by one RE2 automaton (a DFA:
    a few nanoseconds a byte, whatever the number of words) where Python's regex engine
    scans at some 60 to 80 ns a character with a hundred secrets registered. It stands
    before the secret and name patterns, whose every match is one whole word: a text it
    says holds none is left as it is; one it says may hold one is searched by the pattern,
    whose lookarounds decide.

    Exact whatever the text: the words and the text are compared as UTF-8 bytes (lone
    surrogates kept), each byte one character of the automaton, and a word inside a text is
    inside its bytes. Should RE2 refuse the words (too many for its memory bound), every
    text may hold one: the pattern then looks at each.
    """

    MAX_MEM = 256 << 20  # bytes RE2 may use for the automaton of a site's learned names
    # characters: a shorter text is searched by the pattern at once (a call into RE2 costs
    # about 2 us, what the pattern takes for some 40 characters)
    SCAN_MIN = 48

    def __init__(self, words: Iterable[str]) -> None:
        import re2  # type: ignore[import-untyped]

        encoded = sorted({w.encode("utf-8", "surrogatepass") for w in words if w})
        self._scan: Any = None
        self._none = not encoded  # no word: no text holds one
        if self._none:
            return
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1  # a byte is a character
        options.max_mem = self.MAX_MEM
        options.never_capture = True
        options.log_errors = False
        pattern = b"|".join(b"".join(b"\\x%02x" % byte for byte in word) for word in encoded)
        try:
            self._scan = re2.compile(pattern, options)
        except re2.error:
            self._scan = None

    def may_hold(self, text: str) -> bool:
        """False only when ``text`` holds no word; True: it may (search it)."""
        if self._none:
            return False
        if self._scan is None:
            return True
        return self._scan.search(text.encode("utf-8", "surrogatepass")) is not None


def mask(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every secret value, and its encoded forms, in ``text`` with ``***``.

    ``Authorization: Basic base64(api_key:api_secret)`` encodes two values at once,
    so the base64 of every ``a:b`` pair of the given values is masked too.
    """
    values = [v for v in (_value_of(s) for s in secrets) if v]
    if not values or not text:
        return text
    forms: set[str] = set()
    loose: set[str] = set()
    cores: set[str] = set()
    for value in values:
        forms |= _forms(value)
        loose |= _loose_forms(value)
        cores |= _b64_cores(value)
    for first in values:
        for second in values:
            if first != second:
                forms |= _b64_forms(f"{first}:{second}")
    pattern = _pattern(forms, loose, cores)
    return pattern.sub(MASK, text) if pattern else text


class SecretRegistry:
    """The secrets one process knows; every logger and renderer masks with it.

    Each registered value is masked in every form of :func:`_forms`. A value
    that travels combined with another (the Basic header's ``key:secret``) is
    registered combined too, by whoever builds it (see :func:`basic_credential`).
    Every value is registered, however short (a short one is masked as a whole token only,
    so it garbles little, and it is still the user's credential), but one of fewer than four
    characters none of which is a letter or a digit (the ``:`` of an empty key and secret).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self._loose: set[str] = set()
        self._cores: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._literals: tuple[int, Literals] | None = None
        self.version = 0  # bumped on every change: lets a cache of masked texts stay valid

    def register(self, value: Secret | str | None) -> None:
        raw = _value_of(value) if value is not None else ""
        if not raw or (len(raw) < 4 and not any(c.isalnum() for c in raw)):
            return  # ":" of an empty key and secret: masking it would garble every text
        with self._lock:
            if raw in self._values:
                return
            self._values.add(raw)
            self._forms |= _forms(raw)
            self._loose |= _loose_forms(raw)
            self._cores |= _b64_cores(raw)
            self._pattern = _pattern(self._forms, self._loose, self._cores)
            self.version += 1

    def mask(self, text: str) -> str:
        if not text:
            return text
        pattern, scan = self.literals()
        if pattern is None or (len(text) >= Literals.SCAN_MIN and scan is not None
                               and not scan.may_hold(text)):
            return text
        return pattern.sub(MASK, text)

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """What :meth:`mask` searches for now (None: nothing registered)."""
        with self._lock:
            return self._pattern

    def literals(self) -> tuple[re.Pattern[str] | None, Literals | None]:
        """:attr:`pattern` and the :class:`Literals` of the very forms it matches (built on
        first use, once per change)."""
        with self._lock:
            if self._pattern is None:
                return None, None
            if self._literals is None or self._literals[0] != self.version:
                words = self._forms | self._loose | self._cores
                self._literals = (self.version, Literals(words))
            return self._pattern, self._literals[1]

    def snapshot(self) -> frozenset[str]:
        """What is registered now (opaque; for :meth:`restore`, e.g. between tests)."""
        with self._lock:
            return frozenset(self._values)

    def restore(self, snapshot: frozenset[str]) -> None:
        self.clear()
        for value in snapshot:
            self.register(value)

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._forms = set()
            self._loose = set()
            self._cores = set()
            self._pattern = None
            self.version += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self)} secrets)"


REGISTRY = SecretRegistry()


class Masker(Protocol):
    """Anything that masks a text: a :class:`SecretRegistry`, or the output Redactor."""

    def mask(self, text: str) -> str: ...


class MaskingFilter(logging.Filter):
    """A logging filter that masks the message, arguments and traceback of each record."""

    def __init__(self, registry: Masker | None = None) -> None:
        super().__init__()
        self.registry = registry if registry is not None else REGISTRY

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep the raw parts
            message = f"{record.msg} {record.args!r}"
        record.msg = self.registry.mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.registry.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.registry.mask(record.stack_info)
        return True


def install_log_masking(
    target: logging.Logger | logging.Handler | None = None,
    registry: Masker | None = None,
) -> MaskingFilter:
    """Add a :class:`MaskingFilter` to ``target``, or to every handler of the root logger.

    Filters on a handler see every record that reaches it, including those of child
    loggers; that is why the default is the root logger's handlers (and the root
    logger itself, for handlers added later through ``logging.lastResort``).
    """
    masking = MaskingFilter(registry)
    if target is not None:
        _add_once(target, masking)
        return masking
    root = logging.getLogger()
    _add_once(root, masking)
    for handler in root.handlers:
        _add_once(handler, masking)
    return masking


def _add_once(target: logging.Logger | logging.Handler, masking: MaskingFilter) -> None:
    if not any(isinstance(f, MaskingFilter) for f in target.filters):
        target.addFilter(masking)


def masked(value: Any) -> str:
    """``str(value)`` with every registered secret masked."""
    return REGISTRY.mask(str(value))


def basic_credential(api_key: Secret, api_secret: Secret) -> Secret:
    """``base64(api_key:api_secret)`` for a Basic header, registered for masking."""
    raw = f"{api_key.reveal()}:{api_secret.reveal()}".encode()
    encoded = Secret(base64.b64encode(raw).decode("ascii"), source=api_secret.source)
    REGISTRY.register(encoded)
    REGISTRY.register(f"{api_key.reveal()}:{api_secret.reveal()}")
    return encoded
