"""Run the benchmarks once per database backend, each in its own process with its own settings.

Django settings are fixed per process, so each backend gets a child `python -m benchmarks.run_backend`
with a throw-away TIERDESK_VAR_DIR and DATABASE_URL set (PostgreSQL) or unset (SQLite).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile

import psycopg

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def _child_env(var_dir: str, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env.update(
        DJANGO_SETTINGS_MODULE="tierdesk.config.settings",
        TIERDESK_ENV="test",  # fast password hashing, DEBUG off (no query log kept in memory)
        TIERDESK_VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run_backend(label: str, database_url: str | None) -> int:
    print(f"\n== {label} ==", flush=True)
    with tempfile.TemporaryDirectory(prefix="tierdesk-bench-") as var_dir:
        env = _child_env(var_dir, database_url)
        return subprocess.call([sys.executable, "-m", "benchmarks.run_backend"], env=env)


def _admin_sql(sql: str) -> None:
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=3
    ) as conn:
        conn.execute(sql)


def run_postgres() -> int:
    try:
        _admin_sql("SELECT 1")
    except psycopg.Error:
        print(f"\n== PostgreSQL ==\nskipped: no PostgreSQL at {PG_HOST}:{PG_PORT}", flush=True)
        return 0
    name = f"tierdesk_bench_{os.getpid()}"
    _admin_sql(f'CREATE DATABASE "{name}"')
    try:
        return run_backend(f"PostgreSQL (database {name})", f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}")
    finally:
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Tierdesk benchmarks: {os.cpu_count()} CPU cores ({usable} usable), "
        f"Python {platform.python_version()}, {platform.platform()}",
        flush=True,
    )
    failures = run_backend("SQLite (fresh file in a temporary directory)", None)
    failures |= run_postgres()
    return failures


if __name__ == "__main__":
    sys.exit(main())
