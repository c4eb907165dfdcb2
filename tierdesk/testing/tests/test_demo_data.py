"""The demo data loads through the services, is idempotent, and leaves an intact audit chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.audit.services import verify_all
from tierdesk.core.actor import Actor
from tierdesk.knowledge.search import search_articles
from tierdesk.selfservice.catalogue import offered_to
from tierdesk.selfservice.intents import Intent, recognise
from tierdesk.tenancy.models import Organisation
from tierdesk.testing import demo
from tierdesk.tickets.models import Ticket


@pytest.mark.django_db
def test_demo_loads_once_and_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    result = demo.load(ticket_count=24)
    assert result.created and result.tickets == 24
    assert Organisation.objects.filter(kind="client").count() == 3
    assert User.objects.filter(role__in=["agent", "supervisor", "admin"]).count() >= 20
    assert SupportGroup.objects.filter(is_vendor=True).exists()
    assert set(SupportGroup.objects.values_list("tier", flat=True)) == {1, 2, 3, 4}
    assert Ticket.objects.count() == 24
    assert len(set(Ticket.objects.values_list("channel", flat=True))) >= 4
    assert len(set(Ticket.objects.values_list("status", flat=True))) >= 3

    again = demo.load(ticket_count=24)
    assert not again.created and Ticket.objects.count() == 24
    assert all(report.ok for report in verify_all())

    call_command("audit", "verify")
    assert "audit: OK" in capsys.readouterr().out
    for _, email in demo.logins():
        assert User.objects.get(email=email).check_password(demo.DEMO_PASSWORD)


@pytest.mark.django_db
def test_demo_self_service_answers_the_portal_requester() -> None:
    """The demo's knowledge base and catalogue are what the virtual agent answers from."""
    demo.load(ticket_count=6)
    rachel = Requester.objects.get(email="requester@stannes.example")
    actor = Actor(user=rachel.user)
    hits = search_articles("outlook keeps asking for my password", actor=actor, log=False)
    assert hits[0].article.title == "Outlook keeps asking for your password"
    # The desk's internal procedures are not shown to requesters.
    hits = search_articles("script unlock a directory account", actor=actor, log=False)
    assert "Tier 1 script: unlock a directory account" not in [h.article.title for h in hits]
    catalogue = list(offered_to(rachel))
    for line, item in (
        ("I need Visio", "Microsoft Visio"),
        ("can I get 7zip", "7-Zip"),
        ("install a pdf editor", "Adobe Acrobat Pro"),
    ):
        recognised = recognise(line, catalogue=catalogue)
        assert recognised.intent == Intent.REQUEST_SOFTWARE, line
        assert next(i.name for i in catalogue if i.pk == recognised.item_id) == item


def test_operator_command_end_to_end(tmp_path: Path) -> None:
    """`tierdesk migrate`, `tierdesk demo-data`, `tierdesk audit verify` on a fresh database."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(TIERDESK_ENV="development", TIERDESK_VAR_DIR=str(tmp_path))
    tierdesk = [sys.executable, "-m", "tierdesk.cli"]

    def run(*args: str) -> str:
        result = subprocess.run([*tierdesk, *args], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("migrate", "--noinput", "-v", "0")
    assert "agent@northwind.example" in run("demo-data", "--tickets", "6")
    assert "already present" in run("demo-data", "--tickets", "6")
    assert "audit: OK" in run("audit", "verify")
