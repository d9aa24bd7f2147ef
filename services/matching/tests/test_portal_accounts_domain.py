"""The portal's account rules, pure: signed links, phone codes, rate limits, where a sign-in
may lead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tenderwire_matching import repository
from tenderwire_matching.portal.domain import (
    MAX_LINK_TOKEN,
    Action,
    LinkPurpose,
    LinkSigner,
    RateLimit,
    address_key,
    client_key,
    code_matches,
    hash_code,
    new_code,
    rate_decision,
    safe_next,
    typed_code,
    window_start,
)

SECRET = "unit-portal-secret-of-a-production-length"  # noqa: S105
signer = LinkSigner(SECRET)


def test_a_signed_link_reads_back_its_id_for_its_own_purpose_only() -> None:
    token = signer.sign(LinkPurpose.SIGN_IN, "link-1")

    assert signer.read(LinkPurpose.SIGN_IN, token) == "link-1"
    # A verification link never signs anyone in, nor the other way round.
    assert signer.read(LinkPurpose.VERIFY_EMAIL, token) is None
    assert signer.read(LinkPurpose.VERIFY_CONTACT, token) is None


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-token",
        "a.b.c",
        "\x00",
        "<script>alert(1)</script>",
        "é" * 20,
        "x" * (MAX_LINK_TOKEN + 1),
    ],
)
def test_anything_that_is_not_a_signed_link_reads_as_none(token: str | None) -> None:
    assert signer.read(LinkPurpose.SIGN_IN, token) is None


def test_a_link_signed_with_another_secret_or_tampered_with_is_refused() -> None:
    forged = LinkSigner("another-secret-someone-guessed-at-all").sign(LinkPurpose.SIGN_IN, "x")
    genuine = signer.sign(LinkPurpose.SIGN_IN, "link-1")
    tampered = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")

    assert signer.read(LinkPurpose.SIGN_IN, forged) is None
    assert signer.read(LinkPurpose.SIGN_IN, tampered) is None


def test_an_expired_link_is_refused() -> None:
    # Signed 16 minutes ago: the sign-in link's 15 minutes are over, a verification's 48 h not.
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int((datetime.now(UTC) - timedelta(minutes=16)).timestamp())

    def signed_earlier(purpose: str, link_id: str) -> str:
        serializer = URLSafeTimedSerializer(
            SECRET, salt=f"tenderwire-portal-{purpose}", signer=Earlier
        )
        return serializer.dumps(link_id)

    old_sign_in = signed_earlier("sign_in", "link-1")
    old_verify = signed_earlier("verify_email", "link-2")

    assert signer.read(LinkPurpose.SIGN_IN, old_sign_in) is None
    assert signer.read(LinkPurpose.VERIFY_EMAIL, old_verify) == "link-2"


def test_a_phone_code_is_six_digits_and_matches_only_its_supplier() -> None:
    codes = {new_code() for _ in range(200)}
    stored = hash_code(SECRET, "supplier-1", "123456")

    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150  # random, not a counter
    assert code_matches(stored, SECRET, "supplier-1", "123456")
    assert not code_matches(stored, SECRET, "supplier-2", "123456")
    assert not code_matches(stored, SECRET, "supplier-1", "123457")
    assert "123456" not in stored


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("123-456", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("١٢٣٤٥٦", None),  # Arabic-Indic digits: isdigit() says yes, the code is ASCII
        ("\x00123456", None),
        ("1" * 1000, None),
        (None, None),
    ],
)
def test_a_typed_code_is_read_leniently_but_only_as_six_ascii_digits(
    typed: str | None, read: str | None
) -> None:
    assert typed_code(typed) == read


LIMIT = RateLimit(per_address=3, per_client=20, window=timedelta(hours=1))
NOW = datetime(2026, 12, 2, 16, 45, 30, tzinfo=UTC)


def test_within_both_limits_is_allowed() -> None:
    assert rate_decision(address_count=3, client_count=20, limit=LIMIT, now=NOW).allowed


@pytest.mark.parametrize(("address", "client"), [(4, 1), (1, 21), (4, 21)])
def test_one_over_either_limit_is_refused_until_the_window_ends(address: int, client: int) -> None:
    decision = rate_decision(address_count=address, client_count=client, limit=LIMIT, now=NOW)

    assert not decision.allowed
    assert decision.retry_after_s == 14 * 60 + 30  # until 17:00:00


def test_windows_are_fixed_so_every_replica_counts_in_the_same_one() -> None:
    assert window_start(NOW, LIMIT.window) == datetime(2026, 12, 2, 16, tzinfo=UTC)
    assert window_start(NOW + timedelta(minutes=15), LIMIT.window) == datetime(
        2026, 12, 2, 17, tzinfo=UTC
    )


def test_an_address_is_counted_without_its_case() -> None:
    assert address_key(Action.SIGN_IN, " Bids@Example.org ", "s") == address_key(
        Action.SIGN_IN, "bids@example.org", "s"
    )
    assert address_key(Action.SIGN_IN, "a@b.org", "s") != address_key(
        Action.REGISTER, "a@b.org", "s"
    )


def test_a_counter_names_no_address_nor_client() -> None:
    keys = [
        address_key(Action.SIGN_IN, "bids@kibo.example", "s"),
        client_key(Action.SIGN_IN, "203.0.113.9", "s"),
    ]
    assert not any("kibo" in k or "203.0" in k for k in keys)
    assert address_key(Action.SIGN_IN, "a@b.org", "s") != address_key(
        Action.SIGN_IN, "a@b.org", "t"
    )


@pytest.mark.parametrize(
    ("asked", "led_to"),
    [
        ("/portal/account", "/portal/account"),
        ("/portal/follow/T-1?x=1", "/portal/follow/T-1?x=1"),
        (None, "/portal/"),
        ("https://evil.example/portal/", "/portal/"),
        ("//evil.example/portal/", "/portal/"),
        ("/portal\\..\\evil", "/portal/"),
        ("/portal/../v1/suppliers", "/portal/"),
        ("/elsewhere", "/portal/"),
        ("/portal/\r\nSet-Cookie: x=1", "/portal/"),
        ("/portal/é", "/portal/"),
    ],
)
def test_a_sign_in_leads_only_to_the_portals_own_pages(asked: str | None, led_to: str) -> None:
    assert safe_next(asked) == led_to


def _row(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "legal_name": "Kibo Medical Ltd",
        "email": "bids@kibo.example",
        "language": "en",
        "timezone": "Africa/Nairobi",
        "phone": "+254711000000",
        "delivery": "immediate",
        "digest_hour": 8,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "country": "KEN",
        "email_verified_at": datetime(2026, 1, 1, tzinfo=UTC),
        "phone_verified_at": None,
        "also_email": ["buyer@kibo.example"],
        "paused_until": None,
        **overrides,
    }


def test_a_recipient_says_which_contacts_are_verified_and_lists_the_others() -> None:
    recipient = repository.recipient(_row())  # type: ignore[arg-type]

    assert (recipient.email_verified, recipient.phone_verified) == (True, False)
    assert recipient.also_email == ("buyer@kibo.example",)
    assert recipient.paused_until is None


def test_a_pause_ends_at_midnight_where_the_supplier_is() -> None:
    recipient = repository.recipient(_row(paused_until=date(2026, 12, 12)))  # type: ignore[arg-type]

    # Nairobi is three hours ahead of UTC all year.
    assert recipient.paused_until == datetime(2026, 12, 11, 21, tzinfo=UTC)
    assert recipient.paused_until.tzinfo is not None


def test_a_changed_contact_is_a_different_recipient_not_a_cached_one() -> None:
    before = repository.recipient(_row())  # type: ignore[arg-type]
    verified = repository.recipient(_row(phone_verified_at=datetime(2026, 2, 1, tzinfo=UTC)))  # type: ignore[arg-type]
    more = repository.recipient(_row(also_email=["buyer@kibo.example", "ceo@kibo.example"]))  # type: ignore[arg-type]

    assert not before.phone_verified
    assert verified.phone_verified
    assert more.also_email == ("buyer@kibo.example", "ceo@kibo.example")
