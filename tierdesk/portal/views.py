"""The self-service portal: requesters open tickets, follow them, reply, confirm or reopen, and rate.

Every ticket is loaded through `access_ticket` (a number outside the requester's scope is a
404) and every change goes through the ticket services. Agents are sent to the console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tierdesk.accounts.models import Requester
from tierdesk.accounts.scope import scope_for
from tierdesk.core import clock
from tierdesk.core.actor import Actor, client_ip
from tierdesk.core.errors import DomainError, IllegalTransition, NotFound, PayloadTooLarge
from tierdesk.core.sessions import session_key
from tierdesk.knowledge.services import record_ticket_submitted
from tierdesk.portal.forms import CancelForm, RatingForm, ReopenForm, ReplyForm, TicketForm
from tierdesk.tenancy.services import current_announcements
from tierdesk.tickets import satisfaction, services, workflow
from tierdesk.tickets.access import access_attachment, access_ticket, visible_attachments
from tierdesk.tickets.api.views import attachment_response
from tierdesk.tickets.choices import Channel, TicketStatus
from tierdesk.tickets.filters import TicketFilterSet
from tierdesk.tickets.models import Attachment, SatisfactionRating, Ticket, TimelineEntry

PAGE_SIZE = 25

# The list tabs: what a requester still has to do with, what is over, and everything.
STATUS_TABS: dict[str, tuple[str, list[str]]] = {
    "open": ("Open", [*sorted(workflow.OPEN), TicketStatus.RESOLVED]),
    "closed": ("Closed", [TicketStatus.CLOSED, TicketStatus.CANCELLED]),
    "all": ("All", []),
}

NO_REQUESTER = (
    "Your sign-in is not linked to a requester record, so tickets cannot be opened in your name. "
    "Please call the service desk."
)

View = Callable[..., HttpResponseBase]


def requester_page(view: View) -> View:
    """Signed-in requesters only; agents who land here go to the same place in the console."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_agent_side:  # type: ignore[union-attr]
            number = kwargs.get("number")
            return redirect(f"/console/tickets/{quote(number)}/" if number else "/console/")
        return view(request, Actor.from_request(request), *args, **kwargs)

    return wrapper


def _render(request: HttpRequest, actor: Actor, template: str, context: dict[str, Any]) -> HttpResponse:
    """A portal page: with the organisation's announcements and the manager's extra list."""
    scope = scope_for(actor)
    organisation_id = actor.user.organisation_id if actor.user is not None else 0
    page_context = {
        "announcements": current_announcements(organisation_id),
        "is_org_manager": bool(scope.organisation_ids),
        **context,
    }
    return render(request, template, page_context)


def _requester(actor: Actor) -> Requester | None:
    """The requester record of the signed-in person (active, else None)."""
    if actor.user is None or scope_for(actor).requester_id is None:
        return None
    return actor.user.requester_profile


def _access(actor: Actor, number: str) -> Ticket:
    try:
        return access_ticket(actor, number=number, log_view=True)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


# --- lists --------------------------------------------------------------------------------


@require_GET
@requester_page
def my_tickets(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _ticket_list(request, actor, organisation=False)


@require_GET
@requester_page
def organisation_tickets(request: HttpRequest, actor: Actor) -> HttpResponse:
    if not scope_for(actor).organisation_ids:
        raise Http404("Only organisation managers see their organisation's tickets.")
    return _ticket_list(request, actor, organisation=True)


def _ticket_list(request: HttpRequest, actor: Actor, *, organisation: bool) -> HttpResponse:
    show = request.GET.get("show", "open")
    if show not in STATUS_TABS:
        show = "open"
    text = request.GET.get("q", "").strip()[:200]
    criteria = QueryDict(mutable=True)
    criteria.setlist("status", STATUS_TABS[show][1])
    if text:
        criteria["q"] = text
    if not organisation:
        criteria["requester"] = str(scope_for(actor).requester_id or 0)
    filters = TicketFilterSet(criteria, queryset=Ticket.objects.visible_to(actor).for_list())
    page = Paginator(filters.qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    keep = QueryDict(mutable=True)
    keep["show"] = show
    if text:
        keep["q"] = text
    return _render(
        request,
        actor,
        "portal/ticket_list.html",
        {
            "nav": "organisation" if organisation else "mine",
            "organisation": organisation,
            "no_requester": NO_REQUESTER,
            "page": page,
            "show": show,
            "tabs": [(key, label) for key, (label, _) in STATUS_TABS.items()],
            "q": text,
            "query": keep.urlencode(),
            "has_requester": scope_for(actor).requester_id is not None,
        },
    )


# --- a new ticket -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requester_page
def submit(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    requester = _requester(actor)
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES, organisation_id=requester.organisation_id if requester else None)
        if requester is None:
            form.add_error(None, NO_REQUESTER)
        elif form.is_valid():
            try:
                ticket = _open_ticket(actor, requester, form.cleaned_data)
            except DomainError as exc:
                form.add_error("attachments" if isinstance(exc, PayloadTooLarge) else None, exc.detail)
            else:
                # The help session (articles read, searches) ended in a ticket: not deflected.
                record_ticket_submitted(session_key=session_key(request), ticket=ticket)
                messages.success(
                    request, f"Thank you. Your ticket {ticket.number} is with the service desk; we will reply here."
                )
                return redirect("portal:ticket", number=ticket.number)
    else:
        form = TicketForm(
            initial={"area": request.GET.get("area")}, organisation_id=requester.organisation_id if requester else None
        )
    return _render(
        request,
        actor,
        "portal/submit.html",
        {"nav": "new", "form": form, "guide": form.guidance(), "requester": requester, "no_requester": NO_REQUESTER},
    )


@transaction.atomic
def _open_ticket(actor: Actor, requester: Requester, data: dict[str, Any]) -> Ticket:
    """The ticket and its files together, or nothing: a refused file leaves no half ticket."""
    ticket = services.open_ticket(
        actor=actor,
        requester=requester,
        title=data["title"],
        description=data["description"],
        ticket_type=data["ticket_type"],
        channel=Channel.PORTAL,
        category=data["category"],
        impact=data["impact"],
        urgency=data["urgency"],
        affected_service=data.get("affected_service"),
    )
    for upload in data["attachments"]:
        services.add_attachment(actor=actor, ticket=ticket, stream=upload, filename=upload.name or "attachment")
    return ticket


@require_GET
@requester_page
def category_fields(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The sub-category choice and hint for the chosen area (htmx swaps it into the form)."""
    form = TicketForm(initial={"area": request.GET.get("area"), "subcategory": request.GET.get("subcategory")})
    return render(request, "portal/partials/category_fields.html", {"form": form, "guide": form.guidance()})


# --- a ticket -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    entry: TimelineEntry
    attachment: Attachment | None


@require_GET
@requester_page
def ticket_page(request: HttpRequest, actor: Actor, number: str) -> HttpResponse:
    return _ticket_page(request, actor, _access(actor, number))


def _ticket_page(
    request: HttpRequest,
    actor: Actor,
    ticket: Ticket,
    *,
    forms: dict[str, Any] | None = None,
    error: str = "",
) -> HttpResponse:
    scope = scope_for(actor)
    attachments = list(visible_attachments(actor, ticket))
    by_id = {attachment.pk: attachment for attachment in attachments}
    rows = [TimelineRow(entry, by_id.get(_attachment_id(entry))) for entry in ticket.timeline.visible_to(actor)]
    is_own = scope.requester_id is not None and scope.requester_id == ticket.requester_id
    finished = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    reopen_until = _reopen_until(ticket)
    context: dict[str, Any] = {
        "ticket": ticket,
        "timeline": rows,
        "attachments": attachments,
        "is_own": is_own,
        "can_reply": ticket.status not in workflow.TERMINAL,
        "can_cancel": ticket.status in workflow.OPEN,
        "is_resolved": ticket.status == TicketStatus.RESOLVED,
        "reopen_until": reopen_until,
        "can_reopen": reopen_until is not None and clock.now() <= reopen_until,
        "reopen_days": settings.TIERDESK_REOPEN_WINDOW_DAYS,
        "can_rate": is_own and finished,
        "rating": _rating(ticket) if is_own and finished else None,
        "error": error,
        "reply_form": ReplyForm(),
        "reopen_form": ReopenForm(),
        "cancel_form": CancelForm(),
        "rating_form": None,
        **(forms or {}),
    }
    if context["can_rate"] and context["rating_form"] is None:
        rating = context["rating"]
        initial = {"score": rating.score, "comment": rating.comment} if rating is not None else {}
        context["rating_form"] = RatingForm(initial=initial)
    return _render(request, actor, "portal/ticket.html", context)


def _attachment_id(entry: TimelineEntry) -> int:
    value = entry.data.get("attachment_id") if isinstance(entry.data, dict) else None
    return value if isinstance(value, int) else 0


def _reopen_until(ticket: Ticket) -> datetime | None:
    if ticket.status != TicketStatus.RESOLVED or ticket.resolved_at is None:
        return None
    return ticket.resolved_at + timedelta(days=settings.TIERDESK_REOPEN_WINDOW_DAYS)


def _rating(ticket: Ticket) -> SatisfactionRating | None:
    try:
        return ticket.satisfaction
    except SatisfactionRating.DoesNotExist:
        return None


def _done(request: HttpRequest, ticket: Ticket, message: str) -> HttpResponseBase:
    messages.success(request, message)
    return redirect("portal:ticket", number=ticket.number)


@requester_page
@require_POST
def reply(request: HttpRequest, actor: Actor, number: str) -> HttpResponseBase:
    ticket = _access(actor, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            _reply(actor, ticket, form.cleaned_data)
        except PayloadTooLarge as exc:
            form.add_error("attachments", exc.detail)
        except DomainError as exc:
            return _ticket_page(request, actor, ticket, forms={"reply_form": form}, error=_explain(exc, ticket))
        else:
            files = len(form.cleaned_data["attachments"])
            sent = "Your reply was added" if form.cleaned_data["body"].strip() else "Your files were added"
            if files and form.cleaned_data["body"].strip():
                sent += f" with {files} file{'s' if files > 1 else ''}"
            return _done(request, ticket, f"{sent}.")
    return _ticket_page(request, actor, ticket, forms={"reply_form": form})


@transaction.atomic
def _reply(actor: Actor, ticket: Ticket, data: dict[str, Any]) -> None:
    """The reply and its files together, or nothing."""
    if data["body"].strip():
        services.reply(actor=actor, ticket=ticket, body=data["body"])
    for upload in data["attachments"]:
        services.add_attachment(actor=actor, ticket=ticket, stream=upload, filename=upload.name or "attachment")


@requester_page
@require_POST
def confirm(request: HttpRequest, actor: Actor, number: str) -> HttpResponseBase:
    ticket = _access(actor, number)
    try:
        services.transition(actor=actor, ticket=ticket, to_status=TicketStatus.CLOSED, reason="confirmed by requester")
    except DomainError as exc:
        return _ticket_page(request, actor, ticket, error=_explain(exc, ticket))
    return _done(request, ticket, "Thank you for confirming; the ticket is closed.")


def _requester_transition(
    request: HttpRequest,
    actor: Actor,
    number: str,
    form: ReopenForm | CancelForm,
    form_key: str,
    to_status: str,
    default_reason: str,
    done: str,
) -> HttpResponseBase:
    """Reopen or withdraw: a reason form, one transition, the page again with any refusal explained."""
    ticket = _access(actor, number)
    if not form.is_valid():
        return _ticket_page(request, actor, ticket, forms={form_key: form})
    try:
        services.transition(
            actor=actor,
            ticket=ticket,
            to_status=to_status,
            reason=form.cleaned_data["reason"].strip() or default_reason,
        )
    except DomainError as exc:
        return _ticket_page(request, actor, ticket, forms={form_key: form}, error=_explain(exc, ticket))
    return _done(request, ticket, done)


@requester_page
@require_POST
def reopen(request: HttpRequest, actor: Actor, number: str) -> HttpResponseBase:
    return _requester_transition(
        request,
        actor,
        number,
        ReopenForm(request.POST),
        "reopen_form",
        TicketStatus.IN_PROGRESS,
        "reopened by requester",
        "The ticket is open again; the service desk will pick it up.",
    )


@requester_page
@require_POST
def cancel(request: HttpRequest, actor: Actor, number: str) -> HttpResponseBase:
    return _requester_transition(
        request,
        actor,
        number,
        CancelForm(request.POST),
        "cancel_form",
        TicketStatus.CANCELLED,
        "withdrawn by requester",
        "You withdrew the ticket.",
    )


@requester_page
@require_POST
def rate(request: HttpRequest, actor: Actor, number: str) -> HttpResponseBase:
    ticket = _access(actor, number)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rate_resolution(
                actor=actor, ticket=ticket, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except DomainError as exc:
            return _ticket_page(request, actor, ticket, forms={"rating_form": form}, error=_explain(exc, ticket))
        return _done(request, ticket, "Thank you for your rating.")
    return _ticket_page(request, actor, ticket, forms={"rating_form": form})


# --- rating by the link of a resolution mail (no login) -----------------------------------------


@require_http_methods(["GET", "POST"])
def satisfaction_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """Rate a resolution from the link in its mail. The signed link is the proof of who rates;
    a forged, altered or expired one is refused and nothing is written."""
    try:
        ticket = satisfaction.ticket_for_link(token)
    except NotFound as exc:
        expired = isinstance(exc, satisfaction.LinkExpired)
        context = {"refused": exc.detail, "expired": expired}
        return render(request, "portal/satisfaction.html", context, status=404)
    rating = _rating(ticket)
    initial = {"score": rating.score, "comment": rating.comment} if rating is not None else {}
    form = RatingForm(request.POST if request.method == "POST" else None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        actor = Actor(user=None, ip=client_ip(request), via="email", name=ticket.requester.name)
        try:
            rating = services.rate_resolution_by_link(
                actor=actor, token=token, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except DomainError as exc:
            error = exc.detail
        else:
            return render(request, "portal/satisfaction.html", {"ticket": ticket, "rating": rating, "thanked": True})
    status = 400 if error or form.errors else 200
    can_rate = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    context = {"ticket": ticket, "rating": rating, "rating_form": form, "error": error, "can_rate": can_rate}
    return render(request, "portal/satisfaction.html", context, status=status)


def _explain(exc: DomainError, ticket: Ticket) -> str:
    """What a refused step means for the requester, in their words."""
    reopen_until = _reopen_until(ticket)
    if isinstance(exc, IllegalTransition) and reopen_until is not None and clock.now() > reopen_until:
        return (
            f"This ticket was resolved more than {settings.TIERDESK_REOPEN_WINDOW_DAYS} days ago, so it can no "
            "longer be reopened. If the problem is back, please open a new ticket and mention "
            f"{ticket.number}."
        )
    if isinstance(exc, IllegalTransition):
        return (
            f"This ticket is now {ticket.get_status_display().lower()}, so that step is no longer possible. "
            "The page shows its current state."
        )
    return exc.detail


@require_GET
@requester_page
def attachment_download(request: HttpRequest, actor: Actor, number: str, attachment_id: int) -> FileResponse:
    ticket = _access(actor, number)
    try:
        attachment = access_attachment(actor, ticket=ticket, pk=attachment_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    return attachment_response(attachment)
