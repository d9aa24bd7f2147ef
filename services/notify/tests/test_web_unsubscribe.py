"""The unsubscribe pages, in process: the real `create_app` without its lifespan, through an
ASGI client, with the use cases replaced by recorders (what they do to the ledger is
`tests/integration/test_stopping.py`).

Each page is in the link's language, else the browser's Accept-Language, else English; the
POST's `scope` chooses this channel or all alerts, or undoes either; one-click (RFC 8058) is
this channel; an unknown scope changes nothing and gets 422; a link we did not sign gets the
404 page, in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tenderwire_notify import services
from tenderwire_notify.bootstrap import create_app
from tenderwire_notify.domain import (
    LINK_SCOPES,
    LinkAction,
    StopScope,
    every_address,
    link_action,
)
from tenderwire_notify.rendering import MESSAGES, TEMPLATES
from tenderwire_notify.schemas import Subscriber, link_for
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared import dependencies as shared_dependencies
from tenderwire_shared.masking import mask_address
from tenderwire_shared.settings import Environment

PUBLIC_URL = "http://notify.test"
SETTINGS = NotifySettings(
    environment=Environment.TEST,
    public_base_url=PUBLIC_URL,
    operator_token=SecretStr("unit-operator-token-of-production-length"),
    smtp_timeout_s=10.0,
    sms_timeout_s=20.0,
)
EMAIL = Subscriber(
    supplier_id="sup-1", channel="email", address="compras@example.mz", language="pt"
)
PHONE = "+258840001122"
# Links signed before there was a language in them.
NO_LANGUAGE = Subscriber(supplier_id="sup-2", channel="email", address="bids@example.org")

# The use cases are replaced, so nothing asks the pool anything.
NO_POOL = object()


@dataclass
class Recorder:
    """Stands in for services.unsubscribe and services.resubscribe."""

    calls: list[tuple[str, Subscriber, dict[str, Any]]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    async def unsubscribe(
        self, pool: object, subscriber: Subscriber, **kwargs: Any
    ) -> list[tuple[str, str]]:
        self.calls.append(("unsubscribe", subscriber, kwargs))
        if kwargs["scope"] is StopScope.ALL:
            return self.stopped
        return [(subscriber.channel, subscriber.address)]

    async def resubscribe(
        self, pool: object, subscriber: Subscriber, **kwargs: Any
    ) -> services.Resubscribed:
        self.calls.append(("resubscribe", subscriber, kwargs))
        return services.Resubscribed(
            lifted=[(subscriber.channel, subscriber.address)], still_refused=self.refused
        )


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder(stopped=[("email", EMAIL.address), ("sms", PHONE)])
    monkeypatch.setattr(services, "unsubscribe", recording.unsubscribe)
    monkeypatch.setattr(services, "resubscribe", recording.resubscribe)
    return recording


def an_app() -> FastAPI:
    app = create_app(SETTINGS)
    app.dependency_overrides[shared_dependencies.get_pool] = lambda: NO_POOL
    return app


@pytest.fixture
async def http(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


def language_of(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([a-z]+)" dir="(ltr|rtl)">', page.text)
    assert found is not None, page.text[:300]
    assert page.headers["Content-Language"] == found.group(1)
    assert page.headers["Content-Type"].startswith("text/html")
    return found.group(1)


def scopes_offered(page: httpx.Response) -> list[str]:
    return re.findall(r'<input type="hidden" name="scope" value="([a-z-]+)">', page.text)


# --- Which language ------------------------------------------------------------------------


async def test_the_confirmation_is_in_the_links_language_whatever_the_browser_says(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(link_for(SETTINGS, EMAIL), headers={"Accept-Language": "fr, en"})

    assert page.status_code == 200
    assert language_of(page) == "pt"
    assert page.text == TEMPLATES.render(
        "pages/unsubscribe_confirm.html",
        "pt",
        channel="email",
        address=EMAIL.address,
        unknown_choice=False,
    )
    assert "Accept-Language" in page.headers["Vary"]


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("fr-CA, en;q=0.5", "fr"),
        ("de-DE, ru;q=0.8, en;q=0.5", "ru"),
        ("en;q=0.2, pt-BR", "pt"),
        ("de, *", "en"),
        ("x" * 300, "en"),
        (None, "en"),
    ],
)
async def test_a_link_without_a_language_follows_accept_language_else_english(
    http: httpx.AsyncClient, accept_language: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}

    page = await http.get(link_for(SETTINGS, NO_LANGUAGE), headers=headers)

    assert page.status_code == 200
    assert language_of(page) == expected


async def test_an_arabic_page_reads_right_to_left(http: httpx.AsyncClient) -> None:
    arabic = EMAIL.model_copy(update={"language": "ar"})

    page = await http.get(link_for(SETTINGS, arabic))

    assert '<html lang="ar" dir="rtl">' in page.text
    assert f'<bdi dir="ltr">{EMAIL.address}</bdi>' in page.text  # the address stays left to right


async def test_a_link_we_did_not_sign_is_a_404_page_in_the_readers_language(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    forged = link_for(SETTINGS, EMAIL)[:-3] + "xyz"

    shown = await http.get(forged, headers={"Accept-Language": "es"})
    posted = await http.post(forged, data={"scope": "all"}, headers={"Accept-Language": "es"})

    for page in (shown, posted):
        assert page.status_code == 404
        assert language_of(page) == "es"
        assert page.text == TEMPLATES.render("pages/invalid_link.html", "es")
    assert recorder.calls == []


# --- What a GET offers and a POST stops ----------------------------------------------------


async def test_a_get_offers_this_channel_or_all_alerts_and_changes_nothing(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.get(link_for(SETTINGS, EMAIL))

    assert scopes_offered(page) == ["channel", "all"]
    assert page.text.count('<form method="post">') == 2
    assert recorder.calls == []


async def test_one_click_stops_this_channel_and_waits_for_every_channels_sends(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL), data={"List-Unsubscribe": "One-Click"})

    assert page.status_code == 200
    assert recorder.calls == [
        ("unsubscribe", EMAIL, {"scope": StopScope.CHANNEL, "timeout_s": 25.0})
    ]
    assert page.text == TEMPLATES.render(
        "pages/unsubscribed.html",
        "pt",
        scope="channel",
        channel="email",
        address=EMAIL.address,
        stopped_addresses=[],
    )
    assert scopes_offered(page) == ["resubscribe-channel"]


async def test_a_post_with_no_body_at_all_is_one_click_too(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL))

    assert page.status_code == 200
    assert [(name, kwargs["scope"]) for name, _, kwargs in recorder.calls] == [
        ("unsubscribe", StopScope.CHANNEL)
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"scope": "all"}', "application/json"),
        (b"scope=all", "text/plain"),
        (b"scope=all", None),
    ],
)
async def test_a_body_that_is_not_a_form_is_refused_and_stops_nothing(
    http: httpx.AsyncClient, recorder: Recorder, content: bytes, content_type: str | None
) -> None:
    # Taken as one-click, {"scope": "all"} would stop only this channel, not what was asked.
    headers = {"Content-Type": content_type} if content_type else {}

    page = await http.post(link_for(SETTINGS, EMAIL), content=content, headers=headers)

    assert page.status_code == 422, page.text
    (error,) = page.json()["detail"]
    assert error["loc"] == ["body"]
    assert "form" in error["msg"]
    assert recorder.calls == []


async def test_all_alerts_stops_every_address_and_the_page_lists_them(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL), data={"scope": "all"})

    assert page.status_code == 200
    assert [(name, kwargs["scope"]) for name, _, kwargs in recorder.calls] == [
        ("unsubscribe", StopScope.ALL)
    ]
    # The link's own address in full; the others masked, since an alert can be forwarded.
    assert f'<bdi dir="ltr">{mask_address(PHONE)}</bdi>' in page.text
    assert PHONE not in page.text
    assert f'<bdi dir="ltr">{EMAIL.address}</bdi>' in page.text
    assert page.text.count("<li>") == 2
    assert scopes_offered(page) == ["resubscribe-all"]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [("resubscribe-channel", StopScope.CHANNEL), ("resubscribe-all", StopScope.ALL)],
)
async def test_undo_resubscribes_with_the_same_scope(
    http: httpx.AsyncClient, recorder: Recorder, scope: str, expected: StopScope
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL), data={"scope": scope})

    assert page.status_code == 200
    assert recorder.calls == [("resubscribe", EMAIL, {"scope": expected})]
    assert language_of(page) == "pt"
    assert page.text == TEMPLATES.render(
        "pages/resubscribed.html", "pt", address=EMAIL.address, still_refused=[]
    )


@pytest.mark.parametrize(
    "scope", ["ALL", "everything", "resubscribe", "all ", "channel\x00", "<script>", "é" * 5000]
)
async def test_an_unknown_scope_changes_nothing_and_shows_the_choices_again_as_422(
    http: httpx.AsyncClient, recorder: Recorder, scope: str
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL), data={"scope": scope})

    assert page.status_code == 422
    assert language_of(page) == "pt"
    assert scopes_offered(page) == ["channel", "all"]
    assert "<script>" not in page.text
    assert recorder.calls == []


# --- The rules behind them -----------------------------------------------------------------


def test_each_scope_a_page_posts_is_one_action() -> None:
    assert link_action(None) == (LinkAction.UNSUBSCRIBE, StopScope.CHANNEL)
    assert {scope: link_action(scope) for scope in LINK_SCOPES} == {
        "channel": (LinkAction.UNSUBSCRIBE, StopScope.CHANNEL),
        "all": (LinkAction.UNSUBSCRIBE, StopScope.ALL),
        "resubscribe-channel": (LinkAction.RESUBSCRIBE, StopScope.CHANNEL),
        "resubscribe-all": (LinkAction.RESUBSCRIBE, StopScope.ALL),
    }
    assert link_action("") is None


def test_all_alerts_means_the_link_then_the_ledger_then_the_newest_registration() -> None:
    pairs = every_address(
        ("email", "Compras@Example.mz"),
        [("email", "compras@example.mz"), ("email", "old@example.mz"), ("sms", "+258840000001")],
        "new@example.mz",
        PHONE,
    )

    assert pairs == [
        ("email", "Compras@Example.mz"),
        ("email", "old@example.mz"),
        ("sms", "+258840000001"),
        ("email", "new@example.mz"),
        ("sms", PHONE),
    ]


def test_all_alerts_of_a_supplier_the_ledger_knows_nothing_of_is_the_link_alone() -> None:
    assert every_address(("email", "a@example.org"), [], None, None) == [("email", "a@example.org")]
    assert every_address(("sms", PHONE), [], None, PHONE) == [("sms", PHONE)]


async def test_undo_says_so_when_an_address_still_refuses_alerts(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.refused = [("email", EMAIL.address)]
    page = await http.post(link_for(SETTINGS, EMAIL), data={"scope": "resubscribe-all"})

    assert page.status_code == 200
    words = MESSAGES("pt")
    refused = words.gettext(
        "Your choice to stop has been undone, but these addresses refused our messages and get"
        " no alerts until the problem is fixed:"
    )
    assert refused in page.text
    assert EMAIL.address in page.text
    assert (
        words.gettext(
            "Tender alerts to %(address)s start again with the next tender that matches your codes."
        ).split("%(address)s")[0]
        not in page.text
    )


async def test_an_unknown_choice_says_nothing_changed(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.post(link_for(SETTINGS, EMAIL), data={"scope": "everything"})

    assert page.status_code == 422
    assert (
        MESSAGES("pt").gettext(
            "That choice is not one of these. Nothing has changed: please choose again."
        )
        in page.text
    )
    assert recorder.calls == []


@pytest.mark.parametrize("body", ["scope=all&scope=channel", "scope=channel&scope=resubscribe-all"])
async def test_two_different_choices_at_once_are_no_choice_and_change_nothing(
    http: httpx.AsyncClient, recorder: Recorder, body: str
) -> None:
    # Whichever came last used to win: a hand-made or replayed form could stop, or undo,
    # something other than what its first field said.
    page = await http.post(
        link_for(SETTINGS, EMAIL),
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert page.status_code == 422
    assert scopes_offered(page) == ["channel", "all"]
    assert recorder.calls == []


async def test_the_same_choice_twice_is_that_choice(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    page = await http.post(
        link_for(SETTINGS, EMAIL),
        content="scope=all&scope=all",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert page.status_code == 200
    assert [kwargs["scope"] for _, _, kwargs in recorder.calls] == [StopScope.ALL]


async def test_the_pages_are_never_cached_and_answer_head(http: httpx.AsyncClient) -> None:
    page = await http.get(link_for(SETTINGS, EMAIL))
    head = await http.head(link_for(SETTINGS, EMAIL))

    assert page.headers["Cache-Control"] == "no-store"
    assert head.status_code == 200
    assert head.content == b""
