"""`tierdesk`: the operators' command. Each verb wraps a Django management command.

tierdesk run [--port 8000]      migrate, then serve (waitress; background work in-process)
tierdesk demo-data              load the demo MSP (idempotent)
tierdesk audit verify           check the audit trail's and access log's hash chains
tierdesk migrate | check | ...  any other Django management command
"""

from __future__ import annotations

import os
import sys

ALIASES = {"run": "serve", "demo-data": "demo_data"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tierdesk.config.settings")
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        if not args:
            sys.exit(2)
        return
    args[0] = ALIASES.get(args[0], args[0].replace("-", "_"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tierdesk", *args])


if __name__ == "__main__":
    main()
