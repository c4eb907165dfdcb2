from __future__ import annotations

import logging
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Serve Tierdesk with waitress. On the embedded default (no REDIS_URL) background work "
        "runs in-process; with REDIS_URL start Celery workers separately."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings
        from waitress import serve

        from tierdesk.config.wsgi import application

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        if not settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self.stdout.write(f"Tierdesk on http://{options['host']}:{options['port']}/  (Ctrl+C stops)")
        serve(application, host=options["host"], port=options["port"], threads=options["threads"], ident="tierdesk")
