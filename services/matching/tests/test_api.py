"""The supplier API's refusals that need no database, through the app in-process: each is a 422
in the one error format, naming the field, with a message that does not echo megabytes back.

The app runs without its lifespan (no pool, no Kafka): the pool is a stand-in that fails the
test if a refusal reaches it, and the supplier token check is overridden where a route needs
one. What needs the registry (duplicates, tokens, "nothing was registered") stays in
tests/integration/test_matching.py and test_matching_hostile_input.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tenderwire_matching.bootstrap import create_app
from tenderwire_matching.dependencies import own_supplier
from tenderwire_matching.schemas import SupplierRegistration
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import get_pool
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.settings import Environment

MEGABYTE = "x" * 1_000_000
SUPPLIER_ID = "an-existing-supplier"


class NoDatabase:
    """Stands in for the pool: a refusal answers before any query."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refusal reached the database (pool.{name})")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(MatchingSettings(environment=Environment.TEST))
    app.dependency_overrides[get_pool] = NoDatabase
    app.dependency_overrides[own_supplier] = lambda: SUPPLIER_ID
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
        yield client


def unique(label: str) -> str:
    return f"{label}-{new_event_id()[-12:]}"


def supplier(**overrides: Any) -> dict[str, Any]:
    return {
        "legal_name": unique("Supplier"),
        "country": "SEN",
        "unspsc_codes": ["42131606"],
        "email": f"{unique('bids')}@example.org",
        **overrides,
    }


def problems(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text[:2000]
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert all(len(p["msg"]) < 1000 for p in detail), "a message echoes the input"
    return list(detail)


def named(detail: list[dict[str, Any]], *field: str | int) -> list[str]:
    return [p["msg"] for p in detail if tuple(p["loc"][: 1 + len(field)]) == ("body", *field)]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"email": "not-an-email"}, "email", "email"),
        ({"phone": "12345"}, "phone", "international form"),
        ({"phone": "+221 12"}, "phone", "not a valid phone"),
        ({"unspsc_codes": ["4213160"]}, "unspsc_codes", "8 digits"),
        ({"unspsc_codes": []}, "unspsc_codes", "at least 1"),
        ({"cpv_codes": ["3310000"]}, "cpv_codes", "8 digits"),
        ({"cpv_codes": ["33100000-12"]}, "cpv_codes", "check digit"),
        ({"cpv_codes": []}, "cpv_codes", "at least 1"),
        ({"country": "Atlantis"}, "country", "ISO 3166"),
        ({"country": "FR"}, "country", "developed economy"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"language": "de"}, "language", "Input should be"),
        ({"legal_name": "<b>Acme</b>"}, "legal_name", "HTML"),
        ({"keywords": ["x"]}, "keywords", "2 to 60"),
        ({"digest_hour": 24}, "digest_hour", "less than or equal"),
    ],
)
async def test_registration_refuses_bad_fields_naming_them(
    http: httpx.AsyncClient, overrides: dict[str, Any], field: str, words: str
) -> None:
    response = await http.post("/v1/suppliers", json=supplier(**overrides))
    assert response.status_code == 422, response.text
    named = [p for p in response.json()["detail"] if p["loc"][:2] == ["body", field]]
    assert any(words.lower() in p["msg"].lower() for p in named), response.json()


@pytest.mark.parametrize(("code", "level"), [("43000000", "segment"), ("43210000", "family")])
async def test_a_code_above_class_level_is_refused_at_registration_with_why(
    http: httpx.AsyncClient, code: str, level: str
) -> None:
    response = await http.post("/v1/suppliers", json=supplier(unspsc_codes=["43211503", code]))

    (msg,) = named(problems(response, 422), "unspsc_codes")
    assert f"{code} is a {level} code" in msg
    assert "TW_MATCHING_CODE_HIERARCHY_LEVELS" in msg
    assert "Send the class" in msg


async def test_a_code_above_class_level_is_refused_on_update(http: httpx.AsyncClient) -> None:
    response = await http.patch(f"/v1/suppliers/{SUPPLIER_ID}", json={"unspsc_codes": ["43210000"]})

    (msg,) = named(problems(response, 422), "unspsc_codes")
    assert "43210000 is a family code" in msg


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", "Acme\x00 SARL"),
        ("email", "bids\x00@example.org"),
        ("phone", "+221 77\x00 123 45 67"),
        ("timezone", "Africa/\x00Dakar"),
        ("keywords", ["gowns\x00"]),
        ("agencies", ["UN\x00DP"]),
        ("beneficiary_countries", ["S\x00N"]),
    ],
)
async def test_a_nul_anywhere_is_refused_naming_the_field(
    http: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await http.post("/v1/suppliers", json=supplier(**{field: value}))

    assert named(problems(response, 422), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", MEGABYTE),
        ("phone", MEGABYTE),
        ("timezone", MEGABYTE),
        ("keywords", [MEGABYTE]),
        ("agencies", [MEGABYTE]),
        ("beneficiary_countries", [MEGABYTE]),
    ],
)
async def test_a_megabyte_field_is_refused_without_being_echoed(
    http: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await http.post("/v1/suppliers", json=supplier(**{field: value}))

    assert named(problems(response, 422), field)


@pytest.mark.parametrize("agency", ["UN Development Programme", "<b>UNDP</b>", "U"])
async def test_an_agency_filter_that_is_no_agency_code_is_refused(
    http: httpx.AsyncClient, agency: str
) -> None:
    # The filter compares codes exactly: a name or a typo would silently match nothing.
    response = await http.post("/v1/suppliers", json=supplier(agencies=[agency]))

    (msg,) = named(problems(response, 422), "agencies")
    assert "agency code" in msg


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
async def test_a_number_that_is_not_finite_gets_a_422(http: httpx.AsyncClient, number: str) -> None:
    # json.dumps would refuse these; they are what a careless client library sends.
    raw = json.dumps(supplier(legal_name="N", digest_hour="N")).replace('"N"', number)

    response = await http.post(
        "/v1/suppliers", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text[:2000]
    assert isinstance(response.json()["detail"], list)
    # The guard refuses the number itself, before the field's own type check could.
    refused = {(tuple(p["loc"]), p["type"]) for p in response.json()["detail"]}
    assert (("body", "legal_name"), "finite_number") in refused


@pytest.mark.parametrize(
    ("quiet_hours", "at"),
    [
        ({"start": "21:00:00+02:00", "end": "07:00"}, "start"),
        ({"start": "21:00", "end": "07:00:30"}, "end"),
        ({"start": "21:00", "end": "07:00", "tz": "UTC"}, "tz"),
        ({"start": "25:00", "end": "07:00"}, "start"),
    ],
    ids=["offset", "seconds", "unknown-key", "no-such-hour"],
)
async def test_quiet_hours_are_local_wall_clock_times_and_nothing_else(
    http: httpx.AsyncClient, quiet_hours: dict[str, str], at: str
) -> None:
    # An offset used to be dropped in silence (21:00+02:00 stored as 21:00 local), and an
    # unknown key accepted; quiet hours follow the supplier's own time zone.
    response = await http.post("/v1/suppliers", json=supplier(quiet_hours=quiet_hours))

    assert named(problems(response, 422), "quiet_hours", at)


async def test_registration_needs_unspsc_or_cpv_codes(http: httpx.AsyncClient) -> None:
    body = supplier()
    del body["unspsc_codes"]
    response = await http.post("/v1/suppliers", json=body)
    assert any("unspsc_codes, cpv_codes or both" in m for m in named(problems(response, 422)))


def test_cpv_codes_alone_are_a_registration_and_are_normalised() -> None:
    body = supplier(cpv_codes=["33100000-1", "33100000", "45233162"])
    del body["unspsc_codes"]
    registration = SupplierRegistration.model_validate(body)
    assert registration.cpv_codes == ["33100000", "45233162"]
    assert registration.unspsc_codes is None
