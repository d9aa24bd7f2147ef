"""Who is signed in, and the form token every POST carries.

A session is a random token in an HttpOnly, SameSite=Lax cookie, looked up on each request
(`repository.session`), so signing out or deleting the account ends it at once everywhere.

Forms are protected against cross-site posting twice: the session cookie is SameSite=Lax (no
cross-site POST carries it), and every POST form carries a token that must equal the one in a
SameSite=Strict cookie (double submit), which also covers the forms used before sign-in
(registration, sign-in requests). A POST whose `Origin` is another site is refused too.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse

from tenderwire_matching.portal import repository
from tenderwire_shared.dependencies import Pool

SESSION_COOKIE = "tw_portal_session"
CSRF_COOKIE = "tw_portal_form"
CSRF_FIELD = "form_token"
SESSION_LIFETIME = timedelta(days=14)
COOKIE_PATH = "/portal"


@dataclass(frozen=True)
class Session:
    supplier_id: str
    language: str
    token: str


class SignInRequiredError(Exception):
    """Raised by `SignedIn`; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FormTokenError(Exception):
    """A POST without the form token of its own page, or from another site."""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass(frozen=True)
class CsrfToken:
    value: str
    is_new: bool
    secure: bool

    def set_on(self, response: Response) -> None:
        if self.is_new:
            response.set_cookie(
                CSRF_COOKIE,
                self.value,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path=COOKIE_PATH,
            )


def csrf_token_for(request: Request) -> CsrfToken:
    current = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(current) <= 100 and current.isascii():
        return CsrfToken(current, is_new=False, secure=_secure(request))
    return CsrfToken(secrets.token_urlsafe(24), is_new=True, secure=_secure(request))


def check_form_token(request: Request, submitted: str | None) -> None:
    """Raises FormTokenError unless the POST comes from one of the portal's own pages."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.url.netloc:
            raise FormTokenError(origin)
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise FormTokenError("form token")


async def start_session(pool: Pool, response: Response, request: Request, supplier_id: str) -> None:
    token = secrets.token_urlsafe(32)
    await repository.start_session(pool, token, supplier_id, datetime.now(UTC) + SESSION_LIFETIME)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=COOKIE_PATH,
    )


async def end_session(pool: Pool, response: Response, session: Session) -> None:
    await repository.end_session(pool, session.token)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


async def current_session(request: Request, pool: Pool) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100 or not token.isascii():
        return None
    row = await repository.session(pool, token)
    if row is None:
        return None
    found = Session(row["supplier_id"], row["language"], token)
    request.state.portal_session = found
    return found


async def signed_in(request: Request, pool: Pool) -> Session:
    found = await current_session(request, pool)
    if found is None:
        raise SignInRequiredError(request.url.path)
    return found


MaybeSignedIn = Annotated[Session | None, Depends(current_session)]
SignedIn = Annotated[Session, Depends(signed_in)]


def to_sign_in(next_path: str) -> RedirectResponse:
    # Only a path of the portal's own is carried, so the link can't send anyone elsewhere.
    target = next_path if next_path.startswith(COOKIE_PATH + "/") else COOKIE_PATH + "/"
    return RedirectResponse(
        f"{COOKIE_PATH}/sign-in?next={quote(target, safe='/')}", status_code=303
    )
