"""Problem pages of the agent console (/console/problems/), and the ticket page's problems card.

Server-rendered forms that post and redirect back with a message; every change goes
through `problems.services`, every read starts from `visible_to(actor)` or an access helper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.core.views import agent_required
from tierdesk.problems import services
from tierdesk.problems.access import access_known_error, access_problem
from tierdesk.problems.choices import ProblemStatus
from tierdesk.problems.forms import (
    KnownErrorFixForm,
    KnownErrorForm,
    LinkIncidentForm,
    NewProblemForm,
    OwnerGroupForm,
    ProblemNoteForm,
    ProblemStatusForm,
    RootCauseForm,
)
from tierdesk.problems.models import KnownError, Problem
from tierdesk.tickets import workflow as ticket_workflow
from tierdesk.tickets.access import access_ticket
from tierdesk.tickets.models import Ticket

PAGE_SIZE = 50
STATUS_FILTERS = [("open", "Open"), *ProblemStatus.choices, ("all", "Any")]


def _problem(actor: Actor, number: str) -> Problem:
    try:
        return access_problem(actor, number=number)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _valid(form: Any) -> dict[str, Any]:
    if not form.is_valid():
        parts = [
            f"{form.fields[name].label}: {error}" if name in form.fields and form.fields[name].label else str(error)
            for name, errors in form.errors.items()
            for error in errors
        ]
        raise DomainError(" ".join(parts) or "The form is not valid.")
    return dict(form.cleaned_data)


# --- the ticket page's card ---------------------------------------------------------------------


@dataclass
class TicketProblems:
    """What the "Problems and known errors" card of a ticket page shows."""

    linked: list[Problem]
    applied: list[KnownError]
    # None when the ticket is not one to suggest for (beyond Tier 1, or closed).
    suggestions: list[services.Suggestion] | None
    applied_ids: set[int] = field(default_factory=set)


def ticket_problems(actor: Actor, ticket: Ticket) -> TicketProblems:
    """Two queries, and one more for the suggestions of an open Tier 1 ticket."""
    linked = list(Problem.objects.visible_to(actor).linked_to(ticket.pk).order_by("-created_at", "-id"))
    applied = list(KnownError.objects.visible_to(actor).applied_on(ticket.pk).order_by("title", "id"))
    suggest = ticket.tier == 1 and ticket.status not in ticket_workflow.TERMINAL
    return TicketProblems(
        linked=linked,
        applied=applied,
        suggestions=services.suggest_known_errors(ticket) if suggest else None,
        applied_ids={ke.pk for ke in applied},
    )


# --- the list -----------------------------------------------------------------------------------


@agent_required
@require_GET
def problem_list(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    status = request.GET.get("status", "open")
    text = request.GET.get("q", "").strip()
    problems = Problem.objects.visible_to(actor).for_list()
    if status == "open":
        problems = problems.open()
    elif status in ProblemStatus.values:
        problems = problems.filter(status=status)
    else:
        status = "all"
    if text:
        problems = problems.filter(Q(number__iexact=text) | Q(title__icontains=text))
    page = Paginator(problems.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "problems/problem_list.html",
        {
            "nav": "problems",
            "page": page,
            "status": status,
            "q": text,
            "status_filters": STATUS_FILTERS,
            "form": NewProblemForm(actor=actor),
        },
    )


@agent_required
@require_POST
def problem_create(request: HttpRequest) -> HttpResponse:
    """A new problem: from the list page, or from a ticket page ("Raise a problem": linked to it)."""
    actor = Actor.from_request(request)
    form = NewProblemForm(request.POST, actor=actor)
    try:
        data = _valid(form)
    except DomainError as exc:
        messages.warning(request, exc.detail)
        return redirect("console:problems:list")
    ticket = None
    if data["ticket"]:
        try:
            ticket = access_ticket(actor, number=data["ticket"])
        except NotFound as exc:
            raise Http404(exc.detail) from exc
    major = ticket is not None and data["major_incident"]
    try:
        problem = services.create_problem(
            actor=actor,
            title=data["title"],
            description=data["description"],
            owner_group=data["owner_group"],
            major_incident=ticket if major else None,
            incidents=[ticket] if ticket is not None and not major else [],
        )
    except DomainError as exc:
        messages.warning(request, exc.detail)
        if ticket is not None:
            return redirect("console:ticket", number=ticket.number)
        return redirect("console:problems:list")
    messages.success(request, f"Raised problem {problem.number}.")
    return redirect("console:problems:detail", number=problem.number)


# --- one problem --------------------------------------------------------------------------------


@agent_required
@require_GET
def problem_detail(request: HttpRequest, number: str) -> HttpResponse:
    actor = Actor.from_request(request)
    problem = _problem(actor, number)
    # The provider's problem may gather incidents of clients this agent does not serve:
    # those are counted, not shown.
    incidents = list(
        Ticket.objects.visible_to(actor)
        .filter(problem_links__problem=problem)
        .select_related("organisation", "assignee")
        .order_by("-created_at", "-id")
    )
    linked_total = problem.incident_links.count()
    known_errors = list(
        # With the knowledge article each may be published as (one join, not a query per known error).
        problem.known_errors.select_related("article")
        .annotate(applied_count=Count("applications"))
        .order_by("-created_at")
    )
    return render(
        request,
        "problems/problem_detail.html",
        {
            "nav": "problems",
            "problem": problem,
            "incidents": incidents,
            "hidden_incidents": linked_total - len(incidents),
            "notes": list(problem.notes.order_by("created_at", "id")),
            "known_errors": [
                (
                    ke,
                    KnownErrorFixForm(
                        initial={"fix_status": ke.fix_status, "is_active": ke.is_active}, known_error_id=ke.pk
                    ),
                )
                for ke in known_errors
            ],
            "terminal": problem.status == ProblemStatus.CLOSED,
            "status_form": ProblemStatusForm(status=problem.status),
            "root_cause_form": RootCauseForm(initial={"root_cause": problem.root_cause}),
            "owner_form": OwnerGroupForm(actor=actor, initial={"owner_group": problem.owner_group_id}),
            "note_form": ProblemNoteForm(),
            "link_form": LinkIncidentForm(),
            "known_error_form": KnownErrorForm(),
        },
    )


def _act(request: HttpRequest, number: str, perform: Callable[[Actor, Problem], str]) -> HttpResponse:
    """Run one change and go back to the problem page with what happened (or why not)."""
    actor = Actor.from_request(request)
    problem = _problem(actor, number)
    try:
        done = perform(actor, problem)
    except DomainError as exc:
        messages.warning(request, exc.detail)
    else:
        if done:
            messages.success(request, done)
    return redirect("console:problems:detail", number=problem.number)


@agent_required
@require_POST
def problem_status(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        data = _valid(ProblemStatusForm(request.POST, status=problem.status))
        problem = services.change_problem_status(
            actor=actor, problem=problem, to_status=data["status"], note=data["note"]
        )
        return f"{problem.number} is now {problem.get_status_display().lower()}."

    return _act(request, number, perform)


@agent_required
@require_POST
def problem_root_cause(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        data = _valid(RootCauseForm(request.POST))
        services.update_problem(
            actor=actor, problem=problem, changes=services.ProblemChanges(root_cause=data["root_cause"])
        )
        return "Saved the root cause."

    return _act(request, number, perform)


@agent_required
@require_POST
def problem_owner(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        data = _valid(OwnerGroupForm(request.POST, actor=actor))
        services.update_problem(
            actor=actor, problem=problem, changes=services.ProblemChanges(owner_group=data["owner_group"])
        )
        return "Changed the owner group."

    return _act(request, number, perform)


@agent_required
@require_POST
def problem_note(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        data = _valid(ProblemNoteForm(request.POST))
        services.add_root_cause_note(actor=actor, problem=problem, body=data["body"])
        return "Added the note."

    return _act(request, number, perform)


def _incident(actor: Actor, number: str) -> Ticket:
    try:
        return access_ticket(actor, number=number)
    except NotFound as exc:
        raise DomainError(f"No ticket {number}, or you may not see it.") from exc


@agent_required
@require_POST
def problem_link(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        ticket = _incident(actor, _valid(LinkIncidentForm(request.POST))["ticket"])
        if services.link_incident(actor=actor, problem=problem, ticket=ticket):
            return f"Linked {ticket.number}."
        return f"{ticket.number} was already linked."

    return _act(request, number, perform)


@agent_required
@require_POST
def problem_unlink(request: HttpRequest, number: str, ticket_number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        ticket = _incident(actor, ticket_number)
        services.unlink_incident(actor=actor, problem=problem, ticket=ticket)
        return f"Unlinked {ticket.number}."

    return _act(request, number, perform)


@agent_required
@require_POST
def known_error_create(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, problem: Problem) -> str:
        data = _valid(KnownErrorForm(request.POST))
        known_error = services.record_known_error(actor=actor, problem=problem, **data)
        return f"Recorded the known error “{known_error.title}”."

    return _act(request, number, perform)


@agent_required
@require_POST
def known_error_update(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    try:
        known_error = access_known_error(actor, pk=pk)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    try:
        data = _valid(KnownErrorFixForm(request.POST, known_error_id=pk))
        services.update_known_error(
            actor=actor,
            known_error=known_error,
            changes=services.KnownErrorChanges(fix_status=data["fix_status"], is_active=data["is_active"]),
        )
    except DomainError as exc:
        messages.warning(request, exc.detail)
    else:
        messages.success(request, f"Saved “{known_error.title}”.")
    if known_error.problem is not None:
        return redirect("console:problems:detail", number=known_error.problem.number)
    return redirect("console:problems:list")
