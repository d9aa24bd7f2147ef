"""Every word a supplier reads, in each of the seven languages: the catalogs are complete
and current, the templates hold no word outside gettext, and each alert kind's e-mail and
SMS, rendered from the real templates, leaves no English behind outside English."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import AnyHttpUrl

from tenderwire_notify.domain import SMS_KEYWORDS, SmsCommand, sms_command
from tenderwire_notify.rendering import (
    MESSAGES,
    TEMPLATES,
    RenderedEmail,
    render,
    render_digest,
)
from tenderwire_notify.sms_text import compose, how_to_stop, is_gsm7, reply_to, segments
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import Award, FieldChange, NoticeType, TenderSnapshot
from tenderwire_shared.i18n import LANGUAGES
from tenderwire_shared.i18n import catalogs as babel_catalogs
from tests.support import untranslated

PACKAGE = Path(str(files("tenderwire_notify")))
SOURCE = babel_catalogs.CatalogSource(PACKAGE)
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")
KINDS = ("new", "amended", "cancelled", "digest")


def test_every_catalog_is_complete_current_and_compiled() -> None:
    """No message without a translation, no dropped placeholder or plural form, nothing
    stale against the templates and code, every .mo what its .po compiles to."""
    assert babel_catalogs.check(SOURCE) == []


# --- No word outside gettext --------------------------------------------------------------

_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&\w+;")
_WORDED_ATTRIBUTE = re.compile(r"\b(?:title|alt|aria-label|placeholder)=\"(?!\{\{)[^\"]*\"")


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "templates").rglob("*.*")),
)
def test_templates_say_nothing_outside_gettext(template: str) -> None:
    source = (PACKAGE / template).read_text()
    assert not _WORDED_ATTRIBUTE.search(source), "an attribute's words must go through _()"
    left = _ENTITY.sub(" ", _TAG.sub(" ", _STYLE.sub(" ", _JINJA.sub(" ", source))))
    assert not re.search(r"[^\W\d_]", left), f"words outside gettext: {left.split()}"


# --- Each kind, each language --------------------------------------------------------------


def a_match(kind: MatchKind, language: str) -> MatchCreated:
    # The tender's own words are the agency's; these carry none of the templates' English.
    return MatchCreated(
        match_id="m1",
        kind=kind,
        recipient=Recipient(
            supplier_id="s1",
            legal_name="Kibo Medical Ltd",
            email="tenders@kibo.example",
            language=language,
            timezone="Africa/Nairobi",
        ),
        tender=TenderSnapshot(
            tender_id="t1",
            revision=2 if kind is not MatchKind.NEW else 1,
            agency="UNICEF",
            reference="RFQ/2027/0042",
            title="Isolation gowns, AAMI level 2",
            description="Isolation gowns, AAMI level 2, sizes M-XXL, 20,000 units. " * 20,
            language="en",
            notice_type=NoticeType.REQUEST_FOR_QUOTATION,
            unspsc_codes=("42131606",),
            beneficiary_countries=("KEN", "UGA"),
            deadline=datetime(2027, 1, 15, 13, 0, tzinfo=UTC),
            deadline_utc_offset_minutes=120,
            published_at=datetime(2026, 12, 1, tzinfo=UTC),
            url=AnyHttpUrl("https://tenderwire.example.org/v1/notices/t1"),
        ),
        matched_codes=("42131600",),
        changes=(
            FieldChange(
                field="deadline",
                before="2027-01-15T13:00:00+00:00",
                after="2027-01-22T13:00:00+00:00",
            ),
            FieldChange(field="beneficiary_countries", before=["KEN"], after=["KEN", "UGA"]),
            FieldChange(
                field="notice_type", before="request_for_quotation", after="invitation_to_bid"
            ),
        )
        if kind is MatchKind.AMENDED
        else (),
        reason="RFQ/2027/0042-A1" if kind is not MatchKind.NEW else None,
        still_matches=kind is not MatchKind.AMENDED,
    )


def rendered(kind: str, language: str) -> RenderedEmail:
    link = "https://tenderwire.example.org/v1/unsubscribe/TOKEN"
    if kind == "digest":
        matches = [a_match(MatchKind(k), language) for k in ("new", "amended", "cancelled")]
        return render_digest(
            matches,
            language=language,
            timezone_name="Africa/Nairobi",
            day=date(2027, 1, 3),
            unsubscribe_url=link,
        )
    return render(
        a_match(MatchKind(kind), language),
        language=language,
        timezone_name="Africa/Nairobi",
        unsubscribe_url=link,
    )


def english_left(text: str, language: str) -> list[str]:
    return untranslated.english_left(text, SOURCE, language)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_an_alert_email_leaves_no_english_behind(kind: str, language: str) -> None:
    email = rendered(kind, language)
    for part, text in (("subject", email.subject), ("text", email.text), ("html", email.html)):
        assert english_left(text, language) == [], (part, text)
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in email.html


@pytest.mark.parametrize("kind", ["new", "amended", "cancelled"])
@pytest.mark.parametrize("language", TRANSLATED)
def test_an_sms_alert_leaves_no_english_behind(kind: str, language: str) -> None:
    text = compose(a_match(MatchKind(kind), language), language=language, timezone_name="UTC")
    assert english_left(text, language) == [], text
    assert how_to_stop(language) in text or language in ("es", "fr", "pt")  # folded to GSM-7


@pytest.mark.parametrize("kind", KINDS)
def test_the_english_alert_reads_as_english(kind: str) -> None:
    email = rendered(kind, "en")
    assert email.text.startswith("Hello Kibo Medical Ltd,")
    assert "Unsubscribe or stop all alerts" in email.text
    assert '<html lang="en" dir="ltr">' in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_alert_email_has_the_description_and_a_visible_unsubscribe_link(
    language: str,
) -> None:
    email = rendered("new", language)
    for body in (email.text, email.html):
        assert "https://tenderwire.example.org/v1/unsubscribe/TOKEN" in body
        assert "Isolation gowns, AAMI level 2, sizes M-XXL" in body
    # Trimmed, with the link for the rest: 20 repetitions would be over 1,200 characters.
    assert email.text.count("20,000 units") < 20
    assert "…" in email.text


def test_arabic_keeps_codes_references_and_dates_left_to_right() -> None:
    email = rendered("new", "ar")
    assert '<bdi dir="ltr">RFQ/2027/0042</bdi>' in email.html
    assert '<bdi dir="ltr">42131606</bdi>' in email.html
    assert "\u2066RFQ/2027/0042\u2069" in email.text
    assert "\u2066RFQ/2027/0042\u2069" in email.subject
    # Left-to-right text carries no isolates.
    assert "\u2066" not in rendered("new", "fr").text


@pytest.mark.parametrize(
    ("count", "form"),
    [(1, 0), (2, 1), (3, 1), (5, 2), (11, 2), (21, 0), (22, 1), (25, 2), (101, 0), (112, 2)],
)
def test_a_russian_digest_uses_russian_plural_forms(count: int, form: int) -> None:
    matches = [a_match(MatchKind.NEW, "ru")] * count
    email = render_digest(matches, language="ru", timezone_name="UTC", day=date(2027, 1, 3))
    catalog = babel_catalogs.read_catalog(SOURCE.po_path("ru"), "ru")
    message = catalog.get("Your %(num)d tender alert since the last digest:")
    assert message is not None
    assert isinstance(message.string, tuple)
    assert len(message.string) == 3
    assert (message.string[form] % {"num": count}) in email.text


def test_an_arabic_digest_has_a_distinct_form_for_each_of_cldrs_six_categories() -> None:
    words = MESSAGES("ar")
    forms = {
        words.ngettext(
            "Your %(num)d tender alert since the last digest:",
            "Your %(num)d tender alerts since the last digest:",
            n,
        )
        for n in (0, 1, 2, 3, 11, 100)  # zero, one, two, few, many, other
    }
    assert len(forms) == 6, forms


# --- SMS: how to stop, in every language --------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sms_says_how_to_stop_with_a_word_notify_understands(language: str) -> None:
    hint = how_to_stop(language)
    words = re.findall(r"[^\W\d_]+", hint)
    assert any(sms_command(w) is SmsCommand.STOP for w in words), hint


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_replies_to_stop_start_and_help_name_words_notify_understands(language: str) -> None:
    stop = reply_to(SmsCommand.STOP, language=language, help_contact="help@tenderwire.example")
    start = reply_to(SmsCommand.START, language=language, help_contact="help@tenderwire.example")
    helping = reply_to(SmsCommand.HELP, language=language, help_contact="help@tenderwire.example")
    assert any(sms_command(w) is SmsCommand.START for w in re.findall(r"[^\W\d_]+", stop)), stop
    assert any(sms_command(w) is SmsCommand.STOP for w in re.findall(r"[^\W\d_]+", start)), start
    assert "help@tenderwire.example" in helping
    if language != "en":
        english = reply_to(SmsCommand.STOP, language="en", help_contact="")
        assert stop != english


@pytest.mark.parametrize("command", list(SmsCommand))
@pytest.mark.parametrize("language", ["en", "fr", "es", "pt"])
def test_a_reply_in_a_latin_script_language_is_gsm7(command: SmsCommand, language: str) -> None:
    reply = reply_to(command, language=language, help_contact="help@tenderwire.example")
    assert is_gsm7(reply), reply
    if command is not SmsCommand.HELP:
        assert segments(reply) == 1, reply


@pytest.mark.parametrize(
    ("reply", "command"),
    [
        ("STOP", SmsCommand.STOP),
        ("Arrêt", SmsCommand.STOP),
        ("alto", SmsCommand.STOP),
        ("PARAR", SmsCommand.STOP),
        ("Parar.", SmsCommand.STOP),
        ("СТОП", SmsCommand.STOP),
        ("стоп!", SmsCommand.STOP),
        ("停止", SmsCommand.STOP),
        ("退订", SmsCommand.STOP),
        ("TD", SmsCommand.STOP),
        ("إيقاف", SmsCommand.STOP),
        ("ايقاف", SmsCommand.STOP),
        ("START", SmsCommand.START),
        ("Começar", SmsCommand.START),
        ("СТАРТ", SmsCommand.START),
        ("开始", SmsCommand.START),
        ("بدء", SmsCommand.START),
        ("aide", SmsCommand.HELP),
        ("AJUDA", SmsCommand.HELP),
        ("Stop sending me these please", None),
        ("yes", None),
        ("", None),
        ("\x00", None),
    ],
)
def test_stop_start_and_help_are_understood_in_every_language(
    reply: str, command: SmsCommand | None
) -> None:
    assert sms_command(reply) is command


def test_no_word_means_two_things() -> None:
    stop, start, helping = (SMS_KEYWORDS[c] for c in SmsCommand)
    assert not stop & start
    assert not stop & helping
    assert not start & helping


@pytest.mark.parametrize(
    ("language", "amount"),
    [
        ("en", "$1,234,567.50"),
        ("fr", "1\u202f234\u202f567,50\u00a0$US"),
        ("es", "1.234.567,50\u00a0US$"),
        ("pt", "1\u00a0234\u00a0567,50\u00a0US$"),
        ("ru", "1\u00a0234\u00a0567,50\u00a0$"),
        ("zh", "US$1,234,567.50"),
    ],
)
def test_an_awarded_amount_is_written_as_the_readers_locale_writes_money(
    language: str, amount: str
) -> None:
    match = a_match(MatchKind.CANCELLED, language)
    awarded = match.model_copy(
        update={
            "tender": match.tender.model_copy(
                update={
                    "award": Award(
                        supplier_name="Kibo Medical Ltd",
                        supplier_country="KEN",
                        amount=Decimal("1234567.50"),
                        currency="USD",
                        date=date(2026, 12, 20),
                    )
                }
            )
        }
    )
    email = render(awarded, language=language, timezone_name="UTC")
    assert amount in email.text
    assert amount in email.html


@pytest.mark.parametrize(
    ("field", "before", "after", "shown"),
    [
        ("deadline", "not a date", "2027-01-22T13:00:00", "2027-01-22T13:00:00"),
        ("__init__", "x", "y-value", "__init__"),
        ("_plain", 1, 2, "_plain"),
        ("beneficiary_countries", 5, {"QQZ": 1}, "QQZ"),
        ("documents", "x", [{"title": None}, 3], "3"),
        ("notice_type", ["x"], "no_such_type", "no_such_type"),
    ],
)
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_change_in_an_unexpected_shape_is_shown_as_it_came(
    field: str, before: object, after: object, shown: str, language: str
) -> None:
    """A field change is the sender's JSON: an odd shape must not cost the supplier its alert."""
    match = a_match(MatchKind.AMENDED, language).model_copy(
        update={"changes": (FieldChange(field=field, before=before, after=after),)}
    )
    email = render(match, language=language, timezone_name="UTC")
    assert shown in email.text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "1\u202f234,5 | 1\u202f234,50\u00a0€ | 15 janvier 2027 | rtl=False"),
        ("ar", "1,234.5 | \u200f1,234.50\u00a0€ | 15 يناير 2027 | rtl=True"),
        ("zh", "1,234.5 | €1,234.50 | 2027年1月15日 | rtl=False"),
    ],
)
def test_every_template_has_cldr_formats_and_the_direction_at_hand(
    language: str, expected: str
) -> None:
    """What a new page (the supplier portal's) can use without writing its own formatting."""
    template = TEMPLATES.environment(language).from_string(
        "{{ 1234.5 | number }} | {{ 1234.5 | money('EUR') }} | {{ day | date }} | rtl={{ rtl }}"
    )
    assert template.render(day=date(2027, 1, 15)) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_cpv_only_tender_is_announced_by_its_cpv_codes(language: str) -> None:
    match = a_match(MatchKind.NEW, language)
    cpv_only = match.model_copy(
        update={
            "tender": match.tender.model_copy(
                update={"unspsc_codes": (), "cpv_codes": ("45233162",)}
            )
        }
    )
    email = render(cpv_only, language=language, timezone_name="UTC")
    words = MESSAGES(language)
    assert words.gettext("A tender matching your CPV codes has been published.") in email.text
    assert words.gettext("UNSPSC codes") not in email.text
    assert words.gettext("CPV codes") in email.html
    assert "45233162" in email.text
    if language != "en":
        assert english_left(email.text, language) == []
