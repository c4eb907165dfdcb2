"""The category tree (seeded by migration tickets 0002)."""

from __future__ import annotations

from tierdesk.tickets.models import Category


def full_path(category: Category) -> str:
    names, node, seen = [category.name], category.parent, {category.pk}
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        names.append(node.name)
        node = node.parent
    return " / ".join(reversed(names))
