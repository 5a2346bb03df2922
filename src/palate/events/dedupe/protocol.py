"""The dedupe port: remembers which event ids were accepted, so a retry is a ``duplicate``.

Claims are two-phase so that a crash never turns a lost event into a ``duplicate``:
:meth:`DedupeStore.claim` marks new ids *pending* (for ``pending_ttl``), the caller makes
the events durable, then :meth:`DedupeStore.commit` marks them *seen* for the dedupe
window, or :meth:`DedupeStore.release` frees them if the write failed. A claim whose
process died expires, and the client's retry is accepted then.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

StateArray = npt.NDArray[np.uint8]
NsArray = npt.NDArray[np.int64]


class ClaimState(IntEnum):
    """What :meth:`DedupeStore.claim` found for one id."""

    NEW = 0  # claimed now by this call: commit or release it
    PENDING = 1  # claimed by a request that has not finished (or died recently)
    SEEN = 2  # committed before: a duplicate


@runtime_checkable
class DedupeStore(Protocol):
    """Batch operations over event ids; one round trip per call where a network is involved.

    ``survives_restart`` is false for a store whose contents die with the process: the
    ingestor then refills it at startup from the seen-ids journal and the WAL.
    """

    survives_restart: bool

    def claim(self, event_ids: Sequence[str], token: str) -> StateArray:
        """Claim the ids that are neither pending nor seen; one :class:`ClaimState` per id.

        ``token`` identifies the claiming request (for :meth:`release`). An id repeated
        within one call is claimed once; its later copies come back ``PENDING``.
        """
        ...

    def commit(self, event_ids: Sequence[str], seen_ns: NsArray | None = None) -> None:
        """Mark ids seen, as of ``seen_ns`` (ns since the epoch; default now), for the window."""
        ...

    def release(self, event_ids: Sequence[str], token: str) -> None:
        """Forget pending claims made with ``token`` (seen ids and others' claims stay)."""
        ...

    def close(self) -> None:
        """Release resources; the store is unusable afterwards."""
        ...
