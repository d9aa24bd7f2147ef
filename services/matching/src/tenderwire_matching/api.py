"""HTTP entrypoints for suppliers."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Request, status

from tenderwire_matching import registry
from tenderwire_matching.schemas import RegisteredSupplier, SupplierRegistration, SupplierView
from tenderwire_matching.settings import MatchingSettings

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"])


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_settings(request: Request) -> MatchingSettings:
    settings: MatchingSettings = request.app.state.settings
    return settings


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Settings = Annotated[MatchingSettings, Depends(get_settings)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def register(
    registration: SupplierRegistration, pool: Pool, settings: Settings
) -> RegisteredSupplier:
    try:
        return await registry.register(
            pool, registration, refuse_developed=settings.refuse_developed_economies
        )
    except registry.IneligibleCountryError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "country"], "msg": str(exc), "type": "ineligible_country"}],
        ) from exc
    except registry.DuplicateSupplierError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get("/{supplier_id}")
async def get_supplier(
    supplier_id: str, pool: Pool, authorization: Annotated[str, Header()] = ""
) -> SupplierView:
    scheme, _, token = authorization.partition(" ")
    # The same 404 for a wrong token and an unknown id: a token never confirms an id exists.
    if scheme.lower() != "bearer" or not await registry.token_matches(pool, supplier_id, token):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no supplier {supplier_id!r} for this token"
        )
    view = await registry.get(pool, supplier_id)
    assert view is not None
    return view
