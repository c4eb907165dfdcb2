"""Monitoring alert figures: deliveries ingested per second during an alert storm.

A storm is Alertmanager webhook deliveries (one alert each) of 50 distinct fingerprints, posted
through the real endpoint, `POST /hooks/alerts/<id>/`, with Django's test client: middleware,
proof (token or HMAC signature), parsing, the per-fingerprint row lock and the Alert row's update.
The first delivery of each fingerprint opens its incident (ticket, timeline, audit, CMDB lookup,
and the routing, SLA and notification work that runs after commit, in process as the embedded
default runs it); every other one counts a repeat of it.

- 1 sender: the deliveries one after the other, in one thread; per-delivery latency of the
  openings and of the repeats, and the SQL statements of one repeat;
- 8 senders (PostgreSQL only; SQLite serialises writers, so threads add nothing there): eight
  threads, each with its own database connection, fingerprints interleaved so that all eight
  contend for the same rows; half sign with HMAC (a delivery id recorded each), half send the token.

Each storm checks what it wrote: one incident per fingerprint, the counts summing to the firing
deliveries, no incident twice.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.seed import World
    from tierdesk.intake.models import AlertSource

FINGERPRINTS = 50
SINGLE_DELIVERIES = 3_000
THREADED_DELIVERIES = 10_000
SENDERS = 8
SECRET = "bench-signing-secret"


@dataclass(frozen=True)
class Storm:
    deliveries: int
    elapsed: float  # seconds, wall clock
    openings: list[float]  # seconds per delivery that opened an incident (single sender only)
    repeats: list[float]  # seconds per repeat (single sender only)

    @property
    def rate(self) -> float:
        return self.deliveries / self.elapsed


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def report(world: World) -> None:
    from django.db import connection

    print(
        f"\nMonitoring alerts: storms of Alertmanager deliveries of {FINGERPRINTS} fingerprints "
        "through POST /hooks/alerts/<id>/",
        flush=True,
    )
    storm = _storm(world, "Bench storm, 1 sender", SINGLE_DELIVERIES, senders=1)
    print(
        f"  1 sender:  {storm.rate:,.0f} deliveries/s ({storm.deliveries:,} in {storm.elapsed:.1f} s); "
        f"opening an incident p50 {_ms(storm.openings, 0.5):.0f} ms, p95 {_ms(storm.openings, 0.95):.0f} ms; "
        f"a repeat p50 {_ms(storm.repeats, 0.5):.1f} ms, p95 {_ms(storm.repeats, 0.95):.1f} ms, "
        f"mean {1000 * statistics.fmean(storm.repeats):.1f} ms, {_repeat_queries(world)} queries each",
        flush=True,
    )
    if connection.vendor != "postgresql":
        print(f"  {SENDERS} senders: PostgreSQL only (SQLite serialises writers)")
        return
    storm = _storm(world, f"Bench storm, {SENDERS} senders", THREADED_DELIVERIES, senders=SENDERS)
    print(
        f"  {SENDERS} senders: {storm.rate:,.0f} deliveries/s ({storm.deliveries:,} in {storm.elapsed:.1f} s), "
        f"half signed, half with the token; {FINGERPRINTS} incidents, counts exact, none twice",
        flush=True,
    )


def _source(world: World, name: str) -> tuple[AlertSource, str]:
    from tierdesk.core.actor import Actor
    from tierdesk.intake.alerts.services import create_alert_source

    source, token = create_alert_source(
        actor=Actor.system("command"),
        organisation=world.clients[0],
        name=name,
        kind="alertmanager",
        signing_secret=SECRET,
    )
    return source, token


def _bodies(prefix: str) -> list[bytes]:
    def delivery(n: int) -> dict[str, Any]:
        alert = {
            "status": "firing",
            "labels": {"alertname": "PostgresDown", "severity": "critical", "instance": f"pg-{n:02d}:9187"},
            "annotations": {"summary": "PostgreSQL is down", "description": "pg_up == 0 for 1 minute."},
            "startsAt": "2026-12-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{prefix}-{n:02d}",
        }
        return {"version": "4", "status": "firing", "receiver": "tierdesk", "alerts": [alert]}

    return [json.dumps(delivery(n)).encode() for n in range(FINGERPRINTS)]


def _headers(token: str, body: bytes, signed: bool, delivery: str) -> dict[str, str]:
    from tierdesk.core.signing import sha256_signature, timestamped_message

    if not signed:
        return {"Authorization": f"Bearer {token}"}
    timestamp = str(int(time.time()))
    return {
        "X-Tierdesk-Timestamp": timestamp,
        "X-Tierdesk-Signature": sha256_signature(SECRET, timestamped_message(timestamp, body)),
        "X-Tierdesk-Delivery": delivery,
    }


def _storm(world: World, name: str, deliveries: int, *, senders: int) -> Storm:
    from django.db import connection
    from django.test import Client

    source, token = _source(world, name)
    url = f"/hooks/alerts/{source.pk}/"
    bodies = _bodies(f"s{source.pk}")
    errors: list[BaseException] = []
    statuses: Counter[int] = Counter()
    openings: list[float] = []
    repeats: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(senders)

    def send(sender: int) -> None:
        client = Client()
        try:
            barrier.wait(timeout=60)
            for n in range(sender, deliveries, senders):
                body = bodies[n % FINGERPRINTS]
                headers = _headers(token, body, signed=sender % 2 == 1, delivery=f"{source.pk}-{n}")
                start = time.perf_counter()
                response = client.post(url, data=body, content_type="application/json", headers=headers)
                took = time.perf_counter() - start
                with lock:
                    statuses[response.status_code] += 1
                    (openings if n < FINGERPRINTS else repeats).append(took)
        except BaseException as exc:  # reported below, not lost with the thread
            errors.append(exc)
        finally:
            if senders > 1:
                connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} sender(s) failed, the first: {errors[0]!r}")
    if statuses != {202: deliveries}:
        raise RuntimeError(f"expected {deliveries:,} answers 202, got {dict(statuses)}")
    _check(source, deliveries)
    return Storm(deliveries, elapsed, openings, repeats)


def _check(source: AlertSource, deliveries: int) -> None:
    from django.db.models import Sum

    from tierdesk.intake.models import Alert
    from tierdesk.tickets.models import Ticket

    alerts = Alert.objects.filter(source=source)
    incidents = Ticket.objects.filter(requester_id=source.requester_id)
    total = alerts.aggregate(total=Sum("count"))["total"]
    linked = set(alerts.values_list("ticket_id", flat=True))
    found = (alerts.count(), incidents.count(), len(linked), total)
    if found != (FINGERPRINTS, FINGERPRINTS, FINGERPRINTS, deliveries):
        raise RuntimeError(
            f"storm miscounted: {found[0]} alerts, {found[1]} incidents, {found[2]} linked, "
            f"counts sum to {total} for {deliveries} deliveries"
        )


def _repeat_queries(world: World) -> int:
    """SQL statements of one repeat delivery with the token (the source's lookup included)."""
    from django.db import connection
    from django.test import Client

    source, token = _source(world, "Bench storm, query count")
    body = _bodies(f"q{source.pk}")[0]
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/hooks/alerts/{source.pk}/"
    client.post(url, data=body, content_type="application/json", headers=headers)  # opens the incident
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.post(url, data=body, content_type="application/json", headers=headers)
    return queries
