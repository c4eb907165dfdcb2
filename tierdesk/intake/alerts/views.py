"""The endpoint monitoring tools post to. Outside /api/v1/: no session, the token or signature is the proof."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tierdesk.core.actor import Actor, client_ip
from tierdesk.core.api import PROBLEM_CONTENT_TYPE, problem
from tierdesk.intake.alerts import services


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt  # a monitoring tool has no CSRF token; each delivery carries its token or signature
@require_POST
def alert_webhook(request: HttpRequest, source_id: int) -> HttpResponse:
    # Never the session's user: a cookie riding along a cross-site POST must not lend its rights.
    actor = Actor(user=None, ip=client_ip(request), via="monitoring")
    if _declared_length(request) > services.MAX_BODY:  # refused before a byte of it is read
        outcome = services.refuse(actor, source_id, 413, f"the body is larger than {services.MAX_BODY:,} bytes")
    else:
        outcome = services.receive_delivery(
            actor=actor, source_id=source_id, headers=request.headers, body=request.body
        )
    alerts = [o.as_json() for o in outcome.alerts]
    if outcome.status >= 400:
        body = problem(outcome.status, outcome.detail)
        if alerts:
            body["alerts"] = alerts
        return JsonResponse(body, status=outcome.status, content_type=PROBLEM_CONTENT_TYPE)
    return JsonResponse({"detail": outcome.detail, "alerts": alerts}, status=outcome.status)
