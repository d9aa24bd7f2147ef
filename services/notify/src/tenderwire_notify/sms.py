"""SMS through Twilio-style HTTP providers, with failover to the next provider and a circuit
breaker per provider, and the providers' signature on their status callbacks. What the text
says, and how it fits two parts, is `sms_text`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, Field, SecretStr

from tenderwire_notify.channels import Job, PermanentSendError, RelayUnavailableError
from tenderwire_notify.domain import ChannelName, CircuitBreaker
from tenderwire_notify.rendering import render_account_sms
from tenderwire_notify.sms_text import compose
from tenderwire_shared.clock import Clock

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Twilio-Signature"


class SmsProvider(BaseModel):
    name: str
    base_url: str = Field(examples=["https://api.twilio.com"])
    account_sid: str
    # Also the key of the callbacks' signatures: an empty one would let anyone sign them.
    auth_token: SecretStr = Field(min_length=1)
    sender: str = Field(description="The From number or alphanumeric sender id")


def status_callback_url(base_url: str, provider: SmsProvider, delivery_id: str) -> str:
    """Where `provider` reports on `delivery_id`; naming the provider tells notify whose auth
    token the callback's signature must match."""
    base = base_url.rstrip("/")
    return f"{base}/v1/sms/status/{delivery_id}?provider={quote(provider.name, safe='')}"


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """What Twilio sends as X-Twilio-Signature for a form POST of `params` to `url`
    (Twilio's "Webhooks security": base64 HMAC-SHA1, keyed with the provider's auth token, of
    the full URL followed by every POST parameter's name and value, sorted by name)."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], presented: str
) -> bool:
    expected = twilio_signature(auth_token, url, params)
    # Bytes, as compare_digest refuses non-ASCII text, and a header can carry any Latin-1.
    return hmac.compare_digest(expected.encode(), presented.encode())


class SmsChannel:
    """Texts through the configured providers in order; each has its own circuit breaker, and
    a provider whose circuit is open is skipped until its probe is due."""

    name = ChannelName.SMS

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
        if job.account is not None:
            try:
                return render_account_sms(job.account)
            except ValueError as exc:
                raise PermanentSendError(f"cannot compose the text: {exc}") from exc
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
            "StatusCallback": status_callback_url(self._callback_base_url, provider, job.id),
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
