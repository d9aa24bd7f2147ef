from __future__ import annotations

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from tenderwire_notify.sms import SmsProvider
from tenderwire_shared.settings import ServiceSettings


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TW_NOTIFY_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:15432/notify"
    consumer_group: str = "notify"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 11025
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 10.0
    smtp_pool_size: int = Field(default=4, ge=1, description="Open SMTP connections kept")
    mail_from: str = "Tenderwire alerts <alerts@tenderwire.localhost>"
    message_id_domain: str = "tenderwire.localhost"
    public_base_url: str = Field(
        default="http://127.0.0.1:18003", description="Where unsubscribe links point"
    )
    unsubscribe_secret: SecretStr = Field(
        default=SecretStr("local-development-only"),
        description="Signs unsubscribe links; set a long random value in production",
    )
    sms_providers: list[SmsProvider] = Field(
        default_factory=list,
        description="Tried in order; the next takes over when one fails. JSON in the environment",
    )
    sms_timeout_s: float = Field(default=10.0, gt=0)
    db_pool_size: int = Field(
        default=30, ge=5, description="Each send in flight holds a connection (its address lock)"
    )
    max_attempts: int = Field(default=6, ge=1)
    stale_sending_s: float = Field(
        default=120.0,
        gt=0,
        description=(
            "A row left 'sending' this long was claimed by a worker that died; it is sent again,"
            " with the same Message-ID. This is the duplicate window"
        ),
    )
    digest_interval_s: float = Field(
        default=30.0, gt=0, description="How often due digests are looked for"
    )
    retry_base_delay_s: float = Field(default=2.0, gt=0)
