"""Where the test session gets Kafka and PostgreSQL from, first that works:

1. environment variables naming running servers (TW_TEST_KAFKA_BOOTSTRAP_SERVERS,
   TW_TEST_POSTGRES_DSN: a superuser DSN, since each test makes its own databases);
2. testcontainers, when a Docker engine answers;
3. the project's own local stack (Kafka from Maven Central jars, an initdb cluster),
   started fresh on free ports for this session and stopped afterwards.
"""

from __future__ import annotations

import gc
import os
import random
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tenderwire_stack.kafka import KafkaNode
from tenderwire_stack.postgres import PostgresCluster

_handed_out: set[int] = set()


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A port for a test server, chosen below the kernel's ephemeral range.

    A port the kernel picks with bind(0) comes from the range it also gives to outgoing
    connections, so a busy test run could connect from it before the server binds it.
    """
    ephemeral = _ephemeral_range()
    for _ in range(200):
        port = random.randint(20000, min(ephemeral.start, 60000) - 1)
        if port in _handed_out or port in ephemeral:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found for a test server")


def docker_engine_available() -> bool:
    # The docker CLI alone proves nothing: on machines without an engine it still answers.
    import docker

    # docker-py leaves its socket open when the engine is missing; collect it here, quietly,
    # rather than let the warning land on whichever test runs next.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=3)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False
        finally:
            gc.collect()


@contextmanager
def kafka_server(workdir: Path) -> Iterator[str]:
    configured = os.environ.get("TW_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    node = KafkaNode(workdir / "kafka", free_port(), free_port())
    node.start()
    try:
        yield node.bootstrap_servers
    finally:
        node.stop()


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    configured = os.environ.get("TW_TEST_POSTGRES_DSN")
    if configured:
        yield configured
        return
    if docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as container:
            yield container.get_connection_url()
        return
    cluster = PostgresCluster(workdir / "postgres", free_port())
    cluster.start()
    try:
        yield cluster.dsn()
    finally:
        cluster.stop()
        cluster.destroy()
