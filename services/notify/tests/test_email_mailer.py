"""Mailer and EmailChannel over real SMTP: the mail catcher, a relay that is not there, and a
scripted aiosmtpd relay for the answers the catcher cannot give (421, dropped connections,
refusals after DATA)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import AnyHttpUrl

from tenderwire_notify.channels import (
    Job,
    PermanentSendError,
    RelayUnavailableError,
    Sent,
    TransientSendError,
)
from tenderwire_notify.domain import BreakerState, CircuitBreaker, content_key
from tenderwire_notify.email_messages import EmailComposer, PreparedContent
from tenderwire_notify.mailer import EmailChannel, Mailer
from tenderwire_notify.rendering import RenderedEmail
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.clock import ManualClock
from tenderwire_shared.events.accounts import AccountChannel, AccountMessage, AccountPurpose
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot
from tenderwire_shared.settings import Environment
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.infrastructure import free_port

# Real SMTP and HTTP servers on loopback: `make test`, not the fast tier.
pytestmark = pytest.mark.integration


def settings_for(port: int, **overrides: object) -> NotifySettings:
    return NotifySettings(
        environment=Environment.TEST,
        smtp_port=port,
        smtp_timeout_s=5.0,
        **overrides,  # type: ignore[arg-type]
    )


def prepared(to: str, settings: NotifySettings, subject: str = "Gants stériles") -> bytes:
    content = PreparedContent.from_rendered(
        RenderedEmail(subject=subject, text="Bonjour,\nvoici.\n", html="<p>Bonjour</p>\n")
    )
    return EmailComposer(settings).message(
        content,
        to=to,
        message_id=f"<{to.split('@', maxsplit=1)[0]}@tenderwire.localhost>",
        date=datetime.now(UTC),
        unsubscribe_link="http://127.0.0.1:18003/v1/unsubscribe/x",
        supplier="Acme",
    )


def a_job(address: str, job_id: str = "01JD0000000000000000000001") -> Job:
    match = MatchCreated(
        match_id="m1",
        kind=MatchKind.NEW,
        recipient=Recipient(
            supplier_id="s1",
            legal_name="Acme & Sons",
            email=address,
            language="fr",
            timezone="Africa/Dakar",
        ),
        tender=TenderSnapshot(
            tender_id="t1",
            revision=1,
            agency="UNICEF",
            reference="RFQ-1",
            title="Isolation gowns",
            description="",
            language="en",
            notice_type=NoticeType.INVITATION_TO_BID,
            unspsc_codes=("42131606",),
            beneficiary_countries=("SEN",),
            deadline=datetime(2027, 1, 15, 16, tzinfo=UTC),
            deadline_utc_offset_minutes=0,
            published_at=datetime(2026, 11, 1, tzinfo=UTC),
            url=AnyHttpUrl("https://example.org/t1"),
        ),
        matched_codes=("42131600",),
    )
    return Job(
        id=job_id,
        channel="email",
        supplier_id="s1",
        address=address,
        language="fr",
        timezone="Africa/Dakar",
        recipient_name="Acme & Sons",
        content_key=content_key(match, language="fr", timezone="Africa/Dakar"),
        attempt=1,
        match=match,
    )


@pytest_asyncio.fixture
async def catcher() -> AsyncIterator[MailCatcher]:
    running = MailCatcher(smtp_port=free_port(), http_port=free_port())
    await running.start()
    yield running
    await running.stop()


class ScriptedHandler:
    """Answers by the recipient's local part: `data-reject` gets 554 after DATA, `data-busy`
    451. With `on_reuse`, a session that already carried a message gets, at the next MAIL,
    a 421 ("421") or its connection closed ("drop"), as a relay ending idle sessions does."""

    def __init__(self, on_reuse: str | None = None) -> None:
        self.on_reuse = on_reuse
        self.delivered: list[bytes] = []
        # The sessions themselves, not their id(): a closed session's id can be handed to the
        # next one, which would then count as reused and be dropped (seen in CI).
        self._used_sessions: list[Session] = []

    def _reused(self, session: Session) -> bool:
        return any(used is session for used in self._used_sessions)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self._reused(session) and self.on_reuse == "421":
            return "421 4.4.2 Idle too long, closing"
        if self._reused(session) and self.on_reuse == "drop":
            assert server.transport is not None
            server.transport.close()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        local = str(envelope.rcpt_tos[0]).split("@", 1)[0]
        if local == "data-reject":
            return "554 5.6.0 Message content refused"
        if local == "data-busy":
            return "451 4.3.0 Local problem, try later"
        self.delivered.append(envelope.original_content or b"")
        self._used_sessions.append(session)
        return "250 OK"


class ScriptedRelay:
    def __init__(self, handler: ScriptedHandler) -> None:
        self.handler = handler
        self.port = free_port()
        self.sessions = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedRelay:
        def session() -> SMTP:
            self.sessions += 1
            return SMTP(self.handler, hostname="scripted.localhost")

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(session, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_prepared_bytes_arrive_whole_from_the_configured_sender(
    catcher: MailCatcher,
) -> None:
    settings = settings_for(catcher.smtp_port)
    mailer = Mailer(settings)
    try:
        await mailer.send(to="buyer@example.org", data=prepared("buyer@example.org", settings))
    finally:
        await mailer.close()

    [message] = catcher.store.all()
    assert message.mail_from == "alerts@tenderwire.localhost"
    assert message.recipients == ["buyer@example.org"]
    assert message.subject == "Gants stériles"
    assert message.message_id == "<buyer@tenderwire.localhost>"
    assert message.text.replace("\r\n", "\n") == "Bonjour,\nvoici.\n"
    assert message.html.strip() == "<p>Bonjour</p>"


async def test_a_burst_shares_the_pooled_connections(catcher: MailCatcher) -> None:
    settings = settings_for(catcher.smtp_port, smtp_pool_size=2)
    mailer = Mailer(settings)
    addresses = [f"pool-{i}@example.org" for i in range(12)]
    try:
        await asyncio.gather(*(mailer.send(to=a, data=prepared(a, settings)) for a in addresses))
    finally:
        await mailer.close()

    assert sorted(r for m in catcher.store.all() for r in m.recipients) == sorted(addresses)
    assert 1 <= catcher.sessions <= 2


@pytest.mark.parametrize(
    ("address", "error", "hard_bounce"),
    [
        ("bounce-1@example.org", PermanentSendError, True),
        ("tempfail-1@example.org", TransientSendError, None),
    ],
)
async def test_a_refused_mailbox_is_the_recipients_failure(
    catcher: MailCatcher, address: str, error: type[Exception], hard_bounce: bool | None
) -> None:
    settings = settings_for(catcher.smtp_port)
    mailer = Mailer(settings)
    try:
        with pytest.raises(error) as raised:
            await mailer.send(to=address, data=prepared(address, settings))
    finally:
        await mailer.close()

    assert type(raised.value) is error  # a 4xx mailbox is not RelayUnavailableError
    if hard_bounce is not None:
        assert isinstance(raised.value, PermanentSendError)
        assert raised.value.hard_bounce is hard_bounce
        assert str(raised.value).startswith("SMTP 550")
    assert catcher.store.all() == []


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("data-reject@example.org", PermanentSendError),
        ("data-busy@example.org", TransientSendError),
    ],
)
async def test_a_refusal_after_data_is_permanent_for_5xx_and_this_messages_for_4xx(
    address: str, error: type[Exception]
) -> None:
    async with ScriptedRelay(ScriptedHandler()) as relay:
        settings = settings_for(relay.port)
        mailer = Mailer(settings)
        try:
            with pytest.raises(error) as raised:
                await mailer.send(to=address, data=prepared(address, settings))
        finally:
            await mailer.close()

    assert type(raised.value) is error
    if isinstance(raised.value, PermanentSendError):
        assert raised.value.hard_bounce is False


@pytest.mark.parametrize("on_reuse", ["drop", "421"])
async def test_a_pooled_connection_the_relay_ended_is_replaced_without_failing(
    on_reuse: str,
) -> None:
    async with ScriptedRelay(ScriptedHandler(on_reuse)) as relay:
        settings = settings_for(relay.port, smtp_pool_size=1)
        mailer = Mailer(settings)
        try:
            for address in ("one@example.org", "two@example.org", "three@example.org"):
                await mailer.send(to=address, data=prepared(address, settings))
        finally:
            await mailer.close()

    assert len(relay.handler.delivered) == 3
    assert relay.sessions == 3  # each reuse met the ended session, then a fresh one took it


async def test_a_relay_that_is_not_there_is_unavailable() -> None:
    settings = settings_for(free_port())
    mailer = Mailer(settings)
    with pytest.raises(RelayUnavailableError):
        await mailer.send(to="a@example.org", data=prepared("a@example.org", settings))


async def test_a_relay_that_never_greets_is_unavailable() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open and says nothing
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = NotifySettings(environment=Environment.TEST, smtp_port=port, smtp_timeout_s=0.3)
    try:
        with pytest.raises(RelayUnavailableError):
            await Mailer(settings).send(
                to="a@example.org", data=prepared("a@example.org", settings)
            )
    finally:
        server.close()
        await server.wait_closed()


async def test_a_non_ascii_mailbox_the_relay_cannot_carry_is_refused_for_good(
    catcher: MailCatcher,
) -> None:
    settings = settings_for(catcher.smtp_port)
    with pytest.raises(PermanentSendError):
        await Mailer(settings).send(
            to="josé@example.org", data=prepared("jose@example.org", settings)
        )


# --- EmailChannel -------------------------------------------------------------------------


def a_channel(port: int, clock: ManualClock) -> tuple[EmailChannel, Mailer]:
    settings = settings_for(port, smtp_pool_size=3)
    mailer = Mailer(settings)
    breaker = CircuitBreaker(name="smtp", threshold=3, cooldown=timedelta(seconds=30))
    return EmailChannel(settings, mailer, clock, breaker=breaker), mailer


async def test_the_channel_sends_a_job_and_returns_its_message_id(catcher: MailCatcher) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    job = a_job("buyer@example.org")
    try:
        reference = await channel.send(job)
    finally:
        await mailer.close()

    [message] = catcher.store.all()
    assert channel.name == "email"
    assert channel.lanes == 3
    assert reference == f"<{job.id}@tenderwire.localhost>" == message.message_id
    assert message.subject.startswith("[Nouvel appel d'offres] Isolation gowns")
    assert "Bonjour Acme & Sons," in message.text
    assert "Bonjour Acme &amp; Sons," in message.html
    assert message.headers["List-Unsubscribe"].startswith("<http://127.0.0.1:18003/v1/")
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def recipient_failure(send: Callable[[], Awaitable[object]]) -> Exception:
    try:
        await send()
    except (TransientSendError, PermanentSendError) as exc:
        return exc
    raise AssertionError("the send succeeded")


async def test_mailbox_failures_leave_the_relays_circuit_closed(catcher: MailCatcher) -> None:
    clock = ManualClock()
    channel, mailer = a_channel(catcher.smtp_port, clock)
    busy, gone = a_job("tempfail-once-7@example.org"), a_job("bounce-7@example.org")
    try:
        failures = [await recipient_failure(lambda: channel.send(busy))]
        for _ in range(3):  # more than the breaker's threshold
            failures.append(await recipient_failure(lambda: channel.send(gone)))
        delivered = await channel.send(busy)  # tempfail-once takes it the second time
    finally:
        await mailer.close()

    assert type(failures[0]) is TransientSendError
    assert all(isinstance(f, PermanentSendError) and f.hard_bounce for f in failures[1:])
    assert channel.breaker.state is BreakerState.CLOSED
    assert not channel.paused(clock.now())
    assert [m.message_id for m in catcher.store.all()] == [delivered]


@pytest.mark.parametrize("probe_to", ["buyer@example.org", "bounce-probe@example.org"])
async def test_a_stopped_relay_opens_the_circuit_and_a_probe_the_relay_answers_closes_it(
    probe_to: str,
) -> None:
    clock = ManualClock()
    port = free_port()
    channel, mailer = a_channel(port, clock)

    for _ in range(3):
        with pytest.raises(RelayUnavailableError):
            await channel.send(a_job("buyer@example.org"))
    assert channel.paused(clock.now())

    catcher = MailCatcher(smtp_port=port, http_port=free_port())
    await catcher.start()
    try:
        with pytest.raises(RelayUnavailableError, match="circuit is open"):
            await channel.send(a_job("buyer@example.org"))
        assert catcher.sessions == 0  # refused without touching SMTP

        clock.advance(timedelta(seconds=31))
        assert not channel.paused(clock.now())
        try:
            reference: object = await channel.send(a_job(probe_to))
        except PermanentSendError:
            reference = None  # a bounce is the mailbox's answer; the relay is back
    finally:
        await mailer.close()
        await catcher.stop()

    assert channel.breaker.state is BreakerState.CLOSED
    assert not channel.paused(clock.now())
    assert [m.message_id for m in catcher.store.all()] == ([reference] if reference else [])
    assert (reference is None) == probe_to.startswith("bounce")


async def test_an_address_no_message_can_carry_fails_for_good_before_smtp(
    catcher: MailCatcher,
) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    with pytest.raises(PermanentSendError, match="compose"):
        await channel.send(a_job("a@example.org\r\nBcc: victim@example.org"))
    assert catcher.sessions == 0
    await mailer.close()


def test_the_relays_breaker_follows_the_settings() -> None:
    settings = settings_for(
        1, breaker_threshold=7, breaker_cooldown_s=3.0, breaker_max_cooldown_s=9.0
    )
    breaker = EmailChannel(settings, Mailer(settings), ManualClock()).breaker
    assert (breaker.threshold, breaker.cooldown, breaker.max_cooldown) == (
        7,
        timedelta(seconds=3),
        timedelta(seconds=9),
    )


# --- Several e-mail contacts, and account messages -----------------------------------------


async def test_each_other_contact_gets_its_own_copy_and_a_bounce_is_skipped(
    catcher: MailCatcher,
) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    job = replace(a_job("buyer@example.org"), also=("bounce-gone@example.org", "clerk@example.org"))
    try:
        sent = await channel.send(job)
    finally:
        await mailer.close()

    assert sent == Sent(
        f"<{job.id}@tenderwire.localhost>",
        copies=("buyer@example.org", "clerk@example.org"),
        refused=("bounce-gone@example.org",),
    )
    own, clerk = catcher.store.all()
    assert own.recipients == ["buyer@example.org"]
    assert clerk.recipients == ["clerk@example.org"]
    assert own.subject == clerk.subject
    assert own.message_id != clerk.message_id
    assert own.headers["List-Unsubscribe"] != clerk.headers["List-Unsubscribe"]


async def test_a_contact_busy_for_now_fails_the_try_with_those_that_took_it(
    catcher: MailCatcher,
) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    job = replace(a_job("buyer@example.org"), also=("tempfail-once-clerk@example.org",))
    try:
        failure = await recipient_failure(lambda: channel.send(job))
        # The retry, as the claim builds it: the own address took it already.
        retried = await channel.send(replace(job, own_address_sent=True))
    finally:
        await mailer.close()

    assert isinstance(failure, TransientSendError)
    assert failure.accepted == ("buyer@example.org",)
    assert isinstance(retried, Sent)
    assert retried.copies == ("tempfail-once-clerk@example.org",)
    assert sorted(r for m in catcher.store.all() for r in m.recipients) == [
        "buyer@example.org",
        "tempfail-once-clerk@example.org",
    ]


def an_account_job(address: str, purpose: AccountPurpose = AccountPurpose.SIGN_IN) -> Job:
    message = AccountMessage(
        message_id="am-1",
        supplier_id="s1",
        purpose=purpose,
        channel=AccountChannel.EMAIL,
        address=address,
        legal_name="Acme & Sons",
        language="fr",
        timezone="Africa/Dakar",
        link="https://portal.example.org/sign-in?token=abc&x=1",
        expires_at=datetime(2027, 1, 15, 16, tzinfo=UTC),
    )
    return Job(
        id="01JD0000000000000000000009",
        channel="email",
        supplier_id="s1",
        address=address,
        language="fr",
        timezone="Africa/Dakar",
        recipient_name="Acme & Sons",
        content_key="row:01JD0000000000000000000009",
        attempt=1,
        account=message,
    )


async def test_an_account_message_goes_with_no_unsubscribe_link(catcher: MailCatcher) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    try:
        reference = await channel.send(an_account_job("new@example.org"))
    finally:
        await mailer.close()

    [message] = catcher.store.all()
    assert reference == message.message_id
    assert message.subject == "Votre lien de connexion à Tenderwire"
    assert "List-Unsubscribe" not in message.headers
    assert "/v1/unsubscribe/" not in message.text + message.html
    assert "https://portal.example.org/sign-in?token=abc&x=1" in message.text
    assert 'href="https://portal.example.org/sign-in?token=abc&amp;x=1"' in message.html
    assert "15 janvier 2027" in message.text  # 16:00 UTC is 16:00 in Dakar
    assert "ignorez ce message" in message.text


async def test_an_account_message_with_a_script_link_is_refused_for_good(
    catcher: MailCatcher,
) -> None:
    channel, mailer = a_channel(catcher.smtp_port, ManualClock())
    job = an_account_job("new@example.org")
    assert job.account is not None
    hostile = replace(job, account=job.account.model_copy(update={"link": "javascript:alert(1)"}))
    try:
        failure = await recipient_failure(lambda: channel.send(hostile))
    finally:
        await mailer.close()

    assert isinstance(failure, PermanentSendError)
    assert not failure.hard_bounce
    assert catcher.store.all() == []
