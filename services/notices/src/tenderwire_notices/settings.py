from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings

# The consumer group's default, here rather than in handlers.py (whose COMMANDS declaration
# uses it) so that reading settings, as `tw` does, does not import the whole service.
COMMANDS_GROUP = "notices-commands"


class NoticesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_NOTICES_", extra="ignore")

    database_url: str = LOCAL_PORTS.database_url("notices")
    public_base_url: str = LOCAL_PORTS.url(LOCAL_PORTS.notices)
    commands_consumer_group: str = COMMANDS_GROUP
    closer_interval_s: float = Field(
        default=5.0, gt=0, description="How often deadlines are checked"
    )
    ocds_publisher_name: str = "Tenderwire"
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024,
        gt=0,
        description="Largest request body accepted; OCDS release packages are the big ones",
    )
