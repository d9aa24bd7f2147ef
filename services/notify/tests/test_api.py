"""Notify's HTTP edges against hostile callers, in process: the real `create_app` without its
lifespan (no database, no Kafka), through an ASGI client. SMS status callbacks count only when
signed by the provider the URL names; the deliveries list refuses a request it cannot answer
with a 4xx naming the field.

The pool is a stand-in that records every call: a refused request must never reach it, which
is what "the delivery is unchanged" means here. (`tests/integration/test_notify_edges.py`
shows a signed callback moving a real ledger row.)
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tenderwire_notify import dependencies
from tenderwire_notify.bootstrap import create_app
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SIGNATURE_HEADER, SmsProvider, status_callback_url
from tenderwire_shared import dependencies as shared_dependencies
from tenderwire_shared.settings import Environment
from tests.support.sms_callbacks import post_status

PUBLIC_URL = "http://notify.test"
OPERATOR_TOKEN = SecretStr("unit-operator-token-of-production-length")
OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN.get_secret_value()}"}
SMS_AUTH_TOKENS = {"primary": "primary-auth-token", "secondary": "secondary-auth-token"}
PROVIDERS = [
    SmsProvider(
        name=name,
        base_url="https://sms.example.org",
        account_sid=f"AC{name}",
        auth_token=SecretStr(token),
        sender="TENDERS",
    )
    for name, token in SMS_AUTH_TOKENS.items()
]
SETTINGS = NotifySettings(
    environment=Environment.TEST,
    public_base_url=PUBLIC_URL,
    operator_token=OPERATOR_TOKEN,
    sms_providers=PROVIDERS,
)
PRIMARY = PROVIDERS[0]
DELIVERED = {"MessageSid": "SMforged", "MessageStatus": "delivered"}


class RecordingPool:
    """Stands in for the asyncpg pool: records each call; an SMS status always applies."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetchval(self, *args: Any) -> Any:
        self.calls.append(("fetchval", args))
        return True

    async def fetch(self, *args: Any) -> list[Any]:
        self.calls.append(("fetch", args))
        return []

    def touched(self, delivery_id: str) -> bool:
        return any(delivery_id in args for _, args in self.calls)


def an_app(pool: RecordingPool, *, operator_checked: bool = False) -> FastAPI:
    app = create_app(SETTINGS)
    app.dependency_overrides[shared_dependencies.get_pool] = lambda: pool
    if not operator_checked:
        app.dependency_overrides[dependencies.operator] = lambda: None
    return app


@pytest.fixture
def pool() -> RecordingPool:
    return RecordingPool()


@pytest.fixture
async def http(pool: RecordingPool) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=an_app(pool))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


def refused_at(response: httpx.Response, loc: list[str]) -> None:
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert [e["loc"] for e in detail] == [loc]
    assert all(e["msg"] for e in detail)


def the_error(response: httpx.Response) -> dict[str, Any]:
    """The one error in a body of the one format."""
    body = response.json()
    assert list(body) == ["detail"], body
    (error,) = body["detail"]
    assert set(error) == {"loc", "msg", "type"}, error
    return dict(error)


def refusal(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text[:2000]
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    for problem in detail:
        assert set(problem) == {"loc", "msg", "type"}, problem
        assert len(problem["msg"]) < 1000, "a message echoes the input"
    return list(detail)


# --- SMS status callbacks ------------------------------------------------------------------


async def test_an_unsigned_callback_is_refused_and_the_delivery_unchanged(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    delivery_id = "d-unsigned"

    # As anyone could post it before: the old URL, and the URL notify now gives providers.
    bare = await http.post(f"{PUBLIC_URL}/v1/sms/status/{delivery_id}", data=DELIVERED)
    unsigned = await http.post(
        status_callback_url(PUBLIC_URL, PRIMARY, delivery_id), data=DELIVERED
    )

    refused_at(bare, ["query", "provider"])
    refused_at(unsigned, ["header", SIGNATURE_HEADER])
    assert pool.calls == []


@pytest.mark.parametrize(
    "forgery", ["a guessed token", "the other provider's token", "a bogus header"]
)
async def test_a_forged_signature_is_refused_and_the_delivery_unchanged(
    http: httpx.AsyncClient, pool: RecordingPool, forgery: str
) -> None:
    delivery_id = "d-forged"
    failed = {"MessageSid": "SMforged", "MessageStatus": "failed", "ErrorCode": "30003"}

    if forgery == "a bogus header":
        url = status_callback_url(PUBLIC_URL, PRIMARY, delivery_id)
        response = await http.post(url, data=failed, headers={SIGNATURE_HEADER: "x" * 28})
    else:
        token = "guessed" if forgery == "a guessed token" else SMS_AUTH_TOKENS["secondary"]
        response = await post_status(
            http, PUBLIC_URL, PRIMARY, delivery_id, failed, signed_with=token
        )

    refused_at(response, ["header", SIGNATURE_HEADER])
    assert pool.calls == []


async def test_a_valid_signature_replayed_for_another_delivery_is_refused(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    seen, target = "d-seen", "d-target"
    url = status_callback_url(PUBLIC_URL, PRIMARY, seen)
    captured = await post_status(http, PUBLIC_URL, PRIMARY, seen, DELIVERED)

    replayed = await http.post(
        url.replace(seen, target),
        data=DELIVERED,
        headers={SIGNATURE_HEADER: captured.request.headers[SIGNATURE_HEADER]},
    )

    assert captured.status_code == 204
    assert pool.touched(seen)
    refused_at(replayed, ["header", SIGNATURE_HEADER])
    assert not pool.touched(target)


async def test_a_control_character_in_the_error_code_is_refused_by_name(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    response = await post_status(
        http,
        PUBLIC_URL,
        PRIMARY,
        "d-control",
        {"MessageStatus": "failed", "ErrorCode": "300\x0003"},
    )

    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "ErrorCode"]]
    assert pool.calls == []


async def test_a_form_body_that_is_not_multipart_is_a_422_naming_the_body(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    url = f"{PUBLIC_URL}/v1/sms/status/some-delivery?provider=primary"

    for content_type in ("multipart/form-data; boundary=b", "multipart/form-data"):
        response = await http.post(
            url,
            content=b"garbage",
            headers={"Content-Type": content_type, "X-Twilio-Signature": "x"},
        )
        (problem,) = refusal(response, 422)
        assert problem["loc"] == ["body"]
        assert problem["type"] == "body_invalid"
    assert pool.calls == []


# --- The deliveries list, for operators ----------------------------------------------------


async def test_deliveries_without_a_filter_get_a_422_naming_the_field(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    response = await http.get("/v1/deliveries", headers=OPERATOR_HEADERS)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert [e["loc"] for e in detail] == [["query", "tender_id"]]
    assert "supplier_id" in detail[0]["msg"]
    assert pool.calls == []


@pytest.mark.parametrize("field", ["tender_id", "supplier_id"])
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "x" * 65, "'; DROP TABLE deliveries; --"])
async def test_a_filter_that_is_no_id_gets_a_422_naming_it(
    http: httpx.AsyncClient, pool: RecordingPool, field: str, value: str
) -> None:
    response = await http.get("/v1/deliveries", params={field: value}, headers=OPERATOR_HEADERS)

    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]
    assert pool.calls == []


async def test_a_nul_in_the_delivery_list_filter_is_a_422_naming_it(
    http: httpx.AsyncClient,
) -> None:
    for name in ("tender_id", "supplier_id"):
        response = await http.get(f"/v1/deliveries?{name}=T-1%00", headers=OPERATOR_HEADERS)
        assert response.status_code == 422, response.text
        assert the_error(response)["loc"] == ["query", name]


async def test_a_filtered_list_reaches_the_ledger(
    http: httpx.AsyncClient, pool: RecordingPool
) -> None:
    response = await http.get("/v1/deliveries", params={"tender_id": "T-1"})

    assert response.status_code == 200, response.text
    assert response.json() == []
    assert pool.touched("T-1")


@pytest.mark.parametrize(
    "authorization",
    [
        # Latin-1 in the header: base64's decoder refuses non-ASCII text with a bare
        # ValueError, which was not caught, so the operator views answered 500.
        "Basic \xff\xfe",
        "Basic " + base64.b64encode(b"ops:\xff\xfe").decode(),
        "Basic not-base64!",
    ],
)
async def test_an_undecodable_basic_credential_is_a_401_naming_the_header(
    pool: RecordingPool, authorization: str
) -> None:
    transport = httpx.ASGITransport(app=an_app(pool, operator_checked=True))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        response = await client.get(
            "/v1/deliveries",
            params={"tender_id": "x"},
            headers={b"Authorization": authorization.encode("latin-1")},
        )

    (problem,) = refusal(response, 401)
    assert problem["loc"] == ["header", "Authorization"]
    assert problem["type"] == "unauthorized"
    assert "WWW-Authenticate" in response.headers
    assert pool.calls == []


# --- The supplier portal's views -----------------------------------------------------------


class PortalPool(RecordingPool):
    """Also lends itself as a connection in a transaction, and says one address is stopped."""

    def __init__(self, stopped: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.stopped = stopped or {}

    async def fetch(self, *args: Any) -> list[Any]:
        self.calls.append(("fetch", args))
        if "FROM suppressions s" in args[0] and "s.reason" in args[0]:
            return [{"channel": c, "address": a, "reason": r} for (c, a), r in self.stopped.items()]
        return []

    async def fetchval(self, *args: Any) -> Any:
        self.calls.append(("fetchval", args))
        return 0  # no send in flight

    async def execute(self, *args: Any) -> str:
        self.calls.append(("execute", args))
        return "INSERT 0 1"

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[PortalPool]:
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


@pytest.fixture
async def portal() -> AsyncIterator[tuple[httpx.AsyncClient, PortalPool]]:
    pool = PortalPool({("sms", "+221770001122"): "sms-stop"})
    transport = httpx.ASGITransport(app=an_app(pool))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client, pool


async def test_the_portal_views_need_the_operators_token() -> None:
    pool = PortalPool()
    transport = httpx.ASGITransport(app=an_app(pool, operator_checked=True))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        alerts = await client.get("/v1/suppliers/s1/alerts")
        change = await client.post(
            "/v1/suppliers/s1/channels",
            json={"scope": "all", "subscribed": False, "addresses": []},
        )
        allowed = await client.get("/v1/suppliers/s1/alerts", headers=OPERATOR_HEADERS)

    assert alerts.status_code == 401
    assert change.status_code == 401
    assert allowed.status_code == 200
    assert allowed.json() == []
    assert len(pool.calls) == 1


async def test_the_alerts_list_asks_the_ledger_for_at_most_fifty(
    portal: tuple[httpx.AsyncClient, PortalPool],
) -> None:
    http, pool = portal

    default = await http.get("/v1/suppliers/s-1/alerts")
    ten = await http.get("/v1/suppliers/s-1/alerts", params={"limit": 10})

    assert default.status_code == ten.status_code == 200
    assert [args[1:] for _, args in pool.calls] == [
        ("s-1", ["new", "amended", "cancelled"], 50),
        ("s-1", ["new", "amended", "cancelled"], 10),
    ]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/v1/suppliers/s1/alerts", {"limit": "51"}, ["query", "limit"]),
        ("/v1/suppliers/s1/alerts", {"limit": "0"}, ["query", "limit"]),
        ("/v1/suppliers/s1/alerts", {"limit": "ten"}, ["query", "limit"]),
        ("/v1/suppliers/s1/alerts", {"limit": "9" * 40}, ["query", "limit"]),
        ("/v1/suppliers/s%001/alerts", {}, ["path", "supplier_id"]),
        ("/v1/suppliers/<script>/alerts", {}, ["path", "supplier_id"]),
        ("/v1/suppliers/" + "s" * 65 + "/channels", {}, ["path", "supplier_id"]),
        ("/v1/suppliers/s1/channels", {"email": "not-an-address"}, ["query", "email", 0]),
        ("/v1/suppliers/s1/channels", {"email": "a@b\x00.org"}, ["query", "email"]),
        ("/v1/suppliers/s1/channels", {"phone": "0770001122"}, ["query", "phone", 0]),
        ("/v1/suppliers/s1/channels", {"phone": "+2217700<b>"}, ["query", "phone", 0]),
    ],
)
async def test_a_bad_portal_query_is_a_422_naming_it(
    portal: tuple[httpx.AsyncClient, PortalPool], path: str, params: dict[str, str], loc: list[Any]
) -> None:
    http, pool = portal

    response = await http.get(path, params=params)

    assert the_error(response)["loc"] == loc, response.text
    assert response.status_code == 422
    assert pool.calls == []


async def test_the_channels_view_says_which_address_is_stopped_and_why(
    portal: tuple[httpx.AsyncClient, PortalPool],
) -> None:
    http, _ = portal

    response = await http.get(
        "/v1/suppliers/s1/channels",
        params=[("email", "own@example.org"), ("phone", "+221770001122")],
    )

    assert response.status_code == 200
    assert response.json() == [
        {"channel": "email", "address": "own@example.org", "stopped": False, "reason": None},
        {"channel": "sms", "address": "+221770001122", "stopped": True, "reason": "sms-stop"},
    ]


async def test_stopping_by_scope_suppresses_only_that_channel_s_addresses(
    portal: tuple[httpx.AsyncClient, PortalPool],
) -> None:
    http, pool = portal

    response = await http.post(
        "/v1/suppliers/s1/channels",
        json={
            "scope": "email",
            "subscribed": False,
            "addresses": [
                {"channel": "email", "address": "own@example.org"},
                {"channel": "sms", "address": "+221770001122"},
            ],
        },
    )

    assert response.status_code == 200, response.text
    assert [s["address"] for s in response.json()] == ["own@example.org"]
    [insert] = [a for kind, a in pool.calls if kind == "execute" and "INSERT" in a[0]]
    assert insert[1:] == (["email"], ["own@example.org"], "unsubscribed")


async def test_resuming_lifts_only_an_unsubscribe_and_shows_what_stays_stopped(
    portal: tuple[httpx.AsyncClient, PortalPool],
) -> None:
    http, pool = portal

    response = await http.post(
        "/v1/suppliers/s1/channels",
        json={
            "scope": "all",
            "subscribed": True,
            "addresses": [{"channel": "sms", "address": "+221770001122"}],
        },
    )

    assert response.status_code == 200, response.text
    assert response.json() == [
        {"channel": "sms", "address": "+221770001122", "stopped": True, "reason": "sms-stop"}
    ]
    [lift] = [a for _, a in pool.calls if "DELETE FROM suppressions" in a[0]]
    assert lift[3] == ["unsubscribed"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {
                "scope": "fax",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a@b.org"}],
            },
            ["body", "scope"],
        ),
        (
            {
                "scope": "all",
                "subscribed": "maybe",
                "addresses": [{"channel": "email", "address": "a@b.org"}],
            },
            ["body", "subscribed"],
        ),
        ({"scope": "all", "subscribed": False, "addresses": []}, ["body", "addresses"]),
        ({"scope": "all", "subscribed": False}, ["body", "addresses"]),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a@b.org"}] * 21,
            },
            ["body", "addresses"],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "pigeon", "address": "a@b.org"}],
            },
            ["body", "addresses", 0, "channel"],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "<script>alert(1)</script>"}],
            },
            ["body", "addresses", 0],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a@b\u0000.org"}],
            },
            ["body", "addresses", 0],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "sms", "address": "own@example.org"}],
            },
            ["body", "addresses", 0],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a" * 300 + "@b.org"}],
            },
            ["body", "addresses", 0, "address"],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": 42}],
            },
            ["body", "addresses", 0, "address"],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a@b.org", "extra": 1}],
            },
            ["body", "addresses", 0, "extra"],
        ),
        (
            {
                "scope": "all",
                "subscribed": False,
                "addresses": [{"channel": "email", "address": "a@b.org"}],
                "why": "x",
            },
            ["body", "why"],
        ),
    ],
)
async def test_a_bad_channels_change_is_a_422_naming_the_field(
    portal: tuple[httpx.AsyncClient, PortalPool], body: dict[str, Any], loc: list[Any]
) -> None:
    http, pool = portal

    response = await http.post("/v1/suppliers/s1/channels", json=body)

    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["detail"]], response.text
    assert pool.calls == []


async def test_a_channels_change_that_is_not_json_is_a_422() -> None:
    pool = PortalPool()
    transport = httpx.ASGITransport(app=an_app(pool))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        response = await client.post(
            "/v1/suppliers/s1/channels",
            content=b"\x00\xff{",
            headers={"Content-Type": "application/json"},
        )

    assert response.status_code == 422
    assert pool.calls == []
