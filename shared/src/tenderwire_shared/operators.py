"""The operators' credential: one shared secret that opens read-only operator views.

Sent as `Authorization: Bearer <token>` by scripts, or as the password of HTTP Basic auth
(any user name) by a browser. With no token configured every operator view answers 503, so
a forgotten setting never leaves supplier contact details open.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from pydantic import SecretStr

REALM = 'Basic realm="Tenderwire operators", charset="UTF-8"'


def _presented(request: Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def require_operator(
    token: Callable[[Request], SecretStr | None],
) -> Callable[[Request], None]:
    """A FastAPI dependency that lets only holders of the operators' token through.

    `token` reads the configured secret, usually from the app's settings, per request.
    """

    def check(request: Request) -> None:
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
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "operators only: send the operators' token as a Bearer token",
                headers={"WWW-Authenticate": REALM},
            )

    return check
