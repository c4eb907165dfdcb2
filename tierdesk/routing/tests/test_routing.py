"""Routing decisions, eligibility, assignment strategies and tier escalation, through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

import pytest

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import SupportGroup, User
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.notifications.models import Notification
from tierdesk.routing import services as routing
from tierdesk.sla import services as sla
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Category, Ticket

SYSTEM = Actor.system()
# Committed transactions: routing a new ticket, assigning after an escalation and notifying all
# wait for the commit, as in production.
pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db(transaction=True)]


def category(path: str) -> Category:
    return Category.objects.get(path=path)


def agent(world: World, email: str, **routing_settings: Any) -> User:
    person = accounts.create_agent(
        actor=SYSTEM, provider=world.provider, email=email, full_name=email.split("@")[0].title(), password=None
    )
    if routing_settings:
        accounts.set_agent_routing(actor=SYSTEM, agent=person, **routing_settings)
    return person


def group(world: World, name: str, tier: int, members: list[User], strategy: str = "manual", lead: User | None = None):  # type: ignore[no-untyped-def]
    made = accounts.create_support_group(
        actor=SYSTEM,
        provider=world.provider,
        name=name,
        tier=tier,
        serves=[world.client],
        members=[(m, False) for m in members] + ([(lead, True)] if lead else []),
    )
    return accounts.set_assignment_strategy(actor=SYSTEM, group=made, strategy=strategy)


# --- classification and the routing table, table-driven ---------------------------------------------


@dataclass(frozen=True)
class Case:
    title: str
    channel: str
    expect_category: str | None
    expect_urgency: str
    expect_group: str | None


CASES = [
    Case("VPN drops every hour", "portal", "Network", "medium", "Network team"),
    Case("Cannot connect to wifi on ward 3", "phone", "Network", "high", "Network team"),  # phone + outage words
    Case("Printer jam on floor 2", "portal", "Hardware", "medium", "Service Desk"),
    Case("Outlook keeps asking for my password", "email", None, "medium", None),  # no rule: stays unassigned
    Case("URGENT: EHR login fails", "portal", "Software / Business application", "high", "Clinical apps"),
]


@pytest.fixture
def routed_desk(world: World) -> dict[str, SupportGroup]:
    network = group(world, "Network team", 2, [])
    clinical = group(world, "Clinical apps", 2, [])
    rules = [
        dict(name="Network words", order=10, keywords="vpn, wifi, network", set_category=category("Network")),
        dict(name="Outages are urgent", order=20, pattern=r"\b(cannot|can't) connect\b", set_urgency="high"),
        dict(name="Printers", order=30, keywords="printer, toner", set_category=category("Hardware")),
        dict(name="Urgent in the title", order=40, pattern=r"^urgent\b", set_urgency="high"),
        dict(
            name="EHR",
            order=50,
            keywords="ehr, epic",
            set_category=category("Software / Business application"),
            stop=True,
        ),
        dict(name="Never reached after a stop", order=60, keywords="ehr", set_urgency="low"),
    ]
    for rule in rules:
        routing.create_classification_rule(actor=SYSTEM, provider=world.provider, **rule)  # type: ignore[arg-type]
    routing.create_routing_entry(
        actor=SYSTEM, provider=world.provider, support_group=network, category=category("Network")
    )
    routing.create_routing_entry(actor=SYSTEM, provider=world.provider, support_group=world.group)  # anything else
    routing.create_routing_entry(
        actor=SYSTEM,
        provider=world.provider,
        support_group=clinical,
        category=category("Software / Business application"),
        client=world.client,
    )
    return {"network": network, "clinical": clinical}


@pytest.mark.parametrize("case", CASES, ids=[c.title for c in CASES])
def test_classification_and_routing_table(world: World, routed_desk: dict[str, SupportGroup], case: Case) -> None:
    ticket = open_ticket(world.requester, title=case.title, channel=case.channel)
    ticket.refresh_from_db()
    assert (ticket.category.path if ticket.category else None) == case.expect_category
    assert ticket.urgency == case.expect_urgency
    if case.expect_category is None:
        # No category: the catch-all entry still routes it, to the desk.
        assert ticket.support_group == world.group
    else:
        assert ticket.support_group is not None and ticket.support_group.name == case.expect_group
        assert ticket.tier == ticket.support_group.tier
    classified = ticket.timeline.filter(event="classified").first()
    if case.expect_category or case.expect_urgency == "high":
        assert classified is not None and set(classified.data["decided_by"]) >= {"category_id"} - (
            set() if case.expect_category else {"category_id"}
        )


def test_each_decision_names_its_rule(world: World, routed_desk: dict[str, SupportGroup]) -> None:
    ticket = open_ticket(world.requester, title="Cannot connect to the VPN", channel="phone")
    decided = ticket.timeline.get(event="classified").data["decided_by"]
    assert decided == {"category_id": "Network words", "urgency": "Outages are urgent"}


def test_a_classifier_fills_only_what_rules_left_open(world: World, routed_desk: dict[str, SupportGroup]) -> None:
    from tierdesk.routing.classifiers import Suggestion, combine

    guess = Suggestion({"category_id": (1, 0.99), "impact": ("high", 0.95), "urgency": ("low", 0.5)}, model="m1")
    assert combine({"category_id": 7}, guess) == {"impact": "high"}  # rules win; low confidence ignored
    assert combine({}, None) == {}


def test_bad_rules_are_refused(world: World) -> None:
    with pytest.raises(DomainError, match="regular expression"):
        routing.create_classification_rule(actor=SYSTEM, provider=world.provider, name="x", pattern="(")
    with pytest.raises(DomainError, match="high, medium or low"):
        routing.create_classification_rule(actor=SYSTEM, provider=world.provider, name="x", set_urgency="extreme")
    rival = world.other_provider_agent.organisation
    with pytest.raises(DomainError, match="another provider"):
        routing.create_routing_entry(actor=SYSTEM, provider=rival, support_group=world.group)


# --- strategies and eligibility ------------------------------------------------------------------------


def _opened(world: World, n: int, **kwargs: Any) -> list[Ticket]:
    made = [open_ticket(world.requester, title=f"Ticket {i}", support_group=kwargs.get("into")) for i in range(n)]
    for ticket in made:
        routing.auto_assign(ticket.pk)
    return [Ticket.objects.get(pk=t.pk) for t in made]


def test_round_robin_takes_turns(world: World) -> None:
    a, b, c = (agent(world, f"{n}@northwind.test") for n in "abc")
    desk = group(world, "Round desk", 1, [a, b, c], "round_robin")
    made = _opened(world, 6, into=desk)
    assert [t.assignee.email for t in made] == [p.email for p in (a, b, c, a, b, c)]  # type: ignore[union-attr]


def test_least_loaded_weighs_priority(world: World) -> None:
    busy, free = agent(world, "busy@northwind.test"), agent(world, "free@northwind.test")
    desk = group(world, "Load desk", 1, [busy, free], "least_loaded")
    urgent = open_ticket(world.requester, title="P1", support_group=desk, impact="high", urgency="high")
    tickets.assign(actor=SYSTEM, ticket=urgent, assignee=busy)  # load 4
    made = _opened(world, 3, into=desk)  # P3s weigh 2: free 0 -> 2 -> 4 (tie, free went last) -> busy
    assert [t.assignee.email for t in made] == ["free@northwind.test", "free@northwind.test", "busy@northwind.test"]  # type: ignore[union-attr]


def test_skills_and_language(world: World) -> None:
    cisco = accounts.create_skill(actor=SYSTEM, provider=world.provider, name="Cisco")
    plain = agent(world, "plain@northwind.test", languages=["en"])
    expert = agent(world, "expert@northwind.test", skills=[cisco], languages=["de"])
    polyglot = agent(world, "poly@northwind.test", skills=[cisco], languages=["en", "fr"])
    desk = group(world, "Skills desk", 2, [plain, expert, polyglot], "skills")
    ticket = open_ticket(world.requester, title="Switch down")
    tickets.set_required_skills(actor=SYSTEM, ticket=ticket, skills=[cisco])
    tickets.assign(actor=SYSTEM, ticket=ticket, assignee=None, support_group=desk)  # its strategy picks
    ticket.refresh_from_db()
    assert ticket.assignee == polyglot  # both experts have Cisco; Rita speaks English
    _, refused = routing._candidates(desk, ticket)
    assert refused == {str(plain): f"{plain} lacks a required skill"}


def test_ineligible_agents_never_get_the_ticket_and_the_lead_is_told(world: World) -> None:
    calendar = sla.create_calendar(
        actor=SYSTEM,
        provider=world.provider,
        name="Nights",
        timezone="UTC",
        hours=[(d, time(22), None) for d in range(7)],
    )
    away = agent(world, "away@northwind.test", availability="away")
    full = agent(world, "full@northwind.test", capacity=0)
    night = agent(world, "night@northwind.test")
    routing.set_agent_shift(actor=SYSTEM, agent=night, calendar=calendar)
    untrained = agent(world, "untrained@northwind.test")
    expired = agent(world, "expired@northwind.test")
    accounts.record_training(
        actor=SYSTEM, agent=expired, regime="hipaa", completed_on=date(2024, 1, 1), expires_on=date(2025, 1, 1)
    )
    lead = agent(world, "lead@northwind.test", availability="off")
    clinical = group(world, "Clinical desk", 1, [away, full, night, untrained, expired], "round_robin", lead=lead)
    routing.create_regulated_scope(actor=SYSTEM, client=world.client, regime="hipaa")

    from tierdesk.core import clock
    from tierdesk.sla.tests.test_services import at

    with clock.frozen(at(10)):  # Monday 10:00 UTC: the night shift is off
        ticket = open_ticket(world.requester, title="EHR slow", support_group=clinical)
        outcome = routing.auto_assign(ticket.pk)
    assert outcome.agent is None
    assert outcome.refused == {
        str(away): f"{away} is away; {away} has no current HIPAA training",
        str(full): f"{full} already has 0 open tickets (capacity 0); {full} has no current HIPAA training",
        str(night): f"{night} is off shift; {night} has no current HIPAA training",
        str(untrained): f"{untrained} has no current HIPAA training",
        str(expired): f"{expired} has no current HIPAA training",
        str(lead): f"{lead} is off; {lead} has no current HIPAA training",
    }
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.timeline.filter(event="waiting_for_agent").exists()
    assert Notification.objects.filter(recipient=lead, ticket=ticket).count() == 1

    # The same rules hold for a supervisor's manual assignment.
    with pytest.raises(DomainError, match="no current HIPAA training"):
        tickets.assign(actor=Actor(user=world.supervisor), ticket=ticket, assignee=untrained)

    # Renewed training makes the agent eligible again.
    accounts.record_training(
        actor=SYSTEM, agent=expired, regime="hipaa", completed_on=date(2026, 6, 1), expires_on=date(2027, 6, 1)
    )
    with clock.frozen(at(10)):
        assert routing.auto_assign(ticket.pk).agent == expired


# --- escalation ---------------------------------------------------------------------------------------


def test_escalation_and_de_escalation_keep_a_tier_history(world: World) -> None:
    tier2 = agent(world, "t2@northwind.test")
    network = group(world, "Network team", 2, [tier2], "round_robin")
    ticket = open_ticket(world.requester, title="Switch port dead", support_group=world.group)
    alex = Actor(user=world.agent)
    with pytest.raises(DomainError, match="what was tried"):
        routing.escalate(actor=alex, ticket=ticket, to_tier=2, note="  ")
    routing.escalate(actor=alex, ticket=ticket, to_tier=2, note="Rebooted the switch; port still dark.")
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.support_group, ticket.assignee) == (2, network, tier2)
    with pytest.raises(DomainError, match="why it goes back"):
        routing.escalate(actor=Actor(user=tier2), ticket=ticket, to_tier=1, note="")
    routing.escalate(
        actor=Actor(user=tier2), ticket=ticket, to_tier=1, note="Port replaced; desk to confirm with user."
    )
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.support_group) == (1, world.group)
    moves = list(ticket.timeline.filter(event__in=["escalated", "de_escalated"]).values_list("event", "data"))
    assert [(e, d["from_tier"], d["to_tier"], d["group"]) for e, d in moves] == [
        ("escalated", 1, 2, "Network team"),
        ("de_escalated", 2, 1, "Service Desk"),
    ]
    assert list(ticket.field_changes.filter(field="tier").values_list("old_value", "new_value")) == [
        ("1", "2"),
        ("2", "1"),
    ]
    assert ticket.timeline.filter(kind="note", body__startswith="Escalation to Tier 2: Rebooted").exists()
    with pytest.raises(DomainError, match="No Tier 3 group"):
        routing.escalate(actor=alex, ticket=ticket, to_tier=3, note="Vendor needed")


def test_a_breached_tier_target_escalates_by_itself(world: World) -> None:
    from tierdesk.sla.models import EscalationRequest
    from tierdesk.sla.tests.test_services import at, desk_policy, ticket_at

    group(world, "Network team", 2, [])
    policy = desk_policy(world)
    sla.add_action(actor=SYSTEM, target=policy.targets.get(kind="tier_1"), trigger="breach", action="escalate")
    ticket = ticket_at(world, at(9))
    sla.recompute_clocks(ticket.pk, now=at(9))
    sla.sweep(now=at(11, 1))  # two business hours at Tier 1
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.support_group.name) == (2, "Network team")  # type: ignore[union-attr]
    assert EscalationRequest.objects.get(ticket=ticket).state == "done"
    assert ticket.timeline.get(event="escalated").author_label == "routing"


def test_p1_tells_the_supervisors_on_duty(world: World, routed_desk: dict[str, SupportGroup]) -> None:
    off = agent(world, "offsup@northwind.test", availability="off")
    off.role = "supervisor"
    off.save(update_fields=["role"])
    ticket = open_ticket(world.requester, title="Theatre network down", impact="high", urgency="high")
    assert ticket.priority == 1
    told = set(Notification.objects.filter(ticket=ticket).values_list("recipient__email", flat=True))
    assert told == {"sup@northwind.test"}


def test_a_ticket_raised_to_p1_tells_the_supervisors_once(world: World) -> None:
    ticket = open_ticket(world.requester, title="Slow PC")
    assert not Notification.objects.filter(ticket=ticket).exists()
    tickets.change_priority(actor=Actor(user=world.agent), ticket=ticket, impact="high", urgency="high")
    ticket.refresh_from_db()
    tickets.update_ticket(
        actor=Actor(user=world.agent),
        ticket=ticket,
        changes=tickets.TicketChanges(title="Slow PC (ward)"),
        expected_version=None,
    )
    assert list(Notification.objects.filter(ticket=ticket).values_list("recipient__email", flat=True)) == [
        "sup@northwind.test"
    ]


def test_rules_decide_the_type_before_the_ticket_is_numbered(world: World) -> None:
    routing.create_classification_rule(
        actor=SYSTEM,
        provider=world.provider,
        name="Requests",
        keywords="please install, new laptop, access to",
        set_ticket_type="service_request",
    )
    asked = tickets.open_ticket(actor=SYSTEM, requester=world.requester, title="Please install Visio")
    assert asked.number.startswith("REQ") and asked.ticket_type == "service_request"
    assert asked.timeline.get(event="classified").data["decided_by"] == {"ticket_type": "Requests"}
    chosen = tickets.open_ticket(
        actor=SYSTEM, requester=world.requester, title="Please install Visio", ticket_type="incident"
    )
    assert chosen.number.startswith("INC")  # a type chosen by the person opening it stands
    broken = tickets.open_ticket(actor=SYSTEM, requester=world.requester, title="Outlook crashes")
    assert broken.number.startswith("INC")
    with pytest.raises(DomainError, match="Unknown ticket type"):
        routing.create_classification_rule(actor=SYSTEM, provider=world.provider, name="x", set_ticket_type="chore")
