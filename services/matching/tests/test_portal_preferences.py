"""The preferences page through the app in-process, signed in without a database: each section
saves one SupplierUpdate, a form without its token changes nothing, and hostile input gets the
page again, 422, with a message beside the field and nothing saved; never a 5xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from tenderwire_matching.portal.web import preferences
from tenderwire_matching.schemas import QuietWindow
from tenderwire_shared.events.matches import Delivery
from tests.support.portal_pages import Portal, portal

PAGE_BUDGET = 100 * 1024


@pytest_asyncio.fixture
async def signed_in() -> AsyncIterator[Portal]:
    async for state in portal():
        yield state


async def test_the_page_shows_every_section_with_the_suppliers_values(signed_in: Portal) -> None:
    signed_in.profile = signed_in.profile.model_copy(
        update={"keywords": ["gowns", "masques"], "agencies": ["UNDP", "WFP-SN"]}
    )
    page = await signed_in.http.get("/portal/preferences")

    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    for section in ("language", "delivery", "codes", "filters", "feed"):
        assert f'<section id="{section}">' in page.text
    assert '<option value="Africa/Dakar" selected>Dakar (UTC+00:00)</option>' in page.text
    assert "UNDP WFP-SN" in page.text
    assert "gowns\nmasques</textarea>" in page.text
    assert '<option value="SEN">Senegal</option>' in page.text
    # The suppliers' own code, with no title known: its number and level.
    assert "UNSPSC commodity 42131606" in page.text


async def test_the_page_and_its_css_stay_under_100_kb_even_with_the_largest_region(
    signed_in: Portal,
) -> None:
    css = await signed_in.http.get("/portal/static/portal.css")
    largest = 0
    for region in ("", "America", "Asia", "Europe", "Africa", "Pacific"):
        page = await signed_in.http.get("/portal/preferences", params={"region": region})
        assert page.status_code == 200
        largest = max(largest, len(page.content))
    assert largest + len(css.content) < PAGE_BUDGET, largest


async def test_a_region_lists_its_zones_after_the_suppliers_country(signed_in: Portal) -> None:
    page = await signed_in.http.get("/portal/preferences", params={"region": "America"})
    assert '<optgroup label="The Americas">' in page.text
    assert 'value="America/Lima"' in page.text
    assert 'value="Asia/Tokyo"' not in page.text
    unknown = await signed_in.http.get("/portal/preferences", params={"region": "<b>"})
    assert unknown.status_code == 200
    assert "&lt;b&gt;" not in unknown.text
    assert "<b>" not in unknown.text


async def test_language_and_time_zone_are_saved_together_and_the_page_says_so(
    signed_in: Portal,
) -> None:
    answer = await signed_in.post(
        "/portal/preferences/language", {"language": "es", "timezone": "America/Lima"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/preferences?saved=language#language"
    (change,) = signed_in.saved
    assert change.model_dump(exclude_unset=True) == {"language": "es", "timezone": "America/Lima"}


async def test_alerts_at_once_or_a_digest_and_quiet_hours(signed_in: Portal) -> None:
    answer = await signed_in.post(
        "/portal/preferences/delivery",
        {
            "delivery": "daily_digest",
            "digest_hour": "7",
            "quiet": "on",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
        },
    )
    assert answer.status_code == 303
    assert signed_in.profile.delivery is Delivery.DAILY_DIGEST
    assert signed_in.profile.digest_hour == 7
    assert signed_in.profile.quiet_hours == QuietWindow(start=time(22), end=time(7))

    await signed_in.post(
        "/portal/preferences/delivery",
        {"delivery": "immediate", "digest_hour": "7", "quiet": "off", "quiet_start": "22:00"},
    )
    assert signed_in.profile.quiet_hours is None
    assert "quiet_hours" in signed_in.saved[-1].model_fields_set


async def test_filters_are_saved_and_an_empty_filter_clears_it(signed_in: Portal) -> None:
    answer = await signed_in.post(
        "/portal/preferences/filters",
        [
            ("beneficiary_countries", "SEN"),
            ("beneficiary_countries", "MLI"),
            ("agencies", "undp, wfp-sn"),
            ("notice_types", "request_for_quotation"),
            ("keywords", "gowns\n\n  Médicaments \n"),
        ],
    )
    assert answer.status_code == 303
    assert signed_in.profile.beneficiary_countries == ["SEN", "MLI"]
    assert signed_in.profile.agencies == ["UNDP", "WFP-SN"]
    assert signed_in.profile.notice_types == ["request_for_quotation"]
    assert signed_in.profile.keywords == ["gowns", "Médicaments"]

    await signed_in.post("/portal/preferences/filters", {"agencies": "", "keywords": ""})
    assert signed_in.profile.agencies == []
    assert signed_in.profile.beneficiary_countries == []


async def test_a_form_without_its_token_or_from_another_site_changes_nothing(
    signed_in: Portal,
) -> None:
    await signed_in.form_token()
    fields = {"language": "fr", "timezone": "Africa/Dakar"}
    missing = await signed_in.http.post("/portal/preferences/language", data=fields)
    wrong = await signed_in.http.post(
        "/portal/preferences/language", data={**fields, "form_token": "x" * 32}
    )
    token = await signed_in.form_token()
    elsewhere = await signed_in.http.post(
        "/portal/preferences/language",
        data={**fields, "form_token": token},
        headers={"Origin": "https://attacker.example"},
    )
    assert [r.status_code for r in (missing, wrong, elsewhere)] == [403, 403, 403]
    assert "nothing was changed" in missing.text
    assert signed_in.saved == []


HOSTILE = [
    ("language", {"language": "<script>alert(1)</script>", "timezone": "UTC"}, "language"),
    ("language", {"language": "en", "timezone": "Mars/Olympus"}, "timezone"),
    ("language", {"language": "en", "timezone": "Africa/Dakar\x00"}, "timezone"),
    ("language", {"language": "en", "timezone": "../../etc/passwd"}, "timezone"),
    ("language", {"language": "en", "timezone": "A" * 100_000}, "timezone"),
    ("language", {"language": "en"}, "timezone"),
    ("delivery", {"delivery": "hourly", "digest_hour": "8", "quiet": "off"}, "delivery"),
    ("delivery", {"delivery": "daily_digest", "digest_hour": "abc", "quiet": "off"}, "digest_hour"),
    ("delivery", {"delivery": "daily_digest", "digest_hour": "99", "quiet": "off"}, "digest_hour"),
    ("delivery", {"delivery": "daily_digest", "digest_hour": "٣", "quiet": "off"}, "digest_hour"),
    ("delivery", {"delivery": "daily_digest", "digest_hour": "-1", "quiet": "off"}, "digest_hour"),
    (
        "delivery",
        {
            "delivery": "daily_digest",
            "digest_hour": "8",
            "quiet": "on",
            "quiet_start": "25:00",
            "quiet_end": "07:00",
        },
        "quiet_hours",
    ),
    (
        "delivery",
        {"delivery": "daily_digest", "digest_hour": "8", "quiet": "on", "quiet_start": "22:00"},
        "quiet_hours",
    ),
    ("delivery", {"delivery": "daily_digest", "digest_hour": "8", "quiet": "maybe"}, "quiet_hours"),
    ("filters", {"agencies": "<script>", "keywords": ""}, "agencies"),
    ("filters", {"agencies": "", "keywords": "ok\nx"}, "keywords"),
    ("filters", {"agencies": "", "keywords": "bad\x00word"}, "keywords"),
    ("filters", {"agencies": "", "keywords": "\n".join(f"word{i}" for i in range(51))}, "keywords"),
    (
        "filters",
        {"agencies": "", "keywords": "", "beneficiary_countries": "Atlantis"},
        "beneficiary_countries",
    ),
    ("filters", {"agencies": "", "keywords": "", "notice_types": "bribe"}, "notice_types"),
    ("filters", {"keywords": ""}, "agencies"),
]


@pytest.mark.parametrize(("section", "fields", "field"), HOSTILE)
async def test_hostile_input_gets_the_form_again_with_the_fields_message_and_saves_nothing(
    signed_in: Portal, section: str, fields: dict[str, str], field: str
) -> None:
    answer = await signed_in.post(f"/portal/preferences/{section}", fields)

    assert answer.status_code == 422, answer.text[:500]
    assert f'<p class="field-error" id="{field}-error">' in answer.text
    assert preferences.FIELD_MESSAGES[field] in answer.text
    assert "Nothing was changed" in answer.text
    assert "<script>" not in answer.text
    assert signed_in.saved == []


async def test_a_field_sent_twice_or_as_a_file_is_refused_not_guessed(signed_in: Portal) -> None:
    twice = await signed_in.post(
        "/portal/preferences/language",
        [("language", "en"), ("language", "fr"), ("timezone", "UTC")],
    )
    token = await signed_in.form_token()
    as_file = await signed_in.http.post(
        "/portal/preferences/language",
        data={"form_token": token, "language": "en"},
        files={"timezone": ("zone.txt", b"UTC", "text/plain")},
    )
    assert (twice.status_code, as_file.status_code) == (422, 422)
    assert signed_in.saved == []


async def test_what_was_sent_is_shown_again_escaped(signed_in: Portal) -> None:
    answer = await signed_in.post(
        "/portal/preferences/filters",
        {"agencies": '"><script>alert(1)</script>', "keywords": "</textarea><b>x</b>"},
    )
    assert answer.status_code == 422
    assert "&lt;script&gt;" in answer.text
    assert "&lt;/textarea&gt;&lt;b&gt;x&lt;/b&gt;" in answer.text


async def test_an_unknown_section_goes_back_to_the_page(signed_in: Portal) -> None:
    answer = await signed_in.post("/portal/preferences/everything", {"language": "fr"})
    assert answer.status_code == 303
    assert signed_in.saved == []


async def test_the_feed_is_turned_on_renewed_and_off_from_the_page(signed_in: Portal) -> None:
    before = await signed_in.http.get("/portal/preferences")
    assert "Turn the feed on" in before.text

    await signed_in.post("/portal/preferences/feed", {"action": "renew"})
    on = await signed_in.http.get("/portal/preferences")
    assert 'value="http://127.0.0.1:18002/portal/feed/feed-token-1.atom"' in on.text

    await signed_in.post("/portal/preferences/feed", {"action": "renew"})
    renewed = await signed_in.http.get("/portal/preferences")
    assert "feed-token-2.atom" in renewed.text
    assert "feed-token-1" not in renewed.text

    await signed_in.post("/portal/preferences/feed", {"action": "stop"})
    off = await signed_in.http.get("/portal/preferences")
    assert "feed-token" not in off.text


async def test_a_signed_out_visitor_is_sent_to_sign_in() -> None:
    from tenderwire_matching.bootstrap import create_app
    from tenderwire_matching.settings import MatchingSettings
    from tenderwire_shared.dependencies import get_pool
    from tenderwire_shared.settings import Environment

    class NoSessions:
        async def fetchrow(self, *args: object) -> None:
            return None

    app = create_app(MatchingSettings(environment=Environment.TEST))
    app.dependency_overrides[get_pool] = NoSessions
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
        for path in ("/portal/preferences", "/portal/codes", "/portal/alerts"):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/portal/sign-in?next=")


DAKAR = ZoneInfo("Africa/Dakar")
NOON = datetime(2027, 3, 10, 12, tzinfo=UTC)


def test_a_pause_is_a_day_after_today_in_the_suppliers_zone() -> None:
    assert preferences.pause_day("2027-03-20", DAKAR, NOON) == date(2027, 3, 20)
    assert preferences.pause_day("", DAKAR, NOON) is None
    # Noon UTC on the 10th is already the 11th in Kiritimati (UTC+14): the 11th is today there.
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    with pytest.raises(ValueError, match="out of range"):
        preferences.pause_day("2027-03-11", kiritimati, NOON)
    assert preferences.pause_day("2027-03-11", DAKAR, NOON) == date(2027, 3, 11)


@pytest.mark.parametrize(
    "asked", ["2027-03-10", "2027-03-09", "2028-03-12", "2027-02-30", "20270320", "٢٠٢٧-٠٣-٢٠"]
)
def test_a_pause_is_after_today_and_within_a_year(asked: str) -> None:
    with pytest.raises(ValueError, match=r"not a date|out of range"):
        preferences.pause_day(asked, DAKAR, NOON)


async def test_a_pause_is_saved_once_the_registry_has_it_and_refused_until_then(
    signed_in: Portal,
) -> None:
    # The pause saves `SupplierUpdate.paused_until`, which the accounts work adds; until it
    # is there, the section is not offered and a posted pause changes nothing.
    page = await signed_in.http.get("/portal/preferences")
    assert ('<section id="pause">' in page.text) == preferences.PAUSE_SUPPORTED
    day = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    answer = await signed_in.post(
        "/portal/preferences/pause", {"paused_until": day, "action": "pause"}
    )
    if preferences.PAUSE_SUPPORTED:
        assert answer.status_code == 303
        (change,) = signed_in.saved
        assert change.model_dump(exclude_unset=True) == {"paused_until": date.fromisoformat(day)}
    else:
        assert answer.status_code == 422
        assert signed_in.saved == []


# --- Every word through gettext -------------------------------------------------------------

_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&\w+;")
_WORDED_ATTRIBUTE = re.compile(r"\b(?:title|alt|aria-label|placeholder|label)=\"(?!\{\{)[^\"]*\"")
TEMPLATES = Path(str(files("tenderwire_matching"))) / "portal" / "templates"
OURS = ("preferences.html", "codes.html", "_code_row.html", "alerts.html", "_field_error.html")


@pytest.mark.parametrize("template", OURS)
def test_the_templates_say_nothing_outside_gettext(template: str) -> None:
    source = (TEMPLATES / template).read_text()
    assert not _WORDED_ATTRIBUTE.search(source), "an attribute's words must go through _()"
    left = _ENTITY.sub(" ", _TAG.sub(" ", _JINJA.sub(" ", source)))
    assert not re.search(r"[^\W\d_]", left), f"words outside gettext: {left.split()}"
