"""Fixtures of the self-service tests: the chat layer on both of its backends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.fixture(params=["memory", "redis"])
def chat_layer(request: Any, settings: Any) -> Iterator[str]:
    """Each test using it runs on the in-process layer and on Redis pub/sub."""
    if request.param == "redis":
        url = _redis_url()
        if url is None:
            pytest.skip("Redis layer skipped: set REDIS_URL or run Redis on 127.0.0.1:6379 to test it")
        settings.REDIS_URL = url
    else:
        settings.REDIS_URL = ""
    yield request.param
