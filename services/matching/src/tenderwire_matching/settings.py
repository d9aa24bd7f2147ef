from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings, weak_secret_problem

# Consumer group defaults live here rather than in handlers.py (whose declarations use them),
# so that reading settings, as `tw` does, does not import the whole service.
TENDERS_GROUP = "matching"
DEVELOPMENT_PORTAL_SECRET = "development-portal-secret-not-for-production"  # noqa: S105


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

    public_base_url: str = Field(
        default=LOCAL_PORTS.url(LOCAL_PORTS.matching),
        description="Where suppliers reach matching: the portal's links in e-mails start here",
    )
    portal_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PORTAL_SECRET),
        description=(
            "Signs the portal's verification and sign-in links and its form tokens. Production"
            " refuses the default and any value shorter than 32 characters"
        ),
    )
    notify_url: str = Field(
        default=LOCAL_PORTS.url(LOCAL_PORTS.notify),
        description="Notify's API, read server-side by the portal (alerts received, stops)",
    )
    notices_public_url: str = Field(
        default=LOCAL_PORTS.url(LOCAL_PORTS.notices),
        description="Where the public notice pages are, for the portal's links to them",
    )

    @model_validator(mode="after")
    def _no_development_portal_secret(self) -> Self:
        # Whoever knows the secret can forge a sign-in link to any account.
        problem = weak_secret_problem(
            self.environment,
            "TW_MATCHING_PORTAL_SECRET",
            self.portal_secret,
            default=DEVELOPMENT_PORTAL_SECRET,
        )
        if problem:
            raise ValueError(problem)
        return self

    @property
    def portal_url(self) -> str:
        return f"{self.public_base_url.rstrip('/')}/portal"

    @property
    def cpv_levels(self) -> int:
        """TW_MATCHING_CPV_HIERARCHY_LEVELS, or UNSPSC's levels when it is not set."""
        if self.cpv_hierarchy_levels is None:
            return self.code_hierarchy_levels
        return self.cpv_hierarchy_levels
