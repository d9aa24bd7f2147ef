"""The API benchmark's load generator: httpx over real HTTP, inline or in a child process.

Inline, it shares the event loop (and the core) with the app it measures, so its own CPU
counts against the app. `--client process` runs it as `python -m benchmarks.load_client`,
which reads the API key, warms up, says `ready`, waits for `go`, then prints its latencies.
The parent takes both timestamps itself, so no clock is compared across processes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from benchmarks import BenchmarkError
from benchmarks.payloads import notice_body
from tenderwire_shared.envelope import new_event_id

ROOT = Path(__file__).resolve().parent.parent

# Untimed work to do between the warm-up and the timed requests (wait for the warm-up events).
Settle = Callable[[], Awaitable[object]]


def fail_missing_sniffio_fast() -> None:
    """Keep the load generator from spending CPU on failed imports.

    httpcore runs `import sniffio` on every request and falls back to asyncio when that fails.
    Without sniffio installed (recent anyio no longer needs it), each failed import searches
    sys.path again: about 0.25 ms of file-system calls per request, inline in the process that
    also serves the app. A None in sys.modules makes the import fail at once, same result.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


async def post_notices(
    http: httpx.AsyncClient, url: str, api_key: str, count: int, concurrency: int
) -> list[float]:
    """POST `count` notices with `concurrency` in flight; the latency of each, in seconds."""
    headers = {"Authorization": f"Bearer {api_key}"}
    batch = new_event_id()[-12:].upper()
    numbers = iter(range(count))
    latencies: list[float] = []
    failures: list[str] = []

    async def worker() -> None:
        for number in numbers:  # shared by the workers: each number is taken once
            body = notice_body(f"BENCH-{batch}-{number}")
            started = time.perf_counter()
            response = await http.post(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                failures.append(f"{response.status_code} {response.text[:300]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise BenchmarkError(f"{len(failures)} of {count} POSTs failed; first: {failures[0]}")
    return latencies


def _client(concurrency: int) -> httpx.AsyncClient:
    fail_missing_sniffio_fast()
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=60.0)


async def inline_load(
    url: str, api_key: str, warmup: int, count: int, concurrency: int, settle: Settle
) -> tuple[float, float, list[float]]:
    """(started, answered, latencies) with the client on this event loop."""
    async with _client(concurrency) as http:
        # Untimed: the app's pool fills and the HTTP connections open.
        await post_notices(http, url, api_key, warmup, concurrency)
        await settle()
        started = time.perf_counter()
        latencies = await post_notices(http, url, api_key, count, concurrency)
        return started, time.perf_counter(), latencies


async def process_load(
    url: str, api_key: str, warmup: int, count: int, concurrency: int, settle: Settle
) -> tuple[float, float, list[float]]:
    """(started, answered, latencies) with the client in a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.load_client",
        url,
        str(warmup),
        str(count),
        str(concurrency),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        child.stdin.write(f"{api_key}\n".encode())  # not in argv, where `ps` shows it
        await child.stdin.drain()
        if (await child.stdout.readline()).strip() != b"ready":
            raise BenchmarkError("the load client failed while warming up (see above)")
        await settle()
        started = time.perf_counter()
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        line = await child.stdout.readline()
        answered = time.perf_counter()
        if not line:
            raise BenchmarkError("the load client failed (see above)")
        latencies: list[float] = json.loads(line)
        await child.wait()
        return started, answered, latencies
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _child(url: str, warmup: int, count: int, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    api_key = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
    async with _client(concurrency) as http:
        await post_notices(http, url, api_key, warmup, concurrency)
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        latencies = await post_notices(http, url, api_key, count, concurrency)
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    url, warmup, count, concurrency = sys.argv[1], *map(int, sys.argv[2:5])
    try:
        asyncio.run(_child(url, warmup, count, concurrency))
    except BenchmarkError as exc:
        print(f"load client: {exc}", file=sys.stderr)
        sys.exit(1)
