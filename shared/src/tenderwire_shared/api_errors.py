"""The one error format every service's HTTP API answers with.

Every 4xx and 5xx body is FastAPI's own shape, used everywhere:

    {"detail": [{"loc": ["body", "contacts", 0, "email"], "msg": "...", "type": "..."}]}

- `loc` names where the problem is: ["body", ...field path], ["query", name], ["path", name],
  ["header", name]; [] when it is about no one field (a database outage, a server error).
- `msg` says what is wrong in plain words, with no "Value error, " prefix.
- `type` is a stable machine-readable code (pydantic's, or one of ours: "not_found",
  "conflict", "unauthorized", "too_large", "unavailable", "internal_error").
- The body is bounded: no error echoes the caller's input back in full.

Use cases raise `ApiError` (or a subclass of it); `install_api_errors` renders it.
"""

from __future__ import annotations

import email.message
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

Loc = tuple[str | int, ...]

# Bounds on what one error body can hold, whatever the caller sent: a 10 MB string, a
# million-item list of bad values, a key of a megabyte, a path nested a thousand deep.
MAX_ERRORS = 20
MAX_MSG_CHARS = 300
MAX_LOC_DEPTH = 16
MAX_LOC_NAME_CHARS = 80
RETRY_AFTER_S = 5
# Set in the ASGI scope once a body has gone over the limit (see BodySizeLimit), so that any
# error the app raises while reading it is answered as what it is: 413.
BODY_TOO_LARGE_SCOPE_KEY = "tenderwire.body_too_large"
BODY_LIMIT_SCOPE_KEY = "tenderwire.body_limit"

# Pydantic's prefixes for errors raised in validators; they say nothing to a client.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")

TYPE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "value_error",
    429: "too_many_requests",
    503: "unavailable",
}

# The database is down, restarting, refusing sessions or out of connections: the request
# may well succeed later, so the answer is 503 with Retry-After, never a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # no connection from the pool in time
    asyncpg.PostgresConnectionError,  # lost mid-query, or the server refused the session
    asyncpg.OperatorInterventionError,  # shutting down, starting up, statement cancelled
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)

log = structlog.get_logger()


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _bounded_loc(loc: Sequence[Any]) -> Loc:
    parts: list[str | int] = [
        part
        if isinstance(part, int) and not isinstance(part, bool)
        else _bounded(str(part), MAX_LOC_NAME_CHARS)
        for part in loc[:MAX_LOC_DEPTH]
    ]
    if len(loc) > MAX_LOC_DEPTH:
        parts.append("…")
    return tuple(parts)


def plain_msg(msg: str) -> str:
    for prefix in _PYDANTIC_PREFIXES:
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
            break
    return _bounded(msg, MAX_MSG_CHARS)


@dataclass(frozen=True)
class FieldError:
    loc: Loc
    msg: str
    type: str = "value_error"

    def as_json(self) -> dict[str, Any]:
        return {
            "loc": list(_bounded_loc(self.loc)),
            "msg": plain_msg(self.msg),
            "type": _bounded(self.type, MAX_LOC_NAME_CHARS),
        }


def bounded_errors(errors: Sequence[FieldError]) -> list[dict[str, Any]]:
    shown = [error.as_json() for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        hidden = len(errors) - MAX_ERRORS
        shown.append({"loc": [], "msg": f"and {hidden} more errors", "type": "too_many_errors"})
    return shown


@dataclass
class ApiError(Exception):
    """An answer other than success, naming the field(s) at fault."""

    status_code: int
    errors: Sequence[FieldError]
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def one(
        cls,
        status_code: int,
        loc: Loc,
        msg: str,
        type: str = "value_error",
        headers: Mapping[str, str] | None = None,
    ) -> ApiError:
        return cls(status_code, [FieldError(loc, msg, type)], dict(headers or {}))

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, e.loc)) or '<root>'}: {e.msg}" for e in self.errors)

    def body(self) -> dict[str, Any]:
        return {"detail": bounded_errors(self.errors)}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=dict(self.headers))


class ErrorDetail(BaseModel):
    """One problem: where (`loc`), what (`msg`), and a stable code (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx body, in every service."""

    detail: list[ErrorDetail]


class BodyTooLargeError(Exception):
    """A request body went over the service's limit while it was being read."""


def too_large(limit: int | None) -> ApiError:
    size = f"{limit} bytes" if limit is not None else "the limit"
    return ApiError.one(413, ("body",), f"the request body is larger than {size}", "too_large")


def unavailable() -> ApiError:
    return ApiError.one(
        503,
        (),
        "the service's database is unavailable; retry later",
        "unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _innermost(exc: BaseException) -> BaseException:
    # Middleware built on task groups hands a lone error on wrapped in an ExceptionGroup.
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _body_too_large(request: Request) -> ApiError | None:
    if request.scope.get(BODY_TOO_LARGE_SCOPE_KEY):
        return too_large(request.scope.get(BODY_LIMIT_SCOPE_KEY))
    return None


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


def is_json(request: Request) -> bool:
    """Whether the request says its body is JSON (application/json, or any +json type)."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _not_sent_as_json(request: Request, error: Mapping[str, Any]) -> bool:
    # FastAPI hands a body of any other type to the model as bytes, which fails as "Input
    # should be a valid dictionary": true, and no help to a caller who sent text/plain.
    return (
        tuple(error.get("loc", ())) == ("body",)
        and error.get("type") == "model_attributes_type"
        and not is_json(request)
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # `input` and `ctx` are left out: they echo the caller's values back (megabytes of them,
    # or an inf that JSON cannot even carry), and `msg` already says what was expected.
    errors = [
        FieldError(
            ("header", "Content-Type"),
            "send the body as JSON, with Content-Type: application/json",
            "unsupported_media_type",
        )
        if _not_sent_as_json(request, error)
        else FieldError(
            tuple(error.get("loc", ())),
            str(error.get("msg", "invalid")),
            str(error.get("type", "value_error")),
        )
        for error in exc.errors()
    ]
    return ApiError(422, errors).response()


def _errors_from_detail(status_code: int, detail: Any) -> list[FieldError]:
    kind = TYPE_BY_STATUS.get(status_code, "http_error")
    if isinstance(detail, list) and detail and all(isinstance(d, Mapping) for d in detail):
        return [
            FieldError(tuple(d.get("loc") or ()), str(d.get("msg", "")), str(d.get("type", kind)))
            for d in detail
        ]
    if isinstance(detail, str) and detail:
        return [FieldError((), detail, kind)]
    return [FieldError((), HTTPStatus(status_code).phrase, kind)]


def _unparsable_body(request: Request, exc: StarletteHTTPException) -> ApiError:
    """What a 400 from FastAPI or Starlette means: always a body they could not parse."""
    cause = exc.__cause__
    # FastAPI says "error parsing the body" for a JSON body it could not even decode; that
    # is the caller's body at fault, named like any other invalid body.
    if isinstance(cause, UnicodeDecodeError):
        coding = request.headers.get("content-encoding", "identity").strip().lower()
        if coding != "identity":
            # No service decompresses bodies (a small gzip can inflate past any body limit),
            # so a compressed body reads as bytes that are not text; say what is wrong.
            return ApiError.one(
                422,
                ("header", "Content-Encoding"),
                f"{coding[:40]!r} bodies are not accepted; send the body uncompressed",
                "unsupported_encoding",
            )
        return ApiError.one(422, ("body",), "the body is not UTF-8", "json_invalid")
    if isinstance(cause, RecursionError):
        return ApiError.one(422, ("body",), "the body is nested too deeply", "json_invalid")
    if isinstance(cause, ValueError):
        # Python's JSON parser refuses an integer of more than 4300 digits (a guard against
        # quadratic parsing) with a ValueError that is no JSONDecodeError.
        digits = sys.get_int_max_str_digits()
        message = (
            f"the body is not usable JSON: a number in it is longer than {digits} digits"
            if "integer string conversion" in str(cause)
            else "the body is not usable JSON"
        )
        return ApiError.one(422, ("body",), message, "json_invalid")
    # Starlette's own refusals of a form body it cannot parse (bad multipart, a missing
    # boundary): the body is at fault, named like any other invalid body.
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else "invalid body"
    return ApiError.one(422, ("body",), message, "body_invalid")


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI turns a failed body read into "400 error parsing the body"; when the read failed
    # because the body was over the limit, the truth is 413.
    if (refused := _body_too_large(request)) is not None:
        return refused.response()
    if exc.status_code == 400:
        return _unparsable_body(request, exc).response()
    errors = _errors_from_detail(exc.status_code, exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette's Allow names only the first route that matched the path; one path often
        # has a route per method (GET and POST /v1/notices), and Allow must list them all.
        headers["Allow"] = ", ".join(_methods_for(request))
    return ApiError(exc.status_code, errors, headers).response()


def _methods_for(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**request.scope, "method": next(iter(route.methods))})
            if match is Match.FULL:
                methods |= route.methods
    return sorted(methods)


async def _on_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    return too_large(request.scope.get(BODY_LIMIT_SCOPE_KEY)).response()


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "database_unavailable",
        method=request.method,
        path=request.url.path,
        error=_bounded(repr(exc), MAX_MSG_CHARS),
        retry_after_s=RETRY_AFTER_S,
    )
    return unavailable().response()


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    inner = _innermost(exc)
    if isinstance(inner, ApiError):
        return inner.response()
    if isinstance(inner, BodyTooLargeError) or request.scope.get(BODY_TOO_LARGE_SCOPE_KEY):
        return too_large(request.scope.get(BODY_LIMIT_SCOPE_KEY)).response()
    if isinstance(inner, DATABASE_UNAVAILABLE):
        assert isinstance(inner, Exception)
        return await _on_database_unavailable(request, inner)
    # This runs outside the correlation middleware, whose context has closed by now.
    cid = getattr(request.state, "correlation_id", None)
    with structlog.contextvars.bound_contextvars(correlation_id=cid):
        log.error(
            "http_unhandled_error", method=request.method, path=request.url.path, exc_info=exc
        )
    msg = "internal server error" + (f"; quote correlation id {cid}" if cid else "")
    headers = {"X-Correlation-ID": cid} if cid else {}
    return ApiError.one(500, (), msg, "internal_error", headers=headers).response()


def install_api_errors(app: FastAPI) -> None:
    """Answer every error the app can raise in the one format, bounded, never with a trace."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(BodyTooLargeError, _on_body_too_large)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
