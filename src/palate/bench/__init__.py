"""palate bench: constant-rate load scenarios against a production-configured server."""

from __future__ import annotations
