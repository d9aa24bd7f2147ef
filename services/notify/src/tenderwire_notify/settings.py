from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from tenderwire_notify.domain import ChannelName, CircuitBreaker, RetryPolicy
from tenderwire_notify.sms import SmsProvider
from tenderwire_shared import topics
from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_shared.settings import ServiceSettings, weak_secret_problem

DEVELOPMENT_UNSUBSCRIBE_SECRET = "local-development-only"  # noqa: S105 - refused in production


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


# Consumer group defaults live here rather than in handlers.py (whose declarations use them),
# so that reading settings, as `tw` does, does not import the whole service.
MATCHES_GROUP = "notify"
SUPPLIERS_GROUP = f"{MATCHES_GROUP}-suppliers"
ACCOUNTS_GROUP = f"{MATCHES_GROUP}-accounts"


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_NOTIFY_", extra="ignore")

    database_url: str = LOCAL_PORTS.database_url("notify")
    max_body_bytes: int = Field(
        default=64 * 1024, gt=0, description="Largest request body accepted (SMS status callbacks)"
    )
    consumer_group: str = Field(
        default=MATCHES_GROUP, description=f"The consumer group reading {topics.MATCHES}"
    )
    suppliers_consumer_group: str = Field(
        default="",
        description=f"The group reading {topics.SUPPLIERS}; unset, <consumer_group>-suppliers",
    )
    accounts_consumer_group: str = Field(
        default="",
        description=(
            f"The group reading {topics.ACCOUNT_MESSAGES}; unset, <consumer_group>-accounts"
        ),
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = LOCAL_PORTS.smtp
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 10.0
    smtp_pool_size: int = Field(default=4, ge=1, description="Open SMTP connections kept")
    mail_from: str = "Tenderwire alerts <alerts@tenderwire.localhost>"
    sms_help_contact: str = Field(
        default="",
        max_length=60,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description=(
            "Where the answer to an SMS HELP sends people (an e-mail address, a phone number or"
            " a short URL); unset, the address of TW_NOTIFY_MAIL_FROM"
        ),
    )
    message_id_domain: str = "tenderwire.localhost"
    public_base_url: str = Field(
        default=LOCAL_PORTS.url(LOCAL_PORTS.notify),
        description=(
            "Where unsubscribe links and SMS status callbacks point, as the outside world reaches"
            " notify: callbacks' signatures are checked against this URL"
        ),
    )
    unsubscribe_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_UNSUBSCRIBE_SECRET),
        description=(
            "Signs unsubscribe links. Production (TW_ENVIRONMENT) refuses the default and any"
            " value shorter than 32 characters"
        ),
    )
    sms_providers: list[SmsProvider] = Field(
        default_factory=list,
        description="Tried in order; the next takes over when one fails. JSON in the environment",
    )
    sms_timeout_s: float = Field(default=10.0, gt=0)
    db_pool_size: int = Field(
        default=10,
        ge=4,
        description="No send holds a connection; the consumer, claimer, recorder and API share it",
    )
    stale_sending_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "A row left 'sending' this long by a worker whose heartbeat stopped (it died) is sent"
            " again, with the same Message-ID. This is the duplicate window"
        ),
    )
    digest_interval_s: float = Field(
        default=30.0, gt=0, description="How often due digests are looked for"
    )
    retry_base_delay_s: float = Field(default=2.0, gt=0, description="First retry's delay")
    retry_max_delay_s: float = Field(
        default=300.0, gt=0, description="Backoff cap, before the jitter (0.5 to 1.5 times)"
    )
    email_retry_horizon_s: float = Field(
        default=24 * 3600.0, gt=0, description="An e-mail not accepted by then fails for good"
    )
    sms_retry_horizon_s: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="As GOV.UK Notify: a text still unsent after 4 hours is stale news",
    )
    breaker_threshold: int = Field(
        default=3, ge=1, description="Relay failures in a row that open a channel's circuit"
    )
    breaker_cooldown_s: float = Field(
        default=1.0, gt=0, description="First pause before a probe; doubles per failed probe"
    )
    breaker_max_cooldown_s: float = Field(default=60.0, gt=0)
    claim_batch_size: int = Field(default=200, ge=1, description="Rows claimed at a time")
    sms_lanes: int = Field(default=8, ge=1, description="SMS requests in flight at once")
    consumer_batch_size: int = Field(
        default=500, ge=1, description="Match events read from Kafka and written at a time"
    )

    @model_validator(mode="after")
    def _suppliers_group_follows_the_matches_group(self) -> Self:
        # As before the group had a setting of its own: a deployment that renames its matches
        # group moves its suppliers group with it, so two deployments never share one.
        if not self.suppliers_consumer_group:
            self.suppliers_consumer_group = f"{self.consumer_group}-suppliers"
        if not self.accounts_consumer_group:
            self.accounts_consumer_group = f"{self.consumer_group}-accounts"
        return self

    @model_validator(mode="after")
    def _help_contact_defaults_to_the_sender(self) -> Self:
        if not self.sms_help_contact:
            self.sms_help_contact = parseaddr(self.mail_from)[1] or self.mail_from
        return self

    @model_validator(mode="after")
    def _no_development_unsubscribe_secret(self) -> Self:
        # Whoever knows the secret can unsubscribe any address, so a known one must never
        # sign production links.
        problem = weak_secret_problem(
            self.environment,
            "TW_NOTIFY_UNSUBSCRIBE_SECRET",
            self.unsubscribe_secret,
            default=DEVELOPMENT_UNSUBSCRIBE_SECRET,
        )
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _provider_names_unique(self) -> Self:
        names = [p.name for p in self.sms_providers]
        if len(set(names)) != len(names):
            raise ValueError(
                f"TW_NOTIFY_SMS_PROVIDERS: provider names must be unique (got {names}); a status"
                " callback names its provider to have its signature checked"
            )
        return self

    def provider(self, name: str) -> SmsProvider | None:
        return next((p for p in self.sms_providers if p.name == name), None)

    def retry_policy(self, channel: str) -> RetryPolicy:
        horizon = (
            self.sms_retry_horizon_s if channel == ChannelName.SMS else self.email_retry_horizon_s
        )
        return RetryPolicy(
            base_delay=timedelta(seconds=self.retry_base_delay_s),
            max_delay=timedelta(seconds=self.retry_max_delay_s),
            horizon=timedelta(seconds=horizon),
        )

    def breaker(self, name: str) -> CircuitBreaker:
        return CircuitBreaker(
            name,
            threshold=self.breaker_threshold,
            cooldown=timedelta(seconds=self.breaker_cooldown_s),
            max_cooldown=timedelta(seconds=self.breaker_max_cooldown_s),
        )
