"""Settings every service shares; each service subclasses this with its own env prefix.

Shared settings read `TW_<NAME>` (for example TW_KAFKA_BOOTSTRAP_SERVERS) whatever the
service; a service's own settings read `TW_<SERVICE>_<NAME>` (TW_NOTIFY_SMTP_HOST).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    PRODUCTION = "production"

    @property
    def allows_development_defaults(self) -> bool:
        return self is not Environment.PRODUCTION


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name, f"TW_{name.upper()}")


# How long a consumer with records waiting may finish no batch before /ready fails: far longer
# than any batch takes, short enough that an orchestrator replaces a stuck replica soon.
DEFAULT_STALL_AFTER_S = 120.0

# Long enough that guessing is hopeless: `secrets.token_urlsafe(24)` or `openssl rand -base64 24`.
MIN_SECRET_LENGTH = 32


def weak_secret_problem(
    environment: Environment, setting: str, secret: SecretStr | None, *, default: str | None = None
) -> str | None:
    """Why `secret` must not be used in `environment`, or None when it may."""
    if secret is None or environment.allows_development_defaults:
        return None
    value = secret.get_secret_value()
    if default is not None and value == default:
        reason = "is still its development default"
    elif len(value) < MIN_SECRET_LENGTH:
        reason = f"is shorter than {MIN_SECRET_LENGTH} characters"
    else:
        return None
    return (
        f"{setting} {reason}; set a long random value"
        f" (e.g. `openssl rand -base64 {MIN_SECRET_LENGTH * 3 // 4}`), or set"
        f" TW_ENVIRONMENT=local or test if this is not production (TW_ENVIRONMENT is"
        f" {environment.value})"
    )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TW_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default=f"127.0.0.1:{LOCAL_PORTS.kafka}",
        validation_alias=_shared("kafka_bootstrap_servers"),
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
    environment: Environment = Field(
        # Production unless told otherwise: a deployment that forgets the setting gets the strict
        # checks, and only a machine that says it is local or a test may run on known secrets.
        default=Environment.PRODUCTION,
        validation_alias=_shared("environment"),
        description="local, test or production; only local and test accept development secrets",
    )
    migrate_on_start: bool = Field(
        default=True,
        validation_alias=_shared("migrate_on_start"),
        description="Migrate the database at start-up; false: only check `tw migrate` did",
    )
    consumer_stall_after_s: float = Field(
        default=DEFAULT_STALL_AFTER_S,
        gt=0,
        validation_alias=_shared("consumer_stall_after_s"),
        description="/ready fails once a consumer with records waiting finishes no batch this long",
    )
    log_level: str = Field(default="INFO", validation_alias=_shared("log_level"))
    log_json: bool = Field(default=True, validation_alias=_shared("log_json"))
    operator_token: SecretStr | None = Field(
        default=None,
        validation_alias=_shared("operator_token"),
        description="Opens the read-only operator views (console, delivery lists); unset = closed",
    )

    @model_validator(mode="after")
    def _no_weak_operator_token(self) -> Self:
        problem = weak_secret_problem(self.environment, "TW_OPERATOR_TOKEN", self.operator_token)
        if problem:
            raise ValueError(problem)
        return self

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
