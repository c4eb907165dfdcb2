"""Minimal web pages: the list of my visible tickets and a ticket page.

The full agent console and portal are their own issue; these prove the server runs and
already go through the same scoped access layer and FilterSet as the API.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.tickets.access import access_attachment, access_ticket, visible_attachments
from tierdesk.tickets.api.views import attachment_response
from tierdesk.tickets.filters import TicketFilterSet
from tierdesk.tickets.models import Ticket, TimelineEntry

PAGE_SIZE = 50


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    filters = TicketFilterSet(request.GET or None, queryset=Ticket.objects.visible_to(actor).for_list())
    page = Paginator(filters.qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {"filters": filters, "page": page, "query": query.urlencode(), "is_agent_side": scope_for(actor).is_agent_side},
    )


@login_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    actor = Actor.from_request(request)
    try:
        ticket = access_ticket(actor, number=number, log_view=True)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    timeline = TimelineEntry.objects.filter(ticket=ticket).visible_to(actor).select_related("author")
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "timeline": timeline,
            "attachments": visible_attachments(actor, ticket),
            "is_agent_side": scope_for(actor).is_agent_side,
        },
    )


@login_required
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    actor = Actor.from_request(request)
    try:
        ticket = access_ticket(actor, number=number, log_view=True)
        attachment = access_attachment(actor, ticket=ticket, pk=attachment_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    return attachment_response(attachment)
