"""The chat: the portal widget's endpoints, the event stream both sides read, the bot's buttons,
and the console's chat queue and chat page.

Posts answer JSON (the widget shows a refusal's `detail`); every line reaches the screens
through the stream, never through the post's answer, so both sides see the same thing.

The stream is server-sent events over plain WSGI: each response lives at most
TIERDESK_CHAT_STREAM_SECONDS (25 s) with a comment every TIERDESK_CHAT_HEARTBEAT_SECONDS (10 s),
then ends, so a server thread is never held for long; the browser's EventSource reconnects with
Last-Event-ID and the stream resumes after that id (ids come from the database, so nothing is
lost or repeated across reconnects, processes or restarts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tierdesk.accounts.models import Requester
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.core.sessions import session_key
from tierdesk.core.views import agent_required
from tierdesk.selfservice import layer, services
from tierdesk.selfservice.access import access_conversation
from tierdesk.selfservice.choices import Author, ConversationStatus
from tierdesk.selfservice.models import ChatMessage, Conversation

STREAM_SECONDS = 25.0
HEARTBEAT_SECONDS = 10.0
RETRY_MS = 1000  # how soon EventSource reconnects after a stream ends
BATCH = 200

NO_REQUESTER = (
    "Your sign-in is not linked to a requester record, so the chat cannot start. Please call the service desk."
)

View = Callable[..., HttpResponseBase]


def _signed_in(view: View) -> View:
    """JSON endpoints answer 401 rather than redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "Please sign in again."}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def _refused(exc: DomainError) -> JsonResponse:
    return JsonResponse({"title": exc.title, "detail": exc.detail}, status=exc.status_code)


def _conversation(actor: Actor, conversation_id: int) -> Conversation:
    try:
        return access_conversation(actor, conversation_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _requester(actor: Actor) -> Requester | None:
    if actor.user is None or scope_for(actor).requester_id is None:
        return None
    return actor.user.requester_profile


def describe(conversation: Conversation) -> dict[str, Any]:
    """What the widget needs to follow one conversation."""
    pk = conversation.pk
    return {
        "id": pk,
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "events_url": reverse("selfservice:chat_events", args=[pk]),
        "post_url": reverse("selfservice:chat_post", args=[pk]),
        "actions_url": reverse("selfservice:chat_action", args=[pk]),
        "close_url": reverse("selfservice:chat_close", args=[pk]),
    }


# --- the portal widget (and the posts both sides make) ----------------------------------------


@require_POST
@_signed_in
def chat_start(request: HttpRequest) -> HttpResponse:
    """Open the widget: the requester's current chat, or a new one greeted by the virtual agent."""
    actor = Actor.from_request(request)
    requester = _requester(actor)
    if requester is None:
        return JsonResponse({"detail": NO_REQUESTER}, status=403)
    try:
        conversation = services.start_conversation(actor=actor, requester=requester, session_key=session_key(request))
    except DomainError as exc:
        return _refused(exc)
    return JsonResponse(describe(conversation))


@require_POST
@_signed_in
def chat_post(request: HttpRequest, conversation_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    try:
        message = services.post_message(actor=actor, conversation=conversation, body=request.POST.get("body", ""))
    except DomainError as exc:
        return _refused(exc)
    return JsonResponse({"id": message.pk}, status=201)


@require_POST
@_signed_in
def chat_action(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A button of a bot line (the virtual agent decides what it does)."""
    from tierdesk.selfservice import virtual_agent

    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    action = request.POST.get("action", "").strip()
    try:
        payload = json.loads(request.POST.get("payload") or "{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "The button's payload must be a JSON object."}, status=400)
    try:
        virtual_agent.handle_action(actor=actor, conversation=conversation, action=action, payload=payload)
    except DomainError as exc:
        return _refused(exc)
    return JsonResponse(describe(conversation))


@require_POST
@_signed_in
def chat_close(request: HttpRequest, conversation_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    try:
        services.close_conversation(actor=actor, conversation=conversation)
    except DomainError as exc:
        return _refused(exc)
    return JsonResponse(describe(conversation))


# --- the event stream -------------------------------------------------------------------------


def _last_id(request: HttpRequest) -> int:
    """Where to resume: the browser's Last-Event-ID on a reconnect, else `?after=`, else the start."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def _safe_url(value: Any) -> str:
    """Only links into this site: a bot line must never carry a javascript: or foreign link."""
    url = str(value or "")
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else ""


def _who(message: ChatMessage, viewer: Actor, requester_name: str) -> tuple[str, bool]:
    """The author as the viewer reads it, and whether it is the viewer's own line."""
    mine = message.user_id is not None and message.user_id == viewer.user_id
    if mine:
        return "You", True
    if message.author == Author.BOT:
        return "Virtual agent", False
    if message.author == Author.REQUESTER:
        return requester_name, False
    if message.user is not None:
        return message.user.full_name or message.user.email, False
    return "Service desk", False


def render_message(message: ChatMessage, *, viewer: Actor, requester_name: str, interactive: bool) -> str:
    data = message.data if isinstance(message.data, dict) else {}
    articles = [
        {"title": str(a.get("title", "")), "url": _safe_url(a.get("url")), "snippet": str(a.get("snippet", ""))}
        for a in data.get("articles") or []
        if isinstance(a, dict)
    ]
    actions = [
        {
            "label": str(a.get("label", "")),
            "action": str(a.get("action", "")),
            "payload": json.dumps(a.get("payload") or {}),
        }
        for a in data.get("actions") or []
        if isinstance(a, dict) and a.get("action")
    ]
    form = data.get("form") if isinstance(data.get("form"), dict) else None
    form_url = _safe_url(form.get("url")) if form else ""
    who, mine = _who(message, viewer, requester_name)
    return render_to_string(
        "selfservice/partials/message.html",
        {
            "m": message,
            "who": who,
            "mine": mine,
            "articles": articles,
            "actions": actions,
            "form": {"url": form_url, "label": str(form.get("label", "Open the form"))} if form and form_url else None,
            "interactive": interactive,
        },
    )


def _event(kind: str, payload: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(payload)}\n\n"


def _status_payload(status: str) -> dict[str, Any]:
    return {"status": status, "label": str(ConversationStatus(status).label)}


def stream(conversation: Conversation, viewer: Actor, last_id: int, seconds: float, heartbeat: float) -> Iterator[str]:
    """The conversation's lines after `last_id`, then each new one as it is published, for `seconds`."""
    deadline = time.monotonic() + seconds
    is_requester = viewer.user is not None and viewer.user.pk == conversation.requester.user_id
    requester_name = conversation.requester.name
    sent_status = ""
    yield f"retry: {RETRY_MS}\n\n"
    # Listening starts before the first read, so a line committed in between still wakes us.
    with layer.listen(conversation.pk) as listener:
        while True:
            # Lines first, then the status: a status read afterwards is never older than the lines.
            batch = list(ChatMessage.objects.after(conversation.pk, last_id)[:BATCH])
            status = Conversation.objects.status_of(conversation.pk) or ConversationStatus.CLOSED
            for message in batch:
                html = render_message(
                    message,
                    viewer=viewer,
                    requester_name=requester_name,
                    interactive=is_requester and status == ConversationStatus.BOT,
                )
                yield _event("message", {"id": message.pk, "author": message.author, "html": html}, message.pk)
                last_id = message.pk
            if status != sent_status:
                yield _event("status", _status_payload(status))
                sent_status = status
            if len(batch) == BATCH:
                continue
            if status == ConversationStatus.CLOSED:
                if ChatMessage.objects.after(conversation.pk, last_id).exists():
                    continue  # the closing line committed with the status: deliver it first
                yield _event("end", _status_payload(status))
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if not listener.wait(last_id, min(heartbeat, left)):
                yield ": keep-alive\n\n"


@require_GET
@_signed_in
def chat_events(request: HttpRequest, conversation_id: int) -> HttpResponseBase:
    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    seconds = float(getattr(settings, "TIERDESK_CHAT_STREAM_SECONDS", STREAM_SECONDS))
    heartbeat = float(getattr(settings, "TIERDESK_CHAT_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    response = StreamingHttpResponse(
        stream(conversation, actor, _last_id(request), seconds, heartbeat), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy (nginx) must pass each event on at once
    return response


# --- the console ------------------------------------------------------------------------------


@require_GET
@agent_required
def console_queue(request: HttpRequest) -> HttpResponse:
    """Waiting chats the agent may take (longest waiting first) and the agent's live chats."""
    actor = Actor.from_request(request)
    context = {
        "waiting": list(Conversation.objects.waiting_for(actor)),
        "live": list(Conversation.objects.live_with(actor)),
        "nav": "chats",
    }
    if getattr(request, "htmx", False):
        return render(request, "selfservice/partials/queue_list.html", context)
    return render(request, "selfservice/console_queue.html", context)


@require_GET
@agent_required
def console_badge(request: HttpRequest) -> HttpResponse:
    count = Conversation.objects.waiting_for(Actor.from_request(request)).count()
    return render(request, "selfservice/partials/queue_badge.html", {"count": count})


@require_POST
@agent_required
def console_take(request: HttpRequest, conversation_id: int) -> HttpResponseBase:
    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    try:
        services.take_conversation(actor=actor, conversation=conversation)
    except DomainError as exc:
        messages.warning(request, exc.detail)
        return redirect("selfservice:console_queue")
    return redirect("selfservice:console_chat", conversation.pk)


@require_GET
@agent_required
def console_chat(request: HttpRequest, conversation_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    conversation = _conversation(actor, conversation_id)
    return render(
        request,
        "selfservice/console_chat.html",
        {
            "conversation": conversation,
            "chat": describe(conversation),
            "can_write": conversation.status == ConversationStatus.LIVE and conversation.agent_id == actor.user_id,
            "nav": "chats",
        },
    )
