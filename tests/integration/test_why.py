"""`tw why SUPPLIER TENDER`, run as the operator runs it: alerted, not matched (once for each
rule that can fail, naming it), and matched but not delivered.

One tender and one supplier per case: each supplier differs from the alerted one in exactly
one respect, so the rule `tw why` names is the only one that can have kept it from matching.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, seen_by_matching, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration

TENDER_CODE = "60101501"
SUPPLIER_CODE = "60101500"  # the tender code's class: one level up
TITLE = "Isolation gowns for health centres"


async def tw_why(platform: Platform, supplier_id: str, tender_id: str) -> tuple[int, Any]:
    code, out, err = await run_tw(
        "why", supplier_id, tender_id, "--json", env=platform.operator_env()
    )
    return code, json.loads(out) if out.strip() else err


def case_suppliers(agency: str) -> dict[str, dict[str, Any]]:
    """Registration fields per case. The alerted supplier sets every filter, each passing."""
    return {
        "alerted": {
            "beneficiary_countries": ["SN"],
            "agencies": [agency],
            "notice_types": ["request_for_quotation"],
            "keywords": ["gowns"],
        },
        "bounced": {"email": f"{unique('bounce')}@example.org"},
        "active": {},  # deactivated before the tender is published
        "eligible_country": {},  # reclassified before the tender is published: still alerted
        # The class beside the tender's: a family code would be nearer, but matching refuses
        # codes above class level, as they could never match a commodity.
        "unspsc_code": {"unspsc_codes": ["60101600"]},
        "beneficiary_country": {"beneficiary_countries": ["PE"]},
        "agency": {"agencies": ["NOT-THIS-AGENCY"]},
        "notice_type": {"notice_types": ["invitation_to_bid"]},
        "keyword": {"keywords": ["vaccines"]},
    }


@dataclass(frozen=True)
class Scene:
    tender_id: str
    suppliers: dict[str, str]  # case -> supplier id


async def reclassify_as_developed(platform: Platform, supplier_id: str) -> None:
    # Registration refuses developed economies, so a supplier can only become ineligible when
    # its country is reclassified (a new WESP edition). The data file is shared code, so the
    # test moves the supplier instead: the same "registered, then no longer eligible".
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        await conn.execute("UPDATE suppliers SET country = 'USA' WHERE id = $1", supplier_id)
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="module")
async def scene(platform: Platform) -> AsyncIterator[Scene]:
    assert platform.matching is not None
    code, key = await platform.new_agency()
    async with httpx.AsyncClient(timeout=10.0) as http:
        registered = {
            case: await register(http, platform, **{"unspsc_codes": [SUPPLIER_CODE], **fields})
            for case, fields in case_suppliers(code).items()
        }
        leaver = registered["active"]
        response = await http.delete(
            f"{platform.matching.url}/v1/suppliers/{leaver['id']}",
            headers={"Authorization": f"Bearer {leaver['token']}"},
        )
        assert response.status_code == 204
        await reclassify_as_developed(platform, registered["eligible_country"]["id"])
        notice = await publish(
            Agency(http, platform, code, key),
            title=TITLE,
            unspsc_codes=[TENDER_CODE],
            beneficiary_countries=["SN"],
        )
        await seen_by_matching(platform, notice["id"], 1)
        for case in ("alerted", "bounced", "eligible_country"):
            supplier_id: str = registered[case]["id"]
            await eventually(
                lambda: deliveries(http, platform, supplier_id),  # noqa: B023 - awaited at once
                until=lambda r: settled(r, 1),
            )
    yield Scene(notice["id"], {case: s["id"] for case, s in registered.items()})


def failed_rules(answer: Any) -> list[str]:
    return [c["rule"] for c in answer["checks"] if not c["passed"]]


async def test_an_alerted_supplier_passes_every_rule(platform: Platform, scene: Scene) -> None:
    code, answer = await tw_why(platform, scene.suppliers["alerted"], scene.tender_id)

    assert (code, answer["verdict"]) == (0, "alerted")
    assert answer["summary"] == "alerted: 1 of 1 deliveries sent"
    assert [(c["rule"], c["passed"]) for c in answer["checks"]] == [
        ("active", True),
        ("eligible_country", True),
        ("unspsc_code", True),
        ("beneficiary_country", True),
        ("agency", True),
        ("notice_type", True),
        ("keyword", True),
        ("email_confirmed", True),
    ]
    assert [(d["channel"], d["state"]) for d in answer["deliveries"]] == [("email", "sent")]


RULES = [
    pytest.param("active", "deactivated", id="active"),
    pytest.param("unspsc_code", "not on the same branch", id="unspsc_code"),
    pytest.param("beneficiary_country", "wants ['PER']", id="beneficiary_country"),
    pytest.param("agency", "wants ['NOT-THIS-AGENCY']", id="agency"),
    pytest.param("notice_type", "wants ['invitation_to_bid']", id="notice_type"),
    pytest.param("keyword", "wants one of ['vaccines']", id="keyword"),
]


@pytest.mark.parametrize(("rule", "detail"), RULES)
async def test_a_supplier_not_matched_is_told_which_rule_failed(
    platform: Platform, scene: Scene, rule: str, detail: str
) -> None:
    code, answer = await tw_why(platform, scene.suppliers[rule], scene.tender_id)

    assert (code, answer["verdict"]) == (4, "not_matched")
    assert failed_rules(answer) == [rule]
    assert detail in next(c["detail"] for c in answer["checks"] if c["rule"] == rule)
    assert answer["summary"] == f"not alerted: failed {rule}"
    assert answer["alerts"] == answer["deliveries"] == []


async def test_a_country_reclassified_after_registration_still_matches_and_why_says_so(
    platform: Platform, scene: Scene
) -> None:
    code, answer = await tw_why(platform, scene.suppliers["eligible_country"], scene.tender_id)

    # Eligibility gates registration only; `why` must not blame a rule matching never applies.
    assert (code, answer["verdict"]) == (0, "alerted")
    assert failed_rules(answer) == []
    (check,) = [c for c in answer["checks"] if c["rule"] == "eligible_country"]
    assert check["detail"].startswith(
        "USA is developed now; eligibility is checked at registration"
    )


async def test_a_matched_supplier_whose_mail_bounced_is_not_delivered(
    platform: Platform, scene: Scene
) -> None:
    code, answer = await tw_why(platform, scene.suppliers["bounced"], scene.tender_id)

    assert (code, answer["verdict"]) == (3, "not_delivered")
    assert "email failed" in answer["summary"]
    assert failed_rules(answer) == []
    (delivery,) = answer["deliveries"]
    assert delivery["state"] == "failed"
    assert delivery["last_error"].startswith("SMTP 550")


async def test_unknown_suppliers_and_tenders_are_not_found(
    platform: Platform, scene: Scene
) -> None:
    unknown_supplier, answer = await tw_why(platform, "nobody", scene.tender_id)
    unknown_tender, tender_answer = await tw_why(
        platform, scene.suppliers["alerted"], "no-such-tender"
    )

    assert (unknown_supplier, answer["verdict"]) == (1, "not_found")
    assert (unknown_tender, tender_answer["verdict"]) == (1, "not_found")
    assert "matching has not seen tender" in tender_answer["summary"]


async def test_an_unreachable_database_exits_8_without_an_answer_or_a_password(
    platform: Platform,
) -> None:
    unreachable = "postgresql://tw:s3cret@127.0.0.1:1/matching"
    code, out, err = await run_tw(
        "why",
        "someone",
        "something",
        "--json",
        env={**platform.operator_env(), "TW_MATCHING_DATABASE_URL": unreachable},
    )

    assert (code, out) == (8, "")
    assert "cannot reach a database" in err
    assert "s3cret" not in err
    assert "Traceback" not in err
