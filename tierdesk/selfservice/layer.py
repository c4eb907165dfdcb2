"""Wakes the chat streams that wait for a conversation's next message.

The database is the source of truth (ChatMessage ids increase); this layer only says "look
again". `publish(conversation_id, message_id)` runs after the message committed. A stream
opens `listen(conversation_id)` *before* it reads the database and then calls
`listener.wait(last_id, timeout)`: a message published between the read and the wait is held
by the listener, so no wake-up falls in the gap.

- With REDIS_URL (production: several server processes, Celery workers): Redis pub/sub, one
  subscription per open stream (a pooled connection, for the stream's ~25 s).
- Without it (the embedded default, one process): a threading.Condition and the set of
  listeners of each conversation.

Nothing is lost even if a wake-up is: a stream re-reads the database after every wait, timed
out or not, so a missed wake-up costs at most one heartbeat of delay.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


class Listener:
    """Hears the publishes of one conversation from the moment it is opened."""

    def wait(self, last_id: int, timeout: float) -> bool:
        """True as soon as a message newer than `last_id` was published; False after `timeout` seconds."""
        raise NotImplementedError

    def close(self) -> None:
        pass


@contextlib.contextmanager
def listen(conversation_id: int) -> Iterator[Listener]:
    listener: Listener = _RedisListener(conversation_id) if _redis_url() else _MemoryListener(conversation_id)
    try:
        yield listener
    finally:
        listener.close()


def wait(conversation_id: int, last_id: int, timeout: float) -> bool:
    """One wait, listening only from now on (streams use `listen`, which also covers their read)."""
    with listen(conversation_id) as listener:
        return listener.wait(last_id, timeout)


def publish(conversation_id: int, message_id: int | None = None) -> None:
    """Wake the streams of this conversation. Call after commit (see `publish_on_commit`).
    Without `message_id` the conversation's newest message is read from the database."""
    if message_id is None:
        from tierdesk.selfservice.models import ChatMessage

        message_id = ChatMessage.objects.newest_id(conversation_id)
    if _redis_url():
        _redis_publish(conversation_id, message_id)
    else:
        _memory_publish(conversation_id, message_id)


def publish_on_commit(conversation_id: int, message_id: int) -> None:
    transaction.on_commit(lambda: publish(conversation_id, message_id))


def backend() -> str:
    return "redis" if _redis_url() else "memory"


def _redis_url() -> str:
    return str(getattr(settings, "REDIS_URL", "") or "")


# --- in-process --------------------------------------------------------------------------


_condition = threading.Condition()
_listeners: dict[int, set[_MemoryListener]] = {}


class _MemoryListener(Listener):
    def __init__(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self.newest = 0
        with _condition:
            _listeners.setdefault(conversation_id, set()).add(self)

    def wait(self, last_id: int, timeout: float) -> bool:
        if timeout <= 0:
            return self.newest > last_id
        with _condition:
            return _condition.wait_for(lambda: self.newest > last_id, timeout=timeout)

    def close(self) -> None:
        with _condition:
            listeners = _listeners.get(self.conversation_id)
            if listeners is not None:
                listeners.discard(self)
                if not listeners:
                    del _listeners[self.conversation_id]


def _memory_publish(conversation_id: int, message_id: int) -> None:
    with _condition:
        for listener in _listeners.get(conversation_id, ()):
            listener.newest = max(listener.newest, message_id)
        _condition.notify_all()


# --- Redis -------------------------------------------------------------------------------


def _channel(conversation_id: int) -> str:
    return f"tierdesk:chat:{conversation_id}"


@cache
def _client(url: str) -> Any:
    import redis

    # One pool per process; every open stream borrows a connection for its subscription.
    return redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)


def _redis_publish(conversation_id: int, message_id: int) -> None:
    try:
        _client(_redis_url()).publish(_channel(conversation_id), message_id)
    except Exception:  # the message is committed; streams find it at their next heartbeat
        logger.warning("chat layer: could not publish conversation %s to Redis", conversation_id, exc_info=True)


class _RedisListener(Listener):
    def __init__(self, conversation_id: int) -> None:
        self.newest = 0
        self.pubsub: Any = None
        try:
            self.pubsub = _client(_redis_url()).pubsub()
            self.pubsub.subscribe(_channel(conversation_id))
            # Wait for the server's confirmation: from then on every publish reaches us.
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                reply = self.pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if reply is not None and reply["type"] == "subscribe":
                    break
        except Exception:
            logger.warning("chat layer: cannot subscribe to conversation %s", conversation_id, exc_info=True)
            self.close()

    def wait(self, last_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        if self.pubsub is None:
            # Redis is away: the stream falls back to reading the database every couple of seconds.
            time.sleep(min(2.0, max(0.0, timeout)))
            return False
        try:
            while True:
                if self.newest > last_id:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                message = self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                if message is not None and message["type"] == "message":
                    self.newest = max(self.newest, int(message["data"]))
        except Exception:
            logger.warning("chat layer: lost the Redis subscription", exc_info=True)
            self.close()
            time.sleep(max(0.0, min(2.0, deadline - time.monotonic())))
            return False

    def close(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.pubsub.close()
            self.pubsub = None
