"""The operators' credential: one shared secret that opens read-only operator views.

Sent as `Authorization: Bearer <token>` by scripts, or as the password of HTTP Basic auth
(any user name) by a browser. With no token configured every operator view answers 503, so
a forgotten setting never leaves supplier contact details open.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr

from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.openapi import bearer_scheme

REALM = 'Basic realm="Tenderwire operators", charset="UTF-8"'

# Declares the credential in the OpenAPI (so /docs can send it); `require_operator` checks it,
# and also takes it as the password of HTTP Basic auth, which is how a browser sends it.
operator_token_scheme = bearer_scheme(
    "OperatorToken",
    "The operators' token (TW_OPERATOR_TOKEN). A browser may send it as the password of"
    " HTTP Basic auth instead.",
    {
        401: "No operators' token, or the wrong one",
        503: "Operator views are off: no operators' token is configured",
    },
)


def _presented(request: Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except ValueError:
            # Covers bad base64 (binascii.Error), bytes that are not UTF-8, and a header with
            # non-ASCII characters, which b64decode refuses before decoding anything.
            return None
        return decoded.partition(":")[2]
    return None


def require_operator(
    token: Callable[[Request], SecretStr | None],
) -> Callable[[Request, HTTPAuthorizationCredentials | None], None]:
    """A FastAPI dependency that lets only holders of the operators' token through.

    `token` reads the configured secret, usually from the app's settings, per request.
    """

    def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_token_scheme)],
    ) -> None:
        expected = token(request)
        if expected is None or not expected.get_secret_value():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "operator views are off: set TW_OPERATOR_TOKEN to turn them on",
            )
        presented = _presented(request)
        if presented is None or not hmac.compare_digest(
            presented.encode(), expected.get_secret_value().encode()
        ):
            raise ApiError.one(
                status.HTTP_401_UNAUTHORIZED,
                ("header", "Authorization"),
                "operators only: send the operators' token as a Bearer token",
                "unauthorized",
                {"WWW-Authenticate": REALM},
            )

    return check
