"""All HTTP: the app factory, routes, schemas, middleware."""

from __future__ import annotations
