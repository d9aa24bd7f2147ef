"""HTTP entrypoints for suppliers: registration, and self-service with the token it returns."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from tenderwire_matching import repository, services
from tenderwire_matching.dependencies import CorrelationId, OwnSupplier, Policy
from tenderwire_matching.domain.eligibility import IneligibleCountryError
from tenderwire_matching.domain.matching import NoCodesError, UnmatchableCodesError
from tenderwire_matching.schemas import (
    RegisteredSupplier,
    SupplierRegistration,
    SupplierUpdate,
    SupplierView,
)
from tenderwire_shared.api_errors import ApiError, FieldError
from tenderwire_shared.dependencies import Pool

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])

# A few examples tell the caller what is wrong; 500 of them would only be long.
_MAX_CODE_ERRORS = 10


def _conflict(exc: repository.DuplicateSupplierError) -> ApiError:
    return ApiError.one(status.HTTP_409_CONFLICT, ("body", exc.field), str(exc), "conflict")


def _unmatchable(exc: UnmatchableCodesError) -> ApiError:
    # No index in `loc`: the list was deduplicated, so positions may not be the caller's;
    # each message names its code.
    return ApiError(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [
            FieldError(("body", "unspsc_codes"), reason, "unspsc_level_never_matches")
            for reason in exc.reasons[:_MAX_CODE_ERRORS]
        ],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a supplier",
    responses={409: {"description": "Already registered (same name and country, or e-mail)"}},
)
async def register(
    registration: SupplierRegistration, pool: Pool, policy: Policy, cid: CorrelationId
) -> RegisteredSupplier:
    try:
        return await services.register(pool, registration, policy, cid)
    except UnmatchableCodesError as exc:
        raise _unmatchable(exc) from exc
    except IneligibleCountryError as exc:
        raise ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            ("body", "country"),
            str(exc),
            "ineligible_country",
        ) from exc
    except repository.DuplicateSupplierError as exc:
        raise _conflict(exc) from exc


@router.get("/{supplier_id}", summary="The supplier's own profile")
async def get_supplier(supplier_id: OwnSupplier, pool: Pool) -> SupplierView:
    row = await repository.row(pool, supplier_id)
    assert row is not None
    return repository.view(row)


@router.patch(
    "/{supplier_id}",
    summary="Change the profile; new codes are matched at once",
    responses={409: {"description": "Another supplier has this e-mail"}},
)
async def update_supplier(
    supplier_id: OwnSupplier, change: SupplierUpdate, pool: Pool, policy: Policy, cid: CorrelationId
) -> SupplierView:
    try:
        row = await services.update(pool, supplier_id, change, policy, cid)
    except UnmatchableCodesError as exc:
        raise _unmatchable(exc) from exc
    except NoCodesError as exc:
        raise ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT, ("body", "cpv_codes"), str(exc), "no_codes"
        ) from exc
    except repository.DuplicateSupplierError as exc:
        raise _conflict(exc) from exc
    return repository.view(row)


@router.delete(
    "/{supplier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Deactivate: no more alerts",
)
async def deactivate_supplier(
    supplier_id: OwnSupplier, pool: Pool, policy: Policy, cid: CorrelationId
) -> Response:
    await services.deactivate(pool, supplier_id, policy, cid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
