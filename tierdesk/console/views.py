"""The agent console: queues, the ticket page, bulk actions and call logging.

Reads go through `visible_to(actor)` querysets and `access_ticket`; every change goes
through `tickets.services`. Inline changes on the ticket page answer htmx with out-of-band
swaps of the page's regions, or with a warning in the alert region (HTTP 200 either way,
so the browser logs no error and the form the agent was editing stays as it was).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, Q, Value
from django.db.models.functions import Replace
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.console import major_incidents, queues
from tierdesk.console.forms import (
    AssigneeForm,
    AssignToMeForm,
    BulkForm,
    CategoryForm,
    ComposeForm,
    EngineeringForm,
    EscalateForm,
    GroupForm,
    LogCallForm,
    PriorityForm,
    SaveViewForm,
    StatusForm,
    VendorForm,
)
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, StaleVersion
from tierdesk.core.unset import UNSET
from tierdesk.core.views import agent_required
from tierdesk.intake.access import access_ticket_email
from tierdesk.intake.mail.parsing import read_mail
from tierdesk.knowledge import views as knowledge_views
from tierdesk.knowledge.access import access_article
from tierdesk.knowledge.choices import ReadSource
from tierdesk.knowledge.services import record_article_view
from tierdesk.problems import services as problems
from tierdesk.problems import views as problem_views
from tierdesk.problems.access import access_known_error
from tierdesk.routing import services as routing
from tierdesk.selfservice.models import Conversation
from tierdesk.sla.models import SlaClock
from tierdesk.tickets import services, workflow
from tierdesk.tickets.access import access_ticket, visible_attachments
from tierdesk.tickets.choices import Channel, Priority, TicketStatus
from tierdesk.tickets.filters import TicketFilterSet
from tierdesk.tickets.models import Ticket
from tierdesk.tickets.services import TicketChanges

PAGE_SIZE = 50
RECENT_TICKETS = 5
CALLER_RESULTS = 10


class FormInvalid(DomainError):
    """A console form did not validate; its errors read as one sentence for the alert."""

    @classmethod
    def of(cls, form: Any) -> FormInvalid:
        parts: list[str] = []
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields and form.fields[name].label else ""
            parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
        return cls(" ".join(parts) or "The form is not valid.")


def _ticket(actor: Actor, number: str, *, log_view: bool = False) -> Ticket:
    try:
        return access_ticket(actor, number=number, log_view=log_view)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- queues ------------------------------------------------------------------------------------


def _query_without(params: QueryDict, *names: str) -> QueryDict:
    query = params.copy()
    for name in names:
        query.pop(name, None)
    return query


def _given(params: QueryDict) -> QueryDict:
    """The parameters that say something: a filter form's "Any" (an empty value) is no filter."""
    given = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [value for value in values if value != ""]
        if kept:
            given.setlist(key, kept)
    return given


def _canonical(query: str) -> list[tuple[str, str]]:
    return sorted((k, v) for k, vs in QueryDict(query).lists() for v in vs if v != "")


COLUMNS = [
    ("number", "Number", "number"),
    ("title", "Title", None),
    ("requester", "Requester", None),
    ("status", "Status", "status"),
    ("priority", "Priority", "priority"),
    ("group", "Group / tier", None),
    ("assignee", "Assignee", None),
    ("created", "Opened", "created"),
    ("updated", "Updated", "updated"),
]


def _columns(query: QueryDict, sort: str) -> list[dict[str, Any]]:
    columns = []
    for key, label, sort_key in COLUMNS:
        column: dict[str, Any] = {"key": key, "label": label, "href": None, "aria_sort": None}
        if sort_key is not None:
            ascending = sort == sort_key
            descending = sort == f"-{sort_key}"
            if ascending or descending:
                column["aria_sort"] = "ascending" if ascending else "descending"
            link = _query_without(query, "sort", "page")
            # Dates read newest first on a first click; other columns A-Z / P1 first.
            first = f"-{sort_key}" if sort_key in ("created", "updated") else sort_key
            link["sort"] = (sort_key if descending else f"-{sort_key}") if (ascending or descending) else first
            column["href"] = f"?{link.urlencode()}"
        columns.append(column)
    return columns


@agent_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    params = _given(request.GET)
    current = queues.get_queue(params.get("queue"))
    sort = params.get("sort") or current.default_sort
    order = queues.order_for(sort)
    if order is None:
        sort, order = current.default_sort, queues.order_for(current.default_sort)
    assert order is not None
    tickets = queues.queue_tickets(actor, current).for_list()
    filters = TicketFilterSet(params or None, queryset=tickets)
    page = Paginator(filters.qs.order_by(*order), PAGE_SIZE).get_page(params.get("page"))
    query = _query_without(params, "page")
    query_string = query.urlencode()
    saved = list(request.user.saved_views.all())  # type: ignore[union-attr]
    canonical = _canonical(query_string)
    active_view = next((v for v in saved if _canonical(v.query) == canonical), None)
    return render(
        request,
        "console/queue.html",
        {
            "queues": queues.QUEUES,
            "current": current,
            "entries": [(q, None) for q in queues.QUEUES],
            "counted": False,
            "filter_values": {name: params.get(name, "") for name in ("q", "status", "priority")},
            "status_choices": TicketStatus.choices,
            "priority_choices": Priority.choices,
            "filters": filters,
            "page": page,
            "sort": sort,
            "columns": _columns(params, sort),
            "query": query_string,
            "saved_views": saved,
            "active_view": active_view,
            "save_form": SaveViewForm(initial={"query": query_string}),
            "bulk_form": BulkForm(actor=actor, initial={"action": "assign", "assignee": "me"}),
            "here": request.get_full_path(),
        },
    )


@agent_required
@require_GET
def queue_counts(request: HttpRequest) -> HttpResponse:
    """The queue list with live counts; the queue page polls it."""
    counts = queues.queue_counts(Actor.from_request(request))
    return render(
        request,
        "console/partials/queue_nav.html",
        {
            "current": queues.get_queue(request.GET.get("current")),
            "entries": [(q, counts.get(q.key)) for q in queues.QUEUES],
            "counted": True,
            "active_view": request.GET.get("saved") == "1",
        },
    )


@agent_required
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = SaveViewForm(request.POST)
    if not form.is_valid():
        messages.warning(request, "Give the view a name to save it.")
        return redirect(f"{reverse('console:queue')}?{request.POST.get('query', '')}")
    query = str(form.cleaned_data["query"])
    try:
        view = services.save_view(actor=actor, name=form.cleaned_data["name"], query=query)
    except DomainError as exc:
        messages.warning(request, exc.detail)
    else:
        messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(f"{reverse('console:queue')}?{query}")


@agent_required
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    try:
        services.delete_view(actor=actor, view_id=view_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    messages.success(request, "Deleted the saved view.")
    return redirect(_safe_next(request, reverse("console:queue")))


def _my_group_for(actor: Actor, ticket: Ticket) -> SupportGroup | None:
    """The actor's own active group that serves the ticket's organisation, lowest tier first."""
    groups = SupportGroup.objects.visible_to(actor).filter(is_active=True, memberships__agent_id=actor.user_id)
    if ticket.organisation_id != ticket.organisation.root_provider_id:
        groups = groups.filter(serves=ticket.organisation_id)
    return groups.order_by("tier", "name").first()


def _assign_to_me(actor: Actor, ticket: Ticket, expected_version: int | None) -> Ticket:
    """Take the ticket; one without a group also moves to the actor's group for its organisation."""
    group = _my_group_for(actor, ticket) if ticket.support_group_id is None else None
    return services.assign(
        actor=actor,
        ticket=ticket,
        assignee=actor.user,
        support_group=group if group is not None else UNSET,
        expected_version=expected_version,
    )


def _bulk_one(actor: Actor, form: BulkForm, ticket: Ticket) -> None:
    data = form.cleaned_data
    action = data["action"]
    if action == "assign":
        assignee: User | None = form.chosen_assignee()
        if assignee is not None and assignee == actor.user:
            _assign_to_me(actor, ticket, None)
        else:
            services.assign(actor=actor, ticket=ticket, assignee=assignee)
    elif action == "status":
        services.transition(
            actor=actor,
            ticket=ticket,
            to_status=data["status"],
            resolution_code=data["resolution_code"],
            resolution_notes=data["resolution_notes"],
        )
    elif action == "priority":
        services.change_priority(actor=actor, ticket=ticket, impact=data["impact"], urgency=data["urgency"])
    elif action == "note":
        services.add_note(actor=actor, ticket=ticket, body=data["note"])


BULK_DONE = {
    "assign": "Assigned",
    "status": "Changed the status of",
    "priority": "Changed the priority of",
    "note": "Added the note to",
}


@agent_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One service call per selected ticket; each succeeds or fails on its own, and both are reported."""
    actor = Actor.from_request(request)
    back = _safe_next(request, reverse("console:queue"))
    form = BulkForm(request.POST, actor=actor)
    if not form.is_valid():
        messages.warning(request, FormInvalid.of(form).detail)
        return redirect(back)
    numbers: list[str] = form.cleaned_data["tickets"]
    found = {t.number: t for t in Ticket.objects.visible_to(actor).filter(number__in=numbers)}
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    for number in numbers:
        ticket = found.get(number)
        if ticket is None:
            failed.append((number, "No such ticket, or you may not see it."))
            continue
        try:
            _bulk_one(actor, form, ticket)
        except DomainError as exc:
            failed.append((number, exc.detail))
        else:
            done.append(number)
    verb = BULK_DONE[form.cleaned_data["action"]]
    if done:
        noun = "ticket" if len(done) == 1 else "tickets"
        messages.success(request, f"{verb} {len(done)} {noun}: {', '.join(done)}.")
    if failed:
        messages.warning(request, f"{len(failed)} of {len(numbers)} not changed:")
        for number, reason in failed:
            messages.warning(request, f"{number}: {reason}")
    return redirect(back)


# --- the ticket page ---------------------------------------------------------------------------


def _regions(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    """What the swappable regions of the ticket page show; rendered whole and after each change."""
    initial = {"version": ticket.version}
    timeline = list(ticket.timeline.visible_to(actor).order_by("created_at", "id"))
    watchers = list(ticket.watchers.order_by("full_name"))
    editable = ticket.status not in workflow.TERMINAL
    return {
        "ticket": ticket,
        "editable": editable,
        "allowed": workflow.allowed_targets(ticket.status),
        "status_form": StatusForm(ticket=ticket, initial=initial),
        "priority_form": PriorityForm(initial={**initial, "impact": ticket.impact, "urgency": ticket.urgency}),
        "category_form": CategoryForm(initial={**initial, "category": ticket.category_id}),
        "group_form": GroupForm(
            actor=actor, ticket=ticket, initial={**initial, "support_group": ticket.support_group_id}
        ),
        "assignee_form": AssigneeForm(actor=actor, ticket=ticket, initial={**initial, "assignee": ticket.assignee_id}),
        "assign_me_form": AssignToMeForm(initial=initial),
        "escalate_form": EscalateForm(ticket=ticket, initial=initial),
        "vendor_form": VendorForm(actor=actor, ticket=ticket, initial=initial),
        "engineering_form": EngineeringForm(actor=actor, initial=initial),
        "tier_history": list(ticket.field_changes.filter(field="tier").order_by("created_at", "id")),
        "timeline": timeline,
        "attachments": list(visible_attachments(actor, ticket)),
        "watchers": watchers,
        "watching": any(w.pk == actor.user_id for w in watchers),
        "clocks": list(SlaClock.objects.of_ticket(ticket).shown()),
        "is_mine": ticket.assignee_id == actor.user_id,
        # A chat ticket links to its chat (one query, on chat tickets only).
        "chat": (
            Conversation.objects.visible_to(actor).of_ticket(ticket.pk).first()
            if ticket.channel == Channel.CHAT
            else None
        ),
        **major_incidents.panel_context(actor, ticket),
    }


@agent_required
@require_GET
def ticket_page(request: HttpRequest, number: str) -> HttpResponse:
    actor = Actor.from_request(request)
    return _ticket_page(request, actor, _ticket(actor, number, log_view=True), ComposeForm())


def _ticket_page(request: HttpRequest, actor: Actor, ticket: Ticket, compose_form: ComposeForm) -> HttpResponse:
    recent = list(
        Ticket.objects.visible_to(actor)
        .filter(requester_id=ticket.requester_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at", "-id")[:RECENT_TICKETS]
    )
    return render(
        request,
        "console/ticket.html",
        {
            **_regions(actor, ticket),
            "recent": recent,
            "compose_form": compose_form,
            "alert": None,
            # Linked problems, applied and suggested known errors (not in _regions: not refreshed on every change).
            "problems_card": problem_views.ticket_problems(actor, ticket),
            # Suggested knowledge articles (tierdesk.knowledge): one search, and the audiences of the hits.
            "articles_card": knowledge_views.ticket_articles(actor, ticket),
        },
    )


def _regions_response(request: HttpRequest, actor: Actor, number: str, *, reset_composer: bool = False) -> HttpResponse:
    ticket = _ticket(actor, number)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("console:ticket", number=ticket.number)
    context = {**_regions(actor, ticket), "oob": True, "reset_composer": reset_composer}
    if reset_composer:
        context["compose_form"] = ComposeForm()
    return render(request, "console/partials/ticket_regions.html", context)


def _alert_response(
    request: HttpRequest, ticket: Ticket, *, error: str = "", stale: StaleVersion | None = None
) -> HttpResponse:
    """A warning in the page's alert region; the forms keep what the agent had entered."""
    if not request.htmx:  # type: ignore[attr-defined]
        if stale is not None:
            messages.warning(request, "Someone else changed this ticket meanwhile; your change was not saved.")
        else:
            messages.warning(request, error)
        return redirect("console:ticket", number=ticket.number)
    response = render(
        request,
        "console/partials/ticket_alert.html",
        {"ticket": ticket, "error": error, "stale": stale},
    )
    return reswap(retarget(response, "#ticket-alert"), "outerHTML")


def _change(
    request: HttpRequest, number: str, perform: Callable[[Actor, Ticket], object], **kwargs: Any
) -> HttpResponse:
    actor = Actor.from_request(request)
    ticket = _ticket(actor, number)
    try:
        perform(actor, ticket)
    except StaleVersion as exc:
        return _alert_response(request, ticket, stale=exc)
    except DomainError as exc:
        return _alert_response(request, ticket, error=exc.detail)
    return _regions_response(request, actor, number, **kwargs)


def _valid(form: Any) -> dict[str, Any]:
    if not form.is_valid():
        raise FormInvalid.of(form)
    return dict(form.cleaned_data)


@agent_required
@require_POST
def change_status(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(StatusForm(request.POST, ticket=ticket))
        # The state machine refuses a resolution without code and notes; the form only
        # makes sure they are not sent along with any other status.
        return services.transition(
            actor=actor,
            ticket=ticket,
            to_status=data["status"],
            resolution_code=data["resolution_code"] if data["status"] == TicketStatus.RESOLVED else "",
            resolution_notes=data["resolution_notes"] if data["status"] == TicketStatus.RESOLVED else "",
            expected_version=data["version"],
        )

    return _change(request, number, perform)


@agent_required
@require_POST
def change_priority(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(PriorityForm(request.POST))
        return services.change_priority(
            actor=actor, ticket=ticket, impact=data["impact"], urgency=data["urgency"], expected_version=data["version"]
        )

    return _change(request, number, perform)


def _change_field(actor: Actor, ticket: Ticket, data: dict[str, Any], name: str) -> Ticket:
    """One field of the ticket, at the version the form was rendered with."""
    changes = TicketChanges(**{name: data[name]})
    return services.update_ticket(actor=actor, ticket=ticket, changes=changes, expected_version=data["version"])


@agent_required
@require_POST
def change_category(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        return _change_field(actor, ticket, _valid(CategoryForm(request.POST)), "category")

    return _change(request, number, perform)


@agent_required
@require_POST
def change_group(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(GroupForm(request.POST, actor=actor, ticket=ticket))
        return _change_field(actor, ticket, data, "support_group")

    return _change(request, number, perform)


@agent_required
@require_POST
def change_assignee(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(AssigneeForm(request.POST, actor=actor, ticket=ticket))
        return services.assign(actor=actor, ticket=ticket, assignee=data["assignee"], expected_version=data["version"])

    return _change(request, number, perform)


@agent_required
@require_POST
def escalate(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(EscalateForm(request.POST, ticket=ticket))
        return routing.escalate(
            actor=actor, ticket=ticket, to_tier=data["to_tier"], note=data["note"], expected_version=data["version"]
        )

    return _change(request, number, perform)


@agent_required
@require_POST
def send_to_vendor(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(VendorForm(request.POST, actor=actor, ticket=ticket))
        return routing.escalate_to_vendor(
            actor=actor,
            ticket=ticket,
            vendor=data["vendor"],
            message=data["message"],
            expected_version=data["version"],
        )

    return _change(request, number, perform)


@agent_required
@require_POST
def send_to_engineering(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(EngineeringForm(request.POST, actor=actor))
        return routing.send_to_engineering(
            actor=actor,
            ticket=ticket,
            tracker=data["tracker"],
            reproduction_steps=data["reproduction_steps"],
            environment=data["environment"],
            expected_version=data["version"],
        )

    return _change(request, number, perform)


@agent_required
@require_POST
def assign_to_me(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(AssignToMeForm(request.POST))
        return _assign_to_me(actor, ticket, data["version"])

    return _change(request, number, perform)


@agent_required
@require_POST
def watch(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        return services.set_watching(actor=actor, ticket=ticket, watching=request.POST.get("watching") == "1")

    return _change(request, number, perform)


@agent_required
@require_POST
def compose(request: HttpRequest, number: str) -> HttpResponse:
    def perform(actor: Actor, ticket: Ticket) -> object:
        data = _valid(ComposeForm(request.POST))
        if data["kind"] == "note":
            return services.add_note(actor=actor, ticket=ticket, body=data["body"])
        return services.reply(actor=actor, ticket=ticket, body=data["body"])

    return _change(request, number, perform, reset_composer=True)


@agent_required
@require_POST
def apply_known_error(request: HttpRequest, number: str, known_error_id: int) -> HttpResponse:
    """Apply a suggested known error: link it to the ticket, and put its workaround into the reply
    composer after whatever the agent had typed (posted along as `body`)."""
    actor = Actor.from_request(request)
    ticket = _ticket(actor, number)
    try:
        known_error = access_known_error(actor, pk=known_error_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    try:
        workaround = problems.apply_known_error(actor=actor, ticket=ticket, known_error=known_error)
    except DomainError as exc:
        return _alert_response(request, ticket, error=exc.detail)
    draft = request.POST.get("body", "").strip()
    compose_form = ComposeForm(initial={"kind": "reply", "body": f"{draft}\n\n{workaround}" if draft else workaround})
    if not request.htmx:  # type: ignore[attr-defined]
        return _ticket_page(request, actor, ticket, compose_form)
    context = {
        **_regions(actor, ticket),
        "oob": True,
        "reset_composer": True,
        "compose_form": compose_form,
        "problems_card": problem_views.ticket_problems(actor, ticket),
    }
    regions = render_to_string("console/partials/ticket_regions.html", context, request)
    return HttpResponse(regions + render_to_string("console/partials/ticket_known_errors.html", context, request))


@agent_required
@require_POST
def insert_article(request: HttpRequest, number: str, article_id: int) -> HttpResponse:
    """Insert a suggested knowledge article into the reply composer, after whatever the agent had
    typed (posted along as `body`), and count the article as read from the console."""
    actor = Actor.from_request(request)
    ticket = _ticket(actor, number)
    try:
        article = access_article(actor, article_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    record_article_view(actor=actor, article=article, source=ReadSource.CONSOLE)
    text = knowledge_views.reply_text(request, article, ticket)
    draft = request.POST.get("body", "").strip()
    compose_form = ComposeForm(initial={"kind": "reply", "body": f"{draft}\n\n{text}" if draft else text})
    if not request.htmx:  # type: ignore[attr-defined]
        return _ticket_page(request, actor, ticket, compose_form)
    context = {
        "ticket": ticket,
        "editable": ticket.status not in workflow.TERMINAL,
        "compose_form": compose_form,
        "oob": True,
    }
    return render(request, "console/partials/ticket_composer.html", context)


@agent_required
@require_GET
def regions(request: HttpRequest, number: str) -> HttpResponse:
    """The page's regions afresh: after the agent's own uploads (console.js asks for it)."""
    return _regions_response(request, Actor.from_request(request), number)


@agent_required
@require_POST
def upload(request: HttpRequest, number: str) -> JsonResponse:
    """Files dropped on the composer (console.js posts them here one request per drop)."""
    actor = Actor.from_request(request)
    ticket = _ticket(actor, number)
    files = request.FILES.getlist("file")
    if not files:
        return JsonResponse({"ok": False, "error": "Choose or drop a file."})
    is_public = request.POST.get("is_public", "1") == "1"
    saved: list[str] = []
    for upload in files:
        try:
            attachment = services.add_attachment(
                actor=actor, ticket=ticket, stream=upload, filename=upload.name or "attachment", is_public=is_public
            )
        except DomainError as exc:
            return JsonResponse({"ok": False, "error": f"{upload.name}: {exc.detail}", "saved": saved})
        saved.append(attachment.filename)
    return JsonResponse({"ok": True, "saved": saved})


# --- log a call --------------------------------------------------------------------------------


def find_callers(actor: Actor, text: str) -> list[Requester]:
    """Requesters the agent may serve, by name, e-mail or phone (digits match however written)."""
    text = text.strip()
    if len(text) < 2:
        return []
    callers = Requester.objects.visible_to(actor).filter(is_active=True)
    match = Q(name__icontains=text) | Q(email__icontains=text) | Q(phone__icontains=text)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3:
        bare: Any = F("phone")
        for sign in (" ", "-", "+", "(", ")", ".", "/"):
            bare = Replace(bare, Value(sign), Value(""))
        callers = callers.annotate(phone_digits=bare)
        match |= Q(phone_digits__contains=digits)
    return list(callers.filter(match).select_related("organisation", "site").order_by("name", "pk")[:CALLER_RESULTS])


def _recent_for(actor: Actor, caller: Requester) -> list[Ticket]:
    return list(
        Ticket.objects.visible_to(actor).filter(requester_id=caller.pk).order_by("-created_at", "-id")[:RECENT_TICKETS]
    )


@agent_required
@require_GET
def caller_search(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    text = request.GET.get("q", "")
    return render(
        request,
        "console/partials/caller_results.html",
        {"callers": find_callers(actor, text), "text": text.strip()},
    )


def _caller(actor: Actor, pk: Any) -> Requester | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        Requester.objects.visible_to(actor).filter(pk=pk, is_active=True).select_related("organisation", "site").first()
    )


@agent_required
@require_GET
def caller_card(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    caller = _caller(actor, pk)
    if caller is None:
        raise Http404("No such caller, or you may not see them.")
    form = LogCallForm(actor=actor, caller=caller)
    return render(
        request,
        "console/partials/caller_card.html",
        {"caller": caller, "form": form, "recent": _recent_for(actor, caller)},
    )


@agent_required
def log_call(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    if request.method == "POST":
        form = LogCallForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.log_call(
                    actor=actor,
                    requester=data["requester"],
                    title=data["title"],
                    notes=data["notes"],
                    category=data["category"],
                    impact=data["impact"],
                    urgency=data["urgency"],
                    site=data["site"],
                    ticket_type=data["ticket_type"],
                    resolved_on_call=data["resolved_on_call"],
                    **({"resolution_code": data["resolution_code"]} if data["resolution_code"] else {}),
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                state = "resolved on the call" if ticket.status == TicketStatus.RESOLVED else "logged"
                messages.success(request, f"Call {state} as {ticket.number}.")
                return redirect("console:ticket", number=ticket.number)
    else:
        form = LogCallForm(actor=actor, caller=_caller(actor, request.GET.get("caller")))
    caller = form.caller
    return render(
        request,
        "console/log_call.html",
        {"form": form, "caller": caller, "recent": _recent_for(actor, caller) if caller else []},
    )


@agent_required
@require_GET
def email_original(request: HttpRequest, number: str, record_id: int) -> HttpResponse:
    """A message as it was received: its headers, full text (nothing trimmed) and sanitised HTML."""
    actor = Actor.from_request(request)
    ticket = _ticket(actor, number, log_view=True)
    try:
        record = access_ticket_email(actor, ticket=ticket, pk=record_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    raw = bytes(record.raw)
    if request.GET.get("download") == "eml":
        response = HttpResponse(raw, content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="{ticket.number}-{record.pk}.eml"'
        return response
    return render(request, "console/email_original.html", {"ticket": ticket, "record": record, "mail": read_mail(raw)})
