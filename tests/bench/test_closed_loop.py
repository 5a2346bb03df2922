"""wrk's closed loop against a real server: every scenario request is sent and answered 200."""

from __future__ import annotations

import pytest

from palate.bench.closed_loop import closed_loop, lua_script, wrk_available
from palate.bench.scenarios import encode_get
from palate.serving.loadgen import encode_post
from tests.servers import RunningServer

pytestmark = pytest.mark.integration


def test_the_script_cycles_through_every_request_verbatim() -> None:
    body = '{"text": "]===] closes a level-3 bracket"}'
    script = lua_script([encode_post("h", "/v1/a", body.encode()), encode_get("h", "/healthz")])
    assert f"[====[{body}]====]" in script  # a long bracket the body cannot close
    assert "[===[/v1/a]===]" in script
    assert "[===[/healthz]===]" in script


def test_wrk_measures_requests_per_second_or_says_it_is_missing(server: RunningServer) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    requests = [encode_get(host, "/healthz"), encode_get(host, "/readyz")]
    result = closed_loop(host, int(port), requests, duration_s=1, connections=4)
    if not wrk_available():
        assert not result["available"]
        assert "apt-get install -y wrk" in result["reason"]
        return
    assert result["available"], result
    assert result["requests"] > 10
    assert result["non_2xx"] == result["errors"] == 0
    assert result["requests_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p90_ms"] <= result["p99_ms"] <= result["max_ms"]
