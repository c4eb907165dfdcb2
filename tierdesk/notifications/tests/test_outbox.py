"""The outbox over real HTTP: a redirect is refused (credentials never follow it to another host)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tierdesk.core.errors import DomainError
from tierdesk.notifications import outbox
from tierdesk.notifications.models import OutboxMessage
from tierdesk.testing.fixtures import World


class Redirecting(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        Redirecting.seen.append(f"{self.path} {self.headers.get('Authorization')}")
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    Redirecting.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_redirect_is_a_refusal_not_a_hop(world: World, server: str) -> None:
    message = outbox.queue_http(
        organisation_id=world.provider.pk,
        key="t:1",
        purpose="test",
        method="POST",
        url=f"{server}/moved",
        headers={"Authorization": "Bearer secret", "Content-Type": "application/json"},
        body="{}",
    )
    assert outbox.deliver(message.pk) == "pending"
    message.refresh_from_db()
    assert (message.response_status, message.attempts) == (307, 1) and "HTTP 307" in message.last_error
    assert Redirecting.seen == ["/moved Bearer secret"]  # nothing went to /elsewhere


def test_header_injection_and_odd_schemes_are_refused(world: World) -> None:
    with pytest.raises(DomainError, match="line breaks"):
        outbox.queue_http(
            organisation_id=world.provider.pk,
            key="t:2",
            purpose="t",
            method="POST",
            url="https://x.test/",
            headers={"X-A": "b\r\nX-Evil: 1"},
            body="",
        )
    with pytest.raises(DomainError, match="Not an HTTP address"):
        outbox.queue_http(
            organisation_id=world.provider.pk,
            key="t:3",
            purpose="t",
            method="GET",
            url="file:///etc/passwd",
            headers={},
            body="",
        )
    with pytest.raises(DomainError, match="line breaks"):
        outbox.queue_email(
            organisation_id=world.provider.pk,
            key="t:4",
            purpose="t",
            to=["a@x.test"],
            subject="Hi\r\nBcc: e@x.test",
            body="",
            message_id="<1@x>",
        )
    assert not OutboxMessage.objects.exists()
