"""Notify's side of the supplier portal, without a database: which alerts are withheld (a
pause, an unverified contact) and where the rest go, what an account message may be sent to,
its words in every language, the notice link in the reader's language and zone, the handlers'
routing, and the portal's HTTP views against hostile callers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenderwire_notify import domain, repository, services
from tenderwire_notify.domain import DeliveryState, Outcome, Result
from tenderwire_notify.handlers import AccountMessageHandler, SupplierHandler, on_supplier_event
from tenderwire_notify.rendering import (
    account_link,
    notice_link,
    render_account_email,
    render_account_sms,
)
from tenderwire_shared.clock import ManualClock
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.accounts import AccountChannel, AccountMessage, AccountPurpose
from tenderwire_shared.events.matches import Delivery, MatchCreated, Recipient
from tenderwire_shared.events.suppliers import SUPPLIER_ERASED, SUPPLIER_UPDATED
from tenderwire_shared.i18n import LANGUAGES
from tests.support.pipeline_events import new_tender_alert

NOW = datetime(2027, 1, 10, 9, tzinfo=UTC)


def a_recipient(**fields: Any) -> Recipient:
    base = Recipient(
        supplier_id="s1",
        legal_name="Acme",
        email="own@example.org",
        phone="+221770001122",
        language="fr",
        timezone="Africa/Dakar",
    )
    return base.model_copy(update=fields)


def an_alert(**recipient: Any) -> tuple[RawEnvelope, MatchCreated]:
    alert = new_tender_alert("s1", "own@example.org", "t1")
    match = alert.data.model_copy(update={"recipient": a_recipient(**recipient)})
    envelope = RawEnvelope(id="e1", type="match.new", source="tests", subject="s1", data={})
    return envelope, match


# --- Alerts withheld ------------------------------------------------------------------------


def test_a_pause_in_the_future_withholds_every_channel_and_one_past_nothing() -> None:
    paused = a_recipient(paused_until=NOW + timedelta(days=3))
    over = a_recipient(paused_until=NOW - timedelta(seconds=1))

    assert domain.withheld(paused, "email", NOW) == "paused until 2027-01-13T09:00:00+00:00"
    assert domain.withheld(paused, "sms", NOW) == "paused until 2027-01-13T09:00:00+00:00"
    assert domain.withheld(over, "email", NOW) is None
    assert domain.withheld(over, "sms", NOW) is None


def test_only_verified_contacts_get_alerts() -> None:
    unverified = a_recipient(email_verified=False, phone_verified=False)
    phone_only = a_recipient(email_verified=True, phone_verified=False)

    assert domain.withheld(unverified, "email", NOW) == domain.NOT_VERIFIED
    assert domain.withheld(unverified, "sms", NOW) == domain.NOT_VERIFIED
    assert domain.withheld(phone_only, "email", NOW) is None
    assert domain.withheld(phone_only, "sms", NOW) == domain.NOT_VERIFIED


def test_another_verified_contact_takes_the_alert_when_the_own_address_is_unverified() -> None:
    recipient = a_recipient(email_verified=False, also_email=("clerk@example.org",))

    assert domain.withheld(recipient, "email", NOW) is None
    assert domain.email_addresses(recipient) == ["clerk@example.org"]


def test_every_address_gets_the_alert_once_whatever_its_case() -> None:
    recipient = a_recipient(
        also_email=("OWN@example.org", "clerk@example.org", "Clerk@Example.org")
    )

    assert domain.email_addresses(recipient) == ["own@example.org", "clerk@example.org"]


def test_withheld_alerts_are_ledger_rows_suppressed_with_their_reason() -> None:
    envelope, match = an_alert(email_verified=False, phone_verified=False)

    rows = services.deliveries_for(envelope, match, NOW)

    assert [(r.channel, r.state, r.last_error) for r in rows] == [
        ("email", DeliveryState.SUPPRESSED, domain.NOT_VERIFIED),
        ("sms", DeliveryState.SUPPRESSED, domain.NOT_VERIFIED),
    ]


def test_a_paused_digest_supplier_s_alert_is_suppressed_not_batched() -> None:
    until = NOW + timedelta(days=1)
    envelope, match = an_alert(delivery=Delivery.DAILY_DIGEST, paused_until=until)

    [row] = services.deliveries_for(envelope, match, NOW)

    assert row.state == DeliveryState.SUPPRESSED
    assert row.last_error == f"paused until {until.isoformat()}"


def test_a_verified_supplier_s_alert_is_queued_to_its_first_verified_address() -> None:
    envelope, match = an_alert(email_verified=False, also_email=("clerk@example.org",))

    email, sms = services.deliveries_for(envelope, match, NOW)

    assert (email.state, email.address, email.last_error) == (
        DeliveryState.QUEUED,
        "clerk@example.org",
        None,
    )
    assert (sms.state, sms.address) == (DeliveryState.QUEUED, "+221770001122")


# --- Account messages -----------------------------------------------------------------------


def an_account_message(**fields: Any) -> AccountMessage:
    base = AccountMessage(
        message_id="am-1",
        supplier_id="s1",
        purpose=AccountPurpose.VERIFY_EMAIL,
        channel=AccountChannel.EMAIL,
        address="new@example.org",
        legal_name="Acme <b>& Sons</b>",
        language="en",
        timezone="Asia/Tokyo",
        link="https://portal.example.org/verify?token=abc",
        expires_at=datetime(2027, 1, 15, 16, tzinfo=UTC),
    )
    return AccountMessage.model_validate({**base.model_dump(), **fields})


def test_an_unsubscribe_does_not_stop_an_account_message_a_bounce_or_stop_does() -> None:
    assert not domain.account_message_refused_by(domain.UNSUBSCRIBED)
    assert domain.account_message_refused_by(domain.SMS_STOP)
    assert domain.account_message_refused_by("SMTP 550 5.1.1 No such mailbox")
    assert domain.account_message_refused_by("hard bounce")


def test_an_account_message_expires_at_its_instant() -> None:
    expires = datetime(2027, 1, 15, 16, tzinfo=UTC)

    assert not domain.is_expired(expires, expires - timedelta(microseconds=1))
    assert domain.is_expired(expires, expires)
    assert not domain.is_expired(None, expires)


def test_each_account_message_has_a_ledger_key_of_its_own() -> None:
    assert domain.account_tender_id(an_account_message()) == "account:am-1"
    assert domain.ACCOUNT_KINDS.isdisjoint(domain.ALERT_KINDS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("purpose", [AccountPurpose.VERIFY_EMAIL, AccountPurpose.SIGN_IN])
def test_an_account_e_mail_in_every_language(language: str, purpose: AccountPurpose) -> None:
    english = render_account_email(an_account_message(purpose=purpose))
    message = an_account_message(purpose=purpose, language=language)

    rendered = render_account_email(message)

    assert "https://portal.example.org/verify?token=abc" in rendered.text
    assert 'href="https://portal.example.org/verify?token=abc"' in rendered.html
    assert "2027" in rendered.text  # the expiry, 01:00 on 16 January in Tokyo
    assert "Acme &lt;b&gt;&amp; Sons&lt;/b&gt;" in rendered.html
    assert "<b>" not in rendered.html
    assert ('dir="rtl"' in rendered.html) is (language == "ar")
    assert "unsubscribe" not in (rendered.text + rendered.html).lower()
    if language != "en":
        assert rendered.subject != english.subject
        assert rendered.text.splitlines()[-1] != english.text.splitlines()[-1]


def test_the_expiry_is_in_the_supplier_s_zone() -> None:
    rendered = render_account_email(an_account_message())

    assert "Saturday, January 16, 2027, 1:00" in rendered.text
    assert "Japan Standard Time" in rendered.text
    assert "If you did not ask for this, ignore this message." in rendered.text


def test_an_unknown_zone_reads_as_utc_rather_than_losing_the_message() -> None:
    rendered = render_account_email(an_account_message(timezone="Mars/Olympus_Mons"))

    assert "Friday, January 15, 2027, 4:00" in rendered.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_phone_code_in_every_language(language: str) -> None:
    message = an_account_message(
        purpose=AccountPurpose.VERIFY_PHONE,
        channel=AccountChannel.SMS,
        address="+221770001122",
        link=None,
        code="482913",
        language=language,
    )

    text = render_account_sms(message)

    assert "482913" in text
    assert "2027" in text
    assert "\n" not in text


@pytest.mark.parametrize(
    "link",
    [
        None,
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://portal.example.org/a b",
        "https://portal.example.org/a\r\nBcc: x@example.org",
        "https://portal.example.org/\x00",
        "https:///no-host",
        "https://portal.example.org/" + "a" * 3000,
    ],
)
def test_a_link_that_is_not_a_plain_web_address_is_refused(link: str | None) -> None:
    with pytest.raises(ValueError, match="no usable link"):
        account_link(an_account_message(link=link))


@pytest.mark.parametrize("code", [None, "", "12 34", "<script>", "1" * 11, "١٢٣٤٥٦"])
def test_a_code_that_is_not_a_few_digits_is_refused(code: str | None) -> None:
    message = an_account_message(
        purpose=AccountPurpose.VERIFY_PHONE, channel=AccountChannel.SMS, link=None, code=code
    )

    with pytest.raises(ValueError, match="no usable code"):
        render_account_sms(message)


def test_a_purpose_goes_only_by_its_channel() -> None:
    with pytest.raises(ValueError, match="not sent by e-mail"):
        render_account_email(an_account_message(purpose=AccountPurpose.VERIFY_PHONE))
    with pytest.raises(ValueError, match="not sent by SMS"):
        render_account_sms(an_account_message())


# --- The notice link ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", ""),
        (
            "https://notices.example.org/v1/notices/t1",
            "https://notices.example.org/v1/notices/t1?lang=ar&tz=America%2FArgentina%2FBuenos_Aires",
        ),
        (
            "https://notices.example.org/n?id=a%20b",
            "https://notices.example.org/n?id=a%20b&lang=ar&tz=America%2FArgentina%2FBuenos_Aires",
        ),
        (
            "https://notices.example.org/n?lang=en&tz=UTC&id=1#top",
            "https://notices.example.org/n?id=1&lang=ar&tz=America%2FArgentina%2FBuenos_Aires#top",
        ),
    ],
)
def test_the_notice_opens_in_the_reader_s_language_and_zone(url: str, expected: str) -> None:
    assert (
        notice_link(url, language="ar", timezone_name="America/Argentina/Buenos_Aires") == expected
    )


# --- Handlers -------------------------------------------------------------------------------


class RecordingConnection:
    """Answers every statement as if it changed nothing; records what was asked."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(sql)
        return "UPDATE 0"

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append(sql)
        return []


def raw(event_type: str, data: dict[str, Any]) -> RawEnvelope:
    return RawEnvelope(id="e-1", type=event_type, source="tests", subject="s1", data=data)


async def test_an_erasure_erases_and_forgets_the_supplier() -> None:
    conn: Any = RecordingConnection()

    await on_supplier_event(
        conn, raw(SUPPLIER_ERASED, {"supplier_id": "s1", "erased_at": NOW.isoformat()})
    )

    said = " ".join(conn.statements)
    assert "INSERT INTO erased_suppliers" in said
    assert "INSERT INTO deactivated_suppliers" in said
    assert "DELETE FROM suppressions" in said
    assert "UPDATE deliveries SET address = ''" in said
    assert "UPDATE digests SET address = ''" in said


async def test_an_account_message_handler_ignores_other_event_types() -> None:
    conn: Any = RecordingConnection()

    await AccountMessageHandler(ManualClock())(conn, raw("account.other", {}))

    assert conn.statements == []


async def test_an_erased_supplier_s_account_message_is_dropped_unrecorded() -> None:
    class ErasedSupplier(RecordingConnection):
        async def fetch(self, sql: str, *args: Any) -> list[Any]:
            self.statements.append(sql)
            return [{"supplier_id": "s1"}] if "erased_suppliers" in sql else []

    conn: Any = ErasedSupplier()
    message = an_account_message()

    await AccountMessageHandler(ManualClock())(
        conn, raw("account.message", message.model_dump(mode="json"))
    )

    assert not any("INSERT INTO deliveries" in s for s in conn.statements)


# --- Recording and erasing ------------------------------------------------------------------


def test_a_send_with_copies_is_written_in_a_transaction() -> None:
    alone = Result("d1", False, Outcome.SENT, "email")
    with_copies = Result("d2", False, Outcome.SENT, "email", copies=("a@example.org",))

    assert services.only_sent_alerts([alone])
    assert not services.only_sent_alerts([alone, with_copies])


@pytest.mark.parametrize(
    ("contact", "lookalike"),
    [
        ("a.b+c@example.org", "aXb+c@example.org"),
        ("+221770001122", "221770001122"),
        ("O'Brien (Holdings) [EU] {1} | Ltd.*?^$\\", "OBrien Holdings"),
        ("Société Générale حلول", "Societe Generale"),
    ],
)
def test_an_erased_contact_is_matched_literally_and_ignoring_case(
    contact: str, lookalike: str
) -> None:
    # PostgreSQL's advanced regular expressions read these escapes as Python's do.
    pattern = re.compile(repository.literal_pattern({contact, "qqzz"}), re.IGNORECASE)

    assert pattern.sub("[erased]", f"refused <{contact.upper()}> today") == (
        "refused <[erased]> today"
    )
    assert pattern.search(lookalike) is None


def test_the_other_contacts_ride_on_the_e_mail_row_only() -> None:
    envelope, match = an_alert(also_email=("clerk@example.org", "OWN@example.org"))

    email, sms = services.deliveries_for(envelope, match, NOW)

    assert email.other_addresses == ("clerk@example.org",)
    assert sms.other_addresses == ()


async def test_a_pause_holds_back_the_alerts_already_waiting() -> None:
    conn: Any = RecordingConnection()
    paused = a_recipient(paused_until=NOW + timedelta(days=1))
    updated = {
        "supplier": paused.model_dump(mode="json"),
        "country": "SEN",
        "unspsc_codes": [],
        "active": True,
        "version": 3,
    }

    await SupplierHandler(ManualClock(NOW - datetime.now(UTC)))(
        conn, raw(SUPPLIER_UPDATED, updated)
    )
    await SupplierHandler(ManualClock(NOW - datetime.now(UTC)))(
        conn, raw(SUPPLIER_UPDATED, {**updated, "supplier": a_recipient().model_dump(mode="json")})
    )

    [withhold] = conn.statements
    assert "state = 'suppressed'" in withhold
    assert "'queued', 'batched'" in withhold
