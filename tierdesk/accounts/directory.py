"""A client's LDAP directory: configuring the connection, finding a person, changing a password.

OpenLDAP changes a password with the RFC 3062 Password Modify extended operation (the server
hashes it by its own `password-hash`); Active Directory by replacing `unicodePwd`, which it
accepts only over TLS. The service account's password is stored encrypted (core.secrets) and
never leaves this module: not into the audit trail, logs or error messages, and neither do the
passwords being set.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap3
from django.db import transaction
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from tierdesk.accounts.models import DirectoryConnection
from tierdesk.audit.services import record_event
from tierdesk.core import secrets
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.tenancy.models import Organisation

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds: a requester waits in the chat while we talk to the directory
RECEIVE_TIMEOUT = 10
PLACEHOLDERS = ("{email}", "{username}")


class NoDirectoryAccount(DomainError):
    status_code = 404
    title = "No directory account"


class DirectoryUnavailable(DomainError):
    status_code = 503
    title = "Directory unavailable"


class DirectoryRefused(DomainError):
    """The directory answered but would not do it (e.g. its own password policy)."""

    title = "Directory refused"


@dataclass(frozen=True)
class DirectoryAccount:
    dn: str


# --- configuration -----------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_connection_settings(*, server_url: str, start_tls: bool, kind: str, user_filter: str) -> None:
    """Refuse settings that would send passwords in clear text or cannot find one person."""
    parts = urlsplit(server_url.strip())
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise DomainError("The server URL must look like ldaps://host:636 or ldap://host:389.")
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError as exc:
        raise DomainError("The server URL's port is not a number.") from exc
    encrypted = parts.scheme == "ldaps" or start_tls
    if not encrypted and not is_loopback(parts.hostname):
        # The service account's password and the new password would cross the network in clear text.
        raise DomainError(
            f"Plain ldap:// is allowed only to this machine, not to {parts.hostname}: use ldaps or STARTTLS."
        )
    if kind == DirectoryConnection.Kind.ACTIVE_DIRECTORY and not encrypted:
        raise DomainError("Active Directory changes passwords only over TLS: use ldaps:// or STARTTLS.")
    if kind not in DirectoryConnection.Kind.values:
        raise DomainError(f"Unknown directory kind {kind!r}.")
    check_filter_template(user_filter)


def check_filter_template(template: str) -> None:
    if not any(placeholder in template for placeholder in PLACEHOLDERS):
        raise DomainError("The user filter must contain {email} or {username}.")
    rest = template
    for placeholder in PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if "{" in rest or "}" in rest:
        raise DomainError("The user filter may contain only the placeholders {email} and {username}.")
    if not (template.startswith("(") and template.endswith(")")) or not _balanced(template):
        raise DomainError("The user filter must be one LDAP filter in parentheses, e.g. (mail={email}).")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def user_filter_for(directory: DirectoryConnection, *, email: str) -> str:
    """The directory's filter with the user's address filled in, escaped (RFC 4515): an address
    like `*)(uid=*` matches itself literally, never everyone."""
    username = email.split("@", 1)[0]
    return directory.user_filter.replace("{email}", escape_filter_chars(email)).replace(
        "{username}", escape_filter_chars(username)
    )


def _require_admin(actor: Actor, organisation: Organisation) -> None:
    user = actor.user
    if user is None:
        return  # an operator's command
    if (
        not user.is_agent_side
        or user.organisation_id != organisation.root_provider_id
        or not (user.is_staff or user.role == "admin")
    ):
        raise PermissionDenied("Only the provider's admins may configure a client's directory.")


@transaction.atomic
def create_directory(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    server_url: str,
    bind_dn: str,
    bind_password: str,
    base_dn: str,
    start_tls: bool = False,
    user_filter: str = "(mail={email})",
    kind: str = DirectoryConnection.Kind.OPENLDAP,
    is_enabled: bool = True,
) -> DirectoryConnection:
    _require_admin(actor, organisation)
    server_url, user_filter = server_url.strip(), user_filter.strip()
    check_connection_settings(server_url=server_url, start_tls=start_tls, kind=kind, user_filter=user_filter)
    if not bind_dn.strip() or not base_dn.strip():
        raise DomainError("A directory needs the service account's DN and a base DN.")
    if is_enabled and DirectoryConnection.objects.filter(organisation=organisation, is_enabled=True).exists():
        raise DomainError(f"{organisation.name} already has an enabled directory; disable it first.")
    directory = DirectoryConnection(
        organisation=organisation,
        name=name.strip() or server_url,
        server_url=server_url,
        start_tls=start_tls,
        bind_dn=bind_dn.strip(),
        bind_password_encrypted=secrets.encrypt(bind_password),
        base_dn=base_dn.strip(),
        user_filter=user_filter,
        kind=kind,
        is_enabled=is_enabled,
    )
    check_lengths(directory)
    directory.save(force_insert=True)
    record_event(
        actor=actor,
        action="directory.created",
        obj=directory,
        organisation_id=organisation.pk,
        after={
            "name": directory.name,
            "server_url": server_url,
            "start_tls": start_tls,
            "bind_dn": directory.bind_dn,
            "base_dn": directory.base_dn,
            "user_filter": user_filter,
            "kind": kind,
            "is_enabled": is_enabled,
        },
    )
    return directory


@transaction.atomic
def set_directory_password(*, actor: Actor, directory: DirectoryConnection, password: str) -> DirectoryConnection:
    """Store a new service-account password, encrypted; the audit trail records that it changed, never the value."""
    _require_admin(actor, directory.organisation)
    encrypted = secrets.encrypt(password)
    DirectoryConnection.objects.filter(pk=directory.pk).update(bind_password_encrypted=encrypted)
    directory.bind_password_encrypted = encrypted
    record_event(
        actor=actor,
        action="directory.password_changed",
        obj=directory,
        organisation_id=directory.organisation_id,
        after={},
    )
    return directory


# --- talking to the directory ------------------------------------------------------------------


@contextlib.contextmanager
def service_connection(directory: DirectoryConnection) -> Iterator[ldap3.Connection]:
    """A connection bound as the service account; DirectoryUnavailable when that is impossible."""
    parts = urlsplit(directory.server_url)
    host = parts.hostname or ""
    check_connection_settings(
        server_url=directory.server_url,
        start_tls=directory.start_tls,
        kind=directory.kind,
        user_filter=directory.user_filter,
    )
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED)
    server = ldap3.Server(
        host,
        port=parts.port,
        use_ssl=parts.scheme == "ldaps",
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=CONNECT_TIMEOUT,
    )
    connection = ldap3.Connection(
        server,
        user=directory.bind_dn,
        password=secrets.decrypt(directory.bind_password_encrypted),
        auto_bind=ldap3.AUTO_BIND_NONE,
        receive_timeout=RECEIVE_TIMEOUT,
        raise_exceptions=False,
    )
    try:
        try:
            connection.open()
            if directory.start_tls and not connection.start_tls():
                raise DirectoryUnavailable(_unavailable(directory, "STARTTLS failed"))
            if not connection.bind():
                logger.warning(
                    "directory %s refused the service account: %s", directory.pk, connection.result.get("description")
                )
                raise DirectoryUnavailable(_unavailable(directory, "it refused the service account"))
        except LDAPException as exc:
            logger.warning("directory %s unreachable: %s", directory.pk, type(exc).__name__)
            raise DirectoryUnavailable(_unavailable(directory, "it does not answer")) from exc
        yield connection
    finally:
        with contextlib.suppress(LDAPException):  # already gone: nothing to release
            connection.unbind()


def _unavailable(directory: DirectoryConnection, why: str) -> str:
    return f"The directory {directory.name} cannot be used right now ({why}). Please try again later."


def find_account(directory: DirectoryConnection, *, email: str) -> DirectoryAccount:
    """The one entry the directory's filter finds for this address."""
    with service_connection(directory) as connection:
        return _find(connection, directory, email=email)


def _find(connection: ldap3.Connection, directory: DirectoryConnection, *, email: str) -> DirectoryAccount:
    try:
        connection.search(
            directory.base_dn,
            user_filter_for(directory, email=email),
            search_scope=ldap3.SUBTREE,
            attributes=[],
            size_limit=2,  # one is an answer; two are a question we cannot settle for the requester
        )
    except LDAPException as exc:
        logger.warning("directory %s search failed: %s", directory.pk, type(exc).__name__)
        raise DirectoryUnavailable(_unavailable(directory, "the search failed")) from exc
    found = [item["dn"] for item in connection.response or [] if item.get("type") == "searchResEntry"]
    if not found:
        raise NoDirectoryAccount("No directory account is linked to you, so the password cannot be reset here.")
    if len(found) > 1:
        logger.warning("directory %s: more than one entry matches user %s's address", directory.pk, email)
        raise NoDirectoryAccount(
            "More than one directory account matches your e-mail address; the service desk has to reset it."
        )
    return DirectoryAccount(dn=str(found[0]))


def change_password(directory: DirectoryConnection, *, email: str, new_password: str) -> DirectoryAccount:
    """Find the user's entry again (it may have moved since the code was sent) and set its password."""
    with service_connection(directory) as connection:
        account = _find(connection, directory, email=email)
        try:
            if directory.kind == DirectoryConnection.Kind.ACTIVE_DIRECTORY:
                done = connection.extend.microsoft.modify_password(account.dn, new_password)
            else:
                done = connection.extend.standard.modify_password(user=account.dn, new_password=new_password)
        except LDAPException as exc:
            logger.warning("directory %s password change failed: %s", directory.pk, type(exc).__name__)
            raise DirectoryUnavailable(_unavailable(directory, "the change did not go through")) from exc
        if not done:
            said = _safe_message(connection.result)
            logger.warning("directory %s refused a password change for %s: %s", directory.pk, account.dn, said)
            raise DirectoryRefused(f"The directory refused the new password ({said}).")
        return account


def _safe_message(result: dict[str, object] | None) -> str:
    # The server's words about why (e.g. its own password policy); one short line.
    result = result or {}
    text = str(result.get("message") or result.get("description") or "no reason given")
    return re.sub(r"\s+", " ", text).strip()[:200]
