"""What the preference pages share: the signed-in supplier's profile, saving a change through
the registry's own use case (change log, supplier event and backfill, as the API does), and
reading a posted form without trusting it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from tenderwire_matching import repository, services
from tenderwire_matching.dependencies import CorrelationId, Policy
from tenderwire_matching.domain.matching import NoCodesError, UnmatchableCodesError
from tenderwire_matching.portal.web.sessions import SignedIn, SignInRequiredError, check_form_token
from tenderwire_matching.schemas import SupplierUpdate, SupplierView
from tenderwire_shared.dependencies import Pool


async def own_profile(request: Request, session: SignedIn, pool: Pool) -> SupplierView:
    row = await repository.row(pool, session.supplier_id)
    if row is None:
        raise SignInRequiredError(request.url.path)
    return repository.view(row)


Profile = Annotated[SupplierView, Depends(own_profile)]

Save = Callable[[str, SupplierUpdate], Awaitable[None]]


class ChangeRefusedError(Exception):
    """The registry refused a valid-looking change; `field` says which form field to blame."""

    def __init__(self, field: str, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.field = field
        self.reasons = reasons


def saver(pool: Pool, policy: Policy, cid: CorrelationId) -> Save:
    async def save(supplier_id: str, change: SupplierUpdate) -> None:
        try:
            await services.update(pool, supplier_id, change, policy, cid)
        except UnmatchableCodesError as exc:
            raise ChangeRefusedError("unspsc_codes", exc.reasons) from exc
        except NoCodesError as exc:
            raise ChangeRefusedError("codes", [str(exc)]) from exc

    return save


Saver = Annotated[Save, Depends(saver)]


async def posted_form(request: Request) -> FormData:
    """The form, once its token proves it came from one of the portal's own pages."""
    form = await request.form()
    check_form_token(request, text(form, "form_token"))
    return form


def text(form: FormData, name: str) -> str | None:
    """The field's one text value; None if absent, sent twice or not text (a file)."""
    values = form.getlist(name)
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    return values[0]


def texts(form: FormData, name: str) -> list[str] | None:
    """Every text value of a repeatable field (a multiple select); None if any is a file."""
    values = form.getlist(name)
    if not all(isinstance(v, str) for v in values):
        return None
    return [str(v) for v in values]


def field_errors(exc: ValidationError) -> set[str]:
    """The fields a validation error blames ("" when it blames the whole change)."""
    return {str(error["loc"][0]) if error["loc"] else "" for error in exc.errors()}
