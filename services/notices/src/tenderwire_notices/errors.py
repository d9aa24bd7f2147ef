"""How use-case errors read over HTTP: the one error format, naming the field at fault."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from tenderwire_notices.domain import (
    DuplicateReferenceError,
    IllegalTransitionError,
    InvalidNoticeError,
    NoticeNotFoundError,
)
from tenderwire_shared.api_errors import ApiError, Loc

# The routes name the notice in the path as `notice_id`.
_NOTICE = ("path", "notice_id")


def body_loc(field: str) -> Loc:
    """["body", "awards", 0, "date"] for "awards.0.date"; ["body"] for the body as a whole."""
    if field in ("", "body"):
        return ("body",)
    return ("body", *(int(part) if part.isdigit() else part for part in field.split(".")))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NoticeNotFoundError)
    async def _not_found(request: Request, exc: NoticeNotFoundError) -> JSONResponse:
        return ApiError.one(status.HTTP_404_NOT_FOUND, _NOTICE, str(exc), "not_found").response()

    @app.exception_handler(IllegalTransitionError)
    async def _illegal(request: Request, exc: IllegalTransitionError) -> JSONResponse:
        # The notice's state is what forbids the step, so the notice is the field at fault.
        return ApiError.one(status.HTTP_409_CONFLICT, _NOTICE, str(exc), "conflict").response()

    @app.exception_handler(DuplicateReferenceError)
    async def _duplicate(request: Request, exc: DuplicateReferenceError) -> JSONResponse:
        return ApiError.one(
            status.HTTP_409_CONFLICT, ("body", "reference"), str(exc), "conflict"
        ).response()

    @app.exception_handler(InvalidNoticeError)
    async def _invalid(request: Request, exc: InvalidNoticeError) -> JSONResponse:
        return ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT, body_loc(exc.field or ""), exc.message
        ).response()
