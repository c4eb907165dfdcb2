"""E-mail intake figures over the real-mail corpus (../shared/data/emails, ~480 messages).

- messages ingested per second: each message through `receive_email` (parse, loop and bounce checks,
  threading, a ticket opened or an entry added with attachments, audit, routing after commit);
- peak memory while ingesting the largest message (the 1.8 MB MIME torture test), by tracemalloc,
  into a desk that has not seen it yet.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.seed import World

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emails"


def report(world: World) -> None:
    from tierdesk.core.actor import Actor
    from tierdesk.intake.mail.services import create_mailbox, receive_email
    from tierdesk.intake.tests.test_email_corpus import corpus_messages
    from tierdesk.tenancy import services as tenancy
    from tierdesk.tenancy.choices import OrganisationKind

    print(f"\nE-mail intake: the real-mail corpus at {CORPUS}", flush=True)
    if not CORPUS.is_dir():
        print("  skipped: the corpus is not on this machine (../shared/data/emails)")
        return
    messages = corpus_messages(CORPUS)
    system = Actor.system("command")
    mailbox = create_mailbox(
        actor=system,
        organisation=world.provider,
        name="Bench support",
        address="bench-support@bench.test",
        default_organisation=world.clients[0],
    )
    outcomes: Counter[str] = Counter()
    repeats = 0
    started = time.perf_counter()
    for _, raw in messages:
        receipt = receive_email(raw=raw, mailbox=mailbox, source="pipe")
        repeats += receipt.duplicate
        outcomes[receipt.record.outcome] += not receipt.duplicate
    elapsed = time.perf_counter() - started
    size = sum(len(raw) for _, raw in messages)
    print(
        f"  {len(messages)} messages ({size / 1e6:.1f} MB) in {elapsed:.1f} s: "
        f"{len(messages) / elapsed:.1f} messages/s "
        f"({repeats} repeated an earlier Message-ID and changed nothing)"
    )
    print("  outcomes: " + ", ".join(f"{outcome} {count}" for outcome, count in outcomes.most_common()))

    name, largest = max(messages, key=lambda item: len(item[1]))
    provider = tenancy.create_organisation(
        actor=system, name="Bench fresh desk", slug="bench-fresh-desk", kind=OrganisationKind.PROVIDER
    )
    client = tenancy.create_organisation(actor=system, name="Bench fresh client", slug="bench-fresh", provider=provider)
    fresh = create_mailbox(
        actor=system, organisation=provider, name="Fresh", address="fresh@bench.test", default_organisation=client
    )
    tracemalloc.start()
    t0 = time.perf_counter()
    record = receive_email(raw=largest, mailbox=fresh, source="pipe").record
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  largest message {name} ({len(largest) / 1e6:.2f} MB): {record.outcome} in {took * 1000:.0f} ms, "
        f"peak {peak / 1e6:.1f} MB allocated while ingesting it (tracemalloc)"
    )
