"""One backend's figures: migrate, seed, time the ticket list, the console pages, ticket creation, routing, SLA.

Run by `python -m benchmarks` with the environment already pointing at the database; not
meant to be run against a database you care about (it writes 300,000 tickets and a million SLA clocks).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import cycle
from typing import TYPE_CHECKING, Any

import django

if TYPE_CHECKING:
    from rest_framework.test import APIClient

TICKETS = 100_000
CREATES = 500
SAMPLES = 200
WARMUP = 10
TIME_BUDGET_S = 30.0  # per list query: a pathological query reports fewer samples instead of running for ever


@dataclass(frozen=True)
class Timing:
    samples: list[float]  # seconds
    queries: int
    rows: int

    def ms(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.samples)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _time(call: Callable[[], Any], rows: Callable[[Any], int], n: int) -> Timing:
    from django.db import connection

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    for _ in range(WARMUP):
        call()
    with connection.execute_wrapper(count):
        found = rows(call())
    samples: list[float] = []
    deadline = time.perf_counter() + TIME_BUDGET_S
    while len(samples) < n and time.perf_counter() < deadline:
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return Timing(samples, queries, found)


def _get(client: APIClient, url: str) -> Any:
    return _expect(client.get(url), 200)


def _expect(response: Any, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"expected HTTP {status}, got {response.status_code}: {response.content[:500]!r}")
    return response.json()


def _analyze() -> None:
    """PostgreSQL's autovacuum would have analysed a table this size; SQLite gathers no statistics."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _server() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return str(cursor.fetchone()[0]).split(" on ")[0]


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from benchmarks import alerts, console_pages, email, knowledge, major_incidents, routing, sla
    from benchmarks.seed import build_world, seed_tickets
    from tierdesk.audit.models import AuditEvent
    from tierdesk.tickets.models import Ticket, TimelineEntry

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"server: {_server()}")

    t0 = time.perf_counter()
    world = build_world()
    only = os.environ.get("BENCH_ONLY")
    if only == "sla":  # `make bench-sla`: the SLA figures alone, for a quicker turn
        sla.report(world)
        return
    if only == "routing":  # `make bench-routing`: the routing figures alone
        routing.report(world)
        return
    if only == "email":  # `make bench-email`: the e-mail intake figures alone
        email.report(world)
        return
    if only == "alerts":  # `make bench-alerts`: the monitoring alert figures alone
        alerts.report(world)
        return
    if only == "major_incidents":  # `make bench-major-incidents`: correlation figures alone
        major_incidents.report(world)
        return
    if only == "knowledge":  # `make bench-knowledge`: knowledge search relevance and latency alone
        knowledge.report(world)
        return
    seed_tickets(world, TICKETS)
    _analyze()
    print(
        f"seeded {Ticket.objects.count():,} tickets in {time.perf_counter() - t0:.1f} s "
        f"({len(world.clients)} client organisations, {sum(map(len, world.requesters.values()))} requesters)"
    )

    agent, supervisor = APIClient(), APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {world.agent_token}")
    supervisor.credentials(HTTP_AUTHORIZATION=f"Bearer {world.supervisor_token}")
    visible = {
        "agent": Ticket.objects.filter(organisation__in=world.served).count(),
        "supervisor": Ticket.objects.count(),
    }
    number = Ticket.objects.order_by("pk").values_list("number", flat=True)[TICKETS // 2]
    lists = [
        ("agent", agent, ""),
        ("supervisor", supervisor, ""),
        ("agent, ?status=new&priority=1", agent, "?status=new&priority=1"),
        ("supervisor, ?status=new&priority=1", supervisor, "?status=new&priority=1"),
        ("agent, open queue (3 statuses)", agent, "?status=new&status=assigned&status=in_progress"),
        ("agent, ?q=printer", agent, "?q=printer"),
        ("supervisor, ?q=printer", supervisor, "?q=printer"),
        (f"supervisor, ?q={number} (by number)", supervisor, f"?q={number}"),
    ]
    print(
        f"\nGET /api/v1/tickets/ (cursor pages of 50; agent sees {visible['agent']:,}, "
        f"supervisor {visible['supervisor']:,} tickets)"
    )
    print(f"  {'query':<44} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5} {'queries':>8} {'samples':>8}")
    for label, client, query in lists:
        url = f"/api/v1/tickets/{query}"
        timing = _time(partial(_get, client, url), lambda body: len(body["results"]), SAMPLES)
        print(
            f"  {label:<44} {timing.ms(0.50):>8.1f} {timing.ms(0.95):>8.1f} {timing.rows:>5} "
            f"{timing.queries:>8} {len(timing.samples):>8}"
        )

    console_pages.report(world)

    requesters = cycle([r.pk for org in world.served for r in world.requesters[org.pk]])

    def create() -> Any:
        body = {
            "requester": next(requesters),
            "title": "Printer on floor 2 jams every page",
            "description": "Paper jam light stays on after clearing the tray.",
            "impact": "medium",
            "urgency": "high",
        }
        return _expect(agent.post("/api/v1/tickets/", body, format="json"), 201)

    before = (Ticket.objects.count(), TimelineEntry.objects.count(), AuditEvent.objects.count())
    t0 = time.perf_counter()
    timing = _time(create, lambda body: 1, CREATES)
    elapsed = time.perf_counter() - t0
    made = [
        a - b
        for a, b in zip(
            (Ticket.objects.count(), TimelineEntry.objects.count(), AuditEvent.objects.count()), before, strict=True
        )
    ]
    rate = len(timing.samples) / sum(timing.samples)
    print(
        f"\nPOST /api/v1/tickets/ as the agent ({len(timing.samples)} timed after {WARMUP} warm-up, "
        f"{elapsed:.1f} s in all)"
    )
    print(
        f"  {rate:.1f} tickets/s, p50 {timing.ms(0.50):.1f} ms, p95 {timing.ms(0.95):.1f} ms, "
        f"mean {1000 * statistics.fmean(timing.samples):.1f} ms, {timing.queries} queries per request"
    )
    calls = WARMUP + 1 + len(timing.samples)
    print(
        f"  side effects of all {calls} requests: {made[0]} tickets, {made[1]} timeline entries, "
        f"{made[2]} audit events written"
    )
    # After ticket creation, whose figure the routing table would change (new tickets would be routed).
    routing.report(world)
    email.report(world)
    alerts.report(world)
    major_incidents.report(world)
    knowledge.report(world)
    # Last: once its SLA policy exists, every ticket the figures above create would compute clocks too.
    sla.report(world)
    print(f"\n{connection.vendor} done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
