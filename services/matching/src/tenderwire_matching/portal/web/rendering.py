"""The portal's pages: one template set in seven languages, strict security headers.

The page language is the signed-in supplier's, else `?lang=`, else the browser's
Accept-Language, else English (`tenderwire_shared.i18n.negotiate`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from tenderwire_shared.i18n import Messages, Templates, negotiate, supported

MESSAGES = Messages("tenderwire_matching")
TEMPLATES = Templates("tenderwire_matching", MESSAGES, folder="portal/templates")

# No inline script or style anywhere, so markup that slipped past escaping still cannot run;
# the portal needs no script at all. Forms post only to the portal itself.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Pages show a supplier's own contact details: no shared cache keeps a copy.
    "Cache-Control": "no-store",
}


def page_language(request: Request, registered: str | None = None) -> str:
    """The supplier's own language if signed in, else `?lang=`, else the browser's."""
    if registered is None:
        asked = request.query_params.get("lang")
        if asked is not None and supported(asked):
            registered = asked
    return negotiate(request.headers.get("accept-language"), registered)


def page(
    request: Request,
    template: str,
    *,
    language: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` (under portal/templates) rendered in `language`, with the portal's headers.

    Every template gets `base` (the portal's path prefix, for links and forms), `csrf` (the
    form token every POST form must carry, `sessions.CSRF_FIELD`) and `signed_in`.
    """
    from tenderwire_matching.portal.web.sessions import csrf_token_for

    csrf = csrf_token_for(request)
    html = TEMPLATES.render(
        template,
        language,
        base=request.scope.get("root_path", "") + "/portal",
        csrf=csrf.value,
        signed_in=getattr(request.state, "portal_session", None) is not None,
        **context,
    )
    response = HTMLResponse(
        html,
        status_code=status_code,
        headers={
            **SECURITY_HEADERS,
            "Content-Language": language,
            "Vary": "Accept-Language, Cookie",
        },
    )
    csrf.set_on(response)
    return response
