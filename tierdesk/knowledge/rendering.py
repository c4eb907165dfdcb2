"""Articles as safe HTML for display: Markdown through the shared allow-list sanitiser."""

from __future__ import annotations

from django.utils.safestring import SafeString

from tierdesk.core.rendering import render_markdown
from tierdesk.knowledge.models import Article


def render_article(article: Article) -> SafeString:
    """The article's body as HTML, sanitised (no scripts, images or raw HTML attributes)."""
    return render_markdown(article.body)
