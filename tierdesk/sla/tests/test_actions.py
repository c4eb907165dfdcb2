"""Actions on warnings and breaches: notify, reassign, raise priority, request escalation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tierdesk.accounts import services as accounts
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.notifications.models import Notification
from tierdesk.sla import services as sla
from tierdesk.sla.models import EscalationRequest, SlaPolicy, SlaTarget
from tierdesk.sla.tests.test_services import at, desk_policy, ticket_at
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

SYSTEM = Actor.system()


def target(policy: SlaPolicy, kind: str, priority: int | None = None) -> SlaTarget:
    return policy.targets.get(kind=kind, priority=priority)


@pytest.fixture
def assigned(world: World) -> Ticket:
    """A P3 ticket at the Service Desk, assigned to Alex, opened Monday 09:00."""
    ticket = ticket_at(world, at(9))
    with clock.frozen(at(9, 5)):
        ticket = services.assign(actor=Actor(user=world.agent), ticket=ticket, assignee=world.agent)
    return ticket


def sweep_at(when: Any, capture: Callable[..., Any]) -> sla.SweepResult:
    with capture(execute=True):  # run the after-commit tasks (notifications) as production does
        return sla.sweep(now=when)


@pytest.mark.usefixtures("tasks_in_process")
def test_breach_notifies_assignee_group_lead_and_supervisors(
    world: World, assigned: Ticket, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    policy = desk_policy(world)
    lead = accounts.create_agent(
        actor=SYSTEM, provider=world.provider, email="lena@northwind.test", full_name="Lena Lead", password=None
    )
    accounts.add_member(actor=SYSTEM, group=world.group, agent=lead, is_lead=True)
    response = target(policy, "first_response")
    for action in ("notify_assignee", "notify_group_lead", "notify_supervisor"):
        sla.add_action(actor=SYSTEM, target=response, trigger="breach", action=action)
    sla.add_action(actor=SYSTEM, target=response, trigger="warning", action="notify_assignee", percent=75)
    sla.recompute_clocks(assigned.pk, now=at(9, 5))

    sweep_at(at(9, 50), django_capture_on_commit_callbacks)  # 75 % of the hour to first response
    assert list(Notification.objects.values_list("recipient__email", "subject")) == [
        ("agent@northwind.test", f"SLA warning: First response of {assigned.number} is at 75 %")
    ]
    sweep_at(at(10, 1), django_capture_on_commit_callbacks)
    breached = Notification.objects.filter(subject__contains="breached")
    assert sorted(breached.values_list("recipient__email", flat=True)) == [
        "agent@northwind.test",
        "lena@northwind.test",
        "sup@northwind.test",
    ]
    assert all(n.ticket_id == assigned.pk for n in breached)
    # A retried delivery of the same event tells nobody twice.
    event_id = int(breached[0].key.split(":")[1])
    from tierdesk.notifications.services import notify_sla_alarm

    assert notify_sla_alarm(sla_event_id=event_id, recipient_ids=[world.agent.pk, world.supervisor.pk]) == []
    # A stray id of another provider's person never receives anything.
    assert notify_sla_alarm(sla_event_id=event_id, recipient_ids=[world.other_provider_agent.pk]) == []


def test_breach_reassigns_and_raises_priority(world: World, assigned: Ticket) -> None:
    policy = desk_policy(world)
    network = accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="Network", tier=2, serves=[world.client]
    )
    resolution = target(policy, "resolution")
    sla.add_action(actor=SYSTEM, target=resolution, trigger="warning", action="raise_priority", percent=90)
    sla.add_action(actor=SYSTEM, target=resolution, trigger="breach", action="reassign", reassign_to=network)
    sla.recompute_clocks(assigned.pk, now=at(9, 5))

    sla.sweep(now=at(15, 1))  # 75 %: no action at that threshold
    assigned.refresh_from_db()
    assert assigned.priority == 3
    sla.sweep(now=at(16, 13))  # 90 % of 8 h: raise one step (urgency medium -> high)
    assigned.refresh_from_db()
    assert (assigned.urgency, assigned.priority) == ("high", 2)
    assert assigned.field_changes.filter(field="priority", actor_label="sla").exists()
    sla.sweep(now=at(17, 1))
    assigned.refresh_from_db()
    assert (assigned.support_group, assigned.assignee, assigned.tier) == (network, None, 2)
    assert assigned.timeline.filter(event="sla_breach", data__clock="Resolution").count() == 1


def test_tier_breach_records_one_escalation_request(world: World, assigned: Ticket) -> None:
    policy = desk_policy(world)
    sla.add_action(actor=SYSTEM, target=target(policy, "tier_1"), trigger="breach", action="escalate")
    sla.add_action(actor=SYSTEM, target=target(policy, "first_response"), trigger="breach", action="escalate")
    sla.recompute_clocks(assigned.pk, now=at(9, 5))
    sla.sweep(now=at(10, 1))  # first response breached: asks for Tier 2
    sla.sweep(now=at(11, 1))  # tier 1 breached: the request is already open
    requests = EscalationRequest.objects.filter(ticket=assigned)
    assert list(requests.values_list("from_tier", "to_tier", "state")) == [(1, 2, "open")]
    assert requests.get().reason == "SLA breach: First response (Service Desk)"
    assert assigned.timeline.filter(event="escalation_requested").count() == 1


def test_an_action_that_cannot_run_is_recorded_and_the_breach_stands(world: World, assigned: Ticket) -> None:
    policy = desk_policy(world)
    bank_only = accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="Bank desk", tier=1, serves=[world.other_client]
    )
    response = target(policy, "first_response")
    sla.add_action(actor=SYSTEM, target=response, trigger="breach", action="reassign", reassign_to=bank_only)
    sla.recompute_clocks(assigned.pk, now=at(9, 5))
    assert sla.sweep(now=at(10, 1)).breaches == 1
    assigned.refresh_from_db()
    assert assigned.support_group == world.group
    failed = assigned.timeline.get(event="sla_action_failed")
    assert failed.data["action"] == "Reassign to a support group"
    assert failed.data["reason"] == "Bank desk does not serve Hospital."


def test_bad_actions_are_refused(world: World) -> None:
    policy = desk_policy(world)
    resolution = target(policy, "resolution")
    with pytest.raises(DomainError, match="support group to reassign"):
        sla.add_action(actor=SYSTEM, target=resolution, trigger="breach", action="reassign")
    with pytest.raises(DomainError, match="warns at"):
        sla.add_action(actor=SYSTEM, target=resolution, trigger="warning", action="notify_assignee", percent=50)
    with pytest.raises(DomainError, match="Unknown"):
        sla.add_action(actor=SYSTEM, target=resolution, trigger="later", action="notify_assignee")
    rival = accounts.create_support_group(
        actor=SYSTEM, provider=world.other_provider_agent.organisation, name="Rival desk", tier=1
    )
    with pytest.raises(DomainError, match="another provider"):
        sla.add_action(actor=SYSTEM, target=resolution, trigger="breach", action="reassign", reassign_to=rival)


@pytest.mark.usefixtures("tasks_in_process")
def test_breaches_reach_only_the_supervisors_on_duty(
    world: World, assigned: Ticket, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    away = accounts.create_agent(
        actor=SYSTEM,
        provider=world.provider,
        email="away@northwind.test",
        full_name="Away Sup",
        password=None,
        role="supervisor",
    )
    accounts.set_agent_routing(actor=SYSTEM, agent=away, availability="away")
    policy = desk_policy(world)
    sla.add_action(actor=SYSTEM, target=target(policy, "first_response"), trigger="breach", action="notify_supervisor")
    sla.recompute_clocks(assigned.pk, now=at(9, 5))
    sweep_at(at(10, 1), django_capture_on_commit_callbacks)
    assert list(Notification.objects.values_list("recipient__email", flat=True)) == ["sup@northwind.test"]
