"""The private Atom feed (RFC 4287's shape, escaping, 404 for a wrong token) and the alerts
page over a scripted notify: rows with their states and links, the channels' buttons, and a
page that still renders when notify is down or answers nonsense."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tenderwire_matching.bootstrap import create_app
from tenderwire_matching.portal.feed.domain import ATOM, Entry, Feed, atom
from tenderwire_matching.portal.feed.services import Links, feed_document
from tenderwire_matching.portal.web.rendering import MESSAGES
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import get_pool
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot
from tenderwire_shared.settings import Environment
from tests.support.portal_pages import OPERATOR_TOKEN, Portal, portal

NS = {"a": ATOM}
WHEN = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)


def test_the_feed_is_atom_with_every_required_element_and_escapes_what_it_quotes() -> None:
    document = atom(
        Feed(
            id="urn:tenderwire:feed:s1",
            title="Tenders & <things>",
            self_link="https://t.example/portal/feed/abc.atom",
            alternate_link="https://t.example/portal/alerts",
            language="fr",
            updated=WHEN,
            entries=[
                Entry(
                    id="urn:uuid:1",
                    title='Gowns <script>alert("x")</script> & masks\x00\x07',
                    link="https://t.example/v1/notices/t1?a=1&b=2",
                    updated=WHEN,
                    summary="Deadline: 15 Jan",
                )
            ],
        )
    )
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<script>" not in document
    assert b"&lt;script&gt;" in document
    root = ET.fromstring(document)  # noqa: S314 - our own document, in a test
    assert root.tag == f"{{{ATOM}}}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    for required in ("id", "title", "updated", "author/a:name"):
        assert root.find(f"a:{required}", NS) is not None, required
    assert root.findtext("a:title", namespaces=NS) == "Tenders & <things>"
    assert root.find("a:link[@rel='self']", NS).get("type") == "application/atom+xml"  # type: ignore[union-attr]
    (entry,) = root.findall("a:entry", NS)
    assert entry.findtext("a:title", namespaces=NS) == 'Gowns <script>alert("x")</script> & masks'
    assert entry.findtext("a:updated", namespaces=NS) == "2026-12-02T10:30:00+00:00"
    assert entry.find("a:link", NS).get("href") == "https://t.example/v1/notices/t1?a=1&b=2"  # type: ignore[union-attr]
    assert entry.find("a:summary", NS).get("type") == "text"  # type: ignore[union-attr]


def a_snapshot(title: str) -> str:
    return TenderSnapshot(
        tender_id="t-42",
        revision=2,
        agency="UNICEF",
        reference="RFQ/2027/42",
        title=title,
        description="",
        language="en",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=("42131606",),
        beneficiary_countries=("SEN",),
        deadline=datetime(2027, 1, 15, 17, tzinfo=UTC),
        deadline_utc_offset_minutes=60,
        published_at=datetime(2026, 12, 1, tzinfo=UTC),
    ).model_dump_json()


class FeedRows:
    """The two queries the feed makes, answered from memory."""

    def __init__(self, owner: dict[str, Any] | None, matches: list[dict[str, Any]]) -> None:
        self.owner = owner
        self.matches = matches
        self.asked: list[tuple[Any, ...]] = []

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        self.asked.append(args)
        return self.owner if self.owner and args == ("good-token",) else None

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return self.matches


# English: the portal's catalogs are written after merge; the zone is still the supplier's.
OWNER = {"id": "s1", "language": "en", "timezone": "America/Lima"}
MATCHES = [
    {
        "id": "m2",
        "kind": "amended",
        "revision": 2,
        "created_at": WHEN,
        "snapshot": a_snapshot("Blouses"),
    },
    {
        "id": "m1",
        "kind": "new",
        "revision": 1,
        "created_at": WHEN,
        "snapshot": a_snapshot("Blouses"),
    },
]
LINKS = Links(notices_url="https://notices.example/", portal_url="https://portal.example/portal")


async def test_the_feed_lists_the_matches_newest_first_with_links_and_deadlines() -> None:
    document = await feed_document(FeedRows(OWNER, MATCHES), "good-token", MESSAGES, LINKS, WHEN)  # type: ignore[arg-type]
    assert document is not None
    root = ET.fromstring(document)  # noqa: S314 - our own document, in a test
    entries = root.findall("a:entry", NS)
    assert [e.findtext("a:id", namespaces=NS) for e in entries] == ["urn:uuid:m2", "urn:uuid:m1"]
    assert [e.findtext("a:title", namespaces=NS) for e in entries] == [
        "Amended: Blouses",
        "New tender: Blouses",
    ]
    link = entries[0].find("a:link", NS)
    assert link is not None
    assert link.get("href") == "https://notices.example/v1/notices/t-42"
    summary = entries[0].findtext("a:summary", namespaces=NS) or ""
    # The deadline in the supplier's zone: 17:00 UTC is noon in Lima.
    assert "Jan 15, 2027, 12:00:00" in summary
    assert "RFQ/2027/42" in summary
    self_link = root.find("a:link[@rel='self']", NS)
    assert self_link is not None
    assert self_link.get("href") == "https://portal.example/portal/feed/good-token.atom"


async def test_a_feed_with_no_match_yet_is_still_a_valid_feed() -> None:
    document = await feed_document(FeedRows(OWNER, []), "good-token", MESSAGES, LINKS, WHEN)  # type: ignore[arg-type]
    assert document is not None
    root = ET.fromstring(document)  # noqa: S314 - our own document, in a test
    assert root.findall("a:entry", NS) == []
    assert root.findtext("a:updated", namespaces=NS) == "2026-12-02T10:30:00+00:00"


@pytest_asyncio.fixture
async def feed_client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(MatchingSettings(environment=Environment.TEST))
    app.dependency_overrides[get_pool] = lambda: FeedRows(OWNER, MATCHES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
        yield client


async def test_the_feed_route_answers_atom_and_a_wrong_token_404(
    feed_client: httpx.AsyncClient,
) -> None:
    good = await feed_client.get("/portal/feed/good-token.atom")
    assert good.status_code == 200
    assert good.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert "no-store" in good.headers["cache-control"]
    ET.fromstring(good.content)  # noqa: S314 - our own document, in a test
    for wrong in ("wrong-token", "x" * 101, "%00", "<script>", "good-token.atom"):
        answer = await feed_client.get(f"/portal/feed/{wrong}.atom")
        assert answer.status_code in (404, 422), (wrong, answer.status_code)
    assert (await feed_client.get("/portal/feed/wrong-token.atom")).status_code == 404


# --- The alerts page ----------------------------------------------------------------------


ALERT_ROWS = [
    {
        "id": "d1",
        "tender_id": "t-42",
        "revision": 1,
        "tender_title": "Gowns <b>bold</b>",
        "kind": "new",
        "channel": "email",
        "state": "delivered",
        "reason": None,
        "digest": False,
        "created_at": "2026-12-01T09:00:00Z",
        "sent_at": "2026-12-01T09:00:02Z",
    },
    {
        "id": "d2",
        "tender_id": "t-43",
        "tender_title": None,
        "kind": "cancelled",
        "channel": "sms",
        "state": "brand-new-state",
        "created_at": "not a date",
    },
    "not an object",
]


def notify_with(alerts: Any, channels: Any, status: int = 200) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/alerts"):
            return httpx.Response(status, json=alerts)
        if request.method == "POST":
            body = json.loads(request.content)
            return httpx.Response(
                200,
                json=[
                    {**a, "stopped": not body["subscribed"], "reason": "unsubscribed"}
                    for a in body["addresses"]
                ],
            )
        return httpx.Response(status, json=channels)

    return answer


CHANNELS = [
    {"channel": "email", "address": "bids@kibo.example", "stopped": False, "reason": None},
    {"channel": "sms", "address": "+221771234567", "stopped": True, "reason": "sms-stop"},
]


@pytest_asyncio.fixture
async def alerts_page() -> AsyncIterator[Portal]:
    async for state in portal(notify=notify_with(ALERT_ROWS, CHANNELS)):
        yield state


async def test_the_alerts_page_lists_each_alert_with_its_state_and_notice_link(
    alerts_page: Portal,
) -> None:
    page = await alerts_page.http.get("/portal/alerts")
    assert page.status_code == 200
    assert (
        '<a href="http://127.0.0.1:18001/v1/notices/t-42">Gowns &lt;b&gt;bold&lt;/b&gt;</a>'
        in page.text
    )
    assert "Delivered" in page.text
    assert "Unknown state" in page.text
    assert '<a href="http://127.0.0.1:18001/v1/notices/t-43">t-43</a>' in page.text
    assert "You replied STOP by text message" in page.text
    (alerts_call, channels_call) = alerts_page.notify_calls
    assert alerts_call.url.params["limit"] == "50"
    assert alerts_call.headers["authorization"] == f"Bearer {OPERATOR_TOKEN}"
    assert channels_call.url.params.get_list("email") == ["bids@kibo.example"]
    assert channels_call.url.params.get_list("phone") == ["+221771234567"]


@pytest.mark.parametrize(
    "notify",
    [
        notify_with([], [], status=503),
        notify_with({"unexpected": True}, {"nor": "this"}),
        notify_with("a string", 42),
    ],
)
async def test_the_alerts_page_renders_when_notify_is_down_or_answers_nonsense(
    notify: Any,
) -> None:
    async for state in portal(notify=notify):
        page = await state.http.get("/portal/alerts")
        assert page.status_code == 200
        assert "Your alert history is not available right now" in page.text
        assert "We cannot show or change this right now" in page.text


async def test_the_alerts_page_renders_when_notify_cannot_be_reached() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async for state in portal(notify=unreachable):
        page = await state.http.get("/portal/alerts")
        assert page.status_code == 200
        assert "not available right now" in page.text


async def test_stopping_and_resuming_a_channel_asks_notify_with_the_suppliers_addresses(
    alerts_page: Portal,
) -> None:
    answer = await alerts_page.post("/portal/alerts/channels", {"scope": "sms", "action": "stop"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/alerts?done=channels"
    stop = alerts_page.notify_calls[-1]
    assert stop.method == "POST"
    assert json.loads(stop.content) == {
        "scope": "sms",
        "subscribed": False,
        "addresses": [
            {"channel": "email", "address": "bids@kibo.example"},
            {"channel": "sms", "address": "+221771234567"},
        ],
    }
    await alerts_page.post("/portal/alerts/channels", {"scope": "all", "action": "resume"})
    assert json.loads(alerts_page.notify_calls[-1].content)["subscribed"] is True


async def test_stopping_all_alerts_covers_the_further_confirmed_contacts_too() -> None:
    async for state in portal(
        notify=notify_with(ALERT_ROWS, CHANNELS), also_email=["achats@kibo.example"]
    ):
        await state.post("/portal/alerts/channels", {"scope": "all", "action": "stop"})
        asked = json.loads(state.notify_calls[-1].content)["addresses"]
        assert {"channel": "email", "address": "achats@kibo.example"} in asked


@pytest.mark.parametrize(
    "fields",
    [{"scope": "fax", "action": "stop"}, {"scope": "all", "action": "<script>"}, {"scope": "all"}],
)
async def test_an_unknown_channel_choice_changes_nothing(
    alerts_page: Portal, fields: dict[str, str]
) -> None:
    answer = await alerts_page.post("/portal/alerts/channels", fields)
    assert answer.status_code == 422
    assert all(call.method == "GET" for call in alerts_page.notify_calls)
