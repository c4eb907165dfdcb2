"""The notification layer that wakes chat streams: in-process and Redis pub/sub behave the same."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from tierdesk.selfservice import layer

# Conversation ids far from any a test database hands out, distinct per run (Redis is shared).
BASE = 10_000_000 + (os.getpid() % 100_000) * 10


@pytest.fixture
def backend(chat_layer: str) -> str:
    assert layer.backend() == chat_layer
    return chat_layer


def test_a_publish_wakes_a_waiting_listener_at_once(backend: str) -> None:
    conversation_id = BASE + 1
    woke: list[tuple[bool, float]] = []

    def wait() -> None:
        started = time.monotonic()
        woke.append((layer.wait(conversation_id, 5, timeout=10), time.monotonic() - started))

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.5)  # the waiter is subscribed and blocked
    layer.publish(conversation_id, 6)
    thread.join(timeout=15)
    assert woke and woke[0][0] is True and woke[0][1] < 3


def test_nothing_published_is_a_timeout(backend: str) -> None:
    started = time.monotonic()
    assert layer.wait(BASE + 2, 0, timeout=0.5) is False
    assert 0.4 < time.monotonic() - started < 3


def test_a_publish_between_the_read_and_the_wait_is_not_slept_through(backend: str) -> None:
    """A stream listens, reads the database (here: nothing), a line is published, then it waits."""
    conversation_id = BASE + 3
    with layer.listen(conversation_id) as listener:
        layer.publish(conversation_id, 8)  # published while the stream was busy reading
        started = time.monotonic()
        assert listener.wait(7, timeout=5) is True
        assert time.monotonic() - started < 1
        # Lines the stream already has do not wake it again.
        assert listener.wait(8, timeout=0.3) is False


def test_other_conversations_do_not_wake_a_listener(backend: str) -> None:
    with layer.listen(BASE + 4) as listener:
        layer.publish(BASE + 5, 99)
        assert listener.wait(0, timeout=0.5) is False


def test_a_redis_that_is_away_degrades_to_polling(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = time.monotonic()
    layer.publish(BASE + 6, 1)  # logged, not raised: the message is committed anyway
    assert layer.wait(BASE + 6, 0, timeout=0.5) is False
    assert time.monotonic() - started < 5
