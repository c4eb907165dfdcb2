"""GitHub, Jira and a generic webhook receiver on loopback, as strict as their documentation.

One real HTTP server (http.server in a thread, port 0) answers at three prefixes:

- /github/repos/{owner}/{repo}/issues: GitHub REST "Create an issue" (bearer token, the
  vnd.github+json media type, X-GitHub-Api-Version 2022-11-28, a User-Agent, JSON with a
  title and only documented keys). 201 with the issue as GitHub returns it.
- /jira/rest/api/3/issue: Jira Cloud REST v3 "Create issue" (basic auth with the account
  e-mail and API token, {"fields": {...}} with a one-line summary and the description in
  Atlassian Document Format). 201 with {id, key, self}.
- /hooks/tierdesk: a generic receiver checking our documented signature (computed here with
  hmac directly, not with the code under test) and a fresh timestamp. 201 with {id, url}.

A request that departs from the documented shape gets the 4xx the vendor would answer, so a
test that relies on a 201 fails. `outages` are statuses answered first, one per request.
Also here: how each tracker signs the webhooks it sends back, for the inbound tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GITHUB_OWNER, GITHUB_REPO = "northwind", "desk-app"
GITHUB_TOKEN = "ghp_fakeTokenForTests0123456789abcdef"
JIRA_PROJECT = "OPS"
JIRA_EMAIL = "desk-bot@northwind.test"
JIRA_TOKEN = "ATATT-fake-jira-api-token"
WEBHOOK_SECRET = "outbound-secret-for-tests"

GITHUB_ISSUE_KEYS = {"title", "body", "assignee", "milestone", "labels", "assignees", "type"}
JIRA_TOP_KEYS = {"fields", "update", "historyMetadata", "properties", "transition"}
ADF_BLOCKS = {"paragraph", "heading", "codeBlock", "bulletList", "orderedList", "listItem", "blockquote", "rule"}
ADF_INLINE = {"text", "hardBreak"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int = 0  # what the fake answered

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeTrackers:
    received: list[Received] = field(default_factory=list)
    outages: list[int] = field(default_factory=list)
    webhook_answer: dict[str, Any] | None = field(
        default_factory=lambda: {"id": "ENG-7", "url": "https://engineering.northwind.test/items/ENG-7"}
    )
    next_github_number: int = 1347
    next_jira_id: int = 10012
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def github_url(self) -> str:
        return f"{self.url}/github"

    @property
    def jira_url(self) -> str:
        return f"{self.url}/jira"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/hooks/tierdesk"

    def start(self) -> FakeTrackers:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # the name http.server calls
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                fake.received.append(received)
                status, answer, extra = fake.answer(received)
                received.status = status
                payload = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json; charset=utf-8", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- the three trackers ------------------------------------------------------------------------

    def answer(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        if self.outages:
            return self.outages.pop(0), {"message": "Service unavailable"}, {}
        if request.path == f"/github/repos/{GITHUB_OWNER}/{GITHUB_REPO}/issues":
            return self.github(request)
        if request.path == "/jira/rest/api/3/issue":
            return self.jira(request)
        if request.path == "/hooks/tierdesk":
            return self.webhook(request)
        return 404, {"message": "Not Found"}, {}

    def github(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        h = request.headers
        if not h.get("user-agent"):
            return 403, {"message": "Request forbidden by administrative rules: send a User-Agent"}, {}
        if h.get("authorization") != f"Bearer {GITHUB_TOKEN}":
            return 401, {"message": "Bad credentials", "status": "401"}, {}
        if h.get("accept") != "application/vnd.github+json":
            return 415, {"message": "Unsupported 'Accept' header"}, {}
        if h.get("x-github-api-version") != "2022-11-28":
            return 400, {"message": f"Invalid API version {h.get('x-github-api-version')!r}"}, {}
        if not (h.get("content-type") or "").startswith("application/json"):
            return 415, {"message": "Unsupported 'Content-Type' header"}, {}
        data = _json_object(request.body)
        problems = []
        if data is None:
            problems.append("body is not a JSON object")
        else:
            problems += [f"unknown field {k!r}" for k in set(data) - GITHUB_ISSUE_KEYS]
            if not isinstance(data.get("title"), str) or not data["title"].strip():
                problems.append("title is required")
            if "body" in data and not isinstance(data["body"], str):
                problems.append("body must be a string")
            labels = data.get("labels", [])
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                problems.append("labels must be a list of strings")
        if problems or data is None:
            return 422, {"message": "Validation Failed", "errors": problems}, {}
        number = self.next_github_number
        self.next_github_number += 1
        api = f"{self.github_url}/repos/{GITHUB_OWNER}/{GITHUB_REPO}/issues/{number}"
        issue = {
            "id": 2_000_000_000 + number,
            "node_id": f"I_kwDOFake{number}",
            "url": api,
            "html_url": f"https://github.com/{GITHUB_OWNER}/{GITHUB_REPO}/issues/{number}",
            "number": number,
            "state": "open",
            "title": data["title"],
            "body": data.get("body"),
            "labels": [{"name": name} for name in data.get("labels", [])],
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return 201, issue, {"Location": api}

    def jira(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        h = request.headers
        basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        if h.get("authorization") != f"Basic {basic}":
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."]}, {}
        if not (h.get("content-type") or "").startswith("application/json"):
            return 415, {"errorMessages": ["Unsupported media type"]}, {}
        data = _json_object(request.body)
        errors: dict[str, str] = {}
        fields = data.get("fields") if data is not None else None
        if data is None or not isinstance(fields, dict):
            return 400, {"errorMessages": ["Expected a JSON object with fields"], "errors": {}}, {}
        if set(data) - JIRA_TOP_KEYS:
            return 400, {"errorMessages": [f"Unrecognized fields {sorted(set(data) - JIRA_TOP_KEYS)}"]}, {}
        if fields.get("project") != {"key": JIRA_PROJECT}:
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or len(summary) > 254:
            errors["summary"] = "Summary must be one line of less than 255 characters."
        if not isinstance(fields.get("issuetype"), dict) or fields["issuetype"].get("name") not in {"Bug", "Task"}:
            errors["issuetype"] = "Specify an issue type"
        if "description" in fields and not _is_adf_doc(fields["description"]):
            errors["description"] = "Operation value must be an Atlassian Document (see the ADF spec)."
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, {}
        issue_id = self.next_jira_id
        self.next_jira_id += 1
        key = f"{JIRA_PROJECT}-{issue_id - 10000}"
        return 201, {"id": str(issue_id), "key": key, "self": f"{self.jira_url}/rest/api/3/issue/{issue_id}"}, {}

    def webhook(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        h = request.headers
        timestamp, given = h.get("x-tierdesk-timestamp", ""), h.get("x-tierdesk-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return 401, {"detail": "missing or stale X-Tierdesk-Timestamp"}, {}
        signed = f"{timestamp}.".encode() + request.body
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            return 401, {"detail": "bad X-Tierdesk-Signature"}, {}
        if not (h.get("content-type") or "").startswith("application/json"):
            return 415, {"detail": "send JSON"}, {}
        data = _json_object(request.body) or {}
        shape = {
            "event": str,
            "link_id": int,
            "ticket": str,
            "title": str,
            "priority": int,
            "reproduction_steps": str,
            "environment": str,
        }
        if data.get("event") != "engineering_requested" or any(
            not isinstance(data.get(name), kind) for name, kind in shape.items()
        ):
            return 422, {"detail": "not an engineering request"}, {}
        return (201, self.webhook_answer, {}) if self.webhook_answer is not None else (204, None, {})

    def last(self, prefix: str) -> Received:
        return [r for r in self.received if r.path.startswith(prefix)][-1]


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_adf_inline(node: Any) -> bool:
    if not isinstance(node, dict) or node.get("type") not in ADF_INLINE:
        return False
    if node["type"] == "text":
        return set(node) <= {"type", "text", "marks"} and isinstance(node.get("text"), str) and node["text"] != ""
    return set(node) <= {"type", "attrs"}


def _is_adf_block(node: Any) -> bool:
    if (
        not isinstance(node, dict)
        or node.get("type") not in ADF_BLOCKS
        or not set(node) <= {"type", "attrs", "content"}
    ):
        return False
    if node["type"] == "heading" and node.get("attrs", {}).get("level") not in range(1, 7):
        return False
    content = node.get("content", [])
    if not isinstance(content, list):
        return False
    if node["type"] in {"paragraph", "heading", "codeBlock"}:
        return all(_is_adf_inline(child) for child in content)
    return all(_is_adf_block(child) for child in content)


def _is_adf_doc(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and set(doc) == {"type", "version", "content"}
        and doc["type"] == "doc"
        and doc["version"] == 1
        and isinstance(doc["content"], list)
        and all(_is_adf_block(node) for node in doc["content"])
    )


# --- what the trackers send back -----------------------------------------------------------------------


def _hub_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_closed(
    secret: str, number: int, *, action: str = "closed", delivery: str = ""
) -> tuple[bytes, dict[str, str]]:
    """An "issues" webhook as GitHub sends it when an issue is closed (or another action)."""
    payload = {
        "action": action,
        "issue": {"number": number, "state": "closed", "state_reason": "completed", "title": "A defect"},
        "repository": {"full_name": f"{GITHUB_OWNER}/{GITHUB_REPO}"},
        "sender": {"login": "octocat"},
    }
    body = json.dumps(payload).encode()
    return body, {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": _hub_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/044aadd",
    }


def jira_resolved(secret: str, key: str, *, done: bool = True, delivery: str = "") -> tuple[bytes, dict[str, str]]:
    """A "jira:issue_updated" webhook as Jira Cloud sends it from an admin webhook with a secret."""
    status = (
        {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}}
        if done
        else {"name": "In Progress", "statusCategory": {"key": "indeterminate", "name": "In Progress"}}
    )
    payload = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "issue": {
            "id": "10012",
            "key": key,
            "fields": {"status": status, "resolution": {"name": "Fixed"} if done else None},
        },
        "changelog": {"items": [{"field": "status", "toString": status["name"]}]},
    }
    body = json.dumps(payload).encode()
    return body, {
        "X-Atlassian-Webhook-Identifier": delivery or str(uuid.uuid4().int)[:18],
        "X-Atlassian-Webhook-Flow": "Primary",
        "X-Hub-Signature": _hub_signature(secret, body),
    }


def generic_resolved(
    secret: str, issue_id: str, *, event: str = "resolved", at: float | None = None, delivery: str = ""
) -> tuple[bytes, dict[str, str]]:
    """Our generic webhook's "resolved" event, signed over "{timestamp}.{body}"."""
    body = json.dumps({"event": event, "id": issue_id, "resolution": "Fixed in release 4.2"}).encode()
    timestamp = str(int(time.time() if at is None else at))
    return body, {
        "X-Tierdesk-Timestamp": timestamp,
        "X-Tierdesk-Delivery": delivery or str(uuid.uuid4()),
        "X-Tierdesk-Signature": _hub_signature(secret, f"{timestamp}.".encode() + body),
    }


def make_tracker(organisation: Any, server: FakeTrackers, kind: str, **overrides: Any) -> Any:
    """An EngineeringTracker of this kind pointing at the fake, with the credentials it expects."""
    from tierdesk.routing.models import EngineeringTracker

    settings: dict[str, Any] = {
        "github": {"base_url": server.github_url, "project": f"{GITHUB_OWNER}/{GITHUB_REPO}", "token": GITHUB_TOKEN},
        "jira": {"base_url": server.jira_url, "project": JIRA_PROJECT, "username": JIRA_EMAIL, "token": JIRA_TOKEN},
        "webhook": {"base_url": server.webhook_url, "outbound_secret": WEBHOOK_SECRET},
    }[kind]
    values = {"name": f"Desk app ({kind})", "inbound_secret": "inbound-secret", **settings, **overrides}
    return EngineeringTracker.objects.create(organisation=organisation, kind=kind, **values)
