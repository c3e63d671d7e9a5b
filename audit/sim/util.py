"""Small helpers shared by the simulator: clocks, names, hashes."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from datetime import UTC, datetime

HASH_ALPHABET = string.digits + string.ascii_lowercase
TOKEN_ALPHABET = string.ascii_letters + string.digits


def fmt_time(epoch: float) -> str:
    """Frappe's datetime text: ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC, the site time zone)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def now_str() -> str:
    return fmt_time(time.time())


def random_name(length: int = 10) -> str:
    """A document name like Frappe's ``generate_hash(length=10)``: digits and lower-case letters."""
    return "".join(secrets.choice(HASH_ALPHABET) for _ in range(length))


def stable_name(*parts: str, length: int = 10) -> str:
    """A name derived from ``parts``: the same input always gives the same name."""
    digest = int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        digest, rem = divmod(digest, len(HASH_ALPHABET))
        out.append(HASH_ALPHABET[rem])
    return "".join(out)


def random_token(length: int = 30) -> str:
    """An OAuth token / code like oauthlib's ``generate_token``."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(length))


def exc_id() -> str:
    """A ``__frappe_exc_id`` value (56 hex characters)."""
    return secrets.token_hex(28)


def scrub(text: str) -> str:
    """Frappe's ``scrub``: lower case, spaces and hyphens to underscores."""
    return text.replace(" ", "_").replace("-", "_").lower()


def full_name_of(email: str) -> str:
    """The title-cased local part of an e-mail (``clerk@example.com`` -> ``Clerk``)."""
    local = email.split("@", 1)[0]
    return " ".join(p.capitalize() for p in local.replace(".", " ").replace("_", " ").split())
