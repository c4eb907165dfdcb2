"""Tier 0 metrics: resolution share, deflection, most used and least helpful articles, searches with
no result; their scope, the page and the API. Every row is written by the services that write it in
production (article views and feedback, searches, help sessions, Tier 0 interactions)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.knowledge import services as kb
from tierdesk.knowledge.models import Article
from tierdesk.knowledge.search import search_articles
from tierdesk.reporting.tier0_metrics import tier0_metrics
from tierdesk.selfservice.choices import Automation, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.services import record_tier0
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for, count_queries


@dataclass
class Usage:
    vpn: Article
    printer: Article


@pytest.fixture
def usage(world: World) -> Usage:
    agent = Actor(user=world.agent)
    rita = Actor(user=world.requester_user)
    vpn = kb.create_article(
        actor=agent, organisation=world.provider, title="Connect to the VPN from home", body="Open the VPN client."
    )
    printer = kb.create_article(
        actor=agent, organisation=world.provider, title="Printer shows offline", body="Restart the print spooler."
    )
    # Session 1 reads the VPN article, which helps: deflected.
    kb.record_article_view(actor=rita, article=vpn, source="portal", session_key="s1")
    kb.record_feedback(actor=rita, article=vpn, helpful=True, session_key="s1")
    # Session 2 reads the printer article, which does not help, and submits a ticket.
    kb.record_article_view(actor=rita, article=printer, source="portal", session_key="s2")
    kb.record_feedback(actor=rita, article=printer, helpful=False, session_key="s2")
    ticket = open_ticket(world.requester, title="Printer still offline")
    kb.record_ticket_submitted(session_key="s2", ticket=ticket)
    # The bank's requester reads the printer article in the chat and says it did not help either.
    bob = Actor(user=world.other_requester_user)
    kb.record_article_view(actor=bob, article=printer, source="chat", session_key="s3")
    kb.record_feedback(actor=bob, article=printer, helpful=False, session_key="s3")
    # Searches: one finds the VPN article, one finds nothing (twice, differently cased).
    assert search_articles("vpn", actor=rita, session_key="s1")
    assert not search_articles("Scanner jammed", actor=rita, session_key="s1")
    assert not search_articles("scanner JAMMED", actor=bob, session_key="s3")
    # Tier 0 interactions: the article and a password reset resolved; one chat handed to a person.
    client = world.client
    record_tier0(
        actor=rita, organisation=client, kind=Tier0Kind.ARTICLE, outcome=Tier0Outcome.SELF_SERVICE, article=vpn
    )
    record_tier0(
        actor=rita,
        organisation=client,
        kind=Tier0Kind.AUTOMATION,
        outcome=Tier0Outcome.SELF_SERVICE,
        automation=Automation.PASSWORD_RESET,
    )
    # A software request placed in the chat: self-service, and a ticket for its fulfilment.
    request = open_ticket(world.requester, title="Microsoft Visio")
    record_tier0(
        actor=rita,
        organisation=client,
        kind=Tier0Kind.AUTOMATION,
        outcome=Tier0Outcome.SELF_SERVICE,
        automation=Automation.SOFTWARE_REQUEST,
        ticket=request,
    )
    handed = open_ticket(world.requester, title="Talk to a person about my laptop")
    record_tier0(
        actor=rita, organisation=client, kind=Tier0Kind.HANDOFF, outcome=Tier0Outcome.HANDED_TO_PERSON, ticket=handed
    )
    return Usage(vpn=vpn, printer=printer)


def test_the_figures_follow_from_what_people_did(world: World, usage: Usage) -> None:
    m = tier0_metrics(Actor(user=world.supervisor))  # sees every client of the provider
    # 3 self-service resolutions (article, password reset, software request); 2 other tickets
    # (one from the portal, one from the hand-off): the software request's ticket counts once.
    assert (m.self_service, m.tickets_opened, m.contacts, m.tier0_percent) == (3, 2, 5, 60.0)
    assert m.handed_to_person == 1
    assert [(a.automation, a.resolutions) for a in m.automations] == [
        (Automation.PASSWORD_RESET, 1),
        (Automation.SOFTWARE_REQUEST, 1),
    ]
    # Sessions 1, 2 and 3 read an article; 2 submitted a ticket: 2 of 3 deflected.
    assert (m.help_sessions, m.deflected_sessions, m.deflection_percent) == (3, 2, 66.7)
    assert [(a.title, a.views, a.resolutions) for a in m.most_used] == [
        ("Printer shows offline", 2, 0),
        ("Connect to the VPN from home", 1, 1),
    ]
    # Only the printer article has enough "did not help" votes to be called unhelpful.
    assert [(a.title, a.helpful, a.unhelpful, a.helpful_percent) for a in m.least_helpful] == [
        ("Printer shows offline", 0, 2, 0.0)
    ]
    assert (m.searches, m.searches_without_result) == (3, 2)
    assert [(s.query, s.searches) for s in m.unanswered_searches] == [("scanner jammed", 2)]


def test_one_organisation_and_other_providers(world: World, usage: Usage) -> None:
    hospital = tier0_metrics(Actor(user=world.supervisor), organisation_id=world.client.pk)
    assert (hospital.help_sessions, hospital.searches, hospital.contacts) == (2, 2, 5)
    assert [(a.title, a.views) for a in hospital.most_used] == [
        ("Connect to the VPN from home", 1),
        ("Printer shows offline", 1),
    ]
    # The agent's groups serve the hospital only: the bank's reading and searching are not theirs.
    assert tier0_metrics(Actor(user=world.agent)) == hospital
    # Another provider's supervisor sees none of it.
    rival = tier0_metrics(Actor(user=world.other_provider_agent))
    assert (rival.contacts, rival.help_sessions, rival.searches, rival.most_used) == (0, 0, 0, [])


def test_a_period_that_ends_before_it_starts_is_refused(world: World) -> None:
    from datetime import date

    with pytest.raises(DomainError):
        tier0_metrics(Actor(user=world.agent), date_from=date(2027, 2, 1), date_until=date(2027, 1, 1))


def test_page_shows_the_figures_with_a_fixed_number_of_queries(world: World, usage: Usage) -> None:
    client = Client()
    client.force_login(world.supervisor)
    response = client.get("/reports/tier0/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "60.0 %" in page and "66.7 %" in page and "scanner jammed" in page and "Printer shows offline" in page
    queries = count_queries(lambda: client.get("/reports/tier0/"))
    # Another article read does not add a query.
    kb.record_article_view(actor=Actor(user=world.requester_user), article=usage.vpn, source="portal", session_key="s9")
    assert count_queries(lambda: client.get("/reports/tier0/")) == queries
    # Requesters do not see reports; a bad period is a form error, not a crash.
    requester = Client()
    requester.force_login(world.requester_user)
    assert requester.get("/reports/tier0/").status_code in (302, 403)
    bad = client.get("/reports/tier0/?date_from=2027-02-01&date_until=2027-01-01")
    assert bad.status_code == 200 and "The period ends before it starts." in bad.content.decode()


def test_api_gives_the_same_figures(world: World, usage: Usage) -> None:
    api = api_client_for(world.supervisor)
    body = api.get("/api/v1/reports/tier0-metrics/").json()
    assert (body["contacts"], body["self_service"], body["tier0_percent"]) == (5, 3, 60.0)
    assert body["deflection_percent"] == 66.7
    assert body["most_used"][0]["title"] == "Printer shows offline"
    assert body["least_helpful"][0]["unhelpful"] == 2
    assert [(s["query"], s["searches"]) for s in body["unanswered_searches"]] == [("scanner jammed", 2)]
    assert api.get("/api/v1/reports/tier0-metrics/?organisation=999999").status_code == 400
    assert api.get("/api/v1/reports/tier0-metrics/?date_from=yesterday").status_code == 400
    # A requester's report is empty: colleagues' searches and reading are not theirs to see.
    mine = api_client_for(world.manager_user).get("/api/v1/reports/tier0-metrics/").json()
    assert (mine["contacts"], mine["searches"], mine["most_used"], mine["unanswered_searches"]) == (0, 0, [], [])
