"""The ticket page's major-incident card: declare, update everyone, detach, resolve; and merge."""

from __future__ import annotations

import pytest
from django.test import Client

from tierdesk.major_incidents.models import MajorIncident, MajorIncidentUpdate
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World
from tierdesk.tickets.choices import TicketStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]


def _agent(world: World) -> Client:
    client = Client()
    client.force_login(world.agent)
    return client


def test_declare_update_detach_and_resolve_from_the_ticket_page(world: World) -> None:
    noc = f.SupportGroupFactory.create(organisation=world.provider, name="NOC", tier=2, serves=[world.client])
    outage = f.open_ticket(world.requester, title="No network in the east wing", site=world.site)
    client = _agent(world)
    page = client.get(f"/console/tickets/{outage.number}/").content.decode()
    assert "Declare major incident" in page
    response = client.post(f"/console/tickets/{outage.number}/major-incident/declare/", {"owner_group": noc.pk})
    assert response.status_code in (200, 302)
    major = MajorIncident.objects.get(ticket=outage)
    child = f.open_ticket(world.colleague, title="Network is down here too", site=world.site)
    child.refresh_from_db()
    assert child.parent_id == outage.pk
    page = client.get(f"/console/tickets/{outage.number}/").content.decode()
    assert child.number in page and "Send update" in page
    client.post(
        f"/console/tickets/{outage.number}/major-incident/update/",
        {"body": "The switch is being replaced.", "status": "identified"},
    )
    update = MajorIncidentUpdate.objects.get()
    assert update.requesters_mailed == 1 and update.major_incident_id == major.pk
    page = client.get(f"/console/tickets/{child.number}/").content.decode()
    assert "Part of major incident" in page and outage.number in page
    client.post(f"/console/tickets/{child.number}/major-incident/detach/")
    child.refresh_from_db()
    assert child.parent_id is None
    client.post(f"/console/tickets/{outage.number}/major-incident/resolve/", {"notes": "Switch replaced."})
    major.refresh_from_db()
    assert major.status == "resolved"


def test_merge_a_duplicate_from_the_ticket_page(world: World) -> None:
    survivor = f.open_ticket(world.requester, title="Laptop will not boot")
    duplicate = f.open_ticket(world.requester, title="Laptop is dead")
    client = _agent(world)
    client.post(f"/console/tickets/{duplicate.number}/merge/", {"into": survivor.number})
    duplicate.refresh_from_db()
    assert duplicate.status == TicketStatus.CANCELLED and duplicate.merged_into_id == survivor.pk
    other = f.open_ticket(world.colleague, title="Other person")
    response = client.post(f"/console/tickets/{other.number}/merge/", {"into": survivor.number}, HTTP_HX_REQUEST="true")
    assert "same requester" in response.content.decode()
