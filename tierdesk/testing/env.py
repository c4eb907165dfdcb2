"""Loaded by pytest with `-p` (see pyproject), before pytest-django reads the settings:
the suite always runs with test settings and a throwaway var/ directory."""

import os
import tempfile

os.environ.setdefault("TIERDESK_ENV", "test")
os.environ.setdefault("TIERDESK_VAR_DIR", tempfile.mkdtemp(prefix="tierdesk-test-"))
