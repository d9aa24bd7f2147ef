"""Texts sent back to an SMS alert, in process: the real `create_app` without its lifespan,
through an ASGI client, with the use cases replaced by recorders (what they do to the ledger
is `tests/integration/test_stopping.py`).

The words choose the action (STOP, START, HELP in every language; anything else is not
answered); the answer is TwiML, XML-escaped, in the language of the number's newest alert;
only texts signed by the provider the URL names count; hostile input gets a 4xx naming the
field before anything is asked of the database; a database that cannot be reached gets 503
with Retry-After, so the provider retries.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tenderwire_notify import api, services
from tenderwire_notify.bootstrap import create_app
from tenderwire_notify.domain import SmsCommand, sms_command
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SIGNATURE_HEADER, SmsProvider, twilio_signature
from tenderwire_notify.sms_text import refused_reply, reply_to
from tenderwire_shared import dependencies as shared_dependencies
from tenderwire_shared.settings import Environment

PUBLIC_URL = "https://notify.example.org"
TOKENS = {"primary": "primary-auth-token", "secondary": "secondary-auth-token"}
HELP_CONTACT = "help@tenderwire.example"
SETTINGS = NotifySettings(
    environment=Environment.TEST,
    public_base_url=PUBLIC_URL,
    operator_token=SecretStr("unit-operator-token-of-production-length"),
    sms_help_contact=HELP_CONTACT,
    sms_providers=[
        SmsProvider(
            name=name,
            base_url="https://sms.example.org",
            account_sid=f"AC{name}",
            auth_token=SecretStr(token),
            sender="+15005550006",
        )
        for name, token in TOKENS.items()
    ],
)
NUMBER = "+258840001122"

# The use cases are replaced, so nothing asks the pool anything.
NO_POOL = object()


@dataclass
class Recorder:
    """Stands in for the use cases: records each call, answers with the number's language."""

    language: str | None = "pt"
    refused: bool = False
    fails_with: BaseException | None = None
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def _call(self, name: str, number: str, kwargs: dict[str, Any]) -> str | None:
        self.calls.append((name, number, kwargs))
        if self.fails_with is not None:
            raise self.fails_with
        return self.language

    async def stop_texts(self, pool: object, number: str, **kwargs: Any) -> str | None:
        return self._call("stop", number, kwargs)

    async def resume_texts(self, pool: object, number: str) -> services.Resumed:
        return services.Resumed(
            language=self._call("start", number, {}), still_refused=self.refused
        )

    async def texts_language(self, pool: object, number: str) -> str | None:
        return self._call("help", number, {})


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    monkeypatch.setattr(services, "stop_texts", recording.stop_texts)
    monkeypatch.setattr(services, "resume_texts", recording.resume_texts)
    monkeypatch.setattr(services, "texts_language", recording.texts_language)
    return recording


def an_app(settings: NotifySettings = SETTINGS) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[shared_dependencies.get_pool] = lambda: NO_POOL
    return app


@pytest.fixture
async def http(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    # Reached at an internal address, as behind a proxy: the signature is over the public URL.
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as client:
        yield client


def inbound_url(provider: str = "primary") -> str:
    return f"{PUBLIC_URL}/v1/sms/inbound?provider={provider}"


async def text_in(
    http: httpx.AsyncClient,
    body: str | None = "STOP",
    *,
    sender: str | None = NUMBER,
    provider: str = "primary",
    token: str | None = None,
    signature: str | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """A text from `sender`, as `provider` posts it (signed with its own token by default)."""
    form = {"MessageSid": "SM0123456789abcdef", "To": "+15005550006", "AccountSid": "AC1"}
    if sender is not None:
        form["From"] = sender
    if body is not None:
        form["Body"] = body
    form.update(extra or {})
    url = inbound_url(provider)
    if signature is None:
        signature = twilio_signature(token or TOKENS[provider], url, form.items())
    headers = {SIGNATURE_HEADER: signature} if signature else {}
    return await http.post(url.removeprefix(PUBLIC_URL), data=form, headers=headers)


def replies(response: httpx.Response) -> list[str]:
    """The texts a TwiML answer asks the provider to send back."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own answer, in a test
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]


def refused(response: httpx.Response, status: int, loc: list[str]) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert [e["loc"] for e in detail] == [loc], detail
    assert all(e["msg"] and len(e["msg"]) < 400 for e in detail)


# --- Words to actions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "Parar", "PARAR.", "arrêt", "СТОП", "停止", "إيقاف"]
)
async def test_stop_in_any_language_stops_texts_to_the_number_and_is_confirmed(
    http: httpx.AsyncClient, recorder: Recorder, word: str
) -> None:
    response = await text_in(http, word)

    assert recorder.calls == [("stop", NUMBER, {"wait_s": api.STOP_WAIT_S})]
    assert replies(response) == [reply_to(SmsCommand.STOP, language="pt", help_contact="")]


@pytest.mark.parametrize(
    "word",
    [
        "S\u200bTOP",  # a zero-width space, as some keyboards and copy-paste leave
        "ST\u200dOP",  # a zero-width joiner
        "S\u00adTOP",  # a soft hyphen
        "\ufeffSTOP\u200e",  # a BOM, a left-to-right mark
        "ＳＴＯＰ",  # full width, as East Asian keyboards type it
        "أوقف",  # Arabic's imperative "stop", as most people would write it
    ],
)
def test_invisible_characters_and_full_width_letters_do_not_hide_a_stop(word: str) -> None:
    assert sms_command(word) is SmsCommand.STOP


@pytest.mark.parametrize("word", ["START", "começar", "Retomar", "reprendre", "старт", "开始"])
async def test_start_in_any_language_resumes_texts_and_is_confirmed(
    http: httpx.AsyncClient, recorder: Recorder, word: str
) -> None:
    response = await text_in(http, word)

    assert [(name, number) for name, number, _ in recorder.calls] == [("start", NUMBER)]
    assert replies(response) == [reply_to(SmsCommand.START, language="pt", help_contact="")]


async def test_start_from_a_number_the_provider_refused_says_texts_stay_off(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.refused = True
    response = await text_in(http, "RETOMAR")

    (reply,) = replies(response)
    assert reply == refused_reply(language="pt", help_contact=HELP_CONTACT)
    assert reply != reply_to(SmsCommand.START, language="pt", help_contact=HELP_CONTACT)
    assert HELP_CONTACT in reply


async def test_help_names_the_help_contact_and_changes_nothing(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await text_in(http, "Ajuda")

    assert [name for name, _, _ in recorder.calls] == ["help"]
    (reply,) = replies(response)
    assert reply == reply_to(SmsCommand.HELP, language="pt", help_contact=HELP_CONTACT)
    assert HELP_CONTACT in reply


@pytest.mark.parametrize(
    "body", ["", "   ", "Thanks!", "stop sending me these", "STOP STOP", "👍", "yes", "TD-1"]
)
async def test_any_other_text_gets_no_reply_and_changes_nothing(
    http: httpx.AsyncClient, recorder: Recorder, body: str
) -> None:
    response = await text_in(http, body)

    assert replies(response) == []
    assert response.text.endswith("<Response/>")
    assert recorder.calls == []


async def test_a_text_without_a_body_gets_no_reply(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    assert replies(await text_in(http, None)) == []
    assert recorder.calls == []


async def test_a_number_no_alert_went_to_is_answered_in_english(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.language = None

    response = await text_in(http, "STOP")

    assert replies(response) == [reply_to(SmsCommand.STOP, language="en", help_contact="")]
    assert "START" in replies(response)[0]


async def test_language_check_a_portuguese_stop_is_confirmed_in_portuguese_not_english(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    # LANGUAGE CHECK: needs the pt catalog's translation of the STOP confirmation (msgctxt
    # "sms"); it fails while that catalog is empty and English falls through.
    (reply,) = replies(await text_in(http, "PARAR"))

    english = reply_to(SmsCommand.STOP, language="en", help_contact="")
    assert reply == reply_to(SmsCommand.STOP, language="pt", help_contact="")
    assert reply != english, "the pt catalog does not translate the STOP confirmation yet"


# --- TwiML ---------------------------------------------------------------------------------


def test_twiml_escapes_what_it_quotes() -> None:
    response = api.twiml('Help: <a&b> "x" ]]>')
    body = bytes(response.body)

    assert b'<Message>Help: &lt;a&amp;b&gt; "x" ]]&gt;</Message>' in body
    root = ET.fromstring(body)  # noqa: S314 - our own answer, in a test
    assert [m.text for m in root.iter("Message")] == ['Help: <a&b> "x" ]]>']
    assert bytes(api.twiml(None).body).endswith(b"<Response/>")


async def test_a_help_contact_with_markup_is_escaped_in_the_reply(recorder: Recorder) -> None:
    settings = SETTINGS.model_copy(update={"sms_help_contact": "Ops & Co <help@x.org>"})
    transport = httpx.ASGITransport(app=an_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        response = await text_in(client, "HELP")

    assert b"Ops &amp; Co &lt;help@x.org&gt;" in response.content
    assert replies(response)[0].endswith("Ops & Co <help@x.org>")


def test_the_help_contact_defaults_to_the_sender_address() -> None:
    settings = NotifySettings(
        environment=Environment.TEST, mail_from="Tenderwire <alertas@tenderwire.example>"
    )

    assert settings.sms_help_contact == "alertas@tenderwire.example"


# --- Signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "kwargs", "loc"),
    [
        ("unsigned", {"signature": ""}, ["header", "X-Twilio-Signature"]),
        ("forged", {"signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, ["header", "X-Twilio-Signature"]),
        ("a guessed token", {"token": "guessed"}, ["header", "X-Twilio-Signature"]),
        (
            "the other provider's token",
            {"token": TOKENS["secondary"]},
            ["header", "X-Twilio-Signature"],
        ),
        ("an unknown provider", {"provider": "nobody", "token": "x"}, ["query", "provider"]),
    ],
)
async def test_a_text_not_signed_by_the_named_provider_is_refused_and_changes_nothing(
    http: httpx.AsyncClient,
    recorder: Recorder,
    case: str,
    kwargs: dict[str, Any],
    loc: list[str],
) -> None:
    response = await text_in(http, "STOP", **kwargs)

    refused(response, 403, loc)
    assert recorder.calls == []


async def test_a_signature_over_other_words_is_refused(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    form = {"From": NUMBER, "Body": "HELP"}
    signature = twilio_signature(TOKENS["primary"], inbound_url(), form.items())

    response = await http.post(
        "/v1/sms/inbound?provider=primary",
        data={**form, "Body": "STOP"},
        headers={SIGNATURE_HEADER: signature},
    )

    refused(response, 403, ["header", "X-Twilio-Signature"])
    assert recorder.calls == []


async def test_a_text_without_the_provider_in_the_url_is_refused(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await http.post("/v1/sms/inbound", data={"From": NUMBER, "Body": "STOP"})

    refused(response, 403, ["query", "provider"])
    assert recorder.calls == []


# --- Hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "loc"),
    [
        ({"Body": "ST\x00OP"}, ["body", "Body"]),
        ({"Body": "STOP\x1b[2J"}, ["body", "Body"]),
        ({"Body": "x" * 1601}, ["body", "Body"]),
        ({"From": "12345"}, ["body", "From"]),
        ({"From": "+0258840001122"}, ["body", "From"]),
        ({"From": "+2588400011220000"}, ["body", "From"]),
        ({"From": "whatsapp:+258840001122"}, ["body", "From"]),
        ({"From": "+258 84 000 11 22"}, ["body", "From"]),
        ({"From": NUMBER + "\x00"}, ["body", "From"]),
        ({"To": "+1500\x00"}, ["body", "To"]),
        ({"MessageSid": "SM'; DROP TABLE deliveries; --"}, ["body", "MessageSid"]),
    ],
)
async def test_hostile_input_is_a_422_naming_the_field(
    http: httpx.AsyncClient, recorder: Recorder, form: dict[str, str], loc: list[str]
) -> None:
    body = form.pop("Body", "STOP")
    sender = form.pop("From", NUMBER)

    response = await text_in(http, body, sender=sender, extra=form)

    refused(response, 422, loc)
    assert recorder.calls == []


async def test_a_text_without_a_sender_is_a_422_naming_from(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    refused(await text_in(http, "STOP", sender=None), 422, ["body", "From"])
    assert recorder.calls == []


async def test_line_breaks_are_text_and_a_long_message_is_not_hostile(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    multiline = await text_in(http, "STOP\r\n")
    longest = await text_in(http, "y" * 1600)

    assert replies(multiline) == [reply_to(SmsCommand.STOP, language="pt", help_contact="")]
    assert replies(longest) == []


async def test_a_body_over_the_services_limit_is_a_413(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await text_in(http, "STOP", extra={"Padding": "p" * SETTINGS.max_body_bytes})

    assert response.status_code == 413, response.text
    assert recorder.calls == []


# --- The database away ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=["refused", "pool timeout", "starting up", "too many connections"],
)
@pytest.mark.parametrize("word", ["STOP", "START", "HELP"])
async def test_a_database_that_cannot_be_reached_gets_503_with_retry_after(
    http: httpx.AsyncClient, recorder: Recorder, error: BaseException, word: str
) -> None:
    recorder.fails_with = error

    response = await text_in(http, word)

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(api.RETRY_AFTER_S)
    assert response.json()["detail"][0]["type"] == "unavailable"
