"""Importing a folder of Markdown articles (Microsoft Docs style) into a provider's knowledge base.

Each `*.md` file below the folder becomes one article, matched on re-import by its path (the
folder's name, then the path inside it, e.g. `outlook/Client/authentication/x.md`): unchanged
files write nothing, changed ones a new version. A file that cannot be read is reported and
skipped; every other file is imported in its own transaction.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils.text import slugify

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.core.unset import UNSET
from tierdesk.knowledge import services
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, Visibility
from tierdesk.knowledge.models import Article, ArticleCategory
from tierdesk.tenancy.models import Organisation

ATTRIBUTION_FILES = ("ATTRIBUTION", "ATTRIBUTION.md", "ATTRIBUTION.txt")
MAX_BYTES = 2_000_000


class UnreadableArticle(Exception):
    """The file is not an article we can import (no title, broken front matter, empty)."""


@dataclass(frozen=True)
class ParsedArticle:
    title: str
    summary: str
    body: str
    metadata: dict[str, Any]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, failed {self.failed}"


# --- parsing ----------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_H1 = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*\r?\n")
_ALERT = re.compile(r"^(\s*)>\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$", re.M | re.I)
_INCLUDE = re.compile(r"^\s*\[!INCLUDE\s*\[[^\]]*\]\([^)]*\)\]\s*$", re.M | re.I)
_DOCS_DIRECTIVE = re.compile(r"^\s*(>\s*)?\[!(div|VIDEO)[^\]]*\]\s*$", re.M | re.I)
_IMAGE_DIRECTIVE = re.compile(r'^(\s*):::image\b[^\n]*?alt-text="([^"]*)"[^\n]*?:::\s*$', re.M)
_OTHER_DIRECTIVE = re.compile(r"^\s*:::[^\n]*$", re.M)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_RELATIVE_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:|mailto:|#)[^)]*\)")
# <username>, <disk>: placeholders in the text, not HTML. The sanitiser would drop them silently.
_PLACEHOLDER = re.compile(
    r"<(?!/?(?:br|sup|sub|b|i|em|strong|code|kbd|p|pre|table|thead|tbody|tr|td|th|ul|ol|li|a)\b)"
    r"(?!https?:|mailto:)([^<>\n]{1,80})>"
)
_BLANK_LINES = re.compile(r"\n{3,}")
_ALERT_LABELS = {"note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning", "caution": "Caution"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _repeats(heading: str, title: str) -> bool:
    """A heading says the same as the title when most of its words are the title's."""
    heading_words, title_words = _words(heading), _words(title)
    if not heading_words or not title_words:
        return False
    return len(heading_words & title_words) / len(heading_words | title_words) >= 0.5


_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def _outside_code(body: str, change: Callable[[str], str]) -> str:
    """Apply `change` to the text outside code spans and fences (code shows characters as typed)."""
    parts = _CODE.split(body)
    return "".join(part if i % 2 else change(part) for i, part in enumerate(parts))


def clean_docs_markdown(body: str) -> str:
    """Docs-specific syntax turned into plain Markdown that reads well on its own."""
    body = _ALERT.sub(lambda m: f"{m.group(1)}> **{_ALERT_LABELS[m.group(2).lower()]}:**", body)
    body = _INCLUDE.sub("", body)
    body = _DOCS_DIRECTIVE.sub("", body)
    body = _IMAGE_DIRECTIVE.sub(lambda m: f"{m.group(1)}*(Screenshot: {m.group(2).strip()})*", body)
    body = _OTHER_DIRECTIVE.sub("", body)
    body = _MD_IMAGE.sub(lambda m: f"*(Image: {m.group(1).strip()})*" if m.group(1).strip() else "", body)
    # Links to other files of the source repository lead nowhere here: keep their words.
    body = _RELATIVE_LINK.sub(r"\1", body)
    body = _outside_code(body, lambda text: _PLACEHOLDER.sub(r"&lt;\1&gt;", text))
    return _BLANK_LINES.sub("\n\n", body).strip() + "\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def parse_article(text: str, *, fallback_title: str = "") -> ParsedArticle:
    """Front matter (title, description, the rest kept as metadata) and the cleaned body."""
    metadata: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise UnreadableArticle(f"front matter: {problem}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise UnreadableArticle("front matter is not a set of key: value lines")
        metadata = _json_safe(loaded or {})
        text = text[match.end() :]
    elif text.lstrip().startswith("---"):
        raise UnreadableArticle("front matter is not closed by a --- line")
    title = str(metadata.pop("title", "") or "").strip()
    summary = str(metadata.pop("description", "") or "").strip()
    heading = _H1.match(text)
    if heading:
        if not title:
            title = heading.group(1).strip()
        if _repeats(heading.group(1), title):
            text = text[heading.end() :]
    title = title or fallback_title
    if not title:
        raise UnreadableArticle("no title (neither in the front matter nor as a # heading)")
    body = clean_docs_markdown(text)
    if not body.strip():
        raise UnreadableArticle("no text after the front matter")
    return ParsedArticle(title=title[:250], summary=summary, body=body, metadata=metadata)


def read_attribution(directory: Path) -> str:
    for name in ATTRIBUTION_FILES:
        path = directory / name
        if path.is_file():
            return " ".join(path.read_text(encoding="utf-8").split()).strip()[:500]
    return ""


def article_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.md") if p.is_file() and p.name not in ATTRIBUTION_FILES)


# --- importing --------------------------------------------------------------------------------


def _category_for(
    relative: Path, provider: Organisation, actor: Actor, cache: dict[tuple[str, ...], ArticleCategory]
) -> ArticleCategory | None:
    """The folder an article sits in is its category; the folders above it are its parents."""
    parts = relative.parent.parts
    if not parts:
        return None
    parent: ArticleCategory | None = None
    for depth in range(1, len(parts) + 1):
        key = parts[:depth]
        if key not in cache:
            folder = key[-1]
            name = folder.replace("-", " ").replace("_", " ").strip().capitalize() or folder
            cache[key] = services.ensure_category(
                actor=actor, organisation=provider, name=name, slug=slugify(folder)[:80] or "folder", parent=parent
            )
        parent = cache[key]
    return parent


def import_folder(
    directory: Path,
    *,
    provider: Organisation,
    actor: Actor,
    attribution: str = "",
    status: str = ArticleStatus.PUBLISHED,
    visibility: str = Visibility.REQUESTERS,
    progress: Callable[[Iterable[Path]], Iterable[Path]] = iter,
) -> ImportReport:
    """Import every *.md below `directory`; see the module docstring."""
    if not directory.is_dir():
        raise DomainError(f"{directory} is not a folder.")
    if not provider.is_provider:
        raise DomainError(f"{provider.name} is not a provider: knowledge bases belong to providers.")
    attribution = attribution or read_attribution(directory)
    root = directory.resolve().name
    report = ImportReport()
    existing = {a.source_path: a for a in Article.objects.of_provider(provider.pk).exclude(source_path="")}
    categories: dict[tuple[str, ...], ArticleCategory] = {}
    for path in progress(article_files(directory)):
        relative = path.relative_to(directory)
        # The folder's own name leads, so two imported folders never claim each other's files.
        source_path = f"{root}/{relative.as_posix()}"
        try:
            if path.stat().st_size > MAX_BYTES:
                raise UnreadableArticle(f"larger than {MAX_BYTES // 1_000_000} MB")
            try:
                text = path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise UnreadableArticle("not UTF-8 text") from exc
            parsed = parse_article(text, fallback_title=path.stem.replace("-", " ").capitalize())
            with transaction.atomic():
                category = _category_for(relative, provider, actor, categories)
                article = existing.get(source_path)
                if article is None:
                    existing[source_path] = services.create_article(
                        actor=actor,
                        organisation=provider,
                        title=parsed.title,
                        summary=parsed.summary,
                        body=parsed.body,
                        status=status,
                        visibility=visibility,
                        category=category,
                        attribution=attribution,
                        source=ArticleSource.IMPORT,
                        source_path=source_path,
                        metadata=parsed.metadata,
                        change_note=f"Imported from {source_path}",
                    )
                    report.created += 1
                    continue
                before = (article.version, article.updated_at)
                revised = services.revise_article(
                    actor=actor,
                    article=article,
                    title=parsed.title,
                    summary=parsed.summary,
                    body=parsed.body,
                    category=category,
                    # No attribution given this time: keep the one stored, rather than erase it.
                    attribution=attribution or UNSET,
                    metadata=parsed.metadata,
                    change_note=f"Re-imported from {source_path}",
                )
                existing[source_path] = revised
                if (revised.version, revised.updated_at) == before:
                    report.unchanged += 1
                else:
                    report.updated += 1
        except (UnreadableArticle, DomainError, OSError) as exc:
            report.failures.append((source_path, str(getattr(exc, "detail", None) or exc)))
    return report
