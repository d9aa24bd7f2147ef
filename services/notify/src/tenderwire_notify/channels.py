"""What every delivery channel (e-mail, SMS) promises the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tenderwire_shared.events.matches import MatchCreated


class TransientSendError(Exception):
    """The provider may accept the same message later (SMTP 4xx, HTTP 429/5xx, timeouts)."""


class PermanentSendError(Exception):
    """The provider refused the message for good; retrying cannot help.

    `hard_bounce` means the address itself was refused: it should get nothing more.
    """

    def __init__(self, message: str, *, hard_bounce: bool = False) -> None:
        super().__init__(message)
        self.hard_bounce = hard_bounce


@dataclass(frozen=True)
class Delivery:
    id: str
    supplier_id: str
    address: str
    language: str
    timezone: str
    match: MatchCreated


class Channel(Protocol):
    name: str

    async def send(self, delivery: Delivery) -> str | None:
        """Send it; return the provider's reference for the message, if it gives one."""
        ...
