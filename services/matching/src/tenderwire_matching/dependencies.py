"""FastAPI dependencies of the supplier API and the portal: the matching policy and the account
use cases' settings, the supplier token that proves the caller is the supplier it names, and the
operators' token an integrator registers verified suppliers with. The pool is the shared `Pool`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from tenderwire_matching import repository, services
from tenderwire_matching.portal.domain import LinkSigner, RateLimit
from tenderwire_matching.portal.services import Accounts
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import topics
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.http import correlation_id
from tenderwire_shared.openapi import bearer_scheme


def get_policy(request: Request) -> services.Policy:
    settings: MatchingSettings = request.app.state.settings
    return services.Policy(
        suppliers_topic=settings.topic(topics.SUPPLIERS),
        matches_topic=settings.topic(topics.MATCHES),
        levels=settings.code_hierarchy_levels,
        cpv_levels=settings.cpv_levels,
        refuse_developed=settings.refuse_developed_economies,
        ldc_first=settings.ldc_first,
    )


Policy = Annotated[services.Policy, Depends(get_policy)]


def get_accounts(request: Request) -> Accounts:
    settings: MatchingSettings = request.app.state.settings
    secret = settings.portal_secret.get_secret_value()
    return Accounts(
        signer=LinkSigner(secret),
        secret=secret,
        portal_url=settings.portal_url,
        topic=settings.topic(topics.ACCOUNT_MESSAGES),
        limit=RateLimit(
            per_address=settings.portal_messages_per_address,
            per_client=settings.portal_requests_per_client,
        ),
    )


AccountSettings = Annotated[Accounts, Depends(get_accounts)]


def client_address(request: Request) -> str | None:
    """The caller's IP address, as the server saw it (behind a proxy: run uvicorn with
    --proxy-headers and --forwarded-allow-ips, or every supplier shares the proxy's limit)."""
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
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
    if credentials is None or not await repository.token_matches(
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


def operator_vouched(request: Request) -> bool:
    """True when the caller sent the operators' token, False when it sent no Authorization.

    Read by hand, not through a security scheme: the OpenAPI would then call the token
    required, and registering without one is the ordinary case."""
    header = request.headers.get("Authorization")
    if header is None:
        return False
    scheme, _, presented = header.partition(" ")
    settings: MatchingSettings = request.app.state.settings
    expected = settings.operator_token.get_secret_value() if settings.operator_token else ""
    if (
        scheme.lower() != "bearer"
        or not expected
        or not hmac.compare_digest(presented.strip().encode(), expected.encode())
    ):
        raise ApiError.one(
            status.HTTP_401_UNAUTHORIZED,
            ("header", "Authorization"),
            "this is not the operators' token: send it only to register suppliers whose"
            " contacts you verified, or send no Authorization header to register one that"
            " verifies its own",
            "unauthorized",
            {"WWW-Authenticate": "Bearer"},
        )
    return True


OperatorVouched = Annotated[bool, Depends(operator_vouched)]
