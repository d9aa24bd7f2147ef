"""The code picker, `/portal/codes`: the supplier's codes (each with a button to remove it), a
search by words or by a code's first digits, and the hierarchy one level at a time, each code
with a button to add it. No script: searching and browsing are GET links and forms, adding and
removing small POST forms with the form token, saved through `services.update`.

A code is shown with the title notices or the operator's licensed list gave it
(`portal.catalogue`), else as its number and level: "UNSPSC class 421316".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from tenderwire_matching.domain.matching import why_code_never_matches
from tenderwire_matching.portal.catalogue.domain import (
    MAX_QUERY,
    Scheme,
    ancestors,
    normalise,
    read_query,
)
from tenderwire_matching.portal.catalogue.services import Catalogue, CodeEntry
from tenderwire_matching.portal.web.profile import (
    ChangeRefusedError,
    Profile,
    Saver,
    posted_form,
    text,
)
from tenderwire_matching.portal.web.rendering import MESSAGES, page, page_language
from tenderwire_matching.schemas import SupplierUpdate, SupplierView
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.i18n import N_, Gettext

router = APIRouter(prefix="/portal", include_in_schema=False)

MAX_CODES = 500

# A code with no known title: its scheme, level and significant digits.
LEVEL_LABELS = {
    (Scheme.UNSPSC, "segment"): N_("UNSPSC segment %(code)s"),
    (Scheme.UNSPSC, "family"): N_("UNSPSC family %(code)s"),
    (Scheme.UNSPSC, "class"): N_("UNSPSC class %(code)s"),
    (Scheme.UNSPSC, "commodity"): N_("UNSPSC commodity %(code)s"),
    (Scheme.CPV, "division"): N_("CPV division %(code)s"),
    (Scheme.CPV, "group"): N_("CPV group %(code)s"),
    (Scheme.CPV, "class"): N_("CPV class %(code)s"),
    (Scheme.CPV, "category"): N_("CPV category %(code)s"),
    (Scheme.CPV, "subcategory"): N_("CPV subcategory %(code)s"),
}

PROBLEMS = {
    "code": N_(
        "That is not a code of this scheme. UNSPSC codes have 8 digits, CPV codes 8"
        " digits and an optional check digit."
    ),
    "level": N_(
        "This code is too general to match any tender. Choose a code further down, a class or"
        " a commodity."
    ),
    "last": N_("Keep at least one code: add another one before you remove this one."),
    "last_unspsc": N_(
        "Your UNSPSC codes cannot all be removed here yet: keep one, or add another first."
    ),
    "too_many": N_("You can hold at most 500 codes of each scheme. Remove some first."),
}


def get_catalogue(pool: Pool) -> Catalogue:
    return Catalogue(pool)


CatalogueReader = Annotated[Catalogue, Depends(get_catalogue)]


@dataclass(frozen=True)
class ShownCode:
    scheme: str
    code: str
    label: str
    fallback: bool
    title_language: str | None
    addable: bool
    held: bool
    deeper: bool


def shown(entry: CodeEntry, words: Gettext, levels: int, held: set[tuple[str, str]]) -> ShownCode:
    fallback = entry.title is None
    label = entry.title or words.gettext(LEVEL_LABELS[(entry.scheme, entry.level)]) % {
        "code": entry.digits
    }
    addable = entry.scheme is Scheme.CPV or why_code_never_matches(entry.code, levels) is None
    return ShownCode(
        entry.scheme.value,
        entry.code,
        label,
        fallback,
        entry.title_language,
        addable,
        (entry.scheme.value, entry.code) in held,
        entry.level != "commodity" and len(entry.digits) < 8,
    )


def _held(profile: SupplierView) -> set[tuple[str, str]]:
    return {("unspsc", c) for c in profile.unspsc_codes} | {("cpv", c) for c in profile.cpv_codes}


async def describe_codes(
    catalogue: Catalogue, profile: SupplierView, language: str, levels: int = 1
) -> list[ShownCode]:
    """The supplier's own codes, UNSPSC first, with their titles."""
    words = MESSAGES(language)
    held = _held(profile)
    found = [
        *await catalogue.describe(Scheme.UNSPSC, profile.unspsc_codes, language),
        *await catalogue.describe(Scheme.CPV, profile.cpv_codes, language),
    ]
    return [shown(e, words, levels, held) for e in found]


def _levels(request: Request) -> int:
    settings: MatchingSettings = request.app.state.settings
    return settings.code_hierarchy_levels


def _scheme(value: str | None) -> Scheme:
    return Scheme.CPV if value == "cpv" else Scheme.UNSPSC


def _node(scheme: Scheme, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise(scheme, value)
    except ValueError:
        return None


async def render(
    request: Request,
    profile: SupplierView,
    catalogue: Catalogue,
    *,
    scheme: Scheme,
    q: str,
    under: str | None,
    problem: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    language = page_language(request, profile.language)
    words = MESSAGES(language)
    levels = _levels(request)
    held = _held(profile)
    query = read_query(q)
    results: list[ShownCode] = []
    if query is not None:
        found = await catalogue.search(scheme, query, language)
        typed = _node(scheme, q.strip())
        if typed is not None and typed not in [e.code for e in found]:
            found = [*await catalogue.describe(scheme, [typed], language), *found]
        results = [shown(e, words, levels, held) for e in found]
    trail = [*reversed(ancestors(scheme, under)), under] if under else []
    path = [
        shown(e, words, levels, held) for e in await catalogue.describe(scheme, trail, language)
    ]
    below = [shown(e, words, levels, held) for e in await catalogue.below(scheme, under, language)]
    return page(
        request,
        "codes.html",
        language=language,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if problem else status.HTTP_200_OK,
        scheme=scheme.value,
        q=q,
        under=under or "",
        searched=query is not None,
        results=results,
        trail=path,
        below=below,
        mine=await describe_codes(catalogue, profile, language, levels),
        problem=words.gettext(PROBLEMS[problem]) if problem else None,
        done=done,
    )


@router.api_route("/codes", methods=["GET", "HEAD"])
async def codes(
    request: Request,
    profile: Profile,
    catalogue: CatalogueReader,
    scheme: str | None = None,
    q: str = "",
    under: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    # Whatever the address holds, the page answers: a query is cut to what a search reads,
    # and what is no code of the scheme is no place in the hierarchy.
    chosen = _scheme(scheme)
    q = q[:MAX_QUERY]
    return await render(
        request,
        profile,
        catalogue,
        scheme=chosen,
        q=q if q.isprintable() else "",
        under=_node(chosen, under),
        done=done if done in ("added", "removed") else None,
    )


def _back(scheme: Scheme, q: str, under: str | None, done: str) -> RedirectResponse:
    query: dict[str, Any] = {"scheme": scheme.value, "done": done}
    if q:
        query["q"] = q
    if under:
        query["under"] = under
    return RedirectResponse(
        f"/portal/codes?{urlencode(query)}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.post("/codes/{action}")
async def change_codes(
    request: Request,
    action: str,
    profile: Profile,
    catalogue: CatalogueReader,
    save: Saver,
) -> Response:
    form = await posted_form(request)
    scheme = _scheme(text(form, "scheme"))
    q = (text(form, "q") or "")[:MAX_QUERY]
    q = q if q.isprintable() else ""
    under = _node(scheme, text(form, "under"))
    code = _node(scheme, text(form, "code"))
    if action not in ("add", "remove"):
        return _back(scheme, q, under, "")
    current = list(profile.unspsc_codes if scheme is Scheme.UNSPSC else profile.cpv_codes)
    problem: str | None = None
    if code is None:
        problem = "code"
    elif action == "add":
        if scheme is Scheme.UNSPSC and why_code_never_matches(code, _levels(request)):
            problem = "level"
        elif code not in current and len(current) >= MAX_CODES:
            problem = "too_many"
        wanted = current if code in current else [*current, code]
    else:
        wanted = [c for c in current if c != code]
        others = profile.cpv_codes if scheme is Scheme.UNSPSC else profile.unspsc_codes
        if not wanted and not others:
            problem = "last"
        elif not wanted and scheme is Scheme.UNSPSC:
            # SupplierUpdate keeps at least one UNSPSC code once a supplier has some.
            problem = "last_unspsc"
    if problem is None and code is not None:
        field = "unspsc_codes" if scheme is Scheme.UNSPSC else "cpv_codes"
        try:
            await save(profile.id, SupplierUpdate.model_validate({field: wanted}))
        except ValidationError:
            problem = "code"
        except ChangeRefusedError as exc:
            problem = "level" if exc.field == "unspsc_codes" else "last"
        else:
            return _back(scheme, q, under, "added" if action == "add" else "removed")
    return await render(
        request, profile, catalogue, scheme=scheme, q=q, under=under, problem=problem
    )
