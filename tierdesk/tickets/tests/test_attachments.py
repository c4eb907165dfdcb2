"""Attachments: size limit, sha256, sniffed type, and safe, scoped downloads."""

from __future__ import annotations

import hashlib
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets import services
from tierdesk.tickets.models import Attachment

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6300010000050001"
)


def _upload(client: object, number: str, name: str, content: bytes, **extra: object) -> object:
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    return client.post(f"/api/v1/tickets/{number}/attachments/", {"file": upload, **extra}, format="multipart")  # type: ignore[attr-defined]


def test_upload_records_hash_size_and_sniffed_type(world: World) -> None:
    ticket = open_ticket(world.requester)
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    response = _upload(api_client_for(world.agent), ticket.number, "holiday.png", html)
    assert response.status_code == 201  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["sha256"] == hashlib.sha256(html).hexdigest() and body["size"] == len(html)
    assert body["content_type"] == "text/html"  # the bytes, not the client's "image/png"
    assert ticket.timeline.filter(event="attachment_added").exists()


def test_download_headers(world: World) -> None:
    ticket = open_ticket(world.requester)
    client = api_client_for(world.agent)
    body = _upload(client, ticket.number, 'evil"name\r\n.png', PNG).json()  # type: ignore[attr-defined]
    response = client.get(body["download_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "\r" not in response["Content-Disposition"] and "\n" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG  # type: ignore[attr-defined]


def test_size_limit_gives_413_and_keeps_nothing(world: World, settings: object) -> None:
    settings.TIERDESK_ATTACHMENT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    ticket = open_ticket(world.requester)
    client = api_client_for(world.agent)
    response = _upload(client, ticket.number, "big.bin", b"x" * 1025)
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    assert _upload(client, ticket.number, "fits.bin", b"x" * 1024).status_code == 201  # type: ignore[attr-defined]
    assert Attachment.objects.count() == 1
    # Far too big: refused on the Content-Length alone, before the body is read.
    huge = _upload(client, ticket.number, "huge.bin", b"x" * 200_000)
    assert huge.status_code == 413  # type: ignore[attr-defined]


def test_default_limit_is_25_mb(settings: object) -> None:
    assert settings.TIERDESK_ATTACHMENT_MAX_BYTES == 25 * 1024 * 1024  # type: ignore[attr-defined]


def test_only_people_who_see_the_ticket_may_download(world: World) -> None:
    ticket = open_ticket(world.requester)
    url = _upload(api_client_for(world.agent), ticket.number, "a.png", PNG).json()["download_url"]  # type: ignore[attr-defined]
    assert api_client_for(world.requester_user).get(url).status_code == 200
    assert api_client_for(world.other_requester_user).get(url).status_code == 404
    assert api_client_for(world.other_provider_agent).get(url).status_code == 404
    browser = Client()
    browser.force_login(world.other_requester_user)
    attachment = Attachment.objects.get()
    assert browser.get(f"/tickets/{ticket.number}/attachments/{attachment.pk}/").status_code == 404


def test_internal_attachments_stay_with_agents(world: World) -> None:
    ticket = open_ticket(world.requester)
    attachment = services.add_attachment(
        actor=Actor(user=world.agent), ticket=ticket, stream=io.BytesIO(PNG), filename="x.png", is_public=False
    )
    url = f"/api/v1/tickets/{ticket.number}/attachments/{attachment.pk}/download/"
    assert api_client_for(world.agent).get(url).status_code == 200
    assert api_client_for(world.requester_user).get(url).status_code == 404
    assert api_client_for(world.requester_user).get(f"/api/v1/tickets/{ticket.number}/attachments/").json() == []


def test_upload_without_file_is_400(world: World) -> None:
    ticket = open_ticket(world.requester)
    response = api_client_for(world.agent).post(
        f"/api/v1/tickets/{ticket.number}/attachments/", {"is_public": "true"}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
