"""Send to engineering: the issue opened in GitHub, Jira or a webhook receiver over real HTTP.

The trackers are a real HTTP server on loopback (tierdesk/testing/fake_trackers.py) that checks
every request against the vendor's documented shape and answers as the vendor does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import SupportGroup, User
from tierdesk.audit.models import AuditEvent
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from tierdesk.notifications import outbox
from tierdesk.notifications.models import OutboxMessage
from tierdesk.routing import services as routing
from tierdesk.routing.models import EngineeringLink, EngineeringTracker
from tierdesk.testing import fake_trackers as fake
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Ticket, TimelineEntry

SYSTEM = Actor.system()
# Committed transactions: the outbox delivers after commit, as in production.
pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db(transaction=True)]

STEPS = "1. Open a patient chart\n2. Click Print\n\n3. The app crashes with E500"
ENVIRONMENT = "Desk app 4.1.2 on Windows 11, Chrome 131"


@pytest.fixture
def trackers() -> Iterator[fake.FakeTrackers]:
    server = fake.FakeTrackers().start()
    yield server
    server.stop()


def make_tracker(world: World, server: fake.FakeTrackers, kind: str, **overrides: str) -> EngineeringTracker:
    tracker: EngineeringTracker = fake.make_tracker(world.provider, server, kind, **overrides)
    return tracker


@pytest.fixture
def tier2(world: World) -> tuple[SupportGroup, User]:
    engineer = accounts.create_agent(
        actor=SYSTEM, provider=world.provider, email="t2@northwind.test", full_name="Tara Tier2", password=None
    )
    group = accounts.create_support_group(
        actor=SYSTEM,
        provider=world.provider,
        name="Applications",
        tier=2,
        serves=[world.client],
        members=[(engineer, False)],
    )
    return group, engineer


def ticket_at_tier2(world: World, tier2: tuple[SupportGroup, User]) -> Ticket:
    group, engineer = tier2
    ticket = open_ticket(world.requester, title="Desk app crashes when printing a chart", support_group=world.group)
    routing.escalate(
        actor=Actor(user=world.agent), ticket=ticket, to_tier=2, note="Reproduced; looks like a code defect."
    )
    tickets.assign(actor=SYSTEM, ticket=Ticket.objects.get(pk=ticket.pk), assignee=engineer)
    ticket = tickets.transition(actor=Actor(user=engineer), ticket=ticket, to_status="in_progress")
    assert (ticket.tier, ticket.support_group_id) == (2, group.pk)
    return ticket


def send(world: World, ticket: Ticket, tracker: EngineeringTracker, engineer: User) -> EngineeringLink:
    link = routing.send_to_engineering(
        actor=Actor(user=engineer),
        ticket=ticket,
        tracker=tracker,
        reproduction_steps=STEPS,
        environment=ENVIRONMENT,
    )
    link.refresh_from_db()
    return link


# --- each tracker, as documented ------------------------------------------------------------------------


def test_github_gets_a_documented_create_issue_request_and_the_link_its_number(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    tracker = make_tracker(world, trackers, "github")
    link = send(world, ticket, tracker, tier2[1])

    request = trackers.last("/github/")
    assert (request.path, request.status) == ("/github/repos/northwind/desk-app/issues", 201)
    assert request.headers["authorization"] == f"Bearer {fake.GITHUB_TOKEN}"
    issue = request.json()
    assert issue["title"] == f"[{ticket.number}] Desk app crashes when printing a chart"
    assert "### Reproduction steps" in issue["body"] and "3. The app crashes with E500" in issue["body"]
    assert ENVIRONMENT in issue["body"] and "rita@hospital.test" not in issue["body"]
    assert issue["labels"] == ["bug", "tierdesk"]

    assert (link.state, link.external_id, link.url) == (
        "open",
        "1347",
        "https://github.com/northwind/desk-app/issues/1347",
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.tier) == ("pending_engineering", 2)
    events = list(ticket.timeline.filter(kind="event").values_list("event", flat=True))
    assert "sent_to_engineering" in events and "engineering_issue_opened" in events
    note = ticket.timeline.filter(kind="note").latest("created_at")
    assert not note.is_public and "3. The app crashes with E500" in note.body and ENVIRONMENT in note.body


def test_jira_gets_an_atlassian_document_and_the_link_its_key(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    link = send(world, ticket, make_tracker(world, trackers, "jira"), tier2[1])

    request = trackers.last("/jira/")
    assert (request.path, request.status) == ("/jira/rest/api/3/issue", 201)
    fields = request.json()["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Bug"}
    description = fields["description"]
    assert description["type"] == "doc" and description["version"] == 1
    texts = [
        node["text"]
        for block in description["content"]
        for node in block.get("content", [])
        if node.get("type") == "text"
    ]
    assert texts[:4] == [
        "Reproduction steps",
        "1. Open a patient chart",
        "2. Click Print",
        "3. The app crashes with E500",
    ]
    assert link.state == "open" and link.external_id == "OPS-12"
    assert link.url == f"{trackers.jira_url}/browse/OPS-12"


def test_a_webhook_receiver_gets_a_signed_request(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    link = send(world, ticket, make_tracker(world, trackers, "webhook"), tier2[1])

    request = trackers.last("/hooks/")
    assert request.status == 201  # the fake checked the signature and the timestamp
    sent = request.json()
    assert sent["ticket"] == ticket.number and sent["link_id"] == link.pk
    assert sent["reproduction_steps"] == STEPS and sent["environment"] == ENVIRONMENT
    assert (link.state, link.external_id, link.url) == (
        "open",
        "ENG-7",
        "https://engineering.northwind.test/items/ENG-7",
    )


def test_a_webhook_receiver_that_names_nothing_leaves_our_link_id_as_the_reference(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    trackers.webhook_answer = None  # 204, no body
    link = send(world, ticket_at_tier2(world, tier2), make_tracker(world, trackers, "webhook"), tier2[1])
    assert (link.state, link.external_id, link.url) == ("open", str(link.pk), "")


def test_the_fake_tracker_refuses_what_the_vendor_would_refuse(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    tracker = make_tracker(world, trackers, "github", token="ghp_wrong")
    link = send(world, ticket_at_tier2(world, tier2), tracker, tier2[1])
    assert trackers.last("/github/").status == 401
    message = OutboxMessage.objects.get(key=f"engineering:{link.pk}")
    assert (message.state, message.response_status) == ("pending", 401)
    assert link.state == "requested" and link.external_id == ""


# --- the tracker down ----------------------------------------------------------------------------------


def test_a_tracker_that_is_down_gets_the_issue_later_with_backoff(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    trackers.outages = [503, 503]
    link = send(world, ticket_at_tier2(world, tier2), make_tracker(world, trackers, "jira"), tier2[1])
    message = OutboxMessage.objects.get(key=f"engineering:{link.pk}")
    assert (message.state, message.attempts, message.response_status) == ("pending", 1, 503)
    first_wait = message.next_attempt_at - clock.now()
    assert timedelta(seconds=25) < first_wait <= outbox.FIRST_RETRY
    assert outbox.deliver_due() == outbox.DeliveryResult()  # not due yet

    assert outbox.deliver_due(now=clock.now() + timedelta(seconds=31)).retrying == 1
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at - clock.now() > timedelta(seconds=31) + outbox.FIRST_RETRY  # doubled

    assert outbox.deliver_due(now=clock.now() + timedelta(minutes=5)).sent == 1
    assert [r.status for r in trackers.received] == [503, 503, 201]
    link.refresh_from_db()
    assert (link.state, link.external_id) == ("open", "OPS-12")


def test_a_tracker_that_never_answers_fails_the_link_and_the_ticket_comes_back(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    group, engineer = tier2
    trackers.outages = [503] * outbox.MAX_ATTEMPTS
    ticket = ticket_at_tier2(world, tier2)
    link = send(world, ticket, make_tracker(world, trackers, "github"), engineer)
    later = clock.now()
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        later += outbox.LONGEST_WAIT
        outbox.deliver_due(now=later)
    message = OutboxMessage.objects.get(key=f"engineering:{link.pk}")
    assert (message.state, message.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert len(trackers.received) == outbox.MAX_ATTEMPTS

    link.refresh_from_db()
    ticket.refresh_from_db()
    assert link.state == "failed"
    assert (ticket.status, ticket.tier, ticket.support_group_id) == ("in_progress", 2, group.pk)
    failed = ticket.timeline.get(event="engineering_failed")
    assert "HTTP 503" in failed.data["reason"]
    assert "could not be opened" in ticket.timeline.filter(kind="note").latest("created_at").body


# --- rules -------------------------------------------------------------------------------------------------


def test_bad_hand_offs_are_refused_and_leave_nothing(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    engineer = tier2[1]
    ticket = ticket_at_tier2(world, tier2)
    tracker = make_tracker(world, trackers, "github")
    agent = Actor(user=engineer)
    with pytest.raises(PermissionDenied):
        routing.send_to_engineering(
            actor=Actor(user=world.requester_user), ticket=ticket, tracker=tracker, reproduction_steps=STEPS
        )
    with pytest.raises(NotFound):
        routing.send_to_engineering(
            actor=Actor(user=world.other_provider_agent), ticket=ticket, tracker=tracker, reproduction_steps=STEPS
        )
    with pytest.raises(DomainError, match="reproduction steps are required"):
        routing.send_to_engineering(actor=agent, ticket=ticket, tracker=tracker, reproduction_steps="  \n")
    rival = EngineeringTracker.objects.create(
        organisation=world.other_provider_client.provider,
        name="Rival tracker",
        kind="github",
        base_url=trackers.github_url,
        project="rival/app",
        token="x",
        inbound_secret="y",
    )
    with pytest.raises(DomainError, match="not an active tracker"):
        routing.send_to_engineering(actor=agent, ticket=ticket, tracker=rival, reproduction_steps=STEPS)
    EngineeringTracker.objects.filter(pk=tracker.pk).update(is_active=False)
    with pytest.raises(DomainError, match="not an active tracker"):
        routing.send_to_engineering(actor=agent, ticket=ticket, tracker=tracker, reproduction_steps=STEPS)
    misconfigured = make_tracker(world, trackers, "jira", name="No token", token="")
    with pytest.raises(DomainError, match="missing its token"):
        routing.send_to_engineering(actor=agent, ticket=ticket, tracker=misconfigured, reproduction_steps=STEPS)
    resolved = tickets.transition(
        actor=agent, ticket=ticket, to_status="resolved", resolution_code="workaround", resolution_notes="Reinstalled"
    )
    working = make_tracker(world, trackers, "webhook")
    with pytest.raises(IllegalTransition, match="only an open ticket"):
        routing.send_to_engineering(actor=agent, ticket=resolved, tracker=working, reproduction_steps=STEPS)

    # Nothing went toward a tracker (the requester's own mail about the ticket is no hand-off).
    assert not EngineeringLink.objects.exists() and not OutboxMessage.objects.filter(kind="http").exists()
    assert trackers.received == []
    assert not TimelineEntry.objects.filter(event="sent_to_engineering").exists()


def test_a_ticket_goes_to_engineering_once_at_a_time(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    tracker = make_tracker(world, trackers, "github")
    send(world, ticket, tracker, tier2[1])
    with pytest.raises(DomainError, match="already pending engineering"):
        send(world, ticket, tracker, tier2[1])
    ticket = tickets.transition(actor=Actor(user=tier2[1]), ticket=ticket, to_status="in_progress")
    with pytest.raises(DomainError, match=r"already has an engineering issue open \(#1347\)"):
        send(world, ticket, tracker, tier2[1])
    assert EngineeringLink.objects.count() == 1 and len(trackers.received) == 1


def test_no_token_is_stored_in_the_outbox_timeline_or_audit_trail(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    for kind in ("github", "jira"):
        tracker = make_tracker(world, trackers, kind)
        send(world, ticket, tracker, tier2[1])
        ticket = tickets.transition(actor=Actor(user=tier2[1]), ticket=ticket, to_status="in_progress")
        EngineeringLink.objects.filter(ticket=ticket).update(state="failed")  # free the ticket for the next one
    stored = json.dumps(
        [
            list(OutboxMessage.objects.values("headers", "body", "last_error", "response_body")),
            list(TimelineEntry.objects.values("body", "data")),
            list(AuditEvent.objects.values("before", "after")),
        ],
        default=str,
    )
    assert [r.status for r in trackers.received] == [201, 201]
    for secret in (fake.GITHUB_TOKEN, fake.JIRA_TOKEN, "Bearer", "Basic "):
        assert secret not in stored


# --- coming back ---------------------------------------------------------------------------------------------


def test_resolved_engineering_brings_the_ticket_back_to_tier1_once(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    link = send(world, ticket, make_tracker(world, trackers, "jira"), tier2[1])
    routing.engineering_resolved(link=link, resolution="Fixed in 4.1.3")
    routing.engineering_resolved(link=link, resolution="Fixed in 4.1.3")  # a second webhook changes nothing

    ticket.refresh_from_db()
    link.refresh_from_db()
    assert link.state == "resolved"
    assert (ticket.status, ticket.tier, ticket.support_group_id) == ("in_progress", 1, world.group.pk)
    assert ticket.assignee_id is None  # the Tier 2 engineer is not in the Tier 1 group; its strategy is manual
    [note] = ticket.timeline.filter(kind="note", body__startswith="Engineering resolved")
    assert note.body == "Engineering resolved OPS-12: Fixed in 4.1.3; confirm with the requester"
    assert ticket.timeline.filter(event="engineering_resolved").count() == 1


def test_with_no_tier1_group_left_the_ticket_waits_at_tier1_unassigned(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    ticket = ticket_at_tier2(world, tier2)
    link = send(world, ticket, make_tracker(world, trackers, "webhook"), tier2[1])
    SupportGroup.objects.filter(pk=world.group.pk).update(is_active=False)
    routing.engineering_resolved(actor=Actor.system(via="webhook"), link=link, resolution="Fixed")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.tier, ticket.support_group_id, ticket.assignee_id) == ("in_progress", 1, None, None)
    assert ticket.timeline.get(event="engineering_resolved").data["group"] is None


# --- the doors: console form and API ------------------------------------------------------------


def test_console_and_api_send_to_engineering(
    world: World, trackers: fake.FakeTrackers, tier2: tuple[SupportGroup, User]
) -> None:
    from django.test import Client

    from tierdesk.testing.fixtures import api_client_for

    _, engineer = tier2
    tracker = make_tracker(world, trackers, "github")
    first = ticket_at_tier2(world, tier2)
    client = Client()
    client.force_login(engineer)
    page = client.get(f"/console/tickets/{first.number}/").content.decode()
    assert "Send to engineering" in page and tracker.name in page
    client.post(
        f"/console/tickets/{first.number}/engineering/",
        {"version": first.version, "tracker": tracker.pk, "reproduction_steps": STEPS, "environment": ""},
        HTTP_HX_REQUEST="true",
    )
    assert EngineeringLink.objects.get(ticket=first).state == "open"

    other = open_ticket(world.requester, title="Export fails", support_group=world.group)
    other = tickets.transition(actor=Actor(user=world.agent), ticket=other, to_status="in_progress")
    api = api_client_for(world.agent)
    url = f"/api/v1/tickets/{other.number}/engineering/"
    assert (
        api.post(
            url, {"tracker": tracker.pk, "reproduction_steps": " ", "version": other.version}, format="json"
        ).status_code
        == 400
    )
    done = api.post(url, {"tracker": tracker.pk, "reproduction_steps": STEPS, "version": other.version}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "pending_engineering"
    assert EngineeringLink.objects.get(ticket=other).external_id
