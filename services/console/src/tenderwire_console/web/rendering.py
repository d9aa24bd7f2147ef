"""Jinja2 pages with autoescaping on: tender titles, errors and event data are hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from tenderwire_shared.masking import mask_contacts

# No inline script or style anywhere, so a script that slipped past escaping still cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Pages show supplier data: no shared cache keeps a copy.
    "Cache-Control": "no-store",
}


def utc(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:  # timestamptz always has one; this guards naive test values
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def path_part(value: object) -> str:
    """One URL path segment: ids are not trusted to be free of `/`, `?` or `#`."""
    return quote(str(value), safe="")


def masked(value: str | None) -> str:
    return "" if value is None else mask_contacts(value)


_env = Environment(
    loader=PackageLoader("tenderwire_console.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(utc=utc, path_part=path_part, masked=masked)


def page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = _env.get_template(template).render(
        base=request.scope.get("root_path", ""), request=request, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
