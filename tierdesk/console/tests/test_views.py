"""The agent console through Django's test client: queues, ticket page, bulk actions, calls."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tierdesk.accounts import services as accounts
from tierdesk.audit.models import TicketAccess
from tierdesk.core.actor import Actor
from tierdesk.tenancy import services as tenancy
from tierdesk.testing.factories import AgentFactory, SupportGroupFactory, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.choices import Channel, TicketStatus
from tierdesk.tickets.models import Attachment, Category, SavedView, Ticket, TimelineEntry

HX = {"HTTP_HX_REQUEST": "true"}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def agent(world: World) -> Client:
    return _client(world.agent)


# --- who may enter ---------------------------------------------------------------------------


def test_requesters_and_strangers_are_kept_out(world: World) -> None:
    ticket = open_ticket(world.requester)
    assert Client().get("/console/").status_code == 302  # to the login page
    assert "/login/" in Client().get("/console/")["Location"]
    requester = _client(world.requester_user)
    response = requester.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert requester.get(f"/console/tickets/{ticket.number}/", **HX).status_code == 403
    assert (
        requester.post("/console/bulk/", {"tickets": [ticket.number], "action": "note", "note": "x"}).status_code == 403
    )
    assert (
        requester.post(f"/console/tickets/{ticket.number}/compose/", {"kind": "note", "body": "x"}).status_code == 403
    )
    assert not TimelineEntry.objects.filter(kind="note").exists()


def test_tickets_outside_scope_are_404_everywhere(world: World, agent: Client) -> None:
    bank = open_ticket(world.other_requester_user.requester_profile)  # the agent's groups do not serve the bank
    base = f"/console/tickets/{bank.number}/"
    assert agent.get(base).status_code == 404
    assert agent.get(base + "regions/", **HX).status_code == 404
    for action, data in [
        ("status/", {"status": "in_progress", "version": 1}),
        ("priority/", {"impact": "high", "urgency": "high", "version": 1}),
        ("category/", {"category": "", "version": 1}),
        ("group/", {"support_group": "", "version": 1}),
        ("assignee/", {"assignee": "", "version": 1}),
        ("assign-to-me/", {"version": 1}),
        ("watch/", {"watching": "1"}),
        ("compose/", {"kind": "note", "body": "x"}),
    ]:
        assert agent.post(base + action, data, **HX).status_code == 404, action
    upload = SimpleUploadedFile("a.txt", b"hello")
    assert agent.post(base + "attachments/", {"file": upload}).status_code == 404
    rival = _client(world.other_provider_agent)
    assert rival.get(base).status_code == 404
    assert _fresh(bank).version == 1 and not TicketAccess.objects.exists()
    # The old /tickets/<number>/ address sends agents to the console, which then says 404 too.
    assert agent.get(f"/tickets/{bank.number}/", follow=True).status_code == 404


# --- queues ------------------------------------------------------------------------------------


def _queue_world(world: World) -> dict[str, Ticket]:
    agent = Actor(user=world.agent)
    unassigned = open_ticket(world.requester, title="Unassigned printer")
    mine = open_ticket(world.requester, title="My monitor", support_group=world.group)
    mine = services.assign(actor=agent, ticket=mine, assignee=world.agent)
    pending = open_ticket(world.requester, title="Waiting for parts", support_group=world.group)
    pending = services.transition(actor=agent, ticket=pending, to_status=TicketStatus.PENDING_VENDOR)
    urgent = open_ticket(world.requester, title="Pump down", impact="high", urgency="high")
    bank = open_ticket(world.other_requester_user.requester_profile, title="Bank vault")
    return {"unassigned": unassigned, "mine": mine, "pending": pending, "urgent": urgent, "bank": bank}


def _numbers(html: str, tickets: dict[str, Ticket]) -> set[str]:
    return {key for key, ticket in tickets.items() if f'data-ticket="{ticket.number}"' in html}


def test_queues_hold_what_they_say(world: World, agent: Client) -> None:
    tickets = _queue_world(world)
    assert _numbers(_html(agent.get("/console/")), tickets) == {"mine"}
    unassigned = _html(agent.get("/console/?queue=unassigned"))
    assert _numbers(unassigned, tickets) == {"unassigned", "pending", "urgent"}
    assert _numbers(_html(agent.get("/console/?queue=groups")), tickets) == {"mine", "pending"}
    assert _numbers(_html(agent.get("/console/?queue=pending")), tickets) == {"pending"}
    assert _numbers(_html(agent.get("/console/?queue=tier1")), tickets) == {"unassigned", "mine", "pending", "urgent"}
    assert _numbers(_html(agent.get("/console/?queue=tier2")), tickets) == set()
    breaching = _html(agent.get("/console/?queue=breaching"))
    assert _numbers(breaching, tickets) == {"unassigned", "mine", "urgent"}
    # Most urgent first until SLA clocks exist.
    assert breaching.index(tickets["urgent"].number) < breaching.index(tickets["unassigned"].number)
    assert "Bank vault" not in _html(agent.get("/console/?queue=all"))


def test_live_counts(world: World, agent: Client) -> None:
    _queue_world(world)
    html = _html(agent.get("/console/counts/?current=pending", **HX))
    counts = {
        key: html.split(f'data-count="{key}">', 1)[1].split("<", 1)[0]
        for key in ("mine", "groups", "unassigned", "tier1", "tier2", "pending", "breaching")
    }
    assert counts == {
        "mine": "1",
        "groups": "2",
        "unassigned": "3",
        "tier1": "4",
        "tier2": "0",
        "pending": "1",
        "breaching": "3",
    }
    assert 'hx-trigger="every 30s"' in html and 'aria-current="page" href="/console/?queue=pending"' in html
    page = _html(agent.get("/console/"))
    assert 'hx-get="/console/counts/?current=mine"' in page and 'hx-trigger="load, every 30s"' in page


def test_search_filters_sorting_and_pages(world: World, agent: Client) -> None:
    tickets = _queue_world(world)
    found = _html(agent.get("/console/?queue=all&q=monitor&status=&priority="))  # as the filter form sends it
    assert _numbers(found, tickets) == {"mine"} and "not understood" not in found
    by_number = _html(agent.get(f"/console/?queue=all&q={tickets['pending'].number.lower()}"))
    assert _numbers(by_number, tickets) == {"pending"}
    by_requester = _html(agent.get("/console/?queue=all&q=rita"))
    assert _numbers(by_requester, tickets) == {"unassigned", "mine", "pending", "urgent"}
    high = _html(agent.get("/console/?queue=all&priority=1"))
    assert _numbers(high, tickets) == {"urgent"}
    oldest_first = _html(agent.get("/console/?queue=all&sort=created"))
    assert oldest_first.index(tickets["unassigned"].number) < oldest_first.index(tickets["urgent"].number)
    newest_first = _html(agent.get("/console/?queue=all&sort=-created"))
    assert newest_first.index(tickets["urgent"].number) < newest_first.index(tickets["unassigned"].number)
    assert 'aria-sort="descending"' in newest_first
    assert _html(agent.get("/console/?queue=all&sort=nonsense")).count("data-ticket=") == 4
    for i in range(52):
        open_ticket(world.requester, title=f"Bulk {i}")
    first = _html(agent.get("/console/?queue=all"))
    assert first.count('data-ticket="') == 50 and "page=2" in first and "56 tickets" in first
    second = _html(agent.get("/console/?queue=all&page=2"))
    assert second.count('data-ticket="') == 6


def test_saved_views_are_personal_filter_queries(world: World, agent: Client) -> None:
    tickets = _queue_world(world)
    response = agent.post("/console/views/", {"name": "Pumps", "query": "queue=all&q=pump&sort=priority"})
    assert response.status_code == 302 and response["Location"] == "/console/?queue=all&q=pump&sort=priority"
    view = SavedView.objects.get(user=world.agent)
    html = _html(agent.get(response["Location"]))
    assert _numbers(html, tickets) == {"urgent"}
    assert '<h1 class="h4 mb-3" id="queue-title">Pumps</h1>' in html
    # The same query string is what the API's FilterSet reads.
    from tierdesk.testing.fixtures import api_client_for

    api = api_client_for(world.agent).get(f"/api/v1/tickets/?{view.query}").json()
    assert [t["number"] for t in api["results"]] == [tickets["urgent"].number]
    assert "Pumps" not in _html(_client(world.supervisor).get("/console/"))
    assert _client(world.supervisor).post(f"/console/views/{view.pk}/delete/").status_code == 404
    assert agent.post(f"/console/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


# --- bulk actions ------------------------------------------------------------------------------


def test_bulk_assign_reports_each_failure(world: World, agent: Client) -> None:
    tickets = _queue_world(world)
    cancelled = services.transition(
        actor=Actor(user=world.agent), ticket=open_ticket(world.requester), to_status=TicketStatus.CANCELLED
    )
    chosen = [tickets["unassigned"].number, cancelled.number, tickets["bank"].number, tickets["urgent"].number]
    response = agent.post(
        "/console/bulk/",
        {"tickets": chosen, "action": "assign", "assignee": "me", "next": "/console/?queue=unassigned"},
        follow=True,
    )
    html = _html(response)
    assert response.redirect_chain[-1][0] == "/console/?queue=unassigned"
    assert f"Assigned 2 tickets: {tickets['unassigned'].number}, {tickets['urgent'].number}." in html
    assert "2 of 4 not changed" in html
    assert f"{cancelled.number}: Ticket {cancelled.number} is Cancelled and can no longer change." in html
    assert f"{tickets['bank'].number}: No such ticket, or you may not see it." in html
    for key in ("unassigned", "urgent"):
        ticket = _fresh(tickets[key])
        # Assigned to me, and into my group for that organisation since it had none.
        assert (ticket.assignee, ticket.support_group, ticket.status) == (world.agent, world.group, "assigned")
    assert _fresh(tickets["bank"]).assignee is None


def test_bulk_status_priority_and_note(world: World, agent: Client) -> None:
    tickets = _queue_world(world)
    numbers = [tickets["mine"].number, tickets["pending"].number]
    agent.post("/console/bulk/", {"tickets": numbers, "action": "priority", "impact": "high", "urgency": "medium"})
    assert {_fresh(tickets[k]).priority for k in ("mine", "pending")} == {2}
    agent.post("/console/bulk/", {"tickets": numbers, "action": "note", "note": "Vendor called back"})
    assert TimelineEntry.objects.filter(kind="note", body="Vendor called back").count() == 2
    response = agent.post("/console/bulk/", {"tickets": numbers, "action": "status", "status": "resolved"}, follow=True)
    assert "Resolving needs a resolution code and resolution notes." in _html(response)
    agent.post(
        "/console/bulk/",
        {
            "tickets": numbers,
            "action": "status",
            "status": "resolved",
            "resolution_code": "fixed",
            "resolution_notes": "Replaced",
        },
    )
    assert {_fresh(tickets[k]).status for k in ("mine", "pending")} == {"resolved"}
    response = agent.post("/console/bulk/", {"action": "note", "note": "x"}, follow=True)
    assert "Select at least one ticket first." in _html(response)


# --- the ticket page ---------------------------------------------------------------------------


def test_ticket_page_shows_the_whole_story(world: World, agent: Client) -> None:
    agent_actor = Actor(user=world.agent)
    earlier = open_ticket(world.requester, title="Earlier keyboard issue")
    ticket = open_ticket(world.requester, title="Pump offline", description="It **beeps**", support_group=world.group)
    services.reply(actor=agent_actor, ticket=ticket, body="We are on it")
    services.add_note(actor=agent_actor, ticket=ticket, body="Check the *firmware*")
    services.add_attachment(
        actor=agent_actor, ticket=ticket, stream=io.BytesIO(b"log"), filename="pump.log", is_public=False
    )
    html = _html(agent.get(f"/console/tickets/{ticket.number}/"))
    for fact in ("Pump offline", "Tier 1", "Service Desk", "P3 Moderate", "New", "Nobody"):
        assert fact in html, fact
    assert "<strong>beeps</strong>" in html
    # Requester card: organisation, site, contact details and their other tickets.
    assert "Hospital" in html and "Main campus" in html and 'href="mailto:rita@hospital.test"' in html
    assert earlier.number in html and "Earlier keyboard issue" in html
    # Replies, notes and events are marked apart.
    assert 'class="entry entry-reply"' in html and "Public reply</span>" in html
    assert 'class="entry entry-note"' in html and "Internal note</span>" in html and "<em>firmware</em>" in html
    assert 'class="entry entry-event"' in html and "opened the ticket" in html
    assert "pump.log" in html and "internal" in html
    # Only legal transitions are offered; New and Assigned follow the assignee.
    status_select = html.split('id="status-status"', 1)[1].split("</select>", 1)[0]
    assert 'value="in_progress"' in status_select and 'value="resolved"' in status_select
    assert 'value="closed"' not in status_select and 'value="assigned"' not in status_select
    # Every inline form carries the version it was read at.
    assert html.count(f'name="version" value="{ticket.version + 3}"') == 7
    assert TicketAccess.objects.filter(ticket_id=ticket.pk, user_id=world.agent.pk, via="web").count() == 1


def test_inline_changes_answer_with_fresh_regions(world: World, agent: Client) -> None:
    ticket = open_ticket(world.requester, title="Laptop fan", support_group=world.group)
    base = f"/console/tickets/{ticket.number}/"
    response = agent.post(base + "priority/", {"impact": "high", "urgency": "high", "version": 1}, **HX)
    html = _html(response)
    assert _fresh(ticket).priority == 1
    assert 'id="ticket-fields"' in html and 'hx-swap-oob="true"' in html and "P1 Critical" in html
    assert 'name="version" value="2"' in html  # the next change is made against the new version

    category = Category.objects.filter(parent__isnull=False, is_active=True).first()
    assert category is not None
    agent.post(base + "category/", {"category": category.pk, "version": 2}, **HX)
    assert _fresh(ticket).category == category

    tier2 = SupportGroupFactory.create(
        organisation=world.provider, name="Network", tier=2, serves=[world.client], agents=[world.agent]
    )
    agent.post(base + "group/", {"support_group": tier2.pk, "version": 3}, **HX)
    assert (_fresh(ticket).support_group, _fresh(ticket).tier) == (tier2, 2)

    agent.post(base + "assignee/", {"assignee": world.agent.pk, "version": 4}, **HX)
    assert (_fresh(ticket).assignee, _fresh(ticket).status) == (world.agent, "assigned")
    agent.post(base + "assignee/", {"assignee": "", "version": 5}, **HX)
    assert _fresh(ticket).assignee is None
    agent.post(base + "assign-to-me/", {"version": 6}, **HX)
    assert _fresh(ticket).assignee == world.agent

    html = _html(agent.post(base + "status/", {"status": "resolved", "version": 7}, **HX))
    assert "Resolving needs a resolution code and resolution notes." in html and _fresh(ticket).status == "assigned"
    agent.post(
        base + "status/",
        {"status": "resolved", "resolution_code": "fixed", "resolution_notes": "Cleaned the fan", "version": 7},
        **HX,
    )
    assert (_fresh(ticket).status, _fresh(ticket).resolution_notes) == ("resolved", "Cleaned the fan")
    html = _html(agent.post(base + "status/", {"status": "cancelled", "version": 8}, **HX))
    assert "Select a valid choice" in html and _fresh(ticket).status == "resolved"


def test_an_outsider_cannot_be_assigned(world: World, agent: Client) -> None:
    outsider = AgentFactory.create(organisation=world.provider, email="outsider@northwind.test")
    ticket = open_ticket(world.requester, support_group=world.group)
    html = _html(
        agent.post(f"/console/tickets/{ticket.number}/assignee/", {"assignee": outsider.pk, "version": 1}, **HX)
    )
    assert "Select a valid choice" in html and _fresh(ticket).assignee is None


def test_stale_version_warns_and_overwrites_nothing(world: World, agent: Client) -> None:
    ticket = open_ticket(world.requester, support_group=world.group)
    services.change_priority(actor=Actor(user=world.supervisor), ticket=ticket, impact="high", urgency="high")
    response = agent.post(
        f"/console/tickets/{ticket.number}/priority/", {"impact": "low", "urgency": "low", "version": 1}, **HX
    )
    html = _html(response)
    assert "Someone else changed this ticket" in html and "Reload the ticket" in html
    assert f'href="/console/tickets/{ticket.number}/"' in html
    assert response["HX-Retarget"] == "#ticket-alert" and response["HX-Reswap"] == "outerHTML"
    current = _fresh(ticket)
    assert (current.impact, current.urgency, current.priority, current.version) == ("high", "high", 1, 2)
    # Without htmx the same refusal comes back as a message on the reloaded page.
    response = agent.post(f"/console/tickets/{ticket.number}/category/", {"category": "", "version": 1}, follow=True)
    assert "Someone else changed this ticket meanwhile" in _html(response)


def test_watching(world: World, agent: Client) -> None:
    ticket = open_ticket(world.requester)
    html = _html(agent.post(f"/console/tickets/{ticket.number}/watch/", {"watching": "1"}, **HX))
    assert list(ticket.watchers.all()) == [world.agent] and "Stop watching" in html and "Alex Agent" in html
    agent.post(f"/console/tickets/{ticket.number}/watch/", {"watching": "0"}, **HX)
    assert not ticket.watchers.exists()


def test_composer_reply_note_and_files(world: World, agent: Client) -> None:
    ticket = open_ticket(world.requester)
    base = f"/console/tickets/{ticket.number}/"
    html = _html(agent.post(base + "compose/", {"kind": "reply", "body": "Try a *restart*"}, **HX))
    assert 'id="composer"' in html and "<em>restart</em>" in html  # a fresh composer, the reply in the timeline
    agent.post(base + "compose/", {"kind": "note", "body": "Probably the PSU"}, **HX)
    entries = list(
        TimelineEntry.objects.filter(ticket=ticket, kind__in=["reply", "note"]).values_list("kind", "is_public")
    )
    assert entries == [("reply", True), ("note", False)]
    assert _fresh(ticket).first_response_at is not None
    html = _html(agent.post(base + "compose/", {"kind": "reply", "body": "  "}, **HX))
    assert "Write something first." in html

    public = SimpleUploadedFile("screen.png", b"\x89PNG\r\n\x1a\n")
    internal = SimpleUploadedFile("notes.txt", b"internal notes")
    assert agent.post(base + "attachments/", {"file": public, "is_public": "1"}).json() == {
        "ok": True,
        "saved": ["screen.png"],
    }
    agent.post(base + "attachments/", {"file": internal, "is_public": "0"})
    assert list(Attachment.objects.order_by("pk").values_list("filename", "is_public")) == [
        ("screen.png", True),
        ("notes.txt", False),
    ]
    html = _html(agent.get(base + "regions/", **HX))
    assert "screen.png" in html and "notes.txt" in html and 'id="ticket-attachments"' in html
    assert agent.post(base + "attachments/", {}).json() == {"ok": False, "error": "Choose or drop a file."}


def test_console_escapes_what_people_typed(world: World, agent: Client) -> None:
    xss = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    requester = accounts.create_requester(
        actor=Actor.system(), organisation=world.client, name=xss, email="x@hospital.test", phone=xss[:40]
    )
    ticket = open_ticket(requester, title=xss, description=xss)
    services.reply(actor=Actor(user=world.agent), ticket=ticket, body=xss)
    pages = [
        f"/console/?queue=all&q={ticket.number}",
        f"/console/tickets/{ticket.number}/",
        "/console/calls/callers/?q=hospital.test",
        f"/console/calls/callers/{requester.pk}/",
    ]
    for url in pages:
        html = _html(agent.get(url))
        assert "<script>alert(1)" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


# --- log a call --------------------------------------------------------------------------------


def test_caller_search_by_name_email_and_phone(world: World, agent: Client) -> None:
    pat = accounts.create_requester(
        actor=Actor.system(), organisation=world.client, name="Pat Phone", phone="+1 (555) 010-0123", site=world.site
    )
    assert "Pat Phone" in _html(agent.get("/console/calls/callers/?q=pat"))
    assert "Rita Requester" in _html(agent.get("/console/calls/callers/?q=rita@hosp"))
    assert "Pat Phone" in _html(agent.get("/console/calls/callers/?q=5550100123"))
    assert "Bob Banker" not in _html(agent.get("/console/calls/callers/?q=bob"))  # the bank is not served
    assert "No caller matches" in _html(agent.get("/console/calls/callers/?q=nobody-at-all"))
    card = _html(agent.get(f"/console/calls/callers/{pat.pk}/"))
    assert "Hospital" in card and f'value="{pat.pk}"' in card and 'form="call-form"' in card
    assert f'<option value="{world.site.pk}" selected>Main campus</option>' in card
    bob = world.other_requester_user.requester_profile
    assert agent.get(f"/console/calls/callers/{bob.pk}/").status_code == 404


def test_log_a_call_resolved_on_the_call(world: World, agent: Client) -> None:
    earlier = open_ticket(world.requester, title="Earlier call")
    card = _html(agent.get(f"/console/calls/callers/{world.requester.pk}/"))
    assert earlier.number in card  # the caller's recent tickets
    response = agent.post(
        "/console/calls/new/",
        {
            "requester": world.requester.pk,
            "site": world.site.pk,
            "title": "Caps lock stuck",
            "ticket_type": "incident",
            "impact": "low",
            "urgency": "medium",
            "notes": "Showed the key",
            "resolved_on_call": "on",
            "resolution_code": "fixed",
        },
    )
    ticket = Ticket.objects.get(title="Caps lock stuck")
    assert response.status_code == 302 and response["Location"] == f"/console/tickets/{ticket.number}/"
    assert (ticket.channel, ticket.status, ticket.resolved_on_first_contact) == (Channel.PHONE, "resolved", True)
    assert (ticket.assignee, ticket.site, ticket.priority) == (world.agent, world.site, 4)
    assert "resolved on the call" in _html(agent.get(response["Location"]))


def test_log_a_call_left_open_and_refusals(world: World, agent: Client) -> None:
    response = agent.post(
        "/console/calls/new/",
        {
            "requester": world.requester.pk,
            "title": "Monitor flickers",
            "ticket_type": "incident",
            "impact": "medium",
            "urgency": "medium",
        },
    )
    ticket = Ticket.objects.get(title="Monitor flickers")
    assert response.status_code == 302 and ticket.status == "assigned" and not ticket.resolved_on_first_contact
    html = _html(agent.post("/console/calls/new/", {"title": "No caller", "impact": "low", "urgency": "low"}))
    assert "Find and choose the caller first." in html
    bob = world.other_requester_user.requester_profile
    html = _html(
        agent.post(
            "/console/calls/new/",
            {"requester": bob.pk, "title": "Sneaky", "ticket_type": "incident", "impact": "low", "urgency": "low"},
        )
    )
    assert "Choose the caller again." in html and not Ticket.objects.filter(title="Sneaky").exists()
    other_site = tenancy.create_site(actor=Actor.system(), organisation=world.other_client, name="Vault")
    html = _html(
        agent.post(
            "/console/calls/new/",
            {
                "requester": world.requester.pk,
                "site": other_site.pk,
                "title": "Wrong site",
                "ticket_type": "incident",
                "impact": "low",
                "urgency": "low",
            },
        )
    )
    assert "Select a valid choice" in html and not Ticket.objects.filter(title="Wrong site").exists()
    assert "Rita Requester" in html  # the chosen caller stays on the page
