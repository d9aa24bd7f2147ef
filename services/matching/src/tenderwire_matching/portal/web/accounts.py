"""The account pages: register, confirm an address or phone, sign in by e-mail link (and
reactivate), sign out, the account's contacts and API tokens, follow a tender, and leave.

A link's page shows a button and only its POST acts: mail scanners open links. Every POST
checks the form token (`sessions.check_form_token`). Whatever is refused is answered with a
page in the reader's language and a 4xx, never a stack trace: forms are read here, not by
FastAPI's parameter validation, so a hostile field gets a sentence, not a JSON error.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenderwire_matching import repository as registry
from tenderwire_matching.dependencies import (
    AccountSettings,
    ClientAddress,
    CorrelationId,
    Policy,
)
from tenderwire_matching.domain.eligibility import IneligibleCountryError, classify
from tenderwire_matching.domain.matching import UnmatchableCodesError
from tenderwire_matching.portal import repository
from tenderwire_matching.portal import services as accounts
from tenderwire_matching.portal.domain import MAX_CONTACTS, LinkPurpose, safe_next
from tenderwire_matching.portal.web.choices import Choice, countries
from tenderwire_matching.portal.web.rendering import page, page_language
from tenderwire_matching.portal.web.sessions import (
    COOKIE_PATH,
    CSRF_FIELD,
    SESSION_COOKIE,
    MaybeSignedIn,
    Session,
    SignedIn,
    check_form_token,
    end_session,
    start_session,
)
from tenderwire_matching.schemas import SupplierRegistration
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.i18n import LANGUAGES, N_
from tenderwire_shared.text import check_line

router = APIRouter(prefix="/portal", include_in_schema=False)

LANGUAGE_NAMES = {
    "ar": "العربية",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "pt": "Português",
    "ru": "Русский",
    "zh": "中文",
}

_MAX_FIELD = 5000
# Ids in paths are checked here rather than by FastAPI, whose refusal would be JSON.
_TENDER_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_ROW_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_email = TypeAdapter(EmailStr)

FIELD_PROBLEMS = {
    "legal_name": N_("Enter your company's legal name as plain text, at most 300 characters."),
    "country": N_(
        "Choose your country of registration. Tenderwire serves suppliers in developing and"
        " transition economies."
    ),
    "email": N_("Enter a valid e-mail address, e.g. bids@example.org."),
    "address": N_("Enter a valid e-mail address, e.g. bids@example.org."),
    "phone": N_("Enter a mobile number with its country code, e.g. +221 77 123 45 67."),
    "language": N_("Choose one of the languages in the list."),
    "unspsc_codes": N_(
        "Enter UNSPSC codes of eight digits at commodity or class level, separated by spaces"
        " or commas, e.g. 42131606; or CPV codes below."
    ),
    "cpv_codes": N_("Enter CPV codes of eight digits, separated by spaces or commas."),
    "label": N_("Describe the token in 1 to 60 characters of plain text."),
}
DUPLICATE_NAME = N_(
    "A supplier with this legal name is already registered in this country. Sign in with its"
    " e-mail address to manage it."
)
EMAIL_TAKEN = N_("Another supplier is registered with this e-mail address.")

NOTICES = {
    "email_changed": N_("We sent a confirmation link to your new address."),
    "resent": N_("We sent the confirmation link again."),
    "phone_removed": N_("The mobile number was removed."),
    "phone_code_sent": N_("We texted you a new code."),
    "phone_verified": N_("Your mobile number is confirmed."),
    "code_void": N_("That code no longer works. Ask for a new one."),
    "contact_sent": N_("We sent a confirmation link to the new address."),
    "contact_exists": N_(
        "This address already receives the alerts, or is waiting for confirmation."
    ),
    "contact_removed": N_("The address was removed."),
    "token_revoked": N_("The token was revoked: it no longer works."),
    "too_many_tokens": N_("You have ten tokens already. Revoke one to make another."),
    "followed": N_("You follow this tender."),
    "unfollowed": N_("You no longer follow this tender."),
}


class BadFormError(Exception):
    """A form that is not one: too big, too many fields, not form-encoded, or unreadable."""


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (the first of each name), after its form token is checked."""
    try:
        form: FormData = await request.form(max_files=0, max_fields=40)
    except (StarletteHTTPException, ValueError, UnicodeError) as exc:
        raise BadFormError(str(exc)) from exc
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise BadFormError(name)
        values.setdefault(name, value)
    check_form_token(request, values.get(CSRF_FIELD))
    return values


def _line(value: str | None, limit: int = _MAX_FIELD) -> str | None:
    """A single line of plain text, or None: too long (measured before anything else is
    read), or with markup, control characters (NUL too) or bidirectional overrides."""
    if value is None or len(value) > limit + 100:
        return None
    value = value.strip()
    if len(value) > limit:
        return None
    try:
        return check_line(value)
    except ValueError:
        return None


def _address(value: str | None) -> str | None:
    line = _line(value, 320)
    if not line:
        return None
    try:
        return str(_email.validate_python(line))
    except ValidationError:
        return None


def _codes(value: str) -> list[str] | None:
    codes = [c for c in re.split(r"[\s,;]+", value) if c]
    return codes or None


def _message(
    request: Request,
    language: str,
    heading: str,
    explanation: str,
    *,
    status_code: int = 200,
    next_href: str | None = None,
    next_label: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        "message.html",
        language=language,
        status_code=status_code,
        heading=heading,
        explanation=explanation,
        next_href=next_href,
        next_label=next_label,
    )


def _link_invalid(request: Request, language: str) -> HTMLResponse:
    return _message(
        request,
        language,
        N_("This link does not work"),
        N_(
            "It may have expired or been used already, or it was copied incompletely. Ask for"
            " a new one: sign in, or register again with the same address."
        ),
        status_code=status.HTTP_400_BAD_REQUEST,
        next_href=f"{_base(request)}/sign-in",
        next_label=N_("Sign in"),
    )


def bad_form(request: Request) -> HTMLResponse:
    return _message(
        request,
        page_language(request),
        N_("This form could not be read"),
        N_("Nothing was changed. Go back, reload the page and send the form again."),
        status_code=status.HTTP_400_BAD_REQUEST,
    )


def rate_limited(request: Request, exc: accounts.RateLimitedError) -> HTMLResponse:
    response = page(
        request,
        "rate_limited.html",
        language=page_language(request),
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        minutes=max(1, -(-exc.retry_after_s // 60)),
    )
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _base(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root + "/portal"


def _redirect(request: Request, path: str, notice: str | None = None) -> RedirectResponse:
    query = f"?notice={notice}" if notice else ""
    return RedirectResponse(f"{_base(request)}{path}{query}", status_code=303)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


# Registration.


def eligible_countries(language: str) -> list[Choice]:
    """The countries a supplier may register in, named in `language`: a list to choose from
    rather than a name to type, which would have to be typed as pycountry spells it."""
    return [c for c in countries(language) if classify(c.value).eligible]


def _registration_page(
    request: Request,
    language: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "register.html",
        language=language,
        status_code=status_code,
        values=values,
        errors=errors,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        countries=eligible_countries(language),
    )


@router.get("/register")
async def register_form(request: Request, session: MaybeSignedIn) -> Response:
    if session is not None:
        return _redirect(request, "/account")
    return _registration_page(request, page_language(request), {}, {})


def _problems(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in exc.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "unspsc_codes"
        errors.setdefault(field if field in FIELD_PROBLEMS else "unspsc_codes", "")
    return {field: FIELD_PROBLEMS[field] for field in errors}


@router.post("/register")
async def register(
    request: Request,
    pool: Pool,
    policy: Policy,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    language = page_language(request)
    fields = ("legal_name", "country", "email", "phone", "language", "unspsc_codes", "cpv_codes")
    values = {name: (_line(form.get(name)) or "") for name in fields}
    broken = {
        name: FIELD_PROBLEMS[name]
        for name in fields
        if form.get(name) is not None and _line(form.get(name)) is None
    }
    if broken:
        return _registration_page(request, language, values, broken, 422)
    chosen = values["language"] if values["language"] in LANGUAGES else language
    try:
        registration = SupplierRegistration.model_validate(
            {
                "legal_name": values["legal_name"],
                "country": values["country"],
                "email": values["email"],
                "phone": values["phone"] or None,
                "language": chosen,
                "unspsc_codes": _codes(values["unspsc_codes"]),
                "cpv_codes": _codes(values["cpv_codes"]),
            }
        )
    except ValidationError as exc:
        return _registration_page(request, chosen, values, _problems(exc), 422)
    try:
        await accounts.register(
            pool, settings, policy, registration, client=client, correlation_id=cid
        )
    except UnmatchableCodesError:
        return _registration_page(
            request, chosen, values, {"unspsc_codes": FIELD_PROBLEMS["unspsc_codes"]}, 422
        )
    except IneligibleCountryError:
        return _registration_page(
            request, chosen, values, {"country": FIELD_PROBLEMS["country"]}, 422
        )
    except registry.DuplicateSupplierError:
        return _registration_page(request, chosen, values, {"legal_name": DUPLICATE_NAME}, 409)
    return page(request, "check_inbox.html", language=chosen, address=str(registration.email))


@router.post("/register/resend")
async def resend(
    request: Request,
    pool: Pool,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    language = page_language(request)
    address = _address(form.get("email"))
    if address is None:
        return _registration_page(request, language, {}, {"email": FIELD_PROBLEMS["email"]}, 422)
    await accounts.resend_for(pool, settings, address, client, cid)
    return page(request, "check_inbox.html", language=language, address=address)


# Confirming an address.


async def _link_page(
    request: Request,
    pool: Pool,
    settings: accounts.Accounts,
    purpose: LinkPurpose,
    action: str,
    heading: str,
    explanation: str,
    button: str,
) -> HTMLResponse:
    token = request.query_params.get("token")
    link = await accounts.peek(pool, settings, purpose, token)
    if link is None:
        return _link_invalid(request, page_language(request))
    return page(
        request,
        "link_page.html",
        language=page_language(request, link.supplier["language"]),
        heading=heading,
        explanation=explanation,
        button=button,
        action=f"{_base(request)}/{action}",
        token=token,
        address=link.address,
        next_path=None,
        reactivate=False,
    )


@router.get("/verify-email")
async def verify_email_page(request: Request, pool: Pool, settings: AccountSettings) -> Response:
    return await _link_page(
        request,
        pool,
        settings,
        LinkPurpose.VERIFY_EMAIL,
        "verify-email",
        N_("Confirm your e-mail address"),
        N_("Press the button to confirm that this address is yours and may receive alerts."),
        N_("Confirm the address"),
    )


@router.post("/verify-email")
async def verify_email(
    request: Request, pool: Pool, policy: Policy, settings: AccountSettings, cid: CorrelationId
) -> Response:
    form = await read_form(request)
    supplier_id = await accounts.verify_email(pool, settings, policy, form.get("token"), cid)
    if supplier_id is None:
        return _link_invalid(request, page_language(request))
    supplier = await repository.supplier(pool, supplier_id)
    language = page_language(request, supplier["language"] if supplier else None)
    return _message(
        request,
        language,
        N_("Your address is confirmed"),
        N_("Alerts about tenders that match your codes will now reach it."),
        next_href=f"{_base(request)}/sign-in",
        next_label=N_("Sign in"),
    )


@router.get("/verify-contact")
async def verify_contact_page(request: Request, pool: Pool, settings: AccountSettings) -> Response:
    return await _link_page(
        request,
        pool,
        settings,
        LinkPurpose.VERIFY_CONTACT,
        "verify-contact",
        N_("Confirm this e-mail address"),
        N_(
            "A supplier asked for its tender alerts to reach this address too. Press the"
            " button if you agree."
        ),
        N_("Confirm the address"),
    )


@router.post("/verify-contact")
async def verify_contact(
    request: Request, pool: Pool, policy: Policy, settings: AccountSettings, cid: CorrelationId
) -> Response:
    form = await read_form(request)
    address = await accounts.verify_contact(pool, settings, policy, form.get("token"), cid)
    if address is None:
        return _link_invalid(request, page_language(request))
    return _message(
        request,
        page_language(request),
        N_("The address is confirmed"),
        N_("It will receive the e-mail alerts too."),
    )


# Signing in and out.


@router.get("/sign-in")
async def sign_in_form(request: Request, session: MaybeSignedIn) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if session is not None:
        return RedirectResponse(next_path, status_code=303)
    return page(
        request,
        "sign_in.html",
        language=page_language(request),
        next_path=next_path,
        email="",
        errors={},
    )


@router.post("/sign-in")
async def request_sign_in(
    request: Request,
    pool: Pool,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    language = page_language(request)
    next_path = safe_next(form.get("next"))
    address = _address(form.get("email"))
    if address is None:
        return page(
            request,
            "sign_in.html",
            language=language,
            status_code=422,
            next_path=next_path,
            email=_line(form.get("email"), 320) or "",
            errors={"email": FIELD_PROBLEMS["email"]},
        )
    await accounts.request_sign_in(
        pool, settings, address, next_path, client=client, correlation_id=cid
    )
    return page(request, "sign_in_sent.html", language=language)


@router.get("/sign-in/link")
async def sign_in_link_page(request: Request, pool: Pool, settings: AccountSettings) -> Response:
    token = request.query_params.get("token")
    link = await accounts.peek(pool, settings, LinkPurpose.SIGN_IN, token)
    if link is None:
        return _link_invalid(request, page_language(request))
    deactivated = not link.supplier["active"]
    return page(
        request,
        "link_page.html",
        language=page_language(request, link.supplier["language"]),
        heading=N_("Welcome back") if deactivated else N_("Sign in"),
        explanation=(
            N_(
                "Your account was deactivated, so no alerts were sent. Press the button to"
                " reactivate it and sign in: alerts start again at once."
            )
            if deactivated
            else N_("Press the button to sign in.")
        ),
        button=N_("Reactivate and sign in") if deactivated else N_("Sign in"),
        action=f"{_base(request)}/sign-in/link",
        token=token,
        address=None,
        next_path=safe_next(request.query_params.get("next")),
        reactivate=deactivated,
    )


@router.post("/sign-in/link")
async def sign_in_by_link(
    request: Request, pool: Pool, policy: Policy, settings: AccountSettings, cid: CorrelationId
) -> Response:
    form = await read_form(request)
    outcome, supplier_id = await accounts.use_sign_in_link(
        pool,
        settings,
        policy,
        form.get("token"),
        reactivate=form.get("reactivate") == "yes",
        correlation_id=cid,
    )
    if outcome is accounts.SignIn.INVALID or supplier_id is None:
        return _link_invalid(request, page_language(request))
    if outcome is accounts.SignIn.REACTIVATE_FIRST:
        # The supplier was deactivated after this page was shown: ask again, plainly.
        return RedirectResponse(
            f"{_base(request)}/sign-in/link?token={form.get('token', '')}", status_code=303
        )
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    await start_session(pool, response, request, supplier_id)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, pool: Pool, session: MaybeSignedIn) -> Response:
    await read_form(request)
    response = _redirect(request, "/")
    if session is not None:
        await end_session(pool, response, session)
    return response


# The account.


async def _account_page(
    request: Request,
    pool: Pool,
    session: Session,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    supplier = await repository.supplier(pool, session.supplier_id)
    return page(
        request,
        "account.html",
        language=page_language(request, session.language),
        status_code=status_code,
        supplier=supplier,
        notice=_notice(request),
        errors=errors or {},
    )


@router.get("/account")
async def account(request: Request, pool: Pool, session: SignedIn) -> Response:
    return await _account_page(request, pool, session)


@router.post("/account/resend")
async def resend_own(
    request: Request,
    pool: Pool,
    session: SignedIn,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    await read_form(request)
    await accounts.resend_verification(pool, settings, session.supplier_id, client, cid)
    return _redirect(request, "/account", "resent")


@router.post("/account/email")
async def change_email(
    request: Request,
    pool: Pool,
    policy: Policy,
    session: SignedIn,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    address = _address(form.get("email"))
    if address is None:
        return await _account_page(request, pool, session, {"email": FIELD_PROBLEMS["email"]}, 422)
    try:
        await accounts.change_email(
            pool, settings, policy, session.supplier_id, address, client=client, correlation_id=cid
        )
    except registry.DuplicateSupplierError:
        return await _account_page(request, pool, session, {"email": EMAIL_TAKEN}, 409)
    return _redirect(request, "/account", "email_changed")


@router.post("/account/phone")
async def change_phone(
    request: Request,
    pool: Pool,
    policy: Policy,
    session: SignedIn,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    typed = _line(form.get("phone"), 40)
    if typed is None:
        return await _account_page(request, pool, session, {"phone": FIELD_PROBLEMS["phone"]}, 422)
    try:
        await accounts.change_phone(
            pool,
            settings,
            policy,
            session.supplier_id,
            typed or None,
            client=client,
            correlation_id=cid,
        )
    except ValidationError:
        return await _account_page(request, pool, session, {"phone": FIELD_PROBLEMS["phone"]}, 422)
    if not typed:
        return _redirect(request, "/account", "phone_removed")
    return _redirect(request, "/verify-phone")


async def _phone_page(
    request: Request,
    pool: Pool,
    session: Session,
    *,
    wrong: bool = False,
    tries_left: int = 0,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    supplier = await repository.supplier(pool, session.supplier_id)
    waiting = supplier is not None and supplier["phone"] and not supplier["phone_verified_at"]
    return page(
        request,
        "verify_phone.html",
        language=page_language(request, session.language),
        status_code=status_code,
        phone=supplier["phone"] if waiting and supplier else None,
        wrong=wrong,
        tries_left=tries_left,
        notice=notice or _notice(request),
    )


@router.get("/verify-phone")
async def verify_phone_page(request: Request, pool: Pool, session: SignedIn) -> Response:
    return await _phone_page(request, pool, session)


@router.post("/verify-phone")
async def verify_phone(
    request: Request,
    pool: Pool,
    policy: Policy,
    session: SignedIn,
    settings: AccountSettings,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    outcome, left = await accounts.check_phone_code(
        pool, settings, policy, session.supplier_id, form.get("code"), cid
    )
    if outcome is accounts.CodeCheck.VERIFIED:
        return _redirect(request, "/account", "phone_verified")
    if outcome is accounts.CodeCheck.WRONG:
        return await _phone_page(
            request, pool, session, wrong=True, tries_left=left, status_code=422
        )
    return await _phone_page(request, pool, session, notice=NOTICES["code_void"], status_code=422)


@router.post("/verify-phone/resend")
async def resend_phone_code(
    request: Request,
    pool: Pool,
    session: SignedIn,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    await read_form(request)
    await accounts.resend_phone_code(
        pool, settings, session.supplier_id, client=client, correlation_id=cid
    )
    return _redirect(request, "/verify-phone", "phone_code_sent")


# Further contacts.


async def _contacts_page(
    request: Request,
    pool: Pool,
    session: Session,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "contacts.html",
        language=page_language(request, session.language),
        status_code=status_code,
        contacts=await repository.contacts(pool, session.supplier_id),
        max_contacts=MAX_CONTACTS,
        notice=_notice(request),
        errors=errors or {},
    )


@router.get("/contacts")
async def contacts(request: Request, pool: Pool, session: SignedIn) -> Response:
    return await _contacts_page(request, pool, session)


@router.post("/contacts")
async def add_contact(
    request: Request,
    pool: Pool,
    session: SignedIn,
    settings: AccountSettings,
    client: ClientAddress,
    cid: CorrelationId,
) -> Response:
    form = await read_form(request)
    address = _address(form.get("address"))
    if address is None:
        return await _contacts_page(
            request, pool, session, {"address": FIELD_PROBLEMS["address"]}, 422
        )
    outcome = await accounts.add_contact(
        pool, settings, session.supplier_id, address, client=client, correlation_id=cid
    )
    if outcome is accounts.ContactAdded.ALREADY:
        return _redirect(request, "/contacts", "contact_exists")
    return _redirect(request, "/contacts", "contact_sent")


@router.post("/contacts/{contact_id}/remove")
async def remove_contact(
    request: Request,
    contact_id: str,
    pool: Pool,
    policy: Policy,
    session: SignedIn,
    cid: CorrelationId,
) -> Response:
    await read_form(request)
    if _ROW_ID.fullmatch(contact_id):
        await accounts.remove_contact(pool, policy, session.supplier_id, contact_id, cid)
    return _redirect(request, "/contacts", "contact_removed")


# API tokens.


async def _tokens_page(
    request: Request,
    pool: Pool,
    session: Session,
    *,
    new_token: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "tokens.html",
        language=page_language(request, session.language),
        status_code=status_code,
        tokens=await repository.tokens(pool, session.supplier_id),
        new_token=new_token,
        notice=notice or _notice(request),
        errors=errors or {},
    )


@router.get("/tokens")
async def tokens(request: Request, pool: Pool, session: SignedIn) -> Response:
    return await _tokens_page(request, pool, session)


@router.post("/tokens")
async def make_token(request: Request, pool: Pool, session: SignedIn) -> Response:
    form = await read_form(request)
    label = _line(form.get("label"), 60)
    if not label:
        return await _tokens_page(
            request, pool, session, errors={"label": FIELD_PROBLEMS["label"]}, status_code=422
        )
    try:
        token = await accounts.make_token(pool, session.supplier_id, label)
    except accounts.TooManyTokensError:
        return await _tokens_page(
            request, pool, session, notice=NOTICES["too_many_tokens"], status_code=409
        )
    # Shown in this answer only; the page is never cached (rendering's Cache-Control).
    return await _tokens_page(request, pool, session, new_token=token)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request,
    token_id: str,
    pool: Pool,
    session: SignedIn,
) -> Response:
    await read_form(request)
    if _ROW_ID.fullmatch(token_id):
        await repository.revoke_token(pool, session.supplier_id, token_id)
    return _redirect(request, "/tokens", "token_revoked")


# Following a tender.


@router.get("/follow/{tender_id:path}")
async def follow_page(
    request: Request,
    tender_id: str,
    pool: Pool,
    session: MaybeSignedIn,
) -> Response:
    language = page_language(request, session.language if session else None)
    found = await accounts.tender(pool, tender_id) if _TENDER_ID.fullmatch(tender_id) else None
    if found is None:
        return _message(
            request,
            language,
            N_("Tender not found"),
            N_(
                "We know no tender with this number. Check the link, or look for the tender"
                " on the notices page."
            ),
            status_code=status.HTTP_404_NOT_FOUND,
        )
    following = session is not None and await repository.follows(
        pool, session.supplier_id, tender_id
    )
    return page(
        request,
        "follow.html",
        language=language,
        tender_id=tender_id,
        title=found["title"] or tender_id,
        following=following,
        notice=_notice(request),
    )


@router.post("/follow/{tender_id:path}")
async def follow(
    request: Request,
    tender_id: str,
    pool: Pool,
    session: SignedIn,
) -> Response:
    form = await read_form(request)
    if not _TENDER_ID.fullmatch(tender_id) or await accounts.tender(pool, tender_id) is None:
        return RedirectResponse(f"{_base(request)}/", status_code=303)
    if form.get("action") == "unfollow":
        await repository.unfollow(pool, session.supplier_id, tender_id)
        return _redirect(request, f"/follow/{tender_id}", "unfollowed")
    await repository.follow(pool, session.supplier_id, tender_id)
    return _redirect(request, f"/follow/{tender_id}", "followed")


# Leaving.


@router.get("/delete-account")
async def delete_account_page(request: Request, session: SignedIn) -> Response:
    return page(request, "delete_account.html", language=page_language(request, session.language))


@router.post("/delete-account")
async def delete_account(
    request: Request,
    pool: Pool,
    policy: Policy,
    settings: AccountSettings,
    session: SignedIn,
    cid: CorrelationId,
) -> Response:
    await read_form(request)
    await accounts.delete_account(pool, settings, policy, session.supplier_id, cid)
    request.state.portal_session = None
    response = _message(
        request,
        session.language,
        N_("Your account is deleted"),
        N_(
            "We deleted your contact details and will send you nothing more. Thank you for"
            " using Tenderwire."
        ),
    )
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
