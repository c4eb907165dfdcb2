from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tierdesk.audit.services import verify_all


class Command(BaseCommand):
    help = "Audit trail tools. `audit verify` checks the hash chains of the audit trail and access log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        reports = verify_all()
        for report in reports:
            self.stdout.write(str(report))
        broken = [r for r in reports if not r.ok]
        if broken:
            raise CommandError(f"audit chain broken: {broken[0]}")
