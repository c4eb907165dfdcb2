"""/tickets/ links: each person to their own interface, and the shared attachment download.

Agents work in the console (/console/), requesters in the portal (/portal/); a ticket
link in an e-mail or a note works for both.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.tickets.access import access_attachment, access_ticket
from tierdesk.tickets.api.views import attachment_response


@login_required
def ticket_list(request: HttpRequest) -> HttpResponseRedirect:
    if scope_for(Actor.from_request(request)).is_agent_side:
        given = request.GET.urlencode()
        return HttpResponseRedirect(reverse("console:queue") + (f"?queue=all&{given}" if given else ""))
    return HttpResponseRedirect(reverse("portal:my_tickets"))


@login_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponseRedirect:
    # The page redirected to checks scope (404) and writes the access log itself.
    name = "console:ticket" if scope_for(Actor.from_request(request)).is_agent_side else "portal:ticket"
    return HttpResponseRedirect(reverse(name, kwargs={"number": number}))


@login_required
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    actor = Actor.from_request(request)
    try:
        ticket = access_ticket(actor, number=number, log_view=True)
        attachment = access_attachment(actor, ticket=ticket, pk=attachment_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    return attachment_response(attachment)
