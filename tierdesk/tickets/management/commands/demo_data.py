from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tierdesk.testing import demo


class Command(BaseCommand):
    help = "Load the demo MSP, its clients, agents and tickets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=300, help="How many demo tickets to create.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo.load(progress=lambda msg: self.stdout.write(f"  {msg}"), ticket_count=options["tickets"])
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {result.tickets} tickets."))
        else:
            self.stdout.write(f"Demo data already present ({result.tickets} tickets); nothing changed.")
        self.stdout.write(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
        for role, email in result.logins:
            self.stdout.write(f"  {role:<30} {email}")
