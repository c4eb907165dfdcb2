"""Articles through their services: versions, status, known errors, who may write, who may read,
and the Tier 0 counters (views, feedback, help sessions)."""

from __future__ import annotations

import pytest

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from tierdesk.knowledge import services
from tierdesk.knowledge.access import access_article
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, Visibility
from tierdesk.knowledge.models import Article, ArticleFeedback, ArticleView, HelpSession
from tierdesk.knowledge.rendering import render_article
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.problems import services as problems
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


def test_creating_writes_version_one_and_an_audit_event(world: World) -> None:
    article = services.create_article(
        actor=Actor(user=world.agent),
        organisation=world.provider,
        title="Reset your MFA app",
        body="Open **My Sign-ins** and choose *Reset*.",
        summary="When the phone was replaced.",
    )
    assert article.slug == "reset-your-mfa-app"
    assert article.version == 1 and article.status == ArticleStatus.PUBLISHED and article.published_at is not None
    (version,) = article.versions.all()
    assert (version.number, version.title, version.author) == (1, "Reset your MFA app", world.agent)
    event = AuditEvent.objects.get(action="article.created")
    assert event.organisation_id == world.provider.pk and event.actor_id == world.agent.pk
    # Same title again: a distinct slug.
    again = services.create_article(
        actor=Actor.system(), organisation=world.provider, title="Reset your MFA app", body="x"
    )
    assert again.slug == "reset-your-mfa-app-2"
    # A title that is one of the knowledge pages' path words does not take that path.
    search = services.create_article(actor=Actor.system(), organisation=world.provider, title="Search", body="x")
    assert search.slug == "search-article"


def test_revising_adds_a_version_only_when_the_content_changes(kb: Kb, world: World) -> None:
    agent = Actor(user=world.agent)
    revised = services.revise_article(
        actor=agent, article=kb.outlook, body="Sign out of Office, then sign in.", change_note="Simpler steps"
    )
    assert revised.version == 2
    assert [(v.number, v.change_note) for v in revised.versions.all()] == [(2, "Simpler steps"), (1, "Created")]
    assert revised.versions.get(number=1).body.startswith("## Symptoms")
    same = services.revise_article(actor=agent, article=revised, body="Sign out of Office, then sign in.")
    assert same.version == 2 and same.versions.count() == 2
    # Filing changes are audited but are not a new version of the text.
    filed = services.revise_article(actor=agent, article=same, visibility=Visibility.INTERNAL)
    assert filed.version == 2 and filed.visibility == Visibility.INTERNAL
    assert AuditEvent.objects.filter(action="article.revised").count() == 2
    with pytest.raises(DomainError, match="title"):
        services.revise_article(actor=agent, article=filed, title="  ")


def test_status_follows_the_workflow(kb: Kb, world: World) -> None:
    agent = Actor(user=world.agent)
    published = services.set_article_status(actor=agent, article=kb.printer_draft, status=ArticleStatus.PUBLISHED)
    assert published.status == ArticleStatus.PUBLISHED and published.published_at is not None
    retired = services.set_article_status(actor=agent, article=published, status=ArticleStatus.RETIRED)
    assert retired.status == ArticleStatus.RETIRED
    with pytest.raises(DomainError, match="Unknown article status"):
        services.set_article_status(actor=agent, article=retired, status="archived")
    event = AuditEvent.objects.filter(action="article.status_changed").last()
    assert event is not None and event.before == {"status": "published"} and event.after == {"status": "retired"}


def test_illegal_transition_names_the_allowed_ones() -> None:
    from tierdesk.knowledge.workflow import check_transition

    with pytest.raises(IllegalTransition) as raised:
        check_transition(ArticleStatus.DRAFT, ArticleStatus.DRAFT)
    assert raised.value.allowed == ["published", "retired"]


def test_only_agents_of_the_provider_write(kb: Kb, world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.create_article(
            actor=Actor(user=world.requester_user), organisation=world.provider, title="Mine", body="x"
        )
    with pytest.raises(NotFound):
        services.create_article(
            actor=Actor(user=world.other_provider_agent), organisation=world.provider, title="Theirs", body="x"
        )
    with pytest.raises(NotFound):
        services.revise_article(actor=Actor(user=world.other_provider_agent), article=kb.outlook, title="Hijacked")
    with pytest.raises(DomainError, match="provider"):
        services.create_article(actor=Actor.system(), organisation=world.client, title="Client KB", body="x")
    with pytest.raises(DomainError, match="not a client"):
        services.create_article(
            actor=Actor.system(),
            organisation=world.provider,
            title="For the rival's client",
            body="x",
            audience=[world.other_provider_client],
        )
    with pytest.raises(DomainError, match="visibility"):
        services.create_article(
            actor=Actor.system(), organisation=world.provider, title="Odd", body="x", visibility="public"
        )


def _visible(user: object | None) -> set[str]:
    return set(Article.objects.visible_to(Actor(user=user)).values_list("title", flat=True))  # type: ignore[arg-type]


def test_who_reads_what(kb: Kb, world: World) -> None:
    public = {kb.outlook.title}
    # Requester of the hospital: public articles and the one written for the hospital.
    assert _visible(world.requester_user) == public | {kb.vpn.title}
    # Requester of the bank (same provider): not the hospital's VPN article.
    assert _visible(world.other_requester_user) == public
    # Agent of the provider: everything of the provider, drafts and internal ones too.
    assert _visible(world.agent) == {a.title for a in (kb.outlook, kb.vpn, kb.printer_draft, kb.escalation)}
    # Another provider's agent: only their own.
    assert _visible(world.other_provider_agent) == {kb.rival.title}
    assert _visible(None) == set()
    # Loading by slug or id follows the same rule and never hints that it exists.
    assert access_article(Actor(user=world.requester_user), kb.vpn.slug) == kb.vpn
    assert access_article(Actor(user=world.agent), str(kb.escalation.pk)) == kb.escalation
    for user, article in [
        (world.other_requester_user, kb.vpn),
        (world.requester_user, kb.escalation),
        (world.requester_user, kb.printer_draft),
        (world.other_provider_agent, kb.outlook),
        (None, kb.outlook),
    ]:
        with pytest.raises(NotFound):
            access_article(Actor(user=user), article.slug)
        with pytest.raises(NotFound):
            access_article(Actor(user=user), article.pk)


def test_a_published_known_error_becomes_an_article_and_follows_it(world: World) -> None:
    agent = Actor(user=world.agent)
    known_error = problems.record_known_error(
        actor=agent,
        title="VPN disconnects every 10 minutes",
        symptoms="The VPN drops about every 10 minutes when working from home.",
        workaround="Choose the Home - TCP profile.",
        root_cause="The gateway's idle timeout is too short.",
    )
    article = services.publish_known_error(actor=agent, known_error=known_error)
    assert article.source == ArticleSource.KNOWN_ERROR and article.known_error == known_error
    assert article.visibility == Visibility.INTERNAL and article.status == ArticleStatus.PUBLISHED
    assert "## Workaround\n\nChoose the Home - TCP profile." in article.body
    assert "## Cause" in article.body
    problems.update_known_error(
        actor=agent, known_error=known_error, changes=problems.KnownErrorChanges(workaround="Use the new client 5.1.")
    )
    known_error.refresh_from_db()
    again = services.publish_known_error(actor=agent, known_error=known_error, visibility=Visibility.REQUESTERS)
    assert again.pk == article.pk and again.version == 2 and "Use the new client 5.1." in again.body
    assert again.visibility == Visibility.REQUESTERS
    with pytest.raises(PermissionDenied):
        services.publish_known_error(actor=Actor(user=world.requester_user), known_error=known_error)


def test_markdown_is_rendered_safely(world: World) -> None:
    article = services.create_article(
        actor=Actor.system(),
        organisation=world.provider,
        title="Formatting",
        body="**Bold** <script>alert(1)</script> [link](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )
    html = render_article(article)
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_views_feedback_and_help_sessions_are_counted(kb: Kb, world: World) -> None:
    requester = Actor(user=world.requester_user)
    services.record_article_view(actor=requester, article=kb.outlook, source="portal", session_key="s1")
    services.record_article_view(actor=requester, article=kb.outlook, source="chat", session_key="s1")
    view = ArticleView.objects.filter(article=kb.outlook).first()
    assert view is not None and view.organisation_id == world.client.pk and view.user == world.requester_user
    services.record_feedback(actor=requester, article=kb.outlook, helpful=False, comment="Still asks")
    services.record_feedback(actor=requester, article=kb.outlook, helpful=True)  # changed their mind
    kb.outlook.refresh_from_db()
    assert (kb.outlook.views, kb.outlook.helpful, kb.outlook.unhelpful) == (2, 1, 0)
    assert ArticleFeedback.objects.filter(article=kb.outlook).count() == 1
    session = HelpSession.objects.get(session_key="s1")
    assert session.articles_viewed == 2 and session.ticket is None and session.organisation_id == world.client.pk
    ticket = open_ticket(world.requester, title="Outlook still asks for my password")
    services.record_ticket_submitted(session_key="s1", ticket=ticket)
    session.refresh_from_db()
    assert session.ticket == ticket
    with pytest.raises(DomainError, match="source"):
        services.record_article_view(actor=requester, article=kb.outlook, source="fax")
