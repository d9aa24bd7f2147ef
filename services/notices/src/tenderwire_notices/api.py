"""HTTP entrypoints. Thin: authenticate, validate, call a use case, shape the reply.

`router` is the notices API for agencies (and the public search); `ocds_router` imports OCDS
release packages and exports notices as OCDS. `install_error_handlers` says how use-case
errors read over HTTP, in the one error format, naming the field at fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse

from tenderwire_notices import repository, services
from tenderwire_notices.dependencies import (
    CurrentAgency,
    IdempotencyKey,
    LifecycleContext,
    NoticeId,
    Settings,
)
from tenderwire_notices.domain import (
    AGENCY_CODE,
    IDEMPOTENCY_KEY,
    DuplicateReferenceError,
    IdempotencyKeyError,
    IllegalTransitionError,
    InvalidNoticeError,
    NoticeNotFoundError,
    request_fingerprint,
)
from tenderwire_notices.ocds import exporter
from tenderwire_notices.ocds import package as ocds_package
from tenderwire_notices.ocds import services as ocds_services
from tenderwire_notices.ocds.exporter import RevisionEntry
from tenderwire_notices.ocds.package import MAX_RELEASES, PackageError, PackageTooLargeError
from tenderwire_notices.ocds.package import releases_of as ocds_releases_of
from tenderwire_notices.ocds.schemas import ImportReport
from tenderwire_notices.schemas import (
    Amendment,
    AwardDecision,
    Cancellation,
    Deadline,
    NoticeDraft,
    NoticePage,
    NoticeView,
    decode_cursor,
    encode_cursor,
)
from tenderwire_notices.web import pages
from tenderwire_shared.api_errors import ApiError, Loc
from tenderwire_shared.countries import to_alpha3
from tenderwire_shared.db import Connection
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot, TenderStatus
from tenderwire_shared.http import unique_keys

router = APIRouter(prefix="/v1/notices", tags=["notices"])
ocds_router = APIRouter(prefix="/v1", tags=["ocds"])


def _answered(answer: services.Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


UseCase = Callable[[Connection], Awaitable[TenderSnapshot]]


async def _idempotent(
    request: Request,
    pool: Pool,
    agency: str,
    key: str | None,
    body: Any,
    use_case: UseCase,
    *,
    success: int,
) -> Response:
    async def operation(conn: Connection) -> tuple[int, dict[str, Any]]:
        tender = await use_case(conn)
        return success, NoticeView.of(tender).model_dump(mode="json")

    request_hash = request_fingerprint(request.method, request.url.path, body)
    return _answered(await services.idempotent(pool, agency, key, request_hash, operation))


# --- notices ----------------------------------------------------------------------------------


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=NoticeView, summary="Publish a notice"
)
async def publish(
    draft: NoticeDraft,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request,
        pool,
        agency,
        key,
        draft.model_dump(mode="json"),
        lambda conn: services.publish(conn, ctx, agency, draft),
        success=status.HTTP_201_CREATED,
    )


@router.post("/{notice_id}/amendments", response_model=NoticeView, summary="Amend a notice")
async def amend(
    notice_id: NoticeId,
    amendment: Amendment,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request,
        pool,
        agency,
        key,
        amendment.model_dump(mode="json", exclude_unset=True),
        lambda conn: services.amend(conn, ctx, agency, notice_id, amendment),
        success=status.HTTP_200_OK,
    )


@router.post("/{notice_id}/cancellation", response_model=NoticeView, summary="Cancel a notice")
async def cancel(
    notice_id: NoticeId,
    cancellation: Cancellation,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request,
        pool,
        agency,
        key,
        cancellation.model_dump(mode="json"),
        lambda conn: services.cancel(conn, ctx, agency, notice_id, cancellation.reason),
        success=status.HTTP_200_OK,
    )


@router.post("/{notice_id}/award", response_model=NoticeView, summary="Award a closed notice")
async def award(
    notice_id: NoticeId,
    decision: AwardDecision,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request,
        pool,
        agency,
        key,
        decision.model_dump(mode="json"),
        lambda conn: services.award(conn, ctx, agency, notice_id, decision),
        success=status.HTTP_200_OK,
    )


@router.get(
    "/{notice_id}",
    summary="A notice with its revision history",
    description=(
        "JSON for API clients. A client that prefers `text/html` to `application/json` (a"
        " browser, which sends `text/html,...,*/*;q=0.8`) gets the notice's public page"
        " instead, as `GET /notices/{notice_id}` serves it."
    ),
    response_model=NoticeView,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        404: {
            "description": "No notice with this id: the one error format, or for a browser an"
            " HTML page",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
    },
)
async def get_notice(
    notice_id: NoticeId,
    request: Request,
    reader: pages.Reader,
    settings: Settings,
    lang: pages.Lang = None,
    tz: pages.Zone = None,
) -> Response:
    if pages.prefers_html(request.headers.get("accept")):
        return await pages.notice_page(request, notice_id, reader, settings, lang, tz)
    found = await reader.notice(notice_id)
    if found is None:
        error = ApiError.one(404, _NOTICE, f"no notice {notice_id!r}", "not_found").response()
        error.headers["Vary"] = "Accept"
        return error
    tender, revisions = found
    return JSONResponse(
        NoticeView.of(tender, revisions=revisions).model_dump(mode="json"),
        headers={"Vary": "Accept"},
    )


@router.get("", summary="Search notices, newest first")
async def search(
    pool: Pool,
    settings: Settings,
    agency: Annotated[
        str | None,
        Query(pattern=AGENCY_CODE, description="The agency's code, e.g. UNDP"),
    ] = None,
    status_: Annotated[TenderStatus | None, Query(alias="status")] = None,
    notice_type: NoticeType | None = None,
    unspsc: Annotated[
        str | None, Query(pattern=r"^[0-9]{2,8}$", description="A code or a prefix: 42, 4213, ...")
    ] = None,
    country: Annotated[str | None, Query(description="Beneficiary country, any ISO form")] = None,
    deadline_from: Annotated[
        Deadline | None, Query(description="From this moment on: ISO 8601 with a UTC offset")
    ] = None,
    deadline_to: Annotated[
        Deadline | None, Query(description="Before this moment: ISO 8601 with a UTC offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> NoticePage:
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise ApiError.one(422, ("query", "cursor"), str(exc)) from exc
    try:
        alpha3 = to_alpha3(country) if country else None
    except ValueError as exc:
        raise ApiError.one(422, ("query", "country"), str(exc)) from exc
    where = repository.SearchFilter(
        agency=agency,
        status=status_.value if status_ else None,
        notice_type=notice_type.value if notice_type else None,
        unspsc_prefix=unspsc,
        country=alpha3,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    rows = await repository.search(pool, where, limit=limit + 1, after=after)
    page = [repository.to_snapshot(r, settings.public_base_url) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last.published_at, last.tender_id)
    return NoticePage(items=[NoticeView.of(t) for t in page], next_cursor=next_cursor)


# --- OCDS -------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity, which no amount or id can be
        raise ValueError(f"the number {text[:50]} is too large")
    return value


def _not_a_package(message: str, *loc: str) -> ApiError:
    return ApiError.one(422, ("body", *loc), message)


async def _json_body(request: Request) -> object:
    # The app's BodySizeLimit middleware has already refused bodies too large to hold.
    body = await request.body()
    if not body.strip():
        raise _not_a_package("the body is empty; send a package")
    try:
        return json.loads(
            body,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            object_pairs_hook=unique_keys,
        )
    except (ValueError, RecursionError) as exc:
        # ValueError covers malformed JSON and undecodable bytes; RecursionError, nesting
        # deep enough to exhaust the parser.
        message = str(exc)[:300] if isinstance(exc, ValueError) else "nested too deeply"
        raise _not_a_package(f"the body is not JSON: {message}") from exc


_JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


def _releases(package: object, *, json_lines: bool = False) -> list[Any]:
    try:
        return ocds_releases_of(package, json_lines=json_lines)
    except PackageTooLargeError as exc:
        raise ApiError.one(413, ("body", *exc.loc), str(exc), "too_large") from exc
    except PackageError as exc:
        raise _not_a_package(str(exc), *exc.loc) from exc


@ocds_router.post(
    "/ocds/release-packages",
    response_model=ImportReport,
    summary="Import OCDS releases: a release or record package, a release, or several",
    description=(
        "The body is told by its shape, as ocdskit does: a release package, a record package"
        " (each record's embedded releases, else its compiled release), a record, a bare"
        " release, a JSON array of any of these, or JSON Lines of them (one per line; sent as"
        " `application/x-ndjson`, or recognised when the body is several JSON values, one a"
        " line). OCDS 1.0 data (a package stating `version` 1.0, or a release without"
        " `parties` when no version is stated) is upgraded to 1.1 with ocdskit's upgrade;"
        " another version is refused. The report's `source` says which shape and version were"
        " read. Each release becomes lifecycle steps of the notice its ocid names: `tender`"
        " publishes (or amends), `tenderAmendment`/`tenderUpdate` amend, `tenderCancellation`"
        " cancels, `award` awards; other tags are skipped; a `tag` written as a string is read"
        " as one tag. Releases are applied oldest first, each in its own transaction; one that"
        " fails is reported and the rest still import. Sending the same releases again changes"
        f" nothing. At most {MAX_RELEASES} releases."
    ),
    responses={
        status.HTTP_413_CONTENT_TOO_LARGE: {"description": "Too many releases or bytes"},
        status.HTTP_422_UNPROCESSABLE_CONTENT: {"description": "No OCDS releases in the body"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": ["object", "array"]}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_release_package(
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    json_lines = content_type in _JSON_LINES_TYPES or (
        ocds_package.looks_like_json_lines(body) and not _one_json_value(body)
    )
    if json_lines:
        try:
            package: object = ocds_package.parse_json_lines(body, _strict_json)
        except (ValueError, RecursionError) as exc:
            message = str(exc)[:300] if isinstance(exc, ValueError) else "nested too deeply"
            raise _not_a_package(f"the body is not JSON Lines: {message}") from exc
    else:
        package = await _json_body(request)
    # checked before a connection is taken, as bodies are
    releases = _releases(package, json_lines=json_lines)

    async def operation(conn: Connection) -> tuple[int, dict[str, Any]]:
        report = await ocds_services.import_releases(conn, ctx, agency, releases)
        return status.HTTP_200_OK, report.model_dump(mode="json")

    # Each release is imported once whatever happens; the key adds "same answer as the first
    # time", which a client retrying after a timeout needs to learn what it did.
    request_hash = request_fingerprint(request.method, request.url.path, package)
    return _answered(await services.idempotent_in_steps(pool, agency, key, request_hash, operation))


def _strict_json(text: str) -> object:
    return json.loads(
        text, parse_constant=_refuse_constant, parse_float=_finite, object_pairs_hook=unique_keys
    )


def _one_json_value(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


async def _history(pool: Pool, notice_id: str) -> list[RevisionEntry]:
    history = await repository.revision_history(pool, notice_id)
    if not history:
        raise ApiError.one(404, ("path", "notice_id"), f"no notice {notice_id!r}", "not_found")
    return history


def _package_uri(settings: Settings, notice_id: str) -> str:
    return f"{settings.public_base_url}/v1/notices/{notice_id}/ocds/release-package"


@ocds_router.get(
    "/notices/{notice_id}/ocds/release-package",
    summary="A notice's history as an OCDS 1.1 release package, one release per revision",
    response_class=JSONResponse,
)
async def release_package(notice_id: NoticeId, pool: Pool, settings: Settings) -> JSONResponse:
    history = await _history(pool, notice_id)
    package = exporter.release_package(
        history,
        publisher_name=settings.ocds_publisher_name,
        uri=_package_uri(settings, notice_id),
        buyer_name=await repository.agency_name(pool, history[-1].snapshot.agency),
        imported_buyer=await repository.notice_buyer(pool, notice_id),
    )
    return JSONResponse(package)


@ocds_router.get(
    "/notices/{notice_id}/ocds/record",
    summary="A notice as an OCDS 1.1 record package: linked releases and the compiled release",
    response_class=JSONResponse,
)
async def record(notice_id: NoticeId, pool: Pool, settings: Settings) -> JSONResponse:
    history = await _history(pool, notice_id)
    package = exporter.record_package(
        history,
        publisher_name=settings.ocds_publisher_name,
        uri=f"{settings.public_base_url}/v1/notices/{notice_id}/ocds/record",
        package_uri=_package_uri(settings, notice_id),
        buyer_name=await repository.agency_name(pool, history[-1].snapshot.agency),
        imported_buyer=await repository.notice_buyer(pool, notice_id),
    )
    return JSONResponse(package)


# --- use-case errors over HTTP ----------------------------------------------------------------

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

    @app.exception_handler(IdempotencyKeyError)
    async def _bad_key(request: Request, exc: IdempotencyKeyError) -> JSONResponse:
        return ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT, ("header", IDEMPOTENCY_KEY), str(exc)
        ).response()
