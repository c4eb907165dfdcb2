"""Tier 0 self-service password reset against the requester's own organisation's directory.

The signed-in requester asks; a six-digit code goes to their registered e-mail address (never to
an address typed in a chat); within ten minutes and five tries they give it back with a new
password that meets the policy, and the directory's entry for them gets it. Every step is audited
without the code or a password; requests are limited per person and per source address.

The directory is changed outside any database transaction (no row lock held across network I/O):
the challenge is first claimed by a conditional update (pending -> changing), so two submissions of
one code cannot both reach the directory; the change then completes it, or a failure to reach the
directory hands it back (changing -> pending) so the requester can try again with the same code.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import secrets
from datetime import datetime, timedelta
from email.utils import formataddr
from hashlib import sha256
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.template import Context, Engine, Template, loader

from tierdesk.accounts import directory as ldap
from tierdesk.accounts.directory import DirectoryUnavailable, NoDirectoryAccount
from tierdesk.accounts.models import DirectoryConnection, PasswordResetChallenge, User
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.notifications import outbox

__all__ = [
    "ChallengeLocked",
    "CodeExpired",
    "DirectoryUnavailable",
    "NoDirectoryAccount",
    "PasswordPolicyViolation",
    "ResetRateLimited",
    "WrongCode",
    "access_challenge",
    "complete_password_reset",
    "mask_address",
    "password_policy_problems",
    "start_password_reset",
]

logger = logging.getLogger(__name__)

Status = PasswordResetChallenge.Status

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RATE_WINDOW = timedelta(hours=1)
PER_USER_PER_HOUR = 3
PER_IP_PER_HOUR = 10
MIN_LENGTH = 12
MAX_LENGTH = 128
MAIL_PURPOSE = "password_reset_code"

# The most used passwords (from the published breach top lists), compared after lower-casing and
# dropping the digits and symbols people add at the end ("Password2024!" is "password").
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssword",
        "p@ssw0rd",
        "qwerty",
        "qwertyuiop",
        "qwertz",
        "azerty",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "iloveyou",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "superman",
        "starwars",
        "trustno",
        "master",
        "changeme",
        "secret",
        "abc",
        "abcdef",
        "abcdefgh",
        "abcdefghijkl",
        "login",
        "summer",
        "winter",
        "spring",
        "autumn",
        "",  # nothing but digits and symbols: "123456789012", "!!!!1111????"
    }
)


# --- errors ------------------------------------------------------------------------------------


class ResetRateLimited(DomainError):
    status_code = 429
    title = "Too many password resets"

    def __init__(self, detail: str, retry_at: datetime) -> None:
        super().__init__(detail)
        self.retry_at = retry_at

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil((self.retry_at - clock.now()).total_seconds()))


class CodeExpired(DomainError):
    title = "Code expired"


class WrongCode(DomainError):
    title = "Wrong code"

    def __init__(self, detail: str, attempts_left: int) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left


class ChallengeLocked(DomainError):
    status_code = 423
    title = "Password reset locked"


class PasswordPolicyViolation(DomainError):
    title = "Password does not meet the policy"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The new password does not meet the policy: " + " ".join(problems))
        self.problems = list(problems)


# --- reading -----------------------------------------------------------------------------------


def access_challenge(actor: Actor, challenge_id: int) -> PasswordResetChallenge:
    """The actor's own pending challenge; anyone else's, or one that is over, does not exist."""
    user = actor.user
    if user is None:
        raise Http404("No such password reset.")
    challenge = (
        PasswordResetChallenge.objects.select_related("user", "directory")
        .filter(organisation_id=user.organisation_id, user_id=user.pk, pk=challenge_id, status=Status.PENDING)
        .first()
    )
    if challenge is None:
        raise Http404("No such password reset.")
    return challenge


def mask_address(email: str) -> str:
    """Enough of an address to recognise it in a chat, not enough to learn it: j***@example.org."""
    local, at, domain = email.strip().partition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


# --- the policy --------------------------------------------------------------------------------


def password_policy_problems(password: str, *, user: User) -> list[str]:
    """What is wrong with this password for this person; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (this one has {len(password)}).")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    classes = [
        any(char.islower() for char in password),
        any(char.isupper() for char in password),
        any(char.isdigit() for char in password),
        any(not char.isalnum() for char in password),
    ]
    if sum(classes) < 3:
        problems.append("Mix at least three of: lower-case letters, upper-case letters, digits and symbols.")
    lowered = password.lower()
    if any(part in lowered for part in _personal_parts(user)):
        problems.append("It must not contain your user name, e-mail address or name.")
    if _core_word(lowered) in COMMON_PASSWORDS:
        problems.append("It is one of the most common passwords; choose something less guessable.")
    return problems


def _personal_parts(user: User) -> set[str]:
    """The e-mail address, its local part, and the words of the local part and the name
    (four letters or more: "al" in a password is no giveaway)."""
    email = user.email.lower().strip()
    local = email.split("@", 1)[0]
    parts = {email}
    if len(local) >= 3:
        parts.add(local)
    words = re.split(r"[^\w]+|_", f"{local} {user.full_name.lower()}")
    parts.update(word for word in words if len(word) >= 4)
    return parts


def _core_word(lowered: str) -> str:
    """A password without the digits and symbols around it: "!!password2024!" is "password"."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)


# --- asking for a code -------------------------------------------------------------------------


def start_password_reset(*, actor: Actor, user: User) -> PasswordResetChallenge:
    """Mail a one-time code to the user's registered address, if their directory knows them."""
    if actor.user is None or actor.user.pk != user.pk or not user.is_active:
        raise PermissionDenied("You can reset only your own password, signed in.")
    directory = _directory_of(user)
    _check_limits(user, actor.ip)
    # Outside any transaction: the directory may take seconds to answer.
    ldap.find_account(directory, email=user.email)
    with transaction.atomic():
        # One request at a time per person, so two at once cannot both slip under the limit.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        _check_limits(user, actor.ip)
        now = clock.now()
        earlier = PasswordResetChallenge.objects.filter(
            organisation_id=user.organisation_id, user=user, status__in=[Status.PENDING, Status.CHANGING]
        )
        if earlier.filter(status=Status.CHANGING, expires_at__gt=now).exists():
            raise DomainError("Your password is being changed right now; wait a moment before asking again.")
        # The new code replaces older ones (and a stale "changing" one, left by a process that died).
        earlier.update(status=Status.EXPIRED, updated_at=now)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        challenge = PasswordResetChallenge.objects.create(
            organisation_id=user.organisation_id,
            user=user,
            directory=directory,
            code_hash=_code_hash(user, code),
            created_at=now,
            updated_at=now,
            expires_at=now + CODE_LIFETIME,
            ip=actor.ip,
        )
        _queue_code_mail(challenge, user, directory, code)
        record_event(
            actor=actor,
            action="password_reset.requested",
            obj=challenge,
            organisation_id=user.organisation_id,
            after={
                "user_id": user.pk,
                "directory_id": directory.pk,
                "directory": directory.name,
                "code_sent_to": mask_address(user.email),
                "expires_at": challenge.expires_at,
            },
        )
    logger.info("password reset %s requested by user %s", challenge.pk, user.pk)
    return challenge


def _directory_of(user: User) -> DirectoryConnection:
    directory = DirectoryConnection.objects.filter(organisation_id=user.organisation_id, is_enabled=True).first()
    if directory is None:
        raise NoDirectoryAccount(
            "No directory account is linked to you: your organisation's passwords are not managed here."
        )
    return directory


def _check_limits(user: User, ip: str | None) -> None:
    since = clock.now() - RATE_WINDOW
    recent = PasswordResetChallenge.objects.filter(created_at__gt=since)
    mine = recent.filter(organisation_id=user.organisation_id, user=user).order_by("created_at")
    if mine.count() >= PER_USER_PER_HOUR:
        retry_at = _first_created(mine) + RATE_WINDOW
        raise ResetRateLimited(
            f"You asked for {PER_USER_PER_HOUR} password resets in the last hour; "
            f"try again in {_minutes_until(retry_at)}.",
            retry_at,
        )
    if ip:
        from_ip = recent.filter(ip=ip).order_by("created_at")
        if from_ip.count() >= PER_IP_PER_HOUR:
            retry_at = _first_created(from_ip) + RATE_WINDOW
            raise ResetRateLimited(
                f"Too many password resets were asked for from your network address in the last hour; "
                f"try again in {_minutes_until(retry_at)}.",
                retry_at,
            )


def _first_created(challenges: Any) -> datetime:
    first: datetime = challenges.values_list("created_at", flat=True).first()
    return first


def _minutes_until(at: datetime) -> str:
    minutes = max(1, math.ceil((at - clock.now()).total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _code_hash(user: User, code: str) -> str:
    # Keyed: without SECRET_KEY the million possible codes cannot be tried against a dumped hash.
    key = f"tierdesk.password_reset:{settings.SECRET_KEY}".encode()
    return hmac.new(key, f"{user.pk}:{code}".encode(), sha256).hexdigest()


# The built-in wording only (no admin-edited templates): the code is all this mail is for.
_ENGINE = Engine(libraries={}, string_if_invalid="")


def _render(name: str, context: dict[str, Any], *, autoescape: bool) -> str:
    source = str(loader.get_template(f"notifications/email/{name}").template.source)  # type: ignore[attr-defined]
    return Template(source, engine=_ENGINE).render(Context(context, autoescape=autoescape))


def _queue_code_mail(challenge: PasswordResetChallenge, user: User, directory: DirectoryConnection, code: str) -> None:
    organisation = user.organisation
    context = {
        "code": code,
        "minutes": int(CODE_LIFETIME.total_seconds() // 60),
        "person": {"name": user.full_name, "first_name": (user.full_name.split() or [""])[0]},
        "directory": {"name": directory.name},
        "organisation": {"name": organisation.name},
        "requested_at": challenge.created_at,
    }
    outbox.queue_email(
        organisation_id=user.organisation_id,
        key=f"{MAIL_PURPOSE}:{challenge.pk}",
        purpose=MAIL_PURPOSE,
        to=[user.email],  # the registered address only: never one typed in a chat
        from_address=_sender(user),
        subject=" ".join(_render(f"{MAIL_PURPOSE}.subject.txt", context, autoescape=False).split())[:250],
        body=_render(f"{MAIL_PURPOSE}.txt", context, autoescape=False),
        body_html=_render(f"{MAIL_PURPOSE}.html", context, autoescape=True),
        message_id=f"<password-reset.{challenge.pk}.{secrets.token_hex(6)}@{settings.MESSAGE_ID_DOMAIN}>",
    )


def _sender(user: User) -> str:
    organisation = user.organisation
    for owner in (organisation, organisation.provider):
        if owner is not None and owner.support_email:
            return formataddr((" ".join(owner.name.split()), owner.support_email.strip()))
    return str(settings.DEFAULT_FROM_EMAIL)


# --- giving the code back ----------------------------------------------------------------------


def complete_password_reset(*, actor: Actor, challenge: PasswordResetChallenge, code: str, new_password: str) -> None:
    """Check the code and the policy, then set the new password in the directory."""
    if actor.user is None or challenge.user_id != actor.user.pk:
        raise NotFound("No such password reset.")
    refusal = _claim(actor, challenge.pk, code, new_password)
    if refusal is not None:
        raise refusal  # raised after commit: a wrong try is counted even though the call fails
    claimed = PasswordResetChallenge.objects.select_related("user", "directory").get(pk=challenge.pk)
    try:
        account = ldap.change_password(claimed.directory, email=claimed.user.email, new_password=new_password)
    except ldap.DirectoryRefused as exc:
        _hand_back(claimed)
        raise PasswordPolicyViolation([exc.detail]) from None
    except BaseException:
        _hand_back(claimed)  # unreachable, or no longer there: the same code may be used again
        raise
    with transaction.atomic():
        now = clock.now()
        PasswordResetChallenge.objects.filter(pk=claimed.pk, status=Status.CHANGING).update(
            status=Status.COMPLETED, completed_at=now, updated_at=now
        )
        record_event(
            actor=actor,
            action="password_reset.completed",
            obj=claimed,
            organisation_id=claimed.organisation_id,
            after={
                "user_id": claimed.user_id,
                "directory_id": claimed.directory_id,
                "directory": claimed.directory.name,
                "account_dn": account.dn,
                "attempts": claimed.attempts,
            },
        )
    logger.info("password reset %s completed for user %s", claimed.pk, claimed.user_id)


def _claim(actor: Actor, challenge_id: int, code: str, new_password: str) -> DomainError | None:
    """Under the row lock: check state, expiry and code, then the policy, and take the challenge
    (pending -> changing). Returns the refusal instead of raising it, so that what was counted
    (a wrong try, a lock, an expiry) is committed."""
    with transaction.atomic():
        row = PasswordResetChallenge.objects.select_for_update().filter(pk=challenge_id).first()
        if row is None:
            return NotFound("No such password reset.")
        over = _over(row)
        if over is not None:
            return over
        now = clock.now()
        if row.expires_at <= now:
            _set_status(row, Status.EXPIRED, now)
            return CodeExpired("This code has expired; ask for a new one.")
        typed = re.sub(r"\s+", "", code)
        if not hmac.compare_digest(_code_hash(row.user, typed), row.code_hash):
            return _wrong(actor, row, now)
        problems = password_policy_problems(new_password, user=row.user)
        if problems:
            return PasswordPolicyViolation(problems)  # the code stays good and no try is counted
        taken = PasswordResetChallenge.objects.filter(pk=row.pk, status=Status.PENDING).update(
            status=Status.CHANGING, updated_at=now
        )
        if not taken:
            return DomainError("This code was just used by another submission.")
    return None


def _over(row: PasswordResetChallenge) -> DomainError | None:
    if row.status == Status.COMPLETED:
        return DomainError("This code was already used; ask for a new one to change the password again.")
    if row.status == Status.LOCKED:
        return ChallengeLocked("This password reset is locked after too many wrong codes; ask for a new code.")
    if row.status == Status.EXPIRED:
        return CodeExpired("This code has expired or was replaced by a newer one; ask for a new one.")
    if row.status == Status.CHANGING:
        return DomainError("Your password is being changed right now; wait a moment.")
    return None


def _wrong(actor: Actor, row: PasswordResetChallenge, now: datetime) -> DomainError:
    # Counted in the database, not in Python: two wrong tries at once are two tries.
    PasswordResetChallenge.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, updated_at=now)
    row.refresh_from_db(fields=["attempts"])
    left = MAX_ATTEMPTS - row.attempts
    if left > 0:
        return WrongCode(f"That code is not right; {left} {'try' if left == 1 else 'tries'} left.", left)
    _set_status(row, Status.LOCKED, now)
    record_event(
        actor=actor,
        action="password_reset.locked",
        obj=row,
        organisation_id=row.organisation_id,
        after={"user_id": row.user_id, "attempts": row.attempts},
    )
    logger.warning("password reset %s locked after %d wrong codes", row.pk, row.attempts)
    return ChallengeLocked(f"{MAX_ATTEMPTS} wrong codes: this password reset is locked. Ask for a new code.")


def _set_status(row: PasswordResetChallenge, status: str, now: datetime) -> None:
    PasswordResetChallenge.objects.filter(pk=row.pk).update(status=status, updated_at=now)
    row.status = status


def _hand_back(row: PasswordResetChallenge) -> None:
    with transaction.atomic():
        PasswordResetChallenge.objects.filter(pk=row.pk, status=Status.CHANGING).update(
            status=Status.PENDING, updated_at=clock.now()
        )
