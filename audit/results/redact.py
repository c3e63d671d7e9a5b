"""The one redaction step at the output boundary: what may leave the process, and how.

Every file writer (:mod:`audit.results.files`), the log filter and the terminal echo pass
their text through one :class:`Redactor`:

- configured secrets are masked in every form a reply can carry (:mod:`audit.config.secrets`);
- names of documents whose name *is* a credential (``OAuth Bearer Token`` is named by its
  access token, ``OAuth Authorization Code`` by its code, and any DocType autonamed from a
  Password or token-like field) become ``sha256:<first 12 hex>`` wherever they appear —
  the name field itself and every message that quotes it;
- terminal control characters a server sent are removed (ANSI escapes, C0/C1 controls,
  bidirectional overrides), so no reply can move the cursor, retitle the window or hide text.

The crawler keeps using the real names in its requests; only what is written or shown is
redacted. A redacted name is never redacted twice (``sha256:…`` stays as it is).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from audit.config.secrets import (
    MASK,
    REGISTRY,
    Literals,
    SecretRegistry,
    trie_pattern,
    url_forms,
)
from audit.crawl.inventory import DocTypeInfo, Inventory, Survey
from audit.model import ProbeResult

__all__ = [
    "REDACTOR", "SECRET_DOCTYPES", "Redactor", "apply_text", "fingerprint", "has_fingerprints",
    "is_fingerprint", "secret_bearing", "strip_controls",
]

SECRET_DOCTYPES: frozenset[str] = frozenset({"OAuth Bearer Token", "OAuth Authorization Code"})
# a naming field with one of these words holds a credential (access_token, authorization_code)
_CREDENTIAL_FIELD = re.compile(r"token|secret|password|passwd|api_key|authorization_code|otp",
                               re.IGNORECASE)
NAME_KEYS = frozenset({"name", "target", "document"})  # keys that hold a document name
MIN_NAME_IN_TEXT = 6
CACHE_SIZE = 100_000
FROZEN_MEMO = 500_000  # distinct texts the writers' shared memo keeps
PRIME_BATCH = 2_000  # texts prime() checks at a time: a batch holding a secret goes one by one
CACHE_TEXT_MAX = 4096  # a shorter secret name is redacted as a field, not searched for in prose
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{12}")

# ESC [ ... final byte, ESC ] ... BEL/ST, other two-byte escapes; then single control chars
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(  # a file keeps tab, newline and carriage return (CSV neutralises it)
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# the colour codes audit/render/terminal.py writes: the only escapes a terminal may get
_RENDERER_COLORS = re.compile(r"\x1b\[(?:0|1;31|31|33|36|34)m")
_CONTROLS_TERMINAL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r")
# a lone UTF-16 surrogate: valid in a JSON reply ("\\ud800"), but no UTF-8 file can hold it
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
_ODD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                  "\ud800-\udfff]")  # whatever either strip or the replacement would change


def fingerprint(name: str) -> str:
    """``sha256:<first 12 hex>`` of a secret name: stable across runs, not reversible."""
    return "sha256:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def is_fingerprint(text: str) -> bool:
    return _FINGERPRINT.fullmatch(text) is not None


def has_fingerprints(inventory: Inventory) -> bool:
    """True when a saved inventory holds fingerprinted names (they cannot be probed)."""
    return any(is_fingerprint(t.name) for targets in inventory.targets.values() for t in targets)


def secret_bearing(dt: DocTypeInfo) -> bool:
    """True when a document's name is a credential or holds one (decided from the meta):
    any field the name is built from is a Password field or named like a token."""
    if dt.name in SECRET_DOCTYPES:
        return True
    passwords = {f.fieldname for f in dt.fields or () if f.fieldtype == "Password"}
    return any(_CREDENTIAL_FIELD.search(field) or field in passwords
               for field in dt.name_fields())


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _holds_mapping(value: object) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return False
    if isinstance(value, list | tuple):
        return any(map(_holds_mapping, value))
    return isinstance(value, Mapping)


def strip_controls(text: str, *, terminal: bool = False) -> str:
    """``text`` without escape sequences and control characters (newline, tab and carriage
    return stay in a file; on a terminal, carriage returns go too), each lone surrogate
    replaced by U+FFFD."""
    if not text or (text.isascii() and text.isprintable()):  # no escape, no control
        return text
    if "\x1b" not in text and _ODD.search(text) is None:  # one scan of a whole page
        return text
    text = _ANSI.sub("", text)
    text = (_CONTROLS_TERMINAL if terminal else _CONTROLS).sub("", text)
    return text if text.isascii() else _SURROGATES.sub(REPLACEMENT, text)


class Redactor:
    """Masks secrets and secret names in everything written or shown; thread-safe.

    It learns secret names as they pass (a field named in :data:`NAME_KEYS` of a record
    about a secret-bearing DocType), so a later stderr line quoting one is redacted too.
    """

    def __init__(self, registry: SecretRegistry | None = None,
                 doctypes: Iterable[str] = SECRET_DOCTYPES) -> None:
        self.registry = registry if registry is not None else REGISTRY
        self._lock = threading.Lock()
        self._doctypes: set[str] = set(doctypes)
        self._names: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        # text -> redacted text; valid while no name is learned and no secret registered
        self._cache: dict[str, str] = {}
        self._learned = 0  # bumped by learn()
        self._cache_stamp = (-1, -1)  # (registry version, learned) the cache was made with
        self._frozen: tuple[tuple[int, int], tuple[Callable[[str], str], dict[str, str],
                                                   Callable[[list[str]], bool]]] | None = None
        self._name_literals: tuple[int, Literals] | None = None  # (learned, of _pattern)

    def reset(self) -> None:
        """Forget every secret and learned name: one command's secrets are its own."""
        self.registry.clear()
        with self._lock:
            self._doctypes = set(SECRET_DOCTYPES)
            self._names = {}
            self._pattern = None
            self._cache = {}
            self._learned += 1

    # -- what is secret --------------------------------------------------------------------
    def secret_doctype(self, doctype: object) -> bool:
        with self._lock:
            return isinstance(doctype, str) and doctype in self._doctypes

    @property
    def doctypes(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._doctypes)

    def learn_inventory(self, inventory: Inventory) -> None:
        """The secret-bearing DocTypes of this site (from the meta) and their known names."""
        found = {dt.name for dt in inventory.doctypes.values() if secret_bearing(dt)}
        with self._lock:
            self._doctypes |= found
        names = [t.name for doctype, targets in inventory.targets.items()
                 if self.secret_doctype(doctype) for t in targets]
        names += [share.name for facts in inventory.users.values() for share in facts.shares
                  if self.secret_doctype(share.doctype)]
        self.learn(*names)

    def learn_survey(self, doctype: str, survey: Survey) -> None:
        """The names one user's survey of a secret-bearing DocType found."""
        if self.secret_doctype(doctype):
            self.learn(*(t.name for docs in (survey.listed, survey.own, survey.shared,
                                             survey.permitted) for t in docs or ()))

    def learn_probes(self, probes: Iterable[ProbeResult]) -> None:
        """The targets (every attempt's too) of probe rows on secret-bearing DocTypes: what
        :meth:`json` would learn from their rows, without walking a million of them."""
        secret = self.doctypes
        self.learn(*(name for p in probes if p.doctype in secret
                     for name in (p.target, *(a.target for a in p.attempts))))

    def learn_rows(self, rows: Iterable[Mapping[str, object]]) -> None:
        """What :meth:`json` would learn from rows (a CSV file's, the findings), walking
        only the rows that name a secret-bearing DocType or hold a mapping (only a mapping
        can name a document)."""
        secret = self.doctypes
        found: list[str] = []
        for row in rows:
            if row.get("doctype") in secret or row.get("allow") in secret or any(
                    map(_holds_mapping, row.values())):
                self._learn(row, None, found)
        self.learn(*found)

    def learn(self, *names: str) -> None:
        """Remember secret document names (the real ones) so they are redacted everywhere."""
        with self._lock:
            new = {n for n in names if n and not is_fingerprint(n)
                   and n not in self._names and n not in self._doctypes}
            if not new:
                return
            known = dict(self._names)  # a new dict: a frozen() snapshot keeps the old one
            for name in new:
                hashed = fingerprint(name)
                known[name] = hashed
                # a text is stripped before names are looked for: the name as it then reads
                visible = strip_controls(name)
                if visible:
                    known.setdefault(visible, hashed)
                for form in {name, visible}:  # as it travels in a URL (debug logs)
                    with contextlib.suppress(UnicodeEncodeError):  # a surrogate cannot
                        for encoded in url_forms(form):
                            known.setdefault(encoded, hashed)
            self._names = known
            searchable = [n for n in known if len(n) >= MIN_NAME_IN_TEXT]
            self._pattern = re.compile(trie_pattern(searchable)) if searchable else None
            self._learned += 1

    def name(self, doctype: str, name: str) -> str:
        """A document name as it may be written: fingerprinted when secret-bearing."""
        if not self.secret_doctype(doctype) or not name or is_fingerprint(name):
            return name
        self.learn(name)
        return fingerprint(name)

    # -- applying it ------------------------------------------------------------------------
    def text(self, text: str) -> str:
        """One text for a file: secrets masked, secret names fingerprinted, controls gone."""
        if not text:
            return text
        stamp = (self.registry.version, self._learned)
        done = self._cache.get(text)  # a dict read needs no lock
        if done is not None and stamp == self._cache_stamp:
            return done
        out = self._redact(text)
        if len(text) > CACHE_TEXT_MAX:  # a whole page: not worth keeping
            return out
        with self._lock:  # kept only if nothing was learned or registered meanwhile
            if stamp == (self.registry.version, self._learned):
                if stamp != self._cache_stamp or len(self._cache) > CACHE_SIZE:
                    self._cache = {}
                    self._cache_stamp = stamp
                self._cache[text] = out
        return out

    def _redact(self, text: str) -> str:
        return _redact(text, *self._snapshot())

    def _snapshot(self) -> tuple[re.Pattern[str] | None, Mapping[str, str],
                                 re.Pattern[str] | None, Literals | None, Literals | None]:
        """The name pattern, the names, the secret pattern and the scans of the words of
        each, as one consistent state (each scan is of the very pattern beside it)."""
        with self._lock:
            pattern, names = self._pattern, self._names
            if pattern is not None and (self._name_literals is None
                                        or self._name_literals[0] != self._learned):
                words = [n for n in names if len(n) >= MIN_NAME_IN_TEXT]
                self._name_literals = (self._learned, Literals(words))
            name_scan = self._name_literals[1] if pattern is not None \
                and self._name_literals is not None else None
        secrets, secret_scan = self.registry.literals()
        return pattern, names, secrets, name_scan, secret_scan

    def frozen(self) -> Callable[[str], str]:
        """:meth:`text` for the writers, as it stands now: no lock per call, and one memo
        of distinct texts shared by every writer until a name is learned or a secret
        registered (then the next call makes a new one).

        A writer that has learned every name its rows hold calls this once and redacts a
        million texts with it; a name learned afterwards is not in it.
        """
        return self._frozen_now()[0]

    def prime(self, texts: Iterable[object]) -> None:
        """Put many texts in :meth:`frozen`'s memo at once: each batch that :meth:`unchanged`
        says redaction leaves as it is goes in as it is (a few C-level scans of it, where
        each text on its own costs a call into each scan); any other batch is left to be
        redacted text by text when it is asked for."""
        _redact, memo, check = self._frozen_now()
        fresh = [t for t in dict.fromkeys(texts)
                 if type(t) is str and t and len(t) <= CACHE_TEXT_MAX and t not in memo]
        for start in range(0, len(fresh), PRIME_BATCH):
            batch = fresh[start:start + PRIME_BATCH]
            if len(memo) + len(batch) > FROZEN_MEMO:
                return
            if check(batch):
                memo.update(zip(batch, batch, strict=True))

    def _frozen_now(self) -> tuple[Callable[[str], str], dict[str, str],
                                   Callable[[list[str]], bool]]:
        """The frozen redaction of now, its memo and the batch check of the same state."""
        stamp = (self.registry.version, self._learned)
        with self._lock:
            if self._frozen is not None and self._frozen[0] == stamp:
                return self._frozen[1]
        state = self._snapshot()  # replaced, never changed, by learn() and register()
        memo: dict[str, str] = {}

        def redact(text: str) -> str:
            done = memo.get(text)
            if done is not None:
                return done
            clean = _redact(text, *state)
            if len(text) <= CACHE_TEXT_MAX:  # a whole page is not worth keeping
                if len(memo) > FROZEN_MEMO:
                    memo.clear()
                memo[text] = clean
            return clean
        parts = (redact, memo, _unchanged(*state))
        with self._lock:
            if stamp == (self.registry.version, self._learned):
                self._frozen = (stamp, parts)
        return parts

    def unchanged(self) -> Callable[[list[str]], bool]:
        """For the writers, with :meth:`frozen` (the same snapshot when nothing is learned
        in between): whether redacting each of many texts would leave every one as it is,
        decided by a few C-level scans of them all (a run's times, ids and stamped replies
        are a million distinct texts, and hardly ever hold a secret). False is only "look
        at each one": a scan may see a match that spans two texts."""
        return _unchanged(*self._snapshot())

    def mask(self, text: str) -> str:
        """Same as :meth:`text`; lets the log filter take a Redactor for a registry."""
        return self.text(text)

    def terminal(self, text: str, colors: bool = False) -> str:
        """One text for a terminal: as :meth:`text`, carriage returns removed too.

        What a terminal (or a pipe, which drops colours) would not show is removed before
        the mask looks, so nothing it removes can rejoin a secret the mask did not see.
        ``colors=True`` keeps the few colour codes the terminal renderer itself writes
        (severity words), unless something to mask spans one: then the text is shown
        without colour.
        """
        if not colors:
            return self.text(strip_controls(text, terminal=True))
        parts = [strip_controls(p, terminal=True) for p in _RENDERER_COLORS.split(text)]
        whole = self.text("".join(parts))
        clean = [self.text(p) for p in parts]
        if "".join(clean) != whole:  # the mask sees more in the whole than in its parts
            return whole
        codes = _RENDERER_COLORS.findall(text)
        return "".join(p + code for p, code in zip(clean, [*codes, ""], strict=True))

    def json(self, document: Any) -> Any:
        """A redacted copy of a JSON-ready document (dicts, lists, strings, numbers)."""
        found: list[str] = []
        self._learn(document, None, found)
        self.learn(*found)
        return apply_text(document, self.frozen())

    def row(self, row: Mapping[str, object]) -> dict[str, object]:
        out: dict[str, object] = self.json(dict(row))
        return out

    def _learn(self, obj: Any, doctype: str | None, found: list[str]) -> None:
        if isinstance(obj, Mapping):
            own = obj.get("doctype")
            context = own if isinstance(own, str) else doctype
            allow = obj.get("allow")  # a User Permission on a secret document
            if isinstance(allow, str) and self.secret_doctype(allow) \
                    and isinstance(obj.get("for_value"), str):
                found.append(obj["for_value"])
            for key, value in obj.items():
                if isinstance(value, str):
                    if key in NAME_KEYS and context is not None and value != context \
                            and self.secret_doctype(context):
                        found.append(value)
                elif isinstance(value, Mapping | list | tuple):
                    inner = key if isinstance(key, str) and self.secret_doctype(key) else context
                    self._learn(value, inner, found)
        elif isinstance(obj, list | tuple):
            for item in obj:
                self._learn(item, doctype, found)


def _redact(text: str, pattern: re.Pattern[str] | None, names: Mapping[str, str],
            secrets: re.Pattern[str] | None, name_scan: Literals | None = None,
            secret_scan: Literals | None = None) -> str:
    """One text redacted: controls stripped, secret names fingerprinted, secrets masked.
    A scan (the :class:`Literals` of a pattern's words) lets a long text that holds none of
    them skip that pattern."""
    text = strip_controls(text)
    long = len(text) >= Literals.SCAN_MIN
    if text in names:  # a whole field (also a name too short to search for in prose)
        text = names[text]
    elif pattern is not None and not (long and name_scan is not None
                                      and not name_scan.may_hold(text)):
        text = pattern.sub(lambda m: names[m.group(0)], text)  # before masking: a token
        long = len(text) >= Literals.SCAN_MIN  # that is also a secret is named
    if secrets is None or not text or (long and secret_scan is not None
                                       and not secret_scan.may_hold(text)):
        return text
    return secrets.sub(MASK, text)


def _unchanged(pattern: re.Pattern[str] | None, names: Mapping[str, str],
               secrets: re.Pattern[str] | None, name_scan: Literals | None,
               secret_scan: Literals | None) -> Callable[[list[str]], bool]:
    """:meth:`Redactor.unchanged` of one state.

    The texts are scanned joined by NUL: no secret or name holds one (else this always
    says False), and every lookaround of the patterns reads a NUL beside a text as it
    reads the text's own start or end (neither is a word character, a letter or an
    escape), so a match inside one text is found in the joined scan too. The RE2 scan of
    each pattern's words comes first: a pattern is run only over a batch that holds one
    of its words."""
    found = [(p, scan) for p, scan in ((pattern, name_scan), (secrets, secret_scan))
             if p is not None]
    if any("\x00" in p.pattern for p, _scan in found):
        return lambda _texts: False

    def unchanged(texts: list[str]) -> bool:
        plain = "".join(texts)  # strip changes it iff it changes one of them (each
        if strip_controls(plain) != plain:  # escape starts, and each mark is, in one)
            return False
        if names and not names.keys().isdisjoint(texts):
            return False  # a whole field is a secret name
        if found:
            joined = "\x00".join(texts)
            return all((scan is not None and not scan.may_hold(joined))
                       or p.search(joined) is None for p, scan in found)
        return True
    return unchanged


def apply_text(obj: Any, text: Callable[[str], str]) -> Any:
    """``obj`` with ``text`` applied to every string in it, keys included."""
    kind = type(obj)  # the common JSON types first, without the abc checks
    if kind is str:
        return text(obj)
    if kind is dict:
        return {text(k) if type(k) is str else k: apply_text(v, text) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [apply_text(x, text) for x in obj]
    if kind is int or kind is float or kind is bool or obj is None:
        return obj
    if isinstance(obj, str):
        return text(str(obj))
    if isinstance(obj, Mapping):
        return {apply_text(k, text) if isinstance(k, str) else k: apply_text(v, text)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [apply_text(x, text) for x in obj]
    return obj


REDACTOR = Redactor()
"""The process's redactor: every writer, the log filter and the CLI's echo use it."""
