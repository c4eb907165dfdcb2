"""Server time of the agent console's pages: the queue page, its live counts and the ticket page.

Requests go in-process through the whole Django stack (session, middleware, views, templates)
with Django's test client logged in by `force_login`; no network, no browser.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from itertools import cycle
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.test import Client

    from benchmarks.seed import World

TICKET_PAGES = 20  # distinct tickets the ticket-page timing cycles through
TIMELINE = 12  # entries written through the services on each of them


def _page(client: Client, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"expected HTTP 200 from {url}, got {response.status_code}: {response.content[:500]!r}")
    return response


def _rows(marker: str) -> Callable[[Any], int]:
    return lambda response: response.content.decode().count(marker)


def _with_timelines(world: World) -> list[str]:
    """Open tickets of the agent's with a working day's timeline: replies, notes, a file, a change."""
    from tierdesk.core.actor import Actor
    from tierdesk.tickets import services
    from tierdesk.tickets.models import Ticket

    agent = Actor(user=world.agent)
    tickets = list(
        Ticket.objects.filter(assignee=world.agent, status="in_progress").order_by("-created_at")[:TICKET_PAGES]
    )
    for ticket in tickets:
        for i in range(TIMELINE // 3):
            services.reply(actor=agent, ticket=ticket, body=f"Update {i}: we replaced the **toner** and ran a test.")
            services.add_note(actor=agent, ticket=ticket, body=f"Internal {i}: vendor case `VC-{ticket.pk}-{i}`.")
        services.add_attachment(
            actor=agent, ticket=ticket, stream=io.BytesIO(b"printer log\n" * 50), filename="printer.log"
        )
        services.set_watching(actor=agent, ticket=ticket, watching=True)
        services.change_priority(actor=agent, ticket=ticket, impact="high", urgency="medium")
    return [t.number for t in tickets]


def report(world: World) -> None:
    from django.test import Client

    from benchmarks.run_backend import SAMPLES, _time
    from tierdesk.tickets.models import Ticket

    agent, supervisor = Client(), Client()
    agent.force_login(world.agent)
    supervisor.force_login(world.supervisor)
    numbers = _with_timelines(world)
    mine = Ticket.objects.filter(assignee=world.agent, status__in=["assigned", "in_progress"]).count()
    pages = [
        ("agent, /console/ (my open tickets)", agent, "/console/"),
        ("agent, unassigned", agent, "/console/?queue=unassigned"),
        ("agent, my groups", agent, "/console/?queue=groups"),
        ("agent, breaching soon (due time, then priority)", agent, "/console/?queue=breaching"),
        ("agent, tier 1, sorted by priority", agent, "/console/?queue=tier1&sort=priority"),
        ("agent, all tickets", agent, "/console/?queue=all"),
        ("agent, all tickets, page 100", agent, "/console/?queue=all&page=100"),
        ("supervisor, all tickets", supervisor, "/console/?queue=all"),
        ("agent, all tickets, ?q=printer", agent, "/console/?queue=all&q=printer"),
    ]
    print(
        f"\nConsole queue page (pages of 50, server time through the Django test client; "
        f"the agent has about {mine:,} open tickets of his own)"
    )
    print(f"  {'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5} {'queries':>8} {'samples':>8}")
    for label, client, url in pages:
        timing = _time(partial(_page, client, url), _rows('<tr data-ticket="'), SAMPLES)
        _line(label, timing)

    print("\nConsole live counts and ticket page")
    print(f"  {'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5} {'queries':>8} {'samples':>8}")
    timing = _time(lambda: _page(agent, "/console/counts/"), _rows('data-count="'), SAMPLES)
    _line("agent, /console/counts/ (9 queue counts)", timing)
    urls = cycle(f"/console/tickets/{number}/" for number in numbers)
    timing = _time(lambda: _page(agent, next(urls)), _rows('class="entry entry-'), SAMPLES)
    _line(f"agent, ticket page ({len(numbers)} tickets cycled)", timing)
    timing = _time(lambda: _page(supervisor, next(urls)), _rows('class="entry entry-'), SAMPLES)
    _line("supervisor, ticket page", timing)


def _line(label: str, timing: Any) -> None:
    print(
        f"  {label:<44} {timing.ms(0.50):>8.1f} {timing.ms(0.95):>8.1f} {timing.rows:>5} "
        f"{timing.queries:>8} {len(timing.samples):>8}",
        flush=True,
    )
