"""What each service's OpenAPI says beyond FastAPI's defaults, and /docs that works offline.

- Every answer a route can give is documented, with the one error format
  (`tenderwire_shared.api_errors`): the answers every route shares (422 for a bad parameter,
  413 for a body over the limit, 503 while the database is down) are added here, the answers
  of each way of authenticating come with its security scheme (`bearer_scheme`), and a
  service names the rest (a 409 on a conflict, a 404 on a missing notice) in its bootstrap.
- Authenticated routes declare an HTTP bearer security scheme, so /docs has "Authorize".
- /docs serves Swagger UI from the `swagger-ui-py` package: a machine without internet gets
  the same page, where FastAPI's default loads it from a CDN and stays blank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles

from tenderwire_shared.api_errors import RETRY_AFTER_S, ErrorResponse
from tenderwire_shared.http import NO_CONTROL_CHARACTERS, refuse_unsafe_input

# An answer: a description (the body is then the one error format), or a whole OpenAPI
# response object for an answer that is not (an HTML page, say).
Answer = str | Mapping[str, Any]
Answers = Mapping[int, Answer]

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
_SCHEME_ANSWERS: dict[str, Answers] = {}

DOCS_ASSETS = "/docs/assets"


def bearer_scheme(name: str, description: str, answers: Answers) -> HTTPBearer:
    """An HTTP bearer security scheme that a route's own dependency checks.

    It never refuses by itself (the dependency that uses it says why, in the one format);
    `answers` are what that dependency can answer, documented on every route that uses it.
    """
    _SCHEME_ANSWERS[name] = answers
    return HTTPBearer(scheme_name=name, description=description, auto_error=False)


def _error_response(code: int, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    }
    if code == 503:
        response["headers"] = {
            "Retry-After": {
                "description": f"Seconds to wait before retrying (usually {RETRY_AFTER_S})",
                "schema": {"type": "integer"},
            }
        }
    elif code == 401:
        response["headers"] = {
            "WWW-Authenticate": {"description": "How to authenticate", "schema": {"type": "string"}}
        }
    return response


def _without_schema(response: Mapping[str, Any]) -> bool:
    # A response a route declared with a description only: its body is the one format too.
    return not response.get("content")


_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def _document(op: dict[str, Any], answers: Mapping[int, Answer]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    default_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if default_422.get("schema") == _FASTAPI_422:
        del responses["422"]
    for code, answer in sorted(answers.items()):
        if str(code) in responses:
            continue
        responses[str(code)] = (
            _error_response(code, answer) if isinstance(answer, str) else dict(answer)
        )
    for key, response in responses.items():
        if key[0] in "45" and _without_schema(response):
            responses[key] = {**response, **_error_response(int(key), response["description"])}


def _forbid_control_characters(schema: dict[str, Any]) -> None:
    # What `refuse_unsafe_input` enforces, said in each parameter's schema, so that a client
    # (or a fuzzer) reading the document knows a control character is refused.
    for branch in schema.get("anyOf", ()):
        _forbid_control_characters(branch)
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = NO_CONTROL_CHARACTERS


def _operations(spec: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                yield f"{method.upper()} {path}", op


def document_answers(
    app: FastAPI,
    answers: Mapping[str, Answers] | None = None,
    *,
    without_database: Iterable[str] = ("/health",),
) -> None:
    """Make the app's OpenAPI document every answer each route can give.

    `answers` maps "METHOD /path" to the answers only that route gives (409, 404, ...). A key
    that names no route is an error here, so a renamed route cannot lose its documentation.
    """
    answers = dict(answers or {})
    no_database = frozenset(without_database)
    routes = {
        f"{method} {route.path}"
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }
    if unknown := set(answers) - routes:
        raise ValueError(f"answers for routes the app does not have: {sorted(unknown)}")
    guarded = any(
        getattr(dependency, "dependency", None) is refuse_unsafe_input
        for dependency in app.router.dependencies
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorResponse"] = error_schema
        for operation, op in _operations(spec):
            path = operation.split(" ", 1)[1]
            these: dict[int, Answer] = {422: "A parameter or the body is invalid; `loc` says which"}
            if path not in no_database:
                these[503] = "The database is unavailable; retry after Retry-After"
            if "requestBody" in op:
                these[413] = "The request body is larger than the service accepts"
            for requirement in op.get("security", []):
                for scheme in requirement:
                    these.update(_SCHEME_ANSWERS.get(scheme, {}))
            these.update(answers.get(operation, {}))
            _document(op, these)
            if guarded:
                for parameter in op.get("parameters", []):
                    if parameter.get("in") in ("query", "path"):
                        _forbid_control_characters(parameter.get("schema", {}))
        app.openapi_schema = spec
        return spec

    # FastAPI's documented way to change the schema: replace the app's `openapi` method.
    setattr(app, "openapi", openapi)  # noqa: B010 - mypy refuses assigning to a method


def install_offline_docs(app: FastAPI) -> None:
    """/docs from packaged Swagger UI assets. Build the app with `docs_url=None`."""
    if app.docs_url is not None or app.openapi_url is None:
        raise RuntimeError("build the app with docs_url=None and an openapi_url")
    openapi_url = app.openapi_url
    title = f"{app.title} - API docs"
    app.mount(DOCS_ASSETS, StaticFiles(packages=[("swagger_ui", "static")]), "docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            # Swagger UI would otherwise send the document to an online validator for a badge.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    app.add_api_route("/docs", docs, include_in_schema=False, response_class=HTMLResponse)
