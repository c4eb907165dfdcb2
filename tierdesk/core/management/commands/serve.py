from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger(__name__)


def start_periodic_work(every: float) -> threading.Thread:
    """Run the Celery beat schedule's periodic tasks in a daemon thread (embedded default only)."""
    from django.db import close_old_connections

    from tierdesk.config.celery import app

    def loop() -> None:
        while True:
            time.sleep(every)
            for entry in app.conf.beat_schedule.values():
                try:
                    app.tasks[entry["task"]].apply()
                except Exception:
                    logger.exception("periodic task %s failed; it will run again", entry["task"])
                finally:
                    close_old_connections()

    thread = threading.Thread(target=loop, name="tierdesk-periodic", daemon=True)
    thread.start()
    return thread


class Command(BaseCommand):
    help = (
        "Serve Tierdesk with waitress. On the embedded default (no REDIS_URL) background work "
        "runs in-process; with REDIS_URL start Celery workers separately."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        # 32, not waitress's 8: every open portal chat holds one thread with its event stream (for at
        # most ~25 s before the browser reconnects), so a few chats must not starve page requests.
        parser.add_argument("--threads", type=int, default=32)
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first.")
        parser.add_argument(
            "--sweep-every", type=float, default=60.0, help="Seconds between in-process SLA sweeps (0: none)."
        )
        parser.add_argument(
            "--mail-listener",
            default=None,
            help="host:port to receive mail on over SMTP (default: TIERDESK_MAIL_LISTENER; empty: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings
        from waitress import serve

        from tierdesk.config.wsgi import application

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        if not settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        if settings.CELERY_TASK_ALWAYS_EAGER and options["sweep_every"] > 0:
            # Embedded default: no Celery beat, so the periodic work runs in this process.
            start_periodic_work(options["sweep_every"])
        listener = options["mail_listener"] if options["mail_listener"] is not None else settings.TIERDESK_MAIL_LISTENER
        if listener:
            from tierdesk.intake.mail.listener import DeskController

            host, _, port = listener.rpartition(":")
            DeskController(host=host or "127.0.0.1", port=int(port), lmtp=False).start()
            self.stdout.write(f"Receiving mail over SMTP on {listener} (for the desk's direct mailboxes)")
        self.stdout.write(f"Tierdesk on http://{options['host']}:{options['port']}/  (Ctrl+C stops)")
        serve(application, host=options["host"], port=options["port"], threads=options["threads"], ident="tierdesk")
