"""The chat's password reset form (htmx partials loaded inside the widget) and the console's
approvals page.

The password reset is a form, not chat lines, so the code and the passwords never become
messages: step 1 says where the code goes and sends it, step 2 takes the code and the new
password twice, and only "Your password has been changed" reaches the chat. Only the
conversation's own requester may use it; every post is CSRF-protected.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tierdesk.accounts import password_reset as reset
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.core.views import agent_required
from tierdesk.selfservice import catalogue, virtual_agent
from tierdesk.selfservice.choices import ApprovalStatus, ConversationStatus
from tierdesk.selfservice.forms import ApprovalDecisionForm, PasswordResetCodeForm
from tierdesk.selfservice.models import Conversation

SECRET_FIELDS = ("code", "new_password", "new_password_again")
DECIDED_SHOWN_DAYS = 30
PAGE_SIZE = 50


def _own_conversation(request: HttpRequest, conversation_id: int) -> tuple[Actor, Conversation]:
    """The signed-in requester's own open conversation; anyone else's does not exist."""
    from tierdesk.selfservice.access import access_conversation

    actor = Actor.from_request(request)
    try:
        conversation = access_conversation(actor, conversation_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    user = request.user
    if (
        not user.is_authenticated
        or conversation.requester.user_id != user.pk
        or conversation.status == ConversationStatus.CLOSED
    ):
        raise Http404("No such conversation.")
    return actor, conversation


def _start_page(
    request: HttpRequest, conversation: Conversation, *, error: str = "", offer_person: bool = False
) -> HttpResponse:
    return render(
        request,
        "selfservice/forms/password_reset_start.html",
        {
            "conversation": conversation,
            "address": reset.mask_address(request.user.email),  # type: ignore[union-attr]
            "error": error,
            "offer_person": offer_person,
        },
    )


def _code_page(
    request: HttpRequest,
    conversation: Conversation,
    challenge_id: int,
    *,
    form: PasswordResetCodeForm | None = None,
    error: str = "",
    problems: list[str] | None = None,
    offer_person: bool = False,
) -> HttpResponse:
    return render(
        request,
        "selfservice/forms/password_reset_code.html",
        {
            "conversation": conversation,
            "challenge_id": challenge_id,
            # Shown again with empty fields: a code or password never travels back to the page.
            "form": PasswordResetCodeForm() if form is None else form,
            "error": error,
            "problems": problems or [],
            "offer_person": offer_person,
            "address": reset.mask_address(request.user.email),  # type: ignore[union-attr]
        },
    )


@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest, conversation_id: int) -> HttpResponseBase:
    """Step 1: where the code goes, and the button that sends it."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    actor, conversation = _own_conversation(request, conversation_id)
    if request.method == "GET":
        return _start_page(request, conversation)
    try:
        challenge = reset.start_password_reset(actor=actor, user=request.user)
    except (reset.NoDirectoryAccount, reset.DirectoryUnavailable) as exc:
        return _start_page(request, conversation, error=exc.detail, offer_person=True)
    except DomainError as exc:  # rate limited, a change under way, not allowed
        return _start_page(request, conversation, error=exc.detail)
    return _code_page(request, conversation, challenge.pk)


@sensitive_post_parameters(*SECRET_FIELDS)
@require_POST
def password_reset_code(request: HttpRequest, conversation_id: int, challenge_id: int) -> HttpResponseBase:
    """Step 2: the code and the new password; errors are shown in the form."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    actor, conversation = _own_conversation(request, conversation_id)
    try:
        challenge = reset.access_challenge(actor, challenge_id)
    except (Http404, NotFound):
        return _start_page(request, conversation, error="That code is no longer valid; ask for a new one.")
    form = PasswordResetCodeForm(request.POST)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _code_page(request, conversation, challenge.pk, error="Please check the form.", problems=problems)
    try:
        reset.complete_password_reset(
            actor=actor,
            challenge=challenge,
            code=form.cleaned_data["code"],
            new_password=form.cleaned_data["new_password"],
        )
    except reset.PasswordPolicyViolation as exc:
        return _code_page(
            request,
            conversation,
            challenge.pk,
            error="The new password does not meet the policy:",
            problems=exc.problems,
        )
    except reset.WrongCode as exc:
        return _code_page(request, conversation, challenge.pk, error=exc.detail)
    except (reset.CodeExpired, reset.ChallengeLocked) as exc:
        return _start_page(request, conversation, error=exc.detail)
    except (reset.NoDirectoryAccount, reset.DirectoryUnavailable) as exc:
        return _code_page(request, conversation, challenge.pk, error=exc.detail, offer_person=True)
    except DomainError as exc:
        return _code_page(request, conversation, challenge.pk, error=exc.detail)
    virtual_agent.password_changed(actor=actor, conversation=conversation)
    return render(request, "selfservice/forms/password_reset_done.html", {"conversation": conversation})


@require_POST
def password_reset_person(request: HttpRequest, conversation_id: int) -> HttpResponseBase:
    """The reset cannot be done here (no directory account, directory down): a person takes over."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    actor, conversation = _own_conversation(request, conversation_id)
    try:
        virtual_agent.handle_action(actor=actor, conversation=conversation, action="person")
    except DomainError as exc:
        return _start_page(request, conversation, error=exc.detail)
    return render(request, "selfservice/forms/password_reset_done.html", {"conversation": conversation, "handed": True})


# --- approvals (console) ------------------------------------------------------------------------


@agent_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    """Requests waiting for a group the agent is in, and what those groups decided lately."""
    actor = Actor.from_request(request)
    mine = catalogue.approvals_for(actor)
    pending = list(mine.filter(status=ApprovalStatus.PENDING).order_by("created_at", "id"))
    since = clock.now() - timedelta(days=DECIDED_SHOWN_DAYS)
    decided_qs = (
        mine.exclude(status=ApprovalStatus.PENDING).filter(decided_at__gte=since).order_by("-decided_at", "-id")
    )
    decided = Paginator(decided_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"nav": "approvals", "pending": pending, "decided": decided}
    return render(request, "selfservice/approvals.html", context)


@agent_required
@require_POST
def decide(request: HttpRequest, approval_id: int) -> HttpResponseBase:
    actor = Actor.from_request(request)
    try:
        approval = catalogue.access_approval(actor, approval_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    form = ApprovalDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect("selfservice:approvals")
    try:
        decided = catalogue.decide_approval(
            actor=actor, approval=approval, approve=form.approve, comment=form.cleaned_data["comment"]
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("selfservice:approvals")
    verb = "approved" if decided.status == ApprovalStatus.APPROVED else "rejected"
    messages.success(request, f"{decided.ticket.number} {verb}.")
    return redirect("selfservice:approvals")
