"""Matching's supplier API against hostile and careless input, over the real platform: what
needs the registry (a refusal leaves nothing behind, duplicates, tokens, stored values). The
refusals that need no database (NULs, megabyte fields, non-finite numbers, agency codes, quiet
hours, codes that could never match) run in-process in services/matching/tests/test_api.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.matching_helpers import register, supplier, unique
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


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


@pytest.mark.parametrize("code", ["43000000", "43210000"])
async def test_a_code_above_class_level_is_refused_at_registration_and_nothing_registered(
    platform: Platform, http: httpx.AsyncClient, code: str
) -> None:
    # What the refusal says is checked without a database, in services/matching/tests/test_api.py.
    email = f"{unique('levels')}@example.org"

    response = await http.post(
        suppliers_url(platform),
        json=supplier(unspsc_codes=["43211503", code], email=email),
    )

    (msg,) = named(problems(response, 422), "unspsc_codes")
    assert code in msg
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


async def test_an_agency_filter_is_kept_as_the_code_notices_publish(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    registered = await register(http, platform, agencies=[" undp ", "wfp-sn"])

    assert registered["agencies"] == ["UNDP", "WFP-SN"]


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


async def test_quiet_hours_read_back_as_they_were_written(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    mine = await register(http, platform, quiet_hours={"start": "22:30", "end": "06:00"})

    # HH:MM, the form the OpenAPI documents, not Python's "22:30:00".
    assert mine["quiet_hours"] == {"start": "22:30", "end": "06:00"}
