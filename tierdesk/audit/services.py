"""Writers of the audit trail and access log, and the chain verifier.

Callers append inside their own transaction, so an audit row exists if and only if the
change it describes was committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from tierdesk.audit.models import GENESIS_HASH, AuditEvent, ChainedRecord, ChainHead, TicketAccess
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.db import locked_row

R = TypeVar("R", bound=ChainedRecord)


def json_safe(value: Any) -> Any:
    """What the JSON column will give back, so the hash is computed over stored data."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _append(record: R) -> R:
    with transaction.atomic():
        head = locked_row(ChainHead, name=record.chain_name)
        record.seq = head.seq + 1
        record.prev_hash = head.hash
        record.at = clock.now()
        record.hash = record.compute_hash()
        record.save(force_insert=True)
        head.seq, head.hash = record.seq, record.hash
        head.save(update_fields=["seq", "hash"])
    return record


def record_event(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    organisation_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = obj.pk
    return _append(
        AuditEvent(
            actor_id=actor.user_id,
            actor_label=actor.label,
            organisation_id=organisation_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=json_safe(before) if before is not None else None,
            after=json_safe(after) if after is not None else None,
            ip=actor.ip,
            via=actor.via,
        )
    )


def record_ticket_access(*, actor: Actor, ticket_id: int, ticket_number: str, organisation_id: int) -> None:
    if actor.user is None:
        return  # only people are logged; system reads are not accesses
    _append(
        TicketAccess(
            user_id=actor.user.pk,
            user_label=actor.label,
            organisation_id=organisation_id,
            ticket_id=ticket_id,
            ticket_number=ticket_number,
            ip=actor.ip,
            via=actor.via,
        )
    )


@dataclass(frozen=True)
class ChainReport:
    chain: str
    checked: int
    ok: bool
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"{self.chain}: OK, {self.checked} records, chain intact"
        return f"{self.chain}: BROKEN at record #{self.broken_seq}: {self.reason}"


def _rows(model: type[R]) -> Iterator[R]:
    return model.objects.order_by("seq").iterator(chunk_size=2000)  # type: ignore[attr-defined]


def verify_chain(model: type[ChainedRecord]) -> ChainReport:
    """Walk the chain from its first link and name the first one that does not hold."""
    name = model.chain_name
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    for row in _rows(model):
        if row.seq != expected_seq:
            return ChainReport(name, checked, False, expected_seq, f"record #{expected_seq} is missing (deleted)")
        if row.prev_hash != prev:
            return ChainReport(name, checked, False, row.seq, "does not link to the record before it")
        if row.compute_hash() != row.hash:
            return ChainReport(name, checked, False, row.seq, "its content was altered after it was written")
        prev = row.hash
        expected_seq += 1
        checked += 1
    head = ChainHead.objects.filter(name=name).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != prev:
        return ChainReport(
            name,
            checked,
            False,
            checked + 1,
            f"the chain head expects {head_seq} records; records after #{checked} were deleted",
        )
    return ChainReport(name, checked, True)


def verify_all() -> list[ChainReport]:
    return [verify_chain(AuditEvent), verify_chain(TicketAccess)]
