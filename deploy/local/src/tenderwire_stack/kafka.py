"""A single-node Apache Kafka (KRaft, broker + controller) run from Maven Central jars."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tenderwire_stack.paths import KAFKA_BUILD_DIR
from tenderwire_stack.processes import ManagedProcess

LIBS_DIR = KAFKA_BUILD_DIR / "target" / "kafka-libs"
LOG4J_CONFIG = KAFKA_BUILD_DIR / "log4j2.properties"
STARTED_LINE = "Kafka Server started"

# Serial GC and the C1 compiler only: fewer threads and a faster start on a 2-core machine.
JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
# One node: internal topics must not ask for three replicas, or groups and transactions
# never find a coordinator.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=2097152
"""


class KafkaStartError(RuntimeError):
    pass


def build_libs(*, force: bool = False) -> Path:
    """Resolve the broker's jars from Maven Central into deploy/local/kafka/target/kafka-libs."""
    pom = KAFKA_BUILD_DIR / "pom.xml"
    stamp = LIBS_DIR / ".built-from-pom"
    if not force and stamp.exists() and stamp.stat().st_mtime >= pom.stat().st_mtime:
        return LIBS_DIR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaStartError("Maven (mvn) is needed to fetch Kafka's jars; install it first")
    if LIBS_DIR.exists():
        shutil.rmtree(LIBS_DIR)
    subprocess.run([mvn, "-B", "-q", "package"], cwd=KAFKA_BUILD_DIR, check=True)
    stamp.touch()
    return LIBS_DIR


def new_cluster_id() -> str:
    # Kafka's Uuid: 16 random bytes, URL-safe base64 without padding, never starting with "-".
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


@dataclass(frozen=True)
class KafkaNode:
    home: Path
    broker_port: int
    controller_port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("kafka", self.home)

    @property
    def server_log(self) -> Path:
        return self.home / "logs" / "server.log"

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise KafkaStartError("Java 17+ is needed to run Kafka; install OpenJDK 17")
        return java

    def _base_command(self) -> list[str]:
        return [
            self._java(),
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            f"{LIBS_DIR}/*",
        ]

    def prepare(self) -> None:
        """Write the configuration and format the storage once."""
        build_libs()
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        properties = self.home / "server.properties"
        properties.write_text(
            SERVER_PROPERTIES.format(
                broker_port=self.broker_port,
                controller_port=self.controller_port,
                data_dir=self.home / "data",
            )
        )
        if (self.home / "data" / "meta.properties").exists():
            return
        subprocess.run(
            [
                *self._base_command(),
                "-Xmx256m",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                new_cluster_id(),
                "-c",
                str(properties),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, *, timeout: float = 90.0) -> None:
        if self.process.running():
            return
        self.prepare()
        seen = self.server_log.stat().st_size if self.server_log.exists() else 0
        self.process.start(
            [
                *self._base_command()[:1],
                *JVM_OPTIONS,
                *self._base_command()[1:],
                "kafka.Kafka",
                str(self.home / "server.properties"),
            ]
        )
        self._wait_ready(seen, timeout)

    def _wait_ready(self, log_offset: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.running():
                raise KafkaStartError(
                    "Kafka exited during start-up;"
                    f" see {self.process.log_file} and {self.server_log}"
                )
            if self._logged_started(log_offset) and _port_open(self.broker_port):
                return
            time.sleep(0.2)
        raise KafkaStartError(f"Kafka not ready after {timeout:.0f}s; see {self.server_log}")

    def _logged_started(self, offset: int) -> bool:
        try:
            with self.server_log.open("rb") as log:
                log.seek(offset)
                return STARTED_LINE.encode() in log.read()
        except FileNotFoundError:
            return False

    def stop(self) -> bool:
        # SIGTERM runs Kafka's shutdown hook: a clean, controlled shutdown.
        return self.process.stop(timeout=60)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
