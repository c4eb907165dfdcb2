"""A lookup that keeps SQLite's planner from driving a query from the wrong index."""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class InScope(In):
    """`column IN (...)` for tenant scoping, written `+column IN (...)` on SQLite.

    A list page filters by the organisations a person may see and orders by creation time.
    SQLite (no useful statistics for this) would seek the organisation index and sort every
    visible ticket; the unary plus stops it using that index, so it walks the created-at
    index and stops after one page: measured 33 ms -> 0.2 ms with 100,000 tickets.
    PostgreSQL's planner weighs both plans itself and gets the plain IN.
    """

    lookup_name = "in_scope"

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        sql, params = self.as_sql(compiler, connection)
        return f"+{sql}", params


Field.register_lookup(InScope)
ForeignObject.register_lookup(InScope)  # foreign keys keep their own lookup table
