"""Knowledge search behind one interface; the backend follows the database vendor.

SQLite uses FTS5 with bm25 (search/sqlite.py), PostgreSQL a weighted tsvector with ts_rank
(search/postgres.py). Both receive only the words `text.search_terms` cut out of the query,
combined with OR and ranked by relevance, so a long question still finds its article and an
article matching more of its words ranks higher. Visibility is part of the query itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from django.db import connection

from tierdesk.core.actor import Actor
from tierdesk.knowledge.models import Article
from tierdesk.knowledge.search import rerank
from tierdesk.knowledge.search.text import plain_text, search_terms, snippet

if TYPE_CHECKING:
    from tierdesk.tickets.models import Ticket

MAX_LIMIT = 50


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float
    snippet: str  # plain text around the match


def backend() -> ModuleType:
    if connection.vendor == "postgresql":
        from tierdesk.knowledge.search import postgres

        return postgres
    if connection.vendor == "sqlite":
        from tierdesk.knowledge.search import sqlite

        return sqlite
    raise NotImplementedError(f"No knowledge search for the {connection.vendor} database.")


def _search(query: str, actor: Actor, limit: int) -> list[SearchHit]:
    terms = search_terms(query)
    if not terms:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    visible = Article.objects.searchable_by(actor).values("id")
    if visible.query.is_empty():
        return []  # nobody (anonymous, inactive): nothing to search
    visible_sql, visible_params = visible.query.sql_with_params()
    reranking = rerank.enabled()  # optional, off by default: search/rerank.py
    fetch = max(limit, rerank.CANDIDATES) if reranking else limit
    ranked = backend().ranked_ids(terms, visible_sql, tuple(visible_params), fetch)
    if not ranked:
        return []
    articles = Article.objects.select_related("category").in_bulk([pk for pk, _ in ranked])
    found = [(articles[pk], score) for pk, score in ranked if pk in articles]
    if reranking:
        found = rerank.rerank(query, found)[:limit]
    hits = []
    for article, score in found:
        text = plain_text(f"{article.summary}\n\n{article.body}")
        hits.append(SearchHit(article=article, score=round(score, 6), snippet=snippet(text, terms)))
    return hits


def search_articles(
    query: str, *, actor: Actor, limit: int = 10, source: str = "portal", session_key: str = "", log: bool = True
) -> list[SearchHit]:
    """The published articles this person may read that best answer `query`, best first.

    Logged (SearchLog, and the help session's search count) unless `log` is False; a search
    that finds nothing is how the knowledge base's gaps are found.
    """
    hits = _search(query, actor, limit)
    if log:
        from tierdesk.knowledge.services import record_search

        record_search(actor=actor, query=query, result_count=len(hits), source=source, session_key=session_key)
    return hits


def suggest_for_ticket(ticket: Ticket, *, actor: Actor, limit: int = 3) -> list[SearchHit]:
    """Articles that may answer a ticket, from its title and description (not logged)."""
    # Title words come first, so they survive when a long description hits the term limit.
    return _search(f"{ticket.title} {ticket.description[:1000]}", actor, limit)


def index_article(article: Article) -> None:
    """Bring the index up to date for one article (the services call this on every write)."""
    backend().index_article(article)


def rebuild_index() -> int:
    """Rebuild the whole index; returns how many articles it holds."""
    return backend().rebuild()
