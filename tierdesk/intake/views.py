"""The endpoints trackers call. Outside /api/v1/: no session or token, the signature is the proof."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tierdesk.core.actor import Actor, client_ip
from tierdesk.core.api import PROBLEM_CONTENT_TYPE, problem
from tierdesk.intake import services


@csrf_exempt  # a tracker has no CSRF token; each delivery is signed instead
@require_POST
def engineering_webhook(request: HttpRequest, tracker_id: int) -> HttpResponse:
    # Never the session's user: a cookie riding along a cross-site POST must not lend its rights.
    actor = Actor(user=None, ip=client_ip(request), via="webhook")
    outcome = services.receive_engineering_webhook(
        actor=actor, tracker_id=tracker_id, headers=request.headers, body=request.body
    )
    if outcome.status >= 400:
        return JsonResponse(
            problem(outcome.status, outcome.detail), status=outcome.status, content_type=PROBLEM_CONTENT_TYPE
        )
    return JsonResponse({"detail": outcome.detail}, status=outcome.status)
