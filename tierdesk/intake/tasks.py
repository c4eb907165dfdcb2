from celery import shared_task

from tierdesk.intake.mail import imap


@shared_task(name="tierdesk.intake.poll_mailboxes", ignore_result=True)
def poll_mailboxes() -> None:
    # Exactly once however many workers run it: each mailbox is leased to one poller at a time.
    imap.poll_due_mailboxes()


@shared_task(name="tierdesk.intake.settle_flapping_alerts", ignore_result=True)
def settle_flapping_alerts() -> None:
    # A flapping alert whose source went quiet is settled here, not only after its next delivery.
    from tierdesk.intake.alerts.services import settle_flapping, source_actor
    from tierdesk.intake.models import AlertSource

    for source in AlertSource.objects.filter(is_active=True, alerts__is_flapping=True).distinct():
        settle_flapping(actor=source_actor(source), source=source)
