"""Major incidents: declared by hand or by rule, correlation of new tickets, one update to all, resolving together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tierdesk.accounts.models import SupportGroup
from tierdesk.cmdb import services as cmdb
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, PermissionDenied
from tierdesk.major_incidents import services as majors
from tierdesk.major_incidents.models import DeclarationRule, MajorIncident, MajorIncidentLink
from tierdesk.notifications.models import OutboxMessage
from tierdesk.tenancy.models import Announcement
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus
from tierdesk.tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture
def noc(world: World) -> SupportGroup:
    return f.SupportGroupFactory.create(
        organisation=world.provider, name="NOC", tier=2, serves=[world.client, world.other_client], agents=[world.agent]
    )


def _user_ticket(world: World, name: str, title: str, **kwargs: object) -> Ticket:
    requester = f.RequesterFactory.create(
        organisation=world.client, name=name, email=f"{name.lower()}@hospital.test", site=world.site
    )
    return f.open_ticket(requester, title=title, **kwargs)


def test_an_agent_declares_and_new_tickets_at_the_site_are_linked(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    outage = _user_ticket(world, "Anna", "Whole 3rd floor has no network")
    major = majors.declare(actor=Actor(user=world.agent), ticket=outage, owner_group=noc)
    outage.refresh_from_db()
    assert (outage.support_group_id, outage.priority) == (noc.pk, 1)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        child = _user_ticket(world, "Ben", "Internet is down, cannot reach anything")
    child.refresh_from_db()
    assert child.parent_id == outage.pk
    link = MajorIncidentLink.objects.get(ticket=child)
    assert link.how == "automatic" and "site Main campus" in link.reason
    assert major.pk == link.major_incident_id


def test_an_unrelated_ticket_at_the_site_is_not_linked(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    outage = _user_ticket(world, "Anna", "Network outage on the 3rd floor")
    majors.declare(actor=Actor(user=world.agent), ticket=outage, owner_group=noc)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        other = _user_ticket(world, "Carl", "Please order a new ergonomic keyboard")
    other.refresh_from_db()
    assert other.parent_id is None and not MajorIncidentLink.objects.filter(ticket=other).exists()


def test_a_ticket_after_the_window_is_not_linked(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    outage = _user_ticket(world, "Anna", "Network outage on the 3rd floor")
    majors.declare(actor=Actor(user=world.agent), ticket=outage, owner_group=noc)
    with clock.frozen(clock.now() + timedelta(hours=5)), django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        late = _user_ticket(world, "Dora", "Network is down")
    late.refresh_from_db()
    assert late.parent_id is None


def test_a_critical_alert_on_a_core_item_declares_by_rule(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    system = Actor.system("command")
    switch = cmdb.create_item(
        actor=system, organisation=world.client, name="core-sw-01", kind="network_device", site=world.site, is_core=True
    )
    DeclarationRule.objects.create(
        organisation=world.provider, name="Core down", kind="critical_alert_on_core", owner_group=noc
    )
    monitoring = f.RequesterFactory.create(organisation=world.client, name="Monitoring", email="")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        alert = tickets.open_ticket(
            actor=Actor.system("monitoring"),
            requester=monitoring,
            title="InstanceDown core-sw-01",
            channel=Channel.MONITORING,
            impact="high",
            urgency="high",
            affected_item=switch,
        )
    major = MajorIncident.objects.get(ticket=alert)
    assert major.owner_group_id == noc.pk and major.site_id == world.site.pk and major.declared_how == "rule: Core down"


def test_a_burst_of_tickets_for_a_site_declares_by_rule(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    DeclarationRule.objects.create(
        organisation=world.provider,
        name="Site burst",
        kind="ticket_burst",
        threshold=3,
        window_minutes=10,
        owner_group=noc,
    )
    made = []
    for number, name in enumerate(["Ann", "Bob", "Cid", "Dan"]):
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            made.append(_user_ticket(world, name, f"VPN not connecting from office ({number})"))
    major = MajorIncident.objects.get()
    assert major.ticket_id == made[0].pk
    children = set(Ticket.objects.filter(parent_id=made[0].pk).values_list("pk", flat=True))
    assert children == {t.pk for t in made[1:]}


def test_one_update_reaches_each_requester_once_and_the_portal(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    outage = _user_ticket(world, "Anna", "Network outage on the 3rd floor")
    major = majors.declare(actor=Actor(user=world.agent), ticket=outage, owner_group=noc)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        first = _user_ticket(world, "Ben", "Network down")
        second = f.open_ticket(first.requester, title="Still no network, also phones dead")
        third = _user_ticket(world, "Cleo", "wifi offline")
    assert Ticket.objects.filter(parent_id=outage.pk).count() == 3
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        update = majors.post_update(
            actor=Actor(user=world.agent),
            major=major,
            body="A switch failed; engineers are on site.",
            status="identified",
        )
    mails = OutboxMessage.objects.filter(purpose="major_incident_update")
    assert sorted(m.to_addresses for m in mails) == ["ben@hospital.test", "cleo@hospital.test"]  # Ben once
    assert update.requesters_mailed == 2 and "engineers are on site" in mails[0].body_text
    banner = Announcement.objects.get(organisation=world.client, ends_at__isnull=True)
    assert banner.severity == "outage" and "engineers are on site" in banner.body
    assert {m.subject.split("]")[0] + "]" for m in mails} <= {f"[{t.number}]" for t in (first, second, third)}


def test_resolving_resolves_the_children_except_a_detached_one(
    world: World, noc: SupportGroup, django_capture_on_commit_callbacks: object
) -> None:
    outage = _user_ticket(world, "Anna", "Network outage on the 3rd floor")
    major = majors.declare(actor=Actor(user=world.agent), ticket=outage, owner_group=noc)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        linked = _user_ticket(world, "Ben", "Network down")
        different = _user_ticket(world, "Cleo", "Network drive slow and printer offline")
    assert MajorIncidentLink.objects.filter(ticket=different).exists()
    majors.detach(actor=Actor(user=world.agent), ticket=different)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        majors.resolve(actor=Actor(user=world.agent), major=major, notes="Switch replaced.")
    linked.refresh_from_db()
    different.refresh_from_db()
    major.refresh_from_db()
    assert linked.status == TicketStatus.RESOLVED and "Switch replaced." in linked.resolution_notes
    assert different.status != TicketStatus.RESOLVED and different.parent_id is None
    assert major.status == "resolved" and not Announcement.objects.filter(ends_at__isnull=True).exists()
    resolved_mails = OutboxMessage.objects.filter(purpose="resolved", ticket=linked)
    assert resolved_mails.count() == 1


def test_requesters_may_not_declare_and_children_cannot_be_declared(world: World, noc: SupportGroup) -> None:
    ticket = _user_ticket(world, "Anna", "Network outage")
    with pytest.raises(PermissionDenied):
        majors.declare(actor=Actor(user=world.requester_user), ticket=ticket, owner_group=noc)
    majors.declare(actor=Actor(user=world.agent), ticket=ticket, owner_group=noc)
    with pytest.raises(DomainError):
        majors.declare(actor=Actor(user=world.agent), ticket=ticket, owner_group=noc)


def test_merging_a_duplicate_moves_its_timeline_and_points_to_the_survivor(world: World) -> None:
    survivor = f.open_ticket(world.requester, title="Laptop will not boot")
    duplicate = f.open_ticket(world.requester, title="Laptop dead")
    tickets.reply(actor=Actor(user=world.requester_user), ticket=duplicate, body="It beeps three times.")
    tickets.merge_tickets(actor=Actor(user=world.agent), duplicate=duplicate, survivor=survivor)
    duplicate.refresh_from_db()
    assert duplicate.status == TicketStatus.CANCELLED and duplicate.merged_into_id == survivor.pk
    assert duplicate.resolution_code == "duplicate"
    assert survivor.timeline.filter(body="It beeps three times.").exists()
    assert survivor.timeline.filter(event="merged").exists() and duplicate.timeline.filter(event="merged_into").exists()
    other = f.open_ticket(world.colleague, title="Mine")
    with pytest.raises(DomainError):
        tickets.merge_tickets(actor=Actor(user=world.agent), duplicate=other, survivor=survivor)
