"""The software catalogue: requests with and without approval, who may decide, deciding once,
rejection cancelling the ticket with the requester told, and the console's approvals page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.notifications.models import Notification, OutboxMessage
from tierdesk.routing.services import create_routing_entry
from tierdesk.selfservice import catalogue, services, virtual_agent
from tierdesk.selfservice.choices import ApprovalStatus, Automation, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.models import CatalogItem, ServiceRequestApproval, Tier0Interaction
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World, count_queries
from tierdesk.tickets import assignment
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus, TicketType
from tierdesk.tickets.models import TimelineEntry


@dataclass
class Shop:
    slack: CatalogItem  # no approval, fulfilled by the desktop team
    visio: CatalogItem  # approval by the licence managers
    desktop: SupportGroup
    licences: SupportGroup
    approver: User  # a licence manager; the group serves no client
    bystander: User  # an agent of the provider, not a licence manager


@pytest.fixture
def shop(world: World) -> Shop:
    desktop = f.SupportGroupFactory.create(
        organisation=world.provider, name="Desktop team", tier=2, serves=[world.client]
    )
    approver = f.AgentFactory.create(organisation=world.provider, email="lena@northwind.test", full_name="Lena Licence")
    licences = f.SupportGroupFactory.create(organisation=world.provider, name="Licence managers", agents=[approver])
    slack = CatalogItem.objects.create(organisation=world.provider, name="Slack", fulfilment_group=desktop)
    visio = CatalogItem.objects.create(
        organisation=world.provider,
        name="Microsoft Visio",
        keywords="visio, diagrams",
        requires_approval=True,
        approver_group=licences,
        fulfilment_group=desktop,
    )
    return Shop(slack, visio, desktop, licences, approver, world.agent)


def _rita(world: World) -> Actor:
    return Actor(user=world.requester_user)


def test_offered_items_follow_the_organisation(world: World, shop: Shop) -> None:
    only_bank = CatalogItem.objects.create(organisation=world.provider, name="Bloomberg")
    only_bank.offered_to.set([world.other_client])
    CatalogItem.objects.create(organisation=world.provider, name="Retired tool", is_active=False)
    CatalogItem.objects.create(organisation=world.other_provider_agent.organisation, name="Rival's tool")
    assert [i.name for i in catalogue.offered_to(world.requester)] == ["Microsoft Visio", "Slack"]
    with pytest.raises(NotFound):
        catalogue.request_item(actor=_rita(world), requester=world.requester, item=only_bank)


def test_request_without_approval_goes_to_the_fulfilment_group(world: World, shop: Shop) -> None:
    ticket = catalogue.request_item(
        actor=_rita(world), requester=world.requester, item=shop.slack, note="For the project"
    )
    assert ticket.ticket_type == TicketType.SERVICE_REQUEST
    assert ticket.number.startswith("REQ")
    assert ticket.channel == Channel.PORTAL
    assert ticket.support_group_id == shop.desktop.pk
    assert "For the project" in ticket.description
    assert not ServiceRequestApproval.objects.filter(ticket=ticket).exists()
    event = AuditEvent.objects.get(action="selfservice.item_requested", object_id=str(ticket.pk))
    assert event.actor_id == world.requester_user.pk and (event.after or {})["requires_approval"] is False


def test_request_with_approval_waits_unassigned(
    world: World, shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    assert ticket.support_group_id is None and ticket.assignee_id is None
    assert ticket.status == TicketStatus.NEW
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    assert (approval.status, approval.approver_group_id, approval.organisation_id) == (
        ApprovalStatus.PENDING,
        shop.licences.pk,
        world.client.pk,
    )
    assert TimelineEntry.objects.filter(ticket=ticket, event="approval_requested", is_public=True).exists()
    assert Notification.objects.filter(recipient=shop.approver, ticket=ticket).exists()


def test_approval_by_a_group_member_routes_to_fulfilment(world: World, shop: Shop) -> None:
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    approval = catalogue.access_approval(
        Actor(user=shop.approver), ServiceRequestApproval.objects.get(ticket=ticket).pk
    )
    decided = catalogue.decide_approval(actor=Actor(user=shop.approver), approval=approval, approve=True, comment="OK")
    assert decided.status == ApprovalStatus.APPROVED and decided.decided_by == shop.approver
    ticket.refresh_from_db()
    assert ticket.support_group_id == shop.desktop.pk and ticket.status == TicketStatus.NEW
    note = TimelineEntry.objects.get(ticket=ticket, kind="note")
    assert "Approved by Lena Licence" in note.body and not note.is_public
    event = AuditEvent.objects.get(action="selfservice.approval_decided")
    assert event.actor_id == shop.approver.pk and (event.after or {})["status"] == ApprovalStatus.APPROVED


def test_rejection_cancels_the_ticket_and_tells_the_requester(
    world: World, shop: Shop, tasks_in_process: None, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    with pytest.raises(DomainError, match="Say why"):
        catalogue.decide_approval(actor=Actor(user=shop.approver), approval=approval, approve=False)
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.decide_approval(
            actor=Actor(user=shop.approver), approval=approval, approve=False, comment="Use the free viewer instead."
        )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    change = TimelineEntry.objects.get(ticket=ticket, event="status_changed")
    assert change.is_public and "Use the free viewer instead." in change.body
    mail = OutboxMessage.objects.filter(ticket=ticket, to_addresses__contains="rita@hospital.test").exclude(
        purpose__icontains="ack"
    )
    assert any("Use the free viewer instead." in m.body_text for m in mail)


def test_the_app_registers_the_approval_check_and_hold() -> None:
    assert catalogue.waiting_for_approval in assignment._checks
    assert catalogue.waiting_for_approval in assignment._holds


def test_routing_leaves_a_request_waiting_for_approval_out_of_the_queues(
    world: World, shop: Shop, tasks_in_process: None, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # A routing table that sends everything of the Hospital to the desk would otherwise place it.
    create_routing_entry(actor=Actor.system(), provider=world.provider, support_group=world.group, client=world.client)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
        other = tickets.open_ticket(actor=_rita(world), requester=world.requester, title="Printer jammed")
    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.support_group_id is None and other.support_group_id == world.group.pk
    approval = ServiceRequestApproval.objects.get(ticket=waiting)
    catalogue.decide_approval(actor=Actor(user=shop.approver), approval=approval, approve=True)
    waiting.refresh_from_db()
    assert waiting.support_group_id == shop.desktop.pk


def test_nobody_is_assigned_a_request_before_it_is_approved(world: World, shop: Shop) -> None:
    shop.desktop.memberships.create(agent=world.agent)
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    desk = Actor(user=world.agent)
    with pytest.raises(DomainError, match="waiting for approval by Licence managers"):
        tickets.assign(actor=desk, ticket=ticket, assignee=world.agent, support_group=shop.desktop)
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    catalogue.decide_approval(actor=Actor(user=shop.approver), approval=approval, approve=True)
    ticket.refresh_from_db()
    assert TimelineEntry.objects.filter(ticket=ticket, event="approval_granted", is_public=True).exists()
    tickets.assign(actor=desk, ticket=ticket, assignee=world.agent)
    ticket.refresh_from_db()
    assert ticket.assignee_id == world.agent.pk and ticket.status == TicketStatus.ASSIGNED


def test_only_members_of_the_approver_group_decide(world: World, shop: Shop) -> None:
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    for outsider in (shop.bystander, world.supervisor, world.requester_user, world.other_provider_agent):
        with pytest.raises(PermissionDenied):
            catalogue.decide_approval(actor=Actor(user=outsider), approval=approval, approve=True)
        with pytest.raises(NotFound):
            catalogue.access_approval(Actor(user=outsider), approval.pk)
    with pytest.raises(PermissionDenied):
        catalogue.decide_approval(actor=Actor.system(), approval=approval, approve=True)
    assert ServiceRequestApproval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING


def test_an_approval_is_decided_once(world: World, shop: Shop) -> None:
    second = f.AgentFactory.create(organisation=world.provider, email="max@northwind.test", full_name="Max Licence")
    shop.licences.memberships.create(agent=second)
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    catalogue.decide_approval(actor=Actor(user=shop.approver), approval=approval, approve=True)
    with pytest.raises(DomainError, match="already approved by Lena Licence"):
        catalogue.decide_approval(actor=Actor(user=second), approval=approval, approve=False, comment="No")
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.CANCELLED
    assert AuditEvent.objects.filter(action="selfservice.approval_decided").count() == 1


def test_a_fulfilment_group_not_serving_the_client_leaves_the_request_for_the_desk(world: World, shop: Shop) -> None:
    banker = f.RequesterFactory.create(organisation=world.other_client)
    ticket = catalogue.request_item(actor=Actor.system(), requester=banker, item=shop.slack)
    assert ticket.support_group_id is None
    note = TimelineEntry.objects.get(ticket=ticket, kind="note")
    assert note.body == "Desktop team fulfils Slack but does not serve Bank; dispatch it by hand."


def test_item_needing_approval_without_a_group_is_refused_clearly(world: World, shop: Shop) -> None:
    shop.visio.approver_group = None
    shop.visio.save()
    with pytest.raises(DomainError, match="no approver group"):
        catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)


def test_chat_request_records_tier0_and_says_where_it_went(world: World, shop: Shop) -> None:
    conversation = services.start_conversation(actor=_rita(world), requester=world.requester)
    services.post_message(actor=_rita(world), conversation=conversation, body="I need Visio please")
    offer = conversation.messages.filter(author="bot").order_by("-id").first()
    assert offer is not None and "needs approval by Licence managers" in offer.body
    action = offer.data["actions"][0]
    [line] = virtual_agent.handle_action(
        actor=_rita(world), conversation=conversation, action=action["action"], payload=action["payload"]
    )
    approval = ServiceRequestApproval.objects.get(item=shop.visio)
    ticket = approval.ticket
    assert ticket.channel == Channel.CHAT
    assert line.body == (
        f"Done: {ticket.number} is waiting for approval by Licence managers. You can follow it under My tickets."
    )
    record = Tier0Interaction.objects.get(conversation=conversation)
    assert (record.kind, record.outcome, record.automation, record.ticket_id) == (
        Tier0Kind.AUTOMATION,
        Tier0Outcome.SELF_SERVICE,
        Automation.SOFTWARE_REQUEST,
        ticket.pk,
    )
    [sent] = virtual_agent.handle_action(
        actor=_rita(world), conversation=conversation, action="request_item", payload={"item": shop.slack.pk}
    )
    assert sent.body.endswith("has been sent to Desktop team.")


def test_approvals_page_and_decide_endpoint(world: World, shop: Shop) -> None:
    ticket = catalogue.request_item(actor=_rita(world), requester=world.requester, item=shop.visio)
    approval = ServiceRequestApproval.objects.get(ticket=ticket)
    url = reverse("selfservice:approvals")

    approver = Client()
    approver.force_login(shop.approver)
    page = approver.get(url)
    assert page.status_code == 200 and ticket.number in page.content.decode()
    bystander = Client()
    bystander.force_login(shop.bystander)
    assert ticket.number not in bystander.get(url).content.decode()
    decide = reverse("selfservice:approval_decide", args=[approval.pk])
    assert bystander.post(decide, {"decision": "approve"}).status_code == 404
    requester = Client()
    requester.force_login(world.requester_user)
    assert requester.post(decide, {"decision": "approve"}).status_code == 403

    refused = approver.post(decide, {"decision": "reject", "comment": ""}, follow=True)
    assert "Say why" in refused.content.decode()
    done = approver.post(decide, {"decision": "reject", "comment": "Not in budget"}, follow=True)
    assert f"{ticket.number} rejected." in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED


def test_approvals_page_queries_do_not_grow_with_the_rows(world: World, shop: Shop) -> None:
    approver = Client()
    approver.force_login(shop.approver)
    url = reverse("selfservice:approvals")

    def one_decided_one_pending(requester: Requester) -> None:
        for _ in range(2):
            catalogue.request_item(actor=Actor.system(), requester=requester, item=shop.visio)
        first = ServiceRequestApproval.objects.filter(ticket__requester=requester).order_by("id").first()
        assert first is not None
        catalogue.decide_approval(actor=Actor(user=shop.approver), approval=first, approve=True)

    one_decided_one_pending(world.requester)
    few = count_queries(lambda: approver.get(url))
    one_decided_one_pending(world.colleague)
    one_decided_one_pending(f.RequesterFactory.create(organisation=world.other_client))
    assert count_queries(lambda: approver.get(url)) == few
