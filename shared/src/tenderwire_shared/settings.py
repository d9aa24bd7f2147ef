"""Settings every service shares; each service subclasses this with its own env prefix.

Shared settings read `TW_<NAME>` (for example TW_KAFKA_BOOTSTRAP_SERVERS) whatever the
service; a service's own settings read `TW_<SERVICE>_<NAME>` (TW_NOTIFY_SMTP_HOST).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name, f"TW_{name.upper()}")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TW_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092", validation_alias=_shared("kafka_bootstrap_servers")
    )
    topic_prefix: str = Field(
        default="",
        validation_alias=_shared("topic_prefix"),
        description="Prepended to every topic name, so test runs and tenants never share topics",
    )
    topic_partitions: int = Field(default=3, ge=1, validation_alias=_shared("topic_partitions"))
    topic_replication_factor: int = Field(
        default=1, ge=1, validation_alias=_shared("topic_replication_factor")
    )
    log_level: str = Field(default="INFO", validation_alias=_shared("log_level"))
    log_json: bool = Field(default=True, validation_alias=_shared("log_json"))
    operator_token: SecretStr | None = Field(
        default=None,
        validation_alias=_shared("operator_token"),
        description="Opens the read-only operator views (console, delivery lists); unset = closed",
    )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
