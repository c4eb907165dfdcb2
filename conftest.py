"""Shared fixtures live in tierdesk.testing.fixtures; test settings in tierdesk.testing.env."""

pytest_plugins = [
    "tierdesk.testing.fixtures",
    "tierdesk.testing.browser",
    "tierdesk.testing.dovecot",
    "tierdesk.testing.slapd",
]
