"""What a requester's chat line asks for: a few intents, recognised by rules one can read.

No model, no training data: each intent is a handful of regular expressions over the
lower-cased line, tried in a fixed order, and `Recognised.rule` names the rule that fired so
a transcript can be explained. Whatever matches nothing is answered from the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from tierdesk.tickets.choices import NUMBER_PREFIX


class Intent(StrEnum):
    PERSON = "person"
    TICKET_STATUS = "ticket_status"
    RESET_PASSWORD = "reset_password"
    REQUEST_SOFTWARE = "request_software"
    THANKS = "thanks"
    KNOWLEDGE = "knowledge"


class NamedItem(Protocol):
    """What recognition needs of a catalogue item (a CatalogItem fits)."""

    @property
    def pk(self) -> Any: ...

    @property
    def name(self) -> str: ...

    @property
    def keywords(self) -> str: ...


Item = TypeVar("Item", bound=NamedItem)


@dataclass(frozen=True)
class Recognised:
    intent: Intent
    rule: str = ""  # which rule fired, for explaining a transcript
    ticket_number: str = ""  # a ticket the line names, normalised (INC0001234)
    item_id: int | None = None  # a catalogue item the line names


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


# A person: "talk to a human", "can I speak to someone", "live agent", just "agent".
_PEOPLE = r"(person|human|agent|someone|somebody|technician|operator|representative|service desk|helpdesk|help desk)"
PERSON = _rx(
    rf"\b(talk|speak|chat)\s+(to|with)\b.{{0,20}}\b{_PEOPLE}\b",
    rf"\b(connect|put|transfer|pass) me\b.{{0,20}}\b(to|through)\b.{{0,20}}\b{_PEOPLE}\b",
    rf"\bget me\b.{{0,10}}\b{_PEOPLE}\b",
    r"\b(real|live|actual) (person|human|agent|people)\b",
    r"^\W*(an? )?(agent|human|person|operator|representative)\W*(please)?\W*$",
    r"\bcall me( back)?\b",
)

# Ticket numbers as people type them: INC0001234, INC-1234, inc 1234, REQ0000042.
_PREFIXES = "|".join(sorted(set(NUMBER_PREFIX.values())))
TICKET_NUMBER = re.compile(rf"\b({_PREFIXES})[\s#-]?(\d{{1,10}})\b", re.IGNORECASE)

_TICKET_WORDS = r"(ticket|tickets|request|requests|incident|incidents|case|cases|call|calls)"
TICKET_STATUS = _rx(
    rf"\b(status|update|updates|progress|news)\b.{{0,30}}\b(my|our|the)\b.{{0,20}}\b{_TICKET_WORDS}\b",
    rf"\b(my|our)\b.{{0,20}}\b{_TICKET_WORDS}\b.{{0,40}}\b(status|doing|going|progress|update|news|happening)\b",
    rf"\b(show|list|see|check)\b.{{0,12}}\b(my|our)\b.{{0,12}}\b(open )?{_TICKET_WORDS}\b",
    rf"^\W*(my|open|our) {_TICKET_WORDS}\W*$",
    rf"\b(any|what) (news|update|updates)\b.{{0,20}}\b{_TICKET_WORDS}\b",
    rf"\bwhat('s| is) happening with my {_TICKET_WORDS}\b",
)

_PASSWORD = r"(password|passwort|passwd|pwd|passcode|pass word)"
RESET_PASSWORD = _rx(
    rf"\b(reset|forgot|forgotten|forget|change|renew|unlock|new|lost|expired|recover)\b.{{0,25}}\b{_PASSWORD}\b",
    rf"\b{_PASSWORD}\b.{{0,25}}\b(reset|expired|has expired|forgotten|not working|doesn'?t work|wrong|locked)\b",
    rf"\b(can'?t|cannot|can not|don'?t) remember\b.{{0,25}}\b{_PASSWORD}\b",
    r"\b(locked out|lock(ed)? me out)\b",
    r"\b(account|login|log-in|user ?name)\b.{0,20}\b(is |has been |got )?(locked|disabled|blocked)\b",
)

_SOFTWARE = r"(software|app|apps|application|applications|program|programme|licen[cs]e|tool|package)"
REQUEST_VERBS = (
    r"\b(need|needs|want|wants|would like|i'?d like|request|requesting|install|order|buy|access to|"
    r"licen[cs]e for|set me up with|(can|could|may) i (get|have))\b"
)
# A complaint about software is a question for the knowledge base, not a request for it.
COMPLAINT = re.compile(
    r"\b(crash\w*|error\w*|not working|isn'?t working|won'?t|doesn'?t|does not|can'?t|cannot|fail\w*|broken|"
    r"slow|freez\w*|hang\w*|stuck|problem|issue|keeps)\b"
)
REQUEST_SOFTWARE = _rx(
    rf"{REQUEST_VERBS}.{{0,30}}\b(new |some |an? |the )?{_SOFTWARE}\b",
    rf"\b{_SOFTWARE} (catalogue|catalog|request|requests|install|installation)\b",
    r"\b(catalogue|catalog)\b",
)

THANKS = _rx(
    r"^\W*(ok(ay)?|great|perfect|cool|fine|brilliant|super)?[\s,!.]*(thanks|thank you|thx|ty|cheers|"
    r"much appreciated)\b.{0,30}$",
    r"^\W*(bye|goodbye|good bye|see you|that'?s all|that is all|all good|no thanks|nothing else)\b.{0,20}$",
)


def normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def ticket_number_in(text: str) -> str:
    """The first ticket number in the line, as the desk writes it (INC0001234); "" if none."""
    match = TICKET_NUMBER.search(text)
    if match is None:
        return ""
    prefix, digits = match.group(1).upper(), match.group(2)
    return f"{prefix}{int(digits):07d}" if len(digits) <= 7 else f"{prefix}{digits}"


def _names(item: NamedItem) -> list[str]:
    words = [item.name, *item.keywords.split(",")]
    return [normalise(w) for w in words if len(w.strip()) >= 2]


def item_named(text: str, items: Iterable[Item]) -> Item | None:
    """The catalogue item whose name or one of whose keywords appears as whole words in the line.

    The longest name wins, so "Visio Professional" beats "Visio" when both are offered.
    """
    line = normalise(text)
    best: tuple[int, Item] | None = None
    for item in items:
        for name in _names(item):
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", line) and (best is None or len(name) > best[0]):
                best = (len(name), item)
    return best[1] if best is not None else None


def _first(patterns: list[re.Pattern[str]], line: str) -> str:
    for pattern in patterns:
        if pattern.search(line):
            return pattern.pattern
    return ""


def recognise(text: str, *, catalogue: Iterable[NamedItem] = ()) -> Recognised:
    """The intent of one chat line. Order matters: asking for a person beats everything, a
    ticket number means its status, and a catalogue item only counts with a request verb
    ("I need Visio") or alone ("Visio"), not in a complaint ("Visio keeps crashing")."""
    line = normalise(text)
    if not line:
        return Recognised(Intent.KNOWLEDGE, rule="empty")
    if rule := _first(PERSON, line):
        return Recognised(Intent.PERSON, rule=rule)
    if number := ticket_number_in(line):
        return Recognised(Intent.TICKET_STATUS, rule="ticket number", ticket_number=number)
    if rule := _first(TICKET_STATUS, line):
        return Recognised(Intent.TICKET_STATUS, rule=rule)
    if rule := _first(RESET_PASSWORD, line):
        return Recognised(Intent.RESET_PASSWORD, rule=rule)
    complaint = COMPLAINT.search(line) is not None
    item = item_named(line, catalogue)
    if item is not None:
        alone = normalise(re.sub(r"[^\w\s]", " ", line)) in _names(item)
        if alone or (re.search(REQUEST_VERBS, line) and not complaint):
            return Recognised(Intent.REQUEST_SOFTWARE, rule="catalogue item named", item_id=item.pk)
    if not complaint and (rule := _first(REQUEST_SOFTWARE, line)):
        return Recognised(Intent.REQUEST_SOFTWARE, rule=rule)
    if rule := _first(THANKS, line):
        return Recognised(Intent.THANKS, rule=rule)
    return Recognised(Intent.KNOWLEDGE, rule="no intent: knowledge base")
