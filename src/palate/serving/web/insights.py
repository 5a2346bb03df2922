"""``/ui/insights``: the offline evaluation, live serving figures and the model registry."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from prometheus_client import CollectorRegistry

from palate.ranking.model_store import FileModelStore
from palate.serving.dependencies import MetricsDep, SettingsDep
from palate.serving.state import EVENTS_DIR
from palate.serving.web.reports import REPORTS_DIR, latest_reports
from palate.serving.web.templating import render

router = APIRouter(include_in_schema=False)
REQUEST_METRIC = "palate_request_duration_seconds"
DEGRADED_METRIC = "palate_degraded_responses_total"


@dataclass(slots=True)
class EndpointFigures:
    """Requests, errors and the latency histogram of one endpoint (all methods and statuses)."""

    endpoint: str
    count: float = 0.0
    errors: float = 0.0
    total_s: float = 0.0
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))

    def quantile(self, q: float) -> float | None:
        """Prometheus-style ``histogram_quantile``: linear inside the bucket holding rank q."""
        if not self.count:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for bound, cumulative in sorted(self.buckets.items()):
            if cumulative >= rank:
                if bound == float("inf"):
                    return lower
                width = cumulative - below
                return lower + (bound - lower) * ((rank - below) / width if width else 1.0)
            lower, below = bound, cumulative
        return lower


def endpoint_figures(registry: CollectorRegistry) -> list[EndpointFigures]:
    """Per endpoint, from the request-duration histogram, busiest first."""
    figures: dict[str, EndpointFigures] = {}
    for metric in registry.collect():
        if metric.name != REQUEST_METRIC:
            continue
        for sample in metric.samples:
            endpoint = sample.labels["endpoint"]
            entry = figures.setdefault(endpoint, EndpointFigures(endpoint))
            if sample.name.endswith("_count"):
                entry.count += sample.value
                entry.errors += sample.value if sample.labels["status"].startswith("5") else 0.0
            elif sample.name.endswith("_sum"):
                entry.total_s += sample.value
            elif sample.name.endswith("_bucket"):
                entry.buckets[float(sample.labels["le"])] += sample.value
    return sorted(figures.values(), key=lambda f: (-f.count, f.endpoint))


def degraded_counts(registry: CollectorRegistry) -> dict[str, float]:
    """Degraded responses per premise (all reasons)."""
    counts: dict[str, float] = defaultdict(float)
    for metric in registry.collect():
        if metric.name + "_total" == DEGRADED_METRIC or metric.name == DEGRADED_METRIC:
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels["premise"]] += sample.value
    return dict(counts)


def serving_rows(registry: CollectorRegistry, uptime_s: float) -> list[dict[str, Any]]:
    """The insight table: requests, requests/s, p50/p99 in ms and error count per endpoint."""
    rows = []
    for entry in endpoint_figures(registry):
        p50, p99 = entry.quantile(0.5), entry.quantile(0.99)
        rows.append(
            {
                "endpoint": entry.endpoint,
                "requests": int(entry.count),
                "rate": round(entry.count / max(uptime_s, 1.0), 2),
                "p50_ms": None if p50 is None else round(p50 * 1000, 1),
                "p99_ms": None if p99 is None else round(p99 * 1000, 1),
                "errors": int(entry.errors),
            }
        )
    return rows


@router.get("/ui/insights", response_class=HTMLResponse)
async def insights_page(
    request: Request, metrics: MetricsDep, settings: SettingsDep
) -> HTMLResponse:
    """Evaluation reports, serving figures since this process started, registered models."""
    uptime = time.monotonic() - getattr(request.app.state, "ui_started", time.monotonic())
    store = FileModelStore.in_data_dir(settings.data.dir)
    name = settings.ranker.model_name
    promotions = store.promotions(name)
    return render(
        request,
        "insights.html",
        {
            "reports": latest_reports(settings.data.dir),
            "reports_dir": settings.data.dir / REPORTS_DIR,
            "events_dir": settings.data.dir / EVENTS_DIR,
            "data_dir": settings.data.dir,
            "rows": serving_rows(metrics.registry, uptime),
            "degraded": degraded_counts(metrics.registry),
            "uptime_s": round(uptime),
            "model_name": name,
            "versions": list(reversed(store.list(name))),
            "current": promotions.current,
            "can_roll_back": len(promotions.history) >= 2,
        },
    )
