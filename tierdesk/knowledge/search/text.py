"""Turning what people type into safe search terms, and Markdown into a plain-text snippet.

User input never reaches FTS5 or to_tsquery syntax: it is cut into alphanumeric words here,
stop words dropped, and each backend quotes the words itself.
"""

from __future__ import annotations

import re

MAX_TERMS = 16
SNIPPET_CHARS = 220

# English function words plus what people wrap around a question ("why does my ... keep").
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren as at be because been before being below
    between both but by can cannot could did didn do does doesn doing don down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is isn it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was wasn we were what when where which while who whom why will with
    won would you your yours yourself yourselves
    also anyone anything get gets getting got keep keeps kept please help thanks hi hello still trying tried
    want wanted need needs way ve ll re im id
    """.split()  # noqa: SIM905 - a word list reads better as prose than as 160 quoted strings
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    """The distinct words of the query worth searching for, in order, lower-cased.

    One-letter words are dropped unless they are digits; error codes such as 0x8004010F stay
    one word. If only stop words were typed, they are searched for rather than nothing.
    """
    words = [w for w in _WORD.findall(query.lower()) if len(w) > 1 or w.isdigit()]
    kept = [w for w in words if w not in STOP_WORDS] or words
    seen: dict[str, None] = {}
    for word in kept:
        seen.setdefault(word[:64], None)
    return list(seen)[:MAX_TERMS]


_FENCE = re.compile(r"```.*?```", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]+>")
_MARKS = re.compile(r"(^|\s)[#>*+-]+\s|[*_`|]+", re.M)
_SPACE = re.compile(r"\s+")


def plain_text(markdown: str) -> str:
    """Markdown reduced to readable text: no markup, links by their words, one line."""
    text = _FENCE.sub(" ", markdown)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML.sub(" ", text)
    text = _MARKS.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _stem_prefix(term: str) -> str:
    # Crude but enough to find where "passwords" matched "password" or "prompting" "prompt".
    for suffix in ("ing", "ed", "es", "s"):
        if len(term) > len(suffix) + 3 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """Plain text around the first place a search term appears (the start when none does)."""
    if not text:
        return ""
    lowered = text.lower()
    first = -1
    for term in terms:
        match = re.search(r"\b" + re.escape(_stem_prefix(term)), lowered)
        if match and (first < 0 or match.start() < first):
            first = match.start()
    if first < 0 or len(text) <= width:
        start = 0
    else:
        start = max(0, first - width // 3)
        # Start on a word boundary.
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
