"""People: agents manage the requesters of the organisations they serve."""

from __future__ import annotations

from tierdesk.accounts.models import Requester
from tierdesk.testing.fixtures import World, api_client_for


def test_agent_creates_and_edits_a_requester(world: World) -> None:
    client = api_client_for(world.agent)
    created = client.post(
        "/api/v1/people/",
        {"organisation": world.client.pk, "name": "Nora Nurse", "email": "Nora@Hospital.test", "site": world.site.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    person = created.json()
    assert person["email"] == "nora@hospital.test" and not person["has_login"]
    cleared = client.patch(f"/api/v1/people/{person['id']}/", {"site": None, "phone": "+44 1"}, format="json")
    assert cleared.status_code == 200 and cleared.json()["site"] is None and cleared.json()["phone"] == "+44 1"
    duplicate = client.post(
        "/api/v1/people/", {"organisation": world.client.pk, "name": "N2", "email": "nora@hospital.test"}, format="json"
    )
    assert duplicate.status_code == 400 and "already has" in duplicate.json()["detail"]


def test_requester_needs_a_way_to_be_reached(world: World) -> None:
    client = api_client_for(world.agent)
    response = client.post("/api/v1/people/", {"organisation": world.client.pk, "name": "Ghost"}, format="json")
    assert response.status_code == 400 and "e-mail address or a phone" in response.json()["detail"]
    bare = client.patch(f"/api/v1/people/{world.colleague.pk}/", {"email": ""}, format="json")
    assert bare.status_code == 400


def test_requesters_cannot_manage_people(world: World) -> None:
    manager = api_client_for(world.manager_user)
    response = manager.post(
        "/api/v1/people/", {"organisation": world.client.pk, "name": "X", "email": "x@h.test"}, format="json"
    )
    assert response.status_code == 403 and "Only agents" in response.json()["detail"]
    own = api_client_for(world.requester_user).patch(
        f"/api/v1/people/{world.requester.pk}/", {"name": "R"}, format="json"
    )
    assert own.status_code == 403
    assert Requester.objects.get(pk=world.requester.pk).name == "Rita Requester"
