from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings

# The consumer group's default, here rather than in handlers.py (whose COMMANDS declaration
# uses it) so that reading settings, as `tw` does, does not import the whole service.
COMMANDS_GROUP = "notices-commands"

if TYPE_CHECKING:
    from tenderwire_notices.feeds import FeedLimits


class NoticesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_NOTICES_", extra="ignore")

    database_url: str = LOCAL_PORTS.database_url("notices")
    public_base_url: str = LOCAL_PORTS.url(LOCAL_PORTS.notices)
    portal_base_url: str = Field(
        default=LOCAL_PORTS.url(LOCAL_PORTS.matching) + "/portal",
        description="The supplier portal (served by matching); a notice page links to its"
        " follow page",
    )
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
    feed_poll_interval_s: float = Field(
        default=30.0, gt=0, description="How often OCDS feeds are checked for one that is due"
    )
    feed_refresh_s: float = Field(
        default=3600.0, gt=0, description="A feed read to its last page is fetched again after"
    )
    feed_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for one feed page, body included"
    )
    feed_max_page_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, description="Largest feed page read"
    )
    feed_backoff_base_s: float = Field(
        default=60.0, gt=0, description="Wait after a failed page, doubling each time in a row"
    )
    feed_backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest such wait")
    feed_max_pages_per_poll: int = Field(
        default=100, gt=0, description="Pages one pull reads before the next feed's turn"
    )

    def feed_limits(self) -> FeedLimits:
        from tenderwire_notices.feeds import FeedLimits  # the poller's module, on use

        return FeedLimits(
            timeout_s=self.feed_timeout_s,
            max_page_bytes=self.feed_max_page_bytes,
            refresh_s=self.feed_refresh_s,
            backoff_base_s=self.feed_backoff_base_s,
            backoff_max_s=self.feed_backoff_max_s,
            max_pages_per_poll=self.feed_max_pages_per_poll,
        )
