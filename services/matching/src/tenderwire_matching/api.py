"""HTTP entrypoints for suppliers: registration, and self-service with the token it returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenderwire_matching import repository, services
from tenderwire_matching.dependencies import (
    AccountSettings,
    ClientAddress,
    CorrelationId,
    OperatorVouched,
    OwnSupplier,
    Policy,
)
from tenderwire_matching.domain.eligibility import IneligibleCountryError
from tenderwire_matching.domain.matching import NoCodesError, UnmatchableCodesError
from tenderwire_matching.portal import repository as portal_repository
from tenderwire_matching.portal import services as accounts
from tenderwire_matching.portal.domain import Action
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


def _rate_limited(exc: accounts.RateLimitedError) -> ApiError:
    return ApiError.one(
        status.HTTP_429_TOO_MANY_REQUESTS,
        ("body", "email"),
        "too many verification messages to this address or from this client; nothing was"
        f" registered or sent: try again in {exc.retry_after_s} s",
        "rate_limited",
        {"Retry-After": str(exc.retry_after_s)},
    )


async def _registration_conflict(
    pool: Pool, exc: repository.DuplicateSupplierError, email: str, settings: accounts.Accounts
) -> ApiError:
    if exc.field == "email":
        existing = await portal_repository.supplier_by_email(pool, email)
        if existing is not None and not existing["active"]:
            # A dead end would leave the supplier no way back: the portal's e-mail link is one.
            return ApiError.one(
                status.HTTP_409_CONFLICT,
                ("body", "email"),
                "a deactivated supplier is registered with this e-mail: to reactivate it, ask"
                f" for a sign-in link at {settings.portal_url}/sign-in and open it",
                "conflict",
            )
    return _conflict(exc)


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
    description=(
        "Registered by the supplier itself (no Authorization header), its e-mail address and"
        " phone are unverified, and get no alert, until it opens the link e-mailed to it and"
        " types the code texted to it. An integrator that verified them itself (e.g. a UNGM"
        " import) sends the operators' token (TW_OPERATOR_TOKEN) as `Authorization: Bearer"
        " <token>`, and the supplier is registered verified."
    ),
    responses={
        401: {"description": "An Authorization header that is not the operators' token"},
        409: {"description": "Already registered (same name and country, or e-mail)"},
        429: {"description": "Too many verification messages to this address or from here"},
    },
)
async def register(
    registration: SupplierRegistration,
    pool: Pool,
    policy: Policy,
    cid: CorrelationId,
    vouched: OperatorVouched,
    account_settings: AccountSettings,
    client: ClientAddress,
) -> RegisteredSupplier:
    try:
        if vouched:
            return await services.register(pool, registration, policy, cid, verified=True)
        return await services.register(
            pool,
            registration,
            policy,
            cid,
            verified=False,
            contacts_changed=accounts.verifications(
                account_settings, client=client, correlation_id=cid, action=Action.REGISTER
            ),
        )
    except accounts.RateLimitedError as exc:
        raise _rate_limited(exc) from exc
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
        raise await _registration_conflict(
            pool, exc, str(registration.email), account_settings
        ) from exc


@router.get("/{supplier_id}", summary="The supplier's own profile")
async def get_supplier(supplier_id: OwnSupplier, pool: Pool) -> SupplierView:
    row = await repository.row(pool, supplier_id)
    assert row is not None
    return repository.view(row)


@router.patch(
    "/{supplier_id}",
    summary="Change the profile; new codes are matched at once",
    description=(
        "A new e-mail address or phone is unverified, and gets no alert, until the supplier"
        " opens the link e-mailed to it or types the code texted to it."
    ),
    responses={
        409: {"description": "Another supplier has this e-mail"},
        429: {"description": "Too many verification messages to this address or from here"},
    },
)
async def update_supplier(
    supplier_id: OwnSupplier,
    change: SupplierUpdate,
    pool: Pool,
    policy: Policy,
    cid: CorrelationId,
    account_settings: AccountSettings,
    client: ClientAddress,
) -> SupplierView:
    try:
        row = await services.update(
            pool,
            supplier_id,
            change,
            policy,
            cid,
            contacts_changed=accounts.verifications(
                account_settings, client=client, correlation_id=cid, action=Action.RESEND
            ),
        )
    except accounts.RateLimitedError as exc:
        raise _rate_limited(exc) from exc
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
    summary="Deactivate (no more alerts), or with erase=true delete the account",
    description=(
        "Deactivated, the supplier can come back: the portal's sign-in link reactivates it."
        " Erased, its name, e-mail addresses, phone, tokens and sessions are gone for good;"
        " its id, country, codes and the record of alerts sent stay, naming no contact."
    ),
)
async def deactivate_supplier(
    supplier_id: OwnSupplier,
    pool: Pool,
    policy: Policy,
    cid: CorrelationId,
    account_settings: AccountSettings,
    erase: Annotated[
        bool, Query(description="Delete the account and its contact details, not only stop")
    ] = False,
) -> Response:
    if erase:
        await accounts.delete_account(pool, account_settings, policy, supplier_id, cid)
    else:
        await services.deactivate(pool, supplier_id, policy, cid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
