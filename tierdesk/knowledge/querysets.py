"""Reads of knowledge articles, named for what they are for. Scope always comes first.

Articles belong to the provider. Its agents see all of them (drafts and internal ones too);
a requester sees the provider's published articles written for requesters whose audience is
empty (every client) or names the requester's organisation. Nobody sees another provider's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.knowledge.choices import ArticleStatus, Visibility

if TYPE_CHECKING:
    from tierdesk.knowledge.models import Article, ArticleCategory  # noqa: F401


class ArticleQuerySet(models.QuerySet["Article"]):
    def visible_to(self, actor: Actor) -> ArticleQuerySet:
        scope = scope_for(actor)
        if scope.provider_id is None:
            return self.none()
        mine = self.filter(organisation_id=scope.provider_id)
        if scope.is_agent_side:
            return mine
        from tierdesk.knowledge.models import Article

        # Uncorrelated subqueries: the database reads the audience table once (a hashed set)
        # instead of probing it per article, as a correlated EXISTS would (search ranks thousands).
        audience = Article.audience.through.objects.all()
        written_for_me = audience.filter(organisation_id__in=scope.member_organisation_ids)
        return mine.filter(status=ArticleStatus.PUBLISHED, visibility=Visibility.REQUESTERS).filter(
            ~models.Q(pk__in=audience.values("article_id")) | models.Q(pk__in=written_for_me.values("article_id"))
        )

    def searchable_by(self, actor: Actor) -> ArticleQuerySet:
        """What search may return to this person: published articles only, even for agents."""
        return self.visible_to(actor).published()

    def published(self) -> ArticleQuerySet:
        return self.filter(status=ArticleStatus.PUBLISHED)

    def of_provider(self, provider_id: int) -> ArticleQuerySet:
        return self.filter(organisation_id=provider_id)

    def for_list(self) -> ArticleQuerySet:
        return self.select_related("category").defer("body")

    def for_detail(self) -> ArticleQuerySet:
        return self.select_related("category", "known_error")


class ArticleCategoryQuerySet(models.QuerySet["ArticleCategory"]):
    def visible_to(self, actor: Actor) -> ArticleCategoryQuerySet:
        scope = scope_for(actor)
        return self.none() if scope.provider_id is None else self.filter(organisation_id=scope.provider_id)

    def of_provider(self, provider_id: int) -> ArticleCategoryQuerySet:
        return self.filter(organisation_id=provider_id)
