"""Correlation figures: how long deciding whether a new ticket belongs to a major incident takes,
with 1,000 major incidents open at once.

The open major incidents are written in bulk (their tickets, sites and services spread over the
clients; each active within the last hour). Then new tickets, half of them at a site with an
ongoing outage and worded like one, half elsewhere or about something else, each go through
`correlate(ticket_id)`: the candidate query, the wording score, and the link when it matches
(a ticket update, a timeline event and an audit row).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.seed import World

OPEN_MAJOR_INCIDENTS = 1_000
SITES_PER_CLIENT = 500  # with the bench world's three clients: 1,500 sites, 1,000 of them in an outage
NEW_TICKETS = 400
FIRST_NUMBER = 8_000_001  # INC8000001...: clear of the numbers the other figures hand out
OUTAGE_TITLES = ["Network down on our floor", "No internet since 9:00", "Wifi offline in the office", "Cannot connect"]
OTHER_TITLES = ["Please install Visio", "New starter needs a laptop", "Printer toner low", "Password expired"]


def report(world: World) -> None:
    from django.db import connection, transaction

    from tierdesk.accounts.services import create_support_group
    from tierdesk.core import clock
    from tierdesk.core.actor import Actor
    from tierdesk.major_incidents import services as majors
    from tierdesk.major_incidents.models import MajorIncident, MajorIncidentLink
    from tierdesk.tenancy.models import Site
    from tierdesk.tickets.models import Ticket

    print(f"\nMajor incidents: correlating new tickets with {OPEN_MAJOR_INCIDENTS:,} open major incidents", flush=True)
    rng = random.Random(7)
    system = Actor.system("command")
    now = clock.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        noc = create_support_group(
            actor=system, provider=world.provider, name="Bench NOC", tier=2, serves=world.clients
        )
        sites = Site.objects.bulk_create(
            [
                Site(organisation=client, name=f"Bench site {n}")
                for client in world.clients
                for n in range(SITES_PER_CLIENT)
            ]
        )
        leads = Ticket.objects.bulk_create(
            [
                Ticket(
                    organisation=site.organisation,
                    number=f"INC{FIRST_NUMBER + n:07d}",
                    title=f"Outage at {site.name}: core switch down",
                    requester=world.requesters[site.organisation_id][0],
                    site=site,
                    channel="monitoring",
                    impact="high",
                    urgency="high",
                    priority=1,
                    status="in_progress",
                    support_group=noc,
                    created_at=now - timedelta(minutes=30),
                    updated_at=now - timedelta(minutes=30),
                )
                for n, site in enumerate(rng.sample(sites, OPEN_MAJOR_INCIDENTS))
            ]
        )
        MajorIncident.objects.bulk_create(
            [
                MajorIncident(
                    organisation=world.provider,
                    ticket=lead,
                    owner_group=noc,
                    site_id=lead.site_id,
                    declared_how="bench",
                    declared_at=now - timedelta(minutes=30),
                    last_activity_at=now - timedelta(minutes=rng.randint(1, 60)),
                )
                for lead in leads
            ]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    built = time.perf_counter() - t0
    print(f"  built in {built:.1f} s: {len(sites)} sites, {len(leads)} open major incidents", flush=True)

    outage_sites = [lead.site for lead in leads if lead.site is not None]
    quiet_sites = [s for s in sites if s.pk not in {lead.site_id for lead in leads}]
    samples: dict[str, list[float]] = {"linked": [], "not linked": []}
    for n in range(NEW_TICKETS):
        at_outage = n % 2 == 0
        site = rng.choice(outage_sites if at_outage else quiet_sites or outage_sites)
        title = rng.choice(OUTAGE_TITLES if at_outage else OTHER_TITLES)
        requester = rng.choice(world.requesters[site.organisation_id])
        ticket = Ticket.objects.create(
            organisation_id=site.organisation_id,
            number=f"INC{FIRST_NUMBER + OPEN_MAJOR_INCIDENTS + n:07d}",
            title=title,
            requester=requester,
            site=site,
        )
        start = time.perf_counter()
        link = majors.correlate(ticket.pk)
        samples["linked" if link is not None else "not linked"].append(time.perf_counter() - start)
    linked = MajorIncidentLink.objects.count()
    print(f"  {NEW_TICKETS} new tickets: {linked} linked to the outage at their site, the rest left alone")
    for label, values in samples.items():
        if not values:
            continue
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
        print(
            f"  {label:<11} {len(values):>4} tickets: p50 {1000 * statistics.median(values):.1f} ms, "
            f"p95 {1000 * p95:.1f} ms, mean {1000 * statistics.fmean(values):.1f} ms per ticket"
        )
