"""The agent's notification inbox: what the SLA engine (and later other parts) told them."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tierdesk.core.actor import Actor
from tierdesk.core.views import agent_required
from tierdesk.notifications import services
from tierdesk.notifications.models import Notification

PAGE_SIZE = 50


@agent_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.for_recipient(request.user)
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"nav": "notifications", "page": page, "unread": mine.unread().count()},
    )


@agent_required
@require_GET
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The nav's count of unread notifications; the console polls it."""
    count = Notification.objects.for_recipient(request.user).unread().count()
    return render(request, "notifications/partials/badge.html", {"unread": count})


@agent_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
    services.mark_read(actor=Actor.from_request(request), notification_ids=ids or None)
    return redirect("notifications:inbox")
