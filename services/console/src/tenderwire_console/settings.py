from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings


def _database(service: str) -> AliasChoices:
    # The console's own name first; else the service's, so `tw` works on a service's host as is.
    return AliasChoices(
        f"{service}_database_url",
        f"TW_CONSOLE_{service.upper()}_DATABASE_URL",
        f"TW_{service.upper()}_DATABASE_URL",
    )


class ConsoleSettings(ServiceSettings):
    """Where the operators' tools read from. Database URLs may point at read-only replicas."""

    model_config = SettingsConfigDict(env_prefix="TW_CONSOLE_", extra="ignore")

    notices_database_url: str = Field(
        default=LOCAL_PORTS.database_url("notices"),
        validation_alias=_database("notices"),
    )
    matching_database_url: str = Field(
        default=LOCAL_PORTS.database_url("matching"),
        validation_alias=_database("matching"),
    )
    notify_database_url: str = Field(
        default=LOCAL_PORTS.database_url("notify"),
        validation_alias=_database("notify"),
    )
    code_hierarchy_levels: int = Field(
        default=1,
        ge=0,
        le=3,
        validation_alias=AliasChoices(
            "code_hierarchy_levels",
            "TW_CONSOLE_CODE_HIERARCHY_LEVELS",
            "TW_MATCHING_CODE_HIERARCHY_LEVELS",
        ),
        description="Must equal matching's setting, or `why` explains a different rule",
    )
    port: int = LOCAL_PORTS.console
    max_body_bytes: int = Field(
        default=64 * 1024, gt=0, description="Largest request body accepted; the console only reads"
    )
