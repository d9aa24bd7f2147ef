"""The SMS alert's words: every language keeps a recognisable part of a long title (two parts,
or three for a title in a script GSM-7 lacks beside a long link), Latin-script text is folded
into GSM-7, and the deadline, the link and how to stop are never cut."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderwire_notify.sms_text import (
    LANGUAGES,
    MAX_PARTS,
    MAX_PARTS_FOR_A_TITLE,
    MIN_TITLE_CHARACTERS,
    compose,
    deadline_words,
    how_to_stop,
    is_gsm7,
    length_units,
    segments,
    to_gsm7,
)
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tests.support.examples import examples

TENDER_ID = "0190a7b6-1234-7abc-8def-0123456789ab"
LINK = f"https://tenderwire.example.org/v1/notices/{TENDER_ID}"
DEADLINE = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)

LONG_TITLES = {
    "en": "Supply and installation of solar-powered vaccine refrigerators for district health"
    " centres in the northern provinces, including training of health workers, spare parts"
    " and five years of maintenance",
    "fr": "Fourniture et installation de réfrigérateurs solaires pour vaccins destinés aux"
    " centres de santé de district des provinces du nord, y compris la formation des agents"
    " et cinq ans de maintenance",
    "es": "Licitación para el suministro e instalación de refrigeradores solares de vacunas para"
    " los centros de salud de distrito de las provincias del norte, con capacitación y cinco"
    " años de mantenimiento",
    "pt": "Licitação para fornecimento e instalação de refrigeradores solares de vacinas para os"
    " centros de saúde distritais das províncias do norte, com formação e cinco anos de"
    " manutenção",
    "ru": "Поставка и установка холодильников на солнечных батареях для хранения вакцин в"
    " районных медицинских центрах северных провинций",
    "ar": "توريد وتركيب ثلاجات لقاحات تعمل بالطاقة الشمسية لمراكز الصحة في المناطق الشمالية"
    " من البلاد وفقا للمواصفات الفنية المرفقة",
    "zh": "为北部省份各地区卫生中心采购并安装太阳能疫苗冰箱及相关配套设备"
    "和技术培训服务以及五年维护保养合同",
}
# Latin-script text has the room of GSM-7 (306 septets in two parts); the others share 134
# UCS-2 units in two parts, or 201 in three, with the prefix, the deadline, an 80-character
# link and how to stop.
RECOGNISABLE = {"en": 100, "fr": 100, "es": 100, "pt": 100, "ru": 20, "ar": 20, "zh": 20}
# How each language writes 14:00 UTC on 5 December, in Dakar (UTC+0): CLDR's day and month.
DEADLINES = {
    "en": "Deadline Dec 5 14:00.",
    "fr": "Date limite 5 déc. 14:00.",
    "es": "Plazo: 5 dic 14:00.",
    "pt": "Prazo 5/12 14:00.",
    "ru": "Срок 5 дек. 14:00.",
    "ar": "آخر موعد 5 ديسمبر 14:00.",
    "zh": "截止12月5日 14:00。",
}
SHORT_TITLES = {
    "en": "Water pumps",
    "fr": "Pompes à eau",
    "es": "Bombas de agua",
    "pt": "Bombas de água",
    "ru": "Водяные насосы",
    "ar": "مضخات مياه",
    "zh": "水泵",
}
UNGM_LINK = "https://www.ungm.org/Public/Notice/245871"
# The parts each language's alert takes: (long title, short title) with the 80-character
# link above, then with a 41-character UNGM link. The closing note quotes this table.
SEGMENTS = {
    "en": ((2, 2), (2, 1)),
    "fr": ((2, 2), (2, 1)),
    "es": ((2, 2), (2, 1)),
    "pt": ((2, 2), (2, 1)),
    "ru": ((3, 3), (2, 2)),
    "ar": ((3, 3), (2, 2)),
    "zh": ((2, 2), (2, 2)),
}


def a_match(
    title: str,
    *,
    kind: MatchKind = MatchKind.NEW,
    agency: str = "AG0123456789",
    deadline: datetime = DEADLINE,
    link: str | None = LINK,
) -> MatchCreated:
    tender: dict[str, Any] = {
        "tender_id": TENDER_ID,
        "revision": 1,
        "agency": agency,
        "reference": "REF-1",
        "title": title,
        "description": "-",
        "language": "en",
        "notice_type": "invitation_to_bid",
        "unspsc_codes": ["52141501"],
        "beneficiary_countries": [],
        "deadline": deadline,
        "deadline_utc_offset_minutes": 0,
        "published_at": datetime(2026, 11, 1, tzinfo=UTC),
        "url": link,
    }
    recipient = {
        "supplier_id": "s1",
        "legal_name": "Supplier",
        "email": "s1@example.org",
        "language": "en",
        "timezone": "UTC",
    }
    return MatchCreated.model_validate(
        {
            "match_id": "m1",
            "kind": kind,
            "recipient": recipient,
            "tender": tender,
            "matched_codes": ["52141501"],
        }
    )


def kept_of(title: str, text: str) -> str:
    """The longest start of `title` that the message carries."""
    kept = 0
    while kept < len(title) and title[: kept + 1] in text:
        kept += 1
    return title[:kept]


def stop_hint(language: str, text: str) -> str:
    hint = how_to_stop(language)
    return (to_gsm7(hint) or hint) if is_gsm7(text) else hint


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(MatchKind))
def test_a_long_title_keeps_a_recognisable_start_within_its_parts(
    language: str, kind: MatchKind
) -> None:
    title = LONG_TITLES[language]
    text = compose(a_match(title, kind=kind), language=language, timezone_name="Africa/Dakar")

    as_written = to_gsm7(title) if is_gsm7(text) else title
    assert as_written is not None
    assert len(kept_of(as_written, text).strip()) >= RECOGNISABLE[language]
    assert segments(text) <= (MAX_PARTS if is_gsm7(text) else MAX_PARTS_FOR_A_TITLE)
    deadline = to_gsm7(DEADLINES[language]) if is_gsm7(text) else DEADLINES[language]
    assert text.endswith(f" {deadline} {LINK}\n{stop_hint(language, text)}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_takes_the_parts_its_rule_gives(language: str) -> None:
    counts = tuple(
        tuple(
            segments(compose(a_match(title, link=link), language=language, timezone_name="UTC"))
            for title in (LONG_TITLES[language], SHORT_TITLES[language])
        )
        for link in (LINK, UNGM_LINK)
    )
    assert counts == SEGMENTS[language]


@pytest.mark.parametrize("language", ["es", "fr", "pt", "en"])
def test_latin_script_alerts_are_gsm7_whatever_their_accents(language: str) -> None:
    text = compose(
        a_match(LONG_TITLES[language]), language=language, timezone_name="America/Bogota"
    )

    assert is_gsm7(text)
    assert length_units(text) > 160  # two parts of GSM-7 used, not two of UCS-2


def test_a_spanish_alert_keeps_its_title_where_it_used_to_lose_it() -> None:
    text = compose(a_match(LONG_TITLES["es"]), language="es", timezone_name="Africa/Dakar")

    assert text.startswith(
        "Nueva licitacion (AG0123456789): Licitacion para el suministro e instalacion de"
        " refrigeradores solares de vacunas"
    )


def test_a_short_title_is_sent_whole_and_unchanged() -> None:
    text = compose(a_match("Water pumps"), language="en", timezone_name="Africa/Dakar")

    assert text == (
        f"New tender (AG0123456789): Water pumps. Deadline Dec 5 14:00. {LINK}"
        "\nReply STOP to opt out"
    )


def test_whitespace_in_a_title_becomes_single_spaces() -> None:
    text = compose(
        a_match("Water\tpumps\n\n and  valves\u00a0(lot 2)"),
        language="en",
        timezone_name="Africa/Dakar",
    )

    assert text.startswith("New tender (AG0123456789): Water pumps and valves (lot 2). Deadline")


def test_a_cut_title_ends_on_a_whole_word_and_an_ellipsis() -> None:
    title = LONG_TITLES["en"]
    text = compose(a_match(title), language="en", timezone_name="Africa/Dakar")

    kept = text.removeprefix("New tender (AG0123456789): ").split("... Deadline")[0]
    assert kept != title
    assert title.startswith(kept)
    assert title[len(kept)] in " ,"


def test_a_title_in_a_script_without_spaces_is_cut_between_characters() -> None:
    title = LONG_TITLES["zh"]
    text = compose(a_match(title), language="zh", timezone_name="Asia/Shanghai")

    kept = text.removeprefix("新招标: ").split("… 截止")[0]
    assert kept != text
    assert title.startswith(kept)
    assert len(kept) >= 20


def test_a_title_of_emoji_alone_is_sent_as_it_is_rather_than_left_out() -> None:
    text = compose(a_match("\U0001f31e\U0001f4a7"), language="fr", timezone_name="UTC")

    assert ": \U0001f31e\U0001f4a7. " in text, text
    assert segments(text) <= MAX_PARTS_FOR_A_TITLE


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f1f2\U0001f1ff",  # a flag: two regional indicators
        "\U0001f44d\U0001f3fd",  # a skin tone
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family, joined by ZWJ
        "\u2764\ufe0f",  # a variation selector
        "1\ufe0f\u20e3",  # a keycap
    ],
)
@pytest.mark.parametrize("language", ["ru", "ar", "zh"])
@pytest.mark.parametrize("lead", range(4))
def test_a_cut_title_never_parts_an_emoji_from_what_completes_it(
    emoji: str, language: str, lead: int
) -> None:
    title = "Т" * lead + emoji * 80

    text = compose(a_match(title), language=language, timezone_name="UTC")

    kept = kept_of(title, text)
    assert f"{kept}…" in text
    assert len(kept) > lead
    assert (len(kept) - lead) % len(emoji) == 0, repr(kept[-6:])


@pytest.mark.parametrize(
    ("original", "folded"),
    [
        ("Licitación pública nº 12/2027", "Licitacion publica no 12/2027"),
        ("Ç and ç; é, è, ñ and ü are GSM-7", "Ç and c; é, è, ñ and ü are GSM-7"),
        ("«Œuvres» \u2013 l\u2019Łódź", "<<Oeuvres>> - l'Lodz"),
        ("e\u0301te\u0301", "été"),  # decomposed accents first compose
        ("Água e saneamento, 1ª fase", "Agua e saneamento, 1a fase"),
    ],
)
def test_latin_text_takes_its_closest_gsm7_form(original: str, folded: str) -> None:
    assert to_gsm7(original) == folded
    assert is_gsm7(folded)


@pytest.mark.parametrize(
    ("original", "folded"),
    [
        ("Solar pumps \U0001f31e for clinics", "Solar pumps  for clinics"),
        ("\U0001f6d1 Urgent \u260e\ufe0f", " Urgent "),
        ("Thanks \U0001f44d\U0001f3fd", "Thanks "),
    ],
)
def test_emoji_are_left_out_of_gsm7_not_spelt_as_shortcodes(original: str, folded: str) -> None:
    assert to_gsm7(original) == folded


def test_an_emoji_in_a_latin_title_costs_no_room_and_no_shortcode() -> None:
    text = compose(
        a_match("Solar pumps \U0001f31e\U0001f31e for rural clinics"),
        language="en",
        timezone_name="UTC",
    )

    assert is_gsm7(text)
    assert ": Solar pumps for rural clinics. " in text, text


@pytest.mark.parametrize("text", ["Поставка", "توريد", "太阳能", "Καλημέρα"])
def test_text_of_another_script_is_not_transliterated(text: str) -> None:
    assert to_gsm7(text) is None


def test_a_latin_language_supplier_still_reads_a_cyrillic_title_as_written() -> None:
    title = LONG_TITLES["ru"]
    english = compose(a_match(title), language="en", timezone_name="Europe/Moscow")
    spanish = compose(a_match(title), language="es", timezone_name="Europe/Moscow")

    assert not is_gsm7(english)
    assert len(kept_of(title, english)) >= MIN_TITLE_CHARACTERS
    assert segments(english) <= MAX_PARTS_FOR_A_TITLE
    # UCS-2 carries the Spanish labels' accents.
    assert spanish.startswith("Nueva licitación (AG0123456789): Поставка")
    assert segments(spanish) <= MAX_PARTS_FOR_A_TITLE


def test_the_agency_gives_way_to_the_title_only_when_room_is_short() -> None:
    long_link = f"{LINK}?utm_source=tenderwire-sms-alert"  # 112 characters
    russian = compose(
        a_match(LONG_TITLES["ru"], link=long_link), language="ru", timezone_name="Europe/Moscow"
    )
    short = compose(a_match("Насосы"), language="ru", timezone_name="Europe/Moscow")

    assert russian.startswith("Новый тендер: Поставка")
    assert short.startswith("Новый тендер (AG0123456789): Насосы.")


def test_a_regional_language_tag_uses_its_base_language_and_unknown_ones_english() -> None:
    brazil = compose(a_match("Bombas"), language="pt-BR", timezone_name="America/Sao_Paulo")
    unknown = compose(a_match("Pumps"), language="xx", timezone_name="UTC")

    assert brazil.startswith("Novo concurso (AG0123456789): Bombas.")
    assert unknown.startswith("New tender (AG0123456789): Pumps.")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        # The escape and the € cannot be split between parts: the € starts the second.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("a" * 151 + "€" + "a" * 153, 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        # A surrogate pair cannot be split either.
        ("ж" * 66 + "😀" + "ж" * 66, 3),
    ],
)
def test_segments_count_parts_as_handsets_join_them(text: str, parts: int) -> None:
    assert segments(text) == parts


TIMEZONES = sorted(zoneinfo.available_timezones())
LINKS = [
    LINK,
    f"http://127.0.0.1:18001/v1/notices/{TENDER_ID}",
    f"https://tenders.procurement.example.int/notices/v1/notices/{TENDER_ID}",
]


@settings(max_examples=examples(300), deadline=None)
@given(
    title=st.text(max_size=400),
    language=st.sampled_from([*LANGUAGES, "de"]),
    kind=st.sampled_from(list(MatchKind)),
    timezone_name=st.sampled_from(TIMEZONES),
    deadline=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    agency=st.from_regex(r"[A-Z][A-Z0-9]{1,15}", fullmatch=True),
    link=st.sampled_from(LINKS),
)
def test_any_title_and_time_zone_fit_the_parts_with_deadline_link_and_stop_whole(
    title: str,
    language: str,
    kind: MatchKind,
    timezone_name: str,
    deadline: datetime,
    agency: str,
    link: str,
) -> None:
    match = a_match(title, kind=kind, agency=agency, deadline=deadline, link=link)
    text = compose(match, language=language, timezone_name=timezone_name)
    words = deadline_words(match, language=language, timezone_name=timezone_name)
    minute = deadline.astimezone(zoneinfo.ZoneInfo(timezone_name)).strftime("%H:%M")

    assert segments(text) <= MAX_PARTS_FOR_A_TITLE
    tail = f" {to_gsm7(words) if is_gsm7(text) else words} {link}\n{stop_hint(language, text)}"
    assert text.endswith(tail)
    assert minute in words


@settings(max_examples=examples(200), deadline=None)
@given(
    title=st.text(
        alphabet=st.characters(categories=("Lu", "Ll", "Lo"), max_codepoint=0xFFFF),
        min_size=1,
        max_size=300,
    ),
    language=st.sampled_from(LANGUAGES),
)
def test_a_title_in_any_script_is_never_dropped_with_a_link_of_usual_length(
    title: str, language: str
) -> None:
    text = compose(a_match(title), language=language, timezone_name="UTC")

    as_written = to_gsm7(title) if is_gsm7(text) else title
    assert as_written is not None
    assert len(kept_of(as_written, text)) >= min(len(as_written), 8)
