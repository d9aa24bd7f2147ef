"""HTTP pieces every service's FastAPI app shares: correlation ids, health probes, the body
limit and the input guard."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response, params
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenderwire_shared.api_errors import (
    BODY_LIMIT_SCOPE_KEY,
    BODY_TOO_LARGE_SCOPE_KEY,
    ApiError,
    BodyTooLargeError,
    FieldError,
    Loc,
    install_api_errors,
    is_json,
    too_large,
)
from tenderwire_shared.envelope import new_event_id

CORRELATION_HEADER = "X-Correlation-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = structlog.get_logger()


def correlation_id(request: Request) -> str:
    value: str = request.state.correlation_id
    return value


# Path parameters that are credentials (an unsubscribe link's signed token names a supplier
# and its address, and works as a bearer): the log shows the route's template instead.
SECRET_PATH_PARAMETERS = frozenset({"token"})


def logged_path(request: Request) -> str:
    """The request's path as the log may keep it: `/v1/unsubscribe/{token}`, never the token."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str) and SECRET_PATH_PARAMETERS & set(request.path_params):
        return template
    return request.url.path


def install_correlation_ids(app: FastAPI) -> None:
    """Take the caller's X-Correlation-ID (or make one), log with it, and echo it back."""

    @app.middleware("http")
    async def _correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        supplied = request.headers.get(CORRELATION_HEADER, "")
        cid = supplied if _SAFE_ID.match(supplied) else new_event_id()
        request.state.correlation_id = cid
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(correlation_id=cid):
            response = await call_next(request)
            log.info(
                "http_request",
                method=request.method,
                path=logged_path(request),
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        response.headers[CORRELATION_HEADER] = cid
        return response


_NOT_READY = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"const": "unavailable"},
        "error": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}

ReadinessCheck = Callable[[], str | None]
"""Returns None when healthy, or a short description of what is wrong (it makes /ready 503)."""


def health_router(
    pool: Callable[[], asyncpg.Pool], checks: Callable[[], Sequence[ReadinessCheck]] = tuple
) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        response_model=None,
        responses={
            503: {
                "description": "The database, or a readiness check, is failing",
                "content": {"application/json": {"schema": _NOT_READY}},
            }
        },
    )
    async def ready() -> Response:
        try:
            await pool().fetchval("SELECT 1")
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": repr(exc)}, status_code=503)
        problems = [problem for check in checks() if (problem := check()) is not None]
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return router


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413 before they fill memory.

    Checks Content-Length up front and counts the bytes of chunked bodies as they arrive. An
    over-long chunked body fails the read inside the app; whatever the app makes of that
    (FastAPI's "error parsing the body", an error in a task group), the answer is 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[BODY_LIMIT_SCOPE_KEY] = self.max_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(self.max_bytes).response()(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    scope[BODY_TOO_LARGE_SCOPE_KEY] = True
                    raise BodyTooLargeError
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception:
            # The app's error handlers answer 413 themselves; this is for a refusal that
            # escaped them before anything was sent.
            if started or not scope.get(BODY_TOO_LARGE_SCOPE_KEY):
                raise
            await too_large(self.max_bytes).response()(scope, receive, send)


# No identifier or filter holds one; the OpenAPI says the same with NO_CONTROL_CHARACTERS.
_CONTROL_RANGE = "\\x00-\\x1f\\x7f"
_CONTROL_CHARACTERS = re.compile(f"[{_CONTROL_RANGE}]")
NO_CONTROL_CHARACTERS = f"^[^{_CONTROL_RANGE}]*$"


def non_finite_number_at(document: object) -> Loc | None:
    """Where the first inf or NaN in a parsed JSON document is, if it holds one.

    Python's JSON parser reads `NaN`, `Infinity` and numbers too big for a float (`1e400`)
    as non-finite floats; no field can store them and no JSON answer can carry them.
    """
    try:
        # The C encoder finds out whether there is one at all five times faster than a walk.
        json.dumps(document, allow_nan=False, check_circular=False)
    except ValueError:
        pass
    else:
        return None
    pending: list[tuple[Loc, object]] = [((), document)]
    while pending:
        loc, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return loc
        if isinstance(value, dict):
            pending.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))
    return None


class DuplicateKeyError(ValueError):
    pass


def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json.loads' object_pairs_hook refusing a key given twice in one object.

    JSON parsers disagree on which copy wins: a body one tool (a gateway, the caller's own
    logs) reads one way and this service another would be acted on as neither meant.
    """
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(f"the key {key[:100]!r} appears twice in one object")
        found[key] = value
    return found


def _parsed_json_body(request: Request) -> bool:
    """Whether FastAPI has parsed this request's body as JSON for the route (and kept it)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return False
    return not isinstance(route.body_field.field_info, params.Form) and is_json(request)


async def refuse_unsafe_input(request: Request) -> None:
    """An app-wide dependency: refuses, as 422 naming the parameter, what no route can use.

    Control characters in query and path parameters (PostgreSQL cannot store NUL, and no
    identifier or filter holds a control character), and in JSON bodies a key given twice in
    one object or a non-finite number.
    It runs before the route's own parameters are validated, so nothing reaches SQL.
    """
    unsafe = [
        FieldError(("query", name), "must not contain control characters", "control_characters")
        for name, value in request.query_params.multi_items()
        if _CONTROL_CHARACTERS.search(name) or _CONTROL_CHARACTERS.search(value)
    ] + [
        FieldError(("path", name), "must not contain control characters", "control_characters")
        for name, value in request.path_params.items()
        if isinstance(value, str) and _CONTROL_CHARACTERS.search(value)
    ]
    if unsafe:
        raise ApiError(422, unsafe)
    # A route that reads its body itself (an OCDS import) parses, and refuses, on its own.
    if not _parsed_json_body(request):
        return
    try:
        # FastAPI's own parse keeps the last copy of a repeated key, so the body, already read
        # and cached, is parsed once more to find one.
        document = json.loads(await request.body(), object_pairs_hook=unique_keys)
    except DuplicateKeyError as exc:
        raise ApiError.one(422, ("body",), str(exc), "duplicate_key") from exc
    except (ValueError, RecursionError):
        return  # empty or not JSON: FastAPI's parse has already answered, or the route will
    if (loc := non_finite_number_at(document)) is not None:
        raise ApiError.one(
            422, ("body", *loc), "must be a finite number (no NaN, no Infinity)", "finite_number"
        )


def install_http(app: FastAPI, *, max_body_bytes: int, guard_input: bool = True) -> None:
    """The HTTP layer every service shares: the one error format, the body limit, the input
    guard (`refuse_unsafe_input`) and correlation ids. Call it before including any router:
    the guard is an app-wide dependency, given to routes as they are included."""
    if any(isinstance(route.original_route, APIRoute) for route in iter_route_contexts(app.routes)):
        raise RuntimeError("install_http must run before the app's routers are included")
    install_api_errors(app)
    # Starlette answers a path with a stray trailing slash with a 307 to the slashless URL,
    # built from the caller's Host header: an undocumented answer, and a redirect to any host
    # the caller names. A path is either a route or a 404.
    app.router.redirect_slashes = False
    if guard_input:
        app.router.dependencies.append(Depends(refuse_unsafe_input))
    # Inside the correlation middleware, so a refused body is logged with its correlation id.
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    install_correlation_ids(app)
