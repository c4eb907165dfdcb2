"""Sign-in: repeated failures lock the account for that address (django-axes)."""

from __future__ import annotations

from django.test import Client

from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World


def _sign_in(client: Client, email: str, password: str) -> int:
    return client.post("/login/", {"username": email, "password": password}).status_code


def test_lockout_after_repeated_failures(world: World, settings: object) -> None:
    settings.AXES_FAILURE_LIMIT = 3  # type: ignore[attr-defined]
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert _sign_in(client, world.agent.email, PASSWORD) == 302
    client.logout()
    for _ in range(2):
        assert _sign_in(client, world.agent.email, "wrong") == 200
    assert _sign_in(client, world.agent.email, "wrong") == 429
    # Locked: even the right password is refused now, with a page saying why.
    response = client.post("/login/", {"username": world.agent.email, "password": PASSWORD})
    assert response.status_code == 429 and b"Too many failed sign-ins" in response.content
    # Someone else at another address is not locked out by it.
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.10"), world.agent.email, PASSWORD) == 302


def test_session_cookie_is_httponly(world: World) -> None:
    client = Client()
    _sign_in(client, world.agent.email, PASSWORD)
    assert client.cookies["sessionid"]["httponly"]
    assert client.get("/console/")["X-Frame-Options"] == "DENY"
    csp = client.get("/console/")["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
