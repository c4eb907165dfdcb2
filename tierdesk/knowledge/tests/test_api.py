"""/api/v1/kb/articles/ and /api/v1/kb/search/: who reads, who writes, pinned query counts."""

from __future__ import annotations

import pytest

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.knowledge import services
from tierdesk.knowledge.models import Article, ArticleView, SearchLog
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.testing.fixtures import World, api_client_for, count_queries

# Token with its user, scope (2), the page of articles with their categories.
LIST_QUERIES = 4
# Token with its user, scope (2), the ranked ids, the articles with their categories, the search log.
SEARCH_QUERIES = 6


@pytest.mark.parametrize("n", [2, 20])
def test_lists_and_search_have_pinned_query_counts(world: World, n: int) -> None:
    category = services.ensure_category(actor=Actor.system(), organisation=world.provider, name="Mail")
    for i in range(n):
        services.create_article(
            actor=Actor.system(),
            organisation=world.provider,
            title=f"Mailbox full {i}",
            body="Archive old mail.",
            category=category,
        )
    api = api_client_for(world.agent)
    api.get("/api/v1/kb/articles/")  # the token's last use is written once a minute, not on every request
    assert count_queries(lambda: api.get("/api/v1/kb/articles/")) == LIST_QUERIES
    assert count_queries(lambda: api.get("/api/v1/kb/search/?q=mailbox+full&limit=50")) == SEARCH_QUERIES
    body = api.get("/api/v1/kb/articles/").json()
    assert len(body["results"]) == n and body["results"][0]["category"]["name"] == "Mail"


def _slugs(user: object, url: str = "/api/v1/kb/articles/") -> set[str]:
    response = api_client_for(user).get(url)  # type: ignore[arg-type]
    assert response.status_code == 200, response.content
    return {row["slug"] for row in response.json()["results"]}


def test_the_read_matrix(kb: Kb, world: World) -> None:
    assert _slugs(world.requester_user) == {kb.outlook.slug, kb.vpn.slug}
    assert _slugs(world.other_requester_user) == {kb.outlook.slug}
    assert _slugs(world.agent) == {kb.outlook.slug, kb.vpn.slug, kb.printer_draft.slug, kb.escalation.slug}
    assert _slugs(world.other_provider_agent) == {kb.rival.slug}
    assert api_client_for(None).get("/api/v1/kb/articles/").status_code == 401
    for user, article, status in [
        (world.requester_user, kb.vpn, 200),
        (world.other_requester_user, kb.vpn, 404),
        (world.requester_user, kb.escalation, 404),
        (world.agent, kb.escalation, 200),
        (world.other_provider_agent, kb.outlook, 404),
    ]:
        for key in (article.slug, article.pk):
            response = api_client_for(user).get(f"/api/v1/kb/articles/{key}/")
            assert response.status_code == status, (user, article.title, key)
    read = api_client_for(world.requester_user).get(f"/api/v1/kb/articles/{kb.vpn.slug}/").json()
    assert "<p>Open AnyConnect" in read["body_html"] and read["audience"] == [world.client.pk]
    assert ArticleView.objects.filter(article=kb.vpn, source="api").count() == 3


def test_filters_and_q(kb: Kb, world: World) -> None:
    assert _slugs(world.agent, "/api/v1/kb/articles/?status=draft") == {kb.printer_draft.slug}
    assert _slugs(world.agent, "/api/v1/kb/articles/?visibility=internal") == {kb.escalation.slug}
    assert _slugs(world.agent, "/api/v1/kb/articles/?q=anyconnect") == {kb.vpn.slug}
    response = api_client_for(world.agent).get("/api/v1/kb/articles/?status=archived")
    assert response.status_code == 400


def test_search_endpoint(kb: Kb, world: World) -> None:
    api = api_client_for(world.requester_user)
    body = api.get("/api/v1/kb/search/", {"q": "Why does Outlook keep asking for my password?"}).json()
    assert body["results"][0]["article"]["slug"] == kb.outlook.slug
    assert body["results"][0]["score"] > 0 and body["results"][0]["snippet"]
    assert {hit["article"]["slug"] for hit in body["results"]} <= {kb.outlook.slug, kb.vpn.slug}
    assert SearchLog.objects.get().source == "api"
    assert api.get("/api/v1/kb/search/").json() == {"query": "", "results": []}
    assert SearchLog.objects.count() == 1
    assert api.get("/api/v1/kb/search/", {"q": "x", "limit": 500}).status_code == 400
    assert api.get("/api/v1/kb/search/", {"q": '") OR 1=1 --'}).status_code == 200
    other = api_client_for(world.other_provider_agent).get("/api/v1/kb/search/", {"q": "outlook password"}).json()
    assert [hit["article"]["slug"] for hit in other["results"]] == [kb.rival.slug]


def test_agents_write_requesters_and_other_providers_do_not(kb: Kb, world: World) -> None:
    api = api_client_for(world.agent)
    response = api.post(
        "/api/v1/kb/articles/",
        {"title": "Map a network drive", "body": "Open **File Explorer**.", "audience": [world.other_client.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["version"] == 1 and created["audience"] == [world.other_client.pk]
    assert response["Location"].endswith(f"/api/v1/kb/articles/{created['slug']}/")
    patched = api.patch(
        f"/api/v1/kb/articles/{created['slug']}/",
        {"body": "Open File Explorer, then Map network drive.", "change_note": "More precise", "status": "retired"},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["version"] == 2 and patched.json()["status"] == "retired"
    assert AuditEvent.objects.filter(action__startswith="article.", object_id=str(created["id"])).count() == 3
    # Bad input is refused with a reason.
    bad = api.post("/api/v1/kb/articles/", {"title": "X", "body": "Y", "colour": "red"}, format="json")
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]
    foreign = api.post(
        "/api/v1/kb/articles/", {"title": "X", "body": "Y", "audience": [world.other_provider_client.pk]}, format="json"
    )
    assert foreign.status_code == 400
    illegal = api.patch(f"/api/v1/kb/articles/{kb.printer_draft.slug}/", {"status": "draft"}, format="json")
    assert illegal.status_code == 200  # already a draft: nothing to do
    # Requesters may not write; another provider's agent does not even find the article.
    requester = api_client_for(world.requester_user)
    assert requester.post("/api/v1/kb/articles/", {"title": "X", "body": "Y"}, format="json").status_code == 403
    assert requester.patch(f"/api/v1/kb/articles/{kb.outlook.slug}/", {"title": "Z"}, format="json").status_code == 403
    rival = api_client_for(world.other_provider_agent)
    assert rival.patch(f"/api/v1/kb/articles/{kb.outlook.slug}/", {"title": "Z"}, format="json").status_code == 404
    assert Article.objects.get(pk=kb.outlook.pk).title == kb.outlook.title
