"""Pick a feature store adapter by the name in the configuration (``memory`` or ``redis``).

Adapters are imported only when chosen, so a deployment without Redis never imports its client.
"""

from __future__ import annotations

import importlib
from typing import Any

from palate.errors import ConfigurationError
from palate.features.store.protocol import FeatureStore

ADAPTERS: dict[str, tuple[str, str]] = {
    "memory": ("palate.features.store.memory", "MemoryFeatureStore"),
    "redis": ("palate.features.store.redis", "RedisFeatureStore.from_url"),
}


def open_store(name: str, **options: Any) -> FeatureStore:
    """A store from its adapter name; ``options`` go to the adapter's constructor.

    ``redis`` takes ``url`` and ``namespace``; ``memory`` takes nothing.

    >>> type(open_store("memory")).__name__
    'MemoryFeatureStore'
    >>> open_store("cassandra")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    palate.errors.ConfigurationError: unknown feature store 'cassandra'; choose one of: ...
    """
    try:
        module_name, attribute = ADAPTERS[name]
    except KeyError:
        choices = ", ".join(sorted(ADAPTERS))
        raise ConfigurationError(
            f"unknown feature store {name!r}; choose one of: {choices}"
        ) from None
    factory: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        factory = getattr(factory, part)
    try:
        store: FeatureStore = factory(**options)
    except TypeError as error:
        raise ConfigurationError(f"feature store {name!r}: {error}") from None
    return store
