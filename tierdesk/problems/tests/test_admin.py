"""Problems and known errors in the admin: problems are not raised there; known errors belong to a provider."""

from __future__ import annotations

from django.test import Client

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.problems import services
from tierdesk.problems.models import KnownError
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World

NO_INLINES = {"applications-TOTAL_FORMS": "0", "applications-INITIAL_FORMS": "0"}


def test_admin_pages_and_known_errors_kept_to_providers(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="Printers", incidents=[open_ticket(world.requester)])
    known_error = services.record_known_error(
        actor=agent, problem=problem, title="Printer offline", symptoms="Offline.", workaround="Re-add it."
    )
    admin = Client()
    admin.force_login(world.admin)
    for url in (
        "/admin/problems/problem/",
        f"/admin/problems/problem/{problem.pk}/change/",
        "/admin/problems/knownerror/",
        f"/admin/problems/knownerror/{known_error.pk}/change/",
        "/admin/problems/knownerror/add/",
    ):
        assert admin.get(url).status_code == 200, url
    assert admin.get("/admin/problems/problem/add/").status_code == 403  # raised in the console or the API
    fields = {"title": "VPN", "symptoms": "Drops.", "workaround": "TCP.", "fix_status": "none", "is_active": "on"}
    refused = admin.post("/admin/problems/knownerror/add/", {**fields, **NO_INLINES, "organisation": world.client.pk})
    assert "belong to the provider" in refused.content.decode()
    rival = services.create_problem(actor=Actor(user=world.other_provider_agent), title="Rival's")
    refused = admin.post(
        "/admin/problems/knownerror/add/",
        {**fields, **NO_INLINES, "organisation": world.provider.pk, "problem": rival.pk},
    )
    assert "another provider" in refused.content.decode()
    saved = admin.post("/admin/problems/knownerror/add/", {**fields, **NO_INLINES, "organisation": world.provider.pk})
    assert saved.status_code == 302
    assert KnownError.objects.filter(title="VPN", organisation=world.provider).exists()
    assert AuditEvent.objects.filter(action="knownerror.created", via="admin").exists()
