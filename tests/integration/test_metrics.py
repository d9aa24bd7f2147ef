"""/metrics on every service moves when events flow."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


async def scrape(http: httpx.AsyncClient, url: str) -> dict[tuple[str, tuple[str, ...]], float]:
    response = await http.get(f"{url}/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(f"{k}={v}" for k, v in sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[str, ...]], float], name: str, **labels: str) -> float:
    wanted = tuple(sorted(f"{k}={v}" for k, v in labels.items()))
    return samples.get((name, wanted), 0.0)


async def test_metrics_move_when_a_tender_flows_through(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notices is not None
    assert platform.matching is not None
    assert platform.notify is not None
    tenders = f"{platform.topic_prefix}tenders.v1"
    code, key = await platform.new_agency()
    supplier = await register(
        http, platform, unspsc_codes=["59101500"], email=f"{unique('metrics')}@example.org"
    )
    before = await scrape(http, platform.notices.url)

    await publish(Agency(http, platform, code, key), unspsc_codes=["59101501"])
    await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 1)
    )
    after_notices = await scrape(http, platform.notices.url)
    after_matching = await scrape(http, platform.matching.url)
    after_notify = await scrape(http, platform.notify.url)

    published = "tw_events_published_total"
    labels = {"topic": tenders, "event_type": "tender.published"}
    assert value(after_notices, published, **labels) == value(before, published, **labels) + 1
    consumed = {"consumer": "matching", "event_type": "tender.published", "outcome": "handled"}
    assert value(after_matching, "tw_events_consumed_total", **consumed) >= 1
    assert value(after_matching, "tw_event_handler_seconds_count", consumer="matching") >= 1
    assert value(after_notify, "tw_notifications_total", channel="email", state="sent") >= 1
