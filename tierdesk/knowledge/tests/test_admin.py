"""The admin writes articles and categories through the services: versioned, indexed, audited."""

from __future__ import annotations

from django.test import Client

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.knowledge.models import Article, ArticleCategory
from tierdesk.knowledge.search import search_articles
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.testing.fixtures import World


def _admin(world: World) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


def _form(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "summary": "",
        "status": "published",
        "visibility": "requesters",
        "category": "",
        "attribution": "",
        "articleversion_set-TOTAL_FORMS": "0",
        "articleversion_set-INITIAL_FORMS": "0",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    base.update(values)
    return base


def test_adding_and_editing_go_through_the_services(world: World, kb: Kb) -> None:
    client = _admin(world)
    response = client.post(
        "/admin/knowledge/articlecategory/add/", {"organisation": world.provider.pk, "name": "Printing", "slug": ""}
    )
    assert response.status_code == 302, response.content
    category = ArticleCategory.objects.get(slug="printing")
    response = client.post(
        "/admin/knowledge/article/add/",
        _form(
            organisation=world.provider.pk,
            title="Toner low warning",
            body="Order toner from the portal.",
            category=category.pk,
            audience=[world.client.pk],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(title="Toner low warning")
    assert article.version == 1 and list(article.audience.all()) == [world.client]
    response = client.post(
        f"/admin/knowledge/article/{article.pk}/change/",
        _form(title="Toner low warning", body="Order toner from the portal, item 4711.", status="retired"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    assert article.version == 2 and article.status == "retired" and not article.audience.exists()
    assert [v.change_note for v in article.versions.all()] == ["Edited in the admin", "Created"]
    actions = list(
        AuditEvent.objects.filter(object_id=str(article.pk), object_type="knowledge.article").values_list(
            "action", flat=True
        )
    )
    assert actions == ["article.created", "article.revised", "article.status_changed"]
    assert search_articles("4711", actor=Actor(user=world.agent), log=False) == []  # retired
    # A refusal by a service is a message, not a server error.
    response = client.post(
        "/admin/knowledge/article/add/",
        _form(organisation=world.provider.pk, title="Foreign", body="x", audience=[world.other_provider_client.pk]),
    )
    assert response.status_code == 302 and not Article.objects.filter(title="Foreign").exists()
    assert client.get(f"/admin/knowledge/article/{kb.outlook.pk}/change/").status_code == 200
    assert client.get("/admin/knowledge/article/").status_code == 200
