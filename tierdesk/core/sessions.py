"""The browser session as Tier 0 counts it."""

from __future__ import annotations

from django.http import HttpRequest


def session_key(request: HttpRequest) -> str:
    """The browser session's key, which ties article reads, searches, a chat and a submitted ticket
    into one help session. A session that was never stored has no key yet: store it first (the
    session row, not a domain object), so the first read of a visit is counted like the rest."""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""
