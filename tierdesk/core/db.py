"""Database housekeeping that the embedded default needs and PostgreSQL does by itself."""

from __future__ import annotations

from django.db import connection


def refresh_planner_statistics() -> None:
    """Give the query planner fresh table statistics.

    PostgreSQL's autovacuum keeps them current. SQLite never gathers any by itself, and
    without them it sorts every visible ticket for a list page instead of walking the
    created-at index (measured: 56 ms -> under 1 ms for a page of 100,000 tickets).
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        # A sampled ANALYZE: bounded time however large the database grows.
        cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
