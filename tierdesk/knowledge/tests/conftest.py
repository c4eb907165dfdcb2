"""A small knowledge base written the way a desk writes one, on the shared test world."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tierdesk.core.actor import Actor
from tierdesk.knowledge import services
from tierdesk.knowledge.choices import ArticleStatus, Visibility
from tierdesk.knowledge.models import Article
from tierdesk.testing.fixtures import World


@dataclass
class Kb:
    outlook: Article  # public, every client
    vpn: Article  # public, for the hospital only
    printer_draft: Article  # draft
    escalation: Article  # internal (agents only)
    rival: Article  # another provider's


@pytest.fixture
def kb(world: World) -> Kb:
    system = Actor.system("command")
    outlook = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Outlook keeps asking for your password",
        summary="Outlook prompts for credentials again and again although the password is right.",
        body="## Symptoms\n\nA Windows Security window asks for the password every few minutes.\n\n"
        "## Resolution\n\nRemove the MicrosoftOffice16 entries in Credential Manager, then sign in again.\n",
    )
    vpn = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Connect to the hospital VPN from home",
        body="Open AnyConnect and choose the Home - TCP profile. Error 0x80070005 means the certificate expired.",
        audience=[world.client],
    )
    printer = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Printer shows offline",
        body="Remove the printer and add it again from the print server.",
        status=ArticleStatus.DRAFT,
    )
    escalation = services.create_article(
        actor=system,
        organisation=world.provider,
        title="When to escalate a password reset to Tier 2",
        body="Escalate when the account is synced from the HR system; Tier 1 cannot reset those passwords.",
        visibility=Visibility.INTERNAL,
    )
    rival_provider = world.other_provider_client.provider
    assert rival_provider is not None
    rival = services.create_article(
        actor=system,
        organisation=rival_provider,
        title="Outlook password prompts at Rival MSP",
        body="Outlook asks for the password: call the Rival desk.",
    )
    return Kb(outlook=outlook, vpn=vpn, printer_draft=printer, escalation=escalation, rival=rival)
