"""Opening an issue in an engineering tracker, exactly as each vendor documents its API.

- GitHub REST "Create an issue": POST {base}/repos/{owner}/{repo}/issues, a bearer token, the
  API version header, JSON {title, body, labels}; the answer carries `number` and `html_url`.
- Jira Cloud REST v3 "Create issue": POST {base}/rest/api/3/issue, basic auth with the account
  e-mail and an API token, JSON {"fields": {...}} with the description in Atlassian Document
  Format; the answer carries `key`, and the issue lives at {base}/browse/{key}.
- A generic webhook: POST {base} with JSON, signed like our inbound webhooks:
  X-Tierdesk-Signature = sha256=HMAC(outbound secret, "{timestamp}.{body}").

The request is queued through the outbox in the hand-off's transaction. Credentials and the
signature are added only as the request leaves (`outbox.on_sending`), so no token is stored
with the message, logged, or written to the timeline or the audit trail.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tierdesk.core.errors import DomainError
from tierdesk.core.signing import sha256_signature, timestamped_message
from tierdesk.notifications import outbox
from tierdesk.notifications.models import OutboxMessage
from tierdesk.routing import services as routing
from tierdesk.routing.models import EngineeringLink, EngineeringTracker

logger = logging.getLogger(__name__)

PURPOSE = "engineering_issue"
GITHUB_API_VERSION = "2022-11-28"
USER_AGENT = "Tierdesk"  # GitHub refuses requests without one
Kind = EngineeringTracker.Kind


@dataclass(frozen=True)
class IssueRequest:
    method: str
    url: str
    headers: dict[str, str]  # stored with the outbox message: never a credential
    body: str


def message_key(link_id: int) -> str:
    return f"engineering:{link_id}"


def _link_id(message: OutboxMessage) -> int:
    return int(message.key.removeprefix("engineering:"))


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _base(tracker: EngineeringTracker) -> str:
    return tracker.base_url.rstrip("/")


def _github_repo(tracker: EngineeringTracker) -> tuple[str, str]:
    owner, _, repo = tracker.project.strip().partition("/")
    if not owner or not repo or "/" in repo:
        raise DomainError(f"{tracker.name}: the GitHub project must be owner/repo, not {tracker.project!r}.")
    return owner, repo


def _check_configured(tracker: EngineeringTracker) -> None:
    missing = {
        Kind.GITHUB: [("token", tracker.token)],
        Kind.JIRA: [("project key", tracker.project), ("account e-mail", tracker.username), ("token", tracker.token)],
        Kind.WEBHOOK: [("outbound secret", tracker.outbound_secret)],
    }[Kind(tracker.kind)]
    names = [name for name, value in missing if not value.strip()]
    if names:
        raise DomainError(f"{tracker.name} is missing its {', '.join(names)}.")
    if tracker.kind == Kind.GITHUB:
        _github_repo(tracker)


# --- what goes out ------------------------------------------------------------------------------------


def _title(link: EngineeringLink) -> str:
    # Jira's summary is one line under 255 characters; GitHub takes the same.
    return _one_line(f"[{link.ticket.number}] {link.ticket.title}", 250)


def _sections(link: EngineeringLink) -> list[tuple[str, str]]:
    # Only what the agent wrote for engineering, the ticket's number and priority: nothing of the
    # requester (name, e-mail, the original description), since a tracker may be public.
    ticket = link.ticket
    return [
        ("Reproduction steps", link.reproduction_steps),
        ("Environment", link.environment or "Not given."),
        ("Service desk", f"Ticket {ticket.number} ({ticket.get_priority_display()}), engineering link {link.pk}."),
    ]


def _markdown(link: EngineeringLink) -> str:
    return "\n\n".join(f"### {heading}\n\n{text}" for heading, text in _sections(link))


def _adf_paragraphs(text: str) -> list[dict[str, Any]]:
    """Plain text as ADF paragraphs: blank lines split paragraphs, line breaks become hardBreak."""
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        content: list[dict[str, Any]] = []
        for line in lines:
            if content:
                content.append({"type": "hardBreak"})
            content.append({"type": "text", "text": line})
        if content:
            paragraphs.append({"type": "paragraph", "content": content})
    return paragraphs


def atlassian_document(link: EngineeringLink) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for heading, text in _sections(link):
        content.append({"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": heading}]})
        content.extend(_adf_paragraphs(text))
    return {"type": "doc", "version": 1, "content": content}


def issue_request(link: EngineeringLink) -> IssueRequest:
    """The request that opens the issue for this link, without its credentials."""
    tracker = link.tracker
    _check_configured(tracker)
    payload: dict[str, Any]
    if tracker.kind == Kind.GITHUB:
        owner, repo = _github_repo(tracker)
        url = f"{_base(tracker)}/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/issues"
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": GITHUB_API_VERSION}
        payload = {"title": _title(link), "body": _markdown(link), "labels": ["bug", "tierdesk"]}
    elif tracker.kind == Kind.JIRA:
        url = f"{_base(tracker)}/rest/api/3/issue"
        headers = {"Accept": "application/json"}
        payload = {
            "fields": {
                "project": {"key": tracker.project.strip()},
                "summary": _title(link),
                "description": atlassian_document(link),
                "issuetype": {"name": "Bug"},
            }
        }
    else:
        url = tracker.base_url
        headers = {"Accept": "application/json"}
        payload = {
            "event": "engineering_requested",
            "link_id": link.pk,
            "ticket": link.ticket.number,
            "title": link.ticket.title,
            "priority": link.ticket.priority,
            "reproduction_steps": link.reproduction_steps,
            "environment": link.environment,
        }
    headers |= {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return IssueRequest(method="POST", url=url, headers=headers, body=json.dumps(payload))


def credentials(tracker: EngineeringTracker, body: str, *, now: float | None = None) -> dict[str, str]:
    """The headers that prove who we are, built as the request leaves (see outbox.on_sending)."""
    if tracker.kind == Kind.GITHUB:
        headers = {"Authorization": f"Bearer {tracker.token.strip()}"}
    elif tracker.kind == Kind.JIRA:
        pair = f"{tracker.username.strip()}:{tracker.token.strip()}".encode()
        headers = {"Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"}
    else:
        timestamp = str(int(time.time() if now is None else now))
        signature = sha256_signature(tracker.outbound_secret, timestamped_message(timestamp, body.encode("utf-8")))
        headers = {"X-Tierdesk-Timestamp": timestamp, "X-Tierdesk-Signature": signature}
    if any("\r" in value or "\n" in value for value in headers.values()):
        raise outbox.DeliveryRefused(f"{tracker.name}: a credential contains a line break; fix it in the admin")
    return headers


# --- what comes back ----------------------------------------------------------------------------------


def parse_issue(tracker: EngineeringTracker, link: EngineeringLink, response_body: str) -> tuple[str, str]:
    """(issue number or key, its address) from the tracker's answer; ValueError if it has none."""
    try:
        answer = json.loads(response_body) if response_body.strip() else None
    except ValueError:
        answer = None
    if tracker.kind == Kind.GITHUB:
        if not isinstance(answer, dict) or not isinstance(answer.get("number"), int):
            raise ValueError("GitHub answered without an issue number")
        return str(answer["number"]), str(answer.get("html_url") or "")
    if tracker.kind == Kind.JIRA:
        if not isinstance(answer, dict) or not isinstance(answer.get("key"), str) or not answer["key"].strip():
            raise ValueError("Jira answered without an issue key")
        key = answer["key"].strip()
        return key, f"{_base(tracker)}/browse/{quote(key, safe='')}"
    # A generic receiver may name its own item; otherwise our link id is the reference.
    if isinstance(answer, dict) and answer.get("id") not in (None, ""):
        return _one_line(str(answer["id"]), 120), str(answer.get("url") or "")
    return str(link.pk), ""


# --- the outbox's handlers ----------------------------------------------------------------------------


def queue_issue(link_id: int) -> OutboxMessage:
    """Queue the request that opens the link's issue, in the caller's transaction. Idempotent by key."""
    link = EngineeringLink.objects.select_related("tracker", "ticket").get(pk=link_id)
    request = issue_request(link)
    return outbox.queue_http(
        organisation_id=link.organisation_id,
        key=message_key(link.pk),
        purpose=PURPOSE,
        method=request.method,
        url=request.url,
        headers=request.headers,
        body=request.body,
        ticket_id=link.ticket_id,
    )


def sign_request(message: OutboxMessage) -> dict[str, str]:
    link = EngineeringLink.objects.select_related("tracker").filter(pk=_link_id(message)).first()
    if link is None:
        raise outbox.DeliveryRefused("the engineering link is gone")
    # Today's credentials, not those of the day it was queued: a rotated token takes effect on retry.
    return credentials(link.tracker, message.body)


def issue_opened(message: OutboxMessage) -> None:
    """The tracker answered 2xx: record the issue on the link (in the delivering transaction)."""
    link = EngineeringLink.objects.select_related("tracker").filter(pk=_link_id(message)).first()
    if link is None:
        return
    try:
        external_id, url = parse_issue(link.tracker, link, message.response_body)
    except ValueError as exc:
        # Sent, but we cannot tell which issue it became: a person must look (and not a resend).
        logger.warning("engineering link %s: %s (HTTP %s)", link.pk, exc, message.response_status)
        routing.engineering_failed(link_id=link.pk, reason=f"{exc} (HTTP {message.response_status}); check the tracker")
        return
    routing.record_engineering_issue(link_id=link.pk, external_id=external_id, url=url)


def issue_not_opened(message: OutboxMessage) -> None:
    """The outbox gave up: the link failed and the ticket comes back to work."""
    routing.engineering_failed(
        link_id=_link_id(message),
        reason=f"gave up after {message.attempts} attempts; last error: {message.last_error or 'none recorded'}",
    )


def register() -> None:
    outbox.on_sending[PURPOSE] = sign_request
    outbox.on_delivered[PURPOSE] = issue_opened
    outbox.on_given_up[PURPOSE] = issue_not_opened
