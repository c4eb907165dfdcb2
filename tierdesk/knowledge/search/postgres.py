"""PostgreSQL: a generated tsvector column (title A, summary B, body C) with a GIN index,
ranked with ts_rank. The database keeps the column current; nothing to do on writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

ARTICLES = "knowledge_article"
CONFIG = "english"
# ts_rank weights for {D, C, B, A}: body 0.1, summary 0.4, title 1.0.
WEIGHTS = "{0.0, 0.1, 0.4, 1.0}"
# Normalisation 1: divide by 1 + log(length), so a long article does not win on length alone.
NORMALISATION = 1

# Built from constants and the visible-articles subquery Django compiled with its own
# parameters; what people typed only ever travels as a parameter.
RANK_SQL = (
    "SELECT a.id, ts_rank(%s::float4[], a.search_vector, q.query, %s) AS rank "  # noqa: S608 - constants only
    f"FROM {ARTICLES} a, to_tsquery(%s::regconfig, %s) AS q(query) "
    "WHERE a.search_vector @@ q.query AND a.id IN ({visible}) "
    "ORDER BY rank DESC, a.id LIMIT %s"
)
COUNT_SQL = f"SELECT count(*) FROM {ARTICLES} WHERE search_vector IS NOT NULL"  # noqa: S608 - constants only


def tsquery_text(terms: list[str]) -> str:
    # Terms are alphanumeric words (text.search_terms): no tsquery operator can reach here.
    return " | ".join(terms)


def ranked_ids(
    terms: list[str], visible_sql: str, visible_params: Sequence[Any], limit: int
) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            RANK_SQL.format(visible=visible_sql),
            [WEIGHTS, NORMALISATION, CONFIG, tsquery_text(terms), *visible_params, limit],
        )
        return [(int(pk), float(rank)) for pk, rank in cursor.fetchall()]


def index_article(article: Any) -> None:
    """Nothing to do: the generated column follows every write."""


def rebuild() -> int:
    with connection.cursor() as cursor:
        cursor.execute("REINDEX INDEX kb_article_search_vector")
        cursor.execute(COUNT_SQL)
        row = cursor.fetchone()
    return int(row[0]) if row else 0
