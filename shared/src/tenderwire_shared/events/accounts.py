"""Payloads of events on the account-messages topic, written only by matching (the portal).

Each event asks notify to send one message about the supplier's account at once: a link that
verifies an e-mail address, a code that verifies a phone, or a sign-in link. These are the only
messages an unverified address ever receives. Keyed by supplier id. The link or code is a
credential until it expires: restrict who may read the topic, and keep its retention short.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

ACCOUNT_MESSAGE = "account.message"


class AccountPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"  # sent to the e-mail address being verified; carries `link`
    VERIFY_PHONE = "verify_phone"  # texted to the phone being verified; carries `code`
    SIGN_IN = "sign_in"  # sent to a verified e-mail address; carries `link`


class AccountChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class AccountMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: str = Field(description="Unique; a redelivered event sends nothing new")
    supplier_id: str
    purpose: AccountPurpose
    channel: AccountChannel
    address: str = Field(description="The e-mail address or E.164 phone it goes to")
    legal_name: str
    language: str
    timezone: str = "UTC"
    link: str | None = Field(default=None, description="For verify_email and sign_in")
    code: str | None = Field(default=None, description="For verify_phone: six digits")
    expires_at: datetime = Field(description="When the link or code stops working")
