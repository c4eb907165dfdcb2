"""`tierdesk kb import DIR` and `tierdesk kb reindex`: the knowledge base from the command line."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.knowledge.choices import ArticleStatus, Visibility
from tierdesk.knowledge.importer import import_folder, read_attribution
from tierdesk.knowledge.search import rebuild_index
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation


class Command(BaseCommand):
    help = (
        "Knowledge base tools. `kb import DIR` imports every *.md below DIR (YAML front matter, Docs "
        "syntax cleaned, folders as categories; re-running updates by file path). `kb reindex` rebuilds "
        "the search index."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import a folder of Markdown articles.")
        imp.add_argument("directory", type=Path, help="e.g. ../shared/data/kb/outlook")
        imp.add_argument("--organisation", help="The provider's slug (needed when there is more than one).")
        imp.add_argument(
            "--attribution",
            default="",
            help="Whose content it is, stored on each article (default: the folder's ATTRIBUTION file).",
        )
        imp.add_argument("--status", choices=[ArticleStatus.PUBLISHED, ArticleStatus.DRAFT], default="published")
        imp.add_argument("--visibility", choices=list(Visibility.values), default=Visibility.REQUESTERS)
        imp.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")
        sub.add_parser("reindex", help="Rebuild the full-text search index.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reindex":
            started = time.perf_counter()
            count = rebuild_index()
            self.stdout.write(f"Search index rebuilt: {count} articles in {time.perf_counter() - started:.1f} s.")
            return
        self._import(options)

    def _provider(self, slug: str | None) -> Organisation:
        providers = Organisation.objects.filter(kind=OrganisationKind.PROVIDER)
        if slug:
            provider = providers.filter(slug=slug).first()
            if provider is None:
                raise CommandError(f"No provider with the slug {slug!r}.")
            return provider
        found = list(providers[:2])
        if len(found) != 1:
            raise CommandError("Name the provider whose knowledge base this is: --organisation SLUG.")
        return found[0]

    def _import(self, options: dict[str, Any]) -> None:
        directory: Path = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"No folder at {directory}.")
        provider = self._provider(options["organisation"])

        def progress(paths: Iterable[Path]) -> Iterable[Path]:
            items = list(paths)
            return tqdm(items, desc="kb import", unit="article", file=sys.stderr, disable=options["no_progress"])

        started = time.perf_counter()
        try:
            report = import_folder(
                directory,
                provider=provider,
                actor=Actor.system("command"),
                attribution=options["attribution"],
                status=options["status"],
                visibility=options["visibility"],
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        elapsed = time.perf_counter() - started
        if not options["attribution"] and not read_attribution(directory):
            # Licensed content (CC BY and the like) must name its source wherever it is shown.
            self.stderr.write(
                "warning: no attribution given (no --attribution, no ATTRIBUTION file in the folder): new "
                "articles have none, existing ones keep theirs. Content under CC BY must be attributed."
            )
        for source_path, reason in report.failures:
            self.stderr.write(f"failed: {source_path}: {reason}")
        self.stdout.write(f"{directory} into {provider.name}: {report.summary()} in {elapsed:.1f} s.")
