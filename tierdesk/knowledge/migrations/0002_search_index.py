"""The full-text index, one per database vendor (nothing else changes for the other).

SQLite: an FTS5 table keyed by the article id, kept by the services (see search/sqlite.py).
PostgreSQL: a generated tsvector column (title A, summary B, body C; 'english' stemming)
with a GIN index; the database keeps it current on every write.
"""

from typing import Any

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_article_fts "
    "USING fts5(title, summary, body, tokenize = 'porter unicode61')"
)
SQLITE_FILL = (
    "INSERT INTO knowledge_article_fts (rowid, title, summary, body) SELECT id, title, summary, body FROM knowledge_article"
)

POSTGRES_CREATE = [
    "ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'C')) STORED",
    "CREATE INDEX kb_article_search_vector ON knowledge_article USING gin (search_vector)",
]


def create_index(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
        schema_editor.execute(SQLITE_FILL)
    elif vendor == "postgresql":
        for sql in POSTGRES_CREATE:
            schema_editor.execute(sql)


def drop_index(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_article_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_article_search_vector")
        schema_editor.execute("ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
