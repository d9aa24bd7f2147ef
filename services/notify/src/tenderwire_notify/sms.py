"""SMS through Twilio-style HTTP providers, with failover to the next provider.

Length rule: a message that fits the GSM 03.38 alphabet is sent as GSM-7 (160 characters, or
153 per part when split); anything else goes as UCS-2 (70, or 67 per part). An alert is at
most two parts, so its title is shortened, never its deadline or link.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import structlog
from babel import Locale
from babel.dates import format_datetime
from pydantic import BaseModel, Field, SecretStr

from tenderwire_notify.channels import Job, PermanentSendError, RelayUnavailableError
from tenderwire_notify.domain import CircuitBreaker
from tenderwire_shared.clock import Clock
from tenderwire_shared.events.matches import MatchCreated, MatchKind

log = structlog.get_logger()

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€"  # each costs two septets
MAX_PARTS = 2

_PREFIX = {
    "en": {
        MatchKind.NEW: "New tender",
        MatchKind.AMENDED: "Amended",
        MatchKind.CANCELLED: "Cancelled",
    },
    "fr": {
        MatchKind.NEW: "Nouvel appel",
        MatchKind.AMENDED: "Modifié",
        MatchKind.CANCELLED: "Annulé",
    },
    "es": {
        MatchKind.NEW: "Nueva licitación",
        MatchKind.AMENDED: "Modificada",
        MatchKind.CANCELLED: "Cancelada",
    },
}
_DEADLINE = {"en": "deadline", "fr": "date limite", "es": "fecha límite"}


def is_gsm7(text: str) -> bool:
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text)


def length_units(text: str) -> int:
    """Septets for GSM-7 text, UTF-16 code units for anything else."""
    if is_gsm7(text):
        return sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    single, multi = (160, 153) if is_gsm7(text) else (70, 67)
    units = length_units(text)
    return 1 if units <= single else -(-units // multi)


def compose(match: MatchCreated, *, language: str, timezone_name: str) -> str:
    lang = language if language in _PREFIX else "en"
    tender = match.tender
    deadline = format_datetime(
        tender.deadline, "d MMM HH:mm", tzinfo=ZoneInfo(timezone_name), locale=Locale.parse(lang)
    )
    head = f"{_PREFIX[lang][match.kind]} ({tender.agency}): "
    tail = f". {_DEADLINE[lang]} {deadline}. {tender.url or ''}".rstrip()
    title = tender.title
    # "..." rather than "…": the ellipsis character is not GSM-7 and would halve the room.
    cut = title
    while title and segments(head + title + tail) > MAX_PARTS:
        cut = cut[:-1].rstrip()
        title = cut + "..." if cut else ""
    return head + title + tail


class SmsProvider(BaseModel):
    name: str
    base_url: str = Field(examples=["https://api.twilio.com"])
    account_sid: str
    auth_token: SecretStr
    sender: str = Field(description="The From number or alphanumeric sender id")


class SmsChannel:
    """Texts through the configured providers in order; each has its own circuit breaker, and
    a provider whose circuit is open is skipped until its probe is due."""

    name = "sms"

    def __init__(
        self,
        providers: list[SmsProvider],
        callback_base_url: str,
        timeout_s: float,
        *,
        lanes: int,
        clock: Clock,
        breaker: Callable[[str], CircuitBreaker],
    ) -> None:
        self._providers = providers
        self._callback_base_url = callback_base_url
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._clock = clock
        self._breakers = {p.name: breaker(f"sms:{p.name}") for p in providers}
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self.lanes = lanes

    async def close(self) -> None:
        await self._client.aclose()

    def paused(self, now: datetime) -> bool:
        return bool(self._breakers) and all(b.is_open(now) for b in self._breakers.values())

    def _body(self, job: Job) -> str:
        body = self._bodies.get(job.content_key)
        if body is None:
            assert job.match is not None
            body = compose(job.match, language=job.language, timezone_name=job.timezone)
            self._bodies[job.content_key] = body
            if len(self._bodies) > _BODY_CACHE:
                self._bodies.popitem(last=False)
        return body

    async def send(self, job: Job) -> str | None:
        if not self._providers:
            raise PermanentSendError("no SMS provider is configured")
        body = self._body(job)
        failures = []
        for provider in self._providers:
            breaker = self._breakers[provider.name]
            if not breaker.allows(self._clock.now()):
                failures.append(f"{provider.name}: circuit open")
                continue
            try:
                reference = await self._send_via(provider, job, body)
            except RelayUnavailableError as exc:
                # The next provider takes over; the error is kept for the ledger.
                if breaker.failed(self._clock.now()):
                    log.warning("sms_provider_paused", provider=provider.name, error=str(exc))
                failures.append(f"{provider.name}: {exc}")
                log.warning("sms_provider_failed", provider=provider.name, error=str(exc))
                continue
            except PermanentSendError:
                breaker.succeeded()  # it answered: the provider is up, the message is refused
                raise
            breaker.succeeded()
            return reference
        raise RelayUnavailableError("; ".join(failures))

    async def _send_via(self, provider: SmsProvider, job: Job, body: str) -> str:
        url = f"{provider.base_url}/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
        form = {
            "To": job.address,
            "From": provider.sender,
            "Body": body,
            "StatusCallback": f"{self._callback_base_url}/v1/sms/status/{job.id}",
        }
        try:
            response = await self._client.post(
                url,
                data=form,
                auth=(provider.account_sid, provider.auth_token.get_secret_value()),
            )
        except httpx.HTTPError as exc:
            raise RelayUnavailableError(repr(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RelayUnavailableError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentSendError(
                f"{provider.name} HTTP {response.status_code}: {response.text[:200]}"
            )
        sid = str(response.json().get("sid", ""))
        return f"{provider.name}:{sid}"


_BODY_CACHE = 4096
