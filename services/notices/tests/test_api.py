"""The notices API's refusals that need no database, through the app in process: every one is
a 4xx naming the field at fault, answered before a connection is taken (the pool here fails
the test if anything touches it), so nothing can have been written.

Moved from tests/integration (test_notices_hostile_input, test_walking_skeleton,
test_http_errors, test_notices_lifecycle, test_ocds); what needs a notice, an API key lookup or
a use case stays there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from tenderwire_notices.bootstrap import create_app
from tenderwire_notices.dependencies import current_agency
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared.dependencies import get_pool

AGENCY = "UNICEF"
BASE = "http://notices.test/v1/notices"
OCDS = "http://notices.test/v1/ocds/release-packages"
AUTH = {"Authorization": "Bearer twk_test"}
JSON = {"content-type": "application/json"}
MiB = 1024 * 1024
FICTIONAL = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds" / "fictional-1.1"


class UntouchedPool:
    """Stands in for the database pool; records any use, which no case here may make."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.used.append(name)
        raise AssertionError(f"the database was reached (pool.{name})")


def in_days(days: float, offset_hours: int = 1) -> str:
    """A deadline `days` from now, written as the agency would: local time and its offset."""
    local = datetime.now(UTC) + timedelta(days=days, hours=offset_hours)
    return f"{local:%Y-%m-%dT%H:%M:%S}+{offset_hours:02d}:00"


def a_notice(**overrides: Any) -> dict[str, Any]:
    notice = {
        "reference": "UNICEF-RFQ-1",
        "title": "Isolation gowns for health centres",
        "description": "Disposable isolation gowns, long-term agreement.",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": ["SN", "Mali"],
        "deadline": in_days(5),
    }
    return {**notice, **overrides}


def an_award(**overrides: Any) -> dict[str, Any]:
    award = {
        "supplier_name": "Sahel Medical Supplies SARL",
        "supplier_country": "SN",
        "amount": "125000.50",
        "currency": "USD",
        "date": datetime.now(UTC).date().isoformat(),
    }
    return {**award, **overrides}


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[UntouchedPool]:
    untouched = UntouchedPool()
    yield untouched
    assert untouched.used == []


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(NoticesSettings())  # no lifespan: no pool, Kafka or workers started


@pytest_asyncio.fixture
async def http(app: FastAPI, pool: UntouchedPool) -> AsyncIterator[httpx.AsyncClient]:
    """The app as an agency's API key reaches it: the key lookup is the one thing replaced."""
    app.dependency_overrides = {get_pool: lambda: pool, current_agency: lambda: AGENCY}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, headers=AUTH) as client:
        yield client


@pytest_asyncio.fixture
async def anonymous(app: FastAPI, pool: UntouchedPool) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its own API-key check: only the pool is replaced."""
    app.dependency_overrides = {get_pool: lambda: pool}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


def the_error(response: httpx.Response) -> dict[str, Any]:
    """The one error in a body of the one format."""
    body = response.json()
    assert list(body) == ["detail"], body
    (error,) = body["detail"]
    assert set(error) == {"loc", "msg", "type"}, error
    return dict(error)


# --- a notice's fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": "x" * 501}, "title", "at most 500"),
        ({"description": "y" * 20_001}, "description", "at most 20000"),
        ({"title": "<script>alert(1)</script>"}, "title", "HTML tags"),
        ({"title": "Gowns <b>urgent</b>"}, "title", "HTML tags"),
        ({"title": "Nul\x00byte"}, "title", "control characters"),
        ({"title": "C1\x9bcontrol"}, "title", "control characters"),
        ({"reference": "UNDP\u2028SEN-1"}, "reference", "control characters"),
        ({"unspsc_codes": "42131606"}, "unspsc_codes", "valid list"),
        ({"unspsc_codes": ["99999999999"]}, "unspsc_codes", "8 digits"),
        ({"unspsc_codes": []}, "unspsc_codes", "at least one"),
        ({"beneficiary_countries": ["Atlantis"]}, "beneficiary_countries", "ISO 3166"),
        ({"deadline": "next tuesday"}, "deadline", "ISO 8601 date-time"),
        ({"deadline": [2027, 1, 1]}, "deadline", "ISO 8601 date-time"),
        ({"deadline": "2027-01-15T17:00:00"}, "deadline", "timezone"),
        ({"notice_type": "auction"}, "notice_type", "Input should be"),
        ({"language": "xx"}, "language", "ISO 639-1"),
        ({"reference": ""}, "reference", "at least 1"),
        ({"documents": [{"title": "ToR", "url": "javascript:alert(1)"}]}, "documents", "URL"),
        ({"surprise": True}, "surprise", "Extra inputs"),
    ],
)
async def test_bad_fields_get_422_naming_the_field_and_nothing_is_written(
    http: httpx.AsyncClient, overrides: dict[str, Any], field: str, words: str
) -> None:
    response = await http.post(BASE, json=a_notice(**overrides))

    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    named = [p for p in problems if p["loc"][:2] == ["body", field]]
    assert named, problems
    assert any(words.lower() in p["msg"].lower() for p in named), named


async def test_an_invalid_notice_is_refused_with_the_field_named_and_nothing_is_published(
    http: httpx.AsyncClient,
) -> None:
    bad = a_notice(unspsc_codes=["4213160"], beneficiary_countries=["Narnia"])
    bad["deadline"] = "2027-01-15T17:00:00"  # no UTC offset

    response = await http.post(BASE, json=bad)

    assert response.status_code == 422
    problems = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert "must be exactly 8 digits" in problems[("body", "unspsc_codes", 0)]
    assert "not an ISO 3166 country" in problems[("body", "beneficiary_countries", 0)]
    assert "timezone" in problems[("body", "deadline")].lower()


@pytest.mark.parametrize(
    ("overrides", "loc", "words"),
    [
        ({"contacts": [{"name": "Nul\x00byte"}]}, ["contacts", 0, "name"], "control"),
        (
            {"contacts": [{"name": "P", "email": "a\x00b@unicef.org"}]},
            ["contacts", 0, "email"],
            "control",
        ),
        ({"contacts": [{"name": "P", "phone": "+221\x0033"}]}, ["contacts", 0, "phone"], "control"),
        (
            {"documents": [{"title": "ToR\x00", "url": "https://www.ungm.org/d"}]},
            ["documents", 0, "title"],
            "control",
        ),
        (
            {"contacts": [{"name": "<script>alert(1)</script>"}]},
            ["contacts", 0, "name"],
            "HTML tags",
        ),
        (
            {"documents": [{"title": "<img src=x onerror=alert(1)>", "url": "https://x.org/d"}]},
            ["documents", 0, "title"],
            "HTML tags",
        ),
        (
            {"contacts": [{"name": "P", "email": "not-an-email"}]},
            ["contacts", 0, "email"],
            "not a valid e-mail",
        ),
        (
            {"contacts": [{"name": "P", "phone": "call me maybe"}]},
            ["contacts", 0, "phone"],
            "international form",
        ),
        (
            {"documents": [{"title": "ToR", "url": "https://agent:secret@www.ungm.org/d"}]},
            ["documents", 0, "url"],
            "user name or password",
        ),
        (
            {"documents": [{"title": "ToR", "url": "https://www.ungm.org/" + "d" * 3000}]},
            ["documents", 0, "url"],
            "at most 2000",
        ),
    ],
)
async def test_contacts_and_documents_are_refused_naming_the_field_and_nothing_is_written(
    http: httpx.AsyncClient, overrides: dict[str, Any], loc: list[str | int], words: str
) -> None:
    response = await http.post(BASE, json=a_notice(**overrides))

    assert response.status_code == 422, response.text
    named = [p for p in response.json()["detail"] if p["loc"] == ["body", *loc]]
    assert named, response.text
    assert words.lower() in named[0]["msg"].lower()


def unix_in_days(days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


@pytest.mark.parametrize(
    ("deadline", "words"),
    [
        (unix_in_days(10), "ISO 8601"),
        (str(unix_in_days(10)), "ISO 8601"),
        ("9999-12-31T23:00:00-05:00", "beyond the last date-time"),
    ],
    # The first two vary with the clock; stable ids let parallel workers agree on the tests.
    ids=["unix-time-number", "unix-time-string", "beyond-the-last-moment"],
)
async def test_a_deadline_that_is_a_unix_time_or_beyond_the_last_moment_is_refused_naming_it(
    http: httpx.AsyncClient, deadline: object, words: str
) -> None:
    response = await http.post(BASE, json=a_notice(deadline=deadline))

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "deadline"]
    assert words in problem["msg"]


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "NaN", "Infinity"], ids=["huge", "minus-huge", "nan", "inf"]
)
async def test_a_non_finite_number_in_a_notice_is_a_422_naming_the_field(
    http: httpx.AsyncClient, number: str
) -> None:
    notice = json.dumps(a_notice(reference="@@")).replace('"@@"', number)
    response = await http.post(BASE, content=notice, headers=JSON)
    assert response.status_code == 422, response.text
    assert the_error(response)["loc"] == ["body", "reference"]
    assert the_error(response)["type"] == "finite_number"


async def test_a_lone_surrogate_in_a_string_is_a_422_not_an_unencodable_echo(
    http: httpx.AsyncClient,
) -> None:
    # JSON may escape half a UTF-16 pair; echoing it back as `input` could not be encoded.
    notice = json.dumps(a_notice(title="@@")).replace('"@@"', '"\\ud800"')
    response = await http.post(BASE, content=notice, headers=JSON)
    assert response.status_code == 422, response.text
    assert the_error(response)["loc"] == ["body", "title"]


async def test_a_422_for_a_huge_description_is_small(http: httpx.AsyncClient) -> None:
    huge = "d" * (10 * MiB)
    response = await http.post(BASE, json=a_notice(description=huge, title=["not", "a", "title"]))
    assert response.status_code == 422
    assert len(response.content) < 4096, len(response.content)


# --- bodies that are no notice ----------------------------------------------------------------


async def test_bodies_that_are_not_json_objects_are_refused(http: httpx.AsyncClient) -> None:
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"title": '):
        response = await http.post(BASE, content=content, headers=JSON)
        assert response.status_code == 422, content


async def test_a_huge_body_is_refused_with_413_before_it_is_read(http: httpx.AsyncClient) -> None:
    huge = a_notice(description="z" * (21 * MiB))

    response = await http.post(BASE, json=huge)

    assert response.status_code == 413
    assert [p["type"] for p in response.json()["detail"]] == ["too_large"]


async def test_a_body_with_a_key_twice_in_one_object_is_refused_not_read_as_the_last(
    http: httpx.AsyncClient,
) -> None:
    body = json.dumps(a_notice())
    twice = body.replace('"title": ', '"title": "Harmless", "title": ', 1)

    response = await http.post(BASE, content=twice.encode(), headers=JSON)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert "'title' appears twice" in problem["msg"]


# --- amendments and awards --------------------------------------------------------------------

AMENDABLE = [
    "title",
    "description",
    "notice_type",
    "unspsc_codes",
    "beneficiary_countries",
    "deadline",
    "documents",
    "contacts",
]


@pytest.mark.parametrize("field", AMENDABLE)
async def test_an_amendment_of_only_nulls_changes_nothing_and_is_refused(
    http: httpx.AsyncClient, field: str
) -> None:
    only_null = await http.post(f"{BASE}/T-1/amendments", json={"reason": "r", field: None})

    assert only_null.status_code == 422, only_null.text
    assert "at least one field besides the reason" in only_null.json()["detail"][0]["msg"]


async def test_an_amendment_with_only_a_reason_is_refused(http: httpx.AsyncClient) -> None:
    empty = await http.post(f"{BASE}/T-1/amendments", json={"reason": "r"})

    assert empty.status_code == 422


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"date": int(datetime.now(UTC).timestamp())}, "date", "ISO 8601 date"),
        ({"currency": "XXX"}, "currency", "no currency"),
    ],
)
async def test_an_award_dated_with_a_unix_time_or_in_no_money_is_refused_naming_it(
    http: httpx.AsyncClient, overrides: dict[str, Any], field: str, words: str
) -> None:
    response = await http.post(f"{BASE}/T-1/award", json=an_award(**overrides))

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert words in problem["msg"]


async def test_notice_ids_with_nul_or_junk_in_the_path_are_refused_not_crashed_on(
    http: httpx.AsyncClient,
) -> None:
    for bad in ("abc%00def", "x" * 65, "a%20b"):
        assert (await http.get(f"{BASE}/{bad}")).status_code == 422
        amended = await http.post(f"{BASE}/{bad}/amendments", json={"reason": "r", "title": "t"})
        assert amended.status_code == 422
    assert (await http.get(f"{BASE}/nul%00byte/ocds/release-package")).status_code == 422


async def test_a_malformed_idempotency_key_is_named_in_the_error(http: httpx.AsyncClient) -> None:
    malformed = await http.post(BASE, json=a_notice(), headers={"Idempotency-Key": "has space"})

    assert malformed.status_code == 422, malformed.text
    (problem,) = malformed.json()["detail"]
    assert problem["loc"] == ["header", "Idempotency-Key"]
    assert "printable ASCII" in problem["msg"]


async def test_a_missing_api_key_is_named_in_the_401(anonymous: httpx.AsyncClient) -> None:
    for response in (
        await anonymous.post(BASE, json=a_notice()),
        await anonymous.post(OCDS, json=a_package()),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["header", "Authorization"]
        assert problem["type"] == "unauthorized"


# --- search -----------------------------------------------------------------------------------


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"cursor": "nonsense"}, ["query", "cursor"]),
        ({"cursor": cursor_of("2026-01-01T00:00:00+00:00", "nul\x00id")}, ["query", "cursor"]),
        ({"cursor": cursor_of("2026-01-01T00:00:00", "abc")}, ["query", "cursor"]),
        ({"cursor": "\x00"}, ["query", "cursor"]),
        ({"country": "XX"}, ["query", "country"]),
        ({"agency": "\x00"}, ["query", "agency"]),
        ({"agency": "UN\x00DP"}, ["query", "agency"]),
        ({"unspsc": "4%"}, ["query", "unspsc"]),
    ],
)
async def test_bad_search_parameters_get_422_naming_the_parameter(
    http: httpx.AsyncClient, params: dict[str, str], loc: list[str]
) -> None:
    response = await http.get(BASE, params=params)

    assert response.status_code == 422, response.text
    assert the_error(response)["loc"] == loc


async def test_search_filters_take_deadlines_with_an_offset_only(http: httpx.AsyncClient) -> None:
    for value, words in (
        (str(unix_in_days(1)), "ISO 8601"),
        ("9999-12-31T23:00:00-05:00", "beyond the last date-time"),
    ):
        response = await http.get(BASE, params={"deadline_from": value})
        assert response.status_code == 422, response.text
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["query", "deadline_from"]
        assert words in problem["msg"]


# --- OCDS import ------------------------------------------------------------------------------


def a_package() -> dict[str, Any]:
    package: dict[str, Any] = json.loads(
        (FICTIONAL / "ocds-213czf-000-00001-02-tender.json").read_text(encoding="utf-8")
    )
    return package


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"[]", 422, "an array with nothing in it holds no releases"),
        (b"[1]", 422, "each value must be a release"),
        (b'"releases"', 422, "JSON object or array"),
        (b'{"version": "2.0", "releases": []}', 422, "OCDS version '2.0' is not one"),
        (b'{"version": 1.1, "releases": []}', 422, "OCDS version 1.1 is not one"),
        (b'{"ocid": "a"}\n{"ocid": ', 422, "not JSON"),
        (b"{}", 422, "needs a 'releases' array"),
        (b'{"releases": {}}', 422, "must be an array"),
        (b'{"records": [{"ocid": "x"}]}', 422, "record package"),
        (b'{"releases": [', 422, "not JSON"),
        (b'{"releases": [NaN]}', 422, "not JSON"),
        (b"\xff\xfe{", 422, "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, 422, "not"),
        (b"", 422, "empty"),
        (json.dumps({"releases": [{}] * 5_001}).encode(), 413, "at most 5000"),
    ],
)
async def test_a_body_that_is_not_a_release_package_is_refused_naming_the_problem(
    http: httpx.AsyncClient, body: bytes, status: int, words: str
) -> None:
    response = await http.post(OCDS, content=body, headers=JSON)

    assert response.status_code == status, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"][0] == "body"
    assert words in problem["msg"]


async def test_a_package_with_a_key_twice_in_one_object_is_refused(
    http: httpx.AsyncClient,
) -> None:
    body = json.dumps(a_package())
    twice = body.replace('"title": ', '"title": "<script>", "title": ', 1).encode()

    response = await http.post(OCDS, content=twice, headers=JSON)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert "'title' appears twice" in problem["msg"]


async def test_a_number_too_large_for_json_is_refused_not_imported_as_inf(
    http: httpx.AsyncClient,
) -> None:
    body = json.dumps(a_package())
    infinite = body.replace('"title": "Planned cycle lane improvements"', '"title": 1e400', 1)
    assert infinite != body

    response = await http.post(OCDS, content=infinite.encode(), headers=JSON)

    assert response.status_code == 422, response.text
    assert "too large" in response.json()["detail"][0]["msg"]
