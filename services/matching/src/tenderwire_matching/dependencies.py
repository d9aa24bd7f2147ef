"""FastAPI dependencies of the supplier API: the matching policy from settings, and the supplier
token that proves the caller is the supplier it names. The pool is the shared `Pool`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from tenderwire_matching import repository, services
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
