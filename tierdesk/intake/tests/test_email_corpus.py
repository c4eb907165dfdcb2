"""The real-mail corpus (../shared/data/emails, ~440 messages from mail-parser test suites) through intake.

Every message ends as exactly one of the four outcomes, none by an unexpected error, and the
bounces and auto-replies among them are recognised as such. Prints the counts per outcome.
"""

from __future__ import annotations

import mailbox as mbox
import re
from collections import Counter
from pathlib import Path

import pytest

from tierdesk.intake.mail.services import receive_email
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.testing.factories import ClientFactory, ProviderFactory
from tierdesk.testing.fixtures import World, shared_data
from tierdesk.testing.mail import desk_mailbox

pytestmark = pytest.mark.django_db

# Messages the corpora file as bounces that are, read as a desk must, something else: two
# mailing-list manager notices (fml) and a person forwarding a bounce ("Fwd: Returned mail").
NOT_BOUNCES_FOR_A_DESK = {"lhost-fml-02.eml", "lhost-fml-03.eml", "mbox-0"}
# An unexpected error shows in the reason as "SomeError: ..." (the message is kept, but it is a bug).
UNEXPECTED = re.compile(r"^(replay \d+: )?[A-Z]\w*(Error|Exception)\b")


def corpus_messages(root: Path) -> list[tuple[str, bytes]]:
    messages: list[tuple[str, bytes]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = str(path.relative_to(root))
        if path.name.startswith("mbox"):
            for number, message in enumerate(mbox.mbox(str(path))):
                messages.append((f"{relative}#{number}", message.as_bytes()))
        else:
            messages.append((relative, path.read_bytes()))
    return messages


def expected_kind(relative: str) -> str:
    name = relative.rsplit("/", 1)[-1].split("#")[0]
    if relative.startswith("sisimai-bounces/not/is-not-bounce"):
        return "person"
    if relative.startswith("sisimai-bounces/not/"):
        return ""  # rb-issue-368: a postmaster's "mailbox full" notice sisimai once misread; a bounce to a desk
    if name.startswith("rfc3834"):
        return "auto_reply"
    if name.startswith("arf"):
        return "complaint"
    if name in NOT_BOUNCES_FOR_A_DESK:
        return ""
    bounce_folders = ("sisimai-bounces/", "flanker/bounce/", "enmime/dsn/", "mikel-mail/multipart_report_emails/")
    return "bounce" if relative.startswith(bounce_folders) else ""


def _another_desk(number: int) -> Mailbox:
    provider = ProviderFactory.create(name=f"Desk {number}", slug=f"desk-{number}")
    client = ClientFactory.create(name=f"Client {number}", slug=f"client-{number}", provider=provider)
    return desk_mailbox(provider, address=f"support@desk-{number}.test", default_organisation=client)


def test_every_real_message_ends_in_one_outcome(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_data("emails")
    # Corpora reuse Message-IDs across different files; a repeat goes to another desk (provider), so
    # that every file is judged on its own, while the repeat itself proves deduplication.
    desks = [desk_mailbox(world.provider, default_organisation=world.client)]
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    duplicates = 0
    wrong: list[str] = []
    for relative, raw in corpus_messages(root):
        for desk in range(len(desks) + 1):
            if desk == len(desks):
                desks.append(_another_desk(desk))
            receipt = receive_email(raw=raw, mailbox=desks[desk], source="pipe")
            if not receipt.duplicate:
                break
            duplicates += desk == 0
        record = receipt.record
        assert record.outcome in InboundEmail.Outcome.values
        assert not UNEXPECTED.search(record.reason), f"{relative}: {record.reason}"
        outcomes[record.outcome] += 1
        reason = record.reason
        kind = reason.split(":", 1)[0] if record.outcome == InboundEmail.Outcome.IGNORED else record.outcome
        if record.outcome == InboundEmail.Outcome.APPENDED and reason.startswith("auto-reply"):
            kind = "auto-reply"
        kinds[kind] += 1
        expected = expected_kind(relative)
        if expected == "bounce" and not reason.startswith(("bounce:", "delay:", "daemon:")):
            wrong.append(f"{relative}: a bounce taken as {record.outcome} ({reason[:80]})")
        if expected == "auto_reply" and not reason.startswith("auto reply:"):
            wrong.append(f"{relative}: an auto-reply taken as {record.outcome} ({reason[:80]})")
        if expected == "complaint" and not reason.startswith("complaint:"):
            wrong.append(f"{relative}: a complaint taken as {record.outcome} ({reason[:80]})")
        if expected == "person" and record.outcome == InboundEmail.Outcome.IGNORED and reason.startswith("bounce"):
            wrong.append(f"{relative}: a person's mail taken for a bounce")
    with capsys.disabled():
        total = sum(outcomes.values())
        print(f"\nE-mail corpus: {total} messages ({duplicates} repeat an earlier file's Message-ID: no change there)")
        for outcome, count in outcomes.most_common():
            print(f"  {outcome:14} {count}")
        print("  by kind: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    assert not wrong, "\n".join(wrong)
    assert kinds["bounce"] >= 190 and kinds["auto reply"] >= 6
    assert total >= 400 and outcomes[InboundEmail.Outcome.TICKET_OPENED] > 100
