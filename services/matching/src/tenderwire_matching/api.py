"""HTTP entrypoints for suppliers: registration, and self-service with the token it returns."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from tenderwire_matching import registry, suppliers
from tenderwire_matching.schemas import (
    RegisteredSupplier,
    SupplierRegistration,
    SupplierUpdate,
    SupplierView,
)
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import topics
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.http import correlation_id
from tenderwire_shared.openapi import bearer_scheme

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_policy(request: Request) -> suppliers.Policy:
    settings: MatchingSettings = request.app.state.settings
    return suppliers.Policy(
        suppliers_topic=settings.topic(topics.SUPPLIERS),
        matches_topic=settings.topic(topics.MATCHES),
        levels=settings.code_hierarchy_levels,
        refuse_developed=settings.refuse_developed_economies,
        ldc_first=settings.ldc_first,
    )


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Policy = Annotated[suppliers.Policy, Depends(get_policy)]
CorrelationId = Annotated[str, Depends(correlation_id)]
SupplierId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]


supplier_token = bearer_scheme(
    "SupplierToken",
    "The token returned when the supplier registered",
    # One answer for no token, a wrong token and an unknown id: a token never confirms that
    # an id exists, and clients see plainly that the credential is what failed.
    {401: "No supplier token, or not this supplier's (an unknown id answers the same)"},
)


async def own_supplier(
    supplier_id: SupplierId,
    pool: Pool,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(supplier_token)],
) -> str:
    """The supplier id, once the bearer token proves the caller is that supplier."""
    if credentials is None or not await registry.token_matches(
        pool, supplier_id, credentials.credentials
    ):
        raise ApiError.one(
            status.HTTP_401_UNAUTHORIZED,
            ("header", "Authorization"),
            f"send supplier {supplier_id}'s own token as 'Authorization: Bearer <token>'",
            "unauthorized",
            {"WWW-Authenticate": "Bearer"},
        )
    return supplier_id


OwnSupplier = Annotated[str, Depends(own_supplier)]


def _conflict(exc: registry.DuplicateSupplierError) -> ApiError:
    return ApiError.one(status.HTTP_409_CONFLICT, ("body", exc.field), str(exc), "conflict")


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
        return await suppliers.register(pool, registration, policy, cid)
    except registry.IneligibleCountryError as exc:
        raise ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            ("body", "country"),
            str(exc),
            "ineligible_country",
        ) from exc
    except registry.DuplicateSupplierError as exc:
        raise _conflict(exc) from exc


@router.get("/{supplier_id}", summary="The supplier's own profile")
async def get_supplier(supplier_id: OwnSupplier, pool: Pool) -> SupplierView:
    row = await registry.row(pool, supplier_id)
    assert row is not None
    return registry.view(row)


@router.patch(
    "/{supplier_id}",
    summary="Change the profile; new codes are matched at once",
    responses={409: {"description": "Another supplier has this e-mail"}},
)
async def update_supplier(
    supplier_id: OwnSupplier, change: SupplierUpdate, pool: Pool, policy: Policy, cid: CorrelationId
) -> SupplierView:
    try:
        row = await suppliers.update(pool, supplier_id, change, policy, cid)
    except registry.DuplicateSupplierError as exc:
        raise _conflict(exc) from exc
    return registry.view(row)


@router.delete(
    "/{supplier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Deactivate: no more alerts",
)
async def deactivate_supplier(
    supplier_id: OwnSupplier, pool: Pool, policy: Policy, cid: CorrelationId
) -> Response:
    await suppliers.deactivate(pool, supplier_id, policy, cid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
