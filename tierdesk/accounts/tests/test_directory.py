"""A client's directory connection: safe settings, the secret at rest, and finding exactly one person."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tierdesk.accounts import directory as ldap
from tierdesk.accounts.models import DirectoryConnection
from tierdesk.audit.models import AuditEvent
from tierdesk.core import secrets
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, PermissionDenied
from tierdesk.testing.fixtures import World
from tierdesk.testing.slapd import SlapdServer

PASSWORD = "Old-Winter-Coat-42"


def connect(world: World, slapd: SlapdServer, **overrides: object) -> DirectoryConnection:
    settings: dict[str, object] = {
        "name": "Hospital directory",
        "server_url": slapd.url,
        "bind_dn": slapd.service_dn,
        "bind_password": slapd.service_password,
        "base_dn": slapd.base_dn,
    }
    settings.update(overrides)
    return ldap.create_directory(actor=Actor(user=world.admin), organisation=world.client, **settings)  # type: ignore[arg-type]


def test_the_service_password_is_encrypted_at_rest_and_never_audited(world: World, slapd: SlapdServer) -> None:
    directory = connect(world, slapd)

    stored = DirectoryConnection.objects.values_list("bind_password_encrypted", flat=True).get(pk=directory.pk)
    assert stored and slapd.service_password not in stored
    assert secrets.decrypt(stored) == slapd.service_password

    ldap.set_directory_password(actor=Actor(user=world.admin), directory=directory, password="Rotated-Secret-77")
    stored_again = DirectoryConnection.objects.values_list("bind_password_encrypted", flat=True).get(pk=directory.pk)
    assert secrets.decrypt(stored_again) == "Rotated-Secret-77" and "Rotated-Secret-77" not in stored_again

    events = list(AuditEvent.objects.filter(object_type="accounts.directoryconnection").values("action", "after"))
    assert [event["action"] for event in events] == ["directory.created", "directory.password_changed"]
    assert events[0]["after"]["server_url"] == slapd.url
    written = json.dumps(events)
    assert slapd.service_password not in written and "Rotated-Secret-77" not in written


def test_a_wrong_service_password_makes_the_directory_unavailable(world: World, slapd: SlapdServer) -> None:
    directory = connect(world, slapd, bind_password="not-the-password")
    slapd.add_user("rita", mail="rita@hospital.test", password=PASSWORD)

    with pytest.raises(ldap.DirectoryUnavailable, match="refused the service account") as caught:
        ldap.find_account(directory, email="rita@hospital.test")
    assert "not-the-password" not in caught.value.detail


def test_the_filter_finds_one_person_by_address_or_user_name(world: World, slapd: SlapdServer) -> None:
    dn = slapd.add_user("rita", mail="rita@hospital.test", password=PASSWORD)
    slapd.add_user("colin", mail="colin@hospital.test", password=PASSWORD)

    assert ldap.find_account(connect(world, slapd), email="RITA@hospital.test").dn == dn
    by_uid = connect(world, slapd, user_filter="(&(objectClass=inetOrgPerson)(uid={username}))", is_enabled=False)
    assert ldap.find_account(by_uid, email="rita@hospital.test").dn == dn


@pytest.mark.parametrize("address", ["*)(uid=*", "*", "rita@hospital.test)(|(uid=*", "*@hospital.test", "\\2a"])
def test_filter_injection_in_an_address_matches_nothing(world: World, slapd: SlapdServer, address: str) -> None:
    slapd.add_user("rita", mail="rita@hospital.test", password=PASSWORD)
    slapd.add_user("colin", mail="colin@hospital.test", password=PASSWORD)
    directory = connect(world, slapd)

    # Unescaped, these would match both people (or be a broken filter); escaped they match nobody.
    with pytest.raises(ldap.NoDirectoryAccount, match="No directory account is linked to you"):
        ldap.find_account(directory, email=address)


def test_the_address_is_escaped_in_the_filter(world: World, slapd: SlapdServer) -> None:
    directory = connect(world, slapd, user_filter="(|(mail={email})(uid={username}))")
    assert ldap.user_filter_for(directory, email="*)(uid=*@x.test") == (
        "(|(mail=\\2a\\29\\28uid=\\2a@x.test)(uid=\\2a\\29\\28uid=\\2a))"
    )


def test_two_entries_with_one_address_are_not_guessed_between(world: World, slapd: SlapdServer) -> None:
    slapd.add_user("rita", mail="rita@hospital.test", password=PASSWORD)
    slapd.add_user("rita2", mail="rita@hospital.test", password=PASSWORD)

    with pytest.raises(ldap.NoDirectoryAccount, match="More than one directory account"):
        ldap.find_account(connect(world, slapd), email="rita@hospital.test")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"server_url": "ldap://ldap.hospital.example:389"}, "Plain ldap:// is allowed only to this machine"),
        ({"server_url": "http://127.0.0.1:389"}, "must look like ldaps://"),
        ({"server_url": "ldap://127.0.0.1:port"}, "port is not a number"),
        (
            {"server_url": "ldap://127.0.0.1:389", "kind": DirectoryConnection.Kind.ACTIVE_DIRECTORY},
            "Active Directory changes passwords only over TLS",
        ),
        ({"user_filter": "(mail=rita@hospital.test)"}, "must contain {email} or {username}"),
        ({"user_filter": "(mail={email})(uid={0})"}, "only the placeholders"),
        ({"user_filter": "(mail={email}"}, "one LDAP filter in parentheses"),
        ({"bind_dn": " "}, "service account's DN"),
    ],
)
def test_unsafe_or_broken_settings_are_refused(
    world: World, slapd: SlapdServer, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(DomainError, match=message.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
        connect(world, slapd, **overrides)
    assert not DirectoryConnection.objects.exists()


@pytest.mark.parametrize(
    ("server_url", "start_tls"),
    [("ldaps://ldap.hospital.example:636", False), ("ldap://ldap.hospital.example:389", True), ("ldap://[::1]", False)],
)
def test_encrypted_or_loopback_servers_are_accepted(
    world: World, slapd: SlapdServer, server_url: str, start_tls: bool
) -> None:
    directory = connect(world, slapd, server_url=server_url, start_tls=start_tls)
    assert directory.server_url == server_url


def test_one_enabled_directory_per_organisation(world: World, slapd: SlapdServer) -> None:
    connect(world, slapd)
    with pytest.raises(DomainError, match="already has an enabled directory"):
        connect(world, slapd, name="Second")
    connect(world, slapd, name="Spare", is_enabled=False)
    assert DirectoryConnection.objects.filter(organisation=world.client).count() == 2


def test_only_the_providers_admins_configure_directories(world: World, slapd: SlapdServer) -> None:
    for who in (world.requester_user, world.agent, world.other_provider_agent):
        with pytest.raises(PermissionDenied):
            ldap.create_directory(
                actor=Actor(user=who),
                organisation=world.client,
                name="Hospital directory",
                server_url=slapd.url,
                bind_dn=slapd.service_dn,
                bind_password=slapd.service_password,
                base_dn=slapd.base_dn,
            )
    directory = connect(world, slapd)
    with pytest.raises(PermissionDenied):
        ldap.set_directory_password(actor=Actor(user=world.agent), directory=directory, password="x")


def test_the_admin_stores_the_service_password_encrypted_and_never_shows_it(world: World, slapd: SlapdServer) -> None:
    client = Client()
    client.force_login(world.admin)
    form = {
        "organisation": world.client.pk,
        "name": "Hospital directory",
        "kind": DirectoryConnection.Kind.OPENLDAP,
        "is_enabled": "on",
        "server_url": slapd.url,
        "bind_dn": slapd.service_dn,
        "bind_password": "Adm1n-Typed-Secret",
        "base_dn": slapd.base_dn,
        "user_filter": "(mail={email})",
    }
    assert client.post("/admin/accounts/directoryconnection/add/", form).status_code == 302

    directory = DirectoryConnection.objects.get(organisation=world.client)
    assert secrets.decrypt(directory.bind_password_encrypted) == "Adm1n-Typed-Secret"
    page = client.get(f"/admin/accounts/directoryconnection/{directory.pk}/change/").content.decode()
    assert "Adm1n-Typed-Secret" not in page and directory.bind_password_encrypted not in page
    event = AuditEvent.objects.get(action="directoryconnection.created")
    assert event.after is not None and event.after["bind_password"] == "(changed)"
    # Saving again with the password left empty keeps it.
    form["bind_password"] = ""
    assert client.post(f"/admin/accounts/directoryconnection/{directory.pk}/change/", form).status_code == 302
    directory.refresh_from_db()
    assert secrets.decrypt(directory.bind_password_encrypted) == "Adm1n-Typed-Secret"
    # Plain ldap:// to another machine is refused here too.
    form["server_url"] = "ldap://ldap.hospital.example"
    response = client.post(f"/admin/accounts/directoryconnection/{directory.pk}/change/", form)
    assert response.status_code == 200 and "allowed only to this machine" in response.content.decode()


def test_password_resets_are_read_only_in_the_admin(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    assert client.get("/admin/accounts/passwordresetchallenge/").status_code == 200
    assert client.get("/admin/accounts/passwordresetchallenge/add/").status_code == 403
