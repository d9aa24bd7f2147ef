"""`tw why SUPPLIER TENDER`, run as the operator runs it: matched, not matched (naming the
failed rule), and matched but not delivered."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import httpx
import pytest

from tests.eventually import eventually
from tests.integration.matching_helpers import publish, register, seen_by_matching, unique
from tests.integration.notices_api import Agency
from tests.integration.test_smtp_failures import deliveries, settled
from tests.platform import Platform

pytestmark = pytest.mark.integration


async def tw_why(platform: Platform, supplier_id: str, tender_id: str) -> tuple[int, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tenderwire_stack", "why", supplier_id, tender_id, "--json",
        env={
            **os.environ,
            "TW_MATCHING_DATABASE_URL": platform.dsns["matching"],
            "TW_NOTIFY_DATABASE_URL": platform.dsns["notify"],
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, json.loads(out) if out.strip() else err.decode()


async def test_why_answers_matched_not_matched_and_not_delivered(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    alerted = await register(http, platform, unspsc_codes=["60101500"])
    wrong_code = await register(http, platform, unspsc_codes=["60100000"])  # the family
    wrong_country = await register(
        http, platform, unspsc_codes=["60101500"], beneficiary_countries=["PE"]
    )
    bounced = await register(
        http, platform, unspsc_codes=["60101500"], email=f"{unique('bounce')}@example.org"
    )
    notice = await publish(agency, unspsc_codes=["60101501"], beneficiary_countries=["SN"])
    await seen_by_matching(platform, notice["id"], 1)
    for supplier in (alerted, bounced):
        supplier_id: str = supplier["id"]
        await eventually(
            lambda: deliveries(http, platform, supplier_id),  # noqa: B023 - awaited at once
            until=lambda r: settled(r, 1),
        )

    code_ok, ok = await tw_why(platform, alerted["id"], notice["id"])
    code_miss, miss = await tw_why(platform, wrong_code["id"], notice["id"])
    code_filter, filtered = await tw_why(platform, wrong_country["id"], notice["id"])
    code_failed, failed = await tw_why(platform, bounced["id"], notice["id"])
    code_unknown, _ = await tw_why(platform, "nobody", notice["id"])

    assert (code_ok, ok["verdict"]) == (0, "alerted")
    assert (code_miss, miss["verdict"]) == (4, "not_matched")
    assert "unspsc_code" in miss["summary"]
    assert (
        "2 levels apart" in next(c for c in miss["checks"] if c["rule"] == "unspsc_code")["detail"]
    )
    assert (code_filter, filtered["verdict"]) == (4, "not_matched")
    assert "beneficiary_country" in filtered["summary"]
    assert (code_failed, failed["verdict"]) == (3, "not_delivered")
    assert "email failed" in failed["summary"]
    assert failed["deliveries"][0]["last_error"].startswith("SMTP 550")
    assert code_unknown == 1
