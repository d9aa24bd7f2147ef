"""OCDS over HTTP: agencies import release packages; anyone exports a notice as OCDS."""

from __future__ import annotations

import json
import math

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response

from tenderwire_notices import agencies, idempotency, lifecycle, repository
from tenderwire_notices.dependencies import (
    CurrentAgency,
    IdempotencyKey,
    LifecycleContext,
    NoticeId,
    Pool,
    Settings,
)
from tenderwire_notices.ocds import exporter, importer
from tenderwire_notices.ocds.exporter import RevisionEntry
from tenderwire_notices.ocds.report import ImportReport
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.http import unique_keys

router = APIRouter(prefix="/v1", tags=["ocds"])


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


@router.post(
    "/ocds/release-packages",
    response_model=ImportReport,
    summary="Import an OCDS 1.1 release package",
    description=(
        "Each release becomes lifecycle steps of the notice its ocid names: `tender` publishes"
        " (or amends), `tenderAmendment`/`tenderUpdate` amend, `tenderCancellation` cancels,"
        " `award` awards; other tags are skipped. Releases are applied oldest first, each in"
        " its own transaction; one that fails is reported and the rest still import. Sending"
        f" the same package again changes nothing. At most {importer.MAX_RELEASES} releases."
    ),
    responses={
        status.HTTP_413_CONTENT_TOO_LARGE: {"description": "Too many releases or bytes"},
        status.HTTP_422_UNPROCESSABLE_CONTENT: {"description": "Not a release package"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
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
    package = await _json_body(request)
    # Each release is imported once whatever happens; the key adds "same answer as the first
    # time", which a client retrying after a timeout needs to learn what it did.
    request_hash = idempotency.fingerprint(request.method, request.url.path, package)
    if key is None:
        async with pool.acquire() as conn:
            report = await _import(conn, ctx, agency, package)
        return JSONResponse(report.model_dump(mode="json"), status.HTTP_200_OK)
    try:
        idempotency.check_key(key)
    except idempotency.IdempotencyKeyError as exc:
        raise idempotency.as_api_error(exc) from exc
    # A retry sent while the first request still runs (its client timed out) waits for it
    # and gets its report, as the key promises, not a second report of "already imported".
    async with pool.acquire() as conn, idempotency.queued(conn, agency, key):
        try:
            stored = await idempotency.recall(conn, agency, key, request_hash)
        except idempotency.IdempotencyKeyError as exc:
            raise idempotency.as_api_error(exc) from exc
        if stored is not None:
            return JSONResponse(
                stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"}
            )
        report = await _import(conn, ctx, agency, package)
        outcome = idempotency.Outcome(status.HTTP_200_OK, report.model_dump(mode="json"))
        await idempotency.remember(conn, agency, key, request_hash, outcome)
    return JSONResponse(outcome.body, outcome.status_code)


async def _import(
    conn: Connection, ctx: lifecycle.Context, agency: str, package: object
) -> ImportReport:
    try:
        return await importer.import_package(conn, ctx, agency, package)
    except importer.PackageTooLargeError as exc:
        raise ApiError.one(413, ("body", *exc.loc), str(exc), "too_large") from exc
    except importer.PackageError as exc:
        raise _not_a_package(str(exc), *exc.loc) from exc


async def _history(pool: Pool, notice_id: str) -> list[RevisionEntry]:
    rows = await repository.revision_snapshots(pool, notice_id)
    if not rows:
        raise ApiError.one(404, ("path", "notice_id"), f"no notice {notice_id!r}", "not_found")
    return [
        RevisionEntry(
            revision=row["revision"],
            event_type=row["event_type"],
            reason=row["reason"],
            snapshot=TenderSnapshot.model_validate_json(row["snapshot"])
            if isinstance(row["snapshot"], str | bytes)
            else TenderSnapshot.model_validate(row["snapshot"]),
            occurred_at=row["occurred_at"],
        )
        for row in rows
    ]


def _package_uri(settings: Settings, notice_id: str) -> str:
    return f"{settings.public_base_url}/v1/notices/{notice_id}/ocds/release-package"


@router.get(
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
        buyer_name=await agencies.name_of(pool, history[-1].snapshot.agency),
    )
    return JSONResponse(package)


@router.get(
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
        buyer_name=await agencies.name_of(pool, history[-1].snapshot.agency),
    )
    return JSONResponse(package)
