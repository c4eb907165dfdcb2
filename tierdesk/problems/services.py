"""The only writers of problems and known errors (and the reader that suggests known errors).

Each writer takes the acting person, runs in one transaction and records its audit event;
what happens to a ticket (linked to a problem, a known error applied) is written on the
ticket's timeline through `tickets.services.record_system_event`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.functions import Coalesce

from tierdesk.accounts.models import SupportGroup
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.db import locked_row
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.core.unset import UNSET, Changes
from tierdesk.problems import matching, workflow
from tierdesk.problems.choices import FixStatus, ProblemNoteKind, ProblemOrigin, ProblemStatus
from tierdesk.problems.models import (
    NUMBER_PREFIX,
    KnownError,
    KnownErrorApplication,
    Problem,
    ProblemIncident,
    ProblemNote,
    ProblemNumberSequence,
)
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow as ticket_workflow
from tierdesk.tickets.models import Ticket

SUGGESTIONS = 3


@dataclass(frozen=True)
class ProblemChanges(Changes):
    title: str = UNSET
    description: str = UNSET
    root_cause: str = UNSET
    owner_group: SupportGroup | None = UNSET


@dataclass(frozen=True)
class KnownErrorChanges(Changes):
    title: str = UNSET
    symptoms: str = UNSET
    workaround: str = UNSET
    root_cause: str = UNSET
    fix_status: str = UNSET
    is_active: bool = UNSET
    problem: Problem | None = UNSET


@dataclass(frozen=True)
class Suggestion:
    known_error: KnownError
    score: float


# --- helpers ----------------------------------------------------------------------------------


def _require_agent(actor: Actor, what: str) -> None:
    # A system actor (an automation, a command) may act; a person must be on the agent side.
    if actor.user is not None and not scope_for(actor).is_agent_side:
        raise PermissionDenied(f"Only agents may {what}.")


def _check_provider(actor: Actor, organisation_id: int, what: str) -> None:
    """A record of another provider reads as missing, never as forbidden."""
    if actor.user is not None and scope_for(actor).provider_id != organisation_id:
        raise NotFound(f"No such {what}, or you may not see it.")


def provider_of(ticket: Ticket) -> int:
    return ticket.organisation.provider_id or ticket.organisation_id


def _check_tickets(actor: Actor, incidents: Sequence[Ticket], provider_id: int) -> None:
    """Tickets of this provider's clients that the actor may see: one query however many."""
    if not incidents:
        return
    ids = {t.pk for t in incidents}
    qs = Ticket.objects.visible_to(actor) if actor.user is not None else Ticket.objects.all()
    providers = dict(
        qs.filter(pk__in=ids)
        .annotate(provider_id=Coalesce("organisation__provider_id", "organisation_id"))
        .values_list("pk", "provider_id")
    )
    if set(providers) != ids:
        raise NotFound("No such ticket, or you may not see it.")
    for ticket in incidents:
        if providers[ticket.pk] != provider_id:
            raise DomainError(f"Ticket {ticket.number} is not one of this provider's.")


def _check_group(group: SupportGroup | None, provider_id: int) -> None:
    if group is not None and (group.organisation_id != provider_id or not group.is_active):
        raise DomainError("That support group does not work for this provider.")


def _required(value: str, label: str) -> str:
    value = value.strip()
    if not value:
        raise DomainError(f"{label} may not be empty.")
    return value


def _next_number() -> str:
    seq = locked_row(ProblemNumberSequence, name="problem")
    seq.last_value += 1
    seq.save(update_fields=["last_value"])
    return f"{NUMBER_PREFIX}{seq.last_value:07d}"


def _lock_problem(actor: Actor, problem: Problem) -> Problem:
    """Re-read the problem under a row lock, inside the actor's scope."""
    qs = Problem.objects.select_for_update()
    if actor.user is not None:
        qs = qs.visible_to(actor)
    locked = qs.filter(pk=problem.pk).first()
    if locked is None:
        raise NotFound("No such problem, or you may not see it.")
    return locked


def _note(problem: Problem, actor: Actor, kind: str, body: str = "", data: dict[str, Any] | None = None) -> ProblemNote:
    return ProblemNote.objects.create(
        organisation_id=problem.organisation_id,
        problem=problem,
        kind=kind,
        author=actor.user,
        author_label=str(actor.user) if actor.user else actor.label,
        body=body,
        data=data or {},
    )


def _touch(problem: Problem, *fields: str) -> None:
    problem.updated_at = clock.now()
    problem.save(update_fields=[*fields, "updated_at"])


def _audit(actor: Actor, action: str, obj: Problem | KnownError, before: Any = None, after: Any = None) -> None:
    record_event(actor=actor, action=action, obj=obj, organisation_id=obj.organisation_id, before=before, after=after)


def _value(obj: Problem | KnownError, name: str) -> Any:
    """A field's value as the audit trail keeps it: a related object by its id."""
    return getattr(obj, getattr(obj._meta.get_field(name), "attname", name))


def _link(actor: Actor, problem: Problem, ticket: Ticket) -> bool:
    """Link one ticket (already checked); True if it was not linked before."""
    _, created = ProblemIncident.objects.get_or_create(
        problem=problem, ticket=ticket, defaults={"linked_by": actor.user, "linked_by_label": actor.label}
    )
    return created


# --- problems ---------------------------------------------------------------------------------


@transaction.atomic
def create_problem(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    owner_group: SupportGroup | None = None,
    major_incident: Ticket | None = None,
    incidents: Iterable[Ticket] = (),
    provider: Organisation | None = None,
) -> Problem:
    """Raise a problem: from scratch, from a major incident, or from recurring incidents (linked).

    The problem belongs to the provider: the actor's, or for a system actor `provider` or the
    incidents' provider.
    """
    _require_agent(actor, "raise problems")
    linked: dict[int, Ticket] = {}
    for ticket in [*([major_incident] if major_incident is not None else []), *incidents]:
        linked.setdefault(ticket.pk, ticket)
    if actor.user is not None:
        provider_id = scope_for(actor).provider_id
        if provider is not None and provider.pk != provider_id:
            raise NotFound("No such provider, or you may not see it.")
    elif provider is not None:
        provider_id = provider.root_provider_id
    elif linked:
        provider_id = provider_of(next(iter(linked.values())))
    else:
        raise DomainError("Say which provider the problem belongs to.")
    assert provider_id is not None
    _check_tickets(actor, list(linked.values()), provider_id)
    _check_group(owner_group, provider_id)
    if major_incident is not None:
        origin = ProblemOrigin.MAJOR_INCIDENT
    elif len(linked) >= 2:
        origin = ProblemOrigin.RECURRING_INCIDENTS
    else:
        origin = ProblemOrigin.MANUAL
    problem = Problem(
        organisation_id=provider_id,
        title=_required(title, "The title"),
        description=description.strip(),
        owner_group=owner_group,
        origin=origin,
        major_incident_ticket=major_incident,
    )
    check_lengths(problem)
    problem.number = _next_number()
    problem.save(force_insert=True)
    for ticket in linked.values():
        _link(actor, problem, ticket)
        tickets.record_system_event(
            actor=actor, ticket=ticket, event="problem_linked", data={"problem": problem.number, "title": problem.title}
        )
    _audit(
        actor,
        "problem.created",
        problem,
        after={
            "number": problem.number,
            "title": problem.title,
            "origin": origin,
            "owner_group_id": problem.owner_group_id,
            "incidents": [t.number for t in linked.values()],
        },
    )
    return problem


@transaction.atomic
def update_problem(*, actor: Actor, problem: Problem, changes: ProblemChanges) -> Problem:
    """Change the title, description, owner group or root cause; a new root cause goes in the log."""
    _require_agent(actor, "change problems")
    locked = _lock_problem(actor, problem)
    given = changes.given()
    if "title" in given:
        given["title"] = _required(given["title"], "The title")
    if "owner_group" in given:
        _check_group(given["owner_group"], locked.organisation_id)
    before = {name: _value(locked, name) for name in given}
    for name, value in given.items():
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    check_lengths(locked)
    after = {name: _value(locked, name) for name in given}
    changed = [name for name in given if before[name] != after[name]]
    if not changed:
        return locked
    _touch(locked, *changed)
    if "root_cause" in changed:
        _note(locked, actor, ProblemNoteKind.ROOT_CAUSE, body=locked.root_cause)
    _audit(
        actor,
        "problem.changed",
        locked,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return locked


@transaction.atomic
def change_problem_status(
    *, actor: Actor, problem: Problem, to_status: str, note: str = "", root_cause: str | None = None
) -> Problem:
    """Move the problem through its workflow; `root_cause` may be recorded in the same step."""
    _require_agent(actor, "change problems")
    if root_cause is not None and root_cause.strip():
        problem = update_problem(actor=actor, problem=problem, changes=ProblemChanges(root_cause=root_cause))
    locked = _lock_problem(actor, problem)
    old = locked.status
    workflow.check_transition(old, to_status, root_cause=locked.root_cause)
    now = clock.now()
    locked.status = to_status
    if to_status == ProblemStatus.RESOLVED:
        locked.resolved_at = now
    elif to_status == ProblemStatus.INVESTIGATING:
        locked.resolved_at = None  # it came back
    if to_status == ProblemStatus.CLOSED:
        locked.closed_at = now
    _touch(locked, "status", "resolved_at", "closed_at")
    labels = {"old_label": ProblemStatus(old).label, "new_label": ProblemStatus(to_status).label}
    _note(locked, actor, ProblemNoteKind.STATUS, body=note.strip(), data={"old": old, "new": to_status, **labels})
    _audit(actor, "problem.status_changed", locked, before={"status": old}, after={"status": to_status})
    return locked


@transaction.atomic
def add_root_cause_note(*, actor: Actor, problem: Problem, body: str) -> ProblemNote:
    """A finding of the investigation, with its author and time."""
    _require_agent(actor, "work on problems")
    locked = _lock_problem(actor, problem)
    entry = _note(locked, actor, ProblemNoteKind.NOTE, body=_required(body, "The note"))
    _touch(locked)
    _audit(actor, "problem.note_added", locked, after={"note_id": entry.pk})
    return entry


@transaction.atomic
def link_incident(*, actor: Actor, problem: Problem, ticket: Ticket) -> bool:
    """Link an incident to the problem; False if it already was."""
    _require_agent(actor, "link incidents to problems")
    locked = _lock_problem(actor, problem)
    _check_tickets(actor, [ticket], locked.organisation_id)
    if not _link(actor, locked, ticket):
        return False
    _touch(locked)
    tickets.record_system_event(
        actor=actor, ticket=ticket, event="problem_linked", data={"problem": locked.number, "title": locked.title}
    )
    _audit(actor, "problem.incident_linked", locked, after={"ticket": ticket.number})
    return True


@transaction.atomic
def unlink_incident(*, actor: Actor, problem: Problem, ticket: Ticket) -> bool:
    """Take an incident off the problem (linked by mistake); False if it was not linked."""
    _require_agent(actor, "unlink incidents from problems")
    locked = _lock_problem(actor, problem)
    _check_tickets(actor, [ticket], locked.organisation_id)
    deleted, _ = ProblemIncident.objects.filter(problem=locked, ticket=ticket).delete()
    if not deleted:
        return False
    _touch(locked)
    tickets.record_system_event(
        actor=actor, ticket=ticket, event="problem_unlinked", data={"problem": locked.number, "title": locked.title}
    )
    _audit(actor, "problem.incident_unlinked", locked, before={"ticket": ticket.number})
    return True


# --- known errors -----------------------------------------------------------------------------


def _check_known_error_fields(known_error: KnownError) -> None:
    known_error.title = _required(known_error.title, "The title")
    known_error.symptoms = _required(known_error.symptoms, "The symptoms")
    known_error.workaround = _required(known_error.workaround, "The workaround")
    known_error.root_cause = known_error.root_cause.strip()
    if known_error.fix_status not in FixStatus.values:
        raise DomainError(f"Unknown fix status {known_error.fix_status!r}.")
    check_lengths(known_error)


@transaction.atomic
def record_known_error(
    *,
    actor: Actor,
    title: str,
    symptoms: str,
    workaround: str,
    root_cause: str = "",
    fix_status: str = FixStatus.NONE,
    problem: Problem | None = None,
    provider: Organisation | None = None,
) -> KnownError:
    """Record a known error, from a problem (its root cause by default) or on its own."""
    _require_agent(actor, "record known errors")
    if problem is not None:
        provider_id = problem.organisation_id
        _check_provider(actor, provider_id, "problem")
        root_cause = root_cause or problem.root_cause
    elif actor.user is not None:
        provider_id = scope_for(actor).provider_id or 0
    elif provider is not None:
        provider_id = provider.root_provider_id
    else:
        raise DomainError("Say which provider the known error belongs to.")
    if provider is not None and provider.root_provider_id != provider_id:
        raise DomainError("The known error must belong to the problem's provider.")
    known_error = KnownError(
        organisation_id=provider_id,
        problem=problem,
        title=title,
        symptoms=symptoms,
        workaround=workaround,
        root_cause=root_cause,
        fix_status=fix_status,
        created_by=actor.user,
    )
    _check_known_error_fields(known_error)
    known_error.save(force_insert=True)
    _audit(
        actor,
        "knownerror.created",
        known_error,
        after={"title": known_error.title, "problem": problem.number if problem else None, "fix_status": fix_status},
    )
    return known_error


@transaction.atomic
def update_known_error(*, actor: Actor, known_error: KnownError, changes: KnownErrorChanges) -> KnownError:
    _require_agent(actor, "change known errors")
    _check_provider(actor, known_error.organisation_id, "known error")
    locked = KnownError.objects.select_for_update().filter(pk=known_error.pk).first()
    if locked is None:
        raise NotFound("No such known error, or you may not see it.")
    given = changes.given()
    problem = given.get("problem")
    if problem is not None and problem.organisation_id != locked.organisation_id:
        raise DomainError("That problem belongs to another provider.")
    before = {name: _value(locked, name) for name in given}
    for name, value in given.items():
        setattr(locked, name, value)
    _check_known_error_fields(locked)
    after = {name: _value(locked, name) for name in given}
    changed = [name for name in given if before[name] != after[name]]
    if not changed:
        return locked
    locked.updated_at = clock.now()
    locked.save(update_fields=[*changed, "updated_at"])
    _audit(
        actor,
        "knownerror.changed",
        locked,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return locked


# --- suggestions on a ticket, and applying one ------------------------------------------------

# provider id -> (what the index was built from, the index). Rebuilt when any indexed text
# changes, however it was changed (service, admin); a few hundred known errors take a few ms.
_INDEXES: dict[int, tuple[tuple[tuple[int, str, str], ...], matching.Index]] = {}
_INDEXES_KEPT = 64


def _index_for(provider_id: int, known_errors: Sequence[KnownError]) -> matching.Index:
    source = tuple((ke.pk, ke.title, ke.symptoms) for ke in known_errors)
    cached = _INDEXES.get(provider_id)
    if cached is not None and cached[0] == source:
        return cached[1]
    index = matching.Index(source)
    if len(_INDEXES) >= _INDEXES_KEPT:
        _INDEXES.clear()
    _INDEXES[provider_id] = (source, index)
    return index


def suggest_known_errors(ticket: Ticket, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """The provider's active known errors that read most like the ticket, best first (one query).

    The caller has loaded the ticket through the actor's scope; the known errors are those of
    the ticket's provider, so an agent never sees another provider's.
    """
    known_errors = list(KnownError.objects.for_matching(provider_of(ticket)))
    if not known_errors:
        return []
    by_pk = {ke.pk: ke for ke in known_errors}
    matches = _index_for(provider_of(ticket), known_errors).search(ticket.title, ticket.description, limit=limit)
    return [Suggestion(known_error=by_pk[m.key], score=m.score) for m in matches]


@transaction.atomic
def apply_known_error(*, actor: Actor, ticket: Ticket, known_error: KnownError) -> str:
    """Link the ticket to the known error (and to its problem's incidents); return the workaround.

    The workaround goes into the agent's reply composer; applying twice links once and
    writes one timeline event.
    """
    _require_agent(actor, "apply known errors")
    provider_id = provider_of(ticket)
    _check_provider(actor, known_error.organisation_id, "known error")
    if known_error.organisation_id != provider_id:
        raise NotFound("No such known error, or you may not see it.")
    _check_tickets(actor, [ticket], provider_id)
    if ticket.status in ticket_workflow.TERMINAL:
        raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display().lower()}.")
    if not known_error.is_active:
        raise DomainError("That known error is retired; it is no longer applied.")
    _, created = KnownErrorApplication.objects.get_or_create(
        known_error=known_error,
        ticket=ticket,
        defaults={"applied_by": actor.user, "applied_by_label": actor.label},
    )
    if created:
        problem = known_error.problem
        if problem is not None:
            _link(actor, problem, ticket)
        tickets.record_system_event(
            actor=actor,
            ticket=ticket,
            event="known_error_applied",
            data={
                "known_error_id": known_error.pk,
                "known_error": known_error.title,
                "problem": problem.number if problem is not None else "",
            },
        )
    return known_error.workaround
