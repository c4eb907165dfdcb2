"""A real LDAP directory for the password-reset tests: OpenLDAP's slapd on a free loopback port.

One server per test session (per xdist worker), configured from scratch in a temporary directory
(a throwaway slapd.conf and mdb database; nothing from /etc/ldap is read but the schemas):
base dc=example,dc=org, ou=people, a root DN, and a service account `cn=tierdesk` that may read
entries and write passwords (as a client's help-desk account would), nothing more. The server
hashes passwords set by the Password Modify operation with {SSHA}. Tests that ask for `slapd` get
the server plus `add_user(...)`; the users they add are removed when they end. Skipped, saying how
to enable it, when /usr/sbin/slapd is missing.

As root (CI here) slapd simply stays root: the data directory is ours, and it listens on
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult
from ldap3.utils.dn import escape_rdn
from ldap3.utils.hashed import hashed

from tierdesk.testing.processes import dies_with_tests

SLAPD = Path(os.environ.get("TIERDESK_SLAPD", "/usr/sbin/slapd"))
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SKIP_MESSAGE = f"slapd not installed ({SLAPD}): apt-get install slapd ldap-utils; .ci/run installs it"
BASE_DN = "dc=example,dc=org"
PEOPLE_DN = f"ou=people,{BASE_DN}"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "slapd-root-test-password"
SERVICE_DN = f"cn=tierdesk,{BASE_DN}"
SERVICE_PASSWORD = "tierdesk-service-test-password"
STARTUP_SECONDS = 15.0


@dataclass
class SlapdServer:
    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    base_dn: str = BASE_DN
    people_dn: str = PEOPLE_DN
    admin_dn: str = ADMIN_DN
    admin_password: str = ADMIN_PASSWORD
    service_dn: str = SERVICE_DN
    service_password: str = SERVICE_PASSWORD
    added: list[str] = field(default_factory=list)  # users of the running test, removed after it

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    def connect(self, dn: str | None = None, password: str | None = None) -> ldap3.Connection:
        """A bound connection (as the root DN unless told otherwise); raises if the bind fails."""
        server = ldap3.Server(self.host, port=self.port, get_info=ldap3.NONE, connect_timeout=5)
        return ldap3.Connection(
            server,
            user=dn or self.admin_dn,
            password=password if dn else self.admin_password,
            auto_bind=ldap3.AUTO_BIND_NO_TLS,
            receive_timeout=10,
            raise_exceptions=True,
        )

    def can_bind(self, dn: str, password: str) -> bool:
        """A fresh simple bind, as a person logging in would do it."""
        server = ldap3.Server(self.host, port=self.port, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(server, user=dn, password=password, receive_timeout=10)
        try:
            return bool(connection.bind())
        finally:
            connection.unbind()

    def log(self) -> str:
        path = self.root / "slapd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def add_user(self, uid: str, *, mail: str, password: str, cn: str = "", sn: str = "") -> str:
        """An inetOrgPerson under ou=people with a {SSHA} userPassword; returns its DN."""
        dn = f"uid={escape_rdn(uid)},{PEOPLE_DN}"
        with _unbinding(self.connect()) as connection:
            connection.add(
                dn,
                ["inetOrgPerson", "organizationalPerson", "person", "top"],
                {
                    "uid": uid,
                    "cn": cn or uid,
                    "sn": sn or uid,
                    "mail": mail,
                    "userPassword": hashed(ldap3.HASHED_SALTED_SHA, password),
                },
            )
        self.added.append(dn)
        return dn

    def user_password(self, dn: str) -> bytes:
        """The stored userPassword value (to see that it is a hash, never the password)."""
        with _unbinding(self.connect()) as connection:
            connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["userPassword"])
            return bytes(connection.entries[0]["userPassword"].raw_values[0])

    def remove_added(self) -> None:
        with _unbinding(self.connect()) as connection:
            for dn in reversed(self.added):
                with contextlib.suppress(LDAPNoSuchObjectResult):
                    connection.delete(dn)
        self.added.clear()


@contextlib.contextmanager
def _unbinding(connection: ldap3.Connection) -> Iterator[ldap3.Connection]:
    try:
        yield connection
    finally:
        connection.unbind()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configuration(root: Path) -> str:
    schemas = [f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis")]
    lines = [
        *schemas,
        f"pidfile {root / 'slapd.pid'}",
        f"argsfile {root / 'slapd.args'}",
        f"modulepath {MODULE_DIR}",
        "moduleload back_mdb",
        # What the Password Modify operation stores: a salted hash, never the password.
        "password-hash {SSHA}",
        "database mdb",
        "maxsize 33554432",
        f'suffix "{BASE_DN}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {ADMIN_PASSWORD}",
        f"directory {root / 'data'}",
        # The help-desk service account: read entries, write passwords; people: bind and change their own.
        "access to attrs=userPassword",
        f'  by dn.exact="{SERVICE_DN}" write',
        "  by self write",
        "  by anonymous auth",
        "  by * none",
        "access to *",
        f'  by dn.exact="{SERVICE_DN}" read',
        "  by self read",
        "  by * none",
    ]
    return "\n".join(lines) + "\n"


def _answers(host: str, port: int) -> bool:
    try:
        connection = ldap3.Connection(
            ldap3.Server(host, port=port, get_info=ldap3.NONE, connect_timeout=1),
            user=ADMIN_DN,
            password=ADMIN_PASSWORD,
            receive_timeout=2,
        )
        try:
            return bool(connection.bind())
        finally:
            connection.unbind()
    except LDAPException:
        return False


def _seed(server: SlapdServer) -> None:
    with _unbinding(server.connect()) as connection:
        connection.add(BASE_DN, ["dcObject", "organization"], {"dc": "example", "o": "Example Org"})
        connection.add(PEOPLE_DN, ["organizationalUnit"], {"ou": "people"})
        connection.add(
            SERVICE_DN,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "tierdesk", "userPassword": hashed(ldap3.HASHED_SALTED_SHA, SERVICE_PASSWORD)},
        )


class _PortTaken(RuntimeError):
    pass


def start_slapd(root: Path, attempts: int = 3) -> SlapdServer:
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = root / "slapd.conf"
    config.write_text(_configuration(root))
    for attempt in range(1, attempts + 1):
        try:
            server = _start(root, config, free_port())
        except _PortTaken:
            # Between probing the port and slapd binding it, another process took it.
            if attempt == attempts:
                raise
            continue
        try:
            _seed(server)
        except BaseException:
            stop_slapd(server)
            raise
        return server
    raise AssertionError("unreachable")


def _start(root: Path, config: Path, port: int) -> SlapdServer:
    log = root / "slapd.log"
    with log.open("wb") as sink:
        # -d: stay in the foreground, so the process we hold is slapd itself and SIGTERM stops it.
        process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own configuration)
            dies_with_tests([str(SLAPD), "-d", "0", "-f", str(config), "-h", f"ldap://127.0.0.1:{port}/"]),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = SlapdServer("127.0.0.1", port, root, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _answers(server.host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_slapd(server)
            said = server.log()
            error = _PortTaken if "Address already in use" in said else RuntimeError
            raise error(f"slapd did not start on port {port}:\n{said}")
        time.sleep(0.05)
    return server


def stop_slapd(server: SlapdServer) -> None:
    """SIGTERM, then SIGKILL when it has not ended within ten seconds."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[SlapdServer]:
    if not SLAPD.exists():
        pytest.skip(SKIP_MESSAGE)
    root = Path(tempfile.mkdtemp(prefix="tierdesk-slapd-"))
    try:
        server = start_slapd(root)
        try:
            yield server
        finally:
            stop_slapd(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def slapd(slapd_server: SlapdServer) -> Iterator[SlapdServer]:
    """The session's server; the users a test adds are removed when it ends."""
    try:
        yield slapd_server
    finally:
        slapd_server.remove_added()
