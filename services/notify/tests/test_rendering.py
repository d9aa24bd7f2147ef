from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import AnyHttpUrl

from tenderwire_notify.rendering import excerpt, render, render_digest
from tenderwire_notify.sms_text import compose, segments
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import FieldChange, NoticeType, TenderSnapshot


def a_match(title: str = "Isolation gowns") -> MatchCreated:
    return MatchCreated(
        match_id="m1",
        kind=MatchKind.NEW,
        recipient=Recipient(
            supplier_id="s1",
            legal_name="Acme & Sons",
            email="a@example.org",
            language="fr",
            timezone="Africa/Dakar",
        ),
        tender=TenderSnapshot(
            tender_id="t1",
            revision=1,
            agency="UNICEF",
            reference="RFQ-1",
            title=title,
            description="",
            language="en",
            notice_type=NoticeType.INVITATION_TO_BID,
            unspsc_codes=("42131606",),
            beneficiary_countries=("SEN", "MLI"),
            deadline=datetime(2027, 1, 15, 16, 0, tzinfo=UTC),
            deadline_utc_offset_minutes=60,
            published_at=datetime(2026, 11, 1, tzinfo=UTC),
            url=AnyHttpUrl("https://example.org/t1"),
        ),
        matched_codes=("42131600",),
    )


@pytest.mark.parametrize(
    ("language", "subject_start", "type_label", "countries"),
    [
        ("en", "[New tender]", "Invitation to bid", "Senegal, Mali"),
        ("fr", "[Nouvel appel d'offres]", "Appel d'offres", "Sénégal, Mali"),
        ("es", "[Nueva licitación]", "Invitación a licitar", "Senegal, Mali"),
    ],
)
def test_every_language_has_subject_text_and_html(
    language: str, subject_start: str, type_label: str, countries: str
) -> None:
    email = render(a_match(), language=language, timezone_name="America/Lima")
    assert email.subject.startswith(subject_start)
    assert "RFQ-1" in email.subject
    assert type_label in email.text
    assert countries in email.text
    assert "42131606" in email.text
    assert "https://example.org/t1" in email.html
    # Lima is UTC-5: 16:00 UTC is 11:00 there; the agency wrote 17:00 at UTC+01:00.
    assert "11:00" in email.text
    assert "17:00" in email.text
    assert "UTC+01:00)" in email.text


def test_an_unknown_language_falls_back_to_english() -> None:
    email = render(a_match(), language="sw", timezone_name="UTC")
    assert email.subject.startswith("[New tender]")


def test_html_escapes_what_agencies_write() -> None:
    email = render(a_match(title="<script>alert(1)</script>"), language="en", timezone_name="UTC")
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "Acme &amp; Sons" in email.html
    assert "<script>alert(1)</script>" in email.text


def a_change(kind: MatchKind, still_matches: bool = True) -> MatchCreated:
    match = a_match()
    return match.model_copy(
        update={
            "kind": kind,
            "reason": "Deadline extended at bidders' request",
            "still_matches": still_matches,
            "changes": (
                FieldChange(
                    field="deadline",
                    before="2027-01-15T16:00:00+00:00",
                    after="2027-01-22T16:00:00+00:00",
                ),
                FieldChange(field="beneficiary_countries", before=["SEN"], after=["SEN", "NER"]),
            ),
        }
    )


@pytest.mark.parametrize(
    ("language", "subject_start", "words"),
    [
        (
            "en",
            "[Amended]",
            ["has been amended", "Deadline: was: Friday, January 15, 2027", "Niger"],
        ),
        (
            "fr",
            "[Modifié]",
            ["a été modifié", "Date limite\u00a0: avant\u00a0: vendredi 15 janvier 2027", "Niger"],
        ),
        (
            "es",
            "[Modificada]",
            ["Se ha modificado", "Fecha límite: antes: viernes, 15 de enero de 2027", "Níger"],
        ),
    ],
)
def test_an_amendment_alert_says_what_changed_in_the_suppliers_language(
    language: str, subject_start: str, words: list[str]
) -> None:
    email = render(a_change(MatchKind.AMENDED), language=language, timezone_name="UTC")
    assert email.subject.startswith(subject_start)
    for word in words:
        assert word in email.text, (word, email.text)
    assert "Deadline extended at bidders&#39; request" in email.html


def test_an_amendment_to_a_supplier_no_longer_matching_says_so() -> None:
    email = render(
        a_change(MatchKind.AMENDED, still_matches=False), language="en", timezone_name="UTC"
    )
    assert "may no longer match your profile" in email.text


@pytest.mark.parametrize(
    ("language", "subject_start", "words"),
    [
        ("en", "[Cancelled]", "has been cancelled"),
        ("fr", "[Annulé]", "a été annulé"),
        ("es", "[Cancelada]", "Se ha cancelado"),
    ],
)
def test_a_cancellation_alert_says_the_tender_is_cancelled(
    language: str, subject_start: str, words: str
) -> None:
    email = render(a_change(MatchKind.CANCELLED), language=language, timezone_name="UTC")
    assert email.subject.startswith(subject_start)
    assert words in email.text


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ş" * 70, 1),
        ("ş" * 71, 2),
        ("Ωş" * 67, 2),
    ],
)
def test_sms_parts_follow_gsm7_and_ucs2_lengths(text: str, parts: int) -> None:
    assert segments(text) == parts


@pytest.mark.parametrize(
    "title", ["Gowns " * 80, "Seringues à usage unique, aiguilles Ş " * 30, "短" * 200]
)
def test_an_sms_alert_never_takes_more_than_two_parts(title: str) -> None:
    match = a_match(title=title.strip())
    body = compose(match, language="en", timezone_name="UTC")
    assert segments(body) <= 2
    assert body.endswith("https://example.org/t1\nReply STOP to opt out")
    assert body.startswith("New tender (UNICEF): ")


# Unicode's explicit embeddings, overrides and isolates. The notices API refuses them, yet a
# tender can reach notify by Kafka from elsewhere; one left open would reverse the rest of a
# line: a title, the deadline and the link after it.
_TROJAN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def a_match_with_overrides() -> MatchCreated:
    base = a_match("Gowns \u202eexe.lave")
    tender = base.tender.model_copy(
        update={
            "agency": "UN\u202eICEF",
            "reference": "RFQ\u2067-1",
            "description": "Gowns \u202dfor\u202c the clinics",
        }
    )
    return base.model_copy(update={"tender": tender, "reason": "moved \u202eforward"})


@pytest.mark.parametrize("kind", list(MatchKind))
@pytest.mark.parametrize("language", ["en", "ar", "ru"])
def test_direction_overrides_from_a_tender_never_reach_an_email(
    kind: MatchKind, language: str
) -> None:
    match = a_match_with_overrides().model_copy(update={"kind": kind})

    email = render(match, language=language, timezone_name="UTC")

    for part in (email.subject, email.text, email.html):
        leftover = {c for c in part if c in _TROJAN}
        # An Arabic e-mail isolates codes itself, as pairs: LRI ... PDI.
        assert leftover <= ({"\u2066", "\u2069"} if language == "ar" else set()), part
        assert part.count("\u2066") == part.count("\u2069")
    assert "Gowns exe.lave" in email.subject


@pytest.mark.parametrize("language", ["en", "ru", "ar", "zh"])
def test_direction_overrides_from_a_tender_never_reach_a_text(language: str) -> None:
    text = compose(a_match_with_overrides(), language=language, timezone_name="UTC")

    assert not any(c in _TROJAN for c in text), repr(text)
    assert "Gowns exe.lave" in text


def test_direction_overrides_from_a_tender_never_reach_a_digest() -> None:
    digest = render_digest(
        [a_match_with_overrides()], language="ru", timezone_name="UTC", day=date(2027, 1, 15)
    )

    for part in (digest.subject, digest.text, digest.html):
        assert not any(c in _TROJAN for c in part), part
    assert "Gowns exe.lave" in digest.text


@pytest.mark.parametrize(
    "unit", ["e\u0301", "\U0001f1f2\U0001f1ff", "\U0001f44d\U0001f3fd", "\u2764\ufe0f"]
)
@pytest.mark.parametrize("lead", range(3))
def test_a_cut_description_never_parts_a_letter_or_an_emoji_from_what_completes_it(
    unit: str, lead: int
) -> None:
    text = "描" * lead + unit * 700  # no spaces: cut between characters

    kept, cut = excerpt(text)

    assert cut
    assert kept.endswith("…")
    assert (len(kept) - 1 - lead) % len(unit) == 0, repr(kept[-6:])


def test_a_long_changed_value_is_cut_between_whole_characters() -> None:
    flags = "\U0001f1f2\U0001f1ff" * 100
    match = a_match().model_copy(
        update={
            "kind": MatchKind.AMENDED,
            "changes": (FieldChange(field="title", before=flags, after="Gowns"),),
        }
    )

    text = render(match, language="en", timezone_name="UTC").text

    (line,) = [line for line in text.splitlines() if "\U0001f1f2" in line]
    shown = line[line.index("\U0001f1f2") : line.index("…")]
    assert len(shown) % 2 == 0, repr(shown[-4:])
