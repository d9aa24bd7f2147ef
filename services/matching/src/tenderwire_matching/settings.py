from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings

# Consumer group defaults live here rather than in handlers.py (whose declarations use them),
# so that reading settings, as `tw` does, does not import the whole service.
TENDERS_GROUP = "matching"


class MatchingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_MATCHING_", extra="ignore")

    database_url: str = LOCAL_PORTS.database_url("matching")
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest request body accepted (a profile is small)"
    )
    consumer_group: str = Field(
        default=TENDERS_GROUP, description="The consumer group matching reads tenders in"
    )
    code_hierarchy_levels: int = Field(
        default=1,
        ge=0,
        le=3,
        description="How many UNSPSC levels apart a supplier and a tender code may be (UNGM: 1)",
    )
    cpv_hierarchy_levels: int | None = Field(
        default=None,
        ge=0,
        le=6,
        description=(
            "How many CPV levels below a tender's CPV code a supplier's code may sit and still"
            " match (a code always covers everything under it); unset: as"
            " TW_MATCHING_CODE_HIERARCHY_LEVELS"
        ),
    )
    ldc_first: bool = Field(
        default=True, description="Send alerts to least-developed-country suppliers first"
    )
    refuse_developed_economies: bool = Field(
        default=True,
        description="The UN mandate covers developing and transition economies only",
    )

    @property
    def cpv_levels(self) -> int:
        """TW_MATCHING_CPV_HIERARCHY_LEVELS, or UNSPSC's levels when it is not set."""
        if self.cpv_hierarchy_levels is None:
            return self.code_hierarchy_levels
        return self.cpv_hierarchy_levels
