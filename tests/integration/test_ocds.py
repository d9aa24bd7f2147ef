"""OCDS 1.1 over HTTP: release packages imported into the lifecycle, and notices exported as
releases and records, over real PostgreSQL and Kafka.

Bodies that are no release package, and an import without an API key, are refused before any
database access: services/notices/tests/test_api.py.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_notices.ocds import standard
from tests.support.notices_api import Agency, in_days
from tests.support.ocds_cove import cove
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ocds"
FICTIONAL = FIXTURES / "fictional-1.1"
OCID = "ocds-213czf-000-00001"


def load(path: Path) -> dict[str, Any]:
    package: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return package


def stage(name: str) -> dict[str, Any]:
    return load(FICTIONAL / f"{OCID}-{name}.json")


def package_of(*releases: object) -> dict[str, Any]:
    package = stage("02-tender")
    package["releases"] = list(releases)
    return package


def release_like(name: str, release_id: str, date: str, **tender: Any) -> dict[str, Any]:
    """A fictional release made current: its own id and date, and tender fields replaced."""
    release: dict[str, Any] = copy.deepcopy(stage(name)["releases"][0])
    release["id"] = release_id
    release["date"] = date
    release["tender"].update(tender)
    return release


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


async def send(agency: Agency, body: Any, **headers: str) -> httpx.Response:
    assert agency.platform.notices is not None
    url = f"{agency.platform.notices.url}/v1/ocds/release-packages"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await agency.http.post(
        url,
        content=content,
        headers={"Content-Type": "application/json", **agency.headers(), **headers},
    )


async def imported(agency: Agency, package: Any) -> dict[str, Any]:
    response = await send(agency, package)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def outcomes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["release_id"], r["outcome"]) for r in report["releases"]]


def notes(report: dict[str, Any], release_id: str) -> str:
    (entry,) = [r for r in report["releases"] if r["release_id"] == release_id]
    return " | ".join(entry["notes"])


async def counts(platform: Platform, agency: Agency) -> tuple[int, int, int, int]:
    """The agency's notices, their revisions and events, and its import ledger rows."""
    conn = await asyncpg.connect(platform.dsns["notices"])
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM notices WHERE agency = $1),"
            " (SELECT count(*) FROM notice_revisions r JOIN notices n ON n.id = r.notice_id"
            "  WHERE n.agency = $1),"
            " (SELECT count(*) FROM outbox o JOIN notices n ON n.id = o.key WHERE n.agency = $1),"
            " (SELECT count(*) FROM ocds_imports WHERE agency = $1)",
            agency.code,
        )
    finally:
        await conn.close()
    assert row is not None
    return row[0], row[1], row[2], row[3]


async def export(http: httpx.AsyncClient, platform: Platform, notice_id: str, what: str) -> Any:
    assert platform.notices is not None
    response = await http.get(f"{platform.notices.url}/v1/notices/{notice_id}/ocds/{what}")
    assert response.status_code == 200, response.text
    return response.json()


# --- the fixtures -----------------------------------------------------------------------------


async def test_the_fictional_process_imports_file_by_file_and_its_package_adds_nothing(
    platform: Platform, agency: Agency
) -> None:
    reports = {
        name: await imported(agency, stage(name))
        for name in (
            "01-planning",
            "02-tender",
            "03-tenderAmendment",
            "04-award",
            "05-contract",
            "06-implementation",
        )
    }

    assert {name: outcomes(r)[0][1] for name, r in reports.items()} == {
        "01-planning": "skipped",
        "02-tender": "imported",
        "03-tenderAmendment": "skipped",
        "04-award": "imported",
        "05-contract": "skipped",
        "06-implementation": "skipped",
    }
    tender = reports["02-tender"]["releases"][0]
    assert "only with CPV" in " ".join(tender["notes"])
    assert "imported closed and nobody was alerted" in " ".join(tender["notes"])
    assert "planning: skipped" in notes(reports["01-planning"], f"{OCID}-01-planning")
    assert "the notice is closed" in notes(
        reports["03-tenderAmendment"], f"{OCID}-03-tenderAmendment"
    )
    notice = await agency.get(tender["notice_id"])
    assert notice["reference"] == notice["ocid"] == OCID
    assert notice["unspsc_codes"] == []
    assert notice["status"] == "awarded"
    assert notice["award"]["supplier_name"] == "AnyCorp Cycle Provision"
    assert notice["award"]["supplier_country"] == "GBR"
    assert notice["award"]["amount"] == "11000000.00"
    # Its deadline had passed: stored closed from the start, so nobody was alerted to it.
    assert [r["event_type"] for r in notice["revisions"]] == ["tender.closed", "tender.awarded"]
    before = await counts(platform, agency)

    again = await imported(agency, load(FICTIONAL / f"{OCID}.json"))

    assert again["counts"] == {"imported": 0, "skipped": 0, "already_imported": 6, "failed": 0}
    assert [r["release_id"] for r in again["releases"]] == [
        f"{OCID}-{name}" for name in reports
    ]  # in release-date order
    assert all(r["notes"][0].startswith("already imported at") for r in again["releases"])
    assert await counts(platform, agency) == before


async def test_the_whole_package_at_once_imports_like_file_by_file(agency: Agency) -> None:
    report = await imported(agency, load(FICTIONAL / f"{OCID}.json"))

    assert report["counts"] == {"imported": 2, "skipped": 4, "already_imported": 0, "failed": 0}
    award = report["releases"][3]
    assert award["release_id"] == f"{OCID}-04-award"
    assert (await agency.get(award["notice_id"]))["status"] == "awarded"


async def test_paraguay_imports_with_its_unspsc_codes_once(
    platform: Platform, agency: Agency
) -> None:
    package = load(FIXTURES / "paraguay" / "releases.json")

    report = await imported(agency, package)

    (entry,) = report["releases"]
    assert entry["outcome"] == "imported"
    assert entry["tags"] == ["planning", "tender"]
    assert "planning: skipped" in " ".join(entry["notes"])
    notice = await agency.get(entry["notice_id"])
    assert notice["unspsc_codes"] == ["25172503", "25172504"]
    assert notice["language"] == "es"
    assert notice["status"] == "closed"
    assert notice["deadline_local"] == "2021-05-26T09:00:00-04:00"
    before = await counts(platform, agency)

    again = await imported(agency, package)

    assert again["counts"]["already_imported"] == 1
    assert again["releases"][0]["notice_id"] == entry["notice_id"]
    assert await counts(platform, agency) == before


# --- an open tender through its lifecycle -----------------------------------------------------


async def test_an_open_tender_is_published_amended_and_awarded_once_its_deadline_passes(
    platform: Platform, agency: Agency
) -> None:
    unspsc = [{"scheme": "UNSPSC", "id": "72141100"}]
    item = {"id": "1", "classification": {"scheme": "CPV", "id": "45233130"}}
    tender = release_like(
        "02-tender",
        "r-1",
        "2026-01-01T00:00:00Z",
        tenderPeriod={"endDate": in_days(5)},
        items=[{**item, "additionalClassifications": unspsc}],
    )
    update = release_like(
        "03-tenderAmendment", "r-2", "2026-01-02T00:00:00Z", tenderPeriod={"endDate": in_days(7)}
    )
    update["tag"] = ["tenderUpdate"]
    update["tender"]["amendments"][0]["releaseID"] = "r-2"
    award = copy.deepcopy(stage("04-award")["releases"][0])
    award["id"], award["date"] = "r-3", "2026-01-03T00:00:00Z"

    # Given out of order: applied by release date.
    report = await imported(agency, package_of(award, update, tender))

    assert outcomes(report) == [("r-1", "imported"), ("r-2", "imported"), ("r-3", "skipped")]
    # The update's items add a CPV code (45233162-2) and their classifications to r-1's.
    assert "amended classifications, cpv_codes, deadline, documents" in notes(report, "r-2")
    assert "not applied yet" in notes(report, "r-3")
    notice_id = report["releases"][0]["notice_id"]
    notice = await agency.get(notice_id)
    assert notice["status"] == "amended"
    assert notice["unspsc_codes"] == ["72141100"]
    assert notice["cpv_codes"] == ["45233130", "45233162"]
    assert notice["revisions"][1]["reason"] == (
        "The tender period has been extended in accordance with council guidelines"
    )

    # The award was not recorded, so it applies when sent again after the deadline.
    platform.clock.advance(timedelta(days=8))
    try:
        later = await imported(agency, package_of(award, update, tender))
    finally:
        platform.clock.advance(timedelta(days=-8))

    assert outcomes(later) == [
        ("r-1", "already_imported"),
        ("r-2", "already_imported"),
        ("r-3", "imported"),
    ]
    awarded = await agency.get(notice_id)
    assert awarded["status"] == "awarded"
    assert [r["event_type"] for r in awarded["revisions"]][-2:] == [
        "tender.closed",
        "tender.awarded",
    ]


async def test_a_cancellation_cancels_and_a_tender_release_again_amends(agency: Agency) -> None:
    period = {"endDate": in_days(5)}
    tender = release_like("02-tender", "c-1", "2026-01-01T00:00:00Z", tenderPeriod=period)
    retitled = release_like(
        "02-tender",
        "c-2",
        "2026-01-02T00:00:00Z",
        tenderPeriod=period,
        title="Planned cycle lane improvements, phase 1",
    )
    cancellation = release_like("02-tender", "c-3", "2026-01-03T00:00:00Z")
    cancellation["tag"] = ["tenderCancellation"]
    cancellation["tender"]["documents"] = [
        {"id": "x", "documentType": "cancellationDetails", "description": "Budget withdrawn"}
    ]

    report = await imported(agency, package_of(tender, retitled, cancellation))

    assert [r["outcome"] for r in report["releases"]] == ["imported"] * 3
    assert "tender: amended title" in notes(report, "c-2")
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["status"] == "cancelled"
    assert notice["cancellation_reason"] == "Budget withdrawn"
    assert notice["title"] == "Planned cycle lane improvements, phase 1"


# --- hostile input ----------------------------------------------------------------------------


async def test_broken_releases_are_reported_one_by_one_and_the_rest_import(
    platform: Platform, agency: Agency
) -> None:
    good = release_like("02-tender", "ok", "2026-01-01T00:00:00Z")
    no_deadline = release_like("02-tender", "no-deadline", "2026-01-02T00:00:00Z")
    del no_deadline["tender"]["tenderPeriod"]
    no_deadline["ocid"] = "ocds-213czf-000-00002"
    bad_currency = copy.deepcopy(stage("04-award")["releases"][0])
    bad_currency["date"] = "2026-01-04T00:00:00Z"  # after the tender it would award
    bad_currency["awards"][0]["value"]["currency"] = "GOLD"
    nul = release_like("02-tender", "nul\x00", "2026-01-03T00:00:00Z")

    report = await imported(
        agency,
        package_of(good, {"ocid": OCID}, "not a release", no_deadline, bad_currency, nul),
    )

    assert report["counts"] == {"imported": 1, "skipped": 0, "already_imported": 0, "failed": 5}
    by_position = {r["position"]: r for r in report["releases"]}
    assert "id is missing" in " ".join(by_position[1]["notes"])
    assert "tag is missing" in " ".join(by_position[1]["notes"])
    assert "must be a JSON object" in by_position[2]["notes"][0]
    assert "tenderPeriod.endDate is missing" in by_position[3]["notes"][0]
    assert "currency" in by_position[4]["notes"][0]
    assert "control characters" in by_position[5]["notes"][0]
    # The failed award wrote nothing: the notice is still just published, closed.
    notice = await agency.get(by_position[0]["notice_id"])
    assert [r["event_type"] for r in notice["revisions"]] == ["tender.closed"]
    assert (await counts(platform, agency))[0] == 1


# --- export -----------------------------------------------------------------------------------


async def test_exports_are_valid_ocds_1_1_5_for_published_and_imported_notices(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    published = await agency.publish(a_notice(deadline=in_days(10)))
    assert published.status_code == 201, published.text
    own_id = published.json()["id"]
    amended = await agency.amend(own_id, {"reason": "Clarified scope", "title": "Gowns, lot 2"})
    assert amended.status_code == 200, amended.text
    await agency.cancel(own_id, "Budget withdrawn")
    report = await imported(agency, load(FICTIONAL / f"{OCID}.json"))
    imported_id = report["releases"][1]["notice_id"]

    for notice_id, tags in (
        (own_id, [["tender"], ["tenderAmendment"], ["tenderCancellation"]]),
        (imported_id, [["tender"], ["award"]]),
    ):
        package = await export(http, platform, notice_id, "release-package")
        record_package = await export(http, platform, notice_id, "record")

        assert [e.message for e in standard.release_package_validator().iter_errors(package)] == []
        assert cove(package) == {}
        assert [r["tag"] for r in package["releases"]] == tags
        (record,) = record_package["records"]
        compiled = record["compiledRelease"]
        assert [e.message for e in standard.release_validator().iter_errors(compiled)] == []
        assert cove({**package, "releases": [compiled]}) == {}
        assert [link["url"].split("#")[1] for link in record["releases"]] == [
            r["id"] for r in package["releases"]
        ]
        assert record_package["packages"] == [package["uri"]]

    own = await export(http, platform, own_id, "record")
    compiled = own["records"][0]["compiledRelease"]
    assert compiled["ocid"] == f"ocds-tw0000-{own_id}"
    assert compiled["tender"]["title"] == "Gowns, lot 2"
    assert compiled["tender"]["status"] == "cancelled"
    assert compiled["buyer"]["name"] == f"Agency {agency.code}"
    awarded = await export(http, platform, imported_id, "release-package")
    # The publisher's buyer, not the importing agency, which stays the procuring entity.
    assert awarded["releases"][-1]["buyer"] == {
        "id": "GB-LAC-E09000003",
        "name": "London Borough of Barnet",
    }
    assert awarded["releases"][-1]["tender"]["procuringEntity"]["name"] == f"Agency {agency.code}"
    assert [p["roles"] for p in own["records"][0]["compiledRelease"]["parties"]] == [
        ["buyer", "procuringEntity"]
    ]
    assert awarded["releases"][-1]["ocid"] == OCID
    assert awarded["releases"][-1]["tender"]["status"] == "complete"
    assert awarded["releases"][-1]["awards"][0]["value"] == {"amount": 11000000, "currency": "GBP"}


async def test_an_exported_notice_imports_into_another_agency_as_the_same_notice(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    published = await agency.publish(a_notice(deadline=in_days(10, offset_hours=3)))
    assert published.status_code == 201, published.text
    original = published.json()
    package = await export(http, platform, original["id"], "release-package")
    code, key = await platform.new_agency()
    mirror = Agency(http, platform, code, key)

    report = await imported(mirror, package)

    copy_of = await mirror.get(report["releases"][0]["notice_id"])
    for field in (
        "title",
        "description",
        "notice_type",
        "unspsc_codes",
        "deadline",
        "deadline_local",
        "documents",
        "contacts",
    ):
        assert copy_of[field] == original[field], field
    assert copy_of["ocid"] == f"ocds-tw0000-{original['id']}"


async def test_exports_of_unknown_notices_are_404(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    # Of malformed ids, 422: services/notices/tests/test_api.py.
    assert platform.notices is not None
    base = f"{platform.notices.url}/v1/notices"

    unknown = await http.get(f"{base}/0195f3c2-7d4e-7000-8000-000000000000/ocds/record")

    assert unknown.status_code == 404


async def test_a_retried_import_with_the_same_idempotency_key_gets_the_first_report(
    agency: Agency,
) -> None:
    package = load(FICTIONAL / f"{OCID}.json")

    first = await send(agency, package, **{"Idempotency-Key": "import-1"})
    again = await send(agency, package, **{"Idempotency-Key": "import-1"})
    unkeyed = await send(agency, package)
    misused = await send(agency, package_of(stage("02-tender")), **{"Idempotency-Key": "import-1"})

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["counts"]["imported"] == 2
    assert unkeyed.json()["counts"]["imported"] == 0  # without the key: "already imported"
    assert misused.status_code == 422


# --- hostile input, continued -----------------------------------------------------------------


def with_contact_point(release: dict[str, Any], **contact_point: str) -> dict[str, Any]:
    release["parties"][0]["contactPoint"].update(contact_point)
    return release


@pytest.mark.parametrize(
    "release",
    [
        {**release_like("02-tender", "t", "2026-01-01T00:00:00Z"), "tag": ["tender", "x\x00"]},
        release_like(
            "02-tender",
            "s",
            "2026-01-01T00:00:00Z",
            items=[{"id": "1", "classification": {"scheme": "C\x00PV", "id": "45233130"}}],
        ),
    ],
    ids=["tag", "classification-scheme"],
)
async def test_a_nul_in_what_the_report_echoes_never_reaches_its_store(
    agency: Agency, release: dict[str, Any]
) -> None:
    response = await send(agency, package_of(release), **{"Idempotency-Key": "nul-echo"})
    again = await send(agency, package_of(release), **{"Idempotency-Key": "nul-echo"})

    assert response.status_code == again.status_code == 200, response.text
    assert again.json() == response.json()
    assert "\\u0000" not in response.text


async def test_an_imported_contact_keeps_only_a_real_email_and_phone_and_says_so(
    agency: Agency,
) -> None:
    release = with_contact_point(
        release_like("02-tender", "c", "2026-01-01T00:00:00Z"),
        email="not-an-email",
        telephone="call me maybe",
    )

    report = await imported(agency, package_of(release))

    assert outcomes(report) == [("c", "imported")]
    said = notes(report, "c")
    assert "contact e-mail 'not-an-email' is not a valid e-mail address" in said
    assert "contact phone 'call me maybe' is not a phone number" in said
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["contacts"] == [{"name": "Procurement Team", "email": None, "phone": None}]


async def test_an_imported_national_phone_is_read_with_the_buyers_country(
    agency: Agency,
) -> None:
    report = await imported(
        agency, package_of(release_like("02-tender", "p", "2026-01-01T00:00:00Z"))
    )

    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["contacts"][0]["phone"] == "+441234345346"  # "01234 345 346", in the UK


async def test_an_imported_deadline_years_away_fails_the_release_naming_it(
    platform: Platform, agency: Agency
) -> None:
    far = release_like(
        "02-tender", "far", "2026-01-01T00:00:00Z", tenderPeriod={"endDate": "9999-12-31T00:00:00Z"}
    )

    report = await imported(agency, package_of(far))

    assert outcomes(report) == [("far", "failed")]
    assert "deadline: 9999-12-31T00:00:00+00:00 is more than 5 years ahead" in notes(report, "far")
    assert (await counts(platform, agency))[0] == 0


async def test_an_imported_award_dated_in_the_future_fails_naming_its_date(
    platform: Platform, agency: Agency
) -> None:
    tender = release_like("02-tender", "t", "2026-01-01T00:00:00Z")
    award = copy.deepcopy(stage("04-award")["releases"][0])
    award["id"], award["date"] = "a", "2026-01-02T00:00:00Z"
    award["awards"][0]["date"] = "2099-01-01T00:00:00Z"

    report = await imported(agency, package_of(tender, award))

    assert outcomes(report) == [("t", "imported"), ("a", "failed")]
    assert "date: 2099-01-01 is in the future" in notes(report, "a")
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["status"] == "closed"


# --- OCDS as publishers write it --------------------------------------------------------------

SHAPES = FIXTURES / "shapes"


def open_release(release_id: str, ocid: str, **tender: Any) -> dict[str, Any]:
    """The fictional tender as a release of its own ocid, open for five more days."""
    release = release_like(
        "02-tender", release_id, "2026-01-01T00:00:00Z", tenderPeriod={"endDate": in_days(5)}
    )
    release["ocid"] = ocid
    release["tender"].update(tender)
    return release


def source(report: dict[str, Any]) -> tuple[str, str, bool]:
    shape = report["source"]
    return shape["shape"], shape["version"], shape["upgraded"]


async def test_a_bare_release_with_a_string_tag_is_published(agency: Agency) -> None:
    release = open_release("bare-1", "ocds-213czf-bare-1")
    release["tag"] = "tender"

    report = await imported(agency, release)

    assert source(report) == ("release", "1.1", False)
    assert outcomes(report) == [("bare-1", "imported")]
    assert report["releases"][0]["tags"] == ["tender"]
    assert "tag is a string, not an array; read as ['tender']" in notes(report, "bare-1")
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["status"] == "published"
    assert notice["ocid"] == "ocds-213czf-bare-1"


async def test_an_array_of_releases_and_packages_imports_each(agency: Agency) -> None:
    body = [
        open_release("arr-1", "ocds-213czf-arr-1"),
        package_of(open_release("arr-2", "ocds-213czf-arr-2")),
    ]

    report = await imported(agency, body)

    assert source(report) == ("an array of releases and release packages", "1.1", False)
    assert outcomes(report) == [("arr-1", "imported"), ("arr-2", "imported")]


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/json"])
async def test_json_lines_import_line_by_line_whatever_they_are_sent_as(
    platform: Platform, agency: Agency, content_type: str
) -> None:
    lines = [open_release(f"line-{n}", f"ocds-213czf-line-{n}") for n in (1, 2)]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    response = await send(agency, body, **{"Content-Type": content_type})

    assert response.status_code == 200, response.text
    report = response.json()
    assert source(report) == ("JSON Lines of releases", "1.1", False)
    assert outcomes(report) == [("line-1", "imported"), ("line-2", "imported")]
    before = await counts(platform, agency)

    again = await send(agency, body, **{"Content-Type": content_type})

    assert again.json()["counts"]["already_imported"] == 2
    assert await counts(platform, agency) == before


async def test_a_broken_json_line_is_refused_naming_its_line(agency: Agency) -> None:
    body = json.dumps(open_release("l", "ocds-213czf-l")).encode() + b"\n{broken\n"

    response = await send(agency, body, **{"Content-Type": "application/x-ndjson"})

    assert response.status_code == 422, response.text
    assert "line 2" in response.json()["detail"][0]["msg"]


async def test_a_record_package_imports_embedded_releases_or_else_its_compiled_release(
    agency: Agency,
) -> None:
    head = {k: v for k, v in stage("02-tender").items() if k != "releases"}
    compiled = open_release("rec-2-compiled", "ocds-213czf-rec-2")
    compiled["tag"] = ["compiled"]
    body = {
        **head,
        "records": [
            {"ocid": "ocds-213czf-rec-1", "releases": [open_release("rec-1", "ocds-213czf-rec-1")]},
            {
                "ocid": "ocds-213czf-rec-2",
                "releases": [{"url": "https://example.org/r.json", "date": "2026-01-01T00:00:00Z"}],
                "compiledRelease": compiled,
            },
        ],
    }

    report = await imported(agency, body)

    assert source(report) == ("record package", "1.1", False)
    assert outcomes(report) == [("rec-1", "imported"), ("rec-2-compiled", "imported")]
    assert report["releases"][1]["tags"] == ["tender"]
    assert "records[1]: its compiledRelease is read" in report["source"]["notes"][0]
    notice = await agency.get(report["releases"][1]["notice_id"])
    assert notice["ocid"] == "ocds-213czf-rec-2"


async def test_an_ocds_1_0_package_is_upgraded_imported_and_says_so(agency: Agency) -> None:
    report = await imported(agency, load(SHAPES / "release-package-1.0.json"))

    assert source(report) == ("release package", "1.0", True)
    assert "upgraded to 1.1 as ocdskit does" in report["source"]["notes"][0]
    (entry,) = report["releases"]
    assert entry["outcome"] == "imported"
    notice = await agency.get(entry["notice_id"])
    assert notice["unspsc_codes"] == ["72141103"]
    assert notice["beneficiary_countries"] == ["GBR"]  # from the buyer, moved into parties
    assert notice["contacts"][0]["email"] == "procurement-team@example.com"
    assert notice["status"] == "closed"  # its 2014 deadline has passed
    # Its inline 1.0 buyer, moved into parties by the upgrade, is the exports' buyer.
    buyer = await buyer_of(agency, entry["notice_id"])
    assert buyer["name"] == "London Borough of Barnet"
    assert buyer["identifier"]["id"] == "E09000003"


@pytest.mark.parametrize("version", ["2.0", "1.2", 1.1])
async def test_an_unknown_ocds_version_is_refused_naming_it(
    platform: Platform, agency: Agency, version: object
) -> None:
    body = package_of(open_release("v", "ocds-213czf-v"))
    body["version"] = version

    response = await send(agency, body)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "version"]
    assert "is not one Tenderwire reads" in problem["msg"]
    assert (await counts(platform, agency))[0] == 0


async def test_a_tender_with_an_unreadable_award_is_published_and_the_award_reported(
    agency: Agency,
) -> None:
    release = open_release("ta-1", "ocds-213czf-ta-1")
    release["tag"] = ["tender", "award"]
    award = copy.deepcopy(stage("04-award")["releases"][0]["awards"][0])
    award["suppliers"] = [{"name": "Nowhere Supplies"}]
    award["value"]["amount"] = "a great deal"
    release["awards"] = [award]

    report = await imported(agency, package_of(release))

    assert outcomes(report) == [("ta-1", "imported")]
    said = notes(report, "ta-1")
    assert "tender: published" in said
    assert "award: skipped, its award could not be read (" in said
    assert "amount is not a number" in said
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["status"] == "published"
    assert notice["award"] is None


async def test_a_closed_tender_whose_award_is_refused_keeps_the_tender(agency: Agency) -> None:
    release = release_like("02-tender", "tc-1", "2026-01-01T00:00:00Z")  # deadline in 2010
    release["tag"] = ["tender", "award"]
    release["awards"] = copy.deepcopy(stage("04-award")["releases"][0]["awards"])
    release["awards"][0]["date"] = "2099-01-01T00:00:00Z"
    release["parties"] += stage("04-award")["releases"][0]["parties"][1:]

    report = await imported(agency, package_of(release))

    assert outcomes(report) == [("tc-1", "imported")]
    said = notes(report, "tc-1")
    assert "award: not applied, date: 2099-01-01 is in the future" in said
    assert "awarded to" not in said
    notice = await agency.get(report["releases"][0]["notice_id"])
    assert notice["status"] == "closed"


async def test_country_names_in_the_publishers_language_become_iso_codes(agency: Agency) -> None:
    release = open_release(
        "co-1",
        "ocds-213czf-co-1",
        items=[
            {"id": "1", "deliveryAddress": {"countryName": "México"}},
            {"id": "2", "deliveryAddress": {"countryName": "Україна"}},
        ],
    )
    release["language"] = "es"
    without_delivery = open_release("co-2", "ocds-213czf-co-2")
    without_delivery["parties"][0]["address"]["countryName"] = "Sénégal"

    report = await imported(agency, [release, without_delivery])

    assert outcomes(report) == [("co-1", "imported"), ("co-2", "imported")]
    assert "delivery country 'México' read as MEX" in notes(report, "co-1")
    first = await agency.get(report["releases"][0]["notice_id"])
    second = await agency.get(report["releases"][1]["notice_id"])
    assert first["beneficiary_countries"] == ["MEX", "UKR"]
    assert second["beneficiary_countries"] == ["SEN"]  # the buyer's, read in French


async def test_a_tender_imported_after_its_deadline_exports_a_coherent_tender_period(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    late = release_like("02-tender", "late-1", "2026-01-01T00:00:00Z")  # deadline in 2010
    report = await imported(agency, package_of(late))
    notice_id = report["releases"][0]["notice_id"]

    package = await export(http, platform, notice_id, "release-package")

    (release,) = package["releases"]
    period = release["tender"]["tenderPeriod"]
    assert "startDate" not in period  # the release date, 2026, is after the 2010 deadline
    assert period["endDate"].startswith("2010-")
    assert [e.message for e in standard.release_package_validator().iter_errors(package)] == []
    assert cove(package) == {}


async def test_real_record_packages_are_read_and_their_tenders_without_deadline_reported(
    platform: Platform, agency: Agency
) -> None:
    realdata = FIXTURES / "ocdskit-realdata"

    paraguay = await imported(agency, load(realdata / "paraguay-record-package-1.0.json"))
    mexico = await imported(agency, load(realdata / "mexico-record-package-1.1.json"))

    assert source(paraguay) == ("record package", "1.0", True)
    assert source(mexico) == ("record package", "1.1", False)
    for report, release_id in ((paraguay, "193399-adquisicion-scanner"), (mexico, "1542970")):
        (entry,) = report["releases"]
        assert (entry["release_id"], entry["outcome"]) == (release_id, "failed")
        assert entry["tags"] == ["tender", "award"]
        assert "tender.tenderPeriod.endDate is missing" in notes(report, release_id)
    assert await counts(platform, agency) == (0, 0, 0, 0)


def with_buyer(release: dict[str, Any], party_id: str, name: str) -> dict[str, Any]:
    """The release naming another buyer: a party of its own, referred to by `buyer`."""
    release["parties"] = [
        {"id": party_id, "name": name, "roles": ["buyer"], "address": {"countryName": "Kenya"}},
        {**release["parties"][0], "roles": ["procuringEntity"]},
    ]
    release["buyer"] = {"id": party_id, "name": name}
    return release


async def buyer_of(agency: Agency, notice_id: str) -> dict[str, Any]:
    """The buyer of the notice's last exported release, checked against the compiled release,
    both exports valid for the 1.1.5 schema and lib-cove-ocds."""
    package = await export(agency.http, agency.platform, notice_id, "release-package")
    record_package = await export(agency.http, agency.platform, notice_id, "record")
    compiled = record_package["records"][0]["compiledRelease"]
    assert [e.message for e in standard.release_package_validator().iter_errors(package)] == []
    assert [e.message for e in standard.release_validator().iter_errors(compiled)] == []
    assert cove(package) == {}
    assert cove({**package, "releases": [compiled]}) == {}
    last = package["releases"][-1]
    (party,) = [p for p in last["parties"] if p["id"] == last["buyer"]["id"]]
    assert party["roles"] == ["buyer"]
    assert compiled["buyer"] == last["buyer"]
    assert [p["name"] for p in last["parties"] if "procuringEntity" in p["roles"]] == [
        f"Agency {agency.code}"
    ]
    return {**party, "everywhere": [r["buyer"]["name"] for r in package["releases"]]}


async def test_an_imported_notice_exports_the_buyer_of_its_latest_release(agency: Agency) -> None:
    first = open_release("buyer-1", "ocds-213czf-buyer-1")
    report = await imported(agency, first)
    notice_id = report["releases"][0]["notice_id"]

    barnet = await buyer_of(agency, notice_id)
    assert (barnet["id"], barnet["name"]) == ("GB-LAC-E09000003", "London Borough of Barnet")
    assert barnet["contactPoint"]["email"] == "procurement-team@example.com"
    assert barnet["address"]["postalCode"] == "N11 1NP"

    later = with_buyer(
        open_release("buyer-2", "ocds-213czf-buyer-1", title="Bicycles, lot 2"),
        "KE-MOH",
        "Ministry of Health, Kenya",
    )
    later["date"] = "2026-01-02T00:00:00Z"
    assert outcomes(await imported(agency, later)) == [("buyer-2", "imported")]

    ministry = await buyer_of(agency, notice_id)
    assert (ministry["id"], ministry["name"]) == ("KE-MOH", "Ministry of Health, Kenya")
    assert ministry["address"] == {"countryName": "Kenya"}
    # One buyer per notice: every release of the export names the latest.
    assert set(ministry["everywhere"]) == {"Ministry of Health, Kenya"}

    # A release older than the one whose buyer is kept, imported after it, changes no buyer.
    older = with_buyer(
        open_release("buyer-0", "ocds-213czf-buyer-1", title="Bicycles, lot 2"),
        "XX-OLD",
        "An older buyer",
    )
    older["date"] = "2025-12-31T00:00:00Z"
    assert outcomes(await imported(agency, older)) == [("buyer-0", "skipped")]

    still = await buyer_of(agency, notice_id)
    assert still["name"] == "Ministry of Health, Kenya"


async def test_a_release_naming_no_buyer_keeps_the_agency_as_buyer(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    release = open_release("nobuyer-1", "ocds-213czf-nobuyer-1")
    del release["buyer"]
    release["parties"][0]["roles"] = ["procuringEntity"]
    report = await imported(agency, release)
    notice_id = report["releases"][0]["notice_id"]

    package = await export(http, platform, notice_id, "release-package")

    (release_out,) = package["releases"]
    (party,) = release_out["parties"]
    assert party["roles"] == ["buyer", "procuringEntity"]
    assert release_out["buyer"]["name"] == f"Agency {agency.code}"
    assert cove(package) == {}
