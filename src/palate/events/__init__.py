"""The durable event log: columnar, partitioned by day, append-only."""

from __future__ import annotations
