"""The local stack's ports on 127.0.0.1, in one place.

`make run` starts everything on these; every service's settings default to them, so a service
started by hand finds the rest. docker-compose.yml publishes the same ports (a test checks it).
Production sets each address through the environment instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalPorts:
    kafka: int = 19092
    kafka_controller: int = 19093
    postgres: int = 15432
    smtp: int = 11025
    mail_http: int = 18025
    sms: int = 18030
    notices: int = 18001
    matching: int = 18002
    notify: int = 18003
    console: int = 18004

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres}/{database}"

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


LOCAL_PORTS = LocalPorts()
