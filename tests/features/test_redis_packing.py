"""The direct packer sends exactly the bytes redis-py's own serializer would."""

from __future__ import annotations

from typing import Any

import pytest
from redis.connection import HiredisRespSerializer

from palate.features.store.redis_packing import DirectPacker

COMMANDS: list[tuple[Any, ...]] = [
    ("HMGET", "palate:{v1}:m:item_pop", *(f"item-{k}" for k in range(300))),
    (b"MGET", b"a", b"b"),
    ("SET", "k", 1, 2.5, b"\x00\xff"),
    ("SCRIPT LOAD", "return 1"),  # a two-word name: redis-py splits it
    (b"CLIENT SETNAME", b"palate"),
    ("SET", "k", bytearray(b"v")),  # hiredis refuses a bytearray: redis-py packs it
    ("SET", "k", memoryview(b"view")),
    ("HSET", "k", "naïve", "ü"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_packs_what_redis_py_packs(command: tuple[Any, ...]) -> None:
    assert b"".join(DirectPacker().pack(*command)) == b"".join(
        HiredisRespSerializer().pack(*command)
    )


def test_a_value_neither_redis_py_nor_hiredis_packs_is_refused() -> None:
    from redis.exceptions import DataError

    with pytest.raises(DataError):
        DirectPacker().pack("SET", "k", object())
