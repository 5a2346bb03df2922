"""Business rules as pipeline stages: exclusions, boosts, pins, sponsored slots, diversity caps."""

from __future__ import annotations
