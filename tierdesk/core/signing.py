"""HMAC signatures of webhooks, the way GitHub, Jira and our own generic webhook write them.

One place for both directions: what we sign going out and what we check coming in.
"""

from __future__ import annotations

import hashlib
import hmac


def sha256_signature(secret: str, message: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of message>`, the header value GitHub and Jira send."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def timestamped_message(timestamp: str, body: bytes) -> bytes:
    """What a generic webhook signs: the timestamp, a dot, the raw body (so a replay must be fresh)."""
    return timestamp.encode("ascii", "replace") + b"." + body


def signature_matches(secret: str, message: bytes, given: str) -> bool:
    """Constant-time check of a `sha256=...` header; an empty secret never matches anything."""
    if not secret or not given:
        return False
    expected = sha256_signature(secret, message)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().encode("ascii", "replace"))
