"""SQLite: an FTS5 table (porter stemming) ranked with bm25, kept current by the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

TABLE = "knowledge_article_fts"
ARTICLES = "knowledge_article"
# bm25 column weights: a word in the title counts ten times one in the body.
WEIGHTS = (10.0, 4.0, 1.0)

# `+rowid`: without the plus SQLite hands the visibility list to FTS5 as rowid lookups and
# evaluates the whole MATCH once per visible article (12 s instead of 0.1 s at 10,000 articles).
# The SQL below is built from the constants above and from the visible-articles subquery that
# Django compiled with its own parameters; what people typed only ever travels as a parameter.
RANK_SQL = (
    f"SELECT rowid, bm25({TABLE}, %s, %s, %s) AS rank FROM {TABLE} "  # noqa: S608 - constants only
    f"WHERE {TABLE} MATCH %s AND +rowid IN ({{visible}}) ORDER BY rank, rowid LIMIT %s"
)
DELETE_SQL = f"DELETE FROM {TABLE} WHERE rowid = %s"  # noqa: S608 - constants only
INSERT_SQL = f"INSERT INTO {TABLE} (rowid, title, summary, body) VALUES (%s, %s, %s, %s)"  # noqa: S608
REBUILD_SQL = [
    f"DELETE FROM {TABLE}",  # noqa: S608 - constants only
    f"INSERT INTO {TABLE} (rowid, title, summary, body) SELECT id, title, summary, body FROM {ARTICLES}",  # noqa: S608
    f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')",  # noqa: S608 - constants only
]
COUNT_SQL = f"SELECT count(*) FROM {TABLE}"  # noqa: S608 - constants only


def match_expression(terms: list[str]) -> str:
    # Terms are alphanumeric words (text.search_terms); quoting makes each a plain string in FTS5.
    return " OR ".join(f'"{term}"' for term in terms)


def ranked_ids(
    terms: list[str], visible_sql: str, visible_params: Sequence[Any], limit: int
) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            RANK_SQL.format(visible=visible_sql), [*WEIGHTS, match_expression(terms), *visible_params, limit]
        )
        # bm25 is "lower is better" and negative: flip it so a higher score is a better hit.
        return [(int(pk), -float(rank)) for pk, rank in cursor.fetchall()]


def index_article(article: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(DELETE_SQL, [article.pk])
        cursor.execute(INSERT_SQL, [article.pk, article.title, article.summary, article.body])


def rebuild() -> int:
    with connection.cursor() as cursor:
        for sql in REBUILD_SQL:
            cursor.execute(sql)
        cursor.execute(COUNT_SQL)
        row = cursor.fetchone()
    return int(row[0]) if row else 0
