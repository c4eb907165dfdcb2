"""The knowledge base's pages through Django's test client: the portal's help articles and the
deflection on the new-ticket form, the console's article management, the ticket page's
suggested articles and "Publish as article" on a known error."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from tierdesk.accounts.models import Requester
from tierdesk.cmdb.models import BusinessService
from tierdesk.core.actor import Actor
from tierdesk.knowledge import services
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, Visibility
from tierdesk.knowledge.models import Article, ArticleFeedback, ArticleView, HelpSession, SearchLog
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.problems import services as problems
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, count_queries, shared_data
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import TicketStatus
from tierdesk.tickets.models import Category, Ticket

HTMX = {"HTTP_HX_REQUEST": "true"}

# Session, user, scope (provider, requester), article counts per category, the categories,
# the page's count and rows, announcements.
PORTAL_HOME_QUERIES = 9
# Session, user, scope (2), the article (with category and known error), the view (insert, counter,
# the help session, its counter), the related services, announcements.
PORTAL_ARTICLE_QUERIES = 11
# Session, user, scope (2), the categories of the filter, count, page.
CONSOLE_LIST_QUERIES = 7
# Session, user, scope (2), the article, its versions, the related services, the audience.
CONSOLE_DETAIL_QUERIES = 8


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def _session_key(client: Client) -> str:
    return str(client.session.session_key)


# --- the portal ---------------------------------------------------------------------------------


def test_requesters_browse_only_what_is_written_for_them(kb: Kb, world: World) -> None:
    page = _html(_client(world.requester_user).get("/kb/"))
    assert kb.outlook.title in page and kb.vpn.title in page
    for hidden in (kb.printer_draft, kb.escalation, kb.rival):
        assert hidden.title not in page
    # The VPN article is for the hospital only: the bank's requester neither lists nor opens it.
    bank = _client(world.other_requester_user)
    assert kb.vpn.title not in _html(bank.get("/kb/"))
    assert bank.get(f"/kb/{kb.vpn.slug}/").status_code == 404
    rita = _client(world.requester_user)
    for hidden in (kb.printer_draft, kb.escalation, kb.rival):
        assert rita.get(f"/kb/{hidden.slug}/").status_code == 404
    assert rita.get("/kb/no-such-article/").status_code == 404


def test_anonymous_people_sign_in_and_agents_go_to_the_console(kb: Kb, world: World) -> None:
    response = Client().get("/kb/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    agent = _client(world.agent)
    assert agent.get("/kb/")["Location"] == "/kb/console/"
    assert agent.get(f"/kb/{kb.outlook.slug}/")["Location"] == f"/kb/console/{kb.outlook.pk}/"


def test_browse_by_category(kb: Kb, world: World) -> None:
    system = Actor.system("command")
    mail = services.ensure_category(actor=system, organisation=world.provider, name="E-mail")
    services.revise_article(actor=system, article=kb.outlook, category=mail)
    client = _client(world.requester_user)
    home = _html(client.get("/kb/"))
    assert f"?category={mail.slug}" in home and "Other" in home
    in_mail = _html(client.get(f"/kb/?category={mail.slug}"))
    assert kb.outlook.title in in_mail and kb.vpn.title not in in_mail
    other = _html(client.get("/kb/?category=-"))
    assert kb.vpn.title in other and kb.outlook.title not in other
    assert client.get("/kb/?category=no-such").status_code == 404


def test_a_submitted_search_is_logged_and_live_results_are_not(kb: Kb, world: World) -> None:
    client = _client(world.requester_user)
    page = _html(client.get("/kb/?q=outlook+password+prompt"))
    assert kb.outlook.title in page and kb.rival.title not in page
    log = SearchLog.objects.get()
    assert (log.query, log.result_count, log.source) == ("outlook password prompt", 1, "portal")
    assert log.session_key == _session_key(client)
    assert "No article matches" in _html(client.get("/kb/?q=zebra+grooming"))
    assert SearchLog.objects.filter(result_count=0).count() == 1

    live = _html(client.get("/kb/search/?q=outlook", **HTMX))  # type: ignore[arg-type]
    assert kb.outlook.title in live and "<html" not in live
    assert "No article matches" in _html(client.get("/kb/search/?q=zebra", **HTMX))  # type: ignore[arg-type]
    assert _html(client.get("/kb/search/?q=ou", **HTMX)).strip() == ""  # type: ignore[arg-type]
    assert SearchLog.objects.count() == 2
    # Without htmx the live URL leads to the full results.
    assert client.get("/kb/search/?q=outlook")["Location"] == "/kb/?q=outlook"


def test_the_article_page_counts_the_view_and_shows_attribution_and_services(kb: Kb, world: World) -> None:
    email = BusinessService.objects.create(organisation=world.provider, name="E-mail")
    article = services.revise_article(
        actor=Actor.system("command"),
        article=kb.outlook,
        services=[email],
        attribution="Based on Microsoft Learn content, licensed under CC BY 4.0.",
    )
    client = _client(world.requester_user)
    page = _html(client.get(f"/kb/{article.slug}/"))
    assert "<h2>Resolution</h2>" in page and "Credential Manager" in page
    assert 'id="kb-attribution"' in page and "licensed under CC BY 4.0" in page
    assert 'id="kb-services"' in page and "E-mail" in page
    assert "Did this help?" in page
    view = ArticleView.objects.get()
    assert (view.article_id, view.source, view.session_key) == (article.pk, "portal", _session_key(client))
    assert HelpSession.objects.get(session_key=_session_key(client)).articles_viewed == 1
    article.refresh_from_db()
    assert article.views == 1
    # Without attribution there is no attribution footer.
    assert 'id="kb-attribution"' not in _html(client.get(f"/kb/{kb.vpn.slug}/"))


def test_did_this_help(kb: Kb, world: World) -> None:
    client = _client(world.requester_user)
    url = f"/kb/{kb.outlook.slug}/feedback/"
    answer = _html(client.post(url, {"helpful": "yes"}, **HTMX))  # type: ignore[arg-type]
    assert "Glad it helped" in answer
    # A second answer replaces the first (the services keep one per person).
    response = client.post(url, {"helpful": "no", "comment": "The entries are called MSOffice16 here."})
    assert response.status_code == 302 and response["Location"] == f"/kb/{kb.outlook.slug}/"
    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "The entries are called MSOffice16 here.")
    kb.outlook.refresh_from_db()
    assert (kb.outlook.helpful, kb.outlook.unhelpful) == (0, 1)
    refused = _html(client.post(url, {"comment": "no answer"}, **HTMX))  # type: ignore[arg-type]
    assert "Choose Yes or No." in refused and ArticleFeedback.objects.count() == 1
    assert client.get(url).status_code == 405
    assert (
        _client(world.other_requester_user).post(f"/kb/{kb.vpn.slug}/feedback/", {"helpful": "yes"}).status_code == 404
    )


def test_deflection_suggests_articles_and_a_submitted_ticket_ends_the_help_session(kb: Kb, world: World) -> None:
    client = _client(world.requester_user)
    form = _html(client.get("/portal/new/"))
    assert 'id="kb-deflection"' in form and "/kb/suggest/" in form
    hits = _html(client.get("/kb/suggest/?title=Outlook+keeps+asking+for+my+password", **HTMX))  # type: ignore[arg-type]
    assert "These articles may solve it" in hits and kb.outlook.title in hits
    assert f'href="/kb/{kb.outlook.slug}/" target="_blank"' in hits
    assert kb.escalation.title not in hits and kb.rival.title not in hits
    assert _html(client.get("/kb/suggest/?title=Ou", **HTMX)).strip() == ""  # type: ignore[arg-type]
    assert SearchLog.objects.count() == 0  # typing is not searching

    client.get(f"/kb/{kb.outlook.slug}/")
    session = HelpSession.objects.get(session_key=_session_key(client))
    assert session.articles_viewed == 1 and session.ticket is None
    response = client.post(
        "/portal/new/",
        {
            "area": Category.objects.get(name="Software", parent=None).pk,
            "title": "Outlook still asks for my password",
            "description": "Tried the article.",
            "impact": "low",
            "urgency": "medium",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get(title="Outlook still asks for my password")
    session.refresh_from_db()
    assert session.ticket == ticket


# --- the console --------------------------------------------------------------------------------


def test_the_console_list_filters(kb: Kb, world: World) -> None:
    client = _client(world.agent)
    page = _html(client.get("/kb/console/"))
    for article in (kb.outlook, kb.vpn, kb.printer_draft, kb.escalation):
        assert article.title in page
    assert kb.rival.title not in page
    drafts = _html(client.get("/kb/console/?status=draft"))
    assert kb.printer_draft.title in drafts and kb.outlook.title not in drafts
    internal = _html(client.get("/kb/console/?visibility=internal"))
    assert kb.escalation.title in internal and kb.vpn.title not in internal
    found = _html(client.get("/kb/console/?q=vpn&status=&visibility="))
    assert kb.vpn.title in found and kb.outlook.title not in found
    # The search finds drafts by their title, and published articles by what their body says.
    assert kb.printer_draft.title in _html(client.get("/kb/console/?q=printer"))
    by_body = _html(client.get("/kb/console/?q=credential+manager"))
    assert kb.outlook.title in by_body and kb.vpn.title not in by_body
    category = services.ensure_category(actor=Actor(user=world.agent), organisation=world.provider, name="Network")
    services.revise_article(actor=Actor(user=world.agent), article=kb.vpn, category=category)
    filed = _html(client.get(f"/kb/console/?category={category.slug}"))
    assert kb.vpn.title in filed and kb.outlook.title not in filed
    # Requesters are not let in.
    assert _client(world.requester_user).get("/kb/console/")["Location"] == "/"
    assert _client(world.requester_user).post("/kb/console/new/", {}).status_code == 403


def test_write_revise_compare_and_publish(kb: Kb, world: World) -> None:
    client = _client(world.agent)
    assert "Write an article" in _html(client.get("/kb/console/new/"))
    response = client.post(
        "/kb/console/new/",
        {
            "title": "Reset your MFA device",
            "summary": "When you have a new phone.",
            "body": "1. Open the security page.\n2. Remove the old phone.\n",
            "status": "draft",
            "visibility": "requesters",
            "audience": [world.client.pk],
            "attribution": "",
            "change_note": "",
        },
    )
    article = Article.objects.get(title="Reset your MFA device")
    assert response["Location"] == f"/kb/console/{article.pk}/"
    assert article.status == ArticleStatus.DRAFT and article.version == 1
    assert list(article.audience.all()) == [world.client]
    assert article.organisation == world.provider and article.source == ArticleSource.MANUAL

    edit = _html(client.get(f"/kb/console/{article.pk}/edit/"))
    assert "Remove the old phone." in edit and f'value="{world.client.pk}" selected' in edit
    response = client.post(
        f"/kb/console/{article.pk}/edit/",
        {
            "title": "Reset your MFA device",
            "summary": "When you have a new phone.",
            "body": "1. Open the security page.\n2. Remove the old phone.\n3. Add the new phone.\n",
            "visibility": "requesters",
            "audience": [world.client.pk],
            "change_note": "Added the last step",
        },
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.version == 2
    detail = _html(client.get(f"/kb/console/{article.pk}/"))
    assert "Added the last step" in detail
    assert "Changes from version 1 to 2" in detail
    assert '<span class="visually-hidden">Added: </span>+3. Add the new phone.' in detail
    same = _html(client.get(f"/kb/console/{article.pk}/?from=2&to=2"))
    assert "Changes from version" not in same

    # Invalid input comes back with the errors and nothing saved.
    refused = _html(client.post(f"/kb/console/{article.pk}/edit/", {"title": "", "body": "", "visibility": "x"}))
    assert "form-errors" in refused
    article.refresh_from_db()
    assert article.version == 2

    for status, label in (("published", "published"), ("retired", "retired"), ("draft", "draft")):
        response = client.post(f"/kb/console/{article.pk}/status/", {"status": status})
        assert response["Location"] == f"/kb/console/{article.pk}/"
        article.refresh_from_db()
        assert article.status == status
        assert f"is now {label}" in _html(client.get(f"/kb/console/{article.pk}/"))
    client.post(f"/kb/console/{article.pk}/status/", {"status": "nonsense"})
    article.refresh_from_db()
    assert article.status == ArticleStatus.DRAFT


def test_another_providers_agent_sees_nothing(kb: Kb, world: World) -> None:
    rival = _client(world.other_provider_agent)
    assert rival.get(f"/kb/console/{kb.outlook.pk}/").status_code == 404
    assert rival.get(f"/kb/console/{kb.outlook.pk}/edit/").status_code == 404
    assert rival.post(f"/kb/console/{kb.outlook.pk}/status/", {"status": "retired"}).status_code == 404
    assert kb.outlook.title not in _html(rival.get("/kb/console/"))
    kb.outlook.refresh_from_db()
    assert kb.outlook.status == ArticleStatus.PUBLISHED


def test_publish_a_known_error_from_the_problem_page(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = problems.create_problem(actor=agent, title="VPN drops", owner_group=world.group)
    known_error = problems.record_known_error(
        actor=agent,
        problem=problem,
        title="VPN disconnects every 10 minutes",
        symptoms="The VPN drops about every 10 minutes.",
        workaround="Choose the Home - TCP profile.",
    )
    client = _client(world.agent)
    page = _html(client.get(f"/console/problems/{problem.number}/"))
    assert "Publish as article" in page
    response = client.post(f"/kb/console/known-errors/{known_error.pk}/publish/", {"visibility": "requesters"})
    article = Article.objects.get(known_error=known_error)
    assert response["Location"] == f"/kb/console/{article.pk}/"
    assert article.source == ArticleSource.KNOWN_ERROR and article.visibility == Visibility.REQUESTERS
    assert article.status == ArticleStatus.PUBLISHED
    page = _html(client.get(f"/console/problems/{problem.number}/"))
    assert f'href="/kb/console/{article.pk}/"' in page and "Update the article" in page
    detail = _html(client.get(f"/kb/console/{article.pk}/"))
    assert problem.number in detail and "Choose the Home - TCP profile." in detail
    assert _client(world.requester_user).post(f"/kb/console/known-errors/{known_error.pk}/publish/").status_code == 403
    assert (
        _client(world.other_provider_agent).post(f"/kb/console/known-errors/{known_error.pk}/publish/").status_code
        == 404
    )


# --- the ticket page ----------------------------------------------------------------------------


def test_the_ticket_page_suggests_articles_and_inserts_one_into_the_reply(kb: Kb, world: World) -> None:
    ticket = open_ticket(world.requester, title="Outlook keeps asking for my password", support_group=world.group)
    client = _client(world.agent)
    page = _html(client.get(f"/console/tickets/{ticket.number}/"))
    assert 'id="ticket-articles"' in page and kb.outlook.title in page
    assert kb.rival.title not in page and kb.printer_draft.title not in page

    url = f"/console/tickets/{ticket.number}/articles/{kb.outlook.pk}/insert/"
    composer = _html(client.post(url, {"body": "Hello Rita,"}, **HTMX))  # type: ignore[arg-type]
    assert 'id="composer"' in composer and 'hx-swap-oob="true"' in composer
    link = f"http://testserver/kb/{kb.outlook.slug}/"
    assert (
        f"Hello Rita,\n\n**{kb.outlook.title}**\n\n{kb.outlook.summary}\n\nStep by step in our help article: <{link}>"
        in html.unescape(composer)
    )
    view = ArticleView.objects.get()
    assert (view.article_id, view.source, view.user_id) == (kb.outlook.pk, "console", world.agent.pk)

    # An article the requester cannot open goes in as its steps, not as a link.
    internal = _html(client.post(f"/console/tickets/{ticket.number}/articles/{kb.escalation.pk}/insert/", **HTMX))  # type: ignore[arg-type]
    assert "Tier 1 cannot reset those passwords" in internal and "/kb/" not in internal.split("compose-body")[1][:2000]
    # Without htmx the whole page comes back with the composer filled.
    full = _html(client.post(url))
    assert "Step by step in our help article" in full and 'id="ticket-articles"' in full
    # Another provider's article, or one of the bank's tickets for the tier 1 agent, is not found.
    assert client.post(f"/console/tickets/{ticket.number}/articles/{kb.rival.pk}/insert/").status_code == 404
    assert _client(world.requester_user).post(url).status_code == 403


def test_the_vpn_article_is_inserted_as_steps_for_a_client_outside_its_audience(kb: Kb, world: World) -> None:
    bank_ticket = open_ticket(Requester.objects.get(email="bob@bank.test"), title="VPN from home")
    client = _client(world.supervisor)
    composer = _html(
        client.post(f"/console/tickets/{bank_ticket.number}/articles/{kb.vpn.pk}/insert/", **HTMX)  # type: ignore[arg-type]
    )
    assert "Home - TCP profile" in composer and "Step by step in our help article" not in composer


def test_a_closed_ticket_offers_no_insert(kb: Kb, world: World) -> None:
    ticket = open_ticket(world.requester, title="Outlook keeps asking for my password", support_group=world.group)
    tickets.transition(actor=Actor(user=world.agent), ticket=ticket, to_status=TicketStatus.CANCELLED, reason="dup")
    page = _html(_client(world.agent).get(f"/console/tickets/{ticket.number}/"))
    assert kb.outlook.title in page and "Insert into reply" not in page


# --- pinned query counts ------------------------------------------------------------------------


def _many(world: World, n: int) -> list[Article]:
    system = Actor.system("command")
    category = services.ensure_category(actor=system, organisation=world.provider, name="Printing")
    return [
        services.create_article(
            actor=system,
            organisation=world.provider,
            title=f"Printer tip {i}",
            body=f"Tip number {i}.",
            category=category if i % 2 else None,
            audience=[world.client] if i % 3 == 0 else [],
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [3, 30])
def test_portal_pages_have_pinned_query_counts(world: World, n: int) -> None:
    articles = _many(world, n)
    client = _client(world.requester_user)
    client.get("/kb/")
    assert count_queries(lambda: client.get("/kb/")) == PORTAL_HOME_QUERIES
    assert count_queries(lambda: client.get("/kb/?category=printing")) == PORTAL_HOME_QUERIES + 1
    client.get(f"/kb/{articles[0].slug}/")
    assert count_queries(lambda: client.get(f"/kb/{articles[0].slug}/")) == PORTAL_ARTICLE_QUERIES


@pytest.mark.parametrize("n", [3, 30])
def test_console_pages_have_pinned_query_counts(world: World, n: int) -> None:
    articles = _many(world, n)
    agent = Actor(user=world.agent)
    for i in range(n):
        articles[0] = services.revise_article(actor=agent, article=articles[0], body=f"Tip, take {i}.")
    client = _client(world.agent)
    client.get("/kb/console/")
    assert count_queries(lambda: client.get("/kb/console/")) == CONSOLE_LIST_QUERIES
    # A search adds the full-text ranking and the matched articles.
    assert count_queries(lambda: client.get("/kb/console/?status=published&q=tip")) == CONSOLE_LIST_QUERIES + 2
    assert count_queries(lambda: client.get(f"/kb/console/{articles[0].pk}/")) == CONSOLE_DETAIL_QUERIES


@pytest.mark.parametrize("n", [3, 30])
def test_the_ticket_page_with_suggestions_has_a_pinned_query_count(world: World, n: int) -> None:
    from tierdesk.console.tests.test_query_counts import TICKET_QUERIES

    system = Actor.system("command")
    for i in range(n):
        services.create_article(
            actor=system, organisation=world.provider, title=f"Printer offline, case {i}", body="Re-add it."
        )
    ticket = open_ticket(world.requester, title="Printer offline", support_group=world.group)
    client = _client(world.agent)
    page = _html(client.get(f"/console/tickets/{ticket.number}/"))
    assert page.count('class="border rounded p-2 mb-2 article-suggestion"') == 3
    # The ranked search, the matched articles, their audiences.
    assert count_queries(lambda: client.get(f"/console/tickets/{ticket.number}/")) == TICKET_QUERIES + 2


# --- the real Outlook articles ------------------------------------------------------------------

OUTLOOK_ATTRIBUTION = (
    "Content from Microsoft's OfficeDocs-Support repository (MicrosoftDocs/OfficeDocs-Support), © Microsoft, CC BY 4.0."
)


def test_imported_outlook_articles_are_browsed_searched_and_keep_their_attribution(world: World) -> None:
    from tierdesk.knowledge.importer import import_folder

    folder = shared_data("kb/outlook")
    import_folder(folder, provider=world.provider, actor=Actor.system("command"), attribution=OUTLOOK_ATTRIBUTION)
    client = _client(world.requester_user)
    home = _html(client.get("/kb/"))
    assert "?category=synchronization" in home and "Page 1 of" in home
    results = _html(client.get("/kb/?q=outlook+keeps+prompting+for+my+password"))
    first = re.search(r'<li class="kb-hit[^"]*">\s*<a class="fw-semibold" href="(/kb/[^"]+/)"', results)
    assert first is not None
    article = _html(client.get(first.group(1)))
    assert 'id="kb-attribution"' in article and "CC BY 4.0" in article
    assert article.index('id="kb-body"') < article.index('id="kb-attribution"') < article.index('id="kb-feedback"')
