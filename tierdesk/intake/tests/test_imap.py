"""IMAP polling against a real Dovecot: every message taken in exactly once, killed pollers included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tierdesk.core import clock
from tierdesk.intake import tasks
from tierdesk.intake.mail import imap
from tierdesk.intake.mail.services import receive_email
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.testing.dovecot import Dovecot
from tierdesk.testing.fixtures import World
from tierdesk.testing.mail import desk_mailbox, raw_email
from tierdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome
KEYWORD = imap.KEYWORD.encode()
SEEN = b"\\Seen"


def imap_mailbox(world: World, dovecot: Dovecot, **kwargs: object) -> Mailbox:
    world.client.email_domain = "hospital.test"
    world.client.save()
    fields: dict[str, object] = {
        "kind": Mailbox.Kind.IMAP,
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": Mailbox.Security.NONE,
        "imap_username": dovecot.user,
        "imap_password": dovecot.password,
    }
    fields.update(kwargs)
    return desk_mailbox(world.provider, **fields)


@pytest.fixture
def mailbox(world: World, dovecot: Dovecot) -> Mailbox:
    return imap_mailbox(world, dovecot)


def test_new_messages_become_tickets_and_are_marked_processed(dovecot: Dovecot, mailbox: Mailbox) -> None:
    for subject in ("Printer jammed", "VPN drops every hour", "New starter needs a laptop"):
        dovecot.append(raw_email(subject=subject))

    result = imap.poll_mailbox(mailbox.pk)

    assert (result.fetched, result.opened, result.errors, result.error) == (3, 3, 0, "")
    assert sorted(Ticket.objects.values_list("title", flat=True)) == [
        "New starter needs a laptop",
        "Printer jammed",
        "VPN drops every hour",
    ]
    assert set(InboundEmail.objects.values_list("source", "outcome")) == {("imap", Outcome.TICKET_OPENED)}
    assert all(flags >= {KEYWORD, SEEN} for flags in dovecot.flags().values())
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None and mailbox.last_error == "" and mailbox.poll_lease_until is None

    again = imap.poll_mailbox(mailbox.pk)
    assert (again.fetched, again.duplicates) == (0, 0) and Ticket.objects.count() == 3


def test_move_mode_moves_them_to_the_processed_folder(world: World, dovecot: Dovecot) -> None:
    mailbox = imap_mailbox(world, dovecot, after_processing=Mailbox.AfterProcessing.MOVE)
    dovecot.append(raw_email(subject="Printer jammed"))
    dovecot.append(raw_email(subject="VPN drops every hour"))

    result = imap.poll_mailbox(mailbox.pk)

    assert (result.fetched, result.opened, result.errors) == (2, 2, 0)
    assert dovecot.flags("INBOX") == {}
    # "Tierdesk/Processed" in Dovecot's spelling: its Maildir separates folders with ".".
    moved = dovecot.flags("Tierdesk.Processed")
    assert len(moved) == 2 and all(KEYWORD in flags for flags in moved.values())
    assert imap.poll_mailbox(mailbox.pk).fetched == 0


def test_a_server_without_move_gets_copy_delete_and_expunge(
    world: World, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = imap_mailbox(world, dovecot, after_processing=Mailbox.AfterProcessing.MOVE)
    dovecot.append(raw_email(subject="Printer jammed"))
    has_capability = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability", lambda self, name: name != "MOVE" and has_capability(self, name))

    result = imap.poll_mailbox(mailbox.pk)

    assert (result.opened, result.errors) == (1, 0)
    assert dovecot.flags("INBOX") == {}
    assert [KEYWORD in flags for flags in dovecot.flags("Tierdesk.Processed").values()] == [True]


def test_a_message_a_person_already_read_is_still_taken(dovecot: Dovecot, mailbox: Mailbox) -> None:
    dovecot.append(raw_email(subject="Read by the team lead"), flags=(SEEN,))

    result = imap.poll_mailbox(mailbox.pk)

    assert result.opened == 1 and Ticket.objects.get().title == "Read by the team lead"
    assert list(dovecot.flags().values()) == [{SEEN, KEYWORD}]


def test_a_broken_message_between_two_good_ones_blocks_nothing(dovecot: Dovecot, mailbox: Mailbox) -> None:
    dovecot.append(raw_email(subject="First good one"))
    dovecot.append(
        b"Subject: =?utf-8?b?not base64 at all\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n"
        b"--\r\n\xff\xfe\xfa half a message without a sender\r\n"
    )
    dovecot.append(raw_email(subject="Second good one"))

    result = imap.poll_mailbox(mailbox.pk)

    assert (result.fetched, result.opened, result.quarantined, result.errors) == (3, 2, 1, 0)
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First good one", "Second good one"]
    broken = InboundEmail.objects.quarantined().get()
    assert b"half a message" in bytes(broken.raw)
    assert all(KEYWORD in flags for flags in dovecot.flags().values())


def test_a_message_committed_but_not_marked_is_marked_without_a_second_ticket(
    dovecot: Dovecot, mailbox: Mailbox
) -> None:
    raw = raw_email(subject="Taken in just before the poller died")
    dovecot.append(raw)
    dovecot.append(raw_email(subject="Still new"))
    # As if a poller committed the first message and was killed before it could mark it.
    receive_email(raw=raw, mailbox=mailbox, source=InboundEmail.Source.IMAP)
    assert all(KEYWORD not in flags for flags in dovecot.flags().values())

    result = imap.poll_mailbox(mailbox.pk)

    assert (result.fetched, result.duplicates, result.opened) == (2, 1, 1)
    assert Ticket.objects.count() == 2 and InboundEmail.objects.count() == 2
    assert all(KEYWORD in flags for flags in dovecot.flags().values())


def test_a_message_that_cannot_be_marked_is_marked_by_the_next_poll(
    dovecot: Dovecot, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        dovecot.append(raw_email(subject=f"Request {n}"))
    add_flags = IMAPClient.add_flags
    calls: list[object] = []

    def refuse_the_first(self: IMAPClient, messages: object, flags: object, silent: bool = False) -> object:
        calls.append(messages)
        if len(calls) == 1:
            raise IMAPClientError("STORE failed: [SERVERBUG] simulated")
        return add_flags(self, messages, flags, silent=silent)

    monkeypatch.setattr(IMAPClient, "add_flags", refuse_the_first)
    first = imap.poll_mailbox(mailbox.pk)
    monkeypatch.undo()
    second = imap.poll_mailbox(mailbox.pk)

    assert (first.fetched, first.opened, first.errors) == (3, 3, 1)
    assert (second.fetched, second.duplicates, second.opened) == (1, 1, 0)
    assert Ticket.objects.count() == 3
    assert all(KEYWORD in flags for flags in dovecot.flags().values())
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""  # the second poll went cleanly


def test_when_the_database_is_unreachable_nothing_is_marked(
    dovecot: Dovecot, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(raw_email(subject="Printer jammed"))
    dovecot.append(raw_email(subject="VPN drops"))

    def unreachable(**kwargs: object) -> None:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(imap, "receive_email", unreachable)
    result = imap.poll_mailbox(mailbox.pk)

    assert result.fetched == 1 and "database unavailable" in result.error
    # Fetched with BODY.PEEK[]: not even \Seen, so the next poll takes both.
    assert list(dovecot.flags().values()) == [set(), set()]
    mailbox.refresh_from_db()
    assert "database unavailable" in mailbox.last_error and mailbox.poll_lease_until is None
    monkeypatch.undo()
    assert imap.poll_mailbox(mailbox.pk).opened == 2


def test_limit_takes_the_oldest_first(dovecot: Dovecot, mailbox: Mailbox) -> None:
    for n in range(1, 6):
        dovecot.append(raw_email(subject=f"Request {n}"))

    assert imap.poll_mailbox(mailbox.pk, limit=2).opened == 2
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["Request 1", "Request 2"]
    assert imap.poll_mailbox(mailbox.pk).opened == 3


def test_a_mailbox_another_worker_holds_is_left_alone_until_its_lease_lapses(
    dovecot: Dovecot, mailbox: Mailbox
) -> None:
    dovecot.append(raw_email())
    held_until = clock.now() + timedelta(minutes=5)
    Mailbox.objects.filter(pk=mailbox.pk).update(poll_lease_until=held_until)

    busy = imap.poll_mailbox(mailbox.pk)
    assert busy.skipped and busy.fetched == 0 and Ticket.objects.count() == 0
    mailbox.refresh_from_db()
    assert mailbox.poll_lease_until == held_until and mailbox.last_polled_at is None

    later = imap.poll_mailbox(mailbox.pk, now=held_until + timedelta(seconds=1))
    assert later.opened == 1
    mailbox.refresh_from_db()
    assert mailbox.poll_lease_until is None and mailbox.last_polled_at == held_until + timedelta(seconds=1)


def test_login_and_connection_errors_are_recorded_and_never_raised(world: World, dovecot: Dovecot) -> None:
    # The good one first: Dovecot makes the next login from an address that failed one wait seconds.
    good = imap_mailbox(world, dovecot, address="support@northwind.test")
    wrong = imap_mailbox(world, dovecot, address="wrong@northwind.test", imap_password="not-the-password")
    gone = imap_mailbox(world, dovecot, address="gone@northwind.test", imap_port=closed_port())
    dovecot.append(raw_email())

    results = {result.mailbox_id: result for result in imap.poll_due_mailboxes()}

    assert set(results) == {wrong.pk, gone.pk, good.pk}
    assert results[good.pk].opened == 1
    for broken in (wrong, gone):
        broken.refresh_from_db()
        assert results[broken.pk].error and broken.last_error == results[broken.pk].error
        assert broken.last_polled_at is not None and broken.poll_lease_until is None
    assert "LoginError" in wrong.last_error
    assert "ConnectionRefused" in gone.last_error


def test_plain_imap_is_refused_to_another_host(world: World, dovecot: Dovecot) -> None:
    mailbox = imap_mailbox(world, dovecot, imap_host="mail.example.test")

    result = imap.poll_mailbox(mailbox.pk)

    assert "without TLS" in result.error


def test_the_periodic_task_polls_active_imap_mailboxes_only(world: World, dovecot: Dovecot) -> None:
    from tierdesk.config.celery import app

    assert app.conf.beat_schedule["poll-mailboxes"] == {"task": "tierdesk.intake.poll_mailboxes", "schedule": 60.0}
    paused = imap_mailbox(world, dovecot, address="paused@northwind.test")
    Mailbox.objects.filter(pk=paused.pk).update(is_active=False)
    desk_mailbox(world.provider, address="direct@northwind.test")
    active = imap_mailbox(world, dovecot)
    dovecot.append(raw_email())

    tasks.poll_mailboxes.apply()

    assert InboundEmail.objects.get().mailbox_id == active.pk
    assert Mailbox.objects.filter(last_polled_at__isnull=False).get() == active


# --- the poller killed mid-batch, as a separate process ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_mid_batch_loses_nothing_and_doubles_nothing(
    world: World, dovecot: Dovecot, tmp_path: Path
) -> None:
    total = 60
    mailbox = imap_mailbox(world, dovecot)
    with dovecot.connect() as client:
        for n in range(total):
            client.append("INBOX", raw_email(subject=f"Request {n:02d}", message_id=f"<kill-{n}@mail.hospital.test>"))

    for kill_at in (total // 3, 2 * total // 3):
        poller, log = start_poller(mailbox, tmp_path / f"killed-at-{kill_at}.log")
        deadline = time.monotonic() + 180
        while InboundEmail.objects.count() < kill_at:
            assert poller.poll() is None, f"the poller ended before it could be killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the poller is too slow:\n{log.read_text()}"
            time.sleep(0.01)
        poller.send_signal(signal.SIGKILL)
        assert poller.wait(timeout=30) == -signal.SIGKILL
        # The killed worker still holds the lease; let it lapse, as the next minute would.
        assert Mailbox.objects.get(pk=mailbox.pk).poll_lease_until is not None
        Mailbox.objects.filter(pk=mailbox.pk).update(poll_lease_until=clock.now() - timedelta(seconds=1))

    poller, log = start_poller(mailbox, tmp_path / "to-the-end.log")
    assert poller.wait(timeout=300) == 0, log.read_text()

    outcomes = list(InboundEmail.objects.values_list("subject", "outcome", "reason"))
    assert len(outcomes) == total
    assert {outcome for _, outcome, _ in outcomes} == {Outcome.TICKET_OPENED}, outcomes
    assert Ticket.objects.count() == total
    assert sorted(Ticket.objects.values_list("title", flat=True)) == [f"Request {n:02d}" for n in range(total)]
    on_server = dovecot.flags()
    assert len(on_server) == total and all(flags >= {KEYWORD, SEEN} for flags in on_server.values())
    assert Mailbox.objects.get(pk=mailbox.pk).poll_lease_until is None


def start_poller(mailbox: Mailbox, log: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`manage.py intake imap --once` in its own process, on the test's database."""
    env = dict(os.environ, TIERDESK_ENV="test", DATABASE_URL=database_url())
    env.pop("REDIS_URL", None)  # its background work runs in-process, never queued for other tests' workers
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "intake", "imap", "--mailbox", mailbox.address, "--once"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, log


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
