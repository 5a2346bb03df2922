"""Closed-loop maximum throughput with Debian's ``wrk``: as many requests as the server answers.

Each connection sends its next request as soon as the previous answer arrives, so the
figure is the server's saturation throughput and its latency percentiles include the queue
that ``connections`` outstanding requests build (unlike the open-loop runs, they are not
latencies at a given rate). A generated Lua script cycles through the scenario's request
bodies (the same pre-encoded requests the open-loop generator sends) and prints wrk's
summary as one JSON line. Without ``wrk`` on the PATH the result says so instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WRK_INSTALL = "apt-get install -y wrk"
MARK = "PALATE_WRK "
WRK_TIMEOUT_S = 10  # wrk's default 2 s would drop the naive service's queued answers
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_REQUEST_LINE = re.compile(rb"^(GET|POST) (\S+) HTTP/1\.1$")

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write("PALATE_WRK ")
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format(', "p%g_us": %d', p, latency:percentile(p)))
  end
  io.write(string.format(', "max_us": %d}\\n', latency.max))
end
"""


def split_request(raw: bytes) -> tuple[str, str, bytes]:
    """Method, path and body of one pre-encoded HTTP/1.1 request.

    >>> split_request(b"POST /v1/x HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n{}")
    ('POST', '/v1/x', b'{}')
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    match = _REQUEST_LINE.match(head.split(b"\r\n", 1)[0])
    if match is None:
        raise ValueError(f"not an HTTP/1.1 request: {raw[:80]!r}")
    return match.group(1).decode(), match.group(2).decode(), body


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal that cannot be closed by ``text``."""
    level = 3
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(requests: Sequence[bytes]) -> str:
    """A wrk script that cycles through ``requests`` (per thread) and prints a JSON summary."""
    rows = []
    for raw in requests:
        method, path, body = split_request(raw)
        rows.append(
            f"  {{{_lua_string(method)}, {_lua_string(path)}, {_lua_string(body.decode())}}},"
        )
    table = "\n".join(rows)
    return (
        f"local bodies = {{\n{table}\n}}\nlocal i = 0\n"
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n  i = i % #bodies + 1\n  local r = bodies[i]\n"
        '  if r[1] == "GET" then return wrk.format("GET", r[2]) end\n'
        "  return wrk.format(r[1], r[2], headers, r[3])\nend\n" + _DONE
    )


def wrk_available() -> bool:
    """Whether ``wrk`` is on the PATH."""
    return shutil.which("wrk") is not None


def closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    duration_s: float,
    connections: int = 32,
    threads: int = 1,
) -> dict[str, Any]:
    """Requests per second and wrk's latency percentiles (ms), or why there are none."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"available": False, "reason": f"wrk is not installed ({WRK_INSTALL})"}
    with tempfile.TemporaryDirectory(prefix="palate-wrk-") as scratch:
        script = Path(scratch) / "bench.lua"
        script.write_text(lua_script(requests))
        command = [wrk, f"-t{threads}", f"-c{max(connections, threads)}"]
        command += [f"-d{max(1, round(duration_s))}s", f"--timeout={WRK_TIMEOUT_S}s"]
        command += ["--latency", "-s", str(script)]
        command.append(f"http://{host}:{port}")
        done = subprocess.run(  # noqa: S603 - wrk from the PATH, no shell
            command, capture_output=True, check=False, timeout=duration_s + 60
        )
    output = done.stdout.decode(errors="replace")
    summary = next((ln for ln in output.splitlines() if ln.startswith(MARK)), None)
    if done.returncode or summary is None:
        return {"available": False, "reason": f"wrk failed: {done.stderr.decode()[-500:]}"}
    return _figures(summary[len(MARK) :], connections, threads)


def _figures(line: str, connections: int, threads: int) -> dict[str, Any]:
    import orjson

    raw: dict[str, Any] = orjson.loads(line)
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non_2xx"]
    figures: dict[str, Any] = {
        "available": True,
        "connections": connections,
        "threads": threads,
        "requests": raw["requests"],
        "requests_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "errors": raw["errors"],
        "non_2xx": raw["non_2xx"],
    }
    figures |= {f"p{q:g}_ms": round(raw[f"p{q:g}_us"] / 1000, 3) for q in PERCENTILES}
    figures["max_ms"] = round(raw["max_us"] / 1000, 3)
    return figures
