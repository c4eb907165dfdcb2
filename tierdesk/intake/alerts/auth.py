"""Is a delivery from the monitoring source it names? A bearer token, or an HMAC signature that is fresh.

- Token: `Authorization: Bearer <token>`, the token shown once when the source was made (or
  re-issued); only its SHA-256 is stored. Every tool here can send a header: Alertmanager
  (`http_config.authorization`), Grafana (the contact point's authorization header), Zabbix (the
  media type's script), generic senders. PagerDuty-style senders, which only know an integration
  key, may put the token in the body's `routing_key` instead, as PagerDuty itself reads it.
- Signature, the scheme of our generic engineering webhook (intake/webhooks.py):
  `X-Tierdesk-Signature: sha256=<HMAC-SHA256 of "{timestamp}.{body}">`, `X-Tierdesk-Timestamp`
  (seconds; refused when more than five minutes off) and `X-Tierdesk-Delivery`, an id per delivery
  that the service records so a replay within those minutes is refused too.

Nothing here touches the database; recording the delivery id is the service's job.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

from tierdesk.accounts.models import hash_token
from tierdesk.core import secrets
from tierdesk.core.signing import signature_matches, timestamped_message
from tierdesk.intake.models import AlertSource

TIMESTAMP_TOLERANCE = 5 * 60  # seconds
MAX_DELIVERY_ID = 200


class Refused(Exception):
    """Not accepted: answered with `status` (401 unproven, 403 stale or replayed) and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or "").strip()


def token_matches(source: AlertSource, token: str) -> bool:
    if not source.token_hash or not token:
        return False
    return hmac.compare_digest(hash_token(token).encode("ascii"), source.token_hash.encode("ascii"))


def _signed(source: AlertSource, headers: Mapping[str, str], body: bytes, now: float) -> str:
    secret = secrets.decrypt(source.signing_secret_encrypted)
    if not secret:
        raise Refused(401, "this source has no signing secret: send its token as Authorization: Bearer <token>")
    timestamp = _header(headers, "X-Tierdesk-Timestamp")
    if not timestamp:
        raise Refused(401, "missing X-Tierdesk-Timestamp")
    if not signature_matches(secret, timestamped_message(timestamp, body), _header(headers, "X-Tierdesk-Signature")):
        raise Refused(401, "bad signature in X-Tierdesk-Signature")
    delivery = _header(headers, "X-Tierdesk-Delivery")
    if not delivery:
        raise Refused(401, "missing X-Tierdesk-Delivery (an id per delivery, so that replays can be refused)")
    if len(delivery) > MAX_DELIVERY_ID:
        raise Refused(401, f"X-Tierdesk-Delivery is longer than {MAX_DELIVERY_ID} characters")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Refused(401, "X-Tierdesk-Timestamp is not whole seconds") from None
    if abs(now - sent_at) > TIMESTAMP_TOLERANCE:
        raise Refused(403, f"stale timestamp: {abs(int(now - sent_at))} s off, at most {TIMESTAMP_TOLERANCE} s allowed")
    return delivery


def _routing_key(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    key = payload.get("routing_key") if isinstance(payload, dict) else None
    return key.strip() if isinstance(key, str) else ""


def authenticate(source: AlertSource, headers: Mapping[str, str], body: bytes, *, now: float) -> str:
    """The delivery id to record when the delivery is signed, "" when a token proved it; else Refused."""
    if _header(headers, "X-Tierdesk-Signature"):
        return _signed(source, headers, body, now)
    authorization = _header(headers, "Authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "the Authorization header must read 'Bearer <token>'")
        if not token_matches(source, token.strip()):
            raise Refused(401, "bad token")
        return ""
    if source.kind == AlertSource.Kind.PAGERDUTY:
        key = _routing_key(body)
        if key:
            if not token_matches(source, key):
                raise Refused(401, "bad token in routing_key")
            return ""
    raise Refused(
        401,
        "unsigned: send Authorization: Bearer <token>, or X-Tierdesk-Signature with X-Tierdesk-Timestamp "
        "and X-Tierdesk-Delivery",
    )
