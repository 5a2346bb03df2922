"""The Redis key layout of the feature store; every key starts with the store's namespace.

Keys of one entity share a hash tag so that they live in one cluster slot; a write script only
ever touches keys of one tag::

    <ns>:{u:<customer>}:m:<map>[:<sub>]     HASH  field -> 16 bytes <f8 value, <f8 latest ts
    <ns>:{v:<venue>}:c:<counter>[:<sub>]    STRING <f8 ref ts, then one <f8 per slot
    <ns>:{v:<venue>}:w:<window>             STRING <f8 newest bucket, then one <f4 per bucket
    <ns>:{v:<venue>}:s:<snapshot>:<ver>     STRING one <f4 per column (no TTL)
    <ns>:{s:<snapshot>}:ptr                 STRING JSON {"version": n, "columns": [...]}
    <ns>:{s:<snapshot>}:seq                 STRING last version number handed out
    <ns>:{s:<snapshot>}:state               HASH  version -> "open" | "active"
    <ns>:{s:<snapshot>}:ids:<ver>           SET   entity ids written into that version

``{``, ``}`` and ``%`` inside ids are percent-encoded so that an id can never end a tag early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from palate.errors import ConfigurationError
from palate.features.store.specs import CounterSpec, MapSpec, SnapshotSpec, WindowSpec

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def escape(entity_id: str) -> str:
    """An id safe inside a hash tag.

    >>> escape("plain-id"), escape("a{b}%")
    ('plain-id', 'a%7Bb%7D%25')
    """
    if "{" in entity_id or "}" in entity_id or "%" in entity_id:
        return entity_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return entity_id


class KeyLayout:
    """Builds the keys of one namespace.

    >>> keys = KeyLayout("palate")
    >>> keys.map(MapSpec("cv", "u", 3600.0, 60.0), "42")
    'palate:{u:42}:m:cv'
    >>> keys.counters(CounterSpec("how", "v", ("n",), 3600.0, 60.0), ["7", "{8}"], sub="19")
    ['palate:{v:7}:c:how:19', 'palate:{v:%7B8%7D}:c:how:19']
    """

    def __init__(self, namespace: str) -> None:
        if not _NAMESPACE.match(namespace):
            raise ConfigurationError(
                f"feature store namespace must be 1-64 of A-Z a-z 0-9 _ . -, got {namespace!r}"
            )
        self.namespace = namespace

    def _entity(self, kind: str, entity_id: str) -> str:
        return f"{self.namespace}:{{{kind}:{escape(entity_id)}}}"

    def many(self, kind: str, entity_ids: Sequence[str], tail: str) -> list[str]:
        """``<ns>:{kind:<id>}<tail>`` for many ids, built by C-level joins when ids are plain."""
        if not entity_ids:
            return []
        head = f"{self.namespace}:{{{kind}:"
        joined = "\n".join(entity_ids)
        plain = joined.count("\n") == len(entity_ids) - 1
        if not plain or "{" in joined or "}" in joined or "%" in joined:
            return [head + escape(entity) + tail for entity in entity_ids]
        return (head + joined.replace("\n", f"{tail}\n{head}") + tail).split("\n")

    def map(self, spec: MapSpec, entity_id: str, sub: str = "") -> str:
        """The hash of one entity's map."""
        tail = f":{sub}" if sub else ""
        return f"{self._entity(spec.kind, entity_id)}:m:{spec.name}{tail}"

    def counter(self, spec: CounterSpec, entity_id: str, sub: str = "") -> str:
        """One entity's counter blob."""
        tail = f":{sub}" if sub else ""
        return f"{self._entity(spec.kind, entity_id)}:c:{spec.name}{tail}"

    def counters(self, spec: CounterSpec, entity_ids: Sequence[str], sub: str = "") -> list[str]:
        """The counter blobs of many entities."""
        return self.many(spec.kind, entity_ids, f"}}:c:{spec.name}" + (f":{sub}" if sub else ""))

    def window(self, spec: WindowSpec, entity_id: str) -> str:
        """One entity's window rings."""
        return f"{self._entity(spec.kind, entity_id)}:w:{spec.name}"

    def windows(self, spec: WindowSpec, entity_ids: Sequence[str]) -> list[str]:
        """The window rings of many entities."""
        return self.many(spec.kind, entity_ids, f"}}:w:{spec.name}")

    def snapshot_rows(
        self, spec: SnapshotSpec, version: int, entity_ids: Sequence[str]
    ) -> list[str]:
        """The row blobs of many entities in one version."""
        return self.many(spec.kind, entity_ids, f"}}:s:{spec.name}:{version}")

    def snapshot_meta(self, spec: SnapshotSpec, part: str) -> str:
        """``ptr``, ``seq``, ``state`` or ``ids:<version>`` of a snapshot."""
        return f"{self.namespace}:{{s:{spec.name}}}:{part}"

    def pattern(self) -> str:
        """A SCAN pattern matching every key of the namespace."""
        return f"{self.namespace}:*"
