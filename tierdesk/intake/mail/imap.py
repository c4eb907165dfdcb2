"""Polling IMAP mailboxes: every message taken in exactly once, whoever else reads the mailbox.

What marks a message as taken is a keyword of ours (TierdeskProcessed), not \\Seen, so a person
reading the shared mailbox hides nothing from the desk. A message is marked only after intake
committed it: a poller killed in between fetches it again next time, intake finds its record
(a duplicate: nothing changes) and the message is marked then. That is what makes it exactly once.

A lease on the mailbox row (a conditional UPDATE, no transaction held across the network) keeps
two workers from polling one mailbox at once. A message that cannot be fetched or marked is
logged and left for the next poll; it never stops the messages behind it. When the database
cannot be reached the poll stops at once and marks nothing more.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import Q
from imapclient import DELETED, SEEN, IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from tierdesk.core import clock, secrets
from tierdesk.core.errors import DomainError
from tierdesk.intake.mail.services import Receipt, receive_email
from tierdesk.intake.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)

KEYWORD = "TierdeskProcessed"
FETCH_BATCH = 20  # messages per FETCH
FETCH_BYTES = 25 * 1024 * 1024  # and at most about this much mail in memory at once
LEASE = timedelta(minutes=5)  # renewed while the poll runs; a killed worker's lease lapses after this
TIMEOUT = SocketTimeout(connect=20, read=120)
Outcome = InboundEmail.Outcome


@dataclass
class PollResult:
    mailbox_id: int
    address: str = ""
    fetched: int = 0
    opened: int = 0
    appended: int = 0
    quarantined: int = 0
    ignored: int = 0
    duplicates: int = 0  # taken in before (a poller stopped before marking them); marked now
    errors: int = 0  # messages that could not be fetched, taken in or marked: left for the next poll
    skipped: str = ""  # why the mailbox was not polled at all
    error: str = ""  # what stopped the poll (connection, login, database)

    def __str__(self) -> str:
        name = self.address or f"mailbox {self.mailbox_id}"
        if self.skipped:
            return f"{name}: not polled: {self.skipped}"
        text = (
            f"{name}: fetched {self.fetched} (opened {self.opened}, appended {self.appended}, "
            f"quarantined {self.quarantined}, ignored {self.ignored}, duplicates {self.duplicates}), "
            f"errors {self.errors}"
        )
        return f"{text}; stopped: {self.error}" if self.error else text

    def count(self, receipt: Receipt) -> None:
        if receipt.duplicate:
            self.duplicates += 1
            return
        field = {
            Outcome.TICKET_OPENED: "opened",
            Outcome.APPENDED: "appended",
            Outcome.QUARANTINED: "quarantined",
            Outcome.IGNORED: "ignored",
        }[Outcome(receipt.record.outcome)]
        setattr(self, field, getattr(self, field) + 1)

    def last_error(self) -> str:
        if self.error:
            return self.error
        if self.errors:
            return f"{self.errors} message(s) could not be fetched, taken in or marked; they stay for the next poll"
        return ""


class _Stop(Exception):
    """The poll cannot go on; what was committed and marked stays, the rest waits for the next poll."""


class _Lease:
    """This worker's claim on the mailbox; its expiry doubles as the token that proves it is ours."""

    def __init__(self, mailbox_id: int, now: datetime) -> None:
        self.mailbox_id = mailbox_id
        self.now = now
        self.started = self.renewed = time.monotonic()
        self.until = now + LEASE

    def take(self) -> bool:
        free = Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=self.now)
        mine = Mailbox.objects.filter(free, pk=self.mailbox_id, kind=Mailbox.Kind.IMAP, is_active=True)
        return mine.update(poll_lease_until=self.until) == 1

    def renew(self) -> None:
        if time.monotonic() - self.renewed < LEASE.total_seconds() / 3:
            return
        until = self.now + timedelta(seconds=time.monotonic() - self.started) + LEASE
        if not Mailbox.objects.filter(pk=self.mailbox_id, poll_lease_until=self.until).update(poll_lease_until=until):
            raise _Stop("the lease lapsed and another worker took the mailbox over")
        self.until, self.renewed = until, time.monotonic()

    def release(self, result: PollResult) -> None:
        try:
            Mailbox.objects.filter(pk=self.mailbox_id, poll_lease_until=self.until).update(
                poll_lease_until=None, last_polled_at=self.now, last_error=result.last_error()[:4000]
            )
        except DatabaseError as exc:  # the lease lapses by itself
            logger.warning("could not release the poll lease of mailbox %s: %s", self.mailbox_id, exc)


# --- entry points ------------------------------------------------------------------------------


def poll_due_mailboxes() -> list[PollResult]:
    """Poll every active IMAP mailbox that no other worker is polling. Never raises for one mailbox."""
    ids = list(
        Mailbox.objects.filter(kind=Mailbox.Kind.IMAP, is_active=True).order_by("pk").values_list("pk", flat=True)
    )
    results: list[PollResult] = []
    for mailbox_id in ids:
        try:
            results.append(poll_mailbox(mailbox_id))
        except Exception as exc:  # the database, most likely: the next round tries again
            logger.exception("polling IMAP mailbox %s failed", mailbox_id)
            results.append(PollResult(mailbox_id=mailbox_id, error=f"{type(exc).__name__}: {exc}"))
    return results


def poll_mailbox(mailbox_id: int, *, limit: int | None = None, now: datetime | None = None) -> PollResult:
    """Take in the mailbox's new messages, oldest first, at most `limit` of them."""
    result = PollResult(mailbox_id=mailbox_id)
    lease = _Lease(mailbox_id, now or clock.now())
    if not lease.take():
        result.skipped = "another worker is polling it, or it is no active IMAP mailbox"
        return result
    try:
        mailbox = Mailbox.objects.select_related("organisation").get(pk=mailbox_id)
        result.address = mailbox.address
        _poll(mailbox, lease, result, limit)
    except _Stop as stop:
        result.error = str(stop)
        logger.warning("IMAP poll of %s stopped: %s", result.address, stop)
    except (IMAPClientError, OSError, DomainError) as exc:  # connection, TLS, login, folder, stored password
        result.error = f"{type(exc).__name__}: {exc}"
        logger.warning("IMAP poll of %s failed: %s", result.address, result.error)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        logger.exception("IMAP poll of %s failed", result.address or mailbox_id)
    finally:
        lease.release(result)
    if result.fetched or result.errors:
        logger.info("%s", result)
    return result


# --- one poll ----------------------------------------------------------------------------------


def _poll(mailbox: Mailbox, lease: _Lease, result: PollResult, limit: int | None) -> None:
    password = secrets.decrypt(mailbox.imap_password_encrypted)
    with _connect(mailbox) as client:
        client.login(mailbox.imap_username, password)
        selected = client.select_folder(mailbox.imap_folder)
        keeps_keyword = _keeps_keyword(selected)
        target = ""
        if mailbox.after_processing == Mailbox.AfterProcessing.MOVE:
            target = _server_folder(client, mailbox.processed_folder)
            _ensure_folder(client, target)
            _move_leftovers(client, target)
        elif not keeps_keyword:
            raise _Stop(
                f"the server keeps no keywords of ours in {mailbox.imap_folder} (PERMANENTFLAGS lacks \\*): "
                "set the mailbox to move processed mail to a folder"
            )
        uids = sorted(client.search(["UNKEYWORD", KEYWORD, "UNDELETED"]))
        if limit is not None:
            uids = uids[: max(limit, 0)]
        for batch in _batches(client, uids):
            lease.renew()
            bodies = _fetch(client, batch, result)
            for uid in batch:
                raw = bodies.get(uid)
                if raw is None:
                    continue
                lease.renew()  # a database write only every LEASE / 3
                result.fetched += 1
                receipt = _take_in(raw, mailbox, uid, result)
                if receipt is None:
                    continue
                result.count(receipt)
                _mark(client, uid, target=target, keyword=keeps_keyword, result=result)


def _connect(mailbox: Mailbox) -> IMAPClient:
    security = mailbox.imap_security
    if security == Mailbox.Security.NONE and not _is_loopback(mailbox.imap_host):
        # The password would cross the network in clear text.
        raise _Stop(f"IMAP without TLS is allowed only to this machine, not to {mailbox.imap_host}")
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=security == Mailbox.Security.SSL,
        ssl_context=context,
        timeout=TIMEOUT,
    )
    if security == Mailbox.Security.STARTTLS:
        try:
            client.starttls(context)
        except Exception:
            client.shutdown()
            raise
    return client


def _take_in(raw: bytes, mailbox: Mailbox, uid: int, result: PollResult) -> Receipt | None:
    try:
        return receive_email(raw=raw, mailbox=mailbox, source=InboundEmail.Source.IMAP)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable: mark nothing more; every message stays for the next poll.
        raise _Stop(f"database unavailable: {exc}") from exc
    except Exception:
        # Not this message's content (intake quarantines that): left unmarked for the next poll.
        logger.exception("IMAP message %s of %s could not be taken in", uid, mailbox.address)
        result.errors += 1
        return None


def _mark(client: IMAPClient, uid: int, *, target: str, keyword: bool, result: PollResult) -> None:
    """Mark a committed message as taken; a failure leaves it to be fetched again (a duplicate then)."""
    try:
        if target:
            if keyword:
                client.add_flags([uid], [KEYWORD], silent=True)
            _move(client, [uid], target)
        else:
            client.add_flags([uid], [SEEN, KEYWORD], silent=True)
    except IMAPClientAbortError:
        raise  # the connection is gone
    except IMAPClientError as exc:
        logger.warning("IMAP message %s taken in but not marked: %s", uid, exc)
        result.errors += 1


def _move(client: IMAPClient, uids: list[int], target: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, target)
        return
    client.copy(uids, target)
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()  # without UIDPLUS there is no narrower expunge


def _move_leftovers(client: IMAPClient, target: str) -> None:
    """Messages marked but not moved (a poller stopped in between) go where they belong."""
    leftovers = client.search(["KEYWORD", KEYWORD, "UNDELETED"])
    if leftovers:
        logger.info("moving %d processed message(s) left behind to %s", len(leftovers), target)
        _move(client, sorted(leftovers), target)


# --- fetching ----------------------------------------------------------------------------------


def _batches(client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
    """Groups of at most FETCH_BATCH messages and about FETCH_BYTES (a big message goes alone)."""
    for start in range(0, len(uids), FETCH_BATCH):
        chunk = uids[start : start + FETCH_BATCH]
        try:
            fetched = client.fetch(chunk, ["RFC822.SIZE"])
            sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in fetched.items()}
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            sizes = {}
        batch: list[int] = []
        total = 0
        for uid in chunk:
            size = sizes.get(uid, 0)
            if batch and total + size > FETCH_BYTES:
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch


def _fetch(client: IMAPClient, uids: list[int], result: PollResult) -> dict[int, bytes]:
    # PEEK: fetching must not set \Seen; only a committed message is marked.
    try:
        response = client.fetch(uids, ["BODY.PEEK[]"])
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        if len(uids) == 1:
            logger.warning("IMAP message %s could not be fetched: %s", uids[0], exc)
            result.errors += 1
            return {}
        bodies: dict[int, bytes] = {}
        for uid in uids:  # one of them is at fault: the others still come
            bodies.update(_fetch(client, [uid], result))
        return bodies
    bodies = {}
    for uid in uids:
        data = response.get(uid)
        if data is None:
            logger.info("IMAP message %s was removed by someone else before it was fetched", uid)
            continue
        body = data.get(b"BODY[]")
        if body is None:
            logger.warning("IMAP message %s came without its content", uid)
            result.errors += 1
            continue
        bodies[uid] = bytes(body)
    return bodies


# --- the server's ways -------------------------------------------------------------------------


def _keeps_keyword(selected: dict[bytes, object]) -> bool:
    """Whether the folder stores keywords of ours (RFC 3501: no PERMANENTFLAGS means all flags stick)."""
    permanent = selected.get(b"PERMANENTFLAGS")
    if not isinstance(permanent, tuple | list):
        return True
    return b"\\*" in permanent or KEYWORD.encode() in permanent


def _server_folder(client: IMAPClient, name: str) -> str:
    """The processed folder as this server spells it: "/" in the setting becomes the server's
    hierarchy delimiter (Dovecot's Maildir uses "."), and a personal namespace prefix such as
    "INBOX." is added where the server needs one."""
    prefix, delimiter = "", "/"
    try:
        personal = client.namespace().personal if client.has_capability("NAMESPACE") else None
        if personal:
            prefix, delimiter = personal[0][0] or "", personal[0][1] or ""
        else:
            listed = client.list_folders("", "INBOX")
            delimiter = listed[0][1] if listed else "/"
    except IMAPClientAbortError:
        raise
    except IMAPClientError:
        pass  # no way to ask: take the name as it is written
    if isinstance(delimiter, bytes):
        delimiter = delimiter.decode()
    if delimiter and delimiter != "/":
        name = name.replace("/", delimiter)
    if prefix and name.upper() != "INBOX" and not name.startswith(prefix):
        name = prefix + name
    return name


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientAbortError:
        raise
    except IMAPClientError:
        if not client.folder_exists(folder):  # else another poller created it meanwhile
            raise
    try:
        client.subscribe_folder(folder)  # so that mail clients show it
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        logger.info("could not subscribe to %s: %s", folder, exc)


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
