"""The portal through Django's test client: scope, the guided form, the public timeline, and
confirming, reopening and rating a resolution."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.portal import guide
from tierdesk.tenancy.models import Announcement
from tierdesk.tenancy.services import end_announcement, post_announcement
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.choices import Channel, ResolutionCode, TicketStatus, TicketType
from tierdesk.tickets.models import Attachment, Category, SatisfactionRating, Ticket


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def category(path: str) -> Category:
    return Category.objects.get(path=path)


def resolve(world: World, ticket: Ticket) -> Ticket:
    return services.transition(
        actor=Actor(user=world.agent),
        ticket=ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes="Replaced the toner.",
    )


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


# --- who gets in ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(world: World) -> None:
    response = Client().get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/portal/")


def test_agents_are_sent_to_the_console(world: World) -> None:
    ticket = f.open_ticket(world.requester)
    agent = browser(world.agent)
    assert agent.get("/portal/")["Location"] == "/console/"
    assert agent.get("/portal/new/")["Location"] == "/console/"
    assert agent.get(f"/portal/tickets/{ticket.number}/")["Location"] == f"/console/tickets/{ticket.number}/"


def test_requesters_land_in_the_portal(world: World) -> None:
    assert browser(world.requester_user).get("/")["Location"] == "/portal/"


# --- lists ---------------------------------------------------------------------------------


def test_my_tickets_shows_only_my_own(world: World) -> None:
    mine = f.open_ticket(world.requester, title="My laptop is slow")
    f.open_ticket(world.colleague, title="Colleague's monitor flickers")
    page = html(browser(world.requester_user).get("/portal/"))
    assert mine.number in page and "My laptop is slow" in page
    assert "monitor flickers" not in page
    assert "My organisation" not in page


def test_my_tickets_tabs_and_search(world: World) -> None:
    open_one = f.open_ticket(world.requester, title="Printer jams")
    done = f.open_ticket(world.requester, title="VPN drops")
    services.transition(actor=Actor(user=world.requester_user), ticket=done, to_status=TicketStatus.CANCELLED)
    client = browser(world.requester_user)
    assert "VPN drops" not in html(client.get("/portal/"))
    closed = html(client.get("/portal/?show=closed"))
    assert "VPN drops" in closed and "Printer jams" not in closed
    everything = html(client.get("/portal/?show=all&q=printer"))
    assert open_one.number in everything and "VPN drops" not in everything


def test_organisation_managers_see_their_organisations_tickets(world: World) -> None:
    f.open_ticket(world.requester, title="Rita's printer")
    f.open_ticket(world.colleague, title="Colin's phone")
    other = f.RequesterFactory.create(organisation=world.other_client, name="Bea Banker")
    f.open_ticket(other, title="Bank vault login")
    manager = browser(world.manager_user)
    page = html(manager.get("/portal/organisation/"))
    assert "Rita&#x27;s printer" in page and "Colin&#x27;s phone" in page
    assert "Rita Requester" in page  # the requester column
    assert "Bank vault" not in page
    assert "Rita&#x27;s printer" not in html(manager.get("/portal/"))  # "my tickets" stays personal
    assert "My organisation's tickets" in html(manager.get("/portal/"))


def test_organisation_list_is_for_managers_only(world: World) -> None:
    assert browser(world.requester_user).get("/portal/organisation/").status_code == 404


def test_requester_login_without_requester_record_is_told_so(world: World) -> None:
    user = f.UserFactory.create(organisation=world.client, role=Role.REQUESTER, email="ghost@hospital.test")
    client = browser(user)
    assert "not linked to a requester record" in html(client.get("/portal/"))
    response = client.post("/portal/new/", {"area": category("Hardware").pk, "title": "Help", "impact": "low"})
    assert response.status_code == 200
    assert "not linked to a requester record" in html(response)
    assert not Ticket.objects.exists()


# --- someone else's ticket is a 404 ----------------------------------------------------------


def test_someone_elses_ticket_number_is_not_found(world: World) -> None:
    colleagues = f.open_ticket(world.colleague, title="Colin's")
    other = f.RequesterFactory.create(organisation=world.other_client)
    other_org = f.open_ticket(other, title="Bank's")
    attachment = services.add_attachment(
        actor=Actor.system(), ticket=colleagues, stream=SimpleUploadedFile("a.txt", b"secret"), filename="a.txt"
    )
    client = browser(world.requester_user)
    for ticket in (colleagues, other_org):
        assert client.get(f"/portal/tickets/{ticket.number}/").status_code == 404
        assert client.post(f"/portal/tickets/{ticket.number}/reply/", {"body": "hi"}).status_code == 404
        assert client.post(f"/portal/tickets/{ticket.number}/confirm/").status_code == 404
        assert client.post(f"/portal/tickets/{ticket.number}/rate/", {"score": 5}).status_code == 404
    assert client.get(f"/portal/tickets/{colleagues.number}/files/{attachment.pk}/").status_code == 404
    assert client.get("/portal/tickets/INC9999999/").status_code == 404
    assert not colleagues.timeline.filter(kind="reply").exists()


def test_a_manager_opens_a_colleagues_ticket(world: World) -> None:
    ticket = f.open_ticket(world.colleague, title="Colin's phone")
    assert browser(world.manager_user).get(f"/portal/tickets/{ticket.number}/").status_code == 200


# --- a new ticket ----------------------------------------------------------------------------


def test_category_guide_decides_the_ticket_type() -> None:
    assert guide.ticket_type_for(Category(path="Software / Installation request")) == TicketType.SERVICE_REQUEST
    assert guide.ticket_type_for(Category(path="Accounts & access / Password reset")) == TicketType.SERVICE_REQUEST
    assert guide.ticket_type_for(Category(path="Hardware / Laptop")) == TicketType.INCIDENT
    assert guide.ticket_type_for(None) == TicketType.INCIDENT
    assert guide.hint_for(Category(path="Hardware / Monitor")) == guide.HINTS["Hardware"]
    assert guide.hint_for(Category(path="Unknown / Thing")) == guide.DEFAULT_HINT


def test_every_service_request_category_exists(db: None) -> None:
    paths = set(Category.objects.values_list("path", flat=True))
    assert guide.SERVICE_REQUEST_CATEGORIES.issubset(paths)
    assert set(guide.HINTS).issubset(paths)


def test_choosing_an_area_offers_its_subcategories_and_hint(world: World) -> None:
    client = browser(world.requester_user)
    software = category("Software")
    install = category("Software / Installation request")
    page = html(client.get("/portal/new/category/", {"area": software.pk}))
    assert "Installation request" in page and "Laptop" not in page
    assert "an incident" in page
    page = html(client.get("/portal/new/category/", {"area": software.pk, "subcategory": install.pk}))
    assert "a service request" in page
    assert "manager&#x27;s approval" in page


def test_submit_a_service_request_with_attachments(world: World) -> None:
    client = browser(world.requester_user)
    assert client.get("/portal/new/").status_code == 200
    response = client.post(
        "/portal/new/",
        {
            "area": category("Software").pk,
            "subcategory": category("Software / Installation request").pk,
            "title": "Please install Visio",
            "description": "For the *floor plans*.",
            "impact": "low",
            "urgency": "medium",
            "attachments": [
                SimpleUploadedFile("quote.pdf", b"%PDF-1.4 quote"),
                SimpleUploadedFile("approval.txt", b"approved by my manager"),
            ],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"
    assert ticket.number.startswith("REQ")
    assert ticket.ticket_type == TicketType.SERVICE_REQUEST
    assert ticket.category == category("Software / Installation request")
    assert ticket.channel == Channel.PORTAL
    assert ticket.requester == world.requester
    assert sorted(Attachment.objects.filter(ticket=ticket, is_public=True).values_list("filename", flat=True)) == [
        "approval.txt",
        "quote.pdf",
    ]
    page = html(client.get(response["Location"]))
    assert "Please install Visio" in page and "<em>floor plans</em>" in page and "approval.txt" in page


def test_submit_with_an_area_only_is_an_incident_in_that_area(world: World) -> None:
    client = browser(world.requester_user)
    client.post(
        "/portal/new/",
        {"area": category("Hardware").pk, "title": "Something broke", "impact": "high", "urgency": "high"},
    )
    ticket = Ticket.objects.get()
    assert ticket.ticket_type == TicketType.INCIDENT and ticket.number.startswith("INC")
    assert ticket.category == category("Hardware")
    assert ticket.priority == 1


def test_a_subcategory_of_another_area_is_refused_kindly(world: World) -> None:
    response = browser(world.requester_user).post(
        "/portal/new/",
        {
            "area": category("Hardware").pk,
            "subcategory": category("Software / Licence").pk,
            "title": "Mixed up",
            "impact": "low",
            "urgency": "low",
        },
    )
    assert response.status_code == 200
    assert "Choose one of the options listed for this area." in html(response)
    assert not Ticket.objects.exists()


def test_an_empty_title_is_a_friendly_error_and_nothing_is_lost(world: World) -> None:
    response = browser(world.requester_user).post(
        "/portal/new/",
        {
            "area": category("Network").pk,
            "title": "   ",
            "description": "The Wi-Fi on floor 3",
            "impact": "low",
            "urgency": "low",
        },
    )
    page = html(response)
    assert response.status_code == 200
    assert "Give your ticket a short summary." in page
    assert "The Wi-Fi on floor 3" in page
    assert f'value="{category("Network").pk}" selected' in page
    assert not Ticket.objects.exists()


def test_a_too_big_attachment_is_a_message_and_nothing_is_saved(world: World, settings: object) -> None:
    settings.TIERDESK_ATTACHMENT_MAX_BYTES = 100  # type: ignore[attr-defined]
    response = browser(world.requester_user).post(
        "/portal/new/",
        {
            "area": category("Hardware").pk,
            "title": "Screen cracked",
            "description": "Dropped it",
            "impact": "low",
            "urgency": "low",
            "attachments": [SimpleUploadedFile("photo.jpg", b"x" * 500), SimpleUploadedFile("ok.txt", b"fine")],
        },
    )
    page = html(response)
    assert response.status_code == 200
    assert "Too big: photo.jpg (500\xa0bytes)" in page
    assert "choose your files again" in page
    assert 'value="Screen cracked"' in page and "Dropped it" in page
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


# --- a ticket page ---------------------------------------------------------------------------


def test_the_ticket_page_shows_the_public_timeline_only(world: World) -> None:
    ticket = f.open_ticket(world.requester, title="Printer", support_group=world.group)
    agent = Actor(user=world.agent)
    services.reply(actor=agent, ticket=ticket, body="Have you tried **turning it off**?")
    services.add_note(actor=agent, ticket=ticket, body="INTERNAL: the requester broke it again")
    internal = services.add_attachment(
        actor=agent,
        ticket=ticket,
        stream=SimpleUploadedFile("x.txt", b"log"),
        filename="diagnostics-internal.log",
        is_public=False,
    )
    public = services.add_attachment(
        actor=agent, ticket=ticket, stream=SimpleUploadedFile("x.txt", b"howto"), filename="howto.pdf"
    )
    for user in (world.requester_user, world.manager_user):
        client = browser(user)
        page = html(client.get(f"/portal/tickets/{ticket.number}/"))
        assert "<strong>turning it off</strong>" in page
        assert "howto.pdf" in page
        assert "INTERNAL" not in page and "diagnostics-internal" not in page
        assert client.get(f"/portal/tickets/{ticket.number}/files/{internal.pk}/").status_code == 404
        download = client.get(f"/portal/tickets/{ticket.number}/files/{public.pk}/")
        assert download.status_code == 200 and b"".join(download.streaming_content) == b"howto"  # type: ignore[attr-defined]


def test_reply_with_a_file_hands_the_ticket_back_to_the_desk(world: World) -> None:
    ticket = f.open_ticket(world.requester, support_group=world.group)
    services.assign(actor=Actor(user=world.agent), ticket=ticket, assignee=world.agent)
    services.transition(actor=Actor(user=world.agent), ticket=ticket, to_status=TicketStatus.PENDING_CUSTOMER)
    client = browser(world.requester_user)
    response = client.post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "Here is the error", "attachments": [SimpleUploadedFile("error.png", b"\x89PNG....")]},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    page = html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "Your reply was added with 1 file." in page
    assert "Here is the error" in page and "error.png" in page


def test_an_empty_reply_is_refused_kindly(world: World) -> None:
    ticket = f.open_ticket(world.requester)
    response = browser(world.requester_user).post(f"/portal/tickets/{ticket.number}/reply/", {"body": "  "})
    assert response.status_code == 200
    assert "Write a reply or attach a file." in html(response)


def test_a_too_big_reply_attachment_keeps_the_reply(world: World, settings: object) -> None:
    settings.TIERDESK_ATTACHMENT_MAX_BYTES = 10  # type: ignore[attr-defined]
    ticket = f.open_ticket(world.requester)
    response = browser(world.requester_user).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "See the video", "attachments": [SimpleUploadedFile("video.mp4", b"x" * 50)]},
    )
    page = html(response)
    assert "Too big: video.mp4" in page and "See the video" in page
    assert not ticket.timeline.filter(kind="reply").exists()


def test_a_closed_ticket_takes_no_more_replies(world: World) -> None:
    ticket = f.open_ticket(world.requester)
    client = browser(world.requester_user)
    client.post(f"/portal/tickets/{ticket.number}/cancel/", {"reason": "Fixed itself"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    page = html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "Send reply" not in page and "open a new ticket" in page
    response = client.post(f"/portal/tickets/{ticket.number}/reply/", {"body": "one more thing"})
    assert response.status_code == 200 and "open a new ticket instead" in html(response)


# --- confirm, reopen, rate -------------------------------------------------------------------


def test_confirm_a_resolution(world: World) -> None:
    ticket = resolve(world, f.open_ticket(world.requester, support_group=world.group))
    client = browser(world.requester_user)
    page = html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "Is your problem solved?" in page and "Replaced the toner." in page
    assert client.post(f"/portal/tickets/{ticket.number}/confirm/").status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    # A second click (e.g. from another tab) explains instead of failing.
    response = client.post(f"/portal/tickets/{ticket.number}/confirm/")
    assert response.status_code == 200 and "no longer possible" in html(response)


def test_reopen_within_the_window(world: World) -> None:
    ticket = resolve(world, f.open_ticket(world.requester, support_group=world.group))
    client = browser(world.requester_user)
    assert "You can reopen it until" in html(client.get(f"/portal/tickets/{ticket.number}/"))
    response = client.post(f"/portal/tickets/{ticket.number}/reopen/", {"reason": "It jams again"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    assert "It jams again" in html(client.get(f"/portal/tickets/{ticket.number}/"))


def test_reopen_after_the_window_is_explained(world: World, settings: object) -> None:
    settings.TIERDESK_REOPEN_WINDOW_DAYS = 7  # type: ignore[attr-defined]
    ticket = f.open_ticket(world.requester, support_group=world.group)
    with clock.frozen(clock.now() - timedelta(days=8)):
        ticket = resolve(world, ticket)
    client = browser(world.requester_user)
    page = html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "7-day window to reopen this ticket ended" in page
    assert "Reopen the ticket" not in page
    assert "Yes, close the ticket" in page
    response = client.post(f"/portal/tickets/{ticket.number}/reopen/", {"reason": "again"})
    assert response.status_code == 200
    assert "resolved more than 7 days ago, so it can no longer be reopened" in html(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_rate_a_resolution(world: World) -> None:
    ticket = f.open_ticket(world.requester, support_group=world.group)
    client = browser(world.requester_user)
    assert "Rate the resolution" not in html(client.get(f"/portal/tickets/{ticket.number}/"))
    response = client.post(f"/portal/tickets/{ticket.number}/rate/", {"score": 5})
    assert "can be rated once it is resolved" in html(response)
    resolve(world, ticket)
    assert "Rate the resolution" in html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "Choose a score from 1 to 5." in html(client.post(f"/portal/tickets/{ticket.number}/rate/", {"score": 9}))
    response = client.post(f"/portal/tickets/{ticket.number}/rate/", {"score": "4", "comment": "Quick, thanks"})
    assert response.status_code == 302
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.requester_id) == (4, "Quick, thanks", world.requester.pk)
    page = html(client.get(f"/portal/tickets/{ticket.number}/"))
    assert "You rated it <strong>4 out of 5</strong>" in page and "Change your rating" in page
    # Still rateable once closed.
    client.post(f"/portal/tickets/{ticket.number}/confirm/")
    client.post(f"/portal/tickets/{ticket.number}/rate/", {"score": "5"})
    assert SatisfactionRating.objects.get(ticket=ticket).score == 5


def test_only_the_requester_rates(world: World) -> None:
    ticket = resolve(world, f.open_ticket(world.colleague, support_group=world.group))
    manager = browser(world.manager_user)
    assert "Rate the resolution" not in html(manager.get(f"/portal/tickets/{ticket.number}/"))
    response = manager.post(f"/portal/tickets/{ticket.number}/rate/", {"score": "1"})
    assert "Only the requester" in html(response)
    assert not SatisfactionRating.objects.exists()


# --- announcements ---------------------------------------------------------------------------


def test_announcements_of_my_organisation_on_every_portal_page(world: World) -> None:
    system = Actor.system()
    post_announcement(
        actor=system,
        organisation=world.client,
        title="E-mail is down",
        body="We are on it.",
        severity=Announcement.Severity.OUTAGE,
    )
    post_announcement(actor=system, organisation=world.other_client, title="Bank maintenance tonight")
    ended = post_announcement(actor=system, organisation=world.client, title="Old news")
    end_announcement(actor=system, announcement=ended)
    ticket = f.open_ticket(world.requester)
    client = browser(world.requester_user)
    for url in ("/portal/", "/portal/new/", f"/portal/tickets/{ticket.number}/"):
        page = html(client.get(url))
        assert "Outage: E-mail is down" in page and "alert-danger" in page and "We are on it." in page
        assert "Bank maintenance" not in page and "Old news" not in page
