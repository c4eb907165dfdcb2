"""Helpers for the servers the tests start themselves (Dovecot, slapd)."""

from __future__ import annotations

import shutil


def dies_with_tests(argv: list[str]) -> list[str]:
    """The server's command, run so that it gets SIGTERM when the test process dies, even by
    SIGKILL: a killed CI run must not leave a daemon holding its port and temporary directory.
    util-linux's setpriv sets the parent-death signal and execs the server (no preexec_fn, which
    is unsafe once threads run); without setpriv the command runs as it is."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *argv] if setpriv else argv
