"""Matching's supplier API against hostile and careless input, over the real platform: codes
that could never match are refused with why, and every refusal is a 4xx in the one error
format, naming the field, with a message that does not echo megabytes back."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.matching_helpers import register, supplier, unique
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

MEGABYTE = "x" * 1_000_000


def suppliers_url(platform: Platform) -> str:
    assert platform.matching is not None
    return f"{platform.matching.url}/v1/suppliers"


def problems(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text[:2000]
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert all(len(p["msg"]) < 1000 for p in detail), "a message echoes the input"
    return list(detail)


def named(detail: list[dict[str, Any]], *field: str | int) -> list[str]:
    return [p["msg"] for p in detail if tuple(p["loc"][: 1 + len(field)]) == ("body", *field)]


@pytest.mark.parametrize(("code", "level"), [("43000000", "segment"), ("43210000", "family")])
async def test_a_code_above_class_level_is_refused_at_registration_with_why(
    platform: Platform, http: httpx.AsyncClient, code: str, level: str
) -> None:
    email = f"{unique('levels')}@example.org"

    response = await http.post(
        suppliers_url(platform),
        json=supplier(unspsc_codes=["43211503", code], email=email),
    )

    (msg,) = named(problems(response, 422), "unspsc_codes")
    assert f"{code} is a {level} code" in msg
    assert "TW_MATCHING_CODE_HIERARCHY_LEVELS" in msg
    assert "Send the class" in msg
    # Nothing was registered: the same e-mail registers once the codes are right.
    await register(http, platform, unspsc_codes=["43211503", "43211500"], email=email)


async def test_a_code_above_class_level_is_refused_on_update_and_the_profile_unchanged(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    mine = await register(http, platform, unspsc_codes=["43211503"])
    own = {"Authorization": f"Bearer {mine['token']}"}
    url = f"{suppliers_url(platform)}/{mine['id']}"

    response = await http.patch(url, headers=own, json={"unspsc_codes": ["43210000"]})

    assert named(problems(response, 422), "unspsc_codes")
    after = (await http.get(url, headers=own)).json()
    assert (after["unspsc_codes"], after["version"]) == (["43211503"], mine["version"])


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
    platform: Platform, http: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await http.post(suppliers_url(platform), json=supplier(**{field: value}))

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
    platform: Platform, http: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await http.post(suppliers_url(platform), json=supplier(**{field: value}))

    assert named(problems(response, 422), field)


@pytest.mark.parametrize("agency", ["UN Development Programme", "<b>UNDP</b>", "U"])
async def test_an_agency_filter_that_is_no_agency_code_is_refused(
    platform: Platform, http: httpx.AsyncClient, agency: str
) -> None:
    # The filter compares codes exactly: a name or a typo would silently match nothing.
    response = await http.post(suppliers_url(platform), json=supplier(agencies=[agency]))

    (msg,) = named(problems(response, 422), "agencies")
    assert "agency code" in msg


async def test_an_agency_filter_is_kept_as_the_code_notices_publish(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    registered = await register(http, platform, agencies=[" undp ", "wfp-sn"])

    assert registered["agencies"] == ["UNDP", "WFP-SN"]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
async def test_a_number_that_is_not_finite_gets_a_422(
    platform: Platform, http: httpx.AsyncClient, number: str
) -> None:
    # json.dumps would refuse these; they are what a careless client library sends.
    raw = json.dumps(supplier(legal_name="N", digest_hour="N")).replace('"N"', number)

    response = await http.post(
        suppliers_url(platform), content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text[:2000]
    assert isinstance(response.json()["detail"], list)


async def test_a_duplicate_gets_a_409_naming_the_field(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    first = await register(http, platform)
    same_email = await http.post(suppliers_url(platform), json=supplier(email=first["email"]))
    same_name = await http.post(
        suppliers_url(platform), json=supplier(legal_name=first["legal_name"])
    )

    assert named(problems(same_email, 409), "email")
    assert named(problems(same_name, 409), "legal_name")


async def test_another_suppliers_token_and_an_unknown_id_get_the_same_401(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    mine, other = await register(http, platform), await register(http, platform)
    own = {"Authorization": f"Bearer {mine['token']}"}

    wrong_token = await http.get(f"{suppliers_url(platform)}/{other['id']}", headers=own)
    unknown_id = await http.get(f"{suppliers_url(platform)}/no-such-supplier", headers=own)

    # The same answer either way, so a token never confirms that an id exists.
    for response in (wrong_token, unknown_id):
        (problem,) = problems(response, 401)
        assert problem["loc"] == ["header", "Authorization"]
        assert response.headers["WWW-Authenticate"] == "Bearer"


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
    platform: Platform, http: httpx.AsyncClient, quiet_hours: dict[str, str], at: str
) -> None:
    # An offset used to be dropped in silence (21:00+02:00 stored as 21:00 local), and an
    # unknown key accepted; quiet hours follow the supplier's own time zone.
    response = await http.post(suppliers_url(platform), json=supplier(quiet_hours=quiet_hours))

    assert named(problems(response, 422), "quiet_hours", at)


async def test_quiet_hours_read_back_as_they_were_written(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    mine = await register(http, platform, quiet_hours={"start": "22:30", "end": "06:00"})

    # HH:MM, the form the OpenAPI documents, not Python's "22:30:00".
    assert mine["quiet_hours"] == {"start": "22:30", "end": "06:00"}
