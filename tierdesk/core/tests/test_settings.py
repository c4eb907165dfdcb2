"""Production settings fail fast and pass Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


# Variables of this test process that must not leak into the deployment it checks.
NOT_INHERITED = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = _manage(
        "check", TIERDESK_ENV="production", ALLOWED_HOSTS="desk.example.com", TIERDESK_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_the_address_for_links_in_mail(tmp_path: Path) -> None:
    result = _manage(
        "check",
        TIERDESK_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="desk.example.com",
        TIERDESK_BASE_URL="",
        TIERDESK_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "TIERDESK_BASE_URL must be set" in result.stderr


def test_production_passes_check_deploy_without_warnings(tmp_path: Path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        TIERDESK_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="desk.example.com",
        TIERDESK_BASE_URL="https://desk.example.com",
        TIERDESK_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_development_defaults_generate_a_private_secret(tmp_path: Path) -> None:
    result = _manage("check", TIERDESK_ENV="development", TIERDESK_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    key = tmp_path / "secret_key"
    assert key.exists() and len(key.read_text()) > 50 and oct(key.stat().st_mode)[-3:] == "600"


def test_api_server_errors_are_problem_documents(rf: object) -> None:
    from tierdesk.core.api import server_error

    response = server_error(rf.get("/api/v1/tickets/"))  # type: ignore[attr-defined]
    assert response.status_code == 500 and response["Content-Type"] == "application/problem+json"
    assert b"Internal server error" in response.content
    page = server_error(rf.get("/tickets/"))  # type: ignore[attr-defined]
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
