"""Tier 0 password reset end to end against a real slapd: the code comes from the outbound e-mail,
and the proof is a fresh bind to the directory with the new password."""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404

from tierdesk.accounts import password_reset as reset
from tierdesk.accounts.directory import create_directory
from tierdesk.accounts.models import DirectoryConnection, PasswordResetChallenge, User
from tierdesk.audit.models import AuditEvent
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.notifications.models import OutboxMessage
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World
from tierdesk.testing.slapd import SlapdServer, free_port

OLD_PASSWORD = "Old-Winter-Coat-42"
NEW_PASSWORD = "Blue-Kettle-Moon-7319"
IP = "198.51.100.7"

Status = PasswordResetChallenge.Status


@dataclass
class Setup:
    world: World
    slapd: SlapdServer
    directory: DirectoryConnection
    user: User
    dn: str
    actor: Actor


@pytest.fixture
def setup(world: World, slapd: SlapdServer) -> Setup:
    directory = create_directory(
        actor=Actor(user=world.admin),
        organisation=world.client,
        name="Hospital directory",
        server_url=slapd.url,
        bind_dn=slapd.service_dn,
        bind_password=slapd.service_password,
        base_dn=slapd.base_dn,
    )
    dn = slapd.add_user("rita", mail=world.requester_user.email, password=OLD_PASSWORD, cn="Rita Requester")
    actor = Actor(user=world.requester_user, ip=IP, via="web")
    return Setup(world, slapd, directory, world.requester_user, dn, actor)


def code_of(challenge: PasswordResetChallenge) -> str:
    mail = OutboxMessage.objects.get(key=f"password_reset_code:{challenge.pk}")
    found = re.findall(r"\b(\d{6})\b", mail.body_text)
    assert len(set(found)) == 1, mail.body_text
    return found[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def login(user: User, ip: str = IP) -> Actor:
    return Actor(user=user, ip=ip, via="web")


def new_requester(world: World, slapd: SlapdServer, name: str) -> User:
    requester = f.RequesterFactory.create(organisation=world.client, name=name, email=f"{name}@hospital.test")
    slapd.add_user(name, mail=requester.email, password=OLD_PASSWORD)
    return f.requester_login(requester)


# --- end to end ------------------------------------------------------------------------------------


def test_a_requester_resets_their_directory_password_with_the_code_from_their_mail(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)

    assert challenge.status == Status.PENDING and challenge.organisation_id == setup.world.client.pk
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=10)
    mail = OutboxMessage.objects.get(key=f"password_reset_code:{challenge.pk}")
    assert mail.to_addresses == "rita@hospital.test" and mail.cc_addresses == ""
    assert mail.subject == "Your password reset code for Hospital directory"
    code = code_of(challenge)
    assert code in mail.body_html
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64

    reset.complete_password_reset(
        actor=setup.actor,
        challenge=reset.access_challenge(setup.actor, challenge.pk),
        code=code,
        new_password=NEW_PASSWORD,
    )

    challenge.refresh_from_db()
    assert challenge.status == Status.COMPLETED and challenge.completed_at is not None
    # A fresh bind, as the person logging in tomorrow: the new password works, the old one no longer.
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)
    assert not setup.slapd.can_bind(setup.dn, OLD_PASSWORD)
    assert setup.slapd.user_password(setup.dn).startswith(b"{SSHA}")

    events = list(
        AuditEvent.objects.filter(object_type="accounts.passwordresetchallenge", object_id=str(challenge.pk))
        .order_by("seq")
        .values("action", "actor_id", "organisation_id", "ip", "before", "after")
    )
    assert [event["action"] for event in events] == ["password_reset.requested", "password_reset.completed"]
    assert {(event["actor_id"], event["organisation_id"], event["ip"]) for event in events} == {
        (setup.user.pk, setup.world.client.pk, IP)
    }
    assert events[0]["after"]["code_sent_to"] == "r***@hospital.test"
    assert events[1]["after"]["account_dn"] == setup.dn
    written = json.dumps(events) + caplog.text
    for secret in (code, NEW_PASSWORD, OLD_PASSWORD, setup.slapd.service_password):
        assert secret not in written


def test_a_code_is_good_for_one_change(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)
    reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=NEW_PASSWORD)

    with pytest.raises(DomainError, match="already used"):
        reset.complete_password_reset(
            actor=setup.actor, challenge=challenge, code=code, new_password="Another-Good-Phrase-88"
        )
    with pytest.raises(Http404):
        reset.access_challenge(setup.actor, challenge.pk)
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)


def test_a_submission_while_the_directory_is_being_changed_is_refused(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    # What a second submission of the same code meets while the first one talks to the directory.
    PasswordResetChallenge.objects.filter(pk=challenge.pk).update(status=Status.CHANGING)

    with pytest.raises(DomainError, match="being changed right now"):
        reset.complete_password_reset(
            actor=setup.actor, challenge=challenge, code=code_of(challenge), new_password=NEW_PASSWORD
        )
    assert setup.slapd.can_bind(setup.dn, OLD_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_two_submissions_of_one_code_at_once_change_the_password_once(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)
    passwords = ["Blue-Kettle-Moon-7319", "Green-Ferry-Lamp-2846"]
    start = threading.Barrier(len(passwords))
    outcomes: dict[str, str] = {}

    def submit(password: str) -> None:
        try:
            start.wait(timeout=10)
            reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=password)
            outcomes[password] = "changed"
        except DomainError as exc:
            outcomes[password] = exc.detail
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(password,)) for password in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [password for password, outcome in outcomes.items() if outcome == "changed"]
    assert len(winners) == 1, outcomes
    (loser,) = set(passwords) - set(winners)
    assert "being changed right now" in outcomes[loser] or "already used" in outcomes[loser], outcomes
    assert setup.slapd.can_bind(setup.dn, winners[0]) and not setup.slapd.can_bind(setup.dn, loser)
    assert AuditEvent.objects.filter(action="password_reset.completed").count() == 1


# --- wrong and expired codes -------------------------------------------------------------------------


def test_a_wrong_code_says_how_many_tries_are_left_and_is_counted(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)

    with pytest.raises(reset.WrongCode, match="4 tries left") as caught:
        reset.complete_password_reset(
            actor=setup.actor, challenge=challenge, code=wrong(code), new_password=NEW_PASSWORD
        )

    assert caught.value.attempts_left == 4
    assert code not in caught.value.detail and NEW_PASSWORD not in caught.value.detail
    challenge.refresh_from_db()
    assert challenge.attempts == 1 and challenge.status == Status.PENDING
    # The right code still works, spaces and all.
    reset.complete_password_reset(
        actor=setup.actor, challenge=challenge, code=f" {code[:3]} {code[3:]} ", new_password=NEW_PASSWORD
    )
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)


def test_the_fifth_wrong_code_locks_the_reset(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)
    for left in (4, 3, 2, 1):
        with pytest.raises(reset.WrongCode) as caught:
            reset.complete_password_reset(
                actor=setup.actor, challenge=challenge, code=wrong(code), new_password=NEW_PASSWORD
            )
        assert caught.value.attempts_left == left

    with pytest.raises(reset.ChallengeLocked, match="locked"):
        reset.complete_password_reset(actor=setup.actor, challenge=challenge, code="000000", new_password=NEW_PASSWORD)
    # Locked means locked: not even the right code opens it now.
    with pytest.raises(reset.ChallengeLocked):
        reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=NEW_PASSWORD)

    challenge.refresh_from_db()
    assert challenge.status == Status.LOCKED and challenge.attempts == 5
    assert AuditEvent.objects.filter(action="password_reset.locked", object_id=str(challenge.pk)).count() == 1
    with pytest.raises(Http404):
        reset.access_challenge(setup.actor, challenge.pk)
    assert setup.slapd.can_bind(setup.dn, OLD_PASSWORD)


def test_an_expired_code_is_refused(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)

    with clock.frozen(challenge.expires_at + timedelta(seconds=1)), pytest.raises(reset.CodeExpired, match="expired"):
        reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=NEW_PASSWORD)

    challenge.refresh_from_db()
    assert challenge.status == Status.EXPIRED
    assert setup.slapd.can_bind(setup.dn, OLD_PASSWORD)


def test_a_newer_code_replaces_the_older_one(setup: Setup) -> None:
    first = reset.start_password_reset(actor=setup.actor, user=setup.user)
    second = reset.start_password_reset(actor=setup.actor, user=setup.user)

    with pytest.raises(reset.CodeExpired, match="replaced by a newer one"):
        reset.complete_password_reset(
            actor=setup.actor, challenge=first, code=code_of(first), new_password=NEW_PASSWORD
        )
    reset.complete_password_reset(actor=setup.actor, challenge=second, code=code_of(second), new_password=NEW_PASSWORD)
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)


# --- the policy --------------------------------------------------------------------------------------


def test_a_password_against_the_policy_is_refused_without_using_up_the_code(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)

    with pytest.raises(reset.PasswordPolicyViolation) as caught:
        reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password="rita2024")

    assert caught.value.problems == [
        "Use at least 12 characters (this one has 8).",
        "Mix at least three of: lower-case letters, upper-case letters, digits and symbols.",
        "It must not contain your user name, e-mail address or name.",
    ]
    challenge.refresh_from_db()
    assert challenge.status == Status.PENDING and challenge.attempts == 0
    assert setup.slapd.can_bind(setup.dn, OLD_PASSWORD)
    reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=NEW_PASSWORD)
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt-Pass!", "Use at least 12 characters (this one has 11)."),
        ("all lower case words here", "Mix at least three of"),
        ("ALLUPPERCASE123", "Mix at least three of"),
        ("Rita-Secure-Phrase-9", "must not contain your user name"),  # the e-mail's local part, any case
        ("Xx-rita@hospital.test-9", "must not contain your user name"),
        ("Requester-Blue-Lamp-9", "must not contain your user name"),  # a word of the full name
        ("Password2024!", "one of the most common passwords"),
        ("!!Qwertyuiop99", "one of the most common passwords"),
        ("123456789012!", "Mix at least three of"),
        ("x" * 120 + "Aa1!" * 3, "Use at most 128 characters."),
    ],
)
def test_each_policy_rule(world: World, password: str, problem: str) -> None:
    problems = reset.password_policy_problems(password, user=world.requester_user)
    assert any(problem in text for text in problems), problems


@pytest.mark.parametrize(
    "password", [NEW_PASSWORD, "correct horse Battery staple", "Zürich-Tram-Linie-11", "tr0ub4dor&3xyz"]
)
def test_good_passwords_pass_the_policy(world: World, password: str) -> None:
    assert reset.password_policy_problems(password, user=world.requester_user) == []


# --- rate limits -------------------------------------------------------------------------------------


def test_at_most_three_resets_per_person_and_hour(setup: Setup) -> None:
    start = clock.now()
    for minutes in (0, 10, 20):
        with clock.frozen(start + timedelta(minutes=minutes)):
            reset.start_password_reset(actor=setup.actor, user=setup.user)

    with clock.frozen(start + timedelta(minutes=30)), pytest.raises(reset.ResetRateLimited) as caught:
        reset.start_password_reset(actor=login(setup.user, "203.0.113.9"), user=setup.user)

    assert caught.value.detail == "You asked for 3 password resets in the last hour; try again in 30 minutes."
    assert caught.value.status_code == 429
    assert PasswordResetChallenge.objects.filter(user=setup.user).count() == 3
    assert OutboxMessage.objects.filter(purpose="password_reset_code").count() == 3
    with clock.frozen(start + timedelta(minutes=60, seconds=1)):
        reset.start_password_reset(actor=setup.actor, user=setup.user)


def test_at_most_ten_resets_per_source_address_and_hour(setup: Setup) -> None:
    people = [setup.user] + [new_requester(setup.world, setup.slapd, name) for name in ("sam", "tia", "uma")]
    start = clock.now()
    for number in range(10):
        with clock.frozen(start + timedelta(minutes=number)):
            person = people[number // 3]
            reset.start_password_reset(actor=login(person), user=person)

    with clock.frozen(start + timedelta(minutes=15)), pytest.raises(reset.ResetRateLimited, match="network address"):
        reset.start_password_reset(actor=login(people[3]), user=people[3])

    # The limit is the address's, not the person's: from elsewhere they may go on.
    with clock.frozen(start + timedelta(minutes=15)):
        reset.start_password_reset(actor=login(people[3], "203.0.113.9"), user=people[3])


# --- who may do what -------------------------------------------------------------------------------


def test_nobody_else_can_see_or_use_a_reset(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)
    colleague = f.requester_login(setup.world.colleague)
    strangers = [colleague, setup.world.other_requester_user, setup.world.agent, setup.world.admin]

    for stranger in strangers:
        with pytest.raises(Http404):
            reset.access_challenge(login(stranger), challenge.pk)
        with pytest.raises(NotFound):
            reset.complete_password_reset(
                actor=login(stranger), challenge=challenge, code=code, new_password=NEW_PASSWORD
            )
    with pytest.raises(Http404):
        reset.access_challenge(Actor.system(), challenge.pk)
    with pytest.raises(PermissionDenied):
        reset.start_password_reset(actor=login(colleague), user=setup.user)
    assert reset.access_challenge(setup.actor, challenge.pk) == challenge
    assert setup.slapd.can_bind(setup.dn, OLD_PASSWORD)


def test_without_a_directory_entry_or_a_directory_there_is_no_reset(setup: Setup) -> None:
    colleague = f.requester_login(setup.world.colleague)  # not in the directory
    with pytest.raises(reset.NoDirectoryAccount, match="No directory account is linked to you"):
        reset.start_password_reset(actor=login(colleague), user=colleague)

    banker = setup.world.other_requester_user  # the bank has no directory
    with pytest.raises(reset.NoDirectoryAccount):
        reset.start_password_reset(actor=login(banker), user=banker)
    assert not PasswordResetChallenge.objects.exists() and not OutboxMessage.objects.exists()


# --- the directory down ----------------------------------------------------------------------------


def test_an_unreachable_directory_leaves_the_code_usable(setup: Setup) -> None:
    challenge = reset.start_password_reset(actor=setup.actor, user=setup.user)
    code = code_of(challenge)
    working_url = setup.directory.server_url
    DirectoryConnection.objects.filter(pk=setup.directory.pk).update(server_url=f"ldap://127.0.0.1:{free_port()}")

    with pytest.raises(reset.DirectoryUnavailable, match="cannot be used right now") as caught:
        reset.complete_password_reset(actor=setup.actor, challenge=challenge, code=code, new_password=NEW_PASSWORD)

    assert caught.value.status_code == 503 and NEW_PASSWORD not in caught.value.detail
    challenge.refresh_from_db()
    assert challenge.status == Status.PENDING and challenge.attempts == 0
    assert not AuditEvent.objects.filter(action="password_reset.completed").exists()

    DirectoryConnection.objects.filter(pk=setup.directory.pk).update(server_url=working_url)
    reset.complete_password_reset(
        actor=setup.actor,
        challenge=reset.access_challenge(setup.actor, challenge.pk),
        code=code,
        new_password=NEW_PASSWORD,
    )
    assert setup.slapd.can_bind(setup.dn, NEW_PASSWORD)


def test_an_unreachable_directory_sends_no_code(setup: Setup) -> None:
    DirectoryConnection.objects.filter(pk=setup.directory.pk).update(server_url=f"ldap://127.0.0.1:{free_port()}")

    with pytest.raises(reset.DirectoryUnavailable):
        reset.start_password_reset(actor=setup.actor, user=setup.user)
    assert not PasswordResetChallenge.objects.exists() and not OutboxMessage.objects.exists()


def test_the_address_is_masked_for_the_chat() -> None:
    assert reset.mask_address("john@example.org") == "j***@example.org"
    assert reset.mask_address(" a@b.example ") == "a***@b.example"
    assert reset.mask_address("not-an-address") == "***"
