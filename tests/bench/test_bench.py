"""``palate bench`` end to end with tiny durations: every scenario is measured and reported."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from palate.bench.runner import BenchConfig, report_markdown, run_bench, sustained_rate
from palate.bench.scenarios import HEALTHZ, SCENARIOS
from palate.cli import app
from palate.ranking.model_store import FileModelStore
from tests.ingest.conftest import REDIS_URL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def test_every_scenario_has_sane_runs_and_baselines(bench_dir: Path) -> None:
    config = BenchConfig(
        bench_dir, rates=(20.0, 40.0), duration_s=0.5, warmup_s=0.2, kernel_calls=50
    )
    report = run_bench(config, echo=lambda _: None)
    names = [entry["scenario"] for entry in report["scenarios"]]
    assert names == [HEALTHZ, *SCENARIOS]
    for entry in report["scenarios"]:
        assert [run["rate"] for run in entry["runs"]] == [20.0, 40.0][: len(entry["runs"])]
        for run in entry["runs"]:
            assert run["errors"] == 0, entry["scenario"]
            assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] <= run["p99.9_ms"]
            assert run["achieved"] <= run["rate"] * 1.05
            assert run["cpu_us_per_request"] >= 0
            assert run["generator_cpu_us"] > 0  # the generator in this process did the sending
        assert entry["max_sustained_rate"] in {0.0, *(r["rate"] for r in entry["runs"])}
        held = [r["rate"] for r in entry["runs"] if r["within_budget"]]
        assert entry["highest_rate_held"] == max(held, default=0.0)
        assert entry["max_sustained_rate"] <= entry["highest_rate_held"]
        assert entry["peak_rss_mb"] > 10
    kernel = report["kernel"]
    assert kernel["candidates"] == 1_000
    assert 0 < kernel["p50_us"] <= kernel["p99_us"]
    served = FileModelStore.in_data_dir(bench_dir).current("venue_ranker")
    assert served is not None
    assert kernel["offline_metrics"]["ndcg@10"] == round(served.metrics["ndcg@10"], 4)
    discovery = next(row for row in report["summary"] if row["scenario"] == "discovery")
    assert math.isclose(
        discovery["cpu_vs_kernel"], discovery["cpu_us_per_request"] / kernel["p50_us"], rel_tol=0.05
    )
    text = report_markdown(report)
    for name in names:
        assert f"### {name}:" in text
    assert "### Summary" in text
    assert f"test NDCG@10 {served.metrics['ndcg@10']:.3f}" in text


def test_cli_writes_the_json_report(bench_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "--data", str(bench_dir), "--rates", "20", "--duration", "0.3"]
    result = CliRunner().invoke(app, [*args, "--scenarios", "cart", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = orjson.loads(out.read_bytes())
    assert [s["scenario"] for s in report["scenarios"]] == [HEALTHZ, "cart"]
    assert report["config"]["store"] == "memory"
    assert "| rate | achieved |" in result.output


def test_an_unknown_store_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--data", str(tmp_path), "--store", "disk"])
    assert result.exit_code != 0
    assert not (tmp_path / "catalog").exists()


def test_stages_accounts_for_each_ranking_request_stage_by_stage(
    bench_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "stages.json"
    args = ["bench", "--data", str(bench_dir), "--stages", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--scenarios", "discovery,cart,events"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(out.read_bytes())
    assert list(report["scenarios"]) == ["discovery", "cart"]  # events are not ranked
    discovery, cart = report["scenarios"]["discovery"], report["scenarios"]["cart"]
    for stage in ("deliverable_venues", "online_features", "learned", "top_k"):
        assert discovery["stages_us"][stage] > 0, stage
    for stage in ("venue_items", "not_in_cart", "feature_reads", "cart_heuristic"):
        assert cart["stages_us"][stage] > 0, stage
    assert discovery["scorers"] == ["learned"]  # the promoted model ranked every request
    assert cart["scorers"] == ["cart_heuristic"]
    for profile in (discovery, cart):
        # Stage times are wall-clock parts of the request's own CPU: they cannot add up to
        # more than a generous multiple of it (frequency changes, a busy neighbour).
        assert 0 < profile["stages_sum_us"] < 3 * profile["cpu_us_mean"]
        assert 0 < profile["cpu_us_p50"] <= profile["cpu_us_p99"]
        total = profile["stages_sum_us"] + profile["outside_stages_us"]
        assert abs(total - profile["cpu_us_mean"]) < 1.0
        # the same requests with every stage idle: what no faster ranking can remove
        assert 0 < profile["floor_us_mean"] < profile["cpu_us_mean"]
        assert 0 < profile["floor_us_p50"] < profile["cpu_us_p99"]
        assert profile["stage_work_us"] == pytest.approx(
            profile["cpu_us_mean"] - profile["floor_us_mean"], abs=0.11
        )
    assert report["cpu_vs_kernel"] > 1  # the request does everything the kernel does, and more
    assert "request ÷ kernel" in result.output
    assert "outside the stages" in result.output
    assert "every stage idle (the floor)" in result.output
    assert "Served model, offline:" in result.output
    assert "NDCG@10" in result.output


def test_stages_on_redis_report_what_each_request_cost_it_and_leave_no_keys(
    bench_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "stages.json"
    args = ["bench", "--data", str(bench_dir), "--stages", "--out", str(out)]
    args += ["--store", "redis", "--redis-url", REDIS_URL, "--scenarios", "cart"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = orjson.loads(out.read_bytes())
    cart = report["scenarios"]["cart"]
    assert cart["scorers"] == ["cart_heuristic"]  # ranked from the features warmed into Redis
    commands = cart["redis"]["commands_per_request"]
    # one round trip of whole-map and counter reads: hash reads and an MGET, nothing per item
    # (the counts are the whole server's: under 0.5 a request is someone else's traffic)
    assert commands.get("hgetall", 0) >= 1
    assert commands.get("mget", 0) >= 1
    assert commands.get("hmget", 0) < 0.5
    assert "info" not in commands  # the probe's own readings are not the request's
    assert cart["redis"]["cpu_us_per_request"] > 0
    prefix = report["redis"]["key_prefix"]
    client = redis.Redis.from_url(REDIS_URL)
    assert not list(client.scan_iter(match=f"{prefix}:*", count=1_000))  # the run's keys went
    assert "Redis per request:" in result.output


def test_stages_refuses_scenarios_that_are_not_ranked(bench_dir: Path) -> None:
    args = ["bench", "--data", str(bench_dir), "--stages", "--scenarios", "events"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "--stages profiles discovery" in str(result.exception)


def test_the_sustained_rate_stops_at_the_first_rate_that_missed() -> None:
    def ladder(*held: bool) -> list[dict[str, object]]:
        return [{"rate": 100.0 * (k + 1), "within_budget": h} for k, h in enumerate(held)]

    assert sustained_rate(ladder(True, True, True)) == 300.0
    assert sustained_rate(ladder(True, False, True)) == 100.0  # 300 held by the machine's luck
    assert sustained_rate(ladder(False, True)) == 0.0
    assert sustained_rate([]) == 0.0
