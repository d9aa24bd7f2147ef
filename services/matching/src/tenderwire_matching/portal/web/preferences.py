"""The preferences page: language and time zone, how alerts come (at once or a daily digest,
quiet hours), a pause, the filters, the codes (edited in the code picker) and the private feed.

Each section is its own form and its own POST, carrying the form token, saved as one
`SupplierUpdate` through `services.update`, exactly as the API's PATCH: one change at a time,
so a refused field leaves everything as it was. A refusal shows the page again, 422, with the
section as it was sent and a message beside each field at fault; a success redirects back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from tenderwire_matching.portal.feed import repository as feed_repository
from tenderwire_matching.portal.feed import services as feed_services
from tenderwire_matching.portal.web import choices
from tenderwire_matching.portal.web.codes import CatalogueReader, describe_codes
from tenderwire_matching.portal.web.profile import (
    ChangeRefusedError,
    Profile,
    Saver,
    field_errors,
    posted_form,
    text,
    texts,
)
from tenderwire_matching.portal.web.rendering import MESSAGES, page, page_language
from tenderwire_matching.schemas import SupplierUpdate, SupplierView
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.i18n import N_

router = APIRouter(prefix="/portal", include_in_schema=False)

PAUSE_SUPPORTED = "paused_until" in SupplierUpdate.model_fields
LONGEST_PAUSE = timedelta(days=366)
SECTIONS = ("language", "delivery", "pause", "filters", "feed")

# What the page says beside a field the change was refused for; pydantic's own words are
# English and name internals, so each field has one message of its own.
FIELD_MESSAGES = {
    "language": N_("Choose one of the languages listed."),
    "timezone": N_("Choose a time zone from the list."),
    "delivery": N_("Choose alerts at once or a daily digest."),
    "digest_hour": N_("Choose an hour from the list."),
    "quiet_hours": N_(
        "Give both times as hours and minutes, for example 22:00 and 07:00, or choose no"
        " quiet hours."
    ),
    "paused_until": N_("Choose a date after today and at most a year ahead."),
    "beneficiary_countries": N_("Choose countries from the list, at most 250."),
    "agencies": N_(
        "Write agency codes as the agencies publish them, such as UNDP or WFP-SN: 2 to 20"
        " capital letters, digits or hyphens, at most 100 codes."
    ),
    "notice_types": N_("Choose notice types from the list."),
    "keywords": N_(
        "Write one keyword or phrase per line, each 2 to 60 characters of plain text, at most 50."
    ),
    "": N_("This change could not be saved. Check the fields and try again."),
}


class FeedTokens:
    """The supplier's feed address, kept in `supplier_feeds`."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def current(self, supplier_id: str) -> str | None:
        return await feed_repository.token_of(self._pool, supplier_id)

    async def renew(self, supplier_id: str) -> str:
        return await feed_services.renew(self._pool, supplier_id)

    async def stop(self, supplier_id: str) -> None:
        await feed_repository.drop_token(self._pool, supplier_id)


Feeds = Annotated[FeedTokens, Depends(FeedTokens)]


def _settings(request: Request) -> MatchingSettings:
    settings: MatchingSettings = request.app.state.settings
    return settings


def feed_url(request: Request, token: str) -> str:
    return f"{_settings(request).portal_url}/feed/{token}.atom"


def current_values(profile: SupplierView) -> dict[str, Any]:
    quiet = profile.quiet_hours
    # A day (the registry's `paused_until`); an instant is shown as its day in the zone.
    paused: date | datetime | None = getattr(profile, "paused_until", None)
    if isinstance(paused, datetime):
        paused = paused.astimezone(ZoneInfo(profile.timezone)).date()
    return {
        "language": profile.language,
        "timezone": profile.timezone,
        "delivery": profile.delivery.value,
        "digest_hour": str(profile.digest_hour),
        "quiet": "on" if quiet else "off",
        "quiet_start": quiet.start.strftime("%H:%M") if quiet else "",
        "quiet_end": quiet.end.strftime("%H:%M") if quiet else "",
        "paused_until": paused.isoformat() if paused else "",
        "beneficiary_countries": list(profile.beneficiary_countries),
        "agencies": " ".join(profile.agencies),
        "notice_types": list(profile.notice_types),
        "keywords": "\n".join(profile.keywords),
    }


async def render(
    request: Request,
    profile: SupplierView,
    catalogue: CatalogueReader,
    feeds: FeedTokens,
    *,
    region: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    section: str | None = None,
    saved: bool = False,
) -> HTMLResponse:
    language = page_language(request, profile.language)
    words = MESSAGES(language)
    shown = current_values(profile)
    shown.update(values or {})
    now = datetime.now(UTC)
    region = region if region in choices.region_keys() else None
    own_zones, region_zones = choices.zone_choices(
        profile.country, region, str(shown["timezone"]), language, now
    )
    token = await feeds.current(profile.id)
    codes = await describe_codes(catalogue, profile, language)
    return page(
        request,
        "preferences.html",
        language=language,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK,
        profile=profile,
        values=shown,
        # Message ids: `_field_error.html` translates them (as the accounts' forms do).
        errors={field: FIELD_MESSAGES[field] for field in errors or {}},
        section=section,
        saved=saved,
        languages=choices.languages(),
        own_zones=own_zones,
        region_zones=region_zones,
        regions=choices.regions(words),
        region_name=words.gettext(choices.REGION_NAMES[region]) if region else None,
        region=region,
        hours=[(h, time(h).strftime("%H:%M")) for h in range(24)],
        countries=choices.countries(language),
        notice_types=choices.notice_types(words),
        codes=codes,
        pause_supported=PAUSE_SUPPORTED,
        feed_url=feed_url(request, token) if token else None,
    )


@router.api_route("/preferences", methods=["GET", "HEAD"])
async def preferences(
    request: Request,
    profile: Profile,
    catalogue: CatalogueReader,
    feeds: Feeds,
    region: str | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    return await render(request, profile, catalogue, feeds, region=region, saved=saved in SECTIONS)


def _saved(section: str) -> RedirectResponse:
    return RedirectResponse(
        f"/portal/preferences?{urlencode({'saved': section})}#{section}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


# Each section reads its fields into what SupplierUpdate takes; a field that cannot even be
# read (sent twice, a file, not a number) is refused here under its own name.


class _UnreadableError(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _required(form: FormData, name: str, blame: str | None = None) -> str:
    value = text(form, name)
    if value is None:
        raise _UnreadableError(blame or name)
    return value


def _language_change(form: FormData) -> dict[str, Any]:
    return {"language": _required(form, "language"), "timezone": _required(form, "timezone")}


def _delivery_change(form: FormData) -> dict[str, Any]:
    hour = _required(form, "digest_hour")
    if not (hour.isascii() and hour.isdigit() and len(hour) <= 2):
        raise _UnreadableError("digest_hour")
    change: dict[str, Any] = {"delivery": _required(form, "delivery"), "digest_hour": int(hour)}
    quiet = text(form, "quiet")
    if quiet == "on":
        change["quiet_hours"] = {
            "start": _required(form, "quiet_start", "quiet_hours"),
            "end": _required(form, "quiet_end", "quiet_hours"),
        }
    elif quiet == "off":
        change["quiet_hours"] = None
    else:
        raise _UnreadableError("quiet_hours")
    return change


def pause_day(asked: str, zone: ZoneInfo, now: datetime) -> date | None:
    """The day alerts resume (they do when it begins in the supplier's zone: the registry's
    rule); ValueError unless it is after today there and at most a year ahead; None for none."""
    if not asked:
        return None
    try:
        if len(asked) != 10 or not asked.isascii():
            raise ValueError(asked)
        day = date.fromisoformat(asked)
    except ValueError as exc:
        raise ValueError("not a date") from exc
    today = now.astimezone(zone).date()
    if not today < day <= today + LONGEST_PAUSE:
        raise ValueError("out of range")
    return day


def _filters_change(form: FormData) -> dict[str, Any]:
    countries = texts(form, "beneficiary_countries")
    kinds = texts(form, "notice_types")
    agencies = _required(form, "agencies")
    keywords = _required(form, "keywords")
    if countries is None:
        raise _UnreadableError("beneficiary_countries")
    if kinds is None:
        raise _UnreadableError("notice_types")
    return {
        "beneficiary_countries": countries,
        "agencies": agencies.replace(",", " ").split(),
        "notice_types": kinds,
        "keywords": [line.strip() for line in keywords.splitlines() if line.strip()],
    }


def _posted_values(section: str, form: FormData) -> dict[str, Any]:
    """The section's fields as sent, to show them again beside the messages."""
    names = {
        "language": ("language", "timezone"),
        "delivery": ("delivery", "digest_hour", "quiet", "quiet_start", "quiet_end"),
        "pause": ("paused_until",),
        "filters": ("agencies", "keywords"),
    }[section]
    values: dict[str, Any] = {name: text(form, name) or "" for name in names}
    if section == "filters":
        values["beneficiary_countries"] = texts(form, "beneficiary_countries") or []
        values["notice_types"] = texts(form, "notice_types") or []
    return values


@router.post("/preferences/{section}")
async def save_section(
    request: Request,
    section: str,
    profile: Profile,
    save: Saver,
    catalogue: CatalogueReader,
    feeds: Feeds,
) -> Response:
    form = await posted_form(request)
    if section == "feed":
        return await _feed_action(request, profile, feeds, text(form, "action"))
    if section not in SECTIONS:
        return RedirectResponse("/portal/preferences", status_code=status.HTTP_303_SEE_OTHER)
    try:
        if section == "language":
            fields = _language_change(form)
        elif section == "delivery":
            fields = _delivery_change(form)
        elif section == "pause":
            fields = _pause_change(form, profile)
        else:
            fields = _filters_change(form)
        change = SupplierUpdate.model_validate(fields)
        await save(profile.id, change)
    except _UnreadableError as exc:
        blamed = {exc.field}
    except ValidationError as exc:
        blamed = {f if f in FIELD_MESSAGES else "" for f in field_errors(exc)}
    except ChangeRefusedError:
        blamed = {""}
    else:
        return _saved(section)
    return await render(
        request,
        profile,
        catalogue,
        feeds,
        values=_posted_values(section, form),
        errors=dict.fromkeys(blamed, ""),
        section=section,
    )


def _pause_change(form: FormData, profile: SupplierView) -> dict[str, Any]:
    if not PAUSE_SUPPORTED:
        raise _UnreadableError("paused_until")
    if text(form, "action") == "resume":
        return {"paused_until": None}
    try:
        day = pause_day(
            _required(form, "paused_until").strip(), ZoneInfo(profile.timezone), datetime.now(UTC)
        )
    except ValueError as exc:
        raise _UnreadableError("paused_until") from exc
    return {"paused_until": day}


async def _feed_action(
    request: Request, profile: SupplierView, feeds: FeedTokens, action: str | None
) -> Response:
    if action == "stop":
        await feeds.stop(profile.id)
    elif action == "renew":
        await feeds.renew(profile.id)
    return _saved("feed")
