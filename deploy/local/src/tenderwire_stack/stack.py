"""The whole local platform: infrastructure, sinks and the three services, on fixed ports."""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tenderwire_shared.local_ports import LOCAL_PORTS, LocalPorts
from tenderwire_stack.kafka import KafkaNode
from tenderwire_stack.paths import state_dir
from tenderwire_stack.postgres import PostgresCluster
from tenderwire_stack.processes import ManagedProcess

# uvicorn waits for open responses before it stops, and a console tab's live feed never
# ends: without a limit, `tw stack down` would wait for its SIGKILL deadline.
_STREAMING_SHUTDOWN = {"console": ["--timeout-graceful-shutdown", "3"]}

# The SMS stub as notify's one provider: its auth token signs the stub's status callbacks
# and the texts it forwards to notify's inbound webhook.
LOCAL_SMS_PROVIDER = "local-stub"
LOCAL_SMS_AUTH_TOKEN = "local"  # noqa: S105 - the local stub's, nothing real


@dataclass(frozen=True)
class Component:
    name: str
    kind: str
    url: str
    running: bool
    pid: int | None = None


@dataclass
class Stack:
    home: Path = field(default_factory=state_dir)
    ports: LocalPorts = LOCAL_PORTS

    @property
    def kafka(self) -> KafkaNode:
        return KafkaNode(self.home / "kafka", self.ports.kafka, self.ports.kafka_controller)

    @property
    def postgres(self) -> PostgresCluster:
        return PostgresCluster(self.home / "postgres", self.ports.postgres)

    def _process(self, name: str) -> ManagedProcess:
        return ManagedProcess(name, self.home / "run")

    def operator_token(self) -> str:
        """The local operators' token: made once, kept in the state folder, readable by us only."""
        path = self.home / "operator-token"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def service_env(self) -> dict[str, str]:
        p = self.ports
        return {
            # Lets notify run on the development unsubscribe secret; nothing here is production.
            "TW_ENVIRONMENT": "local",
            "TW_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "TW_OPERATOR_TOKEN": self.operator_token(),
            "TW_NOTICES_DATABASE_URL": self.postgres.dsn("notices"),
            "TW_NOTICES_PUBLIC_BASE_URL": f"http://127.0.0.1:{p.notices}",
            "TW_MATCHING_DATABASE_URL": self.postgres.dsn("matching"),
            "TW_NOTIFY_DATABASE_URL": self.postgres.dsn("notify"),
            "TW_NOTIFY_SMTP_HOST": "127.0.0.1",
            "TW_NOTIFY_SMTP_PORT": str(p.smtp),
            "TW_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{p.notify}",
            "TW_NOTIFY_SMS_PROVIDERS": json.dumps(
                [
                    {
                        "name": LOCAL_SMS_PROVIDER,
                        "base_url": f"http://127.0.0.1:{p.sms}",
                        "account_sid": "AC0000000000local",
                        "auth_token": LOCAL_SMS_AUTH_TOKEN,
                        "sender": "TENDERS",
                    }
                ]
            ),
        }

    def inbound_webhook(self) -> dict[str, str]:
        """Where the SMS stub forwards texts sent to it (a phone replying STOP to an alert):
        notify's inbound webhook at the address notify signs against, with the provider's
        auth token."""
        return {
            "url": f"http://127.0.0.1:{self.ports.notify}/v1/sms/inbound"
            f"?provider={LOCAL_SMS_PROVIDER}",
            "auth_token": LOCAL_SMS_AUTH_TOKEN,
        }

    def _route_inbound_texts(self) -> None:
        # Set on every `up`: the stub may have been running already, from before.
        response = httpx.put(
            f"http://127.0.0.1:{self.ports.sms}/api/inbound-webhook",
            json=self.inbound_webhook(),
            timeout=5.0,
        )
        response.raise_for_status()

    def services(self) -> dict[str, tuple[str, int]]:
        return {
            "notices": ("tenderwire_notices.bootstrap:create_app", self.ports.notices),
            "matching": ("tenderwire_matching.bootstrap:create_app", self.ports.matching),
            "notify": ("tenderwire_notify.bootstrap:create_app", self.ports.notify),
            "console": ("tenderwire_console.bootstrap:create_app", self.ports.console),
        }

    def up(self, *, with_services: bool = True, say: Callable[[str], None] = print) -> None:
        t0 = time.monotonic()
        say("postgres: starting")
        self.postgres.start()
        self.postgres.create_databases()
        say("kafka: starting")
        self.kafka.start()
        say(f"kafka: ready after {time.monotonic() - t0:.1f}s")
        python = sys.executable
        self._process("mailcatcher").start(
            [
                *(python, "-m", "tenderwire_stack", "sink", "mailcatcher"),
                *("--smtp-port", str(self.ports.smtp)),
                *("--http-port", str(self.ports.mail_http)),
                *("--store", str(self.home / "mail.jsonl")),
            ]
        )
        self._process("smsgateway").start(
            [python, "-m", "tenderwire_stack", "sink", "smsgateway", "--port", str(self.ports.sms)]
        )
        self._wait_http("mailcatcher", f"http://127.0.0.1:{self.ports.mail_http}/api/messages")
        self._wait_http("smsgateway", f"http://127.0.0.1:{self.ports.sms}/api/messages")
        self._route_inbound_texts()
        if with_services:
            env = self.service_env()
            for name, (factory, port) in self.services().items():
                self._process(name).start(
                    [
                        *(python, "-m", "uvicorn", "--factory", factory),
                        *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
                        *_STREAMING_SHUTDOWN.get(name, []),
                    ],
                    env=env,
                )
            for name, (_, port) in self.services().items():
                self._wait_http(name, f"http://127.0.0.1:{port}/ready")
        say(f"stack: up after {time.monotonic() - t0:.1f}s")

    def _wait_http(self, name: str, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        process = self._process(name)
        while time.monotonic() < deadline:
            if process.exited_early():
                raise RuntimeError(f"{name} exited during start-up; see {process.log_file}")
            try:
                if httpx.get(url, timeout=2.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{name} not ready at {url} after {timeout:.0f}s; see {process.log_file}"
        )

    def down(self, say: Callable[[str], None] = print) -> None:
        for name in [*self.services(), "smsgateway", "mailcatcher"]:
            if self._process(name).stop():
                say(f"{name}: stopped")
        if self.kafka.stop():
            say("kafka: stopped")
        if self.postgres.stop():
            say("postgres: stopped")

    def status(self) -> list[Component]:
        p = self.ports
        components = [
            Component("postgres", "infrastructure", self.postgres.dsn(), self.postgres.running()),
            Component(
                "kafka",
                "infrastructure",
                self.kafka.bootstrap_servers,
                running=self.kafka.process.running(),
                pid=self.kafka.process.pid(),
            ),
            self._component(
                "mailcatcher", "sink", f"http://127.0.0.1:{p.mail_http}/ (SMTP {p.smtp})"
            ),
            self._component("smsgateway", "sink", f"http://127.0.0.1:{p.sms}/api/messages"),
        ]
        for name, (_, port) in self.services().items():
            page = "/" if name == "console" else "/docs"  # the console has pages, not an API
            components.append(self._component(name, "service", f"http://127.0.0.1:{port}{page}"))
        return components

    def _component(self, name: str, kind: str, url: str) -> Component:
        process = self._process(name)
        pid = process.pid()
        return Component(name, kind, url, pid is not None, pid)

    def log_file(self, name: str) -> Path:
        if name == "kafka":
            return self.kafka.server_log
        if name == "postgres":
            return self.postgres.log_file
        return self._process(name).log_file
