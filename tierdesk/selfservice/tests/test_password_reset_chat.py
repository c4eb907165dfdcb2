"""The chat's password reset form, end to end against a real slapd: the requester posts the form
views with the Django test client, reads the code from the outgoing mail, and then binds to the
directory with the new password. Errors show in the form; nothing secret reaches the chat,
the audit trail or the logs."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tierdesk.accounts.directory import create_directory
from tierdesk.accounts.models import PasswordResetChallenge
from tierdesk.audit.models import AuditEvent
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.notifications.models import OutboxMessage
from tierdesk.selfservice import services
from tierdesk.selfservice.choices import Automation, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.models import ChatMessage, Conversation, Tier0Interaction
from tierdesk.testing.fixtures import World
from tierdesk.testing.slapd import SlapdServer

OLD_PASSWORD = "Old-Winter-Coat-42"
NEW_PASSWORD = "Blue-Kettle-Moon-7319"


@dataclass
class Chat:
    world: World
    slapd: SlapdServer
    dn: str
    conversation: Conversation
    client: Client

    @property
    def start_url(self) -> str:
        return reverse("selfservice:password_reset", args=[self.conversation.pk])

    def code_url(self, challenge_id: int) -> str:
        return reverse("selfservice:password_reset_code", args=[self.conversation.pk, challenge_id])


@pytest.fixture
def chat(world: World, slapd: SlapdServer) -> Chat:
    create_directory(
        actor=Actor(user=world.admin),
        organisation=world.client,
        name="Hospital directory",
        server_url=slapd.url,
        bind_dn=slapd.service_dn,
        bind_password=slapd.service_password,
        base_dn=slapd.base_dn,
    )
    dn = slapd.add_user("rita", mail=world.requester_user.email, password=OLD_PASSWORD, cn="Rita Requester")
    conversation = services.start_conversation(actor=Actor(user=world.requester_user), requester=world.requester)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.requester_user)
    return Chat(world, slapd, dn, conversation, client)


def _csrf(client: Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found is not None
    return found.group(1)


def _send_code(chat: Chat) -> tuple[PasswordResetChallenge, str, str]:
    """Step 1 through the view; returns the challenge, the code from the mail and the CSRF token."""
    token = _csrf(chat.client, chat.start_url)
    page = chat.client.post(chat.start_url, {"csrfmiddlewaretoken": token})
    assert page.status_code == 200
    challenge = PasswordResetChallenge.objects.get(user=chat.world.requester_user, status="pending")
    assert chat.code_url(challenge.pk) in page.content.decode()
    mail = OutboxMessage.objects.get(key=f"password_reset_code:{challenge.pk}")
    assert mail.to_addresses == "rita@hospital.test"
    [code] = set(re.findall(r"\b(\d{6})\b", mail.body_text))
    return challenge, code, token


def _secrets_nowhere(chat: Chat, *secrets: str) -> None:
    lines = list(ChatMessage.objects.filter(conversation=chat.conversation).values_list("body", "data"))
    audit = [json.dumps([e.before, e.after]) for e in AuditEvent.objects.all()]
    for secret in secrets:
        assert not any(secret in body or secret in json.dumps(data) for body, data in lines)
        assert not any(secret in row for row in audit)


def test_the_bot_offers_the_form_and_the_form_explains_where_the_code_goes(chat: Chat) -> None:
    services.post_message(
        actor=Actor(user=chat.world.requester_user), conversation=chat.conversation, body="I forgot my password"
    )
    bot = chat.conversation.messages.filter(author="bot").order_by("-id").first()
    assert bot is not None and bot.data["form"]["url"] == chat.start_url
    page = chat.client.get(chat.start_url).content.decode()
    assert "r***@hospital.test" in page and "rita@hospital.test" not in page
    assert "Send the code" in page


def test_reset_end_to_end_through_the_form_views(chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    challenge, code, token = _send_code(chat)
    url = chat.code_url(challenge.pk)

    # Without the CSRF token the post is refused before anything is checked.
    refused = chat.client.post(url, {"code": code, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert refused.status_code == 403

    page = chat.client.post(
        url,
        {"csrfmiddlewaretoken": token, "code": code, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert page.status_code == 200
    assert "your password has been changed" in page.content.decode()
    assert chat.slapd.can_bind(chat.dn, NEW_PASSWORD)
    assert not chat.slapd.can_bind(chat.dn, OLD_PASSWORD)

    last = chat.conversation.messages.order_by("-id").first()
    assert last is not None and last.author == "bot" and last.body.startswith("Your password has been changed")
    record = Tier0Interaction.objects.get(conversation=chat.conversation)
    assert (record.kind, record.outcome, record.automation) == (
        Tier0Kind.AUTOMATION,
        Tier0Outcome.SELF_SERVICE,
        Automation.PASSWORD_RESET,
    )
    _secrets_nowhere(chat, code, NEW_PASSWORD)
    assert NEW_PASSWORD not in caplog.text and code not in caplog.text
    assert NEW_PASSWORD not in page.content.decode() and code not in page.content.decode()


def test_wrong_code_and_policy_violation_are_shown_in_the_form(chat: Chat) -> None:
    challenge, code, token = _send_code(chat)
    url = chat.code_url(challenge.pk)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    page = chat.client.post(
        url,
        {"csrfmiddlewaretoken": token, "code": wrong, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    ).content.decode()
    assert "That code is not right; 4 tries left." in page
    assert NEW_PASSWORD not in page and wrong not in page  # fields come back empty

    page = chat.client.post(
        url, {"csrfmiddlewaretoken": token, "code": code, "new_password": "short", "new_password_again": "short"}
    ).content.decode()
    assert "does not meet the policy" in page
    assert "Use at least 12 characters" in page
    assert 'autocomplete="new-password"' in page and 'type="password"' in page

    page = chat.client.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "code": code,
            "new_password": NEW_PASSWORD,
            "new_password_again": "Other-7319-x",
        },
    ).content.decode()
    assert "The two passwords are not the same." in page

    assert chat.slapd.can_bind(chat.dn, OLD_PASSWORD)
    assert not Tier0Interaction.objects.filter(conversation=chat.conversation).exists()
    _secrets_nowhere(chat, code, wrong, NEW_PASSWORD, "short")


def test_only_the_conversations_own_requester_uses_the_form(chat: Chat) -> None:
    colleague = Client()
    colleague.force_login(chat.world.manager_user)
    assert colleague.get(chat.start_url).status_code == 404
    assert colleague.post(chat.start_url).status_code == 404
    agent = Client()
    agent.force_login(chat.world.agent)
    assert agent.get(chat.start_url).status_code == 404
    anonymous = Client()
    assert anonymous.get(chat.start_url).status_code == 302
    assert not PasswordResetChallenge.objects.exists()


def test_no_directory_account_offers_a_person(world: World, slapd: SlapdServer) -> None:
    # No directory configured for the Hospital: the form says so and offers a person.
    conversation = services.start_conversation(actor=Actor(user=world.requester_user), requester=world.requester)
    client = Client()
    client.force_login(world.requester_user)
    url = reverse("selfservice:password_reset", args=[conversation.pk])
    page = client.post(url).content.decode()
    assert "No directory account" in page and "Talk to a person" in page
    done = client.post(reverse("selfservice:password_reset_person", args=[conversation.pk]))
    assert done.status_code == 200
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING and conversation.ticket is not None


def test_expired_locked_and_rate_limited_are_said_in_the_form(chat: Chat) -> None:
    challenge, code, token = _send_code(chat)
    url = chat.code_url(challenge.pk)
    later = clock.now() + timedelta(minutes=11)
    with clock.frozen(later):
        page = chat.client.post(
            url,
            {
                "csrfmiddlewaretoken": token,
                "code": code,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        ).content.decode()
    assert "This code has expired; ask for a new one." in page and "Send the code" in page

    challenge, code, token = _send_code(chat)
    url = chat.code_url(challenge.pk)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    posted = {
        "csrfmiddlewaretoken": token,
        "code": wrong,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    for _ in range(4):
        chat.client.post(url, posted)
    page = chat.client.post(url, posted).content.decode()
    assert "5 wrong codes: this password reset is locked. Ask for a new code." in page and "Send the code" in page

    # The third code this hour was the last one: a fourth request is refused in the form.
    _send_code(chat)
    page = chat.client.post(chat.start_url, {"csrfmiddlewaretoken": token}).content.decode()
    assert "You asked for 3 password resets in the last hour" in page
    assert chat.slapd.can_bind(chat.dn, OLD_PASSWORD)
