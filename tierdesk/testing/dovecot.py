"""A real IMAP server for the e-mail channel's tests: Dovecot on a free loopback port.

Each test that asks for `dovecot` gets its own server, configured from scratch in tmp_path
(nothing from /etc/dovecot is read): plain IMAP on 127.0.0.1 only, one user with a plaintext
password, Maildir storage under tmp_path; only its sockets live in a short temporary directory
of their own, removed when it stops. Tests are skipped, saying how to enable them, when
/usr/sbin/dovecot is missing.

Dovecot never serves mail as root, and its login processes must not run as root either. As
root (CI here), mail is served as the `dovecot` user, chrooted into the mail directory: the
chroot happens before privileges drop, so the 0700 directories pytest makes above tmp_path
need not be opened up. As any other user, everything runs as that user, without chroots.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tierdesk.testing.processes import dies_with_tests

DOVECOT = Path(os.environ.get("TIERDESK_DOVECOT", "/usr/sbin/dovecot"))
SKIP_MESSAGE = f"dovecot skipped: {DOVECOT} is not installed (.ci/run installs dovecot-imapd)"
USER = "desk"
PASSWORD = "imap-test-password"
STARTUP_SECONDS = 15.0


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path
    run_dir: Path  # Dovecot's sockets: a short path of its own (a socket's path may not exceed 107 bytes)
    process: subprocess.Popen[bytes]

    @contextlib.contextmanager
    def connect(self) -> Iterator[IMAPClient]:
        """A logged-in IMAP connection, for a test to look at the mailbox as a human would."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[bytes, ...] = ()) -> None:
        with self.connect() as client:
            client.append(folder, raw, flags=flags)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """Each message's flags by UID (\\Recent left out: it depends on who looked first)."""
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            return {uid: set(data[b"FLAGS"]) - {b"\\Recent"} for uid, data in fetched.items()}

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configuration(root: Path, run_dir: Path, port: int) -> str:
    mail = root / "mail"
    (mail / USER).mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        shutil.chown(mail / USER, mail_user.pw_uid, mail_user.pw_gid)
        accounts = [
            "default_internal_user = root",  # auth reads the users file under tmp_path
            "default_login_user = dovenull",
            f"first_valid_uid = {mail_user.pw_uid}",
            f"valid_chroot_dirs = {mail}",
        ]
        # "/./" splits the home into the chroot and the home inside it.
        userdb = f"uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/./%u"
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        accounts = [
            f"default_internal_user = {me}",
            f"default_login_user = {me}",
            f"default_internal_group = {grp.getgrgid(os.getgid()).gr_name}",
            f"first_valid_uid = {os.getuid()}",
            f"first_valid_gid = {os.getgid()}",
            # Chroots need root.
            "service anvil {\n  chroot =\n}",
            "service imap-login {\n  chroot =\n}",
        ]
        userdb = f"uid={os.getuid()} gid={os.getgid()} home={mail}/%u"
    lines = [
        f"base_dir = {run_dir}",
        f"state_dir = {root / 'state'}",
        f"log_path = {root / 'dovecot.log'}",
        "protocols = imap",
        "listen = 127.0.0.1",
        "ssl = no",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        # A wrong password fails at once (later logins from 127.0.0.1 still pay Dovecot's penalty).
        "auth_failure_delay = 0",
        *accounts,
        f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root / 'users'}\n}}",
        f"userdb {{\n  driver = static\n  args = {userdb}\n}}",
        "mail_location = maildir:~/Maildir",
        "service imap-login {",
        f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}",
        "  inet_listener imaps {\n    port = 0\n  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _stop(server: Dovecot) -> None:
    """SIGTERM, then SIGKILL when it has not ended within ten seconds."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    _reap(server)


def _reap(server: Dovecot) -> None:
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    shutil.rmtree(server.run_dir, ignore_errors=True)


_stopping: list[threading.Thread] = []


def _stop_in_background(server: Dovecot) -> None:
    # Dovecot's log process lingers a second after SIGTERM; the next test need not wait for it.
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    thread = threading.Thread(target=_reap, args=(server,), name=f"stop-dovecot-{server.port}", daemon=True)
    thread.start()
    _stopping.append(thread)


@atexit.register
def _wait_for_stopping() -> None:
    for thread in _stopping:
        thread.join(timeout=25)


def start_dovecot(root: Path, attempts: int = 3) -> Dovecot:
    root.mkdir(parents=True, exist_ok=True)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    for attempt in range(1, attempts + 1):
        try:
            return _start(root, _free_port())
        except _PortTaken:
            # Between probing the port and Dovecot binding it, another process's connection took it.
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    pass


def _start(root: Path, port: int) -> Dovecot:
    run_dir = Path(tempfile.mkdtemp(prefix="tierdesk-dovecot-"))
    config = root / "dovecot.conf"
    config.write_text(_configuration(root, run_dir, port))
    output = root / "dovecot.out"
    with output.open("wb") as sink:
        # -F: stay in the foreground, so the process we hold is the master and SIGTERM stops it all.
        process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own configuration)
            dies_with_tests([str(DOVECOT), "-F", "-c", str(config)]), stdout=sink, stderr=subprocess.STDOUT
        )
    server = Dovecot("127.0.0.1", port, USER, PASSWORD, root, run_dir, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(server)
            said = f"{output.read_text(errors='replace')}\n{server.log()}"
            error = _PortTaken if "Address already in use" in said else RuntimeError
            raise error(f"Dovecot did not start on port {port}:\n{said}")
        time.sleep(0.05)
    return server


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    if not DOVECOT.exists():
        pytest.skip(SKIP_MESSAGE)
    server = start_dovecot(tmp_path / "dovecot")
    try:
        yield server
    finally:
        _stop_in_background(server)
