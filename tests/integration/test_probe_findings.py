"""What a hand-run attack on the running platform still got through after the hostile-input
work: each case is a request an attacker or a careless integrator can send, answered as the one
error format says (a 4xx naming the field, never a 5xx, a redirect or bad data stored)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest

from tests.support.matching_helpers import supplier, tender, unique
from tests.support.notices_api import Agency
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def notices_url(platform: Platform) -> str:
    assert platform.notices is not None
    return f"{platform.notices.url}/v1/notices"


def suppliers_url(platform: Platform) -> str:
    assert platform.matching is not None
    return f"{platform.matching.url}/v1/suppliers"


def refusal(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text[:2000]
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    for problem in detail:
        assert set(problem) == {"loc", "msg", "type"}, problem
        assert len(problem["msg"]) < 1000, "a message echoes the input"
    return list(detail)


@pytest.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    return Agency(http, platform, *await platform.new_agency())


async def test_a_number_too_long_to_parse_is_a_422_naming_the_body(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    # Python's JSON parser refuses integers of more than 4300 digits with a ValueError that
    # FastAPI turned into an undocumented "400 There was an error parsing the body".
    body = json.dumps(supplier(digest_hour=1)).replace(
        '"digest_hour": 1', '"digest_hour": 1' + "0" * 5000
    )

    for response in (
        await http.post(suppliers_url(platform), content=body, headers=JSON),
        await http.post(
            notices_url(platform),
            content=json.dumps(tender())[:-1] + ', "description": 1' + "0" * 5000 + "}",
            headers={**JSON, **agency.headers()},
        ),
    ):
        (problem,) = refusal(response, 422)
        assert problem["loc"] == ["body"]
        assert problem["type"] == "json_invalid"
        assert "digits" in problem["msg"]


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("notices", "/v1/notices/"),
        ("matching", "/v1/suppliers/"),
        ("notify", "/v1/deliveries/"),
        ("notices", "/health/"),
    ],
)
async def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_callers_host(
    platform: Platform, http: httpx.AsyncClient, service: str, path: str
) -> None:
    server = getattr(platform, service)
    assert server is not None

    response = await http.get(f"{server.url}{path}", headers={"Host": "attacker.example"})

    assert "location" not in response.headers
    (problem,) = refusal(response, 404)
    assert problem["type"] == "not_found"


async def test_a_supplier_registration_with_a_key_twice_is_refused(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    # One parser takes the first "country", FastAPI the last: the supplier would be checked
    # for eligibility against a country other than the one a gateway or a log shows.
    registration = json.dumps(supplier(country="SEN"))
    body = registration[:-1] + ', "country": "FRA"}'

    response = await http.post(suppliers_url(platform), content=body, headers=JSON)

    (problem,) = refusal(response, 422)
    assert problem["loc"] == ["body"]
    assert "'country' appears twice" in problem["msg"]


INVISIBLE = [
    "\u200b\u200b",  # zero-width spaces
    "\ufeff",  # a byte order mark
    "\u00ad\u2060",  # a soft hyphen and a word joiner
    "\u0301",  # a combining accent with nothing to sit on
]
# Explicit embeddings, overrides and isolates, each of which reorders the text after it.
BIDI = ["\u202eAcme", "Acme\u202d", "\u202aAcme", "\u2066Acme", "Acme\u2069"]


@pytest.mark.parametrize("value", INVISIBLE + BIDI)
async def test_a_notice_title_that_shows_nothing_or_reorders_text_is_refused(
    platform: Platform, http: httpx.AsyncClient, agency: Agency, value: str
) -> None:
    response = await agency.publish(tender(title=value))

    (problem,) = refusal(response, 422)
    assert problem["loc"] == ["body", "title"]


@pytest.mark.parametrize("value", INVISIBLE + BIDI)
async def test_a_supplier_name_that_shows_nothing_or_reorders_text_is_refused(
    platform: Platform, http: httpx.AsyncClient, value: str
) -> None:
    email = f"{unique('bidi')}@example.org"

    response = await http.post(
        suppliers_url(platform), json=supplier(legal_name=value, email=email)
    )

    (problem,) = refusal(response, 422)
    assert problem["loc"] == ["body", "legal_name"]


async def test_right_to_left_text_with_its_implicit_marks_is_still_accepted(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    # Arabic ("supply of equipment") with a right-to-left mark, Persian with a zero-width
    # non-joiner, an emoji built with a zero-width joiner: format characters with a job.
    arabic = "\u062a\u0648\u0631\u064a\u062f \u200f\u0623\u062c\u0647\u0632\u0629"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    title = f"{arabic} - {persian} \U0001f469\u200d\U0001f4bb"

    response = await agency.publish(tender(title=title))

    assert response.status_code == 201, response.text
    assert response.json()["title"] == title


# 44121701 in Arabic-Indic digits: `\d` matched them, so the code was stored as written and
# never matched the same code in 0-9, silently; a supplier would get no alert at all.
ARABIC_INDIC_CODE = "".join(chr(0x660 + int(digit)) for digit in "44121701")


async def test_a_code_in_other_scripts_digits_is_refused_not_stored_unmatchable(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    registered = await http.post(
        suppliers_url(platform), json=supplier(unspsc_codes=[ARABIC_INDIC_CODE])
    )
    published = await agency.publish(tender(unspsc_codes=[ARABIC_INDIC_CODE]))
    searched = await http.get(notices_url(platform), params={"unspsc": ARABIC_INDIC_CODE[:2]})

    for response in (registered, published):
        (problem,) = refusal(response, 422)
        assert problem["loc"] == ["body", "unspsc_codes", 0]
        assert "digits 0-9" in problem["msg"]
    (problem,) = refusal(searched, 422)
    assert problem["loc"] == ["query", "unspsc"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
async def test_json_sent_as_another_type_is_refused_naming_the_content_type(
    platform: Platform, http: httpx.AsyncClient, content_type: str | None
) -> None:
    # Refused it was, but as "Input should be a valid dictionary", which sends a caller off
    # checking a body that is fine.
    headers = {"Content-Type": content_type} if content_type else {}

    response = await http.post(
        suppliers_url(platform), content=json.dumps(supplier()).encode(), headers=headers
    )

    (problem,) = refusal(response, 422)
    assert problem["loc"] == ["header", "Content-Type"]
    assert "application/json" in problem["msg"]


def ocds_tender_release(ocid: str) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": f"{ocid}-tender",
        "date": "2026-11-01T00:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"name": "Ministry of Health"},
        "tender": {
            "id": "T1",
            "title": "Laptops for district offices",
            "tenderPeriod": {"endDate": "2027-02-01T00:00:00Z"},
            "items": [{"id": "1", "classification": {"scheme": "UNSPSC", "id": "43211503"}}],
        },
    }


async def test_an_ocds_import_retried_while_it_runs_gets_the_first_report(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    # Recall, import and remember ran unlocked, so a retry racing the original imported what
    # the original had not yet reached and each got a report of its own share: the client
    # never learnt, from any answer, what its package had done.
    assert platform.notices is not None
    prefix = unique("ocds-probe")
    package = {
        "version": "1.1",
        "releases": [ocds_tender_release(f"{prefix}-{n}") for n in range(8)],
    }
    headers = {**agency.headers(idempotency_key=unique("retry")), **JSON}
    url = f"{platform.notices.url}/v1/ocds/release-packages"

    answers = await asyncio.gather(
        *[http.post(url, content=json.dumps(package), headers=headers) for _ in range(4)]
    )

    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json()["counts"]["imported"] == 8
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [
        "",
        "true",
        "true",
        "true",
    ]


@pytest.mark.parametrize(
    "respelt",
    [
        lambda name: name.replace(" ", "  "),
        lambda name: name.replace(" ", "\u00a0"),
        lambda name: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name),
        lambda name: name.replace("\u00e9", "e\u0301"),
    ],
    ids=["doubled spaces", "no-break spaces", "full-width letters", "decomposed accents"],
)
async def test_a_legal_name_respelt_is_still_the_same_supplier(
    platform: Platform, http: httpx.AsyncClient, respelt: Any
) -> None:
    # The once-per-country check compares lower(legal_name): a name written with other
    # spaces or compatibility letters registered the same supplier a second time.
    name = f"Soci\u00e9t\u00e9 Dakar Trading {unique('n')[-6:]}"
    first = await http.post(suppliers_url(platform), json=supplier(legal_name=name))
    assert first.status_code == 201, first.text

    again = await http.post(suppliers_url(platform), json=supplier(legal_name=respelt(name)))

    (problem,) = refusal(again, 409)
    assert problem["loc"] == ["body", "legal_name"]


async def test_a_gzipped_body_is_refused_naming_the_content_encoding(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    # Refused before, as "the body is not UTF-8": true of the bytes, and no clue to a client
    # whose HTTP library compresses request bodies.
    body = gzip.compress(json.dumps(supplier()).encode())

    response = await http.post(
        suppliers_url(platform), content=body, headers={**JSON, "Content-Encoding": "gzip"}
    )

    (problem,) = refusal(response, 422)
    assert problem["loc"] == ["header", "Content-Encoding"]
    assert "uncompressed" in problem["msg"]
