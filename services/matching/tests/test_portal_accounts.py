"""The account pages through the app in-process, without a database: what they answer before
any query (refusals of hostile input, forged links, missing form tokens, sign-in first), and
how they look (CSP, language, direction). What needs the registry is in
tests/integration/test_portal_accounts.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tenderwire_matching import services
from tenderwire_matching.bootstrap import create_app
from tenderwire_matching.portal import services as accounts
from tenderwire_matching.portal.domain import LinkPurpose, LinkSigner
from tenderwire_matching.portal.web.sessions import CSRF_COOKIE
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import get_pool
from tenderwire_shared.settings import Environment

FORM_TOKEN = "a-form-token-of-enough-length-000"  # noqa: S105

# The portal's catalogs are built when its words are translated (`tw catalogs update`); until
# then a page in another language cannot render, and what only it shows waits for them.
CATALOGS = Path(str(files("tenderwire_matching"))) / "locale"
PORTAL_TEMPLATES = Path(str(files("tenderwire_matching"))) / "portal" / "templates"
needs_catalogs = pytest.mark.skipif(
    not (CATALOGS / "ar" / "LC_MESSAGES" / "messages.mo").exists(),
    reason="tenderwire_matching has no compiled catalogs yet (tw catalogs update)",
)


class NoDatabase:
    """Stands in for the pool: a refusal answers before any query."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refusal reached the database (pool.{name})")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(MatchingSettings(environment=Environment.TEST))
    app.dependency_overrides[get_pool] = NoDatabase
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://matching", cookies={CSRF_COOKIE: FORM_TOKEN}
    ) as client:
        yield client


def registration(**overrides: str) -> dict[str, str]:
    return {
        "form_token": FORM_TOKEN,
        "legal_name": "Dakar Medical Supplies",
        "country": "SEN",
        "email": "bids@example.org",
        "phone": "",
        "language": "en",
        "unspsc_codes": "42131606",
        "cpv_codes": "",
        **overrides,
    }


@pytest.mark.parametrize("path", ["/portal/register", "/portal/sign-in"])
async def test_the_open_pages_are_strict_small_html(http: httpx.AsyncClient, path: str) -> None:
    english = await http.get(path)

    assert english.status_code == 200
    assert "script-src" not in english.headers["content-security-policy"]
    assert "default-src 'none'" in english.headers["content-security-policy"]
    assert '<html lang="en" dir="ltr">' in english.text
    assert "<script" not in english.text
    assert "style=" not in english.text
    assert len(english.content) < 100_000


@pytest.mark.parametrize(
    "path",
    [
        "/portal/account",
        "/portal/contacts",
        "/portal/tokens",
        "/portal/verify-phone",
        "/portal/delete-account",
    ],
)
async def test_the_account_pages_ask_to_sign_in_first_and_come_back(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)

    assert response.status_code == 303
    assert response.headers["location"] == f"/portal/sign-in?next={path}"


@pytest.mark.parametrize(
    "path",
    [
        "/portal/register",
        "/portal/sign-in",
        "/portal/verify-email",
        "/portal/sign-in/link",
        "/portal/register/resend",
    ],
)
async def test_a_post_without_its_pages_form_token_changes_nothing(
    http: httpx.AsyncClient, path: str
) -> None:
    missing = await http.post(path, data={"email": "bids@example.org"})
    wrong = await http.post(path, data={"form_token": "x" * 30, "email": "bids@example.org"})
    elsewhere = await http.post(
        path,
        data={"form_token": FORM_TOKEN, "email": "bids@example.org"},
        headers={"Origin": "https://evil.example"},
    )

    for response in (missing, wrong, elsewhere):
        assert response.status_code == 403
        assert "Please try again" in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", "<script>alert(1)</script>"),
        ("legal_name", "Acme\x00Ltd"),
        ("legal_name", "x" * 1_000_000),
        ("country", "Atlantis"),
        ("country", "FR"),
        ("email", "not-an-address"),
        ("email", "<b>@example.org"),
        ("phone", "12345"),
        ("phone", "+221 77\x00 123"),
        ("unspsc_codes", "4213160"),
        ("unspsc_codes", "43000000"),
        ("unspsc_codes", ""),
        ("cpv_codes", "33100000-12"),
    ],
)
async def test_a_registration_with_a_bad_field_says_which_and_registers_nothing(
    http: httpx.AsyncClient, field: str, value: str
) -> None:
    response = await http.post("/portal/register", data=registration(**{field: value}))

    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert "Nothing was registered." in response.text
    assert "<script>alert" not in response.text
    assert len(response.content) < 100_000


@needs_catalogs
@pytest.mark.parametrize("path", ["/portal/register", "/portal/sign-in"])
async def test_the_open_pages_follow_the_browsers_language_and_direction(
    http: httpx.AsyncClient, path: str
) -> None:
    arabic = await http.get(path, headers={"Accept-Language": "ar"})

    assert '<html lang="ar" dir="rtl">' in arabic.text


@needs_catalogs
async def test_a_registration_page_answers_in_the_language_chosen() -> None:
    # The page follows the language the supplier picked in the form, even before it exists.
    app = create_app(MatchingSettings(environment=Environment.TEST))
    app.dependency_overrides[get_pool] = NoDatabase
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://matching",
        cookies={CSRF_COOKIE: FORM_TOKEN},
    ) as client:
        response = await client.post(
            "/portal/register", data=registration(language="ar", email="nope")
        )

    assert '<html lang="ar" dir="rtl">' in response.text


@pytest.mark.parametrize(
    "token",
    [
        "",
        "forged",
        "eyJhbGciOiJub25lIn0.e30.",
        "<script>alert(1)</script>",
        "\x00",
        "x" * 10_000,
    ],
)
@pytest.mark.parametrize(
    "path", ["/portal/verify-email", "/portal/verify-contact", "/portal/sign-in/link"]
)
async def test_a_forged_or_mangled_link_gets_a_friendly_page_not_an_error(
    http: httpx.AsyncClient, path: str, token: str
) -> None:
    shown = await http.get(path, params={"token": token})
    used = await http.post(path, data={"form_token": FORM_TOKEN, "token": token})

    # A NUL anywhere in a query is refused by every service before any route (422).
    assert shown.status_code == (422 if "\x00" in token else 400)
    assert used.status_code == 400
    assert "This link does not work" in used.text
    for response in (shown, used):
        assert "<script>alert" not in response.text


async def test_a_link_signed_for_another_purpose_does_not_work(http: httpx.AsyncClient) -> None:
    settings = MatchingSettings(environment=Environment.TEST)
    verification = LinkSigner(settings.portal_secret.get_secret_value()).sign(
        LinkPurpose.VERIFY_EMAIL, "an-id"
    )

    response = await http.post(
        "/portal/sign-in/link", data={"form_token": FORM_TOKEN, "token": verification}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("email", ["", "nobody", "a@", "x" * 400 + "@example.org", "a\x00@b.org"])
async def test_a_sign_in_request_for_no_address_says_so(
    http: httpx.AsyncClient, email: str
) -> None:
    response = await http.post(
        "/portal/sign-in", data={"form_token": FORM_TOKEN, "email": email, "next": "/portal/"}
    )

    assert response.status_code == 422
    assert 'id="email-error"' in response.text


async def test_a_form_with_a_file_or_too_many_fields_is_refused_with_a_page(
    http: httpx.AsyncClient,
) -> None:
    with_file = await http.post(
        "/portal/sign-in",
        data={"form_token": FORM_TOKEN},
        files={"email": ("a.txt", b"bids@example.org")},
    )
    crowded = await http.post(
        "/portal/sign-in", data={f"f{i}": "x" for i in range(100)} | {"form_token": FORM_TOKEN}
    )

    for response in (with_file, crowded):
        assert response.status_code == 400
        assert "This form could not be read" in response.text


async def test_over_the_rate_limit_the_page_says_when_to_come_back(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> None:
        raise accounts.RateLimitedError(150)

    monkeypatch.setattr(accounts, "request_sign_in", refused)

    response = await http.post(
        "/portal/sign-in", data={"form_token": FORM_TOKEN, "email": "bids@example.org"}
    )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "150"
    assert "Please try again in 3 minutes." in response.text


@pytest.mark.parametrize("tender_id", ["<script>", "a" * 200, "x%2F..%2Fetc", "%C0%AF", "T 1"])
async def test_a_follow_link_to_no_tender_id_is_a_friendly_404(
    http: httpx.AsyncClient, tender_id: str
) -> None:
    response = await http.get(f"/portal/follow/{tender_id}")

    assert response.status_code == 404
    assert "Tender not found" in response.text
    assert "<script>" not in response.text


async def test_the_api_refuses_a_wrong_operators_token_at_registration(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/v1/suppliers",
        json={
            "legal_name": "X",
            "country": "SEN",
            "email": "a@example.org",
            "unspsc_codes": ["42131606"],
        },
        headers={"Authorization": "Bearer not-the-operators-token"},
    )

    assert response.status_code == 401
    assert response.json()["detail"][0]["loc"] == ["header", "Authorization"]


_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&\w+;")
_WORDED_ATTRIBUTE = re.compile(r"\b(?:title|alt|aria-label|placeholder)=\"(?!\{\{)[^\"]*\"")
ACCOUNT_TEMPLATES = (
    "_field_error.html",
    "account.html",
    "check_inbox.html",
    "contacts.html",
    "delete_account.html",
    "follow.html",
    "link_page.html",
    "message.html",
    "rate_limited.html",
    "register.html",
    "sign_in.html",
    "sign_in_sent.html",
    "tokens.html",
    "verify_phone.html",
)


@pytest.mark.parametrize("template", ACCOUNT_TEMPLATES)
def test_the_account_templates_say_nothing_outside_gettext(template: str) -> None:
    source = (PORTAL_TEMPLATES / template).read_text()
    assert not _WORDED_ATTRIBUTE.search(source), "an attribute's words must go through _()"
    left = _ENTITY.sub(" ", _TAG.sub(" ", _JINJA.sub(" ", source)))
    assert not re.search(r"[^\W\d_]", left), f"words outside gettext: {left.split()}"
    assert "style=" not in source
    assert "<script" not in source


async def test_over_the_rate_limit_an_api_registration_is_a_429_with_retry_after(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> None:
        raise accounts.RateLimitedError(90)

    monkeypatch.setattr(services, "register", refused)

    response = await http.post(
        "/v1/suppliers",
        json={
            "legal_name": "X",
            "country": "SEN",
            "email": "a@example.org",
            "unspsc_codes": ["42131606"],
        },
    )

    assert response.status_code == 429
    assert response.headers["retry-after"] == "90"
    assert response.json()["detail"][0]["type"] == "rate_limited"
