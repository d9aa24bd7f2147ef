from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.settings import ServiceSettings


class NoticesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_NOTICES_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:15432/notices"
    public_base_url: str = "http://127.0.0.1:18001"
    commands_consumer_group: str = "notices-commands"
    closer_interval_s: float = Field(
        default=5.0, gt=0, description="How often deadlines are checked"
    )
    ocds_publisher_name: str = "Tenderwire"
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024,
        gt=0,
        description="Largest request body accepted; OCDS release packages are the big ones",
    )
