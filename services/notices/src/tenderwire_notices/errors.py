"""How use-case errors read over HTTP."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from tenderwire_notices.domain import (
    DuplicateReferenceError,
    IllegalTransitionError,
    InvalidNoticeError,
    NoticeNotFoundError,
)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NoticeNotFoundError)
    async def _not_found(request: Request, exc: NoticeNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(IllegalTransitionError)
    async def _illegal(request: Request, exc: IllegalTransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(DuplicateReferenceError)
    async def _duplicate(request: Request, exc: DuplicateReferenceError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(InvalidNoticeError)
    async def _invalid(request: Request, exc: InvalidNoticeError) -> JSONResponse:
        # The same shape as FastAPI's own validation errors, so clients parse one format.
        detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
