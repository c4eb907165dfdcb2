"""The Celery application. On the embedded default (no REDIS_URL) tasks run eagerly
in-process after commit; with REDIS_URL they go to Redis for separate workers."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tierdesk.config.settings")

app = Celery("tierdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one periodic schedule of the project.
app.conf.beat_schedule = {
    # Raise due SLA warnings and breaches; exactly once however many workers run it.
    "sla-sweep": {"task": "tierdesk.sla.sweep", "schedule": 60.0},
    # Retry what the outbox could not deliver yet (mail server or tracker down).
    "outbox-deliver": {"task": "tierdesk.notifications.deliver_outbox", "schedule": 30.0},
    # Take in new mail from the IMAP mailboxes; a mailbox another worker is polling is skipped.
    "poll-mailboxes": {"task": "tierdesk.intake.poll_mailboxes", "schedule": 60.0},
    # Apply the final status of alerts that stopped flapping, also when their source went silent.
    "settle-flapping-alerts": {"task": "tierdesk.intake.settle_flapping_alerts", "schedule": 60.0},
}
