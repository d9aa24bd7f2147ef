"""Status callbacks as an SMS provider posts them: to the URL notify gave it, signed with
its auth token (X-Twilio-Signature)."""

from __future__ import annotations

import httpx

from tenderwire_notify.sms import (
    SIGNATURE_HEADER,
    SmsProvider,
    status_callback_url,
    twilio_signature,
)


async def post_status(
    http: httpx.AsyncClient,
    public_base_url: str,
    provider: SmsProvider,
    delivery_id: str,
    form: dict[str, str],
    *,
    signed_with: str | None = None,
) -> httpx.Response:
    """Posts `form` as `provider`'s callback for `delivery_id`, signed with `signed_with`
    (the provider's own auth token unless a test forges one)."""
    url = status_callback_url(public_base_url, provider, delivery_id)
    token = provider.auth_token.get_secret_value() if signed_with is None else signed_with
    signature = twilio_signature(token, url, form.items())
    return await http.post(url, data=form, headers={SIGNATURE_HEADER: signature})
