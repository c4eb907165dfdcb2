"""Problems and known errors through their services: origins, links, the investigation log,
status changes, known errors, and who may do any of it."""

from __future__ import annotations

import pytest

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from tierdesk.problems import services
from tierdesk.problems.choices import FixStatus, ProblemNoteKind, ProblemOrigin, ProblemStatus
from tierdesk.problems.models import Problem, ProblemIncident
from tierdesk.testing.factories import RequesterFactory, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets.models import Ticket, TimelineEntry


def _events(ticket: Ticket, event: str) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(ticket=ticket, event=event))


def test_a_problem_from_recurring_incidents_links_them_all(world: World) -> None:
    agent = Actor(user=world.agent)
    incidents = [open_ticket(world.requester, title=f"VPN dropped again ({i})") for i in range(3)]
    problem = services.create_problem(
        actor=agent, title="VPN drops idle tunnels", incidents=[*incidents, incidents[0]], owner_group=world.group
    )
    assert problem.number == "PRB0001001"
    assert problem.organisation_id == world.provider.pk  # the provider's, not the client's
    assert problem.origin == ProblemOrigin.RECURRING_INCIDENTS
    assert problem.status == ProblemStatus.NEW
    assert set(problem.incidents.all()) == set(incidents)
    for ticket in incidents:
        (event,) = _events(ticket, "problem_linked")
        assert event.data == {"problem": problem.number, "title": "VPN drops idle tunnels"}
        assert not event.is_public
    created = AuditEvent.objects.get(action="problem.created")
    assert created.after["incidents"] == [t.number for t in incidents]
    assert services.create_problem(actor=agent, title="Next").number == "PRB0001002"


def test_a_problem_from_a_major_incident_or_from_scratch(world: World) -> None:
    agent = Actor(user=world.agent)
    major = open_ticket(world.requester, title="E-mail down for everyone", impact="high", urgency="high")
    problem = services.create_problem(actor=agent, title="Mail cluster failover failed", major_incident=major)
    assert problem.origin == ProblemOrigin.MAJOR_INCIDENT
    assert problem.major_incident_ticket == major
    assert list(problem.incidents.all()) == [major]
    scratch = services.create_problem(actor=agent, title="Review printer driver rollout", description="Trend.")
    assert scratch.origin == ProblemOrigin.MANUAL and not scratch.incidents.exists()
    # A system actor says whose problem it is, by the provider or by the incidents.
    system = services.create_problem(actor=Actor.system(), title="From monitoring", incidents=[major])
    assert system.organisation_id == world.provider.pk
    with pytest.raises(DomainError, match="which provider"):
        services.create_problem(actor=Actor.system(), title="Whose?")
    with pytest.raises(DomainError, match="title"):
        services.create_problem(actor=agent, title="   ")


def test_linking_and_unlinking_incidents(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="Printers go offline")
    ticket = open_ticket(world.requester, title="Printer offline")
    assert services.link_incident(actor=agent, problem=problem, ticket=ticket) is True
    assert services.link_incident(actor=agent, problem=problem, ticket=ticket) is False  # once is enough
    assert len(_events(ticket, "problem_linked")) == 1
    link = ProblemIncident.objects.get(problem=problem, ticket=ticket)
    assert link.linked_by == world.agent
    assert services.unlink_incident(actor=agent, problem=problem, ticket=ticket) is True
    assert services.unlink_incident(actor=agent, problem=problem, ticket=ticket) is False
    assert not problem.incidents.exists()
    assert len(_events(ticket, "problem_unlinked")) == 1
    assert AuditEvent.objects.filter(action__in=["problem.incident_linked", "problem.incident_unlinked"]).count() == 2


def test_incidents_the_agent_may_not_see_or_of_another_provider_are_refused(world: World) -> None:
    agent = Actor(user=world.agent)  # serves the Hospital, not the Bank
    problem = services.create_problem(actor=agent, title="Card readers")
    bank_ticket = open_ticket(RequesterFactory(organisation=world.other_client), title="Card reader")
    with pytest.raises(NotFound):
        services.link_incident(actor=agent, problem=problem, ticket=bank_ticket)
    # The supervisor sees the whole provider: the Bank's incident may join the problem.
    assert services.link_incident(actor=Actor(user=world.supervisor), problem=problem, ticket=bank_ticket)
    rival_ticket = open_ticket(RequesterFactory(organisation=world.other_provider_client), title="Rival's")
    with pytest.raises(DomainError, match="not one of this provider's"):
        services.link_incident(actor=Actor.system(), problem=problem, ticket=rival_ticket)
    with pytest.raises(NotFound):  # a person never learns of another provider's ticket
        services.create_problem(actor=agent, title="Mixed", incidents=[rival_ticket])


def test_status_changes_follow_the_workflow_and_fill_the_log(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="VPN drops idle tunnels")
    problem = services.change_problem_status(actor=agent, problem=problem, to_status=ProblemStatus.INVESTIGATING)
    with pytest.raises(DomainError, match="root cause"):
        services.change_problem_status(actor=agent, problem=problem, to_status=ProblemStatus.ROOT_CAUSE_KNOWN)
    services.add_root_cause_note(actor=agent, problem=problem, body="Tunnels drop after exactly 600 s idle.")
    problem = services.change_problem_status(
        actor=agent,
        problem=problem,
        to_status=ProblemStatus.ROOT_CAUSE_KNOWN,
        root_cause="The gateway's idle timeout is 600 s; the client's keepalive is 900 s.",
    )
    problem = services.change_problem_status(
        actor=agent, problem=problem, to_status=ProblemStatus.RESOLVED, note="Keepalive set to 300 s."
    )
    assert problem.resolved_at is not None
    problem = services.change_problem_status(actor=agent, problem=problem, to_status=ProblemStatus.INVESTIGATING)
    assert problem.resolved_at is None  # it came back
    with pytest.raises(IllegalTransition):
        services.change_problem_status(actor=agent, problem=problem, to_status=ProblemStatus.NEW)
    problem = services.change_problem_status(actor=agent, problem=problem, to_status=ProblemStatus.CLOSED)
    assert problem.closed_at is not None
    log = [(n.kind, n.author, n.data.get("new"), n.body) for n in problem.notes.order_by("created_at", "id")]
    assert log == [
        (ProblemNoteKind.STATUS, world.agent, ProblemStatus.INVESTIGATING, ""),
        (ProblemNoteKind.NOTE, world.agent, None, "Tunnels drop after exactly 600 s idle."),
        (ProblemNoteKind.ROOT_CAUSE, world.agent, None, problem.root_cause),
        (ProblemNoteKind.STATUS, world.agent, ProblemStatus.ROOT_CAUSE_KNOWN, ""),
        (ProblemNoteKind.STATUS, world.agent, ProblemStatus.RESOLVED, "Keepalive set to 300 s."),
        (ProblemNoteKind.STATUS, world.agent, ProblemStatus.INVESTIGATING, ""),
        (ProblemNoteKind.STATUS, world.agent, ProblemStatus.CLOSED, ""),
    ]
    assert AuditEvent.objects.filter(action="problem.status_changed").count() == 5


def test_update_problem_records_only_what_changed(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="Printers")
    same = services.update_problem(actor=agent, problem=problem, changes=services.ProblemChanges(title="Printers "))
    assert same.title == "Printers"
    assert not AuditEvent.objects.filter(action="problem.changed").exists()
    problem = services.update_problem(
        actor=agent, problem=problem, changes=services.ProblemChanges(owner_group=world.group, title="Print queue")
    )
    event = AuditEvent.objects.get(action="problem.changed")
    assert event.before == {"owner_group": None, "title": "Printers"}
    assert event.after == {"owner_group": world.group.pk, "title": "Print queue"}


def test_known_errors_from_a_problem_or_on_their_own(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="VPN drops")
    problem = services.update_problem(
        actor=agent, problem=problem, changes=services.ProblemChanges(root_cause="Idle timeout on the gateway.")
    )
    from_problem = services.record_known_error(
        actor=agent,
        problem=problem,
        title="VPN disconnects every 10 minutes",
        symptoms="The VPN drops every 10 minutes.",
        workaround="Use the TCP profile.",
    )
    assert from_problem.organisation_id == world.provider.pk
    assert from_problem.root_cause == "Idle timeout on the gateway."  # the problem's, by default
    assert from_problem.fix_status == FixStatus.NONE and from_problem.is_active
    standalone = services.record_known_error(
        actor=agent, title="Printer offline", symptoms="Shows offline.", workaround="Re-add it."
    )
    assert standalone.problem is None and standalone.organisation_id == world.provider.pk
    with pytest.raises(DomainError, match="workaround"):
        services.record_known_error(actor=agent, title="No way round", symptoms="Broken.", workaround=" ")
    updated = services.update_known_error(
        actor=agent,
        known_error=from_problem,
        changes=services.KnownErrorChanges(fix_status=FixStatus.RELEASED, is_active=False),
    )
    assert (updated.fix_status, updated.is_active) == (FixStatus.RELEASED, False)
    event = AuditEvent.objects.get(action="knownerror.changed")
    assert event.before == {"fix_status": "none", "is_active": True}
    with pytest.raises(DomainError, match="fix status"):
        services.update_known_error(
            actor=agent, known_error=updated, changes=services.KnownErrorChanges(fix_status="someday")
        )


def test_requesters_may_not_and_other_providers_cannot_see(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="VPN drops")
    known_error = services.record_known_error(actor=agent, title="VPN", symptoms="Drops.", workaround="TCP.")
    requester = Actor(user=world.requester_user)
    with pytest.raises(PermissionDenied):
        services.create_problem(actor=requester, title="Mine")
    with pytest.raises(PermissionDenied):
        services.add_root_cause_note(actor=requester, problem=problem, body="Hi")
    with pytest.raises(PermissionDenied):
        services.record_known_error(actor=requester, title="x", symptoms="y", workaround="z")
    rival = Actor(user=world.other_provider_agent)
    with pytest.raises(NotFound):
        services.add_root_cause_note(actor=rival, problem=problem, body="Seen it")
    with pytest.raises(NotFound):
        services.change_problem_status(actor=rival, problem=problem, to_status=ProblemStatus.CLOSED)
    with pytest.raises(NotFound):
        services.update_known_error(
            actor=rival, known_error=known_error, changes=services.KnownErrorChanges(is_active=False)
        )
    with pytest.raises(NotFound):
        services.record_known_error(actor=rival, problem=problem, title="x", symptoms="y", workaround="z")
    assert Problem.objects.get(pk=problem.pk).status == ProblemStatus.NEW
