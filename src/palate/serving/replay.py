"""``palate replay``: feed an event log through ``POST /v1/events`` at a chosen rate.

The demo and the benchmarks use it so that every event takes the production ingestion path.
Batches are scheduled open-loop (batch *i* is due at ``start + i * batch / rate``), so a slow
server shows up as lag rather than as a quietly lower rate.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pyarrow as pa

from palate.events.log import EventLog

# The fields the public event schema accepts per type (``venue_id`` of a venue impression or
# click is derived from ``entity_id`` on ingestion, so it is not sent).
FIELDS_BY_TYPE = {
    "impression": ("request_id", "premise", "section", "position", "entity_kind", "entity_id"),
    "click": ("request_id", "premise", "section", "entity_kind", "entity_id"),
    "add_to_cart": ("request_id", "venue_id", "item_id", "quantity"),
    "order": ("request_id", "order_id", "venue_id", "lines", "total"),
}
COMMON = ("type", "event_id", "user_id", "ts")


def to_json_events(table: pa.Table) -> list[dict[str, object]]:
    """Rows of an EVENT_SCHEMA table as public API events (nulls left out)."""
    events: list[dict[str, object]] = []
    for row in table.to_pylist():
        event = {key: row[key] for key in COMMON}
        for key in FIELDS_BY_TYPE[row["type"]]:
            if row[key] is not None:
                event[key] = row[key]
        if row["lat"] is not None and row["lon"] is not None:
            event["location"] = {"lat": row["lat"], "lon": row["lon"]}
        events.append(event)
    return events


@dataclass(slots=True)
class ReplayStats:
    """What the server answered, and how fast."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    failed_batches: int = 0
    elapsed_s: float = 0.0
    max_lag_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def rate(self) -> float:
        """Events per second actually achieved."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def add(self, reply: dict[str, int], count: int, lag_s: float) -> None:
        """Count one answered batch."""
        with self._lock:
            self.sent += count
            self.accepted += reply.get("accepted", 0)
            self.duplicate += reply.get("duplicates", 0)
            self.rejected += reply.get("rejected", 0)
            self.max_lag_s = max(self.max_lag_s, lag_s)

    def format(self) -> str:
        """One line for the terminal."""
        return (
            f"replayed {self.sent:,} events in {self.elapsed_s:.1f}s ({self.rate:,.0f}/s): "
            f"{self.accepted:,} accepted, {self.duplicate:,} duplicate, {self.rejected:,} "
            f"rejected, {self.failed_batches} failed batches, max lag {self.max_lag_s:.2f}s"
        )


def batches(
    log: EventLog, batch_size: int, start: datetime | None, end: datetime | None
) -> Iterator[tuple[bytes, int]]:
    """JSON bodies of up to ``batch_size`` events in event-time order, with their counts."""
    for record_batch in log.iter_batches(start=start, end=end, batch_size=batch_size):
        table = pa.Table.from_batches([record_batch])
        for offset in range(0, table.num_rows, batch_size):
            chunk = table.slice(offset, batch_size)
            yield orjson.dumps({"events": to_json_events(chunk)}), chunk.num_rows


def replay(
    source: Path,
    base_url: str,
    *,
    rate: float | None = None,
    batch_size: int = 1000,
    concurrency: int = 2,
    start: datetime | None = None,
    end: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> ReplayStats:
    """Send the event log under ``source`` to ``base_url``; ``rate`` in events/s (None = max)."""
    stats = ReplayStats()
    work: queue.Queue[tuple[float, bytes, int] | None] = queue.Queue(maxsize=concurrency * 4)
    began = time.perf_counter()
    workers = [
        threading.Thread(target=_sender, args=(base_url, headers or {}, work, stats), daemon=True)
        for _ in range(concurrency)
    ]
    for worker in workers:
        worker.start()
    for number, (body, count) in enumerate(batches(EventLog(source), batch_size, start, end)):
        due = began + (number * batch_size / rate if rate else 0.0)
        work.put((due, body, count))
    for _ in workers:
        work.put(None)
    for worker in workers:
        worker.join()
    stats.elapsed_s = time.perf_counter() - began
    return stats


def _sender(
    base_url: str,
    headers: dict[str, str],
    work: queue.Queue[tuple[float, bytes, int] | None],
    stats: ReplayStats,
) -> None:
    request_headers = {"content-type": "application/json", **headers}
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        while (job := work.get()) is not None:
            due, body, count = job
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            answer = _post_with_retries(client, body, request_headers)
            if answer is None:
                with stats._lock:
                    stats.failed_batches += 1
                continue
            stats.add(answer, count, max(0.0, time.perf_counter() - due))


def _post_with_retries(
    client: httpx.Client, body: bytes, headers: dict[str, str], attempts: int = 4
) -> dict[str, int] | None:
    """Ingestion is idempotent by event id, so a failed batch is simply sent again."""
    for attempt in range(attempts):
        try:
            reply = client.post("/v1/events", content=body, headers=headers)
            if reply.status_code == 200:
                answer: dict[str, int] = reply.json()
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.2 * 2**attempt)
    return None
