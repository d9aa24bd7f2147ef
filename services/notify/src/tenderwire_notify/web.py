"""The unsubscribe pages: a confirmation with two choices, and a POST that stops alerts on the
link's channel or on every channel, or undoes that. The links are signed
(`schemas.link_for`); a link we did not sign names nobody.

Every page is in the supplier's language: the one its link carries, else the browser's
`Accept-Language`, else English (`tenderwire_shared.i18n.negotiate`).

What each POST stops (`scope`, a form field):

- none (RFC 8058 one-click, `List-Unsubscribe=One-Click`, as mail apps send it) or `channel`:
  alerts to the link's address on the link's channel only. The e-mail's link stops e-mail to
  that address; texts to the supplier's phone go on.
- `all`: every address the supplier is reached at, on every channel (e-mail and SMS), as
  `services.unsubscribe` says; the page lists them.
- `resubscribe-channel`, `resubscribe-all`: undo the above, lifting only suppressions the
  supplier made itself (unsubscribe, SMS STOP), never a bounce (`services.resubscribe`).

The POST answers only once the sends claimed before the suppression have left, so nothing
reaches an address after the page says it will not. A GET changes nothing: mail scanners
follow links.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse

from tenderwire_notify import services
from tenderwire_notify.dependencies import LinkedSubscriber, Settings
from tenderwire_notify.domain import LINK_SCOPES, LinkAction, StopScope, link_action
from tenderwire_notify.rendering import TEMPLATES
from tenderwire_notify.schemas import Subscriber
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.i18n import negotiate
from tenderwire_shared.masking import mask_address

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])

_HTML = {"text/html": {"schema": {"type": "string"}}}
# 404 rather than 400: the link names a subscription, and no such (unforged) one exists.
_NOT_RECOGNISED: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The link is not valid (altered, or not one of ours): an HTML page",
        "content": _HTML,
    }
}
_BAD_SCOPE: dict[int | str, dict[str, Any]] = {
    422: {
        "description": (
            "An unknown `scope`: the confirmation page again, as an HTML page, nothing changed;"
            " or a body that is not a form, in the one error format"
        ),
        "content": {
            **_HTML,
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}},
        },
    }
}


def page_language(request: Request, subscriber: Subscriber | None) -> str:
    """The link's language, else the browser's Accept-Language, else English."""
    return negotiate(
        request.headers.get("accept-language"), subscriber.language if subscriber else None
    )


def _page(
    request: Request,
    subscriber: Subscriber | None,
    name: str,
    *,
    status_code: int = status.HTTP_200_OK,
    **context: Any,
) -> HTMLResponse:
    language = page_language(request, subscriber)
    return HTMLResponse(
        TEMPLATES.render(f"pages/{name}.html", language, **context),
        status_code=status_code,
        # The pages show a supplier's addresses: no shared cache may keep them.
        headers={
            "Content-Language": language,
            "Vary": "Accept-Language",
            "Cache-Control": "no-store",
        },
    )


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def _not_a_form(request: Request) -> bool:
    """Whether the POST carries a body of another kind (JSON, text): its fields were not
    read, and taking it for one-click would stop something other than what it asks."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type in _FORM_TYPES:
        return False
    return bool(await request.body())


def shown_addresses(subscriber: Subscriber, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The addresses a page may list: the link's own in full (its reader has that mail), the
    others masked (`a***@example.sn`, `+221 *** ** 67`), since an alert can be forwarded."""
    own = (subscriber.channel, subscriber.address.lower())
    return [
        (channel, address if (channel, address.lower()) == own else mask_address(address))
        for channel, address in pairs
    ]


def _invalid(request: Request) -> HTMLResponse:
    return _page(request, None, "invalid_link", status_code=status.HTTP_404_NOT_FOUND)


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="Confirm before unsubscribing: this channel, or all alerts",
    responses=_NOT_RECOGNISED,
)
async def confirm(request: Request, subscriber: LinkedSubscriber) -> HTMLResponse:
    # Mail scanners follow links: a GET must never unsubscribe by itself.
    if subscriber is None:
        return _invalid(request)
    return _page(
        request,
        subscriber,
        "unsubscribe_confirm",
        channel=subscriber.channel,
        address=subscriber.address,
        unknown_choice=False,
    )


# Link checkers and mail scanners ask HEAD first; the same page, without its body. Left out
# of the OpenAPI, where a HEAD beside the GET would repeat the GET's operation.
router.add_api_route(
    "/{token}", confirm, methods=["HEAD"], response_class=HTMLResponse, include_in_schema=False
)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe (RFC 8058 one-click), from all alerts, or undo",
    responses={**_NOT_RECOGNISED, **_BAD_SCOPE},
)
async def unsubscribe(
    request: Request,
    subscriber: LinkedSubscriber,
    pool: Pool,
    settings: Settings,
    scope: Annotated[
        str | None,
        Form(
            description=(
                "What to stop or resume: " + ", ".join(LINK_SCOPES) + ". Left out (RFC 8058"
                " one-click), `channel`"
            ),
            examples=["all"],
        ),
    ] = None,
    one_click: Annotated[
        str | None,
        Form(
            alias="List-Unsubscribe",
            description="`One-Click`, as RFC 8058 mail apps send it; the same as scope=channel",
        ),
    ] = None,
) -> HTMLResponse:
    if subscriber is None:
        return _invalid(request)
    if scope is None and one_click is None and await _not_a_form(request):
        raise ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            ("body",),
            "send the choice as a form (application/x-www-form-urlencoded or"
            " multipart/form-data), as the page and RFC 8058 mail apps do; nothing changed",
            "body_invalid",
        )
    # Two different choices in one form are none: FastAPI would keep only the last.
    chosen = link_action(scope) if len(set((await request.form()).getlist("scope"))) <= 1 else None
    if chosen is None:
        # Nothing changed: the two choices again, so the reader can pick one.
        return _page(
            request,
            subscriber,
            "unsubscribe_confirm",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            channel=subscriber.channel,
            address=subscriber.address,
            unknown_choice=True,
        )
    action, stop_scope = chosen
    if action is LinkAction.RESUBSCRIBE:
        outcome = await services.resubscribe(pool, subscriber, scope=stop_scope)
        return _page(
            request,
            subscriber,
            "resubscribed",
            address=subscriber.address,
            still_refused=shown_addresses(subscriber, outcome.still_refused),
        )
    # Answers only when the sends claimed before the suppression have left, so nothing
    # reaches the address after this page says it will not.
    stopped = await services.unsubscribe(
        pool,
        subscriber,
        scope=stop_scope,
        timeout_s=max(settings.smtp_timeout_s, settings.sms_timeout_s) + 5,
    )
    return _page(
        request,
        subscriber,
        "unsubscribed",
        scope=stop_scope.value,
        channel=subscriber.channel,
        address=subscriber.address,
        stopped_addresses=shown_addresses(subscriber, stopped)
        if stop_scope is StopScope.ALL
        else [],
    )
