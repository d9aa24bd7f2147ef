"""`python -m benchmarks`: start Kafka and PostgreSQL, measure, print and save the results.

Kafka and PostgreSQL come from tests/support/infrastructure.py: servers named by
TW_TEST_KAFKA_BOOTSTRAP_SERVERS / TW_TEST_POSTGRES_DSN, else the project's own local ones,
started on free ports and stopped on exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import shlex
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
from rich.console import Console

from benchmarks import BenchmarkError
from benchmarks.notices_throughput import (
    Options,
    Round,
    delete_topics,
    run_round,
    warm_up_broker,
)
from benchmarks.report import print_round, print_tables, write_json
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.logging import configure_logging
from tenderwire_stack.kafka import LIBS_DIR
from tests.support.infrastructure import kafka_server, postgres_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / ".state" / "bench"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Notices publish throughput (API, outbox relay) beside the raw producer.",
    )
    parser.add_argument("--events", type=int, default=20_000, help="events per raw and relay run")
    parser.add_argument("--requests", type=int, default=2000, help="timed POSTs per API run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--concurrency", type=int, default=16, help="API requests in flight")
    parser.add_argument("--warmup", type=int, default=32, help="untimed POSTs before each API run")
    parser.add_argument(
        "--client",
        choices=("inline", "process"),
        default="inline",
        help="API load generator on the app's own event loop, or in a child process",
    )
    args = parser.parse_args(argv)
    for name in ("events", "requests", "repeat", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.requests < 2:
        parser.error("--requests must be at least 2 (latency percentiles)")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the servers we started are stopped on the way out.
    raise KeyboardInterrupt(f"signal {signum}")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _kafka_version() -> str:
    external = os.environ.get("TW_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return f"external broker at {external}"
    jars = sorted(LIBS_DIR.glob("kafka-server-[0-9]*.jar"))
    return jars[0].stem.removeprefix("kafka-server-") if jars else "unknown"


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "kafka": _kafka_version(),
        "libraries": {
            name: version(name) for name in ("aiokafka", "asyncpg", "httpx", "fastapi", "uvicorn")
        },
    }


async def _postgres_version(admin_dsn: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _measure(console: Console, options: Options, repeat: int) -> tuple[str, list[Round]]:
    # In the loop, SIGTERM cancels the run as Ctrl-C does: every `finally` runs, in order.
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        return await _rounds(console, options, repeat)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _interrupt)


async def _rounds(console: Console, options: Options, repeat: int) -> tuple[str, list[Round]]:
    postgres = await _postgres_version(options.admin_dsn)
    console.print(f"PostgreSQL {postgres}; warming the broker up ({options.events} events)")
    rounds: list[Round] = []
    try:
        await warm_up_broker(options)
        for number in range(1, repeat + 1):
            started = time.perf_counter()
            rounds.append(await run_round(options, number))
            print_round(console, number, repeat, rounds[-1], time.perf_counter() - started)
    finally:
        with contextlib.suppress(Exception):
            await delete_topics(options)
    return postgres, rounds


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # INFO, as deployed: the relay writes a line per event, and at WARNING it looked faster
    # than it runs (0.49x the raw producer instead of 0.42x). Services read TW_LOG_LEVEL; the
    # relay measured alone logs through structlog directly.
    os.environ["TW_LOG_LEVEL"] = "INFO"
    configure_logging("benchmarks", level="INFO")
    # The app's first consumer group races the offsets topic's creation, logs ERROR, retries.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    console = Console()
    began = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]])
    machine = _machine()
    console.print(f"[bold]{command}[/]")
    console.print(
        f"{machine['cpu_count']} CPUs ({machine['cpu_model']}), Python {machine['python']},"
        f" Kafka {machine['kafka']}, {machine['platform']}"
    )
    load = machine["load_average_at_start"]
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work competes)")
    console.print(
        f"{args.repeat} rounds of: {args.events:,} events raw and through the relay;"
        f" {args.requests:,} POSTs ({args.concurrency} in flight, client {args.client})"
    )
    try:
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tw-bench-")))
            console.print("starting Kafka and PostgreSQL...")
            kafka = stack.enter_context(kafka_server(workdir))
            admin_dsn = stack.enter_context(postgres_server(workdir))
            infra_s = time.perf_counter() - began
            console.print(f"infrastructure ready in {infra_s:.1f}s (Kafka at {kafka})")
            options = Options(
                kafka=kafka,
                admin_dsn=admin_dsn,
                events=args.events,
                requests=args.requests,
                concurrency=args.concurrency,
                warmup=args.warmup,
                client=args.client,
                run_id=new_event_id()[-8:],
            )
            log_path = workdir / "services.log"
            console.print(f"relay and API log at INFO, as deployed, to {log_path} (temporary)")
            # Line-buffered, as a deployed service's redirected stderr is: one write per line.
            with (
                log_path.open("a", buffering=1, encoding="utf-8") as log,
                contextlib.redirect_stderr(log),
            ):
                postgres, rounds = asyncio.run(_measure(console, options, args.repeat))
            print_tables(console, rounds)
            console.print("stopping Kafka and PostgreSQL...")
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted; what this run started has been stopped[/]")
        return 130
    except BenchmarkError as exc:
        console.print(f"[red]benchmark failed: {exc}[/]")
        return 1
    wall_s = time.perf_counter() - began
    document = {
        "benchmark": "notices-publish-throughput",
        "command": command,
        "started_at": stamp,
        "wall_time_s": wall_s,
        "load_average_at_end": os.getloadavg(),
        "infrastructure_start_s": infra_s,
        "machine": {**machine, "postgres": postgres},
        "parameters": {
            "events": args.events,
            "requests": args.requests,
            "repeat": args.repeat,
            "concurrency": args.concurrency,
            "warmup_requests": args.warmup,
            "client": args.client,
            "log_level": "INFO",
        },
    }
    path = write_json(RESULTS_DIR, stamp, document, rounds)
    console.print(f"total wall time {wall_s:.1f}s; results in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
