"""FastAPI dependencies of notify's routes: its settings, the operators' token, an SMS provider's
signature on its webhooks (status callbacks and inbound texts), and the subscriber an
unsubscribe link names. The pool is
`tenderwire_shared.dependencies.Pool`, as in every service."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Header, Path, Query, Request, status
from pydantic import SecretStr

from tenderwire_notify.schemas import Subscriber, subscriber_from
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SIGNATURE_HEADER, signature_matches
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.operators import require_operator

log = structlog.get_logger()


def get_settings(request: Request) -> NotifySettings:
    settings: NotifySettings = request.app.state.settings
    return settings


Settings = Annotated[NotifySettings, Depends(get_settings)]


def _operator_token(request: Request) -> SecretStr | None:
    return get_settings(request).operator_token


operator = require_operator(_operator_token)
"""Lets only holders of the operators' token through (the deliveries API)."""


# --- SMS providers' webhooks: status callbacks and inbound texts ---------------------------


def _signed_url(request: Request, public_base_url: str) -> str:
    # Rebuilt from TW_NOTIFY_PUBLIC_BASE_URL, not from the request: behind a proxy or load
    # balancer the scheme, host and port notify sees are not the ones the provider called.
    query = request.url.query
    return public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def _refused(loc: tuple[str, ...], msg: str) -> ApiError:
    return ApiError.one(status.HTTP_403_FORBIDDEN, loc, msg, "invalid_signature")


async def signed_by_provider(
    request: Request,
    settings: Settings,
    provider: Annotated[str | None, Query(max_length=100)] = None,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)] = None,
) -> None:
    """Lets through only webhooks (status callbacks, inbound texts) signed with the auth token
    of the provider the URL names (`?provider=`, set by `sms.status_callback_url`, and in the
    inbound URL each provider is given), so each provider's calls are checked against its own
    token; anything else gets 403, before the database is asked."""
    configured = settings.provider(provider) if provider is not None else None
    if configured is None:
        raise _refused(
            ("query", "provider"),
            "the webhook URL must name a configured SMS provider (?provider=<name>), as the"
            " StatusCallback notify sends and the inbound URL it is given do",
        )
    if not signature:
        raise _refused(
            ("header", SIGNATURE_HEADER),
            f"missing: sign the request with provider {provider!r}'s auth token",
        )
    form = await request.form()
    params = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    url = _signed_url(request, settings.public_base_url)
    if not signature_matches(configured.auth_token.get_secret_value(), url, params, signature):
        # One event for both webhooks, as before there were two; `url` says which.
        log.warning("sms_status_bad_signature", provider=provider, url=url)
        raise _refused(
            ("header", SIGNATURE_HEADER),
            f"does not match this request's URL and parameters signed with provider"
            f" {provider!r}'s auth token",
        )


# --- Unsubscribe links ---------------------------------------------------------------------


def linked_subscriber(
    token: Annotated[str, Path(max_length=2000)], settings: Settings
) -> Subscriber | None:
    """The subscriber the link names; None for a link we did not sign."""
    return subscriber_from(settings, token)


LinkedSubscriber = Annotated[Subscriber | None, Depends(linked_subscriber)]
