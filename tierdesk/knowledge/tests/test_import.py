"""`tierdesk kb import` on a small folder of our own (one file broken), and on the real Outlook
articles in ../shared/data when they are on this machine."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tierdesk.core.actor import Actor
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus
from tierdesk.knowledge.importer import clean_docs_markdown, parse_article
from tierdesk.knowledge.models import Article, ArticleCategory
from tierdesk.knowledge.search import search_articles
from tierdesk.testing.fixtures import World, shared_data

FIXTURES = Path(__file__).parent / "fixtures" / "kb"


def _import(directory: Path, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("kb", "import", str(directory), "--organisation", "northwind-test", *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_folder_is_imported_and_a_broken_file_reported(world: World) -> None:
    out, err = _import(FIXTURES)
    assert "created 3, updated 0, unchanged 0, failed 1" in out
    assert "failed: kb/printing/broken.md: front matter" in err
    article = Article.objects.get(source_path="kb/email/outlook-password-prompt.md")
    assert article.title == "Outlook keeps asking for a password"
    assert article.summary.startswith("Outlook shows the Windows Security prompt")
    assert article.source == ArticleSource.IMPORT and article.status == ArticleStatus.PUBLISHED
    assert article.attribution == "Written for the Tierdesk test suite, CC0."
    assert article.metadata == {"ms.date": "01/30/2024", "appliesto": ["Outlook for Microsoft 365", "Outlook 2019"]}
    assert article.category is not None and article.category.name == "Email"
    # The H1 repeated the title: gone. Docs syntax became plain Markdown.
    assert not article.body.startswith("# ") and article.body.startswith("## Symptoms")
    assert "> **Note:**" in article.body and "[!NOTE]" not in article.body
    assert "*(Screenshot: Credential Manager with the Office entries selected.)*" in article.body
    assert "See Reset your password if" in article.body  # a link to another file keeps its words
    assert "Replace `<username>` with" in article.body  # code shows what is typed
    assert "c:\\Users\\&lt;username&gt;\\AppData" in article.body  # a placeholder, not an HTML tag
    # A file without front matter takes its title from the heading and keeps no H1.
    printer = Article.objects.get(source_path="kb/printing/printer-offline.md")
    assert printer.title == "Printer shows as offline" and printer.body.startswith("The printer is switched on")
    code = Article.objects.get(source_path="kb/email/error-0x8004010f.md")
    assert "[!INCLUDE" not in code.body
    assert "# Error 0x8004010F" not in code.body  # it repeated the title
    hits = search_articles("0x8004010f", actor=Actor(user=world.requester_user), log=False)
    assert [h.article for h in hits] == [code]


def test_re_importing_updates_by_path(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURES, folder)
    _import(folder)
    out, _ = _import(folder)
    assert "created 0, updated 0, unchanged 3, failed 1" in out
    assert Article.objects.count() == 3 and ArticleCategory.objects.count() == 2
    page = folder / "printing" / "printer-offline.md"
    page.write_text(page.read_text() + "\nIf that fails, call the desk.\n")
    (folder / "printing" / "broken.md").unlink()
    out, _ = _import(folder, "--attribution", "Northwind IT")
    # The attribution changed for every article (no new version); the text only for one.
    assert "created 0, updated 3, unchanged 0, failed 0" in out
    printer = Article.objects.get(source_path="kb/printing/printer-offline.md")
    assert printer.version == 2 and printer.versions.count() == 2 and printer.attribution == "Northwind IT"
    assert Article.objects.get(source_path="kb/email/error-0x8004010f.md").version == 1
    # Without an attribution (and now without the file), the stored one is kept.
    (folder / "ATTRIBUTION").unlink()
    out, err = _import(folder)
    assert "created 0, updated 0, unchanged 3, failed 0" in out and "warning: no attribution" in err
    assert set(Article.objects.values_list("attribution", flat=True)) == {"Northwind IT"}


def test_the_command_refuses_what_it_cannot_do(world: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No folder"):
        _import(tmp_path / "missing")
    with pytest.raises(CommandError, match="No provider"):
        call_command("kb", "import", str(FIXTURES), "--organisation", "hospital", stdout=StringIO())
    with pytest.raises(CommandError, match="--organisation"):
        call_command("kb", "import", str(FIXTURES), stdout=StringIO())  # two providers in the world
    out = StringIO()
    call_command("kb", "reindex", stdout=out)
    assert "Search index rebuilt" in out.getvalue()


def test_parsing_details() -> None:
    parsed = parse_article("# Only a heading\n\nAnd text.\n")
    assert parsed.title == "Only a heading" and parsed.body == "And text.\n"
    kept = parse_article("---\ntitle: Reset MFA\n---\n# Something else entirely\n\nText.\n")
    assert kept.body.startswith("# Something else entirely")
    assert clean_docs_markdown("> [!IMPORTANT]\n> Back up first.\n") == "> **Important:**\n> Back up first.\n"
    with pytest.raises(Exception, match="no text"):
        parse_article("---\ntitle: Empty\n---\n\n")


def test_the_real_outlook_articles_import(world: World) -> None:
    folder = shared_data("kb/outlook")
    out, _ = _import(
        folder,
        "--no-progress",
        "--attribution",
        "Content from Microsoft's OfficeDocs-Support repository (MicrosoftDocs/OfficeDocs-Support), "
        "© Microsoft, CC BY 4.0.",
    )
    assert "created 294, updated 0, unchanged 0, failed 0" in out
    hits = search_articles("0x8004010F", actor=Actor(user=world.requester_user), log=False)
    assert hits and "0x8004010f" in hits[0].article.source_path.lower()
