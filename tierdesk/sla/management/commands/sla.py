from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tierdesk.sla import replay


class Command(BaseCommand):
    help = (
        "SLA tools. `sla replay-uci FILE` replays the UCI ServiceNow event log (zip or csv) through the "
        "SLA engine and sets Tierdesk's resolution outcomes beside ServiceNow's made_sla flags."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["replay-uci"])
        parser.add_argument("file", type=Path, help="e.g. ../shared/data/tickets/uci-incident-event-log.zip")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N incidents of the log.")
        parser.add_argument("--csv", type=Path, default=None, help="Write each incident's outcome here.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No event log at {path}.")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        rejected: list[replay.Rejected] = []
        with replay.open_event_log(path) as stream:
            incidents = replay.read_event_log(stream, limit=options["limit"], rejected=rejected)
        total = len(incidents)
        self.stdout.write(f"Read {total} incidents ({sum(len(i.updates) for i in incidents)} updates) from {path}.")

        def progress(done: int) -> None:
            sys.stderr.write(f"\rimported {done}/{total} ({100 * done // max(total, 1)} %)")
            if done == total:
                sys.stderr.write("\n")

        result = replay.replay(incidents, rejected=rejected, progress=progress)
        self.stdout.write(
            f"Imported {result.imported}, already there {result.already_there}; "
            f"clocks read at {result.read_at:%Y-%m-%d %H:%M} UTC (the log's last update)."
            if result.read_at
            else "Nothing to replay."
        )
        for line in replay.format_comparison(replay.compare(result.outcomes)):
            self.stdout.write(line)
        if rejected:
            self.stdout.write(f"Set aside {len(rejected)} rows or incidents:")
            for item in rejected[:20]:
                self.stdout.write(f"  {item.where}: {item.reason}")
        if options["csv"] is not None:
            with options["csv"].open("w", encoding="utf-8", newline="") as out:
                replay.outcomes_csv(result.outcomes, out)
            self.stdout.write(f"Outcomes per incident: {options['csv']}")
