"""Test-wide setup: test settings, a throwaway var/ dir, and the shared fixtures."""

import os
import tempfile

os.environ.setdefault("TIERDESK_ENV", "test")
os.environ.setdefault("TIERDESK_VAR_DIR", tempfile.mkdtemp(prefix="tierdesk-test-"))

pytest_plugins = ["tierdesk.testing.fixtures"]
