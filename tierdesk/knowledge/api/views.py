"""Knowledge articles under /api/v1/kb/articles/ and ranked search under /api/v1/kb/search/.

Everyone signed in reads what `Article.objects.visible_to` lets them; the provider's agents also
write (create, revise, publish, retire) through the services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, ProblemAutoSchema, ScopedViewSet
from tierdesk.knowledge import services
from tierdesk.knowledge.access import access_article, access_knowledge_base
from tierdesk.knowledge.api.serializers import (
    ArticleCreateInput,
    ArticleSerializer,
    ArticleSummarySerializer,
    ArticleUpdateInput,
    SearchQueryInput,
    SearchResultSerializer,
)
from tierdesk.knowledge.choices import ReadSource
from tierdesk.knowledge.filters import ArticleFilterSet
from tierdesk.knowledge.models import Article
from tierdesk.knowledge.search import search_articles

PAGE_SIZE = OpenApiParameter("page_size", int, description="At most 200.")
SLUG_OR_ID = "[-a-zA-Z0-9_]+"


@extend_schema(tags=["knowledge"])
class ArticleViewSet(ScopedViewSet, mixins.ListModelMixin):
    queryset = Article.objects.none()
    serializer_class = ArticleSummarySerializer
    filterset_class = ArticleFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_OR_ID

    def scoped_queryset(self, actor: Actor) -> QuerySet[Article]:
        return Article.objects.visible_to(actor).for_list()

    def _detail(self, slug: str) -> Article:
        return access_article(self.actor, slug)

    def _read(self, article: Article, status: int = 200) -> Response:
        article = access_article(self.actor, article.pk)  # fresh, with what the detail needs
        data = ArticleSerializer(article, context={"actor": self.actor}).data
        return Response(data, status=status)

    @extend_schema(summary="List the knowledge articles you may read", parameters=[PAGE_SIZE])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Read a knowledge article (by slug or id); counted as a view",
        responses={200: ArticleSerializer, 404: PROBLEM},
    )
    def retrieve(self, request: Request, slug: str) -> Response:
        article = self._detail(slug)
        services.record_article_view(actor=self.actor, article=article, source=ReadSource.API)
        return Response(ArticleSerializer(article, context={"actor": self.actor}).data)

    @extend_schema(
        summary="Write a knowledge article (agents of the provider)",
        request=ArticleCreateInput,
        responses={201: ArticleSerializer, 400: PROBLEM, 403: PROBLEM},
    )
    def create(self, request: Request) -> Response:
        provider = access_knowledge_base(self.actor)
        data = ArticleCreateInput(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        article = services.create_article(actor=self.actor, organisation=provider, **data.validated_data)
        response = self._read(article, status=201)
        response["Location"] = reverse("api:kb-article-detail", kwargs={"slug": article.slug})
        return response

    @extend_schema(
        summary="Revise an article, or publish, retire or withdraw it (agents of the provider)",
        request=ArticleUpdateInput,
        responses={200: ArticleSerializer, 400: PROBLEM, 403: PROBLEM, 404: PROBLEM},
    )
    def partial_update(self, request: Request, slug: str) -> Response:
        article = self._detail(slug)
        access_knowledge_base(self.actor)  # requesters: 403 before anything is validated
        data = ArticleUpdateInput(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        status = changes.pop("status", None)
        article = services.revise_article(actor=self.actor, article=article, **changes)
        if status is not None:
            article = services.set_article_status(actor=self.actor, article=article, status=status)
        return self._read(article)


class _OneDocumentSchema(ProblemAutoSchema):
    """The search answers one document (the query and its hits), not a list of items."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


@extend_schema(tags=["knowledge"])
class KnowledgeSearchViewSet(ScopedViewSet):
    """Ranked search over the articles you may read; each search is counted for Tier 0 reports."""

    schema = _OneDocumentSchema()
    queryset = Article.objects.none()
    serializer_class = SearchResultSerializer
    pagination_class = None

    def scoped_queryset(self, actor: Actor) -> QuerySet[Article]:
        return Article.objects.searchable_by(actor)

    @extend_schema(
        summary="Search the knowledge base",
        parameters=[
            OpenApiParameter("q", str, description="What the person typed; without it there are no results."),
            OpenApiParameter("limit", int, description="1 to 50; 10 by default."),
        ],
        responses={200: SearchResultSerializer, 400: PROBLEM},
    )
    def list(self, request: Request) -> Response:
        data = SearchQueryInput(data=request.query_params.dict())
        data.is_valid(raise_exception=True)
        query, limit = data.validated_data["q"], data.validated_data["limit"]
        # Nothing typed, nothing searched (and nothing logged as a search that found nothing).
        hits = search_articles(query, actor=self.actor, limit=limit, source=ReadSource.API) if query.strip() else []
        return Response(SearchResultSerializer({"query": query, "results": hits}).data)
