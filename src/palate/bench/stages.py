"""Where each ranking request's CPU goes, stage by stage, in process (``palate bench --stages``).

The server's figures include sockets, HTTP parsing, the event loop and a noisy neighbour (the
load generator shares the cores). This loads the bench data exactly as a server worker does
(catalog, warmed features, the promoted model), builds the served app, and calls it in process
(:mod:`palate.bench.in_process`) with the load generator's own requests, cycling their
customers: the handling thread's CPU per request is the whole request short of the network.
A second pass sends the same requests asking for the trace, whose stage timings say where the
time went; the rest — the runner between stages, the fast lane's body parsing, the handler's
response rows, JSON, request id and metrics — is reported as "outside the stages". A third
pass times the same requests with every stage idle (:mod:`palate.bench.floor`): the floor no
faster ranking can go below. The ranking kernel alone is timed in the same process right
after, so Discovery's ratio to it survives a busy machine.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from starlette.types import ASGIApp

from palate.bench.floor import idled
from palate.bench.in_process import AsgiRequest, AsgiResponse, asgi_request, call
from palate.bench.redis_probe import RedisProbe, redis_probe
from palate.bench.report import model_quality
from palate.bench.scenarios import (
    USERS,
    BenchTarget,
    kernel_timing,
    requests_for,
    target_from,
)
from palate.settings import Settings

if TYPE_CHECKING:
    from palate.serving.state import ServingState

STAGED = ("discovery", "category", "venue_items", "cart", "banners")
"""The scenarios answered by a pipeline (events are not ranked)."""


@dataclass(frozen=True, slots=True)
class _Requests:
    plain: list[AsgiRequest]
    traced: list[AsgiRequest]


def stage_profile(
    data_dir: Path,
    *,
    scenarios: Sequence[str] = STAGED,
    runs: int = 1_000,
    warmup: int = 50,
    model_name: str = "venue_ranker",
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Per scenario: CPU per request in process, each stage's mean, the rest and the floor
    (with ``redis_url``, the features on that Redis and what each request cost it); then the
    kernel's time from the same process and Discovery's ratio to it."""
    unknown = sorted(set(scenarios) - set(STAGED))
    if unknown or not scenarios:
        raise ValueError(f"--stages profiles {', '.join(STAGED)}; not {unknown or 'nothing'}")
    report: dict[str, Any] = {"runs": runs}
    with ExitStack() as stack:
        probe = None if redis_url is None else stack.enter_context(redis_probe(redis_url))
        served = _Served.load(data_dir, probe)
        report["venues"] = len(served.state.index.venue_ids)
        if probe is not None:
            report["redis"] = {"url": probe.url, "key_prefix": probe.key_prefix}
        profiles = {name: served.profile(name, runs, warmup, probe) for name in scenarios}
    report |= {"scenarios": profiles, "kernel": kernel_timing(data_dir, model_name)}
    if "discovery" in profiles:
        ratio = profiles["discovery"]["cpu_us_mean"] / report["kernel"]["mean_us"]
        report["cpu_vs_kernel"] = round(ratio, 2)
    return report


@dataclass(frozen=True, slots=True)
class _Served:
    """The state and app a serving worker would have, and where the scenarios point."""

    state: ServingState
    app: ASGIApp
    target: BenchTarget

    @classmethod
    def load(cls, data_dir: Path, probe: RedisProbe | None) -> _Served:
        from palate.serving.app import create_app, model_watcher
        from palate.serving.state import load_state

        shared = {} if probe is None else {"url": probe.url, "key_prefix": probe.key_prefix}
        settings = Settings(data={"dir": data_dir}, redis=shared)
        state = load_state(settings, data_dir)
        model_watcher(settings, state).poll()
        served = cls(state, create_app(settings, state), target_from(state.catalog, "in-process"))
        # As a serving worker does once loaded: the loaded state is never traversed by the
        # cyclic GC again (here a full collection cost one request 0.1 s, a tenth of a mean).
        gc.collect()
        gc.freeze()
        return served

    def profile(
        self, name: str, runs: int, warmup: int, probe: RedisProbe | None
    ) -> dict[str, Any]:
        """One scenario: its requests plain, traced, then with the pipeline idle."""
        raws = requests_for(name, self.target, USERS, "stages")
        requests = _Requests(
            [asgi_request(raw) for raw in raws], [asgi_request(raw, trace=True) for raw in raws]
        )
        profile = asyncio.run(_profile(self.app, name, requests, runs, warmup, probe))
        with idled(self.state, name):
            floor = asyncio.run(_cpu_per_request(self.app, name, requests.plain, runs, warmup))
        return profile | _floor_summary(profile["cpu_us_mean"], floor)


async def _profile(
    app: ASGIApp,
    name: str,
    requests: _Requests,
    runs: int,
    warmup: int,
    probe: RedisProbe | None = None,
) -> dict[str, Any]:
    before = None if probe is None else probe.reading()
    cpu_us = await _cpu_per_request(app, name, requests.plain, runs, warmup)
    redis_use: dict[str, Any] = {}
    if probe is not None and before is not None:
        redis_use["redis"] = probe.per_request(before, probe.reading(), runs + warmup)
    count = len(requests.traced)
    per_stage: dict[str, list[float]] = defaultdict(list)
    scorers: set[str] = set()
    for k in range(runs):
        payload = _checked(name, await call(app, requests.traced[k % count])).json()
        scorers.add(str(payload.get("scorer", "-")))
        for stage in payload["trace"]:
            per_stage[stage["stage"]].append(stage["duration_us"])
    return _summary(cpu_us, per_stage, scorers) | redis_use


async def _cpu_per_request(
    app: ASGIApp, name: str, requests: list[AsgiRequest], runs: int, warmup: int
) -> npt.NDArray[np.float64]:
    """This thread's CPU per request, microseconds, over ``runs`` requests after ``warmup``."""
    count = len(requests)
    for k in range(warmup):
        _checked(name, await call(app, requests[k % count]))
    cpu_us = np.empty(runs)
    for k in range(runs):
        started = time.thread_time_ns()
        response = await call(app, requests[k % count])
        cpu_us[k] = (time.thread_time_ns() - started) / 1_000
        _checked(name, response)
    return cpu_us


def _floor_summary(mean_us: float, floor_us: npt.NDArray[np.float64]) -> dict[str, float]:
    floor = float(floor_us.mean())
    return {
        "floor_us_mean": round(floor, 1),
        "floor_us_p50": round(float(np.percentile(floor_us, 50)), 1),
        "stage_work_us": round(mean_us - floor, 1),
    }


def _checked(name: str, response: AsgiResponse) -> AsgiResponse:
    if response.status != 200:
        raise RuntimeError(f"{name}: the app answered {response.status}: {response.body[:300]!r}")
    return response


def _summary(
    cpu_us: npt.NDArray[np.float64], per_stage: dict[str, list[float]], scorers: set[str]
) -> dict[str, Any]:
    stages = {stage: round(float(np.mean(xs)), 1) for stage, xs in per_stage.items()}
    mean = float(cpu_us.mean())
    return {
        "scorers": sorted(scorers),
        "cpu_us_mean": round(mean, 1),
        "cpu_us_p50": round(float(np.percentile(cpu_us, 50)), 1),
        "cpu_us_p99": round(float(np.percentile(cpu_us, 99)), 1),
        "stages_us": stages,
        "stages_sum_us": round(sum(stages.values()), 1),
        "outside_stages_us": round(mean - sum(stages.values()), 1),
    }


def stages_markdown(report: dict[str, Any]) -> str:
    """A table per scenario and Discovery's ratio to the kernel, for the terminal and docs."""
    lines = [f"In process, {report['runs']} requests per scenario over {report['venues']} venues."]
    for name, profile in report["scenarios"].items():
        lines += ["", f"{name} (scorer: {', '.join(profile['scorers'])}):", ""]
        lines += ["| stage | mean µs |", "|---|---:|"]
        lines += [f"| {stage} | {micros:,.1f} |" for stage, micros in profile["stages_us"].items()]
        lines += [
            f"| stages, summed | {profile['stages_sum_us']:,.1f} |",
            f"| outside the stages (runner, lane, response rows, JSON, metrics) "
            f"| {profile['outside_stages_us']:,.1f} |",
            f"| **whole request, CPU in process** | **{profile['cpu_us_mean']:,.1f}** |",
            f"| the same request, every stage idle (the floor) | {profile['floor_us_mean']:,.1f} |",
            "",
            f"CPU p50 {profile['cpu_us_p50']:,.1f} µs, p99 {profile['cpu_us_p99']:,.1f} µs; "
            f"the floor's p50 {profile['floor_us_p50']:,.1f} µs.",
        ]
        if "redis" in profile:
            lines += ["", _redis_line(profile["redis"])]
    if "redis" in report:
        lines[0] += f" Features on Redis ({report['redis']['url']})."
    kernel = report["kernel"]
    lines += ["", f"Ranking kernel alone: mean {kernel['mean_us']:,.1f} µs"]
    if "cpu_vs_kernel" in report:
        lines[-1] += f"; Discovery request ÷ kernel **{report['cpu_vs_kernel']}×**"
    lines += ["", f"Served model, offline: {model_quality(kernel)}."]
    return "\n".join(lines)


def _redis_line(use: dict[str, Any]) -> str:
    commands = ", ".join(f"{name} {calls:g}" for name, calls in use["commands_per_request"].items())
    return (
        f"Redis per request: {use['cpu_us_per_request']:,.1f} µs of its CPU; "
        f"commands: {commands or 'none'}."
    )
