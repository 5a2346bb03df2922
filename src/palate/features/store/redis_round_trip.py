"""The read path's round trip: queued commands in one write, their raw replies read back.

redis-py's pipeline does the same write, then runs per call a connection lookup through its
deprecation wrapper, HIMPORT bookkeeping, a response callback per reply (``HGETALL`` becomes
a dict the store copied again) and a reset; together they cost the client about a fifth of a
feature read. The reads need none of it: they are idempotent, their replies are decoded by the
store, and an error reply must only be raised after every reply has been read, so the pooled
socket never holds an unread answer. A broken connection (server restart, idle timeout) is
dropped and the round trip is sent again once on a fresh one, as redis-py's default retry
would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Command = tuple[Any, ...]


class ReadCommands:
    """The commands of one round trip, queued with the pipeline's method names.

    >>> commands = ReadCommands()
    >>> commands.hmget("k", ["a", "b"])
    >>> commands.mget(["x", "y"])
    >>> commands.queued
    [('HMGET', 'k', 'a', 'b'), ('MGET', 'x', 'y')]
    """

    __slots__ = ("queued",)

    def __init__(self) -> None:
        self.queued: list[Command] = []

    def hgetall(self, key: str) -> None:
        """Every field of a hash (the reply: names and values, alternating)."""
        self.queued.append(("HGETALL", key))

    def hmget(self, key: str, fields: list[str]) -> None:
        """Named fields of a hash."""
        self.queued.append(("HMGET", key, *fields))

    def mget(self, keys: list[str]) -> None:
        """Several string keys."""
        self.queued.append(("MGET", *keys))

    def get(self, key: str) -> None:
        """One string key."""
        self.queued.append(("GET", key))

    def exists(self, key: str) -> None:
        """Whether a key exists."""
        self.queued.append(("EXISTS", key))

    def echo(self, value: bytes) -> None:
        """A placeholder reply (an empty read keeps its place)."""
        self.queued.append(("ECHO", value))


def hash_pairs(reply: Any) -> Iterable[tuple[Any, Any]]:
    """The (field, value) pairs of an ``HGETALL`` reply (RESP2 sends a flat list, RESP3 a
    map), without building a dict the caller would only read once.

    >>> list(hash_pairs([b"a", b"1", b"b", b"2"]))
    [(b'a', b'1'), (b'b', b'2')]
    """
    if isinstance(reply, dict):
        return reply.items()
    fields = iter(reply)
    return zip(fields, fields, strict=True)


def round_trip(client: redis.Redis, commands: ReadCommands) -> list[Any]:
    """The raw replies of ``commands``, sent as one write on one pooled connection."""
    pool = client.connection_pool
    connection: Any = pool.get_connection()
    try:
        try:
            return _exchange(connection, commands.queued)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            connection.disconnect()  # reconnects on the next send
            return _exchange(connection, commands.queued)
    finally:
        pool.release(connection)


def _exchange(connection: Any, queued: list[Command]) -> list[Any]:
    connection.send_packed_command(connection.pack_commands(queued))
    replies: list[Any] = []
    failure: ResponseError | None = None
    for _ in queued:
        try:
            replies.append(connection.read_response())
        except ResponseError as error:  # read the rest before raising: no answer left behind
            replies.append(error)
            failure = failure or error
    if failure is not None:
        raise failure
    return replies
