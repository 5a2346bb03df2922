"""Prometheus metrics, one registry per app so that tests and replicas never share state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)


class Metrics:
    """The server's metrics; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "palate_request_duration_seconds",
            "Server time per request, by endpoint and status code.",
            ["endpoint", "method", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.degraded = Counter(
            "palate_degraded_responses_total",
            "Responses served by a fallback, by premise and reason.",
            ["premise", "reason"],
            registry=self.registry,
        )
        self.over_budget = Counter(
            "palate_stage_over_budget_total",
            "Pipeline stages that overran their latency budget, by premise and stage.",
            ["premise", "stage"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "palate_stage_duration_seconds",
            "Time per pipeline stage, by premise and stage.",
            ["premise", "stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.candidates = Histogram(
            "palate_candidates",
            "Candidates after retrieval, by premise.",
            ["premise"],
            buckets=(0, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
            registry=self.registry,
        )

        self.events = Counter(
            "palate_events_total",
            "Events posted to /v1/events, by outcome (accepted, duplicate, rejected).",
            ["status"],
            registry=self.registry,
        )
        self.unknown_venue = Counter(
            "palate_events_unknown_venue_total",
            "Accepted events naming a venue the catalog does not know.",
            registry=self.registry,
        )
        self.events_applied = Counter(
            "palate_events_applied_total",
            "Accepted events this process handed to the feature callbacks, by path.",
            ["path"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        body: bytes = generate_latest(self.registry)
        return body
