"""CPV over the real stack: a CPV-only OCDS release and a CPV-only notice published through the
API reach the suppliers subscribed by CPV codes under which theirs fall, no one else, and
`tw why` says which codes matched and how far apart they are."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support.eventually import eventually
from tests.support.matching_helpers import matched_ids, publish, register, seen_by_matching
from tests.support.notices_api import Agency, in_days
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration

TENDER = Path(__file__).parents[1] / "fixtures" / "ocds" / "fictional-1.1"
TENDER_FILE = TENDER / "ocds-213czf-000-00001-02-tender.json"


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


def cpv_only_release(ocid: str) -> dict[str, Any]:
    """The fictional tender (its items classified only with CPV), open for five more days."""
    package = json.loads(TENDER_FILE.read_text(encoding="utf-8"))
    release: dict[str, Any] = copy.deepcopy(package["releases"][0])
    release["ocid"] = ocid
    release["id"] = f"{ocid}-tender"
    release["date"] = "2026-01-01T00:00:00Z"
    release["tender"]["tenderPeriod"] = {"endDate": in_days(5)}
    return release


async def tw_why(platform: Platform, supplier_id: str, tender_id: str) -> Any:
    _, out, err = await run_tw("why", supplier_id, tender_id, "--json", env=platform.operator_env())
    return json.loads(out) if out.strip() else err


def check(answer: Any, rule: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in answer["checks"] if c["rule"] == rule)
    return found


async def test_a_cpv_only_release_reaches_suppliers_subscribed_by_cpv_and_tw_why_says_why(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    # The release's codes: "45233130.0" (no CPV code: dropped) and "45233162-2".
    category = await register(http, platform, unspsc_codes=None, cpv_codes=["45233000-9"])
    division = await register(http, platform, unspsc_codes=None, cpv_codes=["45000000"])
    other_branch = await register(http, platform, unspsc_codes=None, cpv_codes=["33100000"])
    unspsc_only = await register(http, platform, unspsc_codes=["72141100"])
    assert category["cpv_codes"] == ["45233000"]
    assert category["unspsc_codes"] == []

    assert agency.platform.notices is not None
    response = await http.post(
        f"{agency.platform.notices.url}/v1/ocds/release-packages",
        content=json.dumps(cpv_only_release("ocds-213czf-cpv-1")).encode(),
        headers={"Content-Type": "application/json", **agency.headers()},
    )
    assert response.status_code == 200, response.text
    (entry,) = response.json()["releases"]
    assert entry["outcome"] == "imported", entry
    notice_id = entry["notice_id"]
    notice = await agency.get(notice_id)
    assert (notice["unspsc_codes"], notice["cpv_codes"]) == ([], ["45233162"])
    assert [(c["scheme"], c["code"]) for c in notice["classifications"]] == [
        ("CPV", "45233130.0"),
        ("CPV", "45233162-2"),
    ]

    await seen_by_matching(platform, notice_id, 1)
    assert await matched_ids(platform, notice_id) == {category["id"], division["id"]}
    assert other_branch["id"] not in await matched_ids(platform, notice_id)
    assert unspsc_only["id"] not in await matched_ids(platform, notice_id)

    await eventually(
        lambda: deliveries(http, platform, category["id"]), until=lambda r: settled(r, 1)
    )
    answer = await tw_why(platform, category["id"], notice_id)
    assert answer["verdict"] == "alerted", answer
    assert check(answer, "cpv_code") == {
        "rule": "cpv_code",
        "passed": True,
        "detail": "CPV codes under the supplier's, or at most 1 level above:"
        " 45233000~45233162 (under it, 3 levels down)",
    }
    assert "unspsc_code" not in [c["rule"] for c in answer["checks"]]
    missed = await tw_why(platform, other_branch["id"], notice_id)
    assert missed["verdict"] == "not_matched"
    assert missed["summary"] == "not alerted: failed cpv_code"
    assert "not on the same branch of CPV" in check(missed, "cpv_code")["detail"]


async def test_a_notice_published_with_cpv_codes_only_reaches_a_cpv_supplier(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    group = await register(http, platform, unspsc_codes=None, cpv_codes=["33100000"])
    both = await register(http, platform, unspsc_codes=["42131606"], cpv_codes=["03000000"])

    notice = await publish(agency, unspsc_codes=[], cpv_codes=["33141100-7"])

    assert notice["cpv_codes"] == ["33141100"]
    await seen_by_matching(platform, notice["id"], 1)
    matched = await matched_ids(platform, notice["id"])
    # Other tests' suppliers share the registry: only these two are this test's to judge.
    assert group["id"] in matched
    assert both["id"] not in matched
    none = await agency.publish(
        {
            "reference": "no-codes",
            "title": "t",
            "notice_type": "request_for_quotation",
            "unspsc_codes": [],
            "deadline": in_days(20),
        }
    )
    assert none.status_code == 422
    assert "or a CPV code in cpv_codes" in none.text
    assert both["cpv_codes"] == ["03000000"]


async def test_a_supplier_subscribing_by_cpv_later_is_backfilled_and_keeps_some_code(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    notice = await publish(agency, unspsc_codes=[], cpv_codes=["09310000-5"])
    await seen_by_matching(platform, notice["id"], 1)
    late = await register(http, platform, unspsc_codes=["42131606"])
    assert platform.matching is not None
    url = f"{platform.matching.url}/v1/suppliers/{late['id']}"
    own = {"Authorization": f"Bearer {late['token']}"}

    changed = await http.patch(url, headers=own, json={"cpv_codes": ["09300000"]})

    assert changed.status_code == 200, changed.text
    assert changed.json()["cpv_codes"] == ["09300000"]
    assert late["id"] in await matched_ids(platform, notice["id"])
    cpv_only = await register(http, platform, unspsc_codes=None, cpv_codes=["09300000"])
    emptied = await http.patch(
        f"{platform.matching.url}/v1/suppliers/{cpv_only['id']}",
        headers={"Authorization": f"Bearer {cpv_only['token']}"},
        json={"cpv_codes": []},
    )
    assert emptied.status_code == 422
    assert emptied.json()["detail"][0]["loc"] == ["body", "cpv_codes"]
    assert "unspsc_codes, cpv_codes or both" in emptied.json()["detail"][0]["msg"]
    kept = await http.get(
        f"{platform.matching.url}/v1/suppliers/{cpv_only['id']}",
        headers={"Authorization": f"Bearer {cpv_only['token']}"},
    )
    assert kept.json()["cpv_codes"] == ["09300000"]  # the refused change was rolled back
