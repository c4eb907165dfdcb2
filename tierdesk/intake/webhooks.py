"""Reading a tracker's webhook: is it signed by the tracker, is it fresh, and what does it say.

Each tracker kind signs the way its vendor documents:

- GitHub: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>`, `X-GitHub-Delivery` (a
  GUID per event, kept on redelivery), `X-GitHub-Event`; "issues" with action "closed" resolves.
- Jira Cloud (admin webhooks with a secret): `X-Hub-Signature: sha256=<HMAC-SHA256 of the raw
  body>`, `X-Atlassian-Webhook-Identifier` (unchanged across retries); "jira:issue_updated"
  whose status category is "done", or whose resolution is set, resolves.
- Generic: `X-Tierdesk-Signature: sha256=<HMAC-SHA256 of "{timestamp}.{body}">` with
  `X-Tierdesk-Timestamp` (seconds; refused when more than five minutes off) and
  `X-Tierdesk-Delivery`; {"event": "resolved", "id": ..., "resolution": ...} resolves.

Pure: no database, so each rule is tested directly and the service stays short.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tierdesk.core.signing import signature_matches, timestamped_message
from tierdesk.routing.models import EngineeringTracker

Kind = EngineeringTracker.Kind
TIMESTAMP_TOLERANCE = 5 * 60  # seconds
MAX_DELIVERY_ID = 200


class Refused(Exception):
    """The delivery is not accepted: answered with `status` and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class TrackerEvent:
    delivery_id: str
    name: str  # e.g. "issues.closed", "jira:issue_updated", "resolved"
    issue: str = ""  # the issue number or key it resolves
    resolution: str = ""
    ignored: str = ""  # why we do not act on it; empty when it resolves `issue`


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or "").strip()


def _verify(secret: str, message: bytes, given: str, header: str) -> None:
    if not given:
        raise Refused(401, f"missing {header}")
    if not signature_matches(secret, message, given):
        raise Refused(401, f"bad signature in {header}")


def _delivery_id(headers: Mapping[str, str], header: str) -> str:
    value = _header(headers, header)
    if not value:
        raise Refused(400, f"missing {header}")
    if len(value) > MAX_DELIVERY_ID:
        raise Refused(400, f"{header} is longer than {MAX_DELIVERY_ID} characters")
    return value


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refused(400, "the body is not JSON (send the webhook as application/json)") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a JSON object")
    return payload


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _github(tracker: EngineeringTracker, headers: Mapping[str, str], body: bytes) -> TrackerEvent:
    _verify(tracker.inbound_secret, body, _header(headers, "X-Hub-Signature-256"), "X-Hub-Signature-256")
    delivery = _delivery_id(headers, "X-GitHub-Delivery")
    payload = _payload(body)
    event, action = _header(headers, "X-GitHub-Event"), payload.get("action")
    name = f"{event}.{action}" if isinstance(action, str) and action else event or "unnamed"
    if event != "issues" or action != "closed":
        return TrackerEvent(delivery, name, ignored=f"GitHub {name} does not close an issue")
    repository = str(_object(payload.get("repository")).get("full_name") or "")
    if repository.lower() != tracker.project.strip().lower():
        return TrackerEvent(delivery, name, ignored=f"an issue of {repository or 'another repository'}")
    issue = _object(payload.get("issue"))
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise Refused(400, "issues event without an issue number")
    reason = str(issue.get("state_reason") or "completed").replace("_", " ")
    return TrackerEvent(delivery, name, issue=str(number), resolution=f"issue closed as {reason}")


def _jira(tracker: EngineeringTracker, headers: Mapping[str, str], body: bytes) -> TrackerEvent:
    _verify(tracker.inbound_secret, body, _header(headers, "X-Hub-Signature"), "X-Hub-Signature")
    delivery = _delivery_id(headers, "X-Atlassian-Webhook-Identifier")
    payload = _payload(body)
    name = str(payload.get("webhookEvent") or "unnamed")
    if name != "jira:issue_updated":
        return TrackerEvent(delivery, name, ignored=f"Jira {name} does not resolve an issue")
    issue = _object(payload.get("issue"))
    key = issue.get("key")
    if not isinstance(key, str) or not key.strip():
        raise Refused(400, "jira:issue_updated without an issue key")
    key = key.strip()
    if not key.upper().startswith(f"{tracker.project.strip().upper()}-"):
        return TrackerEvent(delivery, name, ignored=f"{key} is not in project {tracker.project}")
    fields = _object(issue.get("fields"))
    status = _object(fields.get("status"))
    category = _object(status.get("statusCategory")).get("key")
    resolution = _object(fields.get("resolution"))
    if category != "done" and not resolution:
        return TrackerEvent(delivery, name, ignored=f"{key} is not resolved (status {status.get('name') or '?'})")
    text = str(resolution.get("name") or status.get("name") or "Done")
    return TrackerEvent(delivery, name, issue=key, resolution=text)


def _generic(tracker: EngineeringTracker, headers: Mapping[str, str], body: bytes, now: float) -> TrackerEvent:
    timestamp = _header(headers, "X-Tierdesk-Timestamp")
    if not timestamp:
        raise Refused(401, "missing X-Tierdesk-Timestamp")
    message = timestamped_message(timestamp, body)
    _verify(tracker.inbound_secret, message, _header(headers, "X-Tierdesk-Signature"), "X-Tierdesk-Signature")
    delivery = _delivery_id(headers, "X-Tierdesk-Delivery")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Refused(400, "X-Tierdesk-Timestamp is not whole seconds") from None
    if abs(now - sent_at) > TIMESTAMP_TOLERANCE:
        raise Refused(409, f"stale timestamp: {abs(int(now - sent_at))} s off, at most {TIMESTAMP_TOLERANCE} s allowed")
    payload = _payload(body)
    name = str(payload.get("event") or "unnamed")
    if name != "resolved":
        return TrackerEvent(delivery, name, ignored=f"event {name!r} does not resolve an issue")
    issue = payload.get("id")
    if not isinstance(issue, str | int) or isinstance(issue, bool) or not str(issue).strip():
        raise Refused(400, "a resolved event needs the issue's id")
    return TrackerEvent(delivery, name, issue=str(issue).strip(), resolution=str(payload.get("resolution") or ""))


def read(tracker: EngineeringTracker, headers: Mapping[str, str], body: bytes, *, now: float) -> TrackerEvent:
    """What a delivery says, once its signature (and, for the generic kind, its freshness) is proven."""
    if tracker.kind == Kind.GITHUB:
        return _github(tracker, headers, body)
    if tracker.kind == Kind.JIRA:
        return _jira(tracker, headers, body)
    return _generic(tracker, headers, body, now)
