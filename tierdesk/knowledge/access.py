"""The only way to load a knowledge article or category that a person names."""

from __future__ import annotations

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound, PermissionDenied
from tierdesk.knowledge.models import Article, ArticleCategory
from tierdesk.tenancy.models import Organisation


def access_article(actor: Actor, slug_or_id: str | int) -> Article:
    """An article this person may read, by id or slug; else NotFound (never a hint that it exists)."""
    qs = Article.objects.visible_to(actor).for_detail()
    article = None
    if isinstance(slug_or_id, int) or str(slug_or_id).isdigit():
        article = qs.filter(pk=int(slug_or_id)).first()
    if article is None and isinstance(slug_or_id, str) and slug_or_id:
        article = qs.filter(slug=slug_or_id[:100]).first()
    if article is None:
        raise NotFound("No such article, or you may not see it.")
    return article


def access_category(actor: Actor, slug_or_id: str | int) -> ArticleCategory:
    qs = ArticleCategory.objects.visible_to(actor)
    category = None
    if isinstance(slug_or_id, int) or str(slug_or_id).isdigit():
        category = qs.filter(pk=int(slug_or_id)).first()
    if category is None and isinstance(slug_or_id, str) and slug_or_id:
        category = qs.filter(slug=slug_or_id[:80]).first()
    if category is None:
        raise NotFound("No such category, or you may not see it.")
    return category


def access_knowledge_base(actor: Actor) -> Organisation:
    """The provider whose knowledge base this agent writes in; requesters have none to write in."""
    scope = scope_for(actor)
    if not scope.is_agent_side or scope.provider_id is None:
        raise PermissionDenied("Only agents may write knowledge articles.")
    provider = Organisation.objects.filter(pk=scope.provider_id).first()
    if provider is None:
        raise NotFound("No such knowledge base.")
    return provider
